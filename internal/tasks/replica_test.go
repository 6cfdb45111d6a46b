package tasks_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestReplicaWait: with Sentinel (tasks.ReplicaWait), a trigger answers only once a replica
// holds the new job, so an acknowledged job survives a failover; a replica that does not answer
// in time delays the trigger by the timeout at most and is logged; without a replica wait the
// trigger does not wait at all.
func TestReplicaWait(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	sen := redistest.StartSentinel(t)
	rdb, err := tasks.OpenRedis(sen.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	replica := redis.NewClient(&redis.Options{Addr: sen.Replica.Addr()})
	t.Cleanup(func() { _ = replica.Close() })
	if n, timeout := tasks.ReplicaWait(sen.URL); n != 1 || timeout != time.Second {
		t.Fatalf("ReplicaWait(sentinel URL) = %d, %v; want 1, 1s", n, timeout)
	}
	if n, _ := tasks.ReplicaWait("redis://127.0.0.1:6379"); n != 0 {
		t.Fatalf("ReplicaWait(redis://) = %d; want 0", n)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name              string
		replicas          int
		timeout           time.Duration
		min, max          time.Duration // how long the trigger takes while the replica is frozen 700 ms
		onReplica, warned bool
	}{
		{"waits for the replica", 1, 5 * time.Second, 500 * time.Millisecond, 4 * time.Second, true, false},
		{"gives up after the timeout", 1, 100 * time.Millisecond, 50 * time.Millisecond, 600 * time.Millisecond, false, true},
		{"no wait without Sentinel", 0, 0, 0, 300 * time.Millisecond, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			svc := tasks.NewService(rdb)
			svc.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
			svc.SetReplicaWait(tt.replicas, tt.timeout)
			fabric := strings.ReplaceAll(tt.name, " ", "-")
			sen.Replica.Freeze(700 * time.Millisecond)
			start := time.Now()
			j, _, err := svc.Trigger(ctx, fabric, tasks.TriggerManual)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("trigger took %v; want %v to %v", took, tt.min, tt.max)
			}
			if tt.onReplica {
				// The replica answers this only once it is running again: it must already hold
				// the job, as it did when the trigger answered.
				if n := replica.Exists(ctx, tasks.JobKey(j.ID)).Val(); n != 1 {
					t.Errorf("the job is not on the replica when the trigger answers")
				}
			}
			if got := strings.Contains(logs.String(), "not on a Redis replica yet"); got != tt.warned {
				t.Errorf("warning logged = %v; want %v (logs %q)", got, tt.warned, logs.String())
			}
			time.Sleep(800 * time.Millisecond) // the replica runs again before the next case
		})
	}
}
