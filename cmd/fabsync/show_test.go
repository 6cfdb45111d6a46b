package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/goldentest"
)

// listBody wraps fixtures in {"<key>": [...]}, the shape of the list endpoints.
func listBody(t testing.TB, key string, items ...[]byte) string {
	t.Helper()
	return `{"` + key + `":[` + string(bytes.Join(items, []byte(","))) + `]}`
}

func TestJobs(t *testing.T) {
	f, url := newFakeAPI(t)
	f.jobsBody = listBody(t, "jobs", fixture(t, "job_succeeded.json"), fixture(t, "job_partial_sync.json"), fixture(t, "job_queued.json"))
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "jobs", "fabric-1", "--limit", "3")
	want := "" +
		"ID                           TRIGGER  STATE         STARTED              DURATION  ATTEMPTS (GIT/INGEST)\n" +
		"20260301T100000Z-0a1b2c3d4e  manual   succeeded     2026-03-01 10:00:01  4.2s      1/1\n" +
		"20260301T100000Z-0a1b2c3d4e  manual   partial_sync  2026-03-01 10:00:01  3s        1/1\n" +
		"20260301T100000Z-0a1b2c3d4e  manual   queued        -                    -         0/0\n"
	if r.code != exitOK {
		t.Fatalf("jobs = exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("jobs table mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"GET /api/v1/fabrics/fabric-1/jobs?limit=3"}, f.seen()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestJobsEmpty(t *testing.T) {
	f, url := newFakeAPI(t)
	f.jobsBody = `{"jobs":[]}`
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "jobs", "fabric-1")
	if want := "No jobs for fabric-1 yet. Start one with: fabsync sync fabric-1\n"; r.code != exitOK || r.stdout != want {
		t.Errorf("jobs with none = exit %d, %q; want 0, %q", r.code, r.stdout, want)
	}
}

// --json prints the server's JSON: the same data, only whitespace may differ.
func TestJSONOutput(t *testing.T) {
	f, url := newFakeAPI(t)
	f.jobsBody = listBody(t, "jobs", fixture(t, "job_succeeded.json"))
	f.fabrics = listBody(t, "fabrics")
	f.polls = []string{"job_partial_sync.json"}
	tests := []struct {
		args []string
		want []byte
	}{
		{[]string{"jobs", "fabric-1", "--json"}, []byte(f.jobsBody)},
		{[]string{"status", testJobID, "--json"}, fixture(t, "job_partial_sync.json")},
		{[]string{"fabrics", "--json"}, []byte(f.fabrics)},
	}
	for _, tt := range tests {
		r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, tt.args...)
		var got, want bytes.Buffer
		if err := json.Compact(&got, []byte(r.stdout)); err != nil || r.code != exitOK {
			t.Errorf("fabsync %s = exit %d, %v; want exit 0 and JSON:\n%s", strings.Join(tt.args, " "), r.code, err, r.stdout)
			continue
		}
		if err := json.Compact(&want, tt.want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.String(), got.String()); diff != "" {
			t.Errorf("fabsync %s JSON mismatch (-want +got):\n%s", strings.Join(tt.args, " "), diff)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		fixture string
		want    string
	}{
		{"job_partial_sync.json", "" +
			"Job 20260301T100000Z-0a1b2c3d4e\n" +
			"  Fabric:    fabric-1 (trigger: manual)\n" +
			"  State:     partial_sync\n" +
			"  Created:   2026-03-01 10:00:00 UTC\n" +
			"  Started:   2026-03-01 10:00:01 UTC\n" +
			"  Finished:  2026-03-01 10:00:04 UTC (took 3s)\n" +
			"  Git sync:  succeeded after 1 attempt, at commit 9f8e7d6c5b4a39281706f5e4d3c2b1a098765432\n" +
			"  Ingest:    failed after 1 attempt\n" +
			"\n" +
			"Sync of fabric-1 ended in partial_sync (job 20260301T100000Z-0a1b2c3d4e): git sync worked, ingestion failed; nothing was changed in the repository.\n" +
			"2 problems in raw files:\n" +
			`raw/wiring.yaml:14:3 document 2: metadata.name "Leaf_1" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.')` + "\n" +
			"raw/vpcs.yaml:1:1 document 1: kind is missing\n" +
			"Fix them in raw/, push, and sync again: fabsync sync fabric-1 --wait\n" +
			"\n" +
			"Log:\n" +
			"  2026-03-01 10:00:00  job queued (trigger manual)\n" +
			"  2026-03-01 10:00:01  git sync attempt 1 started\n" +
			"  2026-03-01 10:00:02  git sync done at 9f8e7d6\n" +
			"  2026-03-01 10:00:04  ingest attempt 1 failed (not retried: this error is permanent): 2 problems in raw files\n"},
		{"job_queued.json", "" +
			"Job 20260301T100000Z-0a1b2c3d4e\n" +
			"  Fabric:    fabric-1 (trigger: manual)\n" +
			"  State:     queued\n" +
			"  Created:   2026-03-01 10:00:00 UTC\n" +
			"  Git sync:  pending\n" +
			"  Ingest:    pending\n" +
			"\n" +
			"In progress: [....................] 0% git sync: queued\n" +
			"It is waiting for a worker (or for the fabric's running job to end).\n" +
			"\n" +
			"Log:\n" +
			"  2026-03-01 10:00:00  job queued (trigger manual)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.polls = []string{tt.fixture}
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "status", testJobID)
			if r.code != exitOK {
				t.Fatalf("status = exit %d, stderr:\n%s", r.code, r.stderr)
			}
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFabrics(t *testing.T) {
	f, url := newFakeAPI(t)
	f.fabrics = `{"fabrics":[` +
		`{"name":"fabric-1","repo":"https://github.com/example/gitops.git","branch":"main","path":"gitops/hedgehog/fabric-1","resync":"10m0s","latest_job":` +
		string(fixture(t, "job_succeeded.json")) + `},` +
		`{"name":"lab","repo":"file:///srv/git/lab.git","branch":"prod","path":".","resync":"","latest_job":null}]}`
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "fabrics")
	want := "" +
		"NAME      REPO                                   BRANCH  PATH                      RESYNC  LAST JOB\n" +
		"fabric-1  https://github.com/example/gitops.git  main    gitops/hedgehog/fabric-1  10m0s   succeeded, 2026-03-01 10:00:05\n" +
		"lab       file:///srv/git/lab.git                prod    .                         off     never synced\n"
	if r.code != exitOK {
		t.Fatalf("fabrics = exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("fabrics table mismatch (-want +got):\n%s", diff)
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(w http.ResponseWriter)
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:       "queued job ends at once",
			answer:     func(w http.ResponseWriter) { writeRaw(w, http.StatusAccepted, fixture(t, "job_canceled.json")) },
			wantStdout: "Job 20260301T100000Z-0a1b2c3d4e (fabric-1) is canceled.\n",
		},
		{
			name:   "running job stops at its next check",
			answer: func(w http.ResponseWriter) { writeRaw(w, http.StatusAccepted, fixture(t, "job_syncing.json")) },
			wantStdout: "Cancel requested: job 20260301T100000Z-0a1b2c3d4e (fabric-1) is syncing and stops at its next check.\n" +
				"Check it with: fabsync status 20260301T100000Z-0a1b2c3d4e\n",
		},
		{
			name: "job already ended",
			answer: func(w http.ResponseWriter) {
				writeError(w, http.StatusConflict, "job_ended", "job already ended (succeeded)")
			},
			wantCode:   exitError,
			wantStderr: "fabsync: job already ended (succeeded) (job_ended, HTTP 409)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.cancel = tt.answer
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "cancel", testJobID)
			if r.code != tt.wantCode {
				t.Errorf("cancel = exit %d; want %d", r.code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantStdout, r.stdout); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantStderr, r.stderr); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDocErrorString(t *testing.T) {
	tests := []struct {
		e    docError
		want string
	}{
		{docError{File: "raw/a.yaml", Document: 2, Line: 14, Column: 3, Message: "bad"}, "raw/a.yaml:14:3 document 2: bad"},
		{docError{File: "raw/a.yaml", Document: 2, Line: 14, Message: "bad"}, "raw/a.yaml:14 document 2: bad"},
		{docError{File: "raw/big.yaml", Message: "file is larger than 8 MiB"}, "raw/big.yaml: file is larger than 8 MiB"},
	}
	for _, tt := range tests {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("%+v.String() = %q; want %q", tt.e, got, tt.want)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files from the output")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, filepath.Join("testdata", name), []byte(got), *update, "update")
}

// TestProblemsGolden shows the problems of a job: grouped by file, errors before warnings,
// with rule, severity and excerpt (ingest.problems), or, for a record older than that field,
// its ingest.errors as before.
func TestProblemsGolden(t *testing.T) {
	tests := []struct {
		fixture, golden string
		args            []string
		wantCode        int
	}{
		{"job_problems.json", "status_problems.golden", []string{"status", testJobID}, exitOK},
		{"job_problems.json", "sync_wait_problems.golden", []string{"sync", "fabric-1", "--wait"}, exitPartial},
		{"job_succeeded_warnings.json", "status_succeeded_warnings.golden", []string{"status", testJobID}, exitOK},
		{"job_partial_sync.json", "status_old_errors.golden", []string{"status", testJobID}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.polls = []string{tt.fixture}
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, append(tt.args, "--poll-interval", "10ms")...)
			if r.code != tt.wantCode {
				t.Fatalf("fabsync %s = exit %d; want %d; stderr:\n%s", strings.Join(tt.args, " "), r.code, tt.wantCode, r.stderr)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("output to a non-terminal holds an escape character:\n%q", r.stdout)
			}
			golden(t, tt.golden, r.stdout)
		})
	}
}

func TestProblemsColour(t *testing.T) {
	var b strings.Builder
	c := &cli{getenv: func(string) string { return "" }, stdout: &b}
	var j job
	if err := json.Unmarshal(fixture(t, "job_problems.json"), &j); err != nil {
		t.Fatal(err)
	}
	probs := j.Ingest.Problems
	if len(probs) != 5 {
		t.Fatalf("%d problems; want the fixture's 5", len(probs))
	}
	c.writeProblems(&b, probs)
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("colour on a strings.Builder:\n%q", b.String())
	}
	on := colors{on: true}
	if got, want := on.paint("error", ansiRed), "\x1b[31merror\x1b[0m"; got != want {
		t.Errorf("paint = %q; want %q", got, want)
	}
	if got := (colors{}).paint("error", ansiRed); got != "error" {
		t.Errorf("paint when off = %q; want it unchanged", got)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain\ttext é", "plain\ttext é"},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"cr\rlf", `cr\rlf`},
		{"c1\u009bx", `c1\u009bx`},
	}
	for _, tt := range tests {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroupProblems(t *testing.T) {
	probs := []problem{
		{docError: docError{File: "raw/a.yaml", Line: 1, Message: "w1"}, Severity: "warning"},
		{docError: docError{File: "raw/a.yaml", Line: 2, Message: "w2"}, Severity: "warning"},
		{docError: docError{File: "raw/b.yaml", Line: 9, Message: "w3"}, Severity: "warning"},
		{docError: docError{File: "raw/b.yaml", Line: 10, Message: "e1"}, Severity: "error"},
		{docError: docError{File: "raw/c.yaml", Message: "e2"}}, // no severity: an error
	}
	var got []string
	for _, f := range groupProblems(probs) {
		s := f.name + " (" + problemCounts(f.errors, f.warnings) + "):"
		for _, p := range f.problems {
			s += " " + p.Message
		}
		got = append(got, s)
	}
	want := []string{
		"raw/b.yaml (1 error, 1 warning): e1 w3",
		"raw/c.yaml (1 error): e2",
		"raw/a.yaml (2 warnings): w1 w2",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("groups mismatch (-want +got):\n%s", diff)
	}
}

// A dry run is marked as one in the list of jobs.
func TestJobsDryRun(t *testing.T) {
	f, url := newFakeAPI(t)
	f.jobsBody = listBody(t, "jobs", fixture(t, "job_dryrun_succeeded.json"), fixture(t, "job_succeeded.json"))
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "jobs", "fabric-1")
	want := "" +
		"ID                           TRIGGER           STATE      STARTED              DURATION  ATTEMPTS (GIT/INGEST)\n" +
		"20260301T100000Z-0a1b2c3d4e  manual (dry run)  succeeded  2026-03-01 10:00:01  4.2s      1/1\n" +
		"20260301T100000Z-0a1b2c3d4e  manual            succeeded  2026-03-01 10:00:01  4.2s      1/1\n"
	if r.code != exitOK {
		t.Fatalf("jobs = exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("jobs table mismatch (-want +got):\n%s", diff)
	}
}
