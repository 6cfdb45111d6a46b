package tasks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// ingestTask returns the job's ingest task as asynq holds it.
func (r *rig) ingestTask(id string) *asynq.TaskInfo {
	r.t.Helper()
	info, err := r.svc.Inspector().GetTaskInfo(tasks.QueueIngest, "ingest:"+id)
	if err != nil {
		r.t.Fatalf("ingest task of %s: %v; want it in the queue", id, err)
	}
	return info
}

func (r *rig) commits() string {
	r.t.Helper()
	return gittest.Git(r.t, r.git.RepoDir("repo"), "rev-list", "--count", "main")
}

// The worker that ran the git sync runs the ingest stage at once; the ingest task is still
// enqueued (the chain's second task, and the fallback), and its delivery reports that attempt
// instead of running another.
func TestHandoffRunsTheIngestStageInProcess(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	r.h = r.handler(false)
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatalf("HandleRepoSync = %v", err)
	}
	got := r.job(j.ID)
	if got.State != tasks.StateSucceeded || got.Ingest.Commit == "" || got.Ingest.Attempts != 1 || got.Ingest.Documents != 1 {
		t.Fatalf("after the sync task: %s, ingest %+v; want succeeded by the ingest stage's attempt 1", got.State, got.Ingest)
	}
	if info := r.ingestTask(j.ID); info.State != asynq.TaskStateScheduled {
		t.Fatalf("ingest task is %s; want scheduled, the stage's fallback", info.State)
	}
	if n := r.commits(); n != "2" {
		t.Fatalf("remote has %s commits; want 2", n)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatalf("HandleIngest after the handoff = %v; want nil, the outcome of the in-process attempt", err)
	}
	after := r.job(j.ID)
	if after.Ingest.Attempts != 1 || !after.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("ingest task changed the job: attempts %d, updated %s -> %s; want it untouched", after.Ingest.Attempts, got.UpdatedAt, after.UpdatedAt)
	}
	if n := r.commits(); n != "2" {
		t.Fatalf("remote has %s commits after the ingest task; want still 2", n)
	}
	// A later delivery of the same task (asynq's at-least-once) runs the stage as usual: the
	// job ended, so it does nothing.
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil || r.commits() != "2" {
		t.Fatalf("second delivery = %v, %s commits; want nil, 2", err, r.commits())
	}
}

// An in-process attempt that fails for good is reported by the ingest task as its own failure,
// so that asynq archives the task as before.
func TestHandoffReportsAPermanentFailure(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/bad.yaml": "kind: VPC\nmetadata: [\n"}, "")
	r.h = r.handler(false)
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatalf("HandleRepoSync = %v; want nil (the git sync stage succeeded)", err)
	}
	if got := r.job(j.ID); got.State != tasks.StatePartialSync || got.Ingest.Attempts != 1 || len(got.Ingest.Errors) == 0 {
		t.Fatalf("job = %s, ingest %+v; want partial_sync after attempt 1", got.State, got.Ingest)
	}
	err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID))
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "raw") {
		t.Fatalf("HandleIngest = %v; want the in-process attempt's permanent error", err)
	}
	if got := r.job(j.ID); got.Ingest.Attempts != 1 {
		t.Fatalf("ingest attempts = %d; want 1", got.Ingest.Attempts)
	}
}

// A worker that dies while it runs the ingest stage in-process stops renewing its lease: the
// ingest task waits while the lease is good, then fails the lost attempt (one retry used, as a
// crashed task), and its retry runs the stage: one commit.
func TestHandoffAfterTheWorkerDied(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.HoldHandoff(ctx, j.ID, "fab"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := r.h.HandleIngest(wctx, task(tasks.TypeIngest, j.ID))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("HandleIngest while the lease is good = %v; want it to wait until its ctx ends", err)
	}
	if got := r.job(j.ID); got.State != tasks.StateIngesting || len(got.Ingest.AttemptErrors) != 0 || r.commits() != "1" {
		t.Fatalf("job = %s, errors %q, %s commits; want ingesting, untouched, nothing pushed", got.State, got.Ingest.AttemptErrors, r.commits())
	}

	r.svc.SetClock(func() time.Time { return time.Now().Add(tasks.HandoffLease + time.Second) })
	err = r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("HandleIngest after the lease ran out = %v; want a transient error (retried)", err)
	}
	got := r.job(j.ID)
	if got.State != tasks.StateIngesting || len(got.Ingest.AttemptErrors) != 1 || !strings.HasPrefix(got.Ingest.AttemptErrors[0], "attempt 1: ") {
		t.Fatalf("job = %s, errors %q; want ingesting with attempt 1 failed", got.State, got.Ingest.AttemptErrors)
	}

	r.retry = 1
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatalf("retry of the ingest task = %v", err)
	}
	if got := r.job(j.ID); got.State != tasks.StateSucceeded || got.Ingest.Attempts != 2 || got.Ingest.Commit == "" || r.commits() != "2" {
		t.Fatalf("job = %s after %d attempts, commit %q, %s commits; want succeeded at attempt 2 with one commit",
			got.State, got.Ingest.Attempts, got.Ingest.Commit, r.commits())
	}
}

// A cancel while the sync task runs (and may run the ingest stage in-process) leaves the ingest
// task in the queue: should the worker die, it is what ends the job.
func TestCancelLeavesTheIngestTaskWhileTheSyncTaskRuns(t *testing.T) {
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	j := r.trigger()
	ctx := context.Background()
	it, err := tasks.NewIngestTask(j.ID, "fab")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asynq.NewClientFromRedisClient(r.svc.Redis()).EnqueueContext(ctx, it, asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	srv := asynq.NewServerFromRedisClient(r.svc.Redis(), asynq.Config{
		Concurrency: 1, Queues: tasks.Queues, TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeRepoSync, func(context.Context, *asynq.Task) error {
		close(started)
		<-release
		return nil
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	defer close(release)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the sync task never started")
	}
	got, err := r.svc.Cancel(ctx, j.ID)
	if err != nil || got.State.Terminal() || !got.CancelRequested {
		t.Fatalf("Cancel = %v, %v; want the job flagged, not ended (its task runs)", got, err)
	}
	if info := r.ingestTask(j.ID); info.State != asynq.TaskStateScheduled {
		t.Fatalf("ingest task is %s; want still scheduled", info.State)
	}
}
