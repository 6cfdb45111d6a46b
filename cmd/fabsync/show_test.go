package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
