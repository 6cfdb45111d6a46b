package tasks_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

func newService(t *testing.T) *tasks.Service {
	t.Helper()
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	rdb, _ := redistest.Client(t)
	return tasks.NewService(rdb)
}

func TestTriggerSlots(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)

	first, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive || first.State != tasks.StateQueued {
		t.Fatalf("first Trigger = %v, %v, %v; want a queued active job", first, slot, err)
	}
	// While the first job is queued (not started), a trigger returns it.
	again, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerWebhook)
	if err != nil || slot != tasks.SlotExisting || again.ID != first.ID {
		t.Fatalf("Trigger while queued = %v, %v, %v; want the queued job %s", again.ID, slot, err, first.ID)
	}
	// Once it runs, one follow-up is queued, and further triggers return that follow-up.
	if _, err := svc.Start(ctx, first.ID, tasks.StageGitSync); err != nil {
		t.Fatal(err)
	}
	follow, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerSchedule)
	if err != nil || slot != tasks.SlotWaiting || follow.ID == first.ID {
		t.Fatalf("Trigger while running = %v, %v, %v; want a new waiting job", follow, slot, err)
	}
	third, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotExisting || third.ID != follow.ID {
		t.Fatalf("Trigger with one waiting = %v, %v, %v; want the waiting job %s", third.ID, slot, err, follow.ID)
	}
	// Another fabric is independent.
	if _, slot, err := svc.Trigger(ctx, "f2", tasks.TriggerManual); err != nil || slot != tasks.SlotActive {
		t.Fatalf("Trigger(f2) = %v, %v; want active", slot, err)
	}
	// The sync task of the active job is in the queue; the waiting job has none yet.
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+first.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("sync task of first job = %v, %v; want pending", info, err)
	}
	if _, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+follow.ID); err == nil {
		t.Fatalf("waiting job already has a task")
	}
	jobs, err := svc.List(ctx, "f1", 10)
	if err != nil || len(jobs) != 2 || jobs[0].ID != follow.ID || jobs[1].ID != first.ID {
		t.Fatalf("List = %v, %v; want [follow, first]", jobs, err)
	}
}

func TestConcurrentTriggers(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	const n = 20
	var wg sync.WaitGroup
	ids := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
			if err != nil {
				t.Error(err)
				return
			}
			ids <- j.ID
		}()
	}
	wg.Wait()
	close(ids)
	distinct := map[string]bool{}
	for id := range ids {
		distinct[id] = true
	}
	if len(distinct) != 1 {
		t.Fatalf("20 concurrent triggers made %d jobs; want 1 (all see the queued one)", len(distinct))
	}
	pending, err := svc.Inspector().ListPendingTasks(tasks.QueueSync)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending sync tasks = %d, %v; want 1", len(pending), err)
	}
}

func TestCancel(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	first, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	// Canceling a queued job ends it at once and removes its task.
	j, err := svc.Cancel(ctx, first.ID)
	if err != nil || j.State != tasks.StateCanceled || j.FinishedAt == nil {
		t.Fatalf("Cancel(queued) = %+v, %v; want canceled", j, err)
	}
	if _, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+first.ID); err == nil {
		t.Error("canceled job's task is still queued")
	}
	if _, err := svc.Cancel(ctx, first.ID); !errors.Is(err, tasks.ErrJobEnded) {
		t.Fatalf("Cancel(ended) = %v; want ErrJobEnded", err)
	}
	if _, err := svc.Cancel(ctx, "nope"); !errors.Is(err, tasks.ErrJobNotFound) {
		t.Fatalf("Cancel(unknown) = %v; want ErrJobNotFound", err)
	}
	// The slot is free again: a new trigger is active.
	if _, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerManual); err != nil || slot != tasks.SlotActive {
		t.Fatalf("Trigger after cancel = %v, %v; want active", slot, err)
	}
}

func TestCancelWaitingPromotes(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	first, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if _, err := svc.Start(ctx, first.ID, tasks.StageGitSync); err != nil {
		t.Fatal(err)
	}
	if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+first.ID); err != nil { // as if a worker held it
		t.Fatal(err)
	}
	follow, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	// Cancel the running job: nothing runs it (no task), so it ends now and the follow-up starts.
	if j, err := svc.Cancel(ctx, first.ID); err != nil || j.State != tasks.StateCanceled {
		t.Fatalf("Cancel(running without task) = %v, %v", j, err)
	}
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+follow.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("follow-up task = %v, %v; want pending after the running job ended", info, err)
	}
}

func TestReconcileEndsJobsWhoseTaskIsGone(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	j, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	follow := func() *tasks.Job {
		if _, err := svc.Start(ctx, j.ID, tasks.StageGitSync); err != nil {
			t.Fatal(err)
		}
		f, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
		return f
	}()
	// Nothing is wrong yet: the task is pending.
	if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 0 {
		t.Fatalf("Reconcile with live task = %d, %v; want 0", n, err)
	}
	// Someone deletes the task from the dashboard.
	if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+j.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v; want 1", n, err)
	}
	got, _ := svc.Get(ctx, j.ID)
	if got.State != tasks.StateFailed || got.Reason == "" || got.FinishedAt == nil {
		t.Fatalf("job after reconcile = %s (%q); want failed with a reason", got.State, got.Reason)
	}
	// The waiting job was promoted and enqueued.
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+follow.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("follow-up task = %v, %v; want pending", info, err)
	}
}

func TestProgressNeverGoesDown(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	j, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	for _, pct := range []int{10, 40, 20, 50} {
		if _, err := svc.Update(ctx, j.ID, func(j *tasks.Job) error { tasks.SetProgress(j, "git_sync", pct, "x"); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := svc.Get(ctx, j.ID)
	if got.Progress.Percent != 50 {
		t.Fatalf("percent = %d; want 50", got.Progress.Percent)
	}
	got, _ = svc.Update(ctx, j.ID, func(j *tasks.Job) error { tasks.SetProgress(j, "ingest", 30, "y"); return nil })
	if got.Progress.Percent != 50 {
		t.Fatalf("percent after a lower value = %d; want 50", got.Progress.Percent)
	}
}

// TestProgressTime: the progress records when it last moved and its stage's timeout, so that
// a stalled job can be told from a slow one; an update that leaves the progress as it was keeps
// the time.
func TestProgressTime(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	svc.SetClock(func() time.Time { return now })
	j, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if !j.Progress.UpdatedAt.Equal(now) || j.Progress.Timeout != 0 {
		t.Fatalf("queued progress = %+v; want updated now, no timeout", j.Progress)
	}
	now = now.Add(time.Minute)
	got, err := svc.Start(ctx, j.ID, tasks.StageGitSync)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Progress.UpdatedAt.Equal(now) || got.Progress.Timeout != int(tasks.SyncTimeout/time.Second) {
		t.Fatalf("progress in git sync = %+v; want updated at %v with the sync timeout", got.Progress, now)
	}
	started := now
	now = now.Add(time.Minute)
	got, _ = svc.Update(ctx, j.ID, func(j *tasks.Job) error { j.Reason = "unrelated"; return nil })
	if !got.Progress.UpdatedAt.Equal(started) || !got.UpdatedAt.Equal(now) {
		t.Fatalf("after an update that leaves the progress: progress at %v, job at %v; want %v and %v", got.Progress.UpdatedAt, got.UpdatedAt, started, now)
	}
	got, _ = svc.Update(ctx, j.ID, func(j *tasks.Job) error { tasks.SetProgress(j, tasks.ProgressIngest, 50, "x"); return nil })
	if !got.Progress.UpdatedAt.Equal(now) || got.Progress.Timeout != int(tasks.IngestTimeout/time.Second) {
		t.Fatalf("progress in ingest = %+v; want updated at %v with the ingest timeout", got.Progress, now)
	}
}

func TestBackoff(t *testing.T) {
	f := tasks.Backoff(time.Second, 10*time.Second)
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		got := f(n, nil, nil)
		if got < want*3/4 || got > want*5/4 {
			t.Errorf("Backoff(%d) = %v; want %v ±25%%", n, got, want)
		}
	}
}

func TestHistoryIsBounded(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	svc.SetKeep(3)
	var ids []string
	for i := 0; i < 6; i++ {
		j, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerSchedule)
		if err != nil || slot != tasks.SlotActive {
			t.Fatalf("Trigger %d = %v, %v", i, slot, err)
		}
		ids = append(ids, j.ID)
		if _, err := svc.Cancel(ctx, j.ID); err != nil { // end it so the next one is new
			t.Fatal(err)
		}
	}
	jobs, err := svc.List(ctx, "f1", 100)
	if err != nil || len(jobs) != 3 || jobs[0].ID != ids[5] || jobs[2].ID != ids[3] {
		t.Fatalf("List = %d jobs, %v; want the newest 3", len(jobs), err)
	}
	for _, old := range ids[:3] {
		if _, err := svc.Get(ctx, old); !errors.Is(err, tasks.ErrJobNotFound) {
			t.Errorf("trimmed job %s still stored (%v)", old, err)
		}
	}
}

func TestLatest(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	a1, _, _ := svc.Trigger(ctx, "a", tasks.TriggerManual)
	if _, err := svc.Cancel(ctx, a1.ID); err != nil {
		t.Fatal(err)
	}
	a2, _, _ := svc.Trigger(ctx, "a", tasks.TriggerManual)
	b1, _, _ := svc.Trigger(ctx, "b", tasks.TriggerManual)
	got, err := svc.Latest(ctx, []string{"a", "b", "never"})
	if err != nil || len(got) != 2 || got["a"].ID != a2.ID || got["b"].ID != b1.ID || got["never"] != nil {
		t.Fatalf("Latest = %v, %v; want a→%s, b→%s, nothing for never", got, err, a2.ID, b1.ID)
	}
	if got, err := svc.Latest(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("Latest(nil) = %v, %v", got, err)
	}
}

func TestFirstDelivery(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	for i, want := range []bool{true, false, false} {
		if got, err := svc.FirstDelivery(ctx, "d-1", time.Hour); err != nil || got != want {
			t.Fatalf("FirstDelivery #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	if err := svc.ForgetDelivery(ctx, "d-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := svc.FirstDelivery(ctx, "d-1", time.Hour); err != nil || !got {
		t.Fatalf("FirstDelivery after ForgetDelivery = %v, %v; want true", got, err)
	}
	if got, err := svc.FirstDelivery(ctx, "", time.Hour); err != nil || !got {
		t.Fatalf("FirstDelivery(\"\") = %v, %v; want true", got, err)
	}
}
