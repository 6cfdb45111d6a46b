package tasks_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

func TestReconcileArchivedTasks(t *testing.T) {
	tests := []struct {
		name       string
		stage      tasks.Stage // the stage the job reached before its task was archived
		wantState  tasks.State
		wantReason string
	}{
		{"git sync task archived", tasks.StageGitSync, tasks.StateFailed, "the git sync task was archived"},
		{"ingest task archived", tasks.StageIngest, tasks.StatePartialSync, "the ingest task was archived"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			svc := newService(t)
			j, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Start(ctx, j.ID, tasks.StageGitSync); err != nil {
				t.Fatal(err)
			}
			queue, taskID := tasks.QueueSync, "sync:"+j.ID
			if tt.stage == tasks.StageIngest {
				if _, err := svc.Start(ctx, j.ID, tasks.StageIngest); err != nil {
					t.Fatal(err)
				}
				// the sync task is done; the ingest task is what is left
				if err := svc.Inspector().DeleteTask(tasks.QueueSync, taskID); err != nil {
					t.Fatal(err)
				}
				it, _ := tasks.NewIngestTask(j.ID, "f1")
				if _, err := asynq.NewClientFromRedisClient(svc.Redis()).Enqueue(it); err != nil {
					t.Fatal(err)
				}
				queue, taskID = tasks.QueueIngest, "ingest:"+j.ID
			}
			if err := svc.Inspector().ArchiveTask(queue, taskID); err != nil {
				t.Fatal(err)
			}
			if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 1 {
				t.Fatalf("Reconcile = %d, %v; want 1", n, err)
			}
			got, _ := svc.Get(ctx, j.ID)
			if got.State != tt.wantState || !strings.HasPrefix(got.Reason, tt.wantReason) {
				t.Fatalf("job = %s (%q); want %s (%q…)", got.State, got.Reason, tt.wantState, tt.wantReason)
			}
			// An ended job holds no slot: a second pass changes nothing.
			if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 0 {
				t.Fatalf("second Reconcile = %d, %v; want 0", n, err)
			}
		})
	}
}

// triggerNotEnqueued triggers a job of fabric f1 whose enqueue never happened (its task deleted
// and its mark cleared), as if its process died between the two.
func triggerNotEnqueued(ctx context.Context, t *testing.T, svc *tasks.Service) *tasks.Job {
	t.Helper()
	j, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+j.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.ForgetEnqueued(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestReconcileRacesATrigger: a trigger that enqueues its job's task and marks the job while
// the reconciler looks at it (after its look-ups found no task) leaves the job queued, its task
// pending: the reconciler read the mark before it looked, so it saw a trigger still within
// its grace, not a task gone.
func TestReconcileRacesATrigger(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	j := triggerNotEnqueued(ctx, t, svc)
	raced := false
	svc.SetAfterLookup(func() {
		if !raced {
			raced = true
			if err := svc.EnqueueSync(ctx, j.ID, "f1"); err != nil {
				t.Error(err)
			}
		}
	})
	if n, err := svc.Reconcile(ctx, time.Minute); err != nil || n != 0 || !raced {
		t.Fatalf("Reconcile during a trigger = %d, %v (raced %v); want 0", n, err, raced)
	}
	if got, _ := svc.Get(ctx, j.ID); got.State != tasks.StateQueued {
		t.Fatalf("job = %s (%s); want queued", got.State, got.Reason)
	}
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+j.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("task = %v, %v; want pending", info, err)
	}
}

func TestReconcileEnqueuesAJobLeftQueued(t *testing.T) {
	// A trigger whose enqueue never happened (the process died between the two): after the
	// grace period the reconciler enqueues it.
	ctx := context.Background()
	svc := newService(t)
	now := time.Now()
	svc.SetClock(func() time.Time { return now })
	j := triggerNotEnqueued(ctx, t, svc)
	if n, err := svc.Reconcile(ctx, time.Minute); err != nil || n != 0 {
		t.Fatalf("Reconcile within grace = %d, %v; want 0", n, err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := svc.Reconcile(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("Reconcile after grace = %d, %v; want 1", n, err)
	}
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+j.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("task after reconcile = %v, %v; want pending", info, err)
	}
	// A job whose cancel was asked for and whose task is gone ends canceled.
	if err := svc.RequestCancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+j.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Reconcile(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("Reconcile of a canceled job = %d, %v", n, err)
	}
	if got, _ := svc.Get(ctx, j.ID); got.State != tasks.StateCanceled {
		t.Fatalf("job = %s; want canceled", got.State)
	}
}

func TestMetricsCollector(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	j, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerWebhook)
	if _, err := svc.Cancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(tasks.NewCollector(svc.Redis())); err != nil {
		t.Fatalf("register collector: %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			got[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = strconv.FormatFloat(v, 'g', -1, 64)
		}
	}
	want := map[string]string{
		"fabsync_jobs_total{fabric=f1,state=canceled,trigger=webhook}": "1",
		"fabsync_job_duration_seconds{outcome=canceled,stage=total}":   "1",
		"fabsync_metrics_scrape_error{}":                               "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("metric %s = %q; want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestOpenRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	_, url := redistest.Client(t)
	tests := []struct {
		url     string
		wantErr bool
	}{
		{url, false},
		{"redis-sentinel://127.0.0.1:1,127.0.0.1:2?master=m", false},
		{"http://example.com", true},
		{"redis://:hunter2@[::1", true},
		{"redis-cluster://127.0.0.1:7000,127.0.0.1:7001", false},
		{"redis-cluster://app:hunter2@10.0.0.1:7000", false},
		{"rediss-cluster://10.0.0.1:7000", false},
		{"redis-cluster://127.0.0.1:7000/0", true},
		{"redis-cluster://:hunter2@127.0.0.1", true},
		{"redis-cluster://", true},
	}
	for _, tt := range tests {
		rdb, err := tasks.OpenRedis(tt.url)
		if (err != nil) != tt.wantErr {
			t.Errorf("OpenRedis(%q) = %v; want error %v", tt.url, err, tt.wantErr)
		}
		if _, cluster := rdb.(*redis.ClusterClient); err == nil && cluster != strings.Contains(tt.url, "-cluster://") {
			t.Errorf("OpenRedis(%q) = %T; want a cluster client exactly for redis-cluster:// URLs", tt.url, rdb)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenRedis error %q repeats the password", err)
		}
		if rdb != nil {
			_ = rdb.Close()
		}
	}
}

// TestReconcileAfterRedisLostItsData: after FLUSHALL, asynq's client in this process still
// believes it published its queues, so a new job's task sits in a queue asynq's own list does not
// name. The reconciler must not take that for a lost task.
func TestReconcileAfterRedisLostItsData(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	if _, err := svc.Reconcile(ctx, time.Second); err != nil { // learns the epoch
		t.Fatal(err)
	}
	if _, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual); err != nil { // publishes the queue
		t.Fatal(err)
	}
	if err := svc.Redis().FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	j, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 0 {
			t.Fatalf("Reconcile = %d, %v; want 0 (the task is pending)", n, err)
		}
	}
	if got, _ := svc.Get(ctx, j.ID); got.State != tasks.StateQueued {
		t.Fatalf("job = %s (%s); want still queued", got.State, got.Reason)
	}
	if ok, err := svc.Redis().SIsMember(ctx, "asynq:queues", tasks.QueueSync).Result(); err != nil || !ok {
		t.Fatalf("asynq:queues has sync = %v, %v; want the queue published again", ok, err)
	}
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+j.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("task = %v, %v; want pending", info, err)
	}
}

// TestReconcileResumesJobsAfterALoss: Redis came back from an older copy that holds the job
// records but not their tasks. The jobs are enqueued again, at the stage they were in.
func TestReconcileResumesJobsAfterALoss(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	if _, err := svc.Reconcile(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	syncing, _, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	ingesting, _, _ := svc.Trigger(ctx, "f2", tasks.TriggerManual)
	for _, j := range []*tasks.Job{syncing, ingesting} {
		if _, err := svc.Start(ctx, j.ID, tasks.StageGitSync); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Start(ctx, ingesting.ID, tasks.StageIngest); err != nil {
		t.Fatal(err)
	}
	// The loss: the tasks and the epoch are gone, the job records are not.
	for _, j := range []*tasks.Job{syncing, ingesting} {
		if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+j.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Redis().Del(ctx, "fabsync:epoch").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 2 {
		t.Fatalf("Reconcile = %d, %v; want 2 jobs resumed", n, err)
	}
	for _, c := range []struct {
		j            *tasks.Job
		queue, task  string
		wantStateNow tasks.State
	}{
		{syncing, tasks.QueueSync, "sync:" + syncing.ID, tasks.StateSyncing},
		{ingesting, tasks.QueueIngest, "ingest:" + ingesting.ID, tasks.StateIngesting},
	} {
		got, _ := svc.Get(ctx, c.j.ID)
		if got.State != c.wantStateNow || !strings.Contains(got.Log[len(got.Log)-1].Message, "Redis lost its data") {
			t.Errorf("job %s = %s, last log %q; want %s and a log line about the loss", c.j.Fabric, got.State, got.Log[len(got.Log)-1].Message, c.wantStateNow)
		}
		if info, err := svc.Inspector().GetTaskInfo(c.queue, c.task); err != nil || info.State != asynq.TaskStatePending {
			t.Errorf("task %s = %v, %v; want pending", c.task, info, err)
		}
	}
	// Without a loss, a job whose task is gone fails as before.
	if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+syncing.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Reconcile(ctx, time.Second); err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v; want 1", n, err)
	}
	if got, _ := svc.Get(ctx, syncing.ID); got.State != tasks.StateFailed {
		t.Fatalf("job = %s; want failed (its task is gone)", got.State)
	}
}
