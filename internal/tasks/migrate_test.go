package tasks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/tasks"
)

// TestMigrateKeys: a Redis written before slot tags (fabric keys named fabsync:fabric:<f>:…,
// a job ID without a tag) is taken over by MigrateKeys: the running job still holds its
// fabric's slot (a trigger waits for it), the history still lists it, and a second run renames
// nothing.
func TestMigrateKeys(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	rdb := svc.Redis()
	// What an older version left: an untagged job record and untagged fabric keys.
	const id = "20261126T060102Z-3fa9c0d1e2"
	j, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	data, err := rdb.HGet(ctx, "fabsync:job:"+keyTag(t, j.ID)+":"+j.ID, "data").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	old := strings.ReplaceAll(data, j.ID, id)
	old = strings.Replace(old, `"state":"queued"`, `"state":"syncing"`, 1)
	rdb.HSet(ctx, "fabsync:job:"+id, "data", old, "state", "syncing")
	rdb.Set(ctx, "fabsync:fabric:f1:active", id, 0)
	rdb.ZAdd(ctx, "fabsync:fabric:f1:jobs", redis.Z{Score: 1, Member: id})
	rdb.Set(ctx, "fabsync:fabric:f1:jobs:seq", 1, 0)
	rdb.SAdd(ctx, "fabsync:fabrics", "f1")

	n, err := svc.MigrateKeys(ctx)
	if err != nil || n != 3 {
		t.Fatalf("MigrateKeys = %d, %v; want 3 keys renamed", n, err)
	}
	if n, err := svc.MigrateKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second MigrateKeys = %d, %v; want nothing to do", n, err)
	}
	jobs, err := svc.List(ctx, "f1", 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != id {
		t.Fatalf("history after the migration = %v, %v; want the old job %s", jobs, err, id)
	}
	next, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotWaiting {
		t.Fatalf("trigger after the migration = %v, %v; want a job waiting for the old one", slot, err)
	}
	if jobs, _ := svc.List(ctx, "f1", 10); len(jobs) != 2 || jobs[0].ID != next.ID {
		t.Fatalf("history = %d jobs; want the new one first, then the old", len(jobs))
	}
}

// keyTag is the hash tag part of a job's key: {<tag>}.
func keyTag(t *testing.T, id string) string {
	t.Helper()
	parts := strings.Split(id, "-")
	if len(parts) != 3 {
		t.Fatalf("job ID %s has no tag", id)
	}
	return "{" + parts[1] + "}"
}
