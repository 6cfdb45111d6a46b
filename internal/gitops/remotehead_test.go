package gitops_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestRemoteHead: the branch head as the remote has it, in one round trip, without a clone:
// it follows a new commit, says ErrBranchNotFound for a branch the remote lacks, and never
// creates the clone's folder.
func TestRemoteHead(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", fabricFiles(2, 2))
	bare := srv.RepoDir("fabric")
	ctx := context.Background()
	c := newClient(t, gitops.Config{URL: url, Path: "fab"})
	tests := []struct {
		name string
		step func()
	}{
		{"first", func() {}},
		{"after a new commit", func() {
			gittest.CommitTree(t, bare, map[string]string{"fab/raw/new.yaml": gittest.WriteBlob(t, bare, strings.NewReader("x: 1\n"))}, "new")
		}},
	}
	for _, tt := range tests {
		tt.step()
		got, err := c.RemoteHead(ctx)
		if want := remoteHead(t, bare); err != nil || got != want {
			t.Errorf("%s: RemoteHead = %s, %v; want %s", tt.name, got, err, want)
		}
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RemoteHead left a clone folder behind (%v)", err)
	}
	other := newClient(t, gitops.Config{URL: url, Branch: "nope"})
	if _, err := other.RemoteHead(ctx); !errors.Is(err, gitops.ErrBranchNotFound) || !gitops.IsPermanent(err) {
		t.Errorf("RemoteHead of a missing branch = %v; want a permanent ErrBranchNotFound", err)
	}
	gone := newClient(t, gitops.Config{URL: srv.URL + "/missing.git"})
	if _, err := gone.RemoteHead(ctx); !errors.Is(err, gitops.ErrRemoteNotFound) {
		t.Errorf("RemoteHead of a missing repository = %v; want ErrRemoteNotFound", err)
	}
}
