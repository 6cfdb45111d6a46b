package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestResyncSettled: a scheduled tick of a settled fabric whose branch has not moved records a
// succeeded "nothing new" job itself (no sync task, no clone touched, the drift check and the
// metrics as a job that ran would leave them); a head read a moment ago answers the next tick
// too, until it is a tenth of the interval old; a new commit then takes the usual path, and so
// does a tick that finds a job already in the fabric's slot.
func TestResyncSettled(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	now := time.Now()
	r.svc.SetClock(func() time.Time { return now })
	first := r.runJob()
	if err := os.RemoveAll(r.cloneDir()); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(tasks.ResyncPayload{Fabric: "fab"})
	tick := func() *tasks.Job {
		t.Helper()
		if err := r.svc.ReleaseResync(ctx, "fab"); err != nil {
			t.Fatal(err)
		}
		if err := r.h.HandleResync(ctx, asynq.NewTask(tasks.TypeResync, b)); err != nil {
			t.Fatalf("HandleResync = %v", err)
		}
		jobs, err := r.svc.List(ctx, "fab", 1)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("List = %d jobs, %v", len(jobs), err)
		}
		return jobs[0]
	}
	syncQueued := func(id string) bool {
		_, err := r.svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+id)
		return err == nil
	}

	j := tick()
	if j.ID == first.ID || j.Trigger != tasks.TriggerSchedule || j.State != tasks.StateSucceeded ||
		j.GitSync.State != tasks.StageSucceeded || j.GitSync.Commit != first.Ingest.Commit ||
		!logHas(j, "nothing new: main is still at") || j.FinishedAt == nil || j.StartedAt == nil {
		t.Fatalf("tick of a settled fabric = %+v; want a succeeded scheduled job at %s, nothing new", j, first.Ingest.Commit)
	}
	if syncQueued(j.ID) {
		t.Fatal("the settled tick enqueued a sync task")
	}
	if _, err := os.Stat(r.cloneDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the settled tick touched the clone (%v)", err)
	}
	if d, err := r.svc.Drift(ctx, "fab"); err != nil || d.JobID != j.ID || len(d.Files) != 0 {
		t.Fatalf("drift check = %+v, %v; want one of zero files by %s", d, err, j.ID)
	}
	if n, _ := r.svc.Redis().HGet(ctx, "fabsync:metrics:jobs", "fab|schedule|succeeded").Int(); n != 1 {
		t.Fatalf("metrics: %d scheduled jobs succeeded; want 1", n)
	}

	// A push now is not seen by a tick within a tenth of the interval (1m: 5 s at most)…
	head := gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/more.yaml": strings.NewReplacer("vpc-1", "vpc-2", "10.0.1.0", "10.0.2.0", "1001", "1002").Replace(goodVPC)}, "more")
	now = now.Add(4 * time.Second)
	if j := tick(); j.State != tasks.StateSucceeded || j.GitSync.Commit != first.Ingest.Commit {
		t.Fatalf("tick 4 s later = %s at %s; want nothing new at the head read 4 s ago", j.State, j.GitSync.Commit)
	}
	// …and is by the first tick after that: a job queued with its sync task.
	now = now.Add(2 * time.Second)
	next := tick()
	if next.State != tasks.StateQueued || !syncQueued(next.ID) {
		t.Fatalf("tick after a push = %s (sync task queued %v); want a queued job (new head %s)", next.State, syncQueued(next.ID), head)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, next.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, next.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(next.ID); got.State != tasks.StateSucceeded || got.Ingest.Created != 1 {
		t.Fatalf("the job after the push = %s, %+v; want the new VPC ingested", got.State, got.Ingest)
	}

	// Settled again, but a manual job waits in the slot: the tick is folded into it, as before,
	// rather than recorded as nothing new beside it.
	now = now.Add(time.Minute)
	manual := r.trigger()
	if j := tick(); j.ID != manual.ID || j.State != tasks.StateQueued {
		t.Fatalf("tick beside a waiting job: newest job %s %s; want the tick folded into %s", j.ID, j.State, manual.ID)
	}
}
