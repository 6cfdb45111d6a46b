package tasks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestSyncAsksForTheHeadOnce: a job of a settled fabric whose branch moved asks the remote for
// the branch head once, in its nothing-new check, and syncs to that answer (gitops.SyncAt): with
// the ingest stage in-process, its ref advertisements are the check's, which the fetch uses
// too (over smart HTTP), and the push's. A job with no settled commit to check against asks in
// its sync.
func TestSyncAsksForTheHeadOnce(t *testing.T) {
	tests := []struct {
		name string
		prep func(r *rig)
		refs int
	}{
		{"first job: clone and push", func(r *rig) {}, 2},
		{"settled, then a new raw file: check (and fetch) and push", func(r *rig) {
			r.runJob()
			gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/more.yaml": strings.NewReplacer("vpc-1", "vpc-2", "10.0.1.0", "10.0.2.0", "1001", "1002").Replace(goodVPC)}, "more")
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
			r.h = r.handler(false)
			tt.prep(r)
			refs := r.git.Requests("info/refs")
			j := r.trigger()
			if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
				t.Fatalf("HandleRepoSync = %v", err)
			}
			got := r.job(j.ID)
			if got.State != tasks.StateSucceeded || got.Ingest.Created != 1 || got.GitSync.Commit != gittest.Git(t, r.git.RepoDir("repo"), "rev-parse", "main^") {
				t.Fatalf("job = %s (%s), synced at %s, %+v; want one VPC created from the head before its push", got.State, got.Reason, got.GitSync.Commit, got.Ingest)
			}
			if n := r.git.Requests("info/refs") - refs; n != tt.refs {
				t.Errorf("ref advertisements = %d; want %d", n, tt.refs)
			}
		})
	}
}
