package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestMaxObjects: a clone or fetch that would bring more than
// Config.MaxObjects objects fails at once with ErrRepoTooLarge (permanent),
// naming the count and the limit, and leaves an existing clone as it was; a
// shallow clone of the same repository under the limit works.
func TestMaxObjects(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	tests := []struct {
		name       string
		max, depth int
		commits    int  // on top of the first, before the first Sync
		newCommits int  // pushed after the first Sync, fetched by a second
		wantErr    bool // from the first Sync, or from the second with newCommits
	}{
		{name: "full clone over the limit", max: 20, depth: 0, commits: 10, wantErr: true},
		{name: "shallow clone under the limit", max: 20, depth: 1, commits: 10},
		{name: "full clone under the default limit", depth: 0, commits: 10},
		{name: "fetch over the limit", max: 40, depth: 50, newCommits: 10, wantErr: true},
		{name: "shallow fetch under the limit", max: 40, depth: 1, newCommits: 10},
	}
	for _, transport := range []string{"http", "file"} {
		for i, tt := range tests {
			t.Run(transport+"/"+tt.name, func(t *testing.T) {
				name := fmt.Sprintf("large-%s-%d", transport, i)
				url := srv.NewRepo(t, name, map[string]string{"fab/raw/a.yaml": "a: 0\n", "fab/raw/b.yaml": "b: 0\n"})
				bare := srv.RepoDir(name)
				if transport == "file" {
					url = "file://" + bare
				}
				commits := func(n, from int) {
					for k := 0; k < n; k++ {
						h := gittest.WriteBlob(t, bare, strings.NewReader(fmt.Sprintf("a: %d\n", from+k)))
						gittest.CommitTree(t, bare, map[string]string{fmt.Sprintf("fab/managed/m%d.yaml", from+k): h}, "change")
					}
				}
				commits(tt.commits, 1) // 5 objects each: commit, three trees, blob
				c := newClient(t, gitops.Config{URL: url, Depth: tt.depth, MaxObjects: tt.max, Path: "fab"})
				_, err := c.Sync(context.Background(), nil)
				if tt.newCommits == 0 {
					checkTooLarge(t, c, err, tt.wantErr, tt.max)
					if err == nil {
						assertMirror(t, c, bare)
					}
					return
				}
				if err != nil {
					t.Fatalf("first Sync = %v", err)
				}
				before := remoteHead(t, bare)
				commits(tt.newCommits, 100)
				_, err = c.Sync(context.Background(), nil)
				checkTooLarge(t, c, err, tt.wantErr, tt.max)
				if err == nil {
					assertMirror(t, c, bare)
					return
				}
				if got := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); got != before {
					t.Errorf("HEAD after a refused fetch = %s; want the clone kept at %s", got, before)
				}
				if !exists(c.Dir(), "fab/raw/a.yaml") {
					t.Errorf("working tree emptied by a refused fetch")
				}
			})
		}
	}
}

func checkTooLarge(t *testing.T, c *gitops.Client, err error, want bool, max int) {
	t.Helper()
	if !want {
		if err != nil {
			t.Fatalf("Sync = %v; want success", err)
		}
		return
	}
	if !errors.Is(err, gitops.ErrRepoTooLarge) || !gitops.IsPermanent(err) {
		t.Fatalf("Sync = %v; want a permanent ErrRepoTooLarge", err)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("over the limit of %d", max)) || strings.Contains(msg, c.Dir()) {
		t.Errorf("Sync error %q; want the limit named, and no local path", msg)
	}
}
