package e2e_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// gatedGit serves gittest's repositories through hooks that can fail, hold or observe each
// git request: the fault tests use it to stop a push before or after it lands, or take the
// server "down".
type gatedGit struct {
	*gittest.Server
	URL string // base URL of the gated server (use instead of Server.URL)

	mu sync.Mutex
	// fetch, when set, is called for each upload-pack request (fetch/clone); a non-zero status
	// is answered instead of serving it.
	fetch func() int
	// push, when set, is called for each receive-pack POST with run, which performs the push
	// (the refs are updated when run returns). The hook decides whether and when to call it;
	// its response reaches the client only after the hook returns.
	push func(run func())
}

func newGatedGit(t *testing.T) *gatedGit {
	t.Helper()
	gs := gittest.NewServer(t)
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is not installed (Debian: apt-get install git)")
	}
	g := &gatedGit{Server: gs}
	backend := &cgi.Handler{Path: gitBin, Args: []string{"http-backend"}, Dir: gs.Root, Stderr: io.Discard,
		Env: []string{"GIT_PROJECT_ROOT=" + gs.Root, "GIT_HTTP_EXPORT_ALL=1", "HOME=" + gs.Root, "GIT_CONFIG_NOSYSTEM=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		fetch, push := g.fetch, g.push
		g.mu.Unlock()
		service := r.URL.Query().Get("service")
		if strings.HasSuffix(r.URL.Path, "/git-upload-pack") || service == "git-upload-pack" {
			if fetch != nil {
				if code := fetch(); code != 0 {
					http.Error(w, "injected fault", code)
					return
				}
			}
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") && push != nil {
			rec := httptest.NewRecorder()
			ran := false
			push(func() { ran = true; backend.ServeHTTP(rec, r) })
			if !ran {
				http.Error(w, "injected fault: push dropped", http.StatusServiceUnavailable)
				return
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes()) // if it fails, the client sees a short answer, as from a real server
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *gatedGit) set(fetch func() int, push func(run func())) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fetch, g.push = fetch, push
}

// repoURL is the gated clone URL of a repository created with g.NewRepo.
func (g *gatedGit) repoURL(name string) string { return g.URL + "/" + name + ".git" }

var (
	buildOnce sync.Once
	workerBin string
	buildErr  error
)

// buildWorker builds cmd/worker once per test binary.
func buildWorker(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fabsync-worker-bin-")
		if err != nil {
			buildErr = err
			return
		}
		workerBin = filepath.Join(dir, "worker")
		out, err := exec.Command("go", "build", "-o", workerBin, "github.com/fabsync/fabsync/cmd/worker").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/worker: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return workerBin
}

// workerProc is a cmd/worker process.
type workerProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// startWorker runs cmd/worker against the system's Redis and fabrics file, with its own data dir.
func (s *system) startWorker(t *testing.T, name string) *workerProc {
	t.Helper()
	bin := buildWorker(t)
	cmd := exec.Command(bin, "-concurrency", "2", "-shutdown-timeout", "5s")
	cmd.Env = append(os.Environ(),
		"REDIS_URL="+s.redisURL, "FABSYNC_CONFIG="+s.cfgPath,
		"FABSYNC_DATA_DIR="+filepath.Join(filepath.Dir(s.cfgPath), "proc-"+name))
	p := &workerProc{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: p.logs}, &lockedWriter{w: p.logs}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker %s: %v", name, err)
	}
	// The tests kill the process and judge it by what it did (Redis, git, logs), so its exit
	// status says nothing.
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *workerProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	// It may exit meanwhile (os.ErrProcessDone): the wait for done below covers either case.
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
