package forge

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/tasks"
)

// glMR is a merge request as GitLab's REST API v4 returns it (trimmed).
func glMR(iid int, state, title, desc string) string {
	merged := "null"
	if state == "merged" {
		merged = `"2025-01-03T00:00:00.000Z"`
	}
	return fmt.Sprintf(`{"id":%[1]d00,"iid":%[1]d,"project_id":42,"title":%[3]q,"description":%[4]q,"state":%[2]q,
"created_at":"2025-01-02T03:04:05.000Z","updated_at":"2025-01-02T03:04:05.000Z","merged_at":%[5]s,"closed_at":null,
"target_branch":"main","source_branch":"fabsync/dc1","source_project_id":42,"target_project_id":42,
"author":{"id":1,"username":"fabsync-bot","name":"fabsync"},"draft":false,"merge_status":"can_be_merged",
"sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","web_url":"https://gitlab.example.com/net/dc/fab/-/merge_requests/%[1]d"}`,
		iid, state, title, desc, merged)
}

const glMRs = "/api/v4/projects/net%2Fdc%2Ffab/merge_requests"

func glListing(resp string) exchange {
	return exchange{method: "GET", path: glMRs, resp: resp,
		query: map[string]any{"source_branch": "fabsync/dc1", "target_branch": "main", "order_by": "created_at", "sort": "desc", "state": absent}}
}

func glURL(iid int) string {
	return fmt.Sprintf("https://gitlab.example.com/net/dc/fab/-/merge_requests/%d", iid)
}

func newGitLabTest(t *testing.T, srvURL string) tasks.Forge {
	t.Helper()
	f, err := New(Config{Type: "gitlab", Repo: "git@gitlab.example.com:net/dc/fab.git", APIURL: srvURL + "/api/v4", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGitLabEnsurePullRequest(t *testing.T) {
	rateLimited := map[string]string{
		"Content-Type": "text/plain", "RateLimit-Name": "throttle_authenticated_api", "RateLimit-Limit": "2000",
		"RateLimit-Observed": "2001", "RateLimit-Remaining": "0", "RateLimit-Reset": resetIn(45 * time.Second), "Retry-After": "45",
	}
	cases := []prCase{
		{name: "none: create", spec: spec,
			script: []exchange{glListing(`[]`), {method: "POST", path: glMRs, status: http.StatusCreated, resp: glMR(4, "opened", spec.Title, spec.Body),
				body: map[string]any{"title": spec.Title, "description": spec.Body, "source_branch": "fabsync/dc1", "target_branch": "main"}}},
			want: &tasks.PullRequest{Provider: "gitlab", URL: glURL(4), Number: 4, State: "open", Created: true}},
		{name: "open: update title and description", spec: spec,
			script: []exchange{glListing("[" + glMR(3, "opened", "old", "old") + "]"),
				{method: "PUT", path: glMRs + "/3", resp: glMR(3, "opened", spec.Title, spec.Body),
					body: map[string]any{"title": spec.Title, "description": spec.Body, "state_event": absent}}},
			want: &tasks.PullRequest{Provider: "gitlab", URL: glURL(3), Number: 3, State: "open"}},
		{name: "open and unchanged: no update", spec: specR,
			script: []exchange{glListing("[" + glMR(3, "opened", spec.Title, spec.Body) + "]")},
			want:   &tasks.PullRequest{Provider: "gitlab", URL: glURL(3), Number: 3, State: "open"}},
		{name: "merged: returned, no new one", spec: spec,
			script: []exchange{glListing("[" + glMR(2, "merged", "t", "d") + "]")},
			want:   &tasks.PullRequest{Provider: "gitlab", URL: glURL(2), Number: 2, State: "merged"}},
		{name: "merged, a new change (Reopen): a new one", spec: specR,
			script: []exchange{glListing("[" + glMR(2, "merged", "t", "d") + "]"), {method: "POST", path: glMRs, status: http.StatusCreated, resp: glMR(4, "opened", spec.Title, spec.Body),
				body: map[string]any{"title": spec.Title, "description": spec.Body, "source_branch": "fabsync/dc1", "target_branch": "main"}}},
			want: &tasks.PullRequest{Provider: "gitlab", URL: glURL(4), Number: 4, State: "open", Created: true}},
		{name: "closed: returned as is", spec: spec,
			script: []exchange{glListing("[" + glMR(2, "closed", "t", "d") + "]")},
			want:   &tasks.PullRequest{Provider: "gitlab", URL: glURL(2), Number: 2, State: "closed"}},
		{name: "closed with Reopen: reopened and updated", spec: specR,
			script: []exchange{glListing("[" + glMR(2, "closed", "t", "d") + "," + glMR(1, "merged", "t", "d") + "]"),
				{method: "PUT", path: glMRs + "/2", resp: glMR(2, "opened", spec.Title, spec.Body),
					body: map[string]any{"title": spec.Title, "description": spec.Body, "state_event": "reopen"}}},
			want: &tasks.PullRequest{Provider: "gitlab", URL: glURL(2), Number: 2, State: "open"}},
		{name: "429 with retry-after", spec: spec, err: errRateLimit, minWait: 45 * time.Second, maxWait: 45 * time.Second,
			script: []exchange{{method: "GET", path: glMRs, status: http.StatusTooManyRequests, header: rateLimited, resp: "Retry later\n"}}},
		{name: "5xx is transient, not retried by the client", spec: spec, err: errTransient,
			script: []exchange{{method: "GET", path: glMRs, status: http.StatusInternalServerError, resp: `{"message":"500 Internal Server Error"}`}}},
		{name: "401", spec: spec, err: errUnauthorized,
			script: []exchange{{method: "GET", path: glMRs, status: http.StatusUnauthorized, resp: `{"message":"401 Unauthorized"}`}}},
		{name: "403 is unauthorized", spec: spec, err: errUnauthorized,
			script: []exchange{glListing(`[]`), {method: "POST", path: glMRs, status: http.StatusForbidden, resp: `{"message":"403 Forbidden"}`}}},
		{name: "404 project", spec: spec, err: errNotFound,
			script: []exchange{{method: "GET", path: glMRs, status: http.StatusNotFound, resp: `{"message":"404 Project Not Found"}`}}},
	}
	runPRCases(t, cases, "Private-Token", testToken, newGitLabTest)
}

func TestGitLabSetStatus(t *testing.T) {
	const sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	const path = "/api/v4/projects/net%2Fdc%2Ffab/statuses/" + sha
	resp := func(state string) string {
		return fmt.Sprintf(`{"id":93,"sha":%q,"ref":"fabsync/dc1","status":%q,"name":"fabsync/dc1","target_url":"https://fabsync.example.com/jobs/1","description":"d","created_at":"2025-01-02T03:04:05.000Z","started_at":null,"finished_at":null,"allow_failure":false,"coverage":null,"author":{"id":1,"username":"fabsync-bot"}}`, sha, state)
	}
	st := func(state, desc string) tasks.CommitStatus {
		return tasks.CommitStatus{Commit: sha, State: state, Description: desc, TargetURL: "https://fabsync.example.com/jobs/1", Context: "fabsync/dc1"}
	}
	x := func(glState, desc string) exchange {
		return exchange{method: "POST", path: path, status: http.StatusCreated, resp: resp(glState),
			body: map[string]any{"state": glState, "name": "fabsync/dc1", "description": desc, "target_url": "https://fabsync.example.com/jobs/1"}}
	}
	transition := `{"message":"Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via \"enqueue\")"}`
	cases := []statusCase{
		{name: "success", st: st("success", "synced"), script: []exchange{x("success", "synced")}},
		{name: "failure is failed", st: st("failure", "push rejected"), script: []exchange{x("failed", "push rejected")}},
		{name: "pending, long description truncated", st: st("pending", long), script: []exchange{x("pending", truncate(long, 140))}},
		{name: "pending over pending is done", st: st("pending", "running"),
			script: []exchange{{method: "POST", path: path, status: http.StatusBadRequest, resp: transition}}},
		{name: "other 400 is an error", st: st("success", "synced"), err: errTransient,
			script: []exchange{{method: "POST", path: path, status: http.StatusBadRequest, resp: `{"message":{"target_url":["is blocked: Only allowed schemes are http, https"]}}`}}},
		{name: "401", st: st("success", "synced"), err: errUnauthorized,
			script: []exchange{{method: "POST", path: path, status: http.StatusUnauthorized, resp: `{"message":"401 Unauthorized"}`}}},
	}
	runStatusCases(t, cases, "Private-Token", testToken, newGitLabTest)
}
