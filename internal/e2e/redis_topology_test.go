package e2e_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	// Redis replicates asynchronously: what the master acknowledged in the last instant before
	// it dies can be missing on the replica (docs/SCALING.md). The test kills it once the replica
	// has everything, as a failover under a normal replication lag does.
	// (WAIT covers the writes of its own connection: a write of the test's, after fabsync's,
	// fences them, the replication stream being in order.)
	fence := redis.NewClient(&redis.Options{Addr: sen.Master.Addr()})
	defer func() { _ = fence.Close() }()
	if err := fence.Set(context.Background(), "test:fence", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if acked, err := fence.Do(context.Background(), "WAIT", 1, 5000).Int64(); err != nil || acked != 1 {
		t.Fatalf("WAIT for the replica = %d, %v; want 1", acked, err)
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

// TestClusterSync runs fabsync on a Redis Cluster of three masters (REDIS_URL
// redis-cluster://…): a sync runs end to end (asynq's queues, fabsync's scripts, the inventory);
// while a job runs, more triggers give one waiting job and then that same job (one running,
// one waiting per fabric); fabrics whose keys are on different masters each run; a cancel
// ends the waiting job; the history, the fabric list and the drift checks read across slots.
func TestClusterSync(t *testing.T) {
	cl := redistest.StartCluster(t)
	g := newGatedGit(t)
	files := map[string]string{}
	fabrics := "fabrics:\n"
	names := []string{"fab", "fab-2", "fab-3", "fab-4", "fab-5", "fab-6"}
	for _, f := range names {
		files[f+"/raw/wiring.yaml"] = readTestdata(t, "wiring.yaml")
	}
	g.NewRepo(t, "gitops", files)
	for _, f := range names {
		fabrics += fmt.Sprintf("  - {name: %s, repo: %q, path: %s}\n", f, g.repoURL("gitops"), f)
	}
	hold, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	held := false
	var mu sync.Mutex
	g.set(func() int {
		mu.Lock()
		first := !held
		held = true
		mu.Unlock()
		if first {
			close(hold)
			<-release
		}
		return 0
	}, nil)
	sys := start(t, fabrics, options{redisURL: cl.URL})

	// The first job of fab hangs in its fetch: the second trigger waits, the third is it.
	j, status := sys.trigger("fab")
	if status != 202 {
		t.Fatalf("first trigger = %d; want 202", status)
	}
	<-hold
	w, status := sys.trigger("fab")
	again, status2 := sys.trigger("fab")
	if status != 202 || status2 != 200 || again.ID != w.ID || w.ID == j.ID {
		t.Fatalf("triggers while a job runs = %d %s, %d %s; want 202 with a waiting job, then 200 with the same", status, w.ID, status2, again.ID)
	}
	if r := sys.do("POST", "/api/v1/jobs/"+w.ID+"/cancel", ""); r.status != 202 {
		t.Fatalf("cancel the waiting job = %d %s", r.status, r.body)
	}
	if got := sys.waitFor(w.ID, 30*time.Second); got.State != tasks.StateCanceled {
		t.Fatalf("the waiting job = %s; want canceled", got.State)
	}
	once.Do(func() { close(release) })
	if j = sys.waitFor(j.ID, 90*time.Second); j.State != tasks.StateSucceeded || j.Ingest.Commit == "" {
		t.Fatalf("job on the cluster = %s (%s); want succeeded with a commit", j.State, j.Reason)
	}

	// The other fabrics, one after the other (each pushes to the same repository).
	for _, f := range names[1:] {
		jf, _ := sys.trigger(f)
		if jf = sys.waitFor(jf.ID, 90*time.Second); jf.State != tasks.StateSucceeded {
			t.Fatalf("job of %s = %s (%s); want succeeded", f, jf.State, jf.Reason)
		}
	}
	// A dry run has a slot script of its own.
	r := sys.do("POST", "/api/v1/fabrics/fab-2/sync", `{"dry_run": true}`)
	var dry tasks.Job
	r.decode(t, &dry)
	if dry = sys.waitFor(dry.ID, 60*time.Second); r.status != 202 || !dry.DryRun || dry.State != tasks.StateSucceeded || dry.Plan == nil {
		t.Errorf("dry run on the cluster = %d, %s, plan %v; want a succeeded dry run with its plan", r.status, dry.State, dry.Plan)
	}
	// Their keys are spread: every master holds some of fabsync's keys.
	for _, n := range cl.Nodes {
		out, err := exec.Command("redis-cli", "-p", strconv.Itoa(n.Port()), "--scan", "--pattern", "fabsync:*").Output()
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			t.Errorf("master %s holds no fabsync key (%v)", n.Addr(), err)
		}
	}
	var list struct {
		Fabrics []struct {
			Name      string
			LatestJob *tasks.Job `json:"latest_job"`
		}
	}
	sys.do("GET", "/api/v1/fabrics", "").decode(t, &list)
	for _, f := range list.Fabrics {
		want := tasks.StateSucceeded
		if f.Name == "fab" {
			want = tasks.StateCanceled // its newest job is the waiting one, canceled
		}
		if f.LatestJob == nil || f.LatestJob.State != want {
			t.Errorf("fabric %s in the list: latest job %v; want one %s", f.Name, f.LatestJob, want)
		}
	}
	if len(list.Fabrics) != len(names) {
		t.Errorf("the fabric list has %d fabrics; want %d", len(list.Fabrics), len(names))
	}
	var hist struct{ Jobs []tasks.Job }
	sys.do("GET", "/api/v1/fabrics/fab/jobs", "").decode(t, &hist)
	if len(hist.Jobs) != 2 || hist.Jobs[0].ID != w.ID || hist.Jobs[1].ID != j.ID {
		t.Errorf("history of fab = %d jobs; want the canceled one, then the first", len(hist.Jobs))
	}
	if r := sys.do("GET", "/api/v1/fabrics/fab/resources", ""); r.status != 200 || !strings.Contains(string(r.body), j.Ingest.Commit) {
		t.Errorf("inventory on the cluster = %d %.200s; want it at %s", r.status, r.body, j.Ingest.Commit)
	}
}
