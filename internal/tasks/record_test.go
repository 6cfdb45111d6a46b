package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/fabsync/fabsync/internal/tasks"
)

// JobJSON is json.Marshal of the Job Get returns, byte for byte: for records this version
// wrote (sent as stored) and for records another version wrote, whose fields differ (decoded
// and encoded again), even when a version that knows nothing of the format field rewrote the
// data of a record this one wrote before.
func TestJobJSON(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	r.h = r.handler(false)
	dry, _, err := r.svc.TriggerDryRun(ctx, "fab", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, dry.ID)); err != nil {
		t.Fatal(err)
	}
	j := r.trigger()
	queued := j.ID
	same := func(id string) {
		t.Helper()
		got, err := r.svc.JobJSON(ctx, id)
		if err != nil {
			t.Fatalf("JobJSON(%s) = %v", id, err)
		}
		want, err := json.Marshal(r.job(id))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("JobJSON(%s) =\n%s\nwant json.Marshal(Get) =\n%s", id, got, want)
		}
	}
	same(queued) // written by the trigger script
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(dry.ID); got.Plan == nil || r.job(j.ID).State != tasks.StateSucceeded {
		t.Fatalf("dry run plan %v, job %s; want a plan and a succeeded job", got.Plan, r.job(j.ID).State)
	}
	same(dry.ID)
	same(j.ID)

	// Another version rewrote the record: a field this one has is missing, one it lacks is there.
	var m map[string]any
	raw, _ := json.Marshal(r.job(j.ID))
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "dry_run")
	m["legacy_field"] = 1
	m["reason"] = "rewritten elsewhere"
	old, _ := json.Marshal(m)
	if err := r.svc.Redis().HSet(ctx, "fabsync:job:"+j.ID, "data", old).Err(); err != nil {
		t.Fatal(err)
	}
	same(j.ID)
	if got, _ := r.svc.JobJSON(ctx, j.ID); bytes.Contains(got, []byte("legacy_field")) || !bytes.Contains(got, []byte(`"dry_run":false`)) {
		t.Fatalf("JobJSON of a record another version wrote = %s; want it in this version's layout", got)
	}

	if _, err := r.svc.JobJSON(ctx, "no-such-job"); !errors.Is(err, tasks.ErrJobNotFound) {
		t.Fatalf("JobJSON(unknown) = %v; want ErrJobNotFound", err)
	}
}
