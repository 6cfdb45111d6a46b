package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
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
