package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // on stderr
	}{
		{"no command", nil, "Usage: fabsync"},
		{"unknown command", []string{"snyc", "fabric-1"}, `fabsync: unknown command "snyc"`},
		{"missing fabric", []string{"sync"}, "fabsync sync: missing FABRIC"},
		{"missing job", []string{"status"}, "fabsync status: missing JOB"},
		{"extra argument", []string{"cancel", "a", "b"}, `fabsync cancel: unexpected argument "b"`},
		{"unknown flag", []string{"sync", "fabric-1", "--wiat"}, "flag provided but not defined: -wiat"},
		{"unknown global flag", []string{"--verbose", "fabrics"}, "flag provided but not defined: -verbose"},
		{"bad limit", []string{"jobs", "fabric-1", "--limit", "0"}, "--limit must be at least 1"},
		{"limit not a number", []string{"jobs", "fabric-1", "--limit", "ten"}, "invalid value"},
		{"bad server URL", []string{"fabrics", "--server", "127.0.0.1:8080"}, "want an http:// or https:// URL"},
		{"bad timeout", []string{"sync", "fabric-1", "--wait", "--timeout", "0s"}, "--timeout must be more than 0"},
		{"help for unknown command", []string{"help", "nope"}, `unknown command "nope"`},
		{"empty fabric", []string{"sync", ""}, "FABRIC must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFakeAPI(t)
			r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url}, tt.args...)
			if r.code != exitUsage {
				t.Errorf("fabsync %s = exit %d; want %d", strings.Join(tt.args, " "), r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("fabsync %s stderr:\n%s\nwant it to contain %q", strings.Join(tt.args, " "), r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("fabsync %s printed on stdout:\n%s\nwant nothing", strings.Join(tt.args, " "), r.stdout)
			}
			if got := f.seen(); len(got) != 0 {
				t.Errorf("fabsync %s sent %v; a usage error must not reach the server", strings.Join(tt.args, " "), got)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage: fabsync", "sync FABRIC", "jobs FABRIC", "status JOB", "fabrics", "cancel JOB", "Exit codes", "64", "FABSYNC_API_TOKEN", "FABSYNC_SERVER"}},
		{[]string{"-h"}, []string{"Usage: fabsync"}},
		{[]string{"help"}, []string{"Usage: fabsync"}},
		{[]string{"help", "sync"}, []string{"Usage: fabsync sync FABRIC", "--wait", "Examples:", "Ctrl-C", "Exit codes"}},
		{[]string{"sync", "--help"}, []string{"Usage: fabsync sync FABRIC", "--wait"}},
		{[]string{"jobs", "-h"}, []string{"Usage: fabsync jobs FABRIC", "--limit"}},
		{[]string{"status", "--help"}, []string{"Usage: fabsync status JOB", "--json"}},
		{[]string{"fabrics", "--help"}, []string{"Usage: fabsync fabrics"}},
		{[]string{"help", "cancel"}, []string{"Usage: fabsync cancel JOB", "Example"}},
	}
	for _, tt := range tests {
		r := runCLI(t, t.Context(), nil, tt.args...)
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("fabsync %s = exit %d, stderr %q; want exit 0 and no stderr", strings.Join(tt.args, " "), r.code, r.stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("fabsync %s help lacks %q:\n%s", strings.Join(tt.args, " "), w, r.stdout)
			}
		}
	}
}

func TestAPIErrors(t *testing.T) {
	const token = "s3cret-t0ken-value"
	tests := []struct {
		name       string
		serverTok  string
		env        map[string]string
		args       []string
		wantStderr string
	}{
		{
			name: "no token", serverTok: token, args: []string{"fabrics"},
			wantStderr: "fabsync: a valid API token is required (Authorization: Bearer <token>) (unauthorized, HTTP 401)\n" +
				"The server requires an API token: set FABSYNC_API_TOKEN to the server's token.\n",
		},
		{
			name: "wrong token", serverTok: token, env: map[string]string{"FABSYNC_API_TOKEN": "wr0ng-t0ken-value"},
			args: []string{"sync", "fabric-1", "--wait"},
			wantStderr: "fabsync: a valid API token is required (Authorization: Bearer <token>) (unauthorized, HTTP 401)\n" +
				"The server rejected the token in FABSYNC_API_TOKEN: check that it matches the server's.\n",
		},
		{
			name: "unknown fabric", args: []string{"sync", "nope"},
			wantStderr: "fabsync: no fabric named \"nope\" (fabric_not_found, HTTP 404)\n" +
				"List the configured fabrics with: fabsync fabrics\n",
		},
		{
			name: "unknown fabric jobs", args: []string{"jobs", "nope"},
			wantStderr: "fabsync: no fabric named \"nope\" (fabric_not_found, HTTP 404)\n" +
				"List the configured fabrics with: fabsync fabrics\n",
		},
		{
			name:       "unknown job",
			args:       []string{"status", "20260101T000000Z-ffffffffff"},
			wantStderr: "fabsync: no job with that ID (job_not_found, HTTP 404)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, url := newFakeAPI(t)
			f.token = tt.serverTok
			env := map[string]string{"FABSYNC_SERVER": url}
			for k, v := range tt.env {
				env[k] = v
			}
			r := runCLI(t, t.Context(), env, tt.args...)
			if r.code != exitError {
				t.Errorf("fabsync %s = exit %d; want %d", strings.Join(tt.args, " "), r.code, exitError)
			}
			if diff := cmp.Diff(tt.wantStderr, r.stderr); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenIsSent(t *testing.T) {
	const token = "s3cret-t0ken-value"
	f, url := newFakeAPI(t)
	f.token = token
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": url, "FABSYNC_API_TOKEN": token}, "sync", "fabric-1")
	if r.code != exitOK {
		t.Fatalf("sync with the right token = exit %d, stderr:\n%s", r.code, r.stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if diff := cmp.Diff([]string{"Bearer " + token}, f.authSeen); diff != "" {
		t.Errorf("Authorization headers mismatch (-want +got):\n%s", diff)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	for _, args := range [][]string{{"fabrics"}, {"sync", "fabric-1", "--wait"}} {
		r := runCLI(t, t.Context(), nil, append(args, "--server", "http://"+addr)...)
		want := "fabsync: the fabsync server isn't reachable at http://" + addr + " (connection refused)\n" +
			"Start a server with 'make run', or point --server or FABSYNC_SERVER at one.\n"
		if r.code != exitError {
			t.Errorf("fabsync %s = exit %d; want 1", strings.Join(args, " "), r.code)
		}
		if diff := cmp.Diff(want, r.stderr); diff != "" {
			t.Errorf("stderr mismatch (-want +got):\n%s", diff)
		}
	}
}

// Something that is not fabsync answering (a proxy's HTML page) still gives a clear error.
func TestNotAFabsyncServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}))
	defer srv.Close()
	r := runCLI(t, t.Context(), map[string]string{"FABSYNC_SERVER": srv.URL}, "fabrics")
	want := "fabsync: unexpected response from the server: 502 Bad Gateway (http_error, HTTP 502)\n"
	if r.code != exitError || r.stderr != want {
		t.Errorf("fabrics against a proxy error = exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantWait bool
	}{
		{[]string{"fabric-1", "--wait"}, []string{"fabric-1"}, true},
		{[]string{"--wait", "fabric-1"}, []string{"fabric-1"}, true},
		{[]string{"fabric-1"}, []string{"fabric-1"}, false},
		{[]string{"--", "--wait"}, []string{"--wait"}, false},
		{[]string{"a", "--wait", "b"}, []string{"a", "b"}, true},
	}
	for _, tt := range tests {
		c := &cli{}
		fs := c.flagSet("test")
		wait := fs.Bool("wait", false, "")
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil || !cmp.Equal(pos, tt.wantPos) || *wait != tt.wantWait {
			t.Errorf("parseInterleaved(%q) = %q, wait=%v, %v; want %q, wait=%v", tt.args, pos, *wait, err, tt.wantPos, tt.wantWait)
		}
	}
}
