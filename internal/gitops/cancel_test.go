package gitops_test

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// midway is a context that counts the calls of its Err and, when stopAt is set, reports
// context.Canceled from that call on (and closes Done): it cancels an operation in the middle, at
// one of its own checks, the same way on every run.
type midway struct {
	context.Context
	mu     gosync.Mutex
	calls  int
	stopAt int // 0: never
	done   chan struct{}
	once   gosync.Once
}

func newMidway(stopAt int) *midway {
	return &midway{Context: context.Background(), stopAt: stopAt, done: make(chan struct{})}
}

func (m *midway) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.stopAt > 0 && m.calls >= m.stopAt {
		m.once.Do(func() { close(m.done) })
		return context.Canceled
	}
	return nil
}

func (m *midway) Done() <-chan struct{} { return m.done }

// TestCancelMidOperation cancels a commit of 2,000 files (whole folder and named paths) and the clean-up of an interrupted
// ingest half way through their own work: each returns an error wrapping context.Canceled, the
// clone keeps the remote head (no half commit), and the next Sync brings it back exactly.
func TestCancelMidOperation(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	ops := []struct {
		name string
		prep func(t *testing.T, c *gitops.Client)
		run  func(ctx context.Context, c *gitops.Client) error
	}{
		{"commit", func(t *testing.T, c *gitops.Client) {
			for i := range 2000 {
				writeFile(t, c.Dir(), fmt.Sprintf("fab/managed/vpcs/n%04d.yaml", i), fmt.Sprintf("name: n-%d\n", i))
			}
		}, func(ctx context.Context, c *gitops.Client) error {
			_, _, err := c.Commit(ctx, "fab", "half\n")
			return err
		}},
		{"commit paths", func(t *testing.T, c *gitops.Client) {
			for i := range 2000 {
				writeFile(t, c.Dir(), fmt.Sprintf("fab/managed/vpcs/n%04d.yaml", i), fmt.Sprintf("name: n-%d\n", i))
			}
		}, func(ctx context.Context, c *gitops.Client) error {
			paths := make([]string, 2000)
			for i := range paths {
				paths[i] = fmt.Sprintf("managed/vpcs/n%04d.yaml", i)
			}
			_, _, err := c.CommitPaths(ctx, "fab", "half\n", paths)
			return err
		}},
		{"discard", func(t *testing.T, c *gitops.Client) { ingestLeftovers(t, c.Dir(), 5000) },
			func(ctx context.Context, c *gitops.Client) error { return c.Discard(ctx) }},
	}
	for i, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			// How many checks the whole operation makes, on an identical clone.
			count := newMidway(0)
			url := srv.NewRepo(t, fmt.Sprintf("count%d", i), fabricFiles(10, 100))
			a := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth, Path: "fab"})
			sync(t, a)
			op.prep(t, a)
			if err := op.run(count, a); err != nil {
				t.Fatalf("%s without a cancel: %v", op.name, err)
			}
			if count.calls < 4 {
				t.Fatalf("%s checks its context %d times; want it checked as it goes", op.name, count.calls)
			}
			// The same operation, canceled half way.
			name := fmt.Sprintf("cancel%d", i)
			url = srv.NewRepo(t, name, fabricFiles(10, 100))
			bare := srv.RepoDir(name)
			b := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth, Path: "fab"})
			sync(t, b)
			op.prep(t, b)
			half := newMidway(count.calls / 2)
			err := op.run(half, b)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s canceled at check %d of %d = %v; want context.Canceled", op.name, count.calls/2, count.calls, err)
			}
			if got, want := gittest.Git(t, b.Dir(), "rev-parse", "HEAD"), remoteHead(t, bare); got != want {
				t.Fatalf("HEAD after a canceled %s = %s; want the remote head %s", op.name, got, want)
			}
			sync(t, b)
			assertMirror(t, b, bare)
		})
	}
}
