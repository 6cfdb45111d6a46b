package gitops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

const prBranch = "fabsync/fab"

// commitFile writes name in the clone and commits the folder fab.
func commitFile(t *testing.T, c *gitops.Client, name, content, msg string) string {
	t.Helper()
	writeFile(t, c.Dir(), name, content)
	sha, changed, err := c.Commit(context.Background(), "fab", msg)
	if err != nil || !changed {
		t.Fatalf("Commit = %s, %v, %v; want a commit", sha, changed, err)
	}
	return sha
}

// branchAt returns the commit of refs/heads/<branch> in the bare repository, "" when absent.
func branchAt(t *testing.T, bare, branch string) string {
	t.Helper()
	out := gittest.Git(t, bare, "for-each-ref", "--format=%(objectname)", "refs/heads/"+branch)
	return strings.TrimSpace(out)
}

// TestBranchPushToWithLease: a branch that does not exist is created, one that is where we
// left it is force-updated (the new commit is not a descendant of the old one), main is never
// touched, and the git CLI on the remote sees exactly our commits.
func TestBranchPushToWithLease(t *testing.T) {
	needGit(t)
	ctx := context.Background()
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", map[string]string{"fab/raw/a.yaml": "a: 1\n"})
	bare := srv.RepoDir("fabric")
	main := remoteHead(t, bare)
	c := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
	sync(t, c)

	if h, found, err := c.BranchHead(ctx, prBranch); err != nil || found || h != "" {
		t.Fatalf("BranchHead before = %q, %v, %v; want not found", h, found, err)
	}
	first := commitFile(t, c, "fab/managed/a.yaml", "a: 1\n", "first")
	if err := c.PushTo(ctx, prBranch, ""); err != nil {
		t.Fatalf("PushTo new branch: %v", err)
	}
	if got := branchAt(t, bare, prBranch); got != first {
		t.Fatalf("git: %s is at %q; want %s", prBranch, got, first)
	}
	if got := remoteHead(t, bare); got != main {
		t.Fatalf("git: main moved to %s; PushTo must leave it at %s", got, main)
	}
	h, found, err := c.BranchHead(ctx, prBranch)
	if err != nil || !found || h != first {
		t.Fatalf("BranchHead = %q, %v, %v; want %s", h, found, err, first)
	}

	// The next job starts again from main: its commit replaces the branch's.
	sync(t, c)
	second := commitFile(t, c, "fab/managed/a.yaml", "a: 2\n", "second")
	if err := c.PushTo(ctx, prBranch, first); err != nil {
		t.Fatalf("PushTo with the lease held: %v", err)
	}
	if got := branchAt(t, bare, prBranch); got != second {
		t.Fatalf("git: %s is at %q; want %s", prBranch, got, second)
	}
	if parent := gittest.Git(t, bare, "rev-parse", second+"^"); parent != main {
		t.Fatalf("git: the branch commit's parent is %s; want main %s (forced, not stacked)", parent, main)
	}
	if n := gittest.Git(t, bare, "rev-list", "--count", prBranch); n != "2" {
		t.Fatalf("git: %s has %s commits; want 2 (main's and ours)", prBranch, n)
	}
	if got := remoteHead(t, bare); got != main {
		t.Fatalf("git: main moved to %s", got)
	}
	// Pushing the same commit again with the lease at it is a no-op.
	if err := c.PushTo(ctx, prBranch, second); err != nil {
		t.Fatalf("PushTo again: %v", err)
	}
	// PushTo refuses the clone's own branch and bad names.
	for _, b := range []string{"main", "", "refs/heads/x", "a..b"} {
		if err := c.PushTo(ctx, b, ""); !errors.Is(err, gitops.ErrInvalidConfig) {
			t.Errorf("PushTo(%q) = %v; want ErrInvalidConfig", b, err)
		}
	}
}

// TestBranchLeaseLost: someone else moved, created or deleted the branch since we read it:
// PushTo pushes nothing and says ErrLeaseLost; the git CLI shows the other's commit intact.
func TestBranchLeaseLost(t *testing.T) {
	needGit(t)
	ctx := context.Background()
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", map[string]string{"fab/raw/a.yaml": "a: 1\n"})
	bare := srv.RepoDir("fabric")
	c := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
	sync(t, c)
	ours := commitFile(t, c, "fab/managed/a.yaml", "a: 1\n", "ours")
	if err := c.PushTo(ctx, prBranch, ""); err != nil {
		t.Fatal(err)
	}

	// Someone pushes their own commit onto the branch.
	other := gittest.Clone(t, url)
	gittest.Git(t, other, "fetch", "-q", "origin", prBranch)
	gittest.Git(t, other, "checkout", "-q", "-b", "theirs", "FETCH_HEAD")
	writeFile(t, other, "fab/managed/a.yaml", "a: theirs\n")
	gittest.Git(t, other, "commit", "-q", "-am", "a human's fix")
	gittest.Git(t, other, "push", "-q", "origin", "theirs:"+prBranch)
	theirs := gittest.Git(t, other, "rev-parse", "HEAD")

	sync(t, c)
	commitFile(t, c, "fab/managed/a.yaml", "a: 2\n", "next")
	err := c.PushTo(ctx, prBranch, ours)
	if !errors.Is(err, gitops.ErrLeaseLost) || errors.Is(err, gitops.ErrPushRejected) || gitops.IsPermanent(err) {
		t.Fatalf("PushTo with a stale lease = %v; want ErrLeaseLost (transient)", err)
	}
	if got := branchAt(t, bare, prBranch); got != theirs {
		t.Fatalf("git: %s is at %s; want their commit %s kept", prBranch, got, theirs)
	}
	// Expecting no branch where there is one.
	if err := c.PushTo(ctx, prBranch, ""); !errors.Is(err, gitops.ErrLeaseLost) {
		t.Fatalf("PushTo expecting no branch = %v; want ErrLeaseLost", err)
	}
	if got := branchAt(t, bare, prBranch); got != theirs {
		t.Fatalf("git: %s is at %s; want %s", prBranch, got, theirs)
	}
	// Deleted meanwhile: the lease names a head that is gone.
	gittest.Git(t, bare, "update-ref", "-d", "refs/heads/"+prBranch)
	if err := c.PushTo(ctx, prBranch, theirs); !errors.Is(err, gitops.ErrLeaseLost) {
		t.Fatalf("PushTo to a deleted branch = %v; want ErrLeaseLost", err)
	}
	if got := branchAt(t, bare, prBranch); got != "" {
		t.Fatalf("git: %s is at %s; want it still absent", prBranch, got)
	}
	// With the lease read afresh, the push goes through.
	h, found, err := c.BranchHead(ctx, prBranch)
	if err != nil || found {
		t.Fatalf("BranchHead = %s, %v, %v; want absent", h, found, err)
	}
	if err := c.PushTo(ctx, prBranch, h); err != nil {
		t.Fatalf("PushTo with a fresh lease: %v", err)
	}
	if got, want := branchAt(t, bare, prBranch), gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); got != want {
		t.Fatalf("git: %s is at %s; want %s", prBranch, got, want)
	}
}

// TestBranchFetchAndSameTree: a second clone (another worker) fetches the branch's head and
// compares it with its own commit, leaving out the bookkeeping folder; its own branch and HEAD
// stay where they were.
func TestBranchFetchAndSameTree(t *testing.T) {
	needGit(t)
	ctx := context.Background()
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", map[string]string{"fab/raw/a.yaml": "a: 1\n", "other/x": "x\n"})
	pusher := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
	sync(t, pusher)
	writeFile(t, pusher.Dir(), "fab/.hnp/log.yaml", "job: 1\n")
	pushed := commitFile(t, pusher, "fab/managed/a.yaml", "a: 1\n", "job 1\n\nFabsync-Job: 1")
	if err := pusher.PushTo(ctx, prBranch, ""); err != nil {
		t.Fatal(err)
	}

	c := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
	main := sync(t, c)
	head, found, err := c.BranchHead(ctx, prBranch)
	if err != nil || !found || head != pushed {
		t.Fatalf("BranchHead = %s, %v, %v; want %s", head, found, err, pushed)
	}
	if _, err := c.ReadCommit(head); err == nil {
		t.Fatal("ReadCommit found the branch's commit before FetchBranch")
	}
	if err := c.FetchBranch(ctx, prBranch, head); err != nil {
		t.Fatalf("FetchBranch: %v", err)
	}
	ci, err := c.ReadCommit(head)
	if err != nil || len(ci.Parents) != 1 || ci.Parents[0] != main || !ci.HasTrailer("Fabsync-Job", "1") || ci.HasTrailer("Fabsync-Job", "2") {
		t.Fatalf("ReadCommit = %+v, %v; want parent %s and trailer Fabsync-Job: 1", ci, err, main)
	}
	if got := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); got != main {
		t.Fatalf("FetchBranch moved HEAD to %s", got)
	}

	// Another job's ingest: the same resource file, other bookkeeping.
	writeFile(t, c.Dir(), "fab/.hnp/log.yaml", "job: 2\n")
	writeFile(t, c.Dir(), "fab/.hnp/archive/2/a.yaml.archived", "a: 1\n")
	again := commitFile(t, c, "fab/managed/a.yaml", "a: 1\n", "job 2")
	for _, tc := range []struct {
		ignore []string
		want   bool
	}{
		{nil, false},
		{[]string{"fab/.hnp"}, true},
		{[]string{"/fab/.hnp/"}, true},
		{[]string{"fab/.hnp/log.yaml"}, false}, // the archive differs too
		{[]string{"fab/.hnp/log.yaml", "fab/.hnp/archive"}, true},
		{[]string{"fab/managed"}, false},
	} {
		same, err := c.SameTree(again, head, tc.ignore...)
		if err != nil || same != tc.want {
			t.Errorf("SameTree(ignore %q) = %v, %v; want %v", tc.ignore, same, err, tc.want)
		}
	}
	if same, err := c.SameTree(head, head); err != nil || !same {
		t.Errorf("SameTree(head, head) = %v, %v; want true", same, err)
	}
	// A change to a resource file differs whatever the bookkeeping.
	changed := commitFile(t, c, "fab/managed/a.yaml", "a: 2\n", "job 3")
	if same, err := c.SameTree(changed, head, "fab/.hnp"); err != nil || same {
		t.Errorf("SameTree after an edit = %v, %v; want false", same, err)
	}
	// A branch that moved away from the head read: FetchBranch says so.
	gittest.Git(t, srv.RepoDir("fabric"), "update-ref", "refs/heads/"+prBranch, main)
	if err := c.FetchBranch(ctx, prBranch, strings.Repeat("ab", 20)); !errors.Is(err, gitops.ErrLeaseLost) {
		t.Errorf("FetchBranch of a commit the branch no longer holds = %v; want ErrLeaseLost", err)
	}
}

// TestBranchTokenSource: git over HTTPS takes a fresh token from Auth.TokenSource for each
// operation, with user x-access-token; a source that fails fails the operation, and no token
// shows in an error.
func TestBranchTokenSource(t *testing.T) {
	needGit(t)
	ctx := context.Background()
	srv := gittest.NewServer(t, gittest.WithBasicAuth(gitops.DefaultHTTPUser, "tok-2"))
	url := srv.NewRepo(t, "fabric", map[string]string{"fab/raw/a.yaml": "a: 1\n"})
	n := 0
	var fail error
	c := newClient(t, gitops.Config{URL: url, Path: "fab", Auth: gitops.Auth{Password: "static", TokenSource: func(context.Context) (string, error) {
		n++
		return "tok-" + string(rune('0'+n)), fail
	}}})
	if _, err := c.Sync(ctx, nil); !errors.Is(err, gitops.ErrAuth) || strings.Contains(err.Error(), "tok-1") {
		t.Fatalf("Sync with the first token = %v; want ErrAuth without the token", err)
	}
	sync(t, c) // tok-2
	fail = errors.New("the forge is down")
	if _, _, err := c.BranchHead(ctx, prBranch); err == nil || !strings.Contains(err.Error(), "the forge is down") {
		t.Fatalf("BranchHead with a failing source = %v; want its error", err)
	}
	if n != 3 {
		t.Fatalf("token source called %d times; want once per operation (3)", n)
	}
}
