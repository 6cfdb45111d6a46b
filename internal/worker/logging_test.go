package worker

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/tasks"
)

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLines parses slog JSON output, one object per line, dropping "time".
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

func TestAsynqLogger(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	now := time.Now()
	a := asynqLogger{log, &tasks.RedisLog{Logger: log, Now: func() time.Time { return now }}}
	tests := []struct {
		name string
		log  func(...any)
		msg  string
		want []map[string]any
	}{
		{"a final failure was logged by the ErrorHandler", a.Warn, "Retry exhausted for task id=abc", nil},
		{"the scheduler cannot close the client we share", a.Error,
			"Failed to close redis client connection: redis connection is shared so the Client can't be closed through asynq", nil},
		{"redis does not answer", a.Error, "Dequeue error: UNKNOWN: redis eval error: dial tcp 127.0.0.1:1: connect: connection refused",
			[]map[string]any{{"level": "WARN", "msg": "redis unavailable", "component": "asynq", "suppressed": 0.0,
				"err": "Dequeue error: UNKNOWN: redis eval error: dial tcp 127.0.0.1:1: connect: connection refused"}}},
		{"and still does not, within 10s", a.Error, "Failed to write server state data: UNKNOWN: redis command error: SADD failed: EOF", nil},
		{"other lines pass", a.Error, "something else", []map[string]any{{"level": "ERROR", "msg": "something else", "component": "asynq"}}},
		{"at their level", a.Warn, "Quitting worker. task id=x", []map[string]any{{"level": "WARN", "msg": "Quitting worker. task id=x", "component": "asynq"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out.Reset()
			tt.log(tt.msg)
			if diff := cmp.Diff(tt.want, jsonLines(t, out.String())); diff != "" {
				t.Errorf("log of %q (-want +got):\n%s", tt.msg, diff)
			}
		})
	}
}
