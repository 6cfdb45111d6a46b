package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestValidationStopsABadFabric runs the real system on a fabric with mistakes a controller
// would refuse: the job ends partial_sync with every mistake at its line and column, the
// remote is untouched, and once the files are fixed the same fabric syncs clean. Hedgehog's
// real CRDs (from the shared test data, committed to the test's own repository) are the
// schemas.
func TestValidationStopsABadFabric(t *testing.T) {
	crdDir := sharedDir(t, "hedgehog-crds")
	files := map[string]string{
		"fab/raw/wiring.yaml": readTestdata(t, "validation/broken.yaml"),
		"fab/raw/extra.yaml":  readTestdata(t, "validation/extra-broken.yaml"),
	}
	if crdDir != "" {
		crds, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
		if err != nil || len(crds) == 0 {
			t.Fatalf("no CRDs in the shared test data: %v", err)
		}
		for _, f := range crds {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			files["crds/"+filepath.Base(f)] = string(data)
		}
	}
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", files)
	validation := "{}"
	if crdDir != "" {
		validation = "{crds: [crds/]}"
	}
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab, validation: %s}\n", url, validation), options{})
	bare := gs.RepoDir("gitops")
	head := gittest.Git(t, bare, "rev-parse", "main")

	j, _ := sys.trigger("fab")
	j = sys.wait(j.ID)
	if j.State != tasks.StatePartialSync || j.Ingest.State != tasks.StageFailed {
		t.Fatalf("job = %s (ingest %s, reason %q); want partial_sync", j.State, j.Ingest.State, j.Reason)
	}
	if got := gittest.Git(t, bare, "rev-parse", "main"); got != head {
		t.Errorf("remote moved %s -> %s; a job with errors must change nothing", head, got)
	}
	type want struct {
		file         string
		line, column int
		rule         string
		severity     string
		message      string // a part of it
	}
	wants := []want{
		{"raw/extra.yaml", 7, 2, "yaml-syntax", "error", ""},
		{"raw/wiring.yaml", 55, 15, "connection-unknown-switch", "error", "connection server-02--unbundled--leaf-99: switch leaf-99 does not exist (switches: leaf-01, leaf-02)"},
		{"raw/wiring.yaml", 67, 15, "connection-port-reused", "error", "port leaf-01/E1/1 is already used by connection server-01--unbundled--leaf-01"},
		{"raw/wiring.yaml", 72, 9, "vpc-name-length", "error", "vpc-production-1"},
		{"raw/wiring.yaml", 77, 16, "vpc-subnet-gateway", "error", "10.0.2.1"},
	}
	if crdDir != "" {
		wants = append(wants, want{"raw/wiring.yaml", 81, 9, "schema-unknown-field", "warning", "rnage"})
	}
	for _, w := range wants {
		found := false
		for _, p := range j.Ingest.Problems {
			if p.File == w.file && p.Line == w.line && p.Column == w.column && p.Rule == w.rule && p.Severity == w.severity && strings.Contains(p.Message, w.message) {
				found = true
				if p.Excerpt == "" || !strings.Contains(p.Excerpt, "^") {
					t.Errorf("%s:%d:%d %s: no excerpt with a caret: %q", w.file, w.line, w.column, w.rule, p.Excerpt)
				}
			}
		}
		if !found {
			t.Errorf("no problem %s:%d:%d %s (%s) %q", w.file, w.line, w.column, w.rule, w.severity, w.message)
		}
	}
	errs := 0
	for _, p := range j.Ingest.Problems {
		if p.Severity == "error" {
			errs++
		}
	}
	if errs != len(j.Ingest.Errors) || errs < 5 {
		t.Errorf("%d errors among the problems, %d in errors; want the same, at least 5", errs, len(j.Ingest.Errors))
	}
	if t.Failed() {
		t.Logf("problems:\n%s", jsonString(j.Ingest.Problems))
	}

	// Fixed: the same fabric syncs clean.
	gittest.Commit(t, url, map[string]string{
		"fab/raw/wiring.yaml": readTestdata(t, "validation/fixed.yaml"),
		"fab/raw/extra.yaml":  readTestdata(t, "validation/extra-fixed.yaml"),
	}, "fix the wiring")
	j, _ = sys.trigger("fab")
	j = sys.wait(j.ID)
	if j.State != tasks.StateSucceeded {
		t.Fatalf("fixed fabric: job = %s (reason %q, problems %s); want succeeded", j.State, j.Reason, jsonString(j.Ingest.Problems))
	}
	for _, p := range j.Ingest.Problems {
		if p.Severity != "warning" {
			t.Errorf("fixed fabric: problem %+v; want warnings only", p)
		}
	}
	if got := gittest.Git(t, bare, "rev-parse", "main"); got == head {
		t.Error("fixed fabric: nothing was pushed")
	}
	if out := gittest.Git(t, bare, "ls-tree", "-r", "--name-only", "main", "fab/managed/"); !strings.Contains(out, "fab/managed/connections/server-02--unbundled--leaf-02.yaml") {
		t.Errorf("fixed fabric: managed/ = %s", out)
	}
}
