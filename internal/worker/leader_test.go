package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestSchedulerLeader: of three workers, exactly one runs the resync scheduler; when it stops,
// another takes over within the lease.
func TestSchedulerLeader(t *testing.T) {
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
	var mu sync.Mutex
	leading := map[int]bool{}
	count := func() (n, who int) {
		mu.Lock()
		defer mu.Unlock()
		who = -1
		for i, l := range leading {
			if l {
				n++
				who = i
			}
		}
		return n, who
	}
	log := slog.New(slog.DiscardHandler)
	cancels := make([]context.CancelFunc, 3)
	var wg sync.WaitGroup
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		cfg := Config{Redis: rdb, Handler: tasks.HandlerConfig{Fabrics: src}, ScheduleSync: time.Second,
			LeaderLease: 600 * time.Millisecond,
			onLead:      func(l bool) { mu.Lock(); leading[i] = l; mu.Unlock() }}
		wg.Add(1)
		go func() { defer wg.Done(); runScheduler(ctx, cfg, log) }()
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("a leader", func() bool { n, _ := count(); return n == 1 })
	time.Sleep(time.Second) // several renewals: still exactly one
	n, first := count()
	if n != 1 {
		t.Fatalf("%d leaders; want 1", n)
	}
	cancels[first]() // the leader stops (and releases its lease)
	waitFor("a new leader", func() bool { n, who := count(); return n == 1 && who != first })
}

// TestTickError: a tick refused because the fabric's last one still waits is dropped in
// silence; any other enqueue failure is logged.
func TestTickError(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{asynq.ErrDuplicateTask, ""},
		{fmt.Errorf("wrapped: %w", asynq.ErrDuplicateTask), ""},
		{errors.New("connection refused"), "scheduler could not enqueue a resync tick"},
	} {
		var buf bytes.Buffer
		tickError(slog.New(slog.NewTextHandler(&buf, nil)), nil)(nil, tt.err)
		if got := buf.String(); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("tickError(%v) logged %q; want %q", tt.err, got, tt.want)
		}
	}
}
