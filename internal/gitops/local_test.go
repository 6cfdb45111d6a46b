package gitops_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

func TestLocalRemotes(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	for _, tt := range []struct {
		name string
		url  func(bare string) string
	}{
		{"file URL", func(bare string) string { return "file://" + bare }},
		{"path", func(bare string) string { return bare }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Base(t.Name())
			srv.NewRepo(t, name, map[string]string{"a.txt": "a\n"})
			bare := srv.RepoDir(name)
			c := newClient(t, gitops.Config{URL: tt.url(bare), Depth: gitops.RecommendedDepth})
			roundTrip(t, c, bare)
		})
	}
}

func TestSyncRecoversCorruptClone(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", map[string]string{"a.txt": "a\n", "d/b.txt": "b\n"})
	tests := []struct {
		name   string
		break_ func(t *testing.T, dir string)
	}{
		{"objects deleted", func(t *testing.T, dir string) {
			removeContents(t, filepath.Join(dir, ".git", "objects"))
		}},
		{"HEAD broken", func(t *testing.T, dir string) {
			writeFile(t, dir, ".git/HEAD", "garbage\x00\n")
		}},
		{"branch ref broken", func(t *testing.T, dir string) {
			writeFile(t, dir, ".git/refs/heads/main", "0123456789012345678901234567890123456789\n")
		}},
		{"index broken", func(t *testing.T, dir string) {
			writeFile(t, dir, ".git/index", "not an index")
		}},
		{".git deleted", func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, ".git")); err != nil {
				t.Fatal(err)
			}
		}},
		{"config broken", func(t *testing.T, dir string) {
			writeFile(t, dir, ".git/config", "[remote \"origin\"\nurl = ")
		}},
		{"not a clone", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, "stray.txt", "stray\n")
			writeFile(t, dir, "sub/stray.txt", "stray\n")
		}},
		{"dir is a file", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth})
			want := sync(t, c)
			tt.break_(t, c.Dir())
			if got := sync(t, c); got != want {
				t.Fatalf("Sync after damage = %s; want %s", got, want)
			}
			if got := readFile(t, c.Dir(), "d/b.txt"); got != "b\n" {
				t.Errorf("d/b.txt = %q", got)
			}
			if exists(c.Dir(), "stray.txt") || exists(c.Dir(), "sub") {
				t.Errorf("stray files survived the re-clone")
			}
			// The recovered clone works normally.
			writeFile(t, c.Dir(), "n.txt", t.Name()+"\n")
			if _, ok, err := c.Commit(context.Background(), "", "n"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			if err := c.Push(context.Background(), nil); err != nil {
				t.Fatalf("Push: %v", err)
			}
		})
	}
}

// TestSyncReclonesOnConfigChange: a clone made for another URL or branch is
// replaced.
func TestSyncReclonesOnConfigChange(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url1 := srv.NewRepo(t, "one", map[string]string{"one.txt": "1\n"})
	url2 := srv.NewRepo(t, "two", map[string]string{"two.txt": "2\n"})
	gittest.Git(t, srv.RepoDir("two"), "branch", "dev", "main")
	dir := filepath.Join(t.TempDir(), "clone")

	sync(t, newClient(t, gitops.Config{URL: url1, Dir: dir}))
	sync(t, newClient(t, gitops.Config{URL: url2, Dir: dir}))
	if exists(dir, "one.txt") || !exists(dir, "two.txt") {
		t.Fatalf("Sync after a URL change did not re-clone")
	}
	c := newClient(t, gitops.Config{URL: url2, Dir: dir, Branch: "dev"})
	sync(t, c)
	writeFile(t, dir, "dev.txt", "d\n")
	if _, _, err := c.Commit(context.Background(), "", "dev"); err != nil {
		t.Fatal(err)
	}
	if err := c.Push(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := gittest.Git(t, srv.RepoDir("two"), "ls-tree", "--name-only", "dev"); got != "dev.txt\ntwo.txt" {
		t.Errorf("dev tree = %q", got)
	}
	if got := gittest.Git(t, srv.RepoDir("two"), "ls-tree", "--name-only", "main"); got != "two.txt" {
		t.Errorf("main tree = %q; the push went to the wrong branch", got)
	}
}

func removeContents(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}
