package gitops_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestSyncBadPaths: a tree entry that cannot be checked out safely is left
// out of the working tree and fails the Sync of the fabric whose folder
// holds it at the first attempt, permanently, naming it; the clones of other
// fabric folders of the same repository keep working and keep the entry,
// untouched, in what they push.
func TestSyncBadPaths(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		entry  string // inside a fabric folder
		reason string // in the message
	}{
		{"backslashes", `raw/..\..\x.yaml`, "backslash"},
		{"dot-dot folder", "raw/../x.yaml", `".."`},
		{"dot-dot file", "raw/..", `".."`},
		{"dot folder", "raw/./x.yaml", `"."`},
		{".git folder", ".git/config", `".git"`},
		{".git file deeper", "raw/sub/.git", `".git"`},
		{".GIT in capitals", "raw/.GIT/hooks/post-checkout", `".GIT"`},
		{"NTFS short name of .git", "git~1/config", `"git~1"`},
		{"NTFS trailing dot", ".git./config", `".git."`},
		{"control character", "raw/x\x01.yaml", "control character"},
		{"overlong symbolic link", "raw/link", "symbolic link"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "fabric" + string(rune('a'+i))
			url := srv.NewRepo(t, name, map[string]string{
				"fab/raw/ok.yaml":       "ok: 1\n",
				"other/raw/ok.yaml":     "ok: 2\n",
				"other/managed/a.yaml":  "a: 1\n",
				"fab/managed/old.yaml":  "old: 1\n",
				"fab/managed/keep.yaml": "keep: 1\n",
			})
			bare := srv.RepoDir(name)
			fab := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
			other := newClient(t, gitops.Config{URL: url, Path: "other/", Depth: gitops.RecommendedDepth})
			sync(t, fab)
			sync(t, other)

			blob := gittest.WriteBlob(t, bare, strings.NewReader("x: 1\n"))
			if strings.HasSuffix(tt.entry, "link") {
				blob = "120000 " + gittest.WriteBlob(t, bare, strings.NewReader(strings.Repeat("a/", 2500)))
			}
			badPath := "fab/" + tt.entry
			badHead := gittest.CommitTree(t, bare, map[string]string{badPath: blob, "fab/managed/old.yaml": ""}, "add a bad path")

			check := func(t *testing.T, err error) {
				t.Helper()
				var te *gitops.TreeError
				if !errors.Is(err, gitops.ErrBadPath) || !gitops.IsPermanent(err) || !errors.As(err, &te) {
					t.Fatalf("Sync = %v; want a permanent ErrBadPath in a *TreeError", err)
				}
				if te.Path != badPath || te.Commit != badHead {
					t.Errorf("TreeError names %q in %s; want %q in %s", te.Path, te.Commit, badPath, badHead)
				}
				if msg := err.Error(); !strings.Contains(msg, quoted(badPath)) || !strings.Contains(msg, tt.reason) {
					t.Errorf("error %q does not name %s and what is wrong (%s)", msg, quoted(badPath), tt.reason)
				}
				t.Logf("error: %v", err)
			}

			// The fabric's existing clone: the first Sync fails, having
			// checked out everything but the bad entry; so does the next
			// one, with nothing new to check out.
			_, err := fab.Sync(ctx, nil)
			check(t, err)
			assertMirror(t, fab, bare, badPath)
			_, err = fab.Sync(ctx, nil)
			check(t, err)
			// A first clone, and a clone of the whole repository, fail the
			// same way.
			_, err = newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth}).Sync(ctx, nil)
			check(t, err)
			_, err = newClient(t, gitops.Config{URL: url}).Sync(ctx, nil)
			check(t, err)

			// Another fabric of the repository is not blocked: its clone
			// has everything but the bad entry, and what it pushes keeps
			// the entry as it was.
			if h := sync(t, other); h != badHead {
				t.Fatalf("Sync of the other fabric = %s; want %s", h, badHead)
			}
			assertMirror(t, other, bare, badPath)
			fresh := newClient(t, gitops.Config{URL: url, Path: "other", Depth: gitops.RecommendedDepth})
			sync(t, fresh)
			assertMirror(t, fresh, bare, badPath)
			writeFile(t, other.Dir(), "other/managed/b.yaml", "b: 1\n")
			if _, ok, err := other.Commit(ctx, "other", "other fabric's ingest"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			if err := other.Push(ctx, nil); err != nil {
				t.Fatalf("Push: %v", err)
			}
			before, after := treeFiles(t, bare, badHead), treeFiles(t, bare, "main")
			if after[badPath] != before[badPath] {
				t.Errorf("the other fabric's push changed %q: %q → %q", badPath, before[badPath], after[badPath])
			}
			if got := gittest.Git(t, bare, "rev-parse", "main:fab"); got != gittest.Git(t, bare, "rev-parse", badHead+":fab") {
				t.Errorf("the other fabric's push changed the tree of fab/")
			}

			// Once someone removes the entry, the fabric syncs again.
			fixed := gittest.CommitTree(t, bare, map[string]string{badPath: ""}, "remove the bad path")
			if h := sync(t, fab); h != fixed {
				t.Fatalf("Sync after the fix = %s; want %s", h, fixed)
			}
			assertMirror(t, fab, bare)
		})
	}

	// A bad entry outside every fabric folder (here at the top of the
	// repository) blocks nobody but a clone of the whole repository.
	t.Run("outside every fabric folder", func(t *testing.T) {
		url := srv.NewRepo(t, "top", map[string]string{"fab/raw/ok.yaml": "ok: 1\n"})
		bare := srv.RepoDir("top")
		blob := gittest.WriteBlob(t, bare, strings.NewReader("x: 1\n"))
		gittest.CommitTree(t, bare, map[string]string{"../x.yaml": blob, `..\evil`: blob}, "bad paths at the top")
		fab := newClient(t, gitops.Config{URL: url, Path: "fab"})
		sync(t, fab)
		assertMirror(t, fab, bare, "../x.yaml", `..\evil`)
		if _, err := newClient(t, gitops.Config{URL: url}).Sync(ctx, nil); !errors.Is(err, gitops.ErrBadPath) {
			t.Errorf("Sync of the whole repository = %v; want ErrBadPath", err)
		}
	})
}

// quoted is a path as an error prints it: in double quotes, with Go escapes
// when it holds a control character.
func quoted(p string) string {
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strconv.Quote(p)
	}
	return `"` + p + `"`
}
