package worker

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestNotifyThroughWorker: the worker serves the notify queue with the notification handlers
// registered, and retries a notification with the notify backoff (here 10 ms), not the jobs'
// (here an hour): a job that fails sends its webhook, which answers 503 once and then 200, and
// the message arrives once, on its retry, with the job's final state.
func TestNotifyThroughWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	var mu sync.Mutex
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		n := len(bodies)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer hook.Close()
	rdb, _ := redistest.Client(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "fabsync.yaml")
	// The repository does not exist: the job fails at its first attempt.
	y := "fabrics:\n  - name: a\n    repo: " + filepath.Join(dir, "no-such-repo") + "\n    notify:\n      - {type: webhook, url: '" + hook.URL + "/hook', on: [failed]}\n"
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
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
			Logger: slog.New(slog.NewJSONHandler(&logs, nil)), PollInterval: 10 * time.Millisecond, DelayedInterval: 20 * time.Millisecond,
			RetryBase: time.Hour, RetryMax: time.Hour, NotifyRetryBase: 10 * time.Millisecond, NotifyRetryMax: 20 * time.Millisecond,
			ShutdownTimeout: 2 * time.Second, NoScheduler: true})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	svc := tasks.NewService(rdb)
	j, _, err := svc.Trigger(ctx, "a", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	got := func() [][]byte {
		mu.Lock()
		defer mu.Unlock()
		return append([][]byte(nil), bodies...)
	}
	for deadline := time.Now().Add(20 * time.Second); len(got()) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			jj, _ := svc.Get(ctx, j.ID)
			t.Fatalf("webhook got %d requests; want 2 (job %+v); log:\n%s", len(got()), jj, logs.String())
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(got()); n != 2 {
		t.Fatalf("webhook got %d requests; want 2 (a 503, then the delivery)", n)
	}
	var sent tasks.Job
	if err := json.Unmarshal(got()[1], &sent); err != nil || sent.ID != j.ID || sent.State != tasks.StateFailed {
		t.Fatalf("webhook body = %s (%v); want job %s, failed", got()[1], err, j.ID)
	}
}
