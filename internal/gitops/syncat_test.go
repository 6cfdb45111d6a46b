package gitops_test

import (
	"context"
	"errors"
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
			if at := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); at != want {
				t.Errorf("HEAD = %s; want %s", at, want)
			}
			if n := srv.Requests("info/refs") - refs; n != tt.refs {
				t.Errorf("ref advertisements = %d; want %d", n, tt.refs)
			}
			if n := srv.Requests("git-upload-pack") - fetches; n != tt.fetches {
				t.Errorf("fetches = %d; want %d", n, tt.fetches)
			}
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
