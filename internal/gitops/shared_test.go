package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// sharedFiles is a repository of two fabrics, fab-a and fab-b, and another
// team's folder.
func sharedFiles() map[string]string {
	return map[string]string{
		"fab-a/raw/ok.yaml":      "a: 1\n",
		"fab-a/managed/a.yaml":   "a: managed\n",
		"fab-b/raw/ok.yaml":      "b: 1\n",
		"fab-b/managed/b.yaml":   "b: managed\n",
		"fab-b/managed/old.yaml": "old: 1\n",
		"other/keep.txt":         "keep\n",
	}
}

// sharedClient is the Client of the fabric folder path in the clone dir,
// which the fabrics of paths share.
func sharedClient(t testing.TB, url, dir, path string, paths []string, limit int64) *gitops.Client {
	t.Helper()
	return newClient(t, gitops.Config{URL: url, Dir: dir, Path: path, Paths: paths, MaxFileSize: limit, Depth: gitops.RecommendedDepth})
}

// checkoutMark is what a checkout changes in a clone: the index it
// rewrites and the state it records.
type checkoutMark struct {
	index time.Time
	state string
}

func markOf(t testing.TB, dir string) checkoutMark {
	t.Helper()
	return checkoutMark{modTime(t, filepath.Join(dir, ".git", "index")), readFile(t, dir, ".git/fabsync-sync")}
}

// TestSharedCloneProblems: two fabrics share one clone (Paths fab-a and
// fab-b). A bad name or an oversized file in fab-b/raw/ is left out of the
// working tree for both; it fails fab-b's Sync, naming it, also when fab-a
// checked the head out first and fab-b's Sync has nothing new to do, and
// never fab-a's; fab-b's Discard fails the same way. Every commit either
// makes keeps the refused entry byte for byte, also when fab-b's raw/
// folder is gone from disk.
func TestSharedCloneProblems(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	ctx := context.Background()
	const limit = 1024
	paths := []string{"fab-a", "fab-b"}
	tests := []struct {
		name    string
		entry   string // the refused file
		content string
		err     error
		bFirst  bool // fab-b syncs the new head first
	}{
		{"bad name, fab-a first", `fab-b/raw/..\evil.yaml`, "x: 1\n", gitops.ErrBadPath, false},
		{"bad name, fab-b first", `fab-b/raw/..\evil.yaml`, "x: 1\n", gitops.ErrBadPath, true},
		{"too large, fab-a first", "fab-b/raw/huge.yaml", strings.Repeat("h: 1\n", limit), gitops.ErrFileTooLarge, false},
		{"too large, fab-b first", "fab-b/raw/huge.yaml", strings.Repeat("h: 1\n", limit), gitops.ErrFileTooLarge, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("shared%d", i)
			url := srv.NewRepo(t, name, sharedFiles())
			bare := srv.RepoDir(name)
			dir := filepath.Join(t.TempDir(), "clone")
			a := sharedClient(t, url, dir, "fab-a", paths, limit)
			b := sharedClient(t, url, dir, "fab-b", paths, limit)
			sync(t, a)
			sync(t, b)

			// Besides the refused entry: a large file elsewhere in fab-b
			// (checked out), and one and a bad name outside both fabric
			// folders (left out silently).
			big := gittest.WriteBlob(t, bare, strings.NewReader(strings.Repeat("big\n", limit)))
			head := gittest.CommitTree(t, bare, map[string]string{
				tt.entry:                 gittest.WriteBlob(t, bare, strings.NewReader(tt.content)),
				"fab-b/docs/big.pdf":     big,
				"other/big.bin":          big,
				"other/..":               big,
				"fab-b/managed/old.yaml": "",
			}, "a refused entry in fab-b")
			absent := []string{tt.entry, "other/big.bin", "other/.."}

			syncA := func(t *testing.T) {
				t.Helper()
				if h, err := a.Sync(ctx, nil); err != nil || h != head {
					t.Fatalf("Sync of fab-a = %s, %v; want %s, nil", h, err, head)
				}
				assertMirror(t, a, bare, absent...)
			}
			syncB := func(t *testing.T) {
				t.Helper()
				_, err := b.Sync(ctx, nil)
				checkTreeError(t, err, tt.err, tt.entry, head)
				assertMirror(t, b, bare, absent...)
			}
			first, second := syncA, syncB
			if tt.bFirst {
				first, second = syncB, syncA
			}
			first(t)
			mark := markOf(t, dir)
			// The other fabric's Sync, and each after it, has nothing new:
			// no checkout, and the same answer from the recorded problems.
			for _, next := range []func(*testing.T){second, first, second} {
				next(t)
				if got := markOf(t, dir); got != mark {
					t.Fatalf("a Sync with nothing new checked out again: %+v → %+v", mark, got)
				}
			}
			// A fabric folder of another clone, whose first clone finds
			// the problem, fails the same way.
			fresh := sharedClient(t, url, filepath.Join(t.TempDir(), "clone"), "fab-b", paths, limit)
			_, err := fresh.Sync(ctx, nil)
			checkTreeError(t, err, tt.err, tt.entry, head)

			// fab-a's commits keep fab-b's folder, its refused entry
			// included, byte for byte.
			want := gittest.Git(t, bare, "rev-parse", head+":fab-b")
			refused := treeFiles(t, bare, head)[tt.entry]
			writeFile(t, dir, "fab-a/managed/new.yaml", "new: 1\n")
			h, ok, err := a.Commit(ctx, ".", "fab-a's ingest")
			if err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			if got := gittest.Git(t, dir, "rev-parse", h+":fab-b"); got != want {
				t.Errorf("fab-a's Commit of the whole tree changed fab-b/ (%s → %s)", want, got)
			}
			writeFile(t, dir, "fab-a/managed/new2.yaml", "new: 2\n")
			h, ok, err = a.CommitPaths(ctx, ".", "fab-a's ingest", []string{"fab-a/managed/new2.yaml", "fab-b"})
			if err != nil || !ok {
				t.Fatalf("CommitPaths = %v, %v", ok, err)
			}
			if got := gittest.Git(t, dir, "rev-parse", h+":fab-b"); got != want {
				t.Errorf("fab-a's CommitPaths of fab-b changed fab-b/ (%s → %s)", want, got)
			}

			// fab-b's Discard puts the head back, and fails as its Sync
			// does.
			checkTreeError(t, b.Discard(ctx), tt.err, tt.entry, head)
			assertMirror(t, b, bare, absent...)

			// fab-b's own commits, its raw/ folder removed, keep the
			// refused entry as it is and drop the rest of raw/.
			for _, commit := range []struct {
				name string
				run  func() (string, bool, error)
			}{
				{"Commit", func() (string, bool, error) { return b.Commit(ctx, "fab-b", "fab-b's ingest") }},
				{"CommitPaths", func() (string, bool, error) {
					return b.CommitPaths(ctx, "fab-b", "fab-b's ingest", []string{"raw"})
				}},
			} {
				remove(t, dir, "fab-b/raw")
				h, ok, err := commit.run()
				if err != nil || !ok {
					t.Fatalf("%s = %v, %v", commit.name, ok, err)
				}
				files := treeFiles(t, dir, h)
				if files[tt.entry] != refused {
					t.Errorf("%s of fab-b with raw/ removed: %s = %q; want it kept (%q)", commit.name, tt.entry, files[tt.entry], refused)
				}
				if _, ok := files["fab-b/raw/ok.yaml"]; ok {
					t.Errorf("%s of fab-b with raw/ removed kept fab-b/raw/ok.yaml", commit.name)
				}
				checkTreeError(t, b.Discard(ctx), tt.err, tt.entry, head)
			}

			// Once the entry is gone, fab-b syncs again.
			fixed := gittest.CommitTree(t, bare, map[string]string{tt.entry: ""}, "remove it")
			if h := sync(t, b); h != fixed {
				t.Fatalf("Sync of fab-b after the fix = %s; want %s", h, fixed)
			}
			sync(t, a)
			assertMirror(t, a, bare, "other/big.bin", "other/..")
		})
	}
}

// checkTreeError checks that err is a permanent *TreeError wrapping want,
// naming path in commit as the only problem.
func checkTreeError(t *testing.T, err, want error, path, commit string) {
	t.Helper()
	var te *gitops.TreeError
	if !errors.Is(err, want) || !gitops.IsPermanent(err) || !errors.As(err, &te) {
		t.Fatalf("error = %v; want a permanent %v in a *TreeError", err, want)
	}
	if te.Path != path || te.Commit != commit || te.More != 0 {
		t.Errorf("TreeError names %q in %s, %d more; want %q in %s, none more", te.Path, te.Commit, te.More, path, commit)
	}
}

// TestSharedCloneNoCheckout: the fabrics sharing a clone take turns without
// checking it out again when nothing is new, whatever their Path; a new
// head, a state file of the old format (one checkout, no error) or a client
// with other Paths check it out once.
func TestSharedCloneNoCheckout(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "shared", sharedFiles())
	bare := srv.RepoDir("shared")
	dir := filepath.Join(t.TempDir(), "clone")
	paths := []string{"fab-b", "fab-a/", "fab-a"} // normalized to fab-a, fab-b
	a := sharedClient(t, url, dir, "fab-a", paths, 1<<20)
	b := sharedClient(t, url, dir, "fab-b", []string{"fab-a", "fab-b"}, 1<<20)
	// Path fab-c, not in its Paths, is added to them: the same rules.
	c := sharedClient(t, url, dir, "fab-c", []string{"fab-a", "fab-b"}, 1<<20)
	onlyA := sharedClient(t, url, dir, "fab-a", nil, 1<<20)
	cWith := sharedClient(t, url, dir, "fab-c", []string{"fab-a", "fab-b", "fab-c"}, 1<<20)
	steps := []struct {
		name     string
		client   *gitops.Client
		before   func(t *testing.T)
		checkout bool
	}{
		{"fab-b, nothing new", b, nil, false},
		{"fab-a, nothing new", a, nil, false},
		{"fab-b again", b, nil, false},
		{"someone pushes; fab-b", b, func(t *testing.T) {
			gittest.Commit(t, url, map[string]string{"fab-a/raw/new.yaml": "new: 1\n"}, "new raw file")
		}, true},
		{"fab-a, nothing new", a, nil, false},
		{"state file of the old format; fab-a", a, func(t *testing.T) {
			f := strings.Fields(readFile(t, dir, ".git/fabsync-sync"))
			writeFile(t, dir, ".git/fabsync-sync", fmt.Sprintf("%s %s path=%q max=%d\n", f[0], f[1], "fab-a", 1<<20))
		}, true},
		{"fab-b, nothing new", b, nil, false},
		{"fab-c, Path not in Paths", c, nil, true},
		{"fab-c, all three in Paths", cWith, nil, false},
		{"a client of fab-a alone", onlyA, nil, true},
		{"fab-b after it", b, nil, true},
		{"fab-a, nothing new", a, nil, false},
	}
	sync(t, a)
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before(t)
			}
			mark := markOf(t, dir)
			kept := modTime(t, filepath.Join(dir, "fab-a", "managed", "a.yaml"))
			if h := sync(t, st.client); h != remoteHead(t, bare) {
				t.Fatalf("Sync = %s; want %s", h, remoteHead(t, bare))
			}
			assertMirror(t, st.client, bare)
			got := markOf(t, dir)
			switch {
			case st.checkout && got.state == mark.state:
				t.Errorf("Sync did not check out again (state %q unchanged)", got.state)
			case !st.checkout && got != mark:
				t.Errorf("a Sync with nothing new checked out again: %+v → %+v", mark, got)
			}
			if now := modTime(t, filepath.Join(dir, "fab-a", "managed", "a.yaml")); !now.Equal(kept) {
				t.Errorf("Sync rewrote fab-a/managed/a.yaml, unchanged (%v → %v)", kept, now)
			}
		})
	}
}

// TestPathNotInPaths: a client whose Path is not among its Paths has it
// added: a problem in its folder fails its Sync, one in the folders of
// Paths does not.
func TestPathNotInPaths(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabc", sharedFiles())
	bare := srv.RepoDir("fabc")
	blob := gittest.WriteBlob(t, bare, strings.NewReader("x: 1\n"))
	head := gittest.CommitTree(t, bare, map[string]string{
		"fab-c/raw/x\x01.yaml": blob,
		"fab-b/raw/y\x01.yaml": blob,
		"fab-c/raw/ok.yaml":    blob,
	}, "bad names")
	tests := []struct {
		name  string
		path  string
		paths []string
		want  string // the problem Sync reports, "" for none
	}{
		{"fab-c, Paths without it", "fab-c", []string{"fab-b", "fab-a"}, "fab-c/raw/x\x01.yaml"},
		{"fab-a, Paths without it", "fab-a", []string{"fab-b"}, ""},
		{"fab-b, no Paths", "fab-b", nil, "fab-b/raw/y\x01.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sharedClient(t, url, filepath.Join(t.TempDir(), "clone"), tt.path, tt.paths, 0)
			_, err := c.Sync(context.Background(), nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Sync: %v", err)
				}
			} else {
				checkTreeError(t, err, gitops.ErrBadPath, tt.want, head)
			}
			assertMirror(t, c, bare, "fab-c/raw/x\x01.yaml", "fab-b/raw/y\x01.yaml")
		})
	}
}
