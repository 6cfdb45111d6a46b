package worker

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestRunLogs: a permanent failure is one log line (the ErrorHandler's, final and permanent),
// not also asynq's "Retry exhausted"; and a clean shutdown, with this worker leading the
// scheduler, logs no ERROR.
func TestRunLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	rdb, _ := redistest.Client(t)
	p := filepath.Join(t.TempDir(), "fabsync.yaml")
	if err := os.WriteFile(p, []byte("fabrics: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := config.NewSource(p, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Redis: rdb, Handler: tasks.HandlerConfig{DataDir: t.TempDir(), Fabrics: src},
			Logger: slog.New(slog.NewJSONHandler(&logs, nil)), PollInterval: 20 * time.Millisecond, ShutdownTimeout: 2 * time.Second})
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v; want nil after cancel", err)
			}
		}
	}
	defer stop()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
			}
		}
	}
	waitFor("the scheduler", func() bool { return strings.Contains(logs.String(), "resync scheduler started") })

	client := asynq.NewClientFromRedisClient(rdb)
	info, err := client.Enqueue(asynq.NewTask(tasks.TypeResync, []byte("not json")), asynq.Queue(tasks.QueueSync), asynq.MaxRetry(3))
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	waitFor("the task to be archived", func() bool {
		ti, err := insp.GetTaskInfo(tasks.QueueSync, info.ID)
		return err == nil && ti.State == asynq.TaskStateArchived
	})
	stop()

	lines := jsonLines(t, logs.String())
	var about []map[string]any
	for _, l := range lines {
		if l["task_id"] == info.ID || strings.Contains(l["msg"].(string), info.ID) {
			about = append(about, l)
		}
	}
	if len(about) != 1 || about[0]["msg"] != "task failed" || about[0]["final"] != true || about[0]["permanent"] != true {
		t.Errorf("log lines about the failed task = %v; want one, \"task failed\" with final and permanent true", about)
	}
	for _, l := range lines {
		if l["level"] == "ERROR" && l["msg"] != "task failed" {
			t.Errorf("ERROR logged: %v", l)
		}
	}
	if last := lines[len(lines)-1]; last["msg"] != "worker stopped" {
		t.Errorf("last line = %v; want \"worker stopped\"", last)
	}
}

// TestConfigDefaults: an idle worker looks for new tasks every 20 ms (BenchmarkIdlePoll), not
// every 100 ms: a job no longer waits about 70 ms before its first task starts.
func TestConfigDefaults(t *testing.T) {
	got := Config{}.withDefaults()
	if got.PollInterval != 20*time.Millisecond || got.DelayedInterval != time.Second || got.Concurrency != 4 {
		t.Fatalf("defaults: poll %s, delayed %s, concurrency %d; want 20ms, 1s, 4", got.PollInterval, got.DelayedInterval, got.Concurrency)
	}
	if got := (Config{PollInterval: time.Second}).withDefaults(); got.PollInterval != time.Second {
		t.Fatalf("PollInterval 1s became %s; want it kept", got.PollInterval)
	}
}
