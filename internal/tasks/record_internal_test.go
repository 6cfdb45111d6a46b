package tasks

import (
	"context"
	"testing"

	"github.com/fabsync/fabsync/internal/redistest"
)

// Every write of a job record stamps it with this binary's format, so that status reads of it
// are served as stored (getJSON's fast path).
func TestRecordsAreStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	rdb, _ := redistest.Client(t)
	s := NewService(rdb)
	ctx := context.Background()
	j, _, err := s.Trigger(ctx, "fab", TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := s.TriggerDryRun(ctx, "fab", TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{j.ID, d.ID} {
		for step := range 2 {
			vals, err := rdb.HMGet(ctx, jobKey(id), fieldData, fieldFormat).Result()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := vals[0].(string)
			if f, _ := vals[1].(string); f != stamp([]byte(data)) {
				t.Fatalf("job %s after write %d: format %q; want %q", id, step, f, stamp([]byte(data)))
			}
			if _, err := s.store.update(ctx, id, func(j *Job) error { j.logf(s.now(), "a line"); return nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
}
