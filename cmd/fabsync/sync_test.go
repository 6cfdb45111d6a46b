package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSyncNoWait(t *testing.T) {
	tests := []struct {
		name       string
		syncStatus int
		want       string
	}{
		{"new job", http.StatusAccepted,
			"Started a sync of fabric-1: job " + testJobID + " is queued.\n" +
				"Follow it with: fabsync status " + testJobID + "\n"},
		{"job already waiting", http.StatusOK,
			"A sync of fabric-1 was already waiting, so no new job was created: job " + testJobID + " is queued.\n" +
				"Follow it with: fabsync status " + testJobID + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.syncStatus = tt.syncStatus
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1")
			if r.code != exitOK {
				t.Fatalf("sync = exit %d, stderr:\n%s\nwant exit 0", r.code, r.stderr)
			}
			if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
				t.Errorf("sync stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"POST /api/v1/fabrics/fabric-1/sync"}, f.seen()); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Hints repeat --server when it was a flag (before or after the command), so they work as typed.
func TestHintsRepeatServerFlag(t *testing.T) {
	_, url := newFakeAPI(t)
	for _, args := range [][]string{{"--server", url, "sync", "fabric-1"}, {"sync", "fabric-1", "--server", url}} {
		r := runCLI(t, t.Context(), nil, args...)
		if want := "Follow it with: fabsync status " + testJobID + " --server " + url + "\n"; r.code != exitOK || !strings.HasSuffix(r.stdout, want) {
			t.Errorf("fabsync %s = exit %d, stdout:\n%s\nwant it to end with %q", strings.Join(args, " "), r.code, r.stdout, want)
		}
	}
}

func TestSyncNoWaitJSON(t *testing.T) {
	_, url := newFakeAPI(t)
	r := runCLI(t, t.Context(), nil, "sync", "--json", "fabric-1", "--server", url)
	if r.code != exitOK {
		t.Fatalf("sync --json = exit %d, stderr:\n%s", r.code, r.stderr)
	}
	var got struct{ ID, State string }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.ID != testJobID || got.State != "queued" {
		t.Errorf("sync --json printed %q (%v); want the queued job's JSON", r.stdout, err)
	}
}

func TestSyncWait(t *testing.T) {
	const warnings = "1 warning:\n" +
		"  - raw/gw.yaml document 1: kind Gateway is not a fabric kind; written to unmanaged/gateways/gw-1.yaml\n"
	tests := []struct {
		name       string
		args       []string // after the global flags
		polls      []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:     "succeeded",
			args:     []string{"sync", "fabric-1", "--wait"},
			polls:    []string{"job_queued.json", "job_syncing.json", "job_syncing.json", "job_ingesting.json", "job_succeeded.json"},
			wantCode: exitOK,
			wantStdout: "Sync of fabric-1 succeeded (job " + testJobID + ").\n" +
				"Ingested 3 files, 120 documents: 10 created, 5 updated, 105 unchanged.\n" +
				"Archived 3 raw files.\n" +
				"Pushed commit 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d.\n" + warnings,
			wantStderr: "Started a sync of fabric-1: job " + testJobID + ".\n" +
				"[  0%] git sync: queued\n" +
				"[ 12%] git sync: receiving objects 40%\n" +
				"[ 60%] ingest: 3 files, 120 documents\n" +
				"[100%] done: pushed 1a2b3c4\n",
		},
		{
			name:     "partial sync",
			args:     []string{"sync", "--wait", "fabric-1"},
			polls:    []string{"job_syncing.json", "job_ingesting.json", "job_partial_sync.json"},
			wantCode: exitPartial,
			wantStdout: "Sync of fabric-1 ended in partial_sync (job " + testJobID + "): git sync worked, ingestion failed; nothing was changed in the repository.\n" +
				"2 problems in raw files:\n" +
				`raw/wiring.yaml:14:3 document 2: metadata.name "Leaf_1" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.')` + "\n" +
				"raw/vpcs.yaml:1:1 document 1: kind is missing\n" +
				"Fix them in raw/, push, and sync again: fabsync sync fabric-1 --wait\n",
			wantStderr: "Started a sync of fabric-1: job " + testJobID + ".\n" +
				"[  0%] git sync: queued\n" +
				"[ 12%] git sync: receiving objects 40%\n" +
				"[ 60%] ingest: 3 files, 120 documents\n" +
				"[ 60%] ingest: 2 problems in raw files\n",
		},
		{
			name:     "failed",
			args:     []string{"sync", "fabric-1", "--wait"},
			polls:    []string{"job_syncing.json", "job_failed.json"},
			wantCode: exitError,
			wantStdout: "Sync of fabric-1 failed (job " + testJobID + "): git sync failed: authentication required: " +
				"the remote rejected the fabric's credentials\n",
		},
		{
			name:       "canceled",
			args:       []string{"sync", "fabric-1", "--wait"},
			polls:      []string{"job_canceled.json"},
			wantCode:   exitError,
			wantStdout: "Sync of fabric-1 was canceled (job " + testJobID + "): canceled by request\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.polls = tt.polls
			args := append([]string{"--poll-interval", "1ms"}, tt.args...)
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, args...)
			if r.code != tt.wantCode {
				t.Errorf("%s = exit %d; want %d\nstderr:\n%s", strings.Join(tt.args, " "), r.code, tt.wantCode, r.stderr)
			}
			if diff := cmp.Diff(tt.wantStdout, r.stdout); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if tt.wantStderr != "" {
				if diff := cmp.Diff(tt.wantStderr, r.stderr); diff != "" {
					t.Errorf("stderr mismatch (-want +got):\n%s", diff)
				}
			}
			if strings.Contains(r.stderr, "\r") || strings.Contains(r.stderr, "\x1b") {
				t.Errorf("progress on a non-terminal has a carriage return or escape code:\n%q", r.stderr)
			}
			for _, req := range f.seen() {
				if strings.Contains(req, "/cancel") {
					t.Errorf("sync --wait sent %s; it must never cancel the job", req)
				}
			}
		})
	}
}

func TestSyncWaitJSON(t *testing.T) {
	f, url := newFakeAPI(t)
	f.polls = []string{"job_ingesting.json", "job_succeeded.json"}
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1", "--wait", "--json", "--poll-interval", "1ms")
	var got job
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != exitOK || got.State != stateSucceeded {
		t.Errorf("sync --wait --json = exit %d, state %q (%v); want exit 0 and the succeeded job\nstdout:\n%s", r.code, got.State, err, r.stdout)
	}
}

// A job that was already waiting (HTTP 200) is followed like a new one.
func TestSyncWaitExistingJob(t *testing.T) {
	f, url := newFakeAPI(t)
	f.syncStatus = http.StatusOK
	f.polls = []string{"job_succeeded.json"}
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1", "--wait", "--poll-interval", "1ms")
	if r.code != exitOK || !strings.Contains(r.stderr, "already waiting; following that job, "+testJobID) {
		t.Errorf("sync --wait on a waiting job = exit %d, stderr:\n%s\nwant exit 0 and a note that it follows the waiting job", r.code, r.stderr)
	}
}

// A server that hiccups while we poll (restart, proxy) is retried, not fatal.
func TestSyncWaitSurvivesTransientErrors(t *testing.T) {
	f, url := newFakeAPI(t)
	f.polls = []string{"job_syncing.json", "job_succeeded.json"}
	f.pollErrs = map[int]int{1: http.StatusServiceUnavailable, 2: http.StatusBadGateway}
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1", "--wait", "--poll-interval", "1ms")
	if r.code != exitOK {
		t.Fatalf("sync --wait = exit %d; want 0\nstderr:\n%s", r.code, r.stderr)
	}
	if got := strings.Count(r.stderr, "still trying"); got != 1 {
		t.Errorf("stderr says %q %d times; want once per outage\nstderr:\n%s", "still trying", got, r.stderr)
	}
}

func TestSyncWaitInterrupted(t *testing.T) {
	f, url := newFakeAPI(t)
	f.polls = []string{"job_syncing.json"} // never ends
	f.polled = make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result)
	go func() {
		done <- runCLI(t, ctx, map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1", "--wait", "--poll-interval", "1ms")
	}()
	<-f.polled // Ctrl-C while it waits
	cancel()
	r := <-done
	if r.code != exitInterrupted {
		t.Errorf("sync --wait interrupted = exit %d; want %d", r.code, exitInterrupted)
	}
	for _, want := range []string{"was not canceled", "fabsync status " + testJobID} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr after Ctrl-C lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, req := range f.seen() {
		if strings.Contains(req, "/cancel") {
			t.Errorf("Ctrl-C sent %s; it must only stop waiting", req)
		}
	}
}

func TestSyncWaitTimeout(t *testing.T) {
	f, url := newFakeAPI(t)
	f.polls = []string{"job_syncing.json"}
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url},
		"sync", "fabric-1", "--wait", "--timeout", "50ms", "--poll-interval", "5ms")
	if r.code != exitError || !strings.Contains(r.stderr, "gave up waiting after 50ms: job "+testJobID+" is still syncing") {
		t.Errorf("sync --wait --timeout 50ms = exit %d, stderr:\n%s\nwant exit 1 and 'gave up waiting'", r.code, r.stderr)
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		percent int
		want    string
	}{
		{0, "[....................] 0% ingest: 3 files, 120 documents"},
		{45, "[#########...........] 45% ingest: 3 files, 120 documents"},
		{100, "[####################] 100% ingest: 3 files, 120 documents"},
		{130, "[####################] 100% ingest: 3 files, 120 documents"},
	}
	for _, tt := range tests {
		j := &job{Progress: progress{Stage: "ingest", Percent: tt.percent, Message: "3 files, 120 documents"}}
		if got := progressBar(j); got != tt.want {
			t.Errorf("progressBar(%d%%) = %q; want %q", tt.percent, got, tt.want)
		}
	}
}

// On a terminal the bar is redrawn in place, never wider than the terminal, and its line is
// ended before anything else is printed.
func TestProgressViewTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := &progressView{w: &buf, terminal: true, width: 45}
	syncing := &job{State: stateSyncing, Progress: progress{Stage: "git_sync", Percent: 10, Message: "receiving objects 12%, 1.2 MiB"}}
	p.show(syncing)
	p.show(syncing) // unchanged: not redrawn
	p.show(&job{State: stateIngesting, Progress: progress{Stage: "ingest", Percent: 45, Message: "3 files"}})
	p.note("fabsync: lost the server; still trying")
	p.done()
	want := "\r[##..................] 10% git sync: receiv…\x1b[K" +
		"\r[#########...........] 45% ingest: 3 files\x1b[K" +
		"\nfabsync: lost the server; still trying\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("terminal progress mismatch (-want +got):\n%s", diff)
	}
}

func TestRunTerminalDetection(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("isTerminal(buffer) = true; want false")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	if isTerminal(f) {
		t.Error("isTerminal(regular file) = true; want false")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestExitFor(t *testing.T) {
	for state, want := range map[string]int{
		stateSucceeded: 0, statePartialSync: 2, stateFailed: 1, stateCanceled: 1,
	} {
		if got := exitFor(state); got != want {
			t.Errorf("exitFor(%s) = %d; want %d", state, got, want)
		}
	}
}

func TestSyncDryRunNoWait(t *testing.T) {
	f, url := newFakeAPI(t)
	f.syncJob = "job_dryrun_queued.json"
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1", "--dry-run")
	want := "Started a dry run of fabric-1: job " + testJobID + " is queued.\n" +
		"See its plan, once it ended, with: fabsync status " + testJobID + "\n"
	if r.code != exitOK {
		t.Fatalf("sync --dry-run = exit %d, stderr:\n%s\nwant exit 0", r.code, r.stderr)
	}
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("sync --dry-run stdout mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"POST /api/v1/fabrics/fabric-1/sync"}, f.seen()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

// --dry-run sends {"dry_run": true} as JSON; a plain sync sends no body, as before.
func TestSyncDryRunRequestBody(t *testing.T) {
	type req struct{ contentType, body string }
	var mu sync.Mutex
	var got []req
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, req{r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		name := "job_queued.json"
		if len(b) > 0 {
			name = "job_dryrun_queued.json"
		}
		writeRaw(w, http.StatusAccepted, fixture(t, name))
	}))
	defer srv.Close()
	for _, args := range [][]string{{"sync", "fabric-1", "--dry-run"}, {"sync", "fabric-1"}} {
		if r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": srv.URL}, args...); r.code != exitOK {
			t.Errorf("fabsync %s = exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d requests; want 2", len(got))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got[0].body), &body); err != nil || got[0].contentType != "application/json" ||
		!cmp.Equal(body, map[string]any{"dry_run": true}) {
		t.Errorf("sync --dry-run sent %q with Content-Type %q (%v); want the JSON object {\"dry_run\": true}", got[0].body, got[0].contentType, err)
	}
	if got[1].body != "" {
		t.Errorf("sync without --dry-run sent the body %q; want none", got[1].body)
	}
}

// A server older than dry runs that ignored the body would start a real sync: the CLI says so
// instead of passing it off as a preview.
func TestSyncDryRunNotSupported(t *testing.T) {
	f, url := newFakeAPI(t)
	f.polls = []string{"job_succeeded.json"}
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, "sync", "fabric-1", "--dry-run", "--wait", "--poll-interval", "1ms")
	if r.code != exitError || !strings.Contains(r.stderr, "does not support dry runs") || r.stdout != "" {
		t.Errorf("sync --dry-run against a server without dry runs = exit %d, stdout %q, stderr:\n%s\nwant exit 1 and a message that it does not support dry runs",
			r.code, r.stdout, r.stderr)
	}
	for _, req := range f.seen() {
		if strings.HasPrefix(req, "GET /api/v1/jobs/") {
			t.Errorf("the CLI followed the real sync (%s); it should stop at the answer to the POST", req)
		}
	}
}

func TestSyncDetailedExitcodeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sync", "fabric-1", "--detailed-exitcode"},
		{"sync", "fabric-1", "--detailed-exitcode", "--wait"},
		{"sync", "fabric-1", "--detailed-exitcode", "--dry-run"},
	} {
		f, url := newFakeAPI(t)
		r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, args...)
		want := "fabsync sync: --detailed-exitcode only works with --dry-run --wait: it tells what the dry run found\n" +
			"Run 'fabsync help sync' for usage.\n"
		if r.code != exitUsage || r.stderr != want || r.stdout != "" {
			t.Errorf("fabsync %s = exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stdout, r.stderr, exitUsage, want)
		}
		if len(f.seen()) != 0 {
			t.Errorf("fabsync %s sent %q; want no request", strings.Join(args, " "), f.seen())
		}
	}
}

// TestSyncDryRunGolden shows dry runs' outcomes: a plan with files created, updated and
// deleted, a truncated one, one with no change, and problems; and their exit codes, with and
// without --detailed-exitcode.
func TestSyncDryRunGolden(t *testing.T) {
	tests := []struct {
		fixture, golden string
		args            []string
		wantCode        int
	}{
		{"job_dryrun_succeeded.json", "sync_dryrun_changes.golden", []string{"sync", "fabric-1", "--dry-run", "--wait"}, exitOK},
		{"job_dryrun_succeeded.json", "sync_dryrun_changes.golden", []string{"sync", "fabric-1", "--dry-run", "--wait", "--detailed-exitcode"}, exitChanges},
		{"job_dryrun_truncated.json", "sync_dryrun_truncated.golden", []string{"sync", "--detailed-exitcode", "fabric-1", "--wait", "--dry-run"}, exitChanges},
		{"job_dryrun_nochange.json", "sync_dryrun_nochange.golden", []string{"sync", "fabric-1", "--dry-run", "--wait", "--detailed-exitcode"}, exitOK},
		{"job_dryrun_nochange.json", "sync_dryrun_nochange.golden", []string{"sync", "fabric-1", "--dry-run", "--wait"}, exitOK},
		{"job_dryrun_problems.json", "sync_dryrun_problems.golden", []string{"sync", "fabric-1", "--dry-run", "--wait", "--detailed-exitcode"}, exitPartial},
		{"job_dryrun_problems.json", "sync_dryrun_problems.golden", []string{"sync", "fabric-1", "--dry-run", "--wait"}, exitPartial},
		{"job_dryrun_failed.json", "sync_dryrun_failed.golden", []string{"sync", "fabric-1", "--dry-run", "--wait", "--detailed-exitcode"}, exitError},
		{"job_dryrun_succeeded.json", "status_dryrun.golden", []string{"status", testJobID}, exitOK},
		{"job_dryrun_truncated.json", "status_dryrun_truncated.golden", []string{"status", testJobID}, exitOK},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.syncJob = "job_dryrun_queued.json"
			f.polls = []string{"job_dryrun_queued.json", tt.fixture}
			if tt.args[0] == "status" {
				f.polls = []string{tt.fixture}
			}
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, append(tt.args, "--poll-interval", "1ms")...)
			if r.code != tt.wantCode {
				t.Fatalf("fabsync %s = exit %d; want %d; stderr:\n%s", strings.Join(tt.args, " "), r.code, tt.wantCode, r.stderr)
			}
			if strings.Contains(r.stdout, "\x1b") {
				t.Errorf("output to a non-terminal holds an escape character:\n%q", r.stdout)
			}
			if tt.args[0] == "sync" && !strings.HasPrefix(r.stderr, "Started a dry run of fabric-1: job "+testJobID+".\n") {
				t.Errorf("stderr = %q; want it to start with the dry run's job", r.stderr)
			}
			golden(t, tt.golden, r.stdout)
		})
	}
}

// --json prints the final job as it came, and --detailed-exitcode still sets the code.
func TestSyncDryRunJSON(t *testing.T) {
	f, url := newFakeAPI(t)
	f.syncJob = "job_dryrun_queued.json"
	f.polls = []string{"job_dryrun_succeeded.json"}
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url},
		"sync", "fabric-1", "--dry-run", "--wait", "--json", "--detailed-exitcode", "--poll-interval", "1ms")
	var got job
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != exitChanges || got.Plan == nil || len(got.Plan.Files) != 4 {
		t.Errorf("sync --dry-run --wait --json --detailed-exitcode = exit %d (%v); want exit %d and the job with its plan\nstdout:\n%s",
			r.code, err, exitChanges, r.stdout)
	}
}

func TestDetailedExitFor(t *testing.T) {
	changes := &plan{Updated: 1}
	tests := []struct {
		j    job
		want int
	}{
		{job{State: stateSucceeded, DryRun: true, Plan: &plan{Unchanged: 4}}, exitOK},
		{job{State: stateSucceeded, DryRun: true, Plan: changes}, exitChanges},
		{job{State: stateSucceeded, DryRun: true, Plan: &plan{Deleted: 2}}, exitChanges},
		{job{State: stateSucceeded, DryRun: true}, exitOK},
		{job{State: statePartialSync, DryRun: true}, exitPartial},
		{job{State: stateFailed, DryRun: true, Plan: changes}, exitError},
		{job{State: stateCanceled, DryRun: true}, exitError},
	}
	for _, tt := range tests {
		if got := detailedExitFor(&tt.j); got != tt.want {
			t.Errorf("detailedExitFor(%s, plan %+v) = %d; want %d", tt.j.State, tt.j.Plan, got, tt.want)
		}
	}
}

// A diff comes from the repository: control characters in it are shown escaped, and each line
// gets its colour by its first characters.
func TestPlanDiffPrintableAndColours(t *testing.T) {
	var b strings.Builder
	c := &cli{getenv: func(string) string { return "" }, stdout: &b}
	j := &job{ID: "j", Fabric: "fab", State: stateSucceeded, DryRun: true, Plan: &plan{Created: 1, Summary: "adds \x1b[2J",
		Files: []planFile{{Path: "managed/a\x1b.yaml", Action: actionCreated, Added: 1, Diff: "--- /dev/null\n+++ b/managed/a.yaml\n@@ -0,0 +1 @@\n+name: \x1b]0;pwned\x07x\n"}}}}
	c.writeOutcome(&b, j, nil)
	want := "Dry run of fab succeeded (job j): nothing was pushed.\n" +
		`adds \x1b[2J` + "\n" +
		"A sync would change 1 file: 1 created, 0 updated, 0 deleted; 0 unchanged.\n\n" +
		`created managed/a\x1b.yaml (+1 -0)` + "\n" +
		"--- /dev/null\n+++ b/managed/a.yaml\n@@ -0,0 +1 @@\n" + `+name: \x1b]0;pwned\ax` + "\n" +
		"\nTo make these changes: fabsync sync fab --wait\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("plan mismatch (-want +got):\n%s", diff)
	}
	for line, want := range map[string]string{
		"+++ b/x": ansiBold, "--- a/x": ansiBold, "@@ -1 +1 @@": ansiCyan, "+a": ansiGreen, "-a": ansiRed, " a": "", "": "",
		`\ No newline at end of file`: "",
	} {
		if got := diffColour(line); got != want {
			t.Errorf("diffColour(%q) = %q; want %q", line, got, want)
		}
	}
	on := colors{on: true}
	if got, want := on.paint("+a", diffColour("+a")), "\x1b[32m+a\x1b[0m"; got != want {
		t.Errorf("added line painted %q; want %q", got, want)
	}
	if got := on.paint(" a", diffColour(" a")); got != " a" {
		t.Errorf("context line painted %q; want it plain", got)
	}
}
