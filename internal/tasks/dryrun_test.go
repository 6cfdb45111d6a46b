package tasks_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/plan"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestDryRunSlots: dry runs have a slot of their own. A second dry-run trigger returns the
// active dry run; a real trigger while a dry run is active gets a real job of its own (never the
// dry run), and a dry run while a real job runs starts at once; the real jobs' one running, one
// waiting rule is untouched, and ending a dry run frees only its own slot.
func TestDryRunSlots(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)

	dry, slot, err := svc.TriggerDryRun(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive || !dry.DryRun || dry.State != tasks.StateQueued {
		t.Fatalf("TriggerDryRun = %+v, %v, %v; want a queued active dry run", dry, slot, err)
	}
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+dry.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("sync task of the dry run = %v, %v; want pending", info, err)
	}
	again, slot, err := svc.TriggerDryRun(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotExisting || again.ID != dry.ID {
		t.Fatalf("second TriggerDryRun = %v, %v, %v; want the active dry run %s", again.ID, slot, err, dry.ID)
	}
	// A real trigger is neither merged into the dry run nor held behind it.
	real, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive || real.ID == dry.ID || real.DryRun {
		t.Fatalf("Trigger during a dry run = %+v, %v, %v; want a real job of its own, active", real, slot, err)
	}
	// Once the dry run runs, a dry-run trigger still returns it.
	if _, err := svc.Start(ctx, dry.ID, tasks.StageGitSync); err != nil {
		t.Fatal(err)
	}
	if again, slot, _ := svc.TriggerDryRun(ctx, "f1", tasks.TriggerWebhook); slot != tasks.SlotExisting || again.ID != dry.ID {
		t.Fatalf("TriggerDryRun while one runs = %v, %v; want the running dry run", again.ID, slot)
	}
	// The real jobs keep their rule: the real job runs, a follow-up waits.
	if _, err := svc.Start(ctx, real.ID, tasks.StageGitSync); err != nil {
		t.Fatal(err)
	}
	follow, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerSchedule)
	if err != nil || slot != tasks.SlotWaiting || follow.DryRun {
		t.Fatalf("Trigger while a real job runs = %v, %v, %v; want a waiting real job", follow, slot, err)
	}
	// The dry run ends (canceled; its task had not started): its slot is free, the real slots
	// are as they were.
	if j, err := svc.Cancel(ctx, dry.ID); err != nil || j.State != tasks.StateCanceled {
		t.Fatalf("Cancel(dry run) = %v, %v; want canceled at once", j, err)
	}
	next, slot, err := svc.TriggerDryRun(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive || next.ID == dry.ID {
		t.Fatalf("TriggerDryRun after the dry run ended = %v, %v, %v; want a new active dry run", next.ID, slot, err)
	}
	if again, slot, _ := svc.Trigger(ctx, "f1", tasks.TriggerManual); slot != tasks.SlotExisting || again.ID != follow.ID {
		t.Fatalf("Trigger = %v, %v; want the waiting real job %s", again.ID, slot, follow.ID)
	}
	// The real job ends: the waiting one is promoted, not the dry run.
	if j, err := svc.Cancel(ctx, real.ID); err != nil || j.State != tasks.StateCanceled {
		t.Fatalf("Cancel(real) = %v, %v; want canceled at once", j, err)
	}
	if info, err := svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+follow.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("the waiting real job was not promoted: %v, %v", info, err)
	}
	if j, _ := svc.Get(ctx, next.ID); j.State != tasks.StateQueued {
		t.Fatalf("dry run = %s; want still queued in its own slot", j.State)
	}
}

// TestDryRunWhileRealJobRuns: a dry run asked for while a real job runs starts at once in its
// own slot (it does not wait, and is not the real job's follow-up).
func TestDryRunWhileRealJobRuns(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	real, _, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, real.ID, tasks.StageGitSync); err != nil {
		t.Fatal(err)
	}
	dry, slot, err := svc.TriggerDryRun(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive || !dry.DryRun {
		t.Fatalf("TriggerDryRun while a real job runs = %v, %v, %v; want an active dry run", dry, slot, err)
	}
	follow, slot, err := svc.Trigger(ctx, "f1", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotWaiting || follow.ID == dry.ID {
		t.Fatalf("Trigger = %v, %v, %v; want a real follow-up of its own", follow, slot, err)
	}
	jobs, err := svc.List(ctx, "f1", 10)
	if err != nil || len(jobs) != 3 || !jobs[1].DryRun {
		t.Fatalf("history = %d jobs, %v; want all three, the dry run among them", len(jobs), err)
	}
}

// TestDryRunPlansAndPushesNothing runs a dry run through both handlers: it ingests as a real
// job would, records the plan (created files with diffs, a summary), pushes nothing and leaves
// the clone at the remote head, so that the real sync after it creates exactly the planned
// files.
func TestDryRunPlansAndPushesNothing(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	bare := r.git.RepoDir("repo")
	head := gittest.Git(t, bare, "rev-parse", "main")
	dry, slot, err := r.svc.TriggerDryRun(ctx, "fab", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive {
		t.Fatalf("TriggerDryRun = %v, %v", slot, err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, dry.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, dry.ID)); err != nil {
		t.Fatal(err)
	}
	got := r.job(dry.ID)
	if got.State != tasks.StateSucceeded || !got.DryRun || got.Plan == nil || got.Ingest.Commit != "" || got.Ingest.Created != 1 {
		t.Fatalf("dry run = %s, plan %v, commit %q, %+v; want succeeded with a plan, no commit", got.State, got.Plan, got.Ingest.Commit, got.Ingest)
	}
	p := got.Plan
	if p.Created != 1 || len(p.Files) != 1 || p.Files[0].Path != "managed/vpcs/vpc-1.yaml" || p.Files[0].Action != plan.Created || p.Summary == "" {
		t.Fatalf("plan = %+v; want managed/vpcs/vpc-1.yaml created, with a summary", p)
	}
	if !hasLog(got, "dry run: nothing was pushed") {
		t.Errorf("log lacks %q: %+v", "dry run: nothing was pushed", got.Log)
	}
	if now := gittest.Git(t, bare, "rev-parse", "main"); now != head {
		t.Fatalf("the remote moved %s -> %s during a dry run", head, now)
	}
	// The clone is back at the remote head: the real sync on the same worker creates the
	// planned file (were the dry run's writes still there, it would find it unchanged).
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(j.ID); got.State != tasks.StateSucceeded || got.Ingest.Created != 1 || got.Ingest.Commit == "" || got.DryRun || got.Plan != nil {
		t.Fatalf("real sync after the dry run = %s, %+v; want succeeded with 1 created and a commit", got.State, got.Ingest)
	}
	files := gittest.Git(t, bare, "diff", "--name-only", head, "main", "--", fabricPath+"/managed", fabricPath+"/unmanaged")
	if files != fabricPath+"/"+p.Files[0].Path {
		t.Fatalf("the real sync pushed %q; the plan said %q", files, p.Files[0].Path)
	}
	// A dry run with nothing to ingest succeeds with an empty plan.
	dry, _, err = r.svc.TriggerDryRun(ctx, "fab", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, dry.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(dry.ID); got.State != tasks.StateSucceeded || got.Plan == nil || len(got.Plan.Files) != 0 || r.ingestQueued(dry.ID) {
		t.Fatalf("dry run with empty raw/ = %s, plan %+v; want succeeded with an empty plan and no ingest task", got.State, got.Plan)
	}
}

// TestDryRunUpdatesAndUnchanged: a dry run of a raw file that changes one resource and repeats
// another records the update with its old and new bytes and lists the unchanged file.
func TestDryRunUpdatesAndUnchanged(t *testing.T) {
	ctx := context.Background()
	other := strings.ReplaceAll(goodVPC, "vpc-1", "vpc-2")
	other = strings.ReplaceAll(other, "10.0.1.0", "10.0.2.0")
	other = strings.ReplaceAll(other, "1001", "1002")
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC + "---\n" + other}, "")
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatal(err)
	}
	changed := strings.ReplaceAll(goodVPC, "10.0.1.0", "10.0.9.0")
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/again.yaml": changed + "---\n" + other}, "change vpc-1")
	dry, _, err := r.svc.TriggerDryRun(ctx, "fab", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, dry.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, dry.ID)); err != nil {
		t.Fatal(err)
	}
	got := r.job(dry.ID)
	if got.State != tasks.StateSucceeded || got.Plan == nil {
		t.Fatalf("dry run = %s (%s); want succeeded with a plan", got.State, got.Reason)
	}
	p := got.Plan
	if p.Updated != 1 || p.Unchanged != 1 || p.Created != 0 || len(p.Files) != 2 || p.Files[0].Path != "managed/vpcs/vpc-1.yaml" || p.Files[0].Action != plan.Updated ||
		p.Files[1].Path != "managed/vpcs/vpc-2.yaml" || p.Files[1].Action != plan.Unchanged || p.Files[1].Diff != "" {
		t.Fatalf("plan = %+v; want vpc-1 updated and vpc-2 listed unchanged", p)
	}
	if d := p.Files[0].Diff; !strings.Contains(d, "-      subnet: 10.0.1.0/24") || !strings.Contains(d, "+      subnet: 10.0.9.0/24") {
		t.Errorf("diff of vpc-1 = %q; want the subnet's old and new line", d)
	}
}

// TestDryRunWithInvalidRawFiles ends partial_sync like a real sync, with the problems and no
// plan, and pushes nothing.
func TestDryRunWithInvalidRawFiles(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/bad.yaml": "kind: VPC\nmetadata: [\n"}, "")
	dry, _, err := r.svc.TriggerDryRun(ctx, "fab", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, dry.ID)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, dry.ID)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("HandleIngest = %v; want a permanent error", err)
	}
	got := r.job(dry.ID)
	if got.State != tasks.StatePartialSync || got.Plan != nil || len(got.Ingest.Errors) == 0 || got.Ingest.Errors[0].File != "raw/bad.yaml" {
		t.Fatalf("dry run = %s, plan %v, errors %+v; want partial_sync with the errors and no plan", got.State, got.Plan, got.Ingest.Errors)
	}
	if n := gittest.Git(t, r.git.RepoDir("repo"), "rev-list", "--count", "main"); n != "1" {
		t.Fatalf("remote has %s commits; want 1", n)
	}
}

// TestReconcileFreesTheDryRunSlot: a dry run whose task is gone is ended by the reconciler, and
// its slot freed, like a real job's.
func TestReconcileFreesTheDryRunSlot(t *testing.T) {
	ctx := context.Background()
	svc := newService(t)
	dry, _, err := svc.TriggerDryRun(ctx, "f1", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Start(ctx, dry.ID, tasks.StageGitSync); err != nil {
		t.Fatal(err)
	}
	if err := svc.Inspector().DeleteTask(tasks.QueueSync, "sync:"+dry.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Reconcile(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v; want the dry run ended", n, err)
	}
	if j, _ := svc.Get(ctx, dry.ID); j.State != tasks.StateFailed || j.Reason == "" {
		t.Fatalf("dry run = %s (%s); want failed with a reason", j.State, j.Reason)
	}
	if next, slot, err := svc.TriggerDryRun(ctx, "f1", tasks.TriggerManual); err != nil || slot != tasks.SlotActive || next.ID == dry.ID {
		t.Fatalf("TriggerDryRun after the reconcile = %v, %v; want a new active dry run", slot, err)
	}
}
