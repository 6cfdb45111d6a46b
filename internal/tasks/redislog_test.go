package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	stdlog "log"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/tasks"
)

func jsonLines(t testing.TB, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		delete(m, "time")
		lines = append(lines, m)
	}
	return lines
}

func TestRedisLogRateLimit(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var now time.Time
	var out bytes.Buffer
	r := &tasks.RedisLog{Logger: slog.New(slog.NewJSONHandler(&out, nil)), Now: func() time.Time { return now }}
	steps := []struct {
		at         time.Duration
		suppressed float64 // of the line written; -1: none written
	}{
		{0, 0},
		{time.Second, -1},
		{9*time.Second + 999*time.Millisecond, -1},
		{10 * time.Second, 2},
		{15 * time.Second, -1},
		{30 * time.Second, 1},
		{41 * time.Second, 0},
	}
	for _, st := range steps {
		now = t0.Add(st.at)
		out.Reset()
		r.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 5, "connection refused")
		lines := jsonLines(t, out.String())
		if st.suppressed < 0 {
			if len(lines) != 0 {
				t.Errorf("at %v: logged %v; want nothing (rate limited)", st.at, lines)
			}
			continue
		}
		want := []map[string]any{{"level": "WARN", "msg": "redis unavailable", "component": "redis",
			"err": "connection pool: failed to dial after 5 attempts: connection refused", "suppressed": st.suppressed}}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("at %v: log (-want +got):\n%s", st.at, diff)
		}
	}
}

func TestLogWriter(t *testing.T) {
	var out bytes.Buffer
	r := &tasks.RedisLog{Logger: slog.New(slog.NewJSONHandler(&out, nil))}
	std := stdlog.New(r.LogWriter(), "", 0)
	std.Printf("Failed to collect metrics data: failed to get queue names: dial tcp 127.0.0.1:1: connect: connection refused")
	std.Printf("Failed to collect metrics data: again")
	std.Printf("http: Accept error: too many open files; retrying in 5ms")
	want := []map[string]any{
		{"level": "WARN", "msg": "redis unavailable", "component": "metrics", "suppressed": 0.0,
			"err": "Failed to collect metrics data: failed to get queue names: dial tcp 127.0.0.1:1: connect: connection refused"},
		{"level": "WARN", "msg": "http: Accept error: too many open files; retrying in 5ms", "component": "log"},
	}
	if diff := cmp.Diff(want, jsonLines(t, out.String())); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}
