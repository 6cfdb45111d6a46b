package gitops_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gliderssh "github.com/gliderlabs/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// sshServer serves git over SSH for the bare repositories under root: it
// runs git-upload-pack or git-receive-pack for the requested absolute path,
// for clients presenting the one authorized key.
type sshServer struct {
	addr    string
	hostKey ssh.PublicKey
}

func newSSHServer(t *testing.T, authorized ssh.PublicKey) *sshServer {
	t.Helper()
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	srv := &gliderssh.Server{
		Handler: func(s gliderssh.Session) {
			cmd, arg, _ := strings.Cut(s.RawCommand(), " ")
			if cmd != "git-upload-pack" && cmd != "git-receive-pack" {
				_, _ = s.Stderr().Write([]byte("only git commands\n"))
				_ = s.Exit(1)
				return
			}
			c := exec.Command(cmd, strings.Trim(arg, "'"))
			c.Stdout, c.Stderr = s, s.Stderr()
			c.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
			// Not c.Stdin = s: Wait would then wait for the client to close
			// its side even after git exited (a missing repository).
			stdin, err := c.StdinPipe()
			if err != nil {
				_ = s.Exit(1)
				return
			}
			copied := make(chan struct{})
			go func() {
				defer close(copied)
				_, _ = io.Copy(stdin, s)
				_ = stdin.Close()
			}()
			defer func() { <-copied }() // ends once the session closes
			code := 0
			if err := c.Run(); err != nil {
				code = 1
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				}
			}
			_ = s.Exit(code)
		},
		PublicKeyHandler: func(_ gliderssh.Context, key gliderssh.PublicKey) bool {
			return gliderssh.KeysEqual(key, authorized)
		},
	}
	srv.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return &sshServer{addr: ln.Addr().String(), hostKey: hostSigner.PublicKey()}
}

// newKey writes a fresh ed25519 private key into dir and returns its path and
// public key.
func newKey(t *testing.T, dir, name string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, sshPub
}

func knownHosts(t *testing.T, dir, addr string, key ssh.PublicKey) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "known_hosts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func TestSSH(t *testing.T) {
	needGit(t)
	keys := t.TempDir()
	keyFile, pub := newKey(t, keys, "id_ed25519")
	srv := newSSHServer(t, pub)
	repos := gittest.NewServer(t) // only for its bare-repo helpers
	repos.NewRepo(t, "fabric", map[string]string{"a.txt": "a\n"})
	bare := repos.RepoDir("fabric")
	url := "ssh://git@" + srv.addr + bare
	goodHosts := knownHosts(t, keys, srv.addr, srv.hostKey)

	t.Run("clone and push", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth,
			Auth: gitops.Auth{SSHKeyFile: keyFile, KnownHostsFile: goodHosts}})
		roundTrip(t, c, bare)
	})

	otherHost, _ := newKey(t, keys, "other_host")
	otherSigner := readSigner(t, otherHost)
	wrongKey, _ := newKey(t, keys, "id_unknown")
	tests := []struct {
		name string
		auth gitops.Auth
		want string // in the message
	}{
		{"host key mismatch", gitops.Auth{SSHKeyFile: keyFile, KnownHostsFile: knownHosts(t, keys, srv.addr, otherSigner.PublicKey())}, "does not match known_hosts"},
		{"unknown host", gitops.Auth{SSHKeyFile: keyFile, KnownHostsFile: knownHosts(t, keys, "127.0.0.2:22", srv.hostKey)}, "not in known_hosts"},
		{"unknown user key", gitops.Auth{SSHKeyFile: wrongKey, KnownHostsFile: goodHosts}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, gitops.Config{URL: url, Auth: tt.auth})
			_, err := c.Sync(context.Background(), nil)
			if !errors.Is(err, gitops.ErrAuth) || !gitops.IsPermanent(err) {
				t.Fatalf("Sync = %v; want permanent ErrAuth", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Sync = %v; want a message with %q", err, tt.want)
			}
		})
	}

	t.Run("insecure", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: url, Auth: gitops.Auth{SSHKeyFile: keyFile, InsecureIgnoreHostKey: true}})
		sync(t, c)
	})

	t.Run("repo missing", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: "ssh://git@" + srv.addr + bare + "-missing",
			Auth: gitops.Auth{SSHKeyFile: keyFile, KnownHostsFile: goodHosts}})
		if _, err := c.Sync(context.Background(), nil); !errors.Is(err, gitops.ErrRemoteNotFound) {
			t.Errorf("Sync = %v; want ErrRemoteNotFound", err)
		}
	})

	// A server that accepts the connection and never speaks. go-git does
	// not bound the SSH handshake by the context; gitops's dialer closes the
	// connection when the operation's context ends (ctxdial.go).
	t.Run("hanging server", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := ln.Close(); err != nil {
				t.Error(err)
			}
		})
		c := newClient(t, gitops.Config{URL: "ssh://git@" + ln.Addr().String() + "/r.git",
			Auth: gitops.Auth{SSHKeyFile: keyFile, InsecureIgnoreHostKey: true}})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Sync(ctx, nil)
		if !errors.Is(err, context.DeadlineExceeded) || gitops.IsPermanent(err) {
			t.Errorf("Sync against a silent server = %v; want a context deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Sync against a silent server took %s; the context allowed 300ms", d)
		}
	})
}

func readSigner(t *testing.T, path string) ssh.Signer {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
