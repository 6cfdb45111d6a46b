package e2e_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestSentinelFailover runs fabsync on Redis with Sentinel (a master, a replica, three
// sentinels) and kills the master while a job waits for its push: the replica is promoted,
// the job finishes (succeeded, one commit), nothing is left stuck (the next job runs), and no
// job is lost.
func TestSentinelFailover(t *testing.T) {
	sen := redistest.StartSentinel(t)
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", map[string]string{"fab/raw/wiring.yaml": readTestdata(t, "wiring.yaml")})
	atPush, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	first := true
	g.set(nil, func(run func()) {
		if first {
			first = false
			close(atPush)
			<-release
		}
		run()
	})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")), options{redisURL: sen.URL})
	before := gitCount(t, g.RepoDir("gitops"))

	j, _ := sys.trigger("fab")
	select {
	case <-atPush:
	case <-time.After(60 * time.Second):
		t.Fatalf("job %s never reached its push", j.ID)
	}
	took := sen.KillMaster(30 * time.Second)
	t.Logf("the replica was promoted %s after the master was killed", took.Round(time.Millisecond))
	once.Do(func() { close(release) })

	j = sys.waitFor(j.ID, 90*time.Second)
	if j.State != tasks.StateSucceeded || j.Ingest.Commit == "" {
		t.Fatalf("job after the failover = %s (%s); want succeeded with its commit", j.State, j.Reason)
	}
	if got := gitCount(t, g.RepoDir("gitops")); got != before+1 {
		t.Errorf("remote has %d commits; want %d (one commit for the job)", got, before+1)
	}
	// Nothing stuck: the fabric's slot is free, and a new job runs to its end on the new master.
	next, status := sys.trigger("fab")
	if status != 202 {
		t.Fatalf("trigger after the failover = %d; want 202 (a new job)", status)
	}
	if next = sys.waitFor(next.ID, 60*time.Second); next.State != tasks.StateSucceeded {
		t.Fatalf("next job = %s (%s); want succeeded", next.State, next.Reason)
	}
	// No job lost: the history holds both.
	var list struct{ Jobs []tasks.Job }
	sys.do("GET", "/api/v1/fabrics/fab/jobs", "").decode(t, &list)
	if len(list.Jobs) != 2 || list.Jobs[0].ID != next.ID || list.Jobs[1].ID != j.ID {
		t.Errorf("history after the failover = %d jobs; want %s and %s", len(list.Jobs), next.ID, j.ID)
	}
}

// gitCount is the number of commits on main in the bare repository dir.
func gitCount(t *testing.T, dir string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(gittest.Git(t, dir, "rev-list", "--count", "main"), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
