package tasks_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestSharedClone: two fabrics in one repository share one clone on a worker. The second
// fabric's job, right after the first one's pushed, fetches nothing (the clone already holds
// the branch head, its neighbour's commit), and pushes on top of it: both commits are on the
// remote.
func TestSharedClone(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{"fab-a/raw/vpcs.yaml": goodVPC, "fab-b/raw/vpcs.yaml": goodVPC}, "")
	r.writeConfig("fabrics:\n  - {name: fab-a, repo: " + r.repo + ", path: fab-a}\n  - {name: fab-b, repo: " + r.repo + ", path: fab-b}\n")
	run := func(fabric string) *tasks.Job {
		t.Helper()
		j, slot, err := r.svc.Trigger(ctx, fabric, tasks.TriggerManual)
		if err != nil || slot != tasks.SlotActive {
			t.Fatalf("Trigger(%s) = %v, %v", fabric, slot, err)
		}
		b, _ := json.Marshal(tasks.Payload{JobID: j.ID, Fabric: fabric})
		if err := r.h.HandleRepoSync(ctx, asynq.NewTask(tasks.TypeRepoSync, b)); err != nil {
			t.Fatalf("HandleRepoSync(%s) = %v", fabric, err)
		}
		if err := r.h.HandleIngest(ctx, asynq.NewTask(tasks.TypeIngest, b)); err != nil {
			t.Fatalf("HandleIngest(%s) = %v", fabric, err)
		}
		got := r.job(j.ID)
		if got.State != tasks.StateSucceeded || got.Ingest.Created != 1 {
			t.Fatalf("job of %s = %s (%s), %+v; want the VPC ingested", fabric, got.State, got.Reason, got.Ingest)
		}
		return got
	}
	a := run("fab-a")
	fetches := r.git.Requests("git-upload-pack")
	b := run("fab-b")
	if n := r.git.Requests("git-upload-pack"); n != fetches {
		t.Fatalf("the second fabric's job fetched (%d packs, %d before); want none: the shared clone has the head", n, fetches)
	}
	clones, err := os.ReadDir(filepath.Join(r.dataDir, "repos"))
	if err != nil || len(clones) != 1 {
		t.Fatalf("clones = %v, %v; want one for the repository", clones, err)
	}
	bare := r.git.RepoDir("repo")
	if got := gittest.Git(t, bare, "rev-list", "main"); got != b.Ingest.Commit+"\n"+a.Ingest.Commit+"\n"+gittest.Git(t, bare, "rev-list", "--max-parents=0", "main") {
		t.Fatalf("remote history:\n%s\nwant fab-b's commit on fab-a's on the first", got)
	}
	for _, p := range []string{"fab-a/managed/vpcs/vpc-1.yaml", "fab-b/managed/vpcs/vpc-1.yaml"} {
		gittest.Git(t, bare, "cat-file", "-e", "main:"+p)
	}
}
