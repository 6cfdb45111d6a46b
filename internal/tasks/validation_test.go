package tasks_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestValidationConfigErrors checks that a fabric whose validation.crds cannot be used ends its
// job partial_sync at once (a permanent error: no retry can fix the configuration), with a
// reason naming the file and what is wrong with it, and nothing pushed; never a crash.
func TestValidationConfigErrors(t *testing.T) {
	raw := "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata: {name: server-01}\nspec: {description: s}\n"
	for _, tt := range []struct {
		name  string
		files map[string]string
		crds  string
		want  string
	}{
		{"missing", nil, "crds/", "validation.crds: crds/: not found in the repository"},
		{"not YAML", map[string]string{"crds/bad.yaml": "kind: ["}, "crds/", "validation: crds/bad.yaml"},
		{"no CRD in it", map[string]string{"crds/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}, "crds/cm.yaml", "validation: crds/cm.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			files := map[string]string{fabricPath + "/raw/s.yaml": raw}
			for k, v := range tt.files {
				files[k] = v
			}
			r := newRig(t, files, "")
			r.writeConfig("fabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n    validation: {crds: [" + tt.crds + "]}\n")
			j := r.trigger()
			if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
				t.Fatal(err)
			}
			if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); !errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("HandleIngest = %v; want a permanent error (SkipRetry)", err)
			}
			got := r.job(j.ID)
			if got.State != tasks.StatePartialSync || got.Ingest.Attempts != 1 || !strings.Contains(got.Reason, tt.want) {
				t.Fatalf("job = %s after %d attempts, reason %q; want partial_sync at once, saying %q", got.State, got.Ingest.Attempts, got.Reason, tt.want)
			}
			if n := gittest.Git(t, r.git.RepoDir("repo"), "rev-list", "--count", "main"); n != "1" {
				t.Fatalf("remote has %s commits; want 1 (nothing pushed)", n)
			}
		})
	}
}
