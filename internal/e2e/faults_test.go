package e2e_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/server"
	"github.com/fabsync/fabsync/internal/tasks"
)

// The fault tests (`make test-faults` runs only these; `make test` runs them too) use real
// worker processes, a real redis-server and real git servers on loopback.

var faultFiles = func(t *testing.T) map[string]string {
	return map[string]string{"fab/raw/wiring.yaml": readTestdata(t, "wiring.yaml"), "fab/raw/vpcs.yaml": readTestdata(t, "vpcs.yaml")}
}

const faultDocs = 6 // documents in faultFiles

// checkLanded asserts the remote holds exactly one commit for the job, on top of everything
// else, and every document's resource file.
func checkLanded(t *testing.T, g *gatedGit, j tasks.Job, wantCommits int) {
	t.Helper()
	bare := g.RepoDir("gitops")
	ours := gittest.Git(t, bare, "log", "--format=%H", "--grep", "Fabsync-Job: "+j.ID, "main")
	if n := len(strings.Fields(ours)); n != 1 {
		t.Errorf("remote has %d commits for job %s; want exactly 1", n, j.ID)
	}
	if n := gittest.Git(t, bare, "rev-list", "--count", "main"); n != fmt.Sprint(wantCommits) {
		t.Errorf("remote has %s commits; want %d", n, wantCommits)
	}
	clone := gittest.Clone(t, g.Server.URL+"/gitops.git")
	m := readManifest(t, filepath.Join(clone, "fab"))
	if len(m.Resources) != faultDocs {
		t.Errorf("manifest lists %d resources; want %d", len(m.Resources), faultDocs)
	}
	for _, r := range m.Resources {
		if _, err := os.Stat(filepath.Join(clone, "fab", r.Path)); err != nil {
			t.Errorf("resource %s missing: %v", r.Path, err)
		}
	}
	if got := yamlFiles(t, filepath.Join(clone, "fab", "raw")); len(got) != 0 {
		t.Errorf("raw/ still holds %v", got)
	}
}

// killDuringPush kills a worker process while its push is held (before it lands, or after it
// landed but before the worker heard back), starts a second worker, and checks that the job
// ends succeeded with exactly one commit.
func killDuringPush(t *testing.T, landFirst bool) {
	t.Parallel()
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", faultFiles(t))
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")), options{workers: -1})
	held, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	g.set(nil, func(run func()) {
		if first.CompareAndSwap(false, true) {
			if landFirst {
				run() // the push lands; the worker never hears back
			}
			close(held)
			<-release
			return
		}
		run()
	})
	w1 := sys.startWorker(t, "w1")
	j, _ := sys.trigger("fab")
	select {
	case <-held:
	case <-time.After(60 * time.Second):
		t.Fatalf("the worker never pushed: %s", jsonString(sys.getJob(j.ID)))
	}
	if st := sys.getJob(j.ID).State; st != tasks.StateIngesting {
		t.Fatalf("job is %s while its push is held; want ingesting", st)
	}
	w1.kill()
	close(release)
	sys.startWorker(t, "w2")
	// asynq re-queues a dead worker's task once its lease expires (about 60–90 s).
	got := sys.waitFor(j.ID, 4*time.Minute)
	if got.State != tasks.StateSucceeded {
		t.Fatalf("job = %s (%s); want succeeded", got.State, got.Reason)
	}
	if got.Ingest.Attempts < 2 {
		t.Errorf("ingest attempts = %d; the crash should cost one attempt", got.Ingest.Attempts)
	}
	if got.Ingest.Commit == "" {
		t.Error("job records no commit")
	}
	checkLanded(t, g, got, 2)
}

func TestFaultKillWorkerBeforePush(t *testing.T) { killDuringPush(t, false) }
func TestFaultKillWorkerAfterPush(t *testing.T)  { killDuringPush(t, true) }

// TestFaultGitServerDown: a server that fails and comes back is retried with backoff; one that
// stays down fails the job with every attempt's error.
func TestFaultGitServerDown(t *testing.T) {
	t.Parallel()
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", faultFiles(t))
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")), options{})

	var fails atomic.Int32
	fails.Store(2)
	g.set(func() int {
		if fails.Add(-1) >= 0 {
			return http.StatusServiceUnavailable
		}
		return 0
	}, nil)
	j, _ := sys.trigger("fab")
	got := sys.wait(j.ID)
	if got.State != tasks.StateSucceeded || got.GitSync.Attempts != 3 || len(got.GitSync.AttemptErrors) != 2 {
		t.Fatalf("comes back: %s after %d attempts, errors %q; want succeeded on attempt 3", got.State, got.GitSync.Attempts, got.GitSync.AttemptErrors)
	}
	checkLanded(t, g, got, 2)

	g.set(func() int { return http.StatusServiceUnavailable }, nil)
	j, _ = sys.trigger("fab")
	got = sys.wait(j.ID)
	want := tasks.SyncMaxRetry + 1
	if got.State != tasks.StateFailed || got.GitSync.Attempts != want || len(got.GitSync.AttemptErrors) != want || got.Reason == "" {
		t.Fatalf("stays down: %s after %d attempts, %d errors, reason %q; want failed after %d", got.State, got.GitSync.Attempts, len(got.GitSync.AttemptErrors), got.Reason, want)
	}
	if !strings.Contains(got.GitSync.AttemptErrors[0], "attempt 1") {
		t.Errorf("attempt errors = %q", got.GitSync.AttemptErrors)
	}
}

// TestFaultConcurrentPush: someone pushes to the branch while the ingestion runs; both commits
// end on the remote.
func TestFaultConcurrentPush(t *testing.T) {
	t.Parallel()
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", faultFiles(t))
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")), options{})
	var once sync.Once
	g.set(nil, func(run func()) {
		once.Do(func() {
			gittest.Commit(t, g.Server.URL+"/gitops.git", map[string]string{"notes/ops.md": "maintenance window\n"}, "someone else's commit")
		})
		run()
	})
	j, _ := sys.trigger("fab")
	got := sys.wait(j.ID)
	if got.State != tasks.StateSucceeded {
		t.Fatalf("job = %s (%s)", got.State, got.Reason)
	}
	log := gittest.Git(t, g.RepoDir("gitops"), "log", "--format=%s", "main")
	if !strings.Contains(log, "someone else's commit") {
		t.Errorf("the other commit was lost:\n%s", log)
	}
	if !strings.Contains(strings.Join(logLines(got), "\n"), "push rejected") {
		t.Errorf("job log does not mention the rejected push: %q", logLines(got))
	}
	checkLanded(t, g, got, 3)
}

func logLines(j tasks.Job) []string {
	var out []string
	for _, l := range j.Log {
		out = append(out, l.Message)
	}
	return out
}

// TestFaultRedisRestart: Redis restarts while a job runs; /readyz answers 503 meanwhile and
// recovers, and the job ends (here: succeeds) instead of staying in a running state.
func TestFaultRedisRestart(t *testing.T) {
	t.Parallel()
	rs := redistest.StartServer(t, redistest.Persistent())
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", faultFiles(t))
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")), options{redis: rs})
	held, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	g.set(nil, func(run func()) {
		if first.CompareAndSwap(false, true) {
			close(held)
			<-release
		}
		run()
	})
	j, _ := sys.trigger("fab")
	<-held
	rs.Stop()
	if r := sys.do("GET", "/readyz", ""); r.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz while Redis is down = %d; want 503", r.status)
	}
	time.Sleep(time.Second)
	rs.Restart()
	close(release)
	got := sys.waitFor(j.ID, 3*time.Minute)
	if got.State != tasks.StateSucceeded && got.Reason == "" {
		t.Fatalf("job = %s with no reason", got.State)
	}
	if got.State == tasks.StateSucceeded {
		checkLanded(t, g, got, 2)
	}
	if r := sys.do("GET", "/readyz", ""); r.status != 200 {
		t.Errorf("/readyz after Redis came back = %d", r.status)
	}
}

// TestFaultTaskDeletedFromDashboard: a job whose task is deleted in Asynqmon (here while it
// waits for a retry) ends failed with a reason, instead of staying "syncing" forever.
func TestFaultTaskDeletedFromDashboard(t *testing.T) {
	t.Parallel()
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", faultFiles(t))
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")),
		options{retryBase: 30 * time.Second, monitoring: server.MonitoringReadWrite})
	g.set(func() int { return http.StatusServiceUnavailable }, nil)
	j, _ := sys.trigger("fab")
	deadline := time.Now().Add(30 * time.Second)
	for len(sys.getJob(j.ID).GitSync.AttemptErrors) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first attempt never failed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var r response
	for i := 0; i < 100; i++ { // the task moves to the retry set just after the handler returns
		if r = sys.do("DELETE", "/monitoring/api/queues/sync/retry_tasks/sync:"+j.ID, ""); r.status < 300 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r.status >= 300 {
		t.Fatalf("delete through Asynqmon = %d %s", r.status, r.body)
	}
	got := sys.waitFor(j.ID, 30*time.Second)
	if got.State != tasks.StateFailed || !strings.Contains(got.Reason, "task is gone") {
		t.Fatalf("job = %s (%q); want failed because its task is gone", got.State, got.Reason)
	}
}
