package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/tasks"
)

// TestTriggerBody: the trigger's body is empty (a real sync), or {"dry_run": true|false}; an
// unknown field or another JSON value is refused with 400, naming the field. A dry-run trigger
// while a dry run is active returns that one; a real trigger during it gets its own job.
func TestTriggerBody(t *testing.T) {
	e, _ := newTestServerWith(t, Config{Fabrics: newSource(t, "fabrics:\n  - {name: a, repo: 'https://github.com/o/r.git'}\n")})
	post := func(body string) (int, tasks.Job, string) {
		rec := serve(e, http.MethodPost, "/api/v1/fabrics/a/sync", body, "Content-Type", "application/json")
		var j tasks.Job
		if rec.Code < 300 {
			if err := json.Unmarshal(rec.Body.Bytes(), &j); err != nil {
				t.Fatalf("POST %s = %d %s: %v", body, rec.Code, rec.Body, err)
			}
		}
		return rec.Code, j, rec.Body.String()
	}
	code, dry, _ := post(`{"dry_run": true}`)
	if code != http.StatusAccepted || !dry.DryRun {
		t.Fatalf(`POST {"dry_run": true} = %d, dry_run %v; want 202 and a dry run`, code, dry.DryRun)
	}
	if code, again, _ := post(`{"dry_run":true}`); code != http.StatusOK || again.ID != dry.ID {
		t.Fatalf("second dry run = %d %s; want 200 and the active dry run %s", code, again.ID, dry.ID)
	}
	code, real, _ := post("")
	if code != http.StatusAccepted || real.DryRun || real.ID == dry.ID {
		t.Fatalf("POST with no body during a dry run = %d, %+v; want 202 and a real job of its own", code, real)
	}
	if code, again, _ := post(`{"dry_run": false}`); code != http.StatusOK || again.ID != real.ID {
		t.Fatalf(`POST {"dry_run": false} = %d %s; want 200 and the queued real job %s`, code, again.ID, real.ID)
	}
	for body, want := range map[string]string{
		`{"dryrun": true}`:   `unknown field \"dryrun\" in the request body; known fields: dry_run`,
		`{"dry_run": "yes"}`: "request body must be a JSON object",
		`[]`:                 "request body must be a JSON object",
		`{} {}`:              "request body must be a JSON object",
	} {
		if code, _, got := post(body); code != http.StatusBadRequest || !strings.Contains(got, want) || !strings.Contains(got, `"bad_request"`) {
			t.Errorf("POST %s = %d %s; want 400 bad_request saying %s", body, code, got, want)
		}
	}
}

// TestDriftRoute: a fabric never checked answers checked_at null and no files; the fabrics list
// says drift_files 0; an unknown fabric is 404.
func TestDriftRoute(t *testing.T) {
	e, _ := newTestServerWith(t, Config{Fabrics: newSource(t, "fabrics:\n  - {name: a, repo: 'https://github.com/o/r.git'}\n")})
	rec := get(e, "/api/v1/fabrics/a/drift")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"fabric":"a","checked_at":null,"files":[]}` {
		t.Fatalf("GET drift = %d %s; want 200 and an empty check", rec.Code, rec.Body)
	}
	if rec := get(e, "/api/v1/fabrics/nope/drift"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "fabric_not_found") {
		t.Fatalf("GET drift of an unknown fabric = %d %s; want 404 fabric_not_found", rec.Code, rec.Body)
	}
	rec = get(e, "/api/v1/fabrics")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"drift_files":0`) {
		t.Fatalf("GET fabrics = %d %s; want drift_files 0", rec.Code, rec.Body)
	}
}
