package gitops

// An internal test: what Push's own path sends must agree with `git rev-list --objects`, and
// the path has no API of its own.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestNewObjectsSince: for every kind of change a commit can make, the objects Push sends hold
// every object `git rev-list --objects base..HEAD` lists (what the remote lacks), and nothing
// more but what base holds in a folder that did not change (sent again). A
// history that is no line of single-parent commits on top of base, or too long a line, is left
// to go-git's push (errNotOurs).
func TestNewObjectsSince(t *testing.T) {
	if testing.Short() {
		t.Skip("needs git; skipped with -short")
	}
	base := map[string]string{
		"a/x.txt": "x\n", "a/b/y.txt": "y\n", "a/b/c/z.txt": "z\n",
		"keep/k.txt": "k\n", "run.sh": "#!/bin/sh\n", "twin/one.txt": "same\n",
	}
	write := func(dir string, files map[string]string) {
		for name, content := range files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit := func(dir, msg string) {
		gittest.Git(t, dir, "add", "-A")
		gittest.Git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	}
	rm := func(dir string, names ...string) {
		for _, n := range names {
			if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(n))); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name    string
		change  func(dir string) // makes the commits after base
		notOurs bool
		extra   int // objects of base listed again
	}{
		{name: "new nested folders", change: func(d string) {
			write(d, map[string]string{"new/d/e/f.txt": "f\n", "new/d/g.txt": "g\n"})
			commit(d, "add")
		}},
		{name: "a deep edit", change: func(d string) {
			write(d, map[string]string{"a/b/c/z.txt": "z2\n"})
			commit(d, "edit")
		}},
		{name: "a file removed", change: func(d string) { rm(d, "a/b/y.txt"); commit(d, "rm") }},
		{name: "a folder removed", change: func(d string) { rm(d, "a/b"); commit(d, "rm -r") }},
		{name: "a rename", change: func(d string) {
			gittest.Git(t, d, "mv", "keep/k.txt", "keep/k2.txt")
			commit(d, "mv")
		}},
		{name: "archived as ingest does", change: func(d string) {
			rm(d, "a/x.txt")
			write(d, map[string]string{".hnp/archive/job-1/x.txt.archived": "x\n", "managed/x.yaml": "x: 1\n"})
			commit(d, "ingest")
		}},
		{name: "the same new blob twice", change: func(d string) {
			write(d, map[string]string{"p/one.txt": "new twin\n", "q/one.txt": "new twin\n", "twin/two.txt": "same\n"})
			commit(d, "twins")
		}},
		// The folder is not sent (base's a/b held it), its file is: the walk met it first.
		{name: "a folder moved", extra: 1, change: func(d string) {
			gittest.Git(t, d, "mv", "a/b/c", "moved")
			commit(d, "mv folder")
		}},
		{name: "a copy of a file of a folder that did not change", extra: 1, change: func(d string) {
			write(d, map[string]string{"elsewhere/k.txt": "k\n", "elsewhere/new.txt": "new\n"})
			commit(d, "copy")
		}},
		{name: "a file becomes a folder", change: func(d string) {
			rm(d, "run.sh")
			write(d, map[string]string{"run.sh/inner.txt": "inner\n"})
			commit(d, "file to folder")
		}},
		{name: "a folder becomes a file", change: func(d string) {
			rm(d, "a/b/c")
			write(d, map[string]string{"a/b/c": "now a file\n"})
			commit(d, "folder to file")
		}},
		{name: "a mode change only", change: func(d string) {
			if err := os.Chmod(filepath.Join(d, "run.sh"), 0o755); err != nil {
				t.Fatal(err)
			}
			commit(d, "chmod")
		}},
		{name: "a symlink", change: func(d string) {
			if err := os.Symlink("a/x.txt", filepath.Join(d, "link")); err != nil {
				t.Fatal(err)
			}
			commit(d, "ln")
		}},
		{name: "an empty commit", change: func(d string) { commit(d, "empty") }},
		{name: "three commits in a line, the last undoing the first", change: func(d string) {
			write(d, map[string]string{"a/x.txt": "x2\n", "n/1.txt": "1\n"})
			commit(d, "one")
			write(d, map[string]string{"n/2.txt": "2\n"})
			commit(d, "two")
			write(d, map[string]string{"a/x.txt": "x\n"})
			rm(d, "n/1.txt")
			commit(d, "three")
		}},
		{name: "a merge", notOurs: true, change: func(d string) {
			gittest.Git(t, d, "checkout", "-q", "-b", "side")
			write(d, map[string]string{"side.txt": "s\n"})
			commit(d, "side")
			gittest.Git(t, d, "checkout", "-q", "main")
			write(d, map[string]string{"main.txt": "m\n"})
			commit(d, "main")
			gittest.Git(t, d, "merge", "-q", "--no-ff", "-m", "merge", "side")
		}},
		{name: "not on top of base", notOurs: true, change: func(d string) {
			gittest.Git(t, d, "checkout", "-q", "--orphan", "other")
			write(d, map[string]string{"o.txt": "o\n"})
			commit(d, "other root")
		}},
		{name: "too long a line", notOurs: true, change: func(d string) {
			for i := 0; i <= maxOwnCommits; i++ {
				gittest.Git(t, d, "commit", "-q", "--allow-empty", "-m", fmt.Sprint(i))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			gittest.Git(t, dir, "init", "-q", "-b", "main")
			write(dir, base)
			commit(dir, "base")
			baseHash := gittest.Git(t, dir, "rev-parse", "HEAD")
			tt.change(dir)
			head := gittest.Git(t, dir, "rev-parse", "HEAD")

			repo, err := git.PlainOpen(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := newObjectsSince(repo.Storer, plumbing.NewHash(baseHash), plumbing.NewHash(head))
			if tt.notOurs {
				if !errors.Is(err, errNotOurs) {
					t.Fatalf("newObjectsSince = %d objects, %v; want errNotOurs", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lacking := objectSet(gittest.Git(t, dir, "rev-list", "--objects", baseHash+".."+head))
			inBase := objectSet(gittest.Git(t, dir, "rev-list", "--objects", baseHash))
			sent := map[string]bool{}
			for _, h := range got {
				if sent[h.String()] {
					t.Errorf("%s listed twice", h)
				}
				sent[h.String()] = true
				if !lacking[h.String()] && !inBase[h.String()] {
					t.Errorf("%s listed: neither new nor of base", h)
				}
			}
			for h := range lacking {
				if !sent[h] {
					t.Errorf("%s (%s) is new and not listed", h, gittest.Git(t, dir, "cat-file", "-t", h))
				}
			}
			if len(sent) != len(lacking)+tt.extra {
				t.Errorf("listed %d objects for %d new ones; want %d of base listed again", len(sent), len(lacking), tt.extra)
			}
		})
	}
}

// objectSet is the hashes of `git rev-list --objects` output.
func objectSet(out string) map[string]bool {
	s := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if h, _, _ := strings.Cut(line, " "); h != "" {
			s[h] = true
		}
	}
	return s
}

// TestSendPack: Push's own path, over smart HTTP to `git http-backend`, leaves the remote
// whole (`git fsck`) at our commit, with the tracking branch moved, whether it sends the
// entries its commits kept (ownpack.go: a few objects, which the remote unpacks, or more than
// its unpackLimit of 100, which it keeps as a pack) or encodes them from the store; a remote
// that moved meanwhile refuses it (a rejection), and so does one whose branch is gone.
func TestSendPack(t *testing.T) {
	if testing.Short() {
		t.Skip("needs git; skipped with -short")
	}
	srv := gittest.NewServer(t)
	seed := map[string]string{"other/keep.txt": "keep\n"}
	for i := 0; i < 50; i++ {
		seed[fmt.Sprintf("fab/managed/obj-%02d.yaml", i)] = fmt.Sprintf("n: %d\n", i)
	}
	url := srv.NewRepo(t, "fabric", seed)
	bare := srv.RepoDir("fabric")
	c, err := New(Config{URL: url, Dir: filepath.Join(t.TempDir(), "clone"), Depth: RecommendedDepth,
		Author: Signature{Name: "Fab Sync", Email: "fab@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	round := func(names ...string) (repo *git.Repository, base, local plumbing.Hash, done func()) {
		t.Helper()
		if _, err := c.Sync(ctx, nil); err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, name := range names {
			p := filepath.Join(c.Dir(), "fab", "managed", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(name+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, "managed/"+name)
		}
		if _, ok, err := c.CommitPaths(ctx, "fab", "add "+names[0], paths); err != nil || !ok {
			t.Fatalf("CommitPaths = %v, %v", ok, err)
		}
		repo, done, err := c.openLocal()
		if err != nil {
			t.Fatal(err)
		}
		b, err := repo.Storer.Reference(c.tracking)
		if err != nil {
			t.Fatal(err)
		}
		l, err := repo.Storer.Reference(c.branch)
		if err != nil {
			t.Fatal(err)
		}
		return repo, b.Hash(), l.Hash(), done
	}

	repo, base, local, done := round("new/one.yaml")
	var progress strings.Builder
	if err := c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, &progress); err != nil {
		t.Fatalf("sendPack: %v", err)
	}
	done()
	if got := gittest.Git(t, bare, "rev-parse", "main"); got != local.String() {
		t.Fatalf("remote head = %s; want %s", got, local)
	}
	gittest.Git(t, bare, "fsck", "--strict", "--no-progress")
	if got := gittest.Git(t, bare, "show", "main:fab/managed/new/one.yaml"); got != "new/one.yaml" {
		t.Errorf("pushed file = %q", got)
	}
	if repo, done, err := c.openLocal(); err != nil {
		t.Fatal(err)
	} else if ref, err := repo.Storer.Reference(c.tracking); err != nil || ref.Hash() != local {
		done()
		t.Fatalf("tracking branch = %v, %v; want %s", ref, err, local)
	} else {
		done()
	}
	// The new file, the four trees above it and the commit: all sent as the commit kept them.
	if c.sentKept != 6 || c.own.at != nil {
		t.Errorf("sent %d objects as kept, %d still kept; want 6 and none", c.sentKept, len(c.own.at))
	}

	// Kept, and more than the remote unpacks: it keeps our pack as it is, and indexes it.
	many := make([]string, 120)
	for i := range many {
		many[i] = fmt.Sprintf("many/m-%03d.yaml", i)
	}
	repo, base, local, done = round(many...)
	err = c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, nil)
	done()
	if err != nil {
		t.Fatalf("sendPack of 120 files: %v", err)
	}
	gittest.Git(t, bare, "fsck", "--strict", "--no-progress")
	if got := gittest.Git(t, bare, "rev-parse", "main"); got != local.String() {
		t.Fatalf("remote head = %s; want %s", got, local)
	}
	if c.sentKept != 125 {
		t.Errorf("sent %d objects as kept; want 125 (120 files, 4 trees, the commit)", c.sentKept)
	}

	// The tree back as it was two commits ago: its trees are in the store already, so the
	// commit did not write (nor keep) them, and they are read from the store; only the commit
	// itself was kept.
	repo, base, local, done = round("back/one.yaml")
	if err := c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	done()
	repo, base, local, done = round("back/two.yaml")
	if err := c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	done()
	if err := os.Remove(filepath.Join(c.Dir(), "fab", "managed", "back", "two.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.CommitPaths(ctx, "fab", "rm two", []string{"managed/back/two.yaml"}); err != nil || !ok {
		t.Fatalf("CommitPaths = %v, %v", ok, err)
	}
	repo, done, err = c.openLocal()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := repo.Storer.Reference(c.tracking)
	l, _ := repo.Storer.Reference(c.branch)
	hashes, err := newObjectsSince(repo.Storer, b.Hash(), l.Hash())
	if err != nil {
		t.Fatal(err)
	}
	err = c.sendPack(ctx, repo, b.Hash(), l.Hash(), nil, transport.ProxyOptions{}, nil)
	done()
	if err != nil {
		t.Fatalf("sendPack of a folder back as it was: %v", err)
	}
	gittest.Git(t, bare, "fsck", "--strict", "--no-progress")
	if got := gittest.Git(t, bare, "ls-tree", "--name-only", "main:fab/managed/back"); got != "one.yaml" || len(hashes) != 5 || c.sentKept != 1 {
		t.Errorf("remote folder = %q, %d of %d objects sent as kept; want one.yaml, and 1 of 5 (the commit; its 4 trees from the store)", got, c.sentKept, len(hashes))
	}

	// A commit not pushed, dropped by the next sync (the remote head did not move, so the
	// sync puts the branch back there): the next commit forgets what the dropped one kept.
	_, _, _, done = round("dropped/one.yaml")
	done()
	dropped := len(c.own.at)
	_, base, local, done = round("kept/one.yaml")
	done()
	if dropped == 0 || len(c.own.at) != dropped {
		t.Errorf("kept %d objects after a commit dropped by a sync, %d for the dropped one; want the same number, the new commit's only", len(c.own.at), dropped)
	}
	if base == local {
		t.Fatal("the second commit is not ahead of the remote")
	}

	// A push to another branch (a pull request's, through go-git's push) forgets them too.
	if err := c.PushTo(ctx, "fabsync/pr", ""); err != nil {
		t.Fatalf("PushTo: %v", err)
	}
	if c.own.at != nil {
		t.Errorf("kept %d objects after a push to another branch; want none", len(c.own.at))
	}

	// Nothing kept (a Client that restarted between its commit and its push): all read from
	// the store, just as whole.
	repo, base, local, done = round("again/one.yaml", "again/two.yaml")
	c.own.forget()
	err = c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, nil)
	done()
	if err != nil {
		t.Fatalf("sendPack with nothing kept: %v", err)
	}
	gittest.Git(t, bare, "fsck", "--strict", "--no-progress")
	if got := gittest.Git(t, bare, "show", "main:fab/managed/again/two.yaml"); got != "again/two.yaml" || c.sentKept != 0 {
		t.Errorf("pushed file = %q, %d objects sent as kept; want none", got, c.sentKept)
	}

	// The remote moves after our sync: refused, the remote keeps its head.
	repo, base, local, done = round("two.yaml")
	theirs := gittest.Commit(t, url, map[string]string{"theirs.txt": "t\n"}, "theirs")
	err = c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, nil)
	done()
	if err == nil || !isRejection(err.Error()) {
		t.Fatalf("sendPack after the remote moved = %v; want a rejection", err)
	}
	if got := gittest.Git(t, bare, "rev-parse", "main"); got != theirs {
		t.Fatalf("remote head = %s; want %s kept", got, theirs)
	}

	// The branch is gone.
	repo, base, local, done = round("three.yaml")
	gittest.Git(t, bare, "update-ref", "-d", "refs/heads/main")
	err = c.sendPack(ctx, repo, base, local, nil, transport.ProxyOptions{}, nil)
	done()
	if err == nil || !isRejection(err.Error()) {
		t.Fatalf("sendPack to a deleted branch = %v; want a rejection", err)
	}
}
