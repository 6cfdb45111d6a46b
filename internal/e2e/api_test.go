package e2e_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

func TestAPIErrors(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab, resync: 10m}\n", url), options{})
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown fabric", "POST", "/api/v1/fabrics/nope/sync", "", 404, "fabric_not_found"},
		{"unknown fabric jobs", "GET", "/api/v1/fabrics/nope/jobs", "", 404, "fabric_not_found"},
		{"unknown job", "GET", "/api/v1/jobs/nope", "", 404, "job_not_found"},
		{"cancel unknown job", "POST", "/api/v1/jobs/nope/cancel", "", 404, "job_not_found"},
		{"malformed body", "POST", "/api/v1/fabrics/fab/sync", "{not json", 400, "bad_request"},
		{"body not an object", "POST", "/api/v1/fabrics/fab/sync", `["x"]`, 400, "bad_request"},
		{"unknown body field", "POST", "/api/v1/fabrics/fab/sync", `{"force": true}`, 400, "bad_request"},
		{"bad limit", "GET", "/api/v1/fabrics/fab/jobs?limit=abc", "", 400, "bad_request"},
		{"limit too big", "GET", "/api/v1/fabrics/fab/jobs?limit=100000", "", 400, "bad_request"},
		{"unknown route", "GET", "/api/v1/nothing", "", 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/jobs/x", "", 405, "method_not_allowed"},
		{"oversized body", "POST", "/api/v1/fabrics/fab/sync", `{"x":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sys.do(tt.method, tt.path, tt.body)
			var e struct {
				Error struct{ Code, Message string }
			}
			r.decode(t, &e)
			if r.status != tt.status || e.Error.Code != tt.code || e.Error.Message == "" {
				t.Errorf("%s %s = %d %s; want %d with code %q", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
			}
		})
	}

	r := sys.do("GET", "/api/v1/fabrics", "")
	var list struct {
		Fabrics []struct {
			Name, Repo, Branch, Path, Resync string
			LatestJob                        *tasks.Job `json:"latest_job"`
		}
	}
	r.decode(t, &list)
	if r.status != 200 || len(list.Fabrics) != 1 || list.Fabrics[0].Name != "fab" || list.Fabrics[0].Branch != "main" ||
		list.Fabrics[0].Resync != "10m0s" || list.Fabrics[0].LatestJob != nil {
		t.Fatalf("GET /fabrics = %d %s", r.status, r.body)
	}
	j, status := sys.trigger("fab")
	if status != http.StatusAccepted {
		t.Fatalf("trigger = %d", status)
	}
	r = sys.do("POST", "/api/v1/fabrics/fab/sync", "{}")
	if r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("trigger with {} = %d %s", r.status, r.body)
	}
	j = sys.wait(j.ID)
	if r := sys.do("POST", "/api/v1/jobs/"+j.ID+"/cancel", ""); r.status != http.StatusConflict || !strings.Contains(string(r.body), "job_ended") {
		t.Errorf("cancel ended job = %d %s; want 409 job_ended", r.status, r.body)
	}
	r = sys.do("GET", "/api/v1/fabrics/fab/jobs?limit=5", "")
	if r.status != 200 || !strings.Contains(string(r.body), j.ID) {
		t.Errorf("GET jobs = %d %s", r.status, r.body)
	}
	for _, p := range []string{"/healthz", "/readyz", "/"} {
		if r := sys.do("GET", p, ""); r.status != 200 {
			t.Errorf("GET %s = %d", p, r.status)
		}
	}
}

func TestAPIToken(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{token: "tok-123"})
	if r := sys.do("GET", "/api/v1/fabrics", ""); r.status != 401 || !strings.Contains(string(r.body), "unauthorized") {
		t.Errorf("no token = %d %s; want 401", r.status, r.body)
	}
	if r := sys.do("GET", "/api/v1/fabrics", "", "Authorization", "Bearer wrong"); r.status != 401 {
		t.Errorf("wrong token = %d; want 401", r.status)
	}
	if r := sys.do("GET", "/api/v1/fabrics", "", "Authorization", "Bearer tok-123"); r.status != 200 {
		t.Errorf("right token = %d; want 200", r.status)
	}
	for _, p := range []string{"/healthz", "/readyz", "/"} {
		if r := sys.do("GET", p, ""); r.status != 200 {
			t.Errorf("GET %s without token = %d; want 200", p, r.status)
		}
	}
}

func TestCancelQueued(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{workers: -1})
	j, _ := sys.trigger("fab")
	r := sys.do("POST", "/api/v1/jobs/"+j.ID+"/cancel", "")
	var got tasks.Job
	r.decode(t, &got)
	if r.status != http.StatusAccepted || got.State != tasks.StateCanceled || got.FinishedAt == nil {
		t.Fatalf("cancel queued job = %d %s; want 202 and canceled", r.status, r.body)
	}
	// The fabric is free again.
	if next, status := sys.trigger("fab"); status != http.StatusAccepted || next.ID == j.ID {
		t.Errorf("trigger after cancel = %d %s", status, next.ID)
	}
}

// TestTokenCookieOnlyForPages: the UI's token cookie opens /monitoring/ and /metrics (pages a
// browser navigates to) but not the JSON API, so a cookie can never trigger a sync.
func TestTokenCookieOnlyForPages(t *testing.T) {
	gs := gittest.NewServer(t)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q}\n", gs.NewRepo(t, "gitops", nil)), options{token: "tok", workers: -1})
	ck := []string{"Cookie", "fabsync-token=tok"}
	if r := sys.do("POST", "/api/v1/fabrics/fab/sync", "", ck...); r.status != 401 {
		t.Errorf("trigger with only the cookie = %d; want 401", r.status)
	}
	for _, p := range []string{"/metrics", "/monitoring/"} {
		if r := sys.do("GET", p, "", ck...); r.status != 200 {
			t.Errorf("GET %s with the cookie = %d; want 200", p, r.status)
		}
	}
}
