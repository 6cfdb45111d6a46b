package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestSyncAt: SyncAt takes the caller's remote head instead of asking the remote again. Each
// case starts from a clone synced to the remote head; step moves the remote and returns the
// head handed in. want is what SyncAt returns and checks out ("now" the remote head after
// step, "handed" the head handed in), refs the ref advertisements it asks for (Sync asks for
// two when it fetches: its own look and the fetch's), fetches its upload-pack requests.
func TestSyncAt(t *testing.T) {
	needGit(t)
	tests := []struct {
		name          string
		step          func(t *testing.T, url, bare string) string
		want          string
		refs, fetches int
	}{
		{"nothing new", func(t *testing.T, url, bare string) string {
			return remoteHead(t, bare)
		}, "now", 0, 0},
		{"a new commit", func(t *testing.T, url, bare string) string {
			return gittest.Commit(t, url, map[string]string{"fab/raw/new.yaml": "x: 1\n"}, "new")
		}, "now", 1, 1},
		{"moved again after the look", func(t *testing.T, url, bare string) string {
			looked := gittest.Commit(t, url, map[string]string{"fab/raw/a.yaml": "x: 1\n"}, "a")
			gittest.Commit(t, url, map[string]string{"fab/raw/b.yaml": "x: 2\n"}, "b")
			return looked
		}, "handed", 1, 1},
		{"rewritten after the look", func(t *testing.T, url, bare string) string {
			looked := gittest.Commit(t, url, map[string]string{"fab/raw/a.yaml": "x: 1\n"}, "a")
			gittest.Git(t, bare, "update-ref", "refs/heads/main", looked+"~1")
			gittest.Commit(t, url, map[string]string{"fab/raw/c.yaml": "x: 3\n"}, "c")
			return looked
		}, "now", 2, 1},
		{"no hash", func(t *testing.T, url, bare string) string {
			gittest.Commit(t, url, map[string]string{"fab/raw/new.yaml": "x: 1\n"}, "new")
			return "not a hash"
		}, "now", 2, 1},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gittest.NewServer(t)
			url := srv.NewRepo(t, "fabric", fabricFiles(2, 2))
			bare := srv.RepoDir("fabric")
			c := newClient(t, gitops.Config{URL: url, Path: "fab"})
			sync(t, c)
			handed := tt.step(t, url, bare)
			want := remoteHead(t, bare)
			if tt.want == "handed" {
				want = handed
			}
			refs, fetches := srv.Requests("info/refs"), srv.Requests("git-upload-pack")
			got, err := c.SyncAt(ctx, handed, nil)
			if err != nil || got != want {
				t.Fatalf("SyncAt = %s, %v; want %s", got, err, want)
			}
			checkSynced(t, srv, c, want, tt.refs, tt.fetches, refs, fetches)
			// From a stale head, the push is refused and the next Sync catches up.
			writeFile(t, c.Dir(), "fab/managed/ours.yaml", "ours: 1\n")
			if _, ok, err := c.Commit(ctx, "fab", "ours\n\nFabsync-Job: j1"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			now := remoteHead(t, bare)
			err = c.Push(ctx, nil)
			if want != now {
				if !errors.Is(err, gitops.ErrPushRejected) {
					t.Fatalf("Push onto a stale head = %v; want ErrPushRejected", err)
				}
				if got := sync(t, c); got != now {
					t.Errorf("Sync after the refused push = %s; want %s", got, now)
				}
			} else if err != nil {
				t.Fatalf("Push: %v", err)
			} else if log := gittest.Git(t, bare, "log", "-1", "--format=%B", "main"); !strings.Contains(log, "Fabsync-Job: j1") {
				t.Errorf("remote head message = %q; want our commit", log)
			}
		})
	}
}

// TestRemoteHeadThenSyncAt: over smart HTTP a SyncAt to the head RemoteHead just returned
// fetches with RemoteHead's ref advertisement, one request (the upload-pack POST) instead of
// two, with the clone's depth. Each case starts from a clone synced to the remote head; before
// moves the remote through the server, after moves it in the bare repository once RemoteHead
// has looked. want is what SyncAt returns ("looked" or "now"), refs and fetches the requests
// from RemoteHead on. A branch rewritten after the look makes the server refuse the head
// looked at: SyncAt then asks the remote as Sync does.
func TestRemoteHeadThenSyncAt(t *testing.T) {
	needGit(t)
	commitIn := func(t *testing.T, bare, name string) string {
		// A commit made in the bare repository itself, not through the server.
		work := gittest.Clone(t, bare)
		writeFile(t, work, name, name+"\n")
		gittest.Git(t, work, "add", "-A")
		gittest.Git(t, work, "commit", "-q", "-m", name)
		gittest.Git(t, work, "push", "-q", "origin", "HEAD:main")
		return gittest.Git(t, work, "rev-parse", "HEAD")
	}
	tests := []struct {
		name          string
		depth         int
		before        func(t *testing.T, url, bare string)
		after         func(t *testing.T, bare, looked string)
		sync          bool // Sync instead of SyncAt: it asks for itself
		lookTwice     bool
		want          string
		refs, fetches int
	}{
		{name: "nothing new", want: "looked", refs: 1},
		{name: "a new commit", before: func(t *testing.T, url, bare string) {
			commitIn(t, bare, "fab/raw/new.yaml")
		}, want: "looked", refs: 1, fetches: 1},
		{name: "five new commits, depth 2", depth: 2, before: func(t *testing.T, url, bare string) {
			for i := 0; i < 5; i++ {
				commitIn(t, bare, fmt.Sprintf("fab/raw/n%d.yaml", i))
			}
		}, want: "looked", refs: 1, fetches: 1},
		{name: "moved again after the look", before: func(t *testing.T, url, bare string) {
			commitIn(t, bare, "fab/raw/a.yaml")
		}, after: func(t *testing.T, bare, looked string) {
			commitIn(t, bare, "fab/raw/b.yaml")
		}, want: "looked", refs: 1, fetches: 1},
		{name: "rewritten after the look", before: func(t *testing.T, url, bare string) {
			commitIn(t, bare, "fab/raw/a.yaml")
		}, after: func(t *testing.T, bare, looked string) {
			gittest.Git(t, bare, "update-ref", "refs/heads/main", looked+"~1")
			commitIn(t, bare, "fab/raw/c.yaml")
		}, want: "now", refs: 3, fetches: 2},
		{name: "Sync after the look", sync: true, before: func(t *testing.T, url, bare string) {
			commitIn(t, bare, "fab/raw/new.yaml")
		}, want: "now", refs: 3, fetches: 1},
		{name: "looked twice", lookTwice: true, before: func(t *testing.T, url, bare string) {
			commitIn(t, bare, "fab/raw/new.yaml")
		}, want: "looked", refs: 2, fetches: 1},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gittest.NewServer(t)
			url := srv.NewRepo(t, "fabric", fabricFiles(2, 2))
			bare := srv.RepoDir("fabric")
			c := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: tt.depth})
			sync(t, c)
			if tt.before != nil {
				tt.before(t, url, bare)
			}
			refs, fetches := srv.Requests("info/refs"), srv.Requests("git-upload-pack")
			looked, err := c.RemoteHead(ctx)
			if tt.lookTwice && err == nil {
				looked, err = c.RemoteHead(ctx)
			}
			if err != nil || looked != remoteHead(t, bare) {
				t.Fatalf("RemoteHead = %s, %v; want %s", looked, err, remoteHead(t, bare))
			}
			if tt.after != nil {
				tt.after(t, bare, looked)
			}
			want := looked
			if tt.want == "now" {
				want = remoteHead(t, bare)
			}
			var got string
			if tt.sync {
				got, err = c.Sync(ctx, nil)
			} else {
				got, err = c.SyncAt(ctx, looked, nil)
			}
			if err != nil || got != want {
				t.Fatalf("sync = %s, %v; want %s", got, err, want)
			}
			checkSynced(t, srv, c, want, tt.refs, tt.fetches, refs, fetches)
			// The clone is whole for git, and as deep as asked.
			gittest.Git(t, c.Dir(), "fsck", "--no-progress", "--connectivity-only")
			if tt.depth > 0 {
				if n := gittest.Git(t, c.Dir(), "rev-list", "--count", "HEAD"); n != strconv.Itoa(tt.depth) {
					t.Errorf("commits reachable from HEAD = %s; want the depth, %d", n, tt.depth)
				}
			}
			// And it pushes.
			writeFile(t, c.Dir(), "fab/managed/ours.yaml", "ours: 1\n")
			if _, ok, err := c.Commit(ctx, "fab", "ours\n\nFabsync-Job: j1"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			if err := c.Push(ctx, nil); want == remoteHead(t, bare) && err != nil {
				t.Fatalf("Push: %v", err)
			}
		})
	}
}

// checkSynced checks that c's clone is at want and that the server answered refs ref
// advertisements and fetches upload-pack requests since it had answered refs0 and fetches0.
func checkSynced(t *testing.T, srv *gittest.Server, c *gitops.Client, want string, refs, fetches, refs0, fetches0 int) {
	t.Helper()
	if at := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); at != want {
		t.Errorf("HEAD = %s; want %s", at, want)
	}
	if n := srv.Requests("info/refs") - refs0; n != refs {
		t.Errorf("ref advertisements = %d; want %d", n, refs)
	}
	if n := srv.Requests("git-upload-pack") - fetches0; n != fetches {
		t.Errorf("fetches = %d; want %d", n, fetches)
	}
}
