package gitops_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

func TestSyncErrors(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", nil)
	empty := srv.NewEmptyRepo(t, "empty")

	// A port nothing listens on: bind, remember, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/fabric.git"
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		cfg       gitops.Config
		sentinel  error // nil: transient
		permanent bool
	}{
		{"branch missing", gitops.Config{URL: url, Branch: "nope"}, gitops.ErrBranchNotFound, true},
		{"repo missing", gitops.Config{URL: srv.URL + "/missing.git"}, gitops.ErrRemoteNotFound, true},
		{"repo missing file", gitops.Config{URL: "file://" + filepath.Join(srv.Root, "missing.git")}, gitops.ErrRemoteNotFound, true},
		{"repo missing path", gitops.Config{URL: filepath.Join(srv.Root, "missing.git")}, gitops.ErrRemoteNotFound, true},
		{"empty repo", gitops.Config{URL: empty}, gitops.ErrBranchNotFound, true},
		{"server down", gitops.Config{URL: down}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.cfg)
			h, err := c.Sync(context.Background(), nil)
			if err == nil {
				t.Fatalf("Sync = %s, nil; want an error", h)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("Sync = %v; want %v", err, tt.sentinel)
			}
			if got := gitops.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v; want %v", err, got, tt.permanent)
			}
			t.Logf("error: %v", err)
		})
	}

	// The branch disappears after the clone: fetch reports it.
	t.Run("branch deleted", func(t *testing.T) {
		u := srv.NewRepo(t, "gone", nil)
		gittest.Git(t, srv.RepoDir("gone"), "branch", "other", "main")
		c := newClient(t, gitops.Config{URL: u, Branch: "other"})
		sync(t, c)
		gittest.Git(t, srv.RepoDir("gone"), "branch", "-D", "other")
		if _, err := c.Sync(context.Background(), nil); !errors.Is(err, gitops.ErrBranchNotFound) {
			t.Errorf("Sync = %v; want ErrBranchNotFound", err)
		}
	})
}

func TestSyncHangingServer(t *testing.T) {
	needGit(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })

	t.Run("ctx", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: hang.URL + "/fabric.git"})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Sync(ctx, nil)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Sync took %v; want about the ctx timeout", took)
		}
		if !errors.Is(err, context.DeadlineExceeded) || gitops.IsPermanent(err) {
			t.Errorf("Sync = %v; want a transient context.DeadlineExceeded", err)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: hang.URL + "/fabric.git", Timeout: 300 * time.Millisecond})
		start := time.Now()
		_, err := c.Sync(context.Background(), nil)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Sync took %v; want about Config.Timeout", took)
		}
		if err == nil || gitops.IsPermanent(err) {
			t.Errorf("Sync = %v; want a transient error", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: hang.URL + "/fabric.git"})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Sync(ctx, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Sync(canceled ctx) = %v; want context.Canceled", err)
		}
	})
}

func TestNewInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  gitops.Config
	}{
		{"no URL", gitops.Config{Dir: dir}},
		{"no dir", gitops.Config{URL: "https://example.com/r.git"}},
		{"bad scheme", gitops.Config{URL: "ftp://example.com/r.git", Dir: dir}},
		{"no host", gitops.Config{URL: "https:///r.git", Dir: dir}},
		{"bad branch", gitops.Config{URL: "https://example.com/r.git", Dir: dir, Branch: "a..b"}},
		{"negative depth", gitops.Config{URL: "https://example.com/r.git", Dir: dir, Depth: -1}},
		{"negative MaxObjects", gitops.Config{URL: "https://example.com/r.git", Dir: dir, MaxObjects: -1}},
		{"Paths leaving the repository", gitops.Config{URL: "https://example.com/r.git", Dir: dir, Paths: []string{"fab", "a/../../x"}}},
		{"absolute Paths", gitops.Config{URL: "https://example.com/r.git", Dir: dir, Paths: []string{"/srv/fab"}}},
		{"Paths into .git", gitops.Config{URL: "https://example.com/r.git", Dir: dir, Paths: []string{"fab/.git"}}},
		{"Paths with a backslash", gitops.Config{URL: "https://example.com/r.git", Dir: dir, Paths: []string{`fab\raw`}}},
		{"ssh without key", gitops.Config{URL: "git@example.com:org/r.git", Dir: dir}},
		{"ssh missing key file", gitops.Config{URL: "ssh://git@example.com/org/r.git", Dir: dir,
			Auth: gitops.Auth{SSHKeyFile: filepath.Join(dir, "nope"), InsecureIgnoreHostKey: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := gitops.New(tt.cfg)
			if !errors.Is(err, gitops.ErrInvalidConfig) || !gitops.IsPermanent(err) {
				t.Errorf("New(%+v) = %v, %v; want ErrInvalidConfig", tt.cfg, c, err)
			}
		})
	}
	// Credentials in the URL never reach an error.
	_, err := gitops.New(gitops.Config{URL: "ftp://user:hunter2@example.com/r.git", Dir: dir})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New = %v; want an error without the password", err)
	}
}
