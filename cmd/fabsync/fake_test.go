package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testJobID is the ID in every testdata/job_*.json fixture.
const testJobID = "20260301T100000Z-0a1b2c3d4e"

// fakeAPI serves the routes of SPEC §4 that the CLI calls, with canned JSON in the real shapes
// (the testdata fixtures decode into the server's job type with no field left over). It tests
// the CLI's side of the HTTP contract; the real server is tested in internal/server and e2e.
type fakeAPI struct {
	t     testing.TB
	token string // when set, every route wants "Authorization: Bearer <token>"

	mu         sync.Mutex
	syncStatus int      // answer to POST .../sync: 202 (new job) or 200 (one was waiting)
	syncJob    string   // fixture POST .../sync returns
	polls      []string // fixtures GET /jobs/{id} returns in turn; the last one repeats
	pollErrs   map[int]int
	polled     chan struct{} // receives after each GET /jobs/{id}, when set
	jobsBody   string
	fabrics    string
	cancel     func(w http.ResponseWriter)
	requests   []string
	authSeen   []string
	npoll      int
}

// newFakeAPI starts a fake server and returns it with its URL.
func newFakeAPI(t testing.TB) (*fakeAPI, string) {
	t.Helper()
	f := &fakeAPI{t: t, syncStatus: http.StatusAccepted, syncJob: "job_queued.json", pollErrs: map[int]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/fabrics/{fabric}/sync", func(w http.ResponseWriter, r *http.Request) {
		if !f.fabricKnown(w, r.PathValue("fabric")) {
			return
		}
		f.mu.Lock()
		status, body := f.syncStatus, fixture(t, f.syncJob)
		f.mu.Unlock()
		if status == http.StatusAccepted {
			w.Header().Set("Location", "/api/v1/jobs/"+testJobID)
		}
		writeRaw(w, status, body)
	})
	mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != testJobID {
			writeError(w, http.StatusNotFound, "job_not_found", "no job with that ID")
			return
		}
		f.mu.Lock()
		n := f.npoll
		f.npoll++
		status, failing := f.pollErrs[n]
		var body []byte
		if !failing && len(f.polls) > 0 {
			i := n // the fixture index skips the polls answered with an error
			for k := range f.pollErrs {
				if k < n {
					i--
				}
			}
			body = fixture(t, f.polls[min(len(f.polls)-1, i)])
		}
		polled := f.polled
		f.mu.Unlock()
		switch {
		case failing:
			writeError(w, status, "unavailable", "service unavailable")
		case body == nil:
			writeError(w, http.StatusInternalServerError, "internal", "fake: no fixture to poll")
		default:
			writeRaw(w, http.StatusOK, body)
		}
		if polled != nil {
			polled <- struct{}{}
		}
	})
	mux.HandleFunc("GET /api/v1/fabrics/{fabric}/jobs", func(w http.ResponseWriter, r *http.Request) {
		if f.fabricKnown(w, r.PathValue("fabric")) {
			writeRaw(w, http.StatusOK, []byte(f.jobsBody))
		}
	})
	mux.HandleFunc("GET /api/v1/fabrics", func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, http.StatusOK, []byte(f.fabrics))
	})
	mux.HandleFunc("POST /api/v1/jobs/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != testJobID {
			writeError(w, http.StatusNotFound, "job_not_found", "no job with that ID")
			return
		}
		f.cancel(w)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.authSeen = append(f.authSeen, r.Header.Get("Authorization"))
		token := f.token
		f.mu.Unlock()
		if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fabsync"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a valid API token is required (Authorization: Bearer <token>)")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeAPI) fabricKnown(w http.ResponseWriter, name string) bool {
	if name == "fabric-1" {
		return true
	}
	writeError(w, http.StatusNotFound, "fabric_not_found", `no fabric named "`+name+`"`)
	return false
}

// seen returns the requests the fake got, as "METHOD /path?query".
func (f *fakeAPI) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// writeRaw answers like echo's c.JSON: compact JSON and a newline.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		http.Error(w, "fake: bad fixture: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	buf.WriteByte('\n')
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, msg
	b, _ := json.Marshal(body)
	writeRaw(w, status, b)
}

// fixture reads testdata/NAME.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// result is what one run of the CLI did.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command with a map-backed environment (TZ pinned to UTC) and returns its
// exit code and output.
func runCLI(t testing.TB, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	getenv := func(k string) string {
		if k == "TZ" {
			if v, ok := env[k]; ok {
				return v
			}
			return "UTC"
		}
		return env[k]
	}
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, getenv, &stdout, &stderr)
	r := result{code, stdout.String(), stderr.String()}
	if tok := env["FABSYNC_API_TOKEN"]; tok != "" && strings.Contains(r.stdout+r.stderr, tok) {
		t.Errorf("fabsync %s printed the API token:\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "goroutine ") || strings.Contains(r.stdout+r.stderr, "panic:") {
		t.Errorf("fabsync %s printed a stack trace:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}
