package gitops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// needGit skips under -short: these tests need the git binary.
func needGit(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs git; skipped with -short")
	}
}

func newClient(t testing.TB, cfg gitops.Config) *gitops.Client {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "clone")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	c, err := gitops.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func sync(t testing.TB, c *gitops.Client) string {
	t.Helper()
	h, err := c.Sync(context.Background(), nil)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return h
}

func readFile(t testing.TB, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return string(b)
}

func writeFile(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func exists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name)))
	return err == nil
}

// remoteHead returns the hash of main in the bare repository.
func remoteHead(t testing.TB, bare string) string {
	t.Helper()
	return gittest.Git(t, bare, "rev-parse", "refs/heads/main")
}

func TestSyncHTTP(t *testing.T) {
	needGit(t)
	for _, depth := range []int{0, 1, gitops.RecommendedDepth} {
		t.Run("depth="+strconv.Itoa(depth), func(t *testing.T) {
			srv := gittest.NewServer(t)
			url := srv.NewRepo(t, "fabric", map[string]string{
				"raw/a.yaml":     "a: 1\n",
				"managed/b.yaml": "b: 2\n",
			})
			c := newClient(t, gitops.Config{URL: url, Depth: depth})

			h := sync(t, c)
			if want := remoteHead(t, srv.RepoDir("fabric")); h != want {
				t.Fatalf("Sync = %s; want remote head %s", h, want)
			}
			if got := readFile(t, c.Dir(), "raw/a.yaml"); got != "a: 1\n" {
				t.Errorf("raw/a.yaml = %q after clone", got)
			}

			// No-op sync: same head, tree untouched, and no reset (which
			// would rewrite the index).
			before := modTime(t, filepath.Join(c.Dir(), ".git", "index"))
			if h2 := sync(t, c); h2 != h {
				t.Errorf("no-op Sync = %s; want %s", h2, h)
			}
			if after := modTime(t, filepath.Join(c.Dir(), ".git", "index")); !after.Equal(before) {
				t.Errorf("no-op Sync rewrote the index (%v → %v): it reset", before, after)
			}

			// Someone else pushes; a local edit, an untracked file and an
			// ignored file must all be gone after the sync.
			want := gittest.Commit(t, url, map[string]string{
				"raw/a.yaml": "", "raw/c.yaml": "c: 3\n", ".gitignore": "*.tmp\n",
			}, "someone else")
			writeFile(t, c.Dir(), "managed/b.yaml", "local edit\n")
			writeFile(t, c.Dir(), "untracked/x.yaml", "x\n")
			writeFile(t, c.Dir(), "junk.tmp", "ignored\n")
			if h3 := sync(t, c); h3 != want {
				t.Fatalf("Sync after push = %s; want %s", h3, want)
			}
			if exists(c.Dir(), "raw/a.yaml") || exists(c.Dir(), "untracked") || exists(c.Dir(), "junk.tmp") {
				t.Errorf("Sync left deleted, untracked or ignored files behind")
			}
			if got := readFile(t, c.Dir(), "managed/b.yaml"); got != "b: 2\n" {
				t.Errorf("managed/b.yaml = %q; want the remote's content", got)
			}
			if got := readFile(t, c.Dir(), "raw/c.yaml"); got != "c: 3\n" {
				t.Errorf("raw/c.yaml = %q", got)
			}

			// A local edit with the remote unchanged is reset too.
			writeFile(t, c.Dir(), "raw/c.yaml", "edited\n")
			sync(t, c)
			if got := readFile(t, c.Dir(), "raw/c.yaml"); got != "c: 3\n" {
				t.Errorf("raw/c.yaml = %q after no-op sync over a local edit", got)
			}
		})
	}
}

func TestCommitPush(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", map[string]string{
		"fab/raw/a.yaml":     "a: 1\n",
		"fab/raw/sub/b.yaml": "b: 1\n",
		"other/keep.txt":     "keep\n",
	})
	c := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth,
		Author: gitops.Signature{Name: "Fab Sync", Email: "fab@example.com"}})
	sync(t, c)

	ctx := context.Background()
	if h, ok, err := c.Commit(ctx, "fab", "nothing"); err != nil || ok || h != "" {
		t.Fatalf("Commit with no changes = %q, %v, %v; want \"\", false, nil", h, ok, err)
	}

	// Additions, modifications and deletions under fab/; an edit outside
	// fab/ stays out of the commit.
	writeFile(t, c.Dir(), "fab/managed/vpcs/v1.yaml", "vpc\n")
	writeFile(t, c.Dir(), "fab/raw/a.yaml", "a: 2\n")
	if err := os.RemoveAll(filepath.Join(c.Dir(), "fab/raw/sub")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, c.Dir(), "other/keep.txt", "local only\n")
	msg := "Ingest raw files\n\nFabsync-Job: job-1\n"
	h, ok, err := c.Commit(ctx, "fab/", msg)
	if err != nil || !ok || len(h) != 40 {
		t.Fatalf("Commit = %q, %v, %v; want a hash, true, nil", h, ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	bare := srv.RepoDir("fabric")
	if got := remoteHead(t, bare); got != h {
		t.Fatalf("remote head = %s; want pushed %s", got, h)
	}
	files := gittest.Git(t, bare, "ls-tree", "-r", "--name-only", "main")
	want := "fab/managed/vpcs/v1.yaml\nfab/raw/a.yaml\nother/keep.txt"
	if files != want {
		t.Errorf("remote tree =\n%s\nwant\n%s", files, want)
	}
	if got := gittest.Git(t, bare, "show", "main:other/keep.txt"); got != "keep" {
		t.Errorf("other/keep.txt on remote = %q; the edit outside the path was committed", got)
	}
	if got := gittest.Git(t, bare, "log", "-1", "--format=%an <%ae>|%cn|%B", "main"); got != "Fab Sync <fab@example.com>|Fab Sync|"+strings.TrimSpace(msg) {
		t.Errorf("remote commit = %q", got)
	}

	// Push again: nothing new, no error.
	if err := c.Push(ctx, nil); err != nil {
		t.Errorf("second Push: %v", err)
	}
	if got, ok, err := c.FindTrailer("Fabsync-Job", "job-1", 10); err != nil || !ok || got != h {
		t.Errorf("FindTrailer = %q, %v, %v; want %s", got, ok, err, h)
	}
	if got, ok, err := c.FindTrailer("fabsync-job", "job-2", 10); err != nil || ok {
		t.Errorf("FindTrailer(job-2) = %q, %v, %v; want not found", got, ok, err)
	}

	// After the push, a sync is a no-op on our own commit and FindTrailer
	// still finds it once someone else pushed on top.
	other := gittest.Commit(t, url, map[string]string{"x.txt": "x\n"}, "later")
	if got := sync(t, c); got != other {
		t.Fatalf("Sync = %s; want %s", got, other)
	}
	if got, ok, err := c.FindTrailer("Fabsync-Job", "job-1", 10); err != nil || !ok || got != h {
		t.Errorf("FindTrailer after another push = %q, %v, %v; want %s", got, ok, err, h)
	}
	if _, ok, _ := c.FindTrailer("Fabsync-Job", "job-1", 1); ok {
		t.Errorf("FindTrailer with limit 1 looked past HEAD")
	}

	// Removing a whole directory that no longer exists on disk.
	if err := os.RemoveAll(filepath.Join(c.Dir(), "fab")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Commit(ctx, "fab", "remove fab"); err != nil || !ok {
		t.Fatalf("Commit of a removed directory = %v, %v", ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if files := gittest.Git(t, bare, "ls-tree", "-r", "--name-only", "main"); files != "other/keep.txt\nx.txt" {
		t.Errorf("remote tree after removing fab = %q", files)
	}
}

func TestPushRejected(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", nil)
	c := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth})
	sync(t, c)
	ctx := context.Background()

	writeFile(t, c.Dir(), "ours.txt", "ours\n")
	if _, ok, err := c.Commit(ctx, "", "ours\n\nFabsync-Job: j1"); err != nil || !ok {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	theirs := gittest.Commit(t, url, map[string]string{"theirs.txt": "theirs\n"}, "theirs")

	err := c.Push(ctx, nil)
	if !errors.Is(err, gitops.ErrPushRejected) {
		t.Fatalf("Push after a concurrent push = %v; want ErrPushRejected", err)
	}
	if gitops.IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = true", err)
	}
	if got := remoteHead(t, srv.RepoDir("fabric")); got != theirs {
		t.Fatalf("remote head = %s; the rejected push overwrote %s", got, theirs)
	}

	// The caller's retry: sync, redo, commit, push.
	if got := sync(t, c); got != theirs {
		t.Fatalf("Sync = %s; want %s", got, theirs)
	}
	if exists(c.Dir(), "ours.txt") {
		t.Fatalf("Sync kept our unpushed file")
	}
	writeFile(t, c.Dir(), "ours.txt", "ours\n")
	ours, ok, err := c.Commit(ctx, "", "ours\n\nFabsync-Job: j1")
	if err != nil || !ok {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push after resync: %v", err)
	}
	log := gittest.Git(t, srv.RepoDir("fabric"), "log", "--format=%H", "main")
	if !strings.HasPrefix(log, ours+"\n"+theirs+"\n") {
		t.Errorf("remote log =\n%s\nwant %s then %s on top of the initial commit", log, ours, theirs)
	}
}

func TestHTTPAuth(t *testing.T) {
	needGit(t)
	const token = "s3cr3t-T0ken-value"
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", token))
	url := srv.NewRepo(t, "private", nil)

	t.Run("token", func(t *testing.T) {
		c := newClient(t, gitops.Config{URL: url, Auth: gitops.Auth{Password: token}})
		sync(t, c)
		writeFile(t, c.Dir(), "new.txt", "n\n")
		if _, _, err := c.Commit(context.Background(), ".", "add"); err != nil {
			t.Fatal(err)
		}
		if err := c.Push(context.Background(), nil); err != nil {
			t.Fatalf("Push with token: %v", err)
		}
		// The clone's config must not hold the token.
		if cfg := readFile(t, c.Dir(), ".git/config"); strings.Contains(cfg, token) {
			t.Errorf(".git/config holds the token:\n%s", cfg)
		}
	})
	t.Run("token in URL", func(t *testing.T) {
		withCreds := strings.Replace(url, "http://", "http://x-access-token:"+token+"@", 1)
		c := newClient(t, gitops.Config{URL: withCreds})
		sync(t, c)
		if strings.Contains(c.URL(), token) {
			t.Errorf("URL() = %s holds the token", c.URL())
		}
		if cfg := readFile(t, c.Dir(), ".git/config"); strings.Contains(cfg, token) {
			t.Errorf(".git/config holds the token:\n%s", cfg)
		}
	})
	tests := []struct {
		name string
		auth gitops.Auth
		url  string
	}{
		{"wrong token", gitops.Auth{Password: "wrong-" + token}, url},
		{"wrong token in URL", gitops.Auth{}, strings.Replace(url, "http://", "http://x-access-token:wrong-"+token+"@", 1)},
		{"no credentials", gitops.Auth{}, url},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, gitops.Config{URL: tt.url, Auth: tt.auth})
			_, err := c.Sync(context.Background(), nil)
			if !errors.Is(err, gitops.ErrAuth) || !gitops.IsPermanent(err) {
				t.Fatalf("Sync = %v; want permanent ErrAuth", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error %q holds the token", err)
			}
			if !strings.HasPrefix(err.Error(), "clone main: ") {
				t.Errorf("error %q lacks the operation prefix", err)
			}
		})
	}

	// A token revoked after the clone: fetch and push fail with ErrAuth.
	t.Run("revoked", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "clone")
		good := newClient(t, gitops.Config{URL: url, Dir: dir, Auth: gitops.Auth{Password: token}})
		sync(t, good)
		writeFile(t, dir, "r.txt", "r\n")
		if _, _, err := good.Commit(context.Background(), ".", "r"); err != nil {
			t.Fatal(err)
		}
		bad := newClient(t, gitops.Config{URL: url, Dir: dir, Auth: gitops.Auth{Username: "x-access-token", Password: "revoked-" + token}})
		err := bad.Push(context.Background(), nil)
		if !errors.Is(err, gitops.ErrAuth) || strings.Contains(err.Error(), token) {
			t.Errorf("Push = %v; want ErrAuth without the token", err)
		}
		gittest.Commit(t, strings.Replace(url, "http://", "http://x-access-token:"+token+"@", 1), map[string]string{"s.txt": "s\n"}, "s")
		_, err = bad.Sync(context.Background(), nil)
		if !errors.Is(err, gitops.ErrAuth) || !strings.HasPrefix(err.Error(), "fetch main: ") || strings.Contains(err.Error(), token) {
			t.Errorf("Sync = %v; want fetch main: ErrAuth without the token", err)
		}
	})
}

func modTime(t testing.TB, name string) time.Time {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

// TestFindTrailerShallow: the search ends quietly at the shallow boundary.
func TestFindTrailerShallow(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", nil)
	old := gittest.Commit(t, url, map[string]string{"a.txt": "a\n"}, "a\n\nFabsync-Job: old")
	for i := range 3 {
		gittest.Commit(t, url, map[string]string{"b.txt": strconv.Itoa(i)}, "b")
	}
	c := newClient(t, gitops.Config{URL: url, Depth: 2})
	sync(t, c)
	if h, ok, err := c.FindTrailer("Fabsync-Job", "old", 200); err != nil || ok {
		t.Errorf("FindTrailer past the shallow boundary = %q, %v, %v; want not found, no error", h, ok, err)
	}
	full := newClient(t, gitops.Config{URL: url})
	sync(t, full)
	if h, ok, err := full.FindTrailer("Fabsync-Job", "old", 0); err != nil || !ok || h != old {
		t.Errorf("FindTrailer in a full clone = %q, %v, %v; want %s", h, ok, err, old)
	}
}

// roundTrip checks a client against the bare repository it mirrors: clone, sync after someone
// else's commit, then commit and push one of ours.
func roundTrip(t *testing.T, c *gitops.Client, bare string) {
	t.Helper()
	if h := sync(t, c); h != remoteHead(t, bare) {
		t.Fatalf("Sync = %s; want %s", h, remoteHead(t, bare))
	}
	want := gittest.Commit(t, bare, map[string]string{"b.txt": "b\n"}, "b")
	if h := sync(t, c); h != want {
		t.Fatalf("Sync = %s; want %s", h, want)
	}
	writeFile(t, c.Dir(), "c.txt", "c\n")
	h, ok, err := c.Commit(context.Background(), "", "c")
	if err != nil || !ok {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	if err := c.Push(context.Background(), nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got := remoteHead(t, bare); got != h {
		t.Errorf("remote head = %s; want %s", got, h)
	}
}
