package tasks_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/plan"
	"github.com/fabsync/fabsync/internal/tasks"
)

// runJob triggers a job and runs its two tasks to the end, as asynq would.
func (r *rig) runJob() *tasks.Job {
	r.t.Helper()
	ctx := context.Background()
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		r.t.Fatalf("HandleRepoSync = %v", err)
	}
	if r.ingestQueued(j.ID) {
		if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
			r.t.Fatalf("HandleIngest = %v", err)
		}
	}
	got := r.job(j.ID)
	if got.State != tasks.StateSucceeded {
		r.t.Fatalf("job %s = %s (%s); want succeeded", got.ID, got.State, got.Reason)
	}
	return got
}

// TestInventoryAndChanges runs jobs that create, update and delete a VPC, and checks what
// each publishes: the inventory (the resource, its file, the job that wrote it, its sha256 and
// stored bytes equal to the pushed file) and the job's changes (action, sha256, diff); the
// version an earlier job wrote stays readable; a job with nothing new publishes nothing.
func TestInventoryAndChanges(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	const vpcFile = "managed/vpcs/vpc-1.yaml"
	remote := func(path string) string {
		return gittest.Git(t, r.git.RepoDir("repo"), "show", "main:"+fabricPath+"/"+path) + "\n"
	}
	check := func(j *tasks.Job, action string) plan.File {
		t.Helper()
		if j.Changes == nil || len(j.Changes.Files) != 1 {
			t.Fatalf("job %s changes = %+v; want one file", j.ID, j.Changes)
		}
		f := j.Changes.Files[0]
		if f.Path != vpcFile || f.Action != action {
			t.Fatalf("job %s changed %s %s; want %s %s", j.ID, f.Action, f.Path, action, vpcFile)
		}
		return f
	}

	j1 := r.runJob()
	f1 := check(j1, plan.Created)
	body := remote(vpcFile)
	sum := sha256.Sum256([]byte(body))
	if f1.SHA256 != hex.EncodeToString(sum[:]) || !strings.Contains(f1.Diff, "+kind: VPC") || j1.Changes.Created != 1 {
		t.Errorf("job 1 change = %+v; want the sha256 of the pushed file and a diff adding the VPC", f1)
	}
	inv, err := r.svc.Inventory(ctx, "fab")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Commit != j1.Ingest.Commit || inv.JobID != j1.ID || inv.Counts["VPC"] != 1 || len(inv.Resources) != 1 {
		t.Fatalf("inventory after job 1 = %+v; want the VPC at commit %s by %s", inv, j1.Ingest.Commit, j1.ID)
	}
	res := inv.Resources[0]
	if want := (tasks.Resource{Kind: "VPC", APIVersion: "vpc.githedgehog.com/v1beta1", Name: "vpc-1", Path: vpcFile, JobID: j1.ID, SHA256: f1.SHA256}); res != want {
		t.Errorf("resource = %+v; want %+v", res, want)
	}
	if got, err := r.svc.Contents(ctx, "fab", []string{res.SHA256, strings.Repeat("0", 64)}); err != nil || string(got[0]) != body || got[1] != nil {
		t.Errorf("Contents = %q, %v; want the pushed file and nil for an unknown version", got, err)
	}

	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/vpcs.yaml": strings.Replace(goodVPC, "1001", "1002", 1)}, "VLAN 1002")
	j2 := r.runJob()
	f2 := check(j2, plan.Updated)
	if !strings.Contains(f2.Diff, "-      vlan: 1001") || !strings.Contains(f2.Diff, "+      vlan: 1002") || f2.SHA256 == f1.SHA256 {
		t.Errorf("job 2 change = %+v; want the VLAN diff and a new sha256", f2)
	}
	inv, _ = r.svc.Inventory(ctx, "fab")
	if inv.Commit != j2.Ingest.Commit || inv.Resources[0].JobID != j2.ID || inv.Resources[0].SHA256 != f2.SHA256 {
		t.Errorf("inventory after job 2 = %+v; want the VPC as job %s wrote it", inv, j2.ID)
	}
	if got, _ := r.svc.Contents(ctx, "fab", []string{f1.SHA256, f2.SHA256}); string(got[0]) != body || string(got[1]) != remote(vpcFile) {
		t.Errorf("Contents of both versions = %q; want job 1's and job 2's file", got)
	}

	j3 := r.runJob() // nothing new
	if inv3, _ := r.svc.Inventory(ctx, "fab"); j3.Changes != nil || inv3.JobID != j2.ID {
		t.Errorf("a job with nothing new: changes %+v, inventory by %s; want none and job 2's", j3.Changes, inv3.JobID)
	}

	del := "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\n  annotations: {" + ingest.DeleteAnnotation + ": \"true\"}\n"
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/del.yaml": del}, "delete the VPC")
	j4 := r.runJob()
	if f := check(j4, plan.Deleted); f.SHA256 != "" || j4.Changes.Deleted != 1 {
		t.Errorf("job 4 change = %+v; want a deletion without sha256", f)
	}
	if inv, _ = r.svc.Inventory(ctx, "fab"); len(inv.Resources) != 0 || inv.Counts["VPC"] != 0 {
		t.Errorf("inventory after the delete = %+v; want no resources", inv)
	}
}

// TestNothingNew: a resync that finds the branch where the last job left the fabric settled
// does nothing but ask the remote for the branch head: no fetch (the clone, removed, is not
// made again), no ingest task, no drift check. A new commit, a fabric whose drift is reported
// on every sync, or changed settings take the full path again.
func TestNothingNew(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	clone := r.cloneDir()
	first := r.runJob()
	if err := os.RemoveAll(clone); err != nil {
		t.Fatal(err)
	}
	noop := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, noop.ID)); err != nil {
		t.Fatal(err)
	}
	got := r.job(noop.ID)
	if got.State != tasks.StateSucceeded || got.GitSync.Commit != first.Ingest.Commit || !logHas(got, "nothing new: main is still at") || r.ingestQueued(noop.ID) {
		t.Fatalf("resync with nothing new = %s at %q, ingest queued %v, log %v; want succeeded at %s without an ingest task",
			got.State, got.GitSync.Commit, r.ingestQueued(noop.ID), got.Log, first.Ingest.Commit)
	}
	if _, err := os.Stat(clone); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the resync fetched: the clone is back (%v)", err)
	}

	// A hand edit, with drift: report: the fabric is reported on every sync, never settled.
	r.writeConfig("fabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n    drift: report\n")
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/managed/vpcs/vpc-1.yaml": strings.Replace(goodVPC, "1001", "1009", 1)}, "hand edit")
	for i := range 2 {
		j := r.runJob()
		if !logHas(j, "changed by hand") || logHas(j, "nothing new") {
			t.Fatalf("sync %d after a reported hand edit: log %v; want the drift reported, not skipped", i+1, j.Log)
		}
	}
	// The settings change back (drift: adopt takes the edit in): the next sync runs in full, and
	// the one after it has nothing new.
	r.writeConfig("fabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n")
	if j := r.runJob(); logHas(j, "nothing new") {
		t.Fatalf("sync after the settings changed was skipped: %v", j.Log)
	}
	if j := r.runJob(); !logHas(j, "nothing new") {
		t.Fatalf("sync of a settled fabric ran in full: %v", j.Log)
	}
	// A new commit: the full path.
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/more.yaml": strings.NewReplacer("vpc-1", "vpc-2", "10.0.1.0", "10.0.2.0", "1001", "1002").Replace(goodVPC)}, "more")
	if j := r.runJob(); logHas(j, "nothing new") || j.Ingest.Created != 1 {
		t.Fatalf("sync after a new commit = %+v; want the new VPC ingested", j.Ingest)
	}
}

// TestNotifyOnlyWhereWanted: with SetNotifies(NotifyWanted), a job of a fabric without
// notify: targets or commit_status: ends without a notification task; one of a fabric with a
// target gets its task.
func TestNotifyOnlyWhereWanted(t *testing.T) {
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	r.svc.SetNotifies(tasks.NotifyWanted(r.src))
	j := r.runJob()
	if _, err := r.svc.Inspector().GetTaskInfo(tasks.QueueNotify, "notify:"+j.ID); !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("a job of a fabric that wants no notification enqueued one (%v)", err)
	}
	r.writeConfig("fabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n    notify: [{type: webhook, url: http://localhost:1/hook}]\n")
	j = r.runJob()
	if _, err := r.svc.Inspector().GetTaskInfo(tasks.QueueNotify, "notify:"+j.ID); err != nil {
		t.Fatalf("a job of a fabric with a notify target enqueued no notification: %v", err)
	}
}
