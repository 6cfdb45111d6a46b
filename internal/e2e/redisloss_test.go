package e2e_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestRedisLosesItsData wipes Redis (FLUSHALL, as a restart without persistence or a failover to
// an empty replica would) under running API and worker processes. Jobs after the wipe must
// succeed without any restart: before, every one of them failed while it ran ("its task is
// gone"), because asynq's client never published its queues again.
func TestRedisLosesItsData(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{})
	j, _ := sys.trigger("fab")
	if j = sys.wait(j.ID); j.State != tasks.StateSucceeded {
		t.Fatalf("first job = %s (%s)", j.State, j.Reason)
	}
	rdb, err := tasks.OpenRedis(sys.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rdb.Close() }()
	for round := range 3 {
		if err := rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		gittest.Commit(t, url, map[string]string{fmt.Sprintf("fab/raw/r%d.yaml", round): readTestdata(t, "vpcs.yaml")}, "more")
		j, _ := sys.trigger("fab")
		if j = sys.wait(j.ID); j.State != tasks.StateSucceeded || j.Ingest.Commit == "" {
			t.Fatalf("job %d after FLUSHALL = %s (%s); want succeeded with a commit", round, j.State, j.Reason)
		}
	}
}
