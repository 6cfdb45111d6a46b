// Package redistest starts a private redis-server for tests. Tests never flush a Redis they did
// not start: each call gets its own server on a free loopback port, stopped in t.Cleanup.
// When FABSYNC_TEST_REDIS_URL is set, that server is used instead (each call selects a fresh
// logical database and flushes only that one).
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var nextDB atomic.Int32

// Start returns the URL of a Redis only this test uses.
func Start(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("FABSYNC_TEST_REDIS_URL"); u != "" {
		db := int(nextDB.Add(1)%15) + 1
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("FABSYNC_TEST_REDIS_URL: %v", err)
		}
		opt.DB = db
		c := redis.NewClient(opt)
		err = c.FlushDB(context.Background()).Err()
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("FABSYNC_TEST_REDIS_URL: %v", err)
		}
		return fmt.Sprintf("redis://%s/%d", opt.Addr, db)
	}
	return StartServer(t).URL
}

// Server is a private redis-server process that a test can stop and start again on the same
// port (for fault tests). Unless Persistent, it keeps nothing on disk: a restart loses every key.
type Server struct {
	URL     string
	t       testing.TB
	bin     string
	dir     string
	port    int
	persist bool
	extra   []string // more redis-server arguments
	cmd     *exec.Cmd
}

// Option configures StartServer.
type Option func(*Server)

// Persistent makes the server keep its data across Stop and Restart (append-only file, fsync
// on every write), as a production Redis would.
func Persistent() Option { return func(s *Server) { s.persist = true } }

// Args adds redis-server command-line arguments ("--replicaof", "127.0.0.1 6380", …).
func Args(args ...string) Option { return func(s *Server) { s.extra = append(s.extra, args...) } }

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// LogFile is the server's log file.
func (s *Server) LogFile() string { return filepath.Join(s.dir, "redis.log") }

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// StartServer starts a private redis-server, stopped in t.Cleanup. It ignores
// FABSYNC_TEST_REDIS_URL: the test needs a process of its own.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: install it (Debian: apt-get install redis-server) or set FABSYNC_TEST_REDIS_URL")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		s.port = freePort(t)
		if lastErr = s.start(); lastErr == nil {
			s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redis-server did not become ready: %v", lastErr)
	return nil
}

func (s *Server) start() error {
	aof := []string{"--appendonly", "no"}
	if s.persist {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--dir", s.dir,
		"--daemonize", "no", "--maxmemory-policy", "noeviction", "--logfile", filepath.Join(s.dir, "redis.log")}, aof...)
	args = append(args, s.extra...)
	s.cmd = exec.Command(s.bin, args...)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	if err := waitReady(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), 5*time.Second); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// Stop kills the server (if running) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Freeze stops the server's process (SIGSTOP) for d, then lets it go on, as a server that
// stalls (a long fork, a slow disk, a network hiccup) does; it returns at once.
func (s *Server) Freeze(d time.Duration) {
	s.t.Helper()
	p := s.cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("freeze redis-server: %v", err)
	}
	time.AfterFunc(d, func() { _ = p.Signal(syscall.SIGCONT) })
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart redis-server: %v", err)
	}
}

// Client returns a go-redis client for a Redis only this test uses, closed in t.Cleanup.
func Client(t testing.TB) (*redis.Client, string) {
	t.Helper()
	u := Start(t)
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c, u
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return port
}

func waitReady(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		var c net.Conn
		c, err = net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, err = c.Write([]byte("PING\r\n"))
			if err == nil {
				var line string
				line, err = bufio.NewReader(c).ReadString('\n')
				if err == nil && line != "+PONG\r\n" {
					err = fmt.Errorf("PING answered %q", line)
				}
			}
			_ = c.Close() // a probe connection: only the PING answer counts
			if err == nil {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}
