package e2e_test

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/plan"
	"github.com/fabsync/fabsync/internal/tasks"
)

// dryRun POSTs a dry run of fabric and returns the job and status.
func (s *system) dryRun(fabric string) (tasks.Job, int) {
	s.t.Helper()
	r := s.do("POST", "/api/v1/fabrics/"+fabric+"/sync", `{"dry_run": true}`, "Content-Type", "application/json")
	if r.status != http.StatusAccepted && r.status != http.StatusOK {
		s.t.Fatalf("POST dry run %s = %d %s", fabric, r.status, r.body)
	}
	var j tasks.Job
	r.decode(s.t, &j)
	if !j.DryRun {
		s.t.Fatalf("POST dry run %s answered a job that is not a dry run: %s", fabric, r.body)
	}
	return j, r.status
}

// driftCheck is GET /api/v1/fabrics/{fabric}/drift as a client reads it.
type driftCheck struct {
	Fabric    string     `json:"fabric"`
	CheckedAt *time.Time `json:"checked_at"`
	JobID     string     `json:"job_id"`
	Mode      string     `json:"mode"`
	Files     []struct {
		Path, Kind, Action string
	} `json:"files"`
}

func (s *system) drift(fabric string) driftCheck {
	s.t.Helper()
	r := s.do("GET", "/api/v1/fabrics/"+fabric+"/drift", "")
	if r.status != http.StatusOK {
		s.t.Fatalf("GET drift %s = %d %s", fabric, r.status, r.body)
	}
	var d driftCheck
	r.decode(s.t, &d)
	return d
}

// metric returns the value of one series of /metrics ("" when absent).
func (s *system) metric(series string) string {
	s.t.Helper()
	r := s.do("GET", "/metrics", "")
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /metrics = %d", r.status)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(r.body)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// changedResourceFiles lists the resource files (under managed/ and unmanaged/ of the fabric
// folder dir) that differ between two commits of the bare repository, relative to dir.
func changedResourceFiles(t *testing.T, bare, from, to, dir string) []string {
	t.Helper()
	out := gittest.Git(t, bare, "diff", "--name-only", from, to, "--", dir+"/managed", dir+"/unmanaged")
	var files []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			files = append(files, strings.TrimPrefix(l, dir+"/"))
		}
	}
	sort.Strings(files)
	return files
}

// TestDryRun: a dry run of a fabric with raw files records a plan (created files with diffs, a
// summary) and leaves the remote as it was; a real sync triggered during a dry run is a job of
// its own and runs; the real sync pushes exactly the files the plan listed. A dry run of invalid
// raw files ends partial_sync with its problems and no plan.
func TestDryRun(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{
		"fab/raw/wiring.yaml":  readTestdata(t, "wiring.yaml"),
		"fab/raw/sub/vpcs.yml": readTestdata(t, "vpcs.yaml"),
		"bad/raw/bad.yaml":     readTestdata(t, "invalid.yaml"),
	})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n  - {name: bad, repo: %q, path: bad}\n", url, url), options{})
	bare := gs.RepoDir("gitops")
	head := gittest.Git(t, bare, "rev-parse", "main")

	dry, status := sys.dryRun("fab")
	if status != http.StatusAccepted {
		t.Fatalf("dry run status = %d; want 202", status)
	}
	dry = sys.wait(dry.ID)
	if dry.State != tasks.StateSucceeded || dry.Plan == nil || dry.Ingest.Commit != "" {
		t.Fatalf("dry run = %s (%s), commit %q; want succeeded with a plan and no commit\n%s", dry.State, dry.Reason, dry.Ingest.Commit, jsonString(dry))
	}
	p := dry.Plan
	var planned []string
	for _, f := range p.Files {
		planned = append(planned, f.Path)
		if f.Action != plan.Created || !strings.Contains(f.Diff, "+++ b/"+f.Path) || f.Added == 0 {
			t.Errorf("plan file %+v; want created, with a diff", f)
		}
	}
	if p.Created != 6 || len(p.Files) != 6 || p.Summary == "" || p.Summary == "no changes" || p.Truncated {
		t.Errorf("plan: %d created, %d files, summary %q, truncated %v; want 6 created files and a summary", p.Created, len(p.Files), p.Summary, p.Truncated)
	}
	logged := false
	for _, l := range dry.Log {
		logged = logged || l.Message == "dry run: nothing was pushed"
	}
	if !logged {
		t.Errorf("the dry run's log does not say nothing was pushed: %+v", dry.Log)
	}
	if now := gittest.Git(t, bare, "rev-parse", "main"); now != head {
		t.Fatalf("the remote moved %s -> %s during a dry run", head, now)
	}

	// A real trigger while a dry run is active is not merged into it: it gets a real job.
	dry2, status := sys.dryRun("fab")
	if status != http.StatusAccepted {
		t.Fatalf("second dry run status = %d; want 202 (the first one ended)", status)
	}
	real, status := sys.trigger("fab")
	if status != http.StatusAccepted || real.ID == dry2.ID || real.DryRun {
		t.Fatalf("real trigger during a dry run = %d, %s (dry run %v); want 202 and a real job of its own", status, real.ID, real.DryRun)
	}
	if again, status := sys.dryRun("fab"); status == http.StatusOK && again.ID != dry2.ID {
		t.Fatalf("a dry-run trigger while one is active answered another dry run %s; want %s", again.ID, dry2.ID)
	}
	real = sys.wait(real.ID)
	dry2 = sys.wait(dry2.ID)
	if dry2.State != tasks.StateSucceeded || dry2.Plan == nil {
		t.Errorf("second dry run = %s (%s); want succeeded with a plan", dry2.State, dry2.Reason)
	}
	if dry2.FinishedAt == nil || !dry2.FinishedAt.After(real.CreatedAt) {
		t.Errorf("the real job was created at %s, after the dry run ended at %v: not a trigger during a dry run", real.CreatedAt, dry2.FinishedAt)
	}
	if real.State != tasks.StateSucceeded || real.Ingest.Commit == "" || real.Plan != nil {
		t.Fatalf("real sync = %s (%s), commit %q; want succeeded with a commit\n%s", real.State, real.Reason, real.Ingest.Commit, jsonString(real))
	}
	if got := gittest.Git(t, bare, "rev-list", "--count", head+"..main"); got != "1" {
		t.Errorf("%s commits since the dry runs; want exactly the real sync's one", got)
	}
	sort.Strings(planned)
	if pushed := changedResourceFiles(t, bare, head, "main", "fab"); strings.Join(pushed, "\n") != strings.Join(planned, "\n") {
		t.Errorf("the real sync changed:\n%s\nthe plan said:\n%s", strings.Join(pushed, "\n"), strings.Join(planned, "\n"))
	}
	if real.Ingest.Created != p.Created || real.Ingest.Updated != p.Updated {
		t.Errorf("real sync created %d, updated %d; the plan said %d, %d", real.Ingest.Created, real.Ingest.Updated, p.Created, p.Updated)
	}

	// Invalid raw files: partial_sync like a real sync, the problems, no plan, nothing pushed.
	before := gittest.Git(t, bare, "rev-parse", "main")
	bad, _ := sys.dryRun("bad")
	bad = sys.wait(bad.ID)
	if bad.State != tasks.StatePartialSync || bad.Plan != nil || len(bad.Ingest.Errors) == 0 || !bad.DryRun {
		t.Fatalf("dry run of invalid raw files = %s, plan %v, %d errors; want partial_sync, no plan, the errors", bad.State, bad.Plan, len(bad.Ingest.Errors))
	}
	if now := gittest.Git(t, bare, "rev-parse", "main"); now != before {
		t.Fatalf("the remote moved during a dry run of invalid files")
	}
	// Dry runs are not counted with the real jobs.
	if v := sys.metric(`fabsync_jobs_total{fabric="bad",state="partial_sync",trigger="manual"}`); v != "" {
		t.Errorf("a dry run was counted in fabsync_jobs_total: %s", v)
	}
}

// TestDrift: a managed file edited by hand is drift. With the default (adopt) the next sync
// warns about it (rule drift), takes it into the manifest in a commit of its own, and the
// fabric's drift check, drift_files and fabsync_drift_files say 1, then 0 after the next sync.
// With drift: report the file is left, nothing is pushed, and the drift stays.
func TestDrift(t *testing.T) {
	gs := gittest.NewServer(t)
	files := map[string]string{}
	for _, f := range []string{"adopt", "report"} {
		files[f+"/raw/wiring.yaml"] = readTestdata(t, "wiring.yaml")
		files[f+"/raw/sub/vpcs.yml"] = readTestdata(t, "vpcs.yaml")
	}
	url := gs.NewRepo(t, "gitops", files)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: adopt, repo: %q, path: adopt}\n  - {name: report, repo: %q, path: report, drift: report}\n", url, url), options{})
	bare := gs.RepoDir("gitops")
	for _, f := range []string{"adopt", "report"} {
		if d := sys.drift(f); d.CheckedAt != nil || len(d.Files) != 0 {
			t.Fatalf("drift of %s before any sync = %+v; want never checked", f, d)
		}
		j, _ := sys.trigger(f)
		if j = sys.wait(j.ID); j.State != tasks.StateSucceeded || j.Ingest.Commit == "" {
			t.Fatalf("first sync of %s = %s (%s)", f, j.State, j.Reason)
		}
	}
	const file = "managed/vpcs/vpc-1.yaml"
	sync := func(fabric string) tasks.Job {
		t.Helper()
		j, _ := sys.trigger(fabric)
		if j = sys.wait(j.ID); j.State != tasks.StateSucceeded {
			t.Fatalf("sync of %s = %s (%s)\n%s", fabric, j.State, j.Reason, jsonString(j))
		}
		return j
	}
	warned := func(j tasks.Job) bool {
		for _, p := range j.Ingest.Problems {
			if p.Rule == "drift" && p.File == file && p.Severity == "warning" {
				return true
			}
		}
		return false
	}
	fabricDrift := func(fabric string) int {
		t.Helper()
		var list struct {
			Fabrics []struct {
				Name       string `json:"name"`
				DriftFiles *int   `json:"drift_files"`
			} `json:"fabrics"`
		}
		sys.do("GET", "/api/v1/fabrics", "").decode(t, &list)
		for _, f := range list.Fabrics {
			if f.Name == fabric && f.DriftFiles != nil {
				return *f.DriftFiles
			}
		}
		t.Fatalf("GET /api/v1/fabrics has no drift_files for %s", fabric)
		return 0
	}
	for _, tt := range []struct {
		fabric, mode, action string
		pushes               bool
		after                int // drift files after one more sync
	}{
		{"adopt", "adopt", "adopted", true, 0},
		{"report", "report", "reported", false, 1},
	} {
		t.Run(tt.fabric, func(t *testing.T) {
			orig := gittest.Git(t, bare, "show", "main:"+tt.fabric+"/"+file)
			gittest.Commit(t, url, map[string]string{tt.fabric + "/" + file: orig + "\n# edited by hand\n"}, "hand edit")
			head := gittest.Git(t, bare, "rev-parse", "main")
			j := sync(tt.fabric)
			if !warned(j) {
				t.Errorf("sync after a hand edit has no drift warning for %s: %+v", file, j.Ingest.Problems)
			}
			d := sys.drift(tt.fabric)
			if d.CheckedAt == nil || d.JobID != j.ID || d.Mode != tt.mode || len(d.Files) != 1 ||
				d.Files[0].Path != file || d.Files[0].Kind != "edited" || d.Files[0].Action != tt.action {
				t.Errorf("drift = %+v; want %s edited, %s, by job %s", d, file, tt.action, j.ID)
			}
			if v := sys.metric(`fabsync_drift_files{fabric="` + tt.fabric + `"}`); v != "1" {
				t.Errorf("fabsync_drift_files{fabric=%q} = %q; want 1", tt.fabric, v)
			}
			if n := fabricDrift(tt.fabric); n != 1 {
				t.Errorf("drift_files = %d; want 1", n)
			}
			now := gittest.Git(t, bare, "rev-parse", "main")
			if pushed := now != head; pushed != tt.pushes {
				t.Fatalf("sync with drift %s pushed: %v; want %v", tt.mode, pushed, tt.pushes)
			}
			if tt.pushes {
				msg := gittest.Git(t, bare, "log", "-1", "--format=%B", "main")
				if !strings.Contains(msg, "adopt hand edits") || !strings.Contains(msg, tasks.TrailerKey+": "+j.ID) {
					t.Errorf("drift commit message = %q; want it to say it adopts hand edits, with the trailer", msg)
				}
				if got := gittest.Git(t, bare, "show", "main:"+tt.fabric+"/"+file); got != strings.TrimRight(orig+"\n# edited by hand\n", "\n") {
					t.Errorf("the hand edit was not kept: %q", got)
				}
			}
			// One more sync: adopted drift is gone, reported drift stays.
			j = sync(tt.fabric)
			if d := sys.drift(tt.fabric); len(d.Files) != tt.after || d.JobID != j.ID {
				t.Errorf("drift after one more sync = %+v; want %d files, by job %s", d, tt.after, j.ID)
			}
			if warned(j) != (tt.after == 1) {
				t.Errorf("drift warning on the next sync: %v; want %v", warned(j), tt.after == 1)
			}
			if v := sys.metric(`fabsync_drift_files{fabric="` + tt.fabric + `"}`); v != fmt.Sprint(tt.after) {
				t.Errorf("fabsync_drift_files{fabric=%q} after one more sync = %q; want %d", tt.fabric, v, tt.after)
			}
		})
	}
}
