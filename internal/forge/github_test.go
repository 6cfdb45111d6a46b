package forge

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/tasks"
)

// ghPR is a pull request as GitHub's REST API returns it (trimmed to the fields that
// matter): list answers carry merged_at, not merged.
func ghPR(number int, state, mergedAt, title, body string) string {
	m := "null"
	if mergedAt != "" {
		m = `"` + mergedAt + `"`
	}
	return fmt.Sprintf(`{"url":"https://api.github.com/repos/octo/fab/pulls/%[1]d","id":%[1]d000,"number":%[1]d,
"state":%[2]q,"locked":false,"title":%[4]q,"body":%[5]q,"user":{"login":"fabsync-bot","id":1},
"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","closed_at":null,"merged_at":%[3]s,
"html_url":"https://github.com/octo/fab/pull/%[1]d",
"head":{"label":"octo:fabsync/dc1","ref":"fabsync/dc1","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"},
"base":{"label":"octo:main","ref":"main","sha":"7638417db6d59f3c431d3e1f261cc637155684cd"}}`, number, state, m, title, body)
}

const ghPulls = "/api/v3/repos/octo/fab/pulls"

var ghList = exchange{method: "GET", path: ghPulls,
	query: map[string]any{"state": "all", "head": "octo:fabsync/dc1", "base": "main", "sort": "created", "direction": "desc"}}

func ghListing(resp string) exchange { x := ghList; x.resp = resp; return x }

func newGitHubTest(t *testing.T, srvURL string) tasks.Forge {
	t.Helper()
	f, err := New(Config{Type: "github", Repo: "git@ghe.example.com:octo/fab.git", APIURL: srvURL + "/api/v3/", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGitHubEnsurePullRequest(t *testing.T) {
	created := ghPR(8, "open", "", spec.Title, spec.Body)
	createX := exchange{method: "POST", path: ghPulls, status: http.StatusCreated, resp: created,
		body: map[string]any{"title": spec.Title, "head": "fabsync/dc1", "base": "main", "body": spec.Body}}
	const secondaryDoc = "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	cases := []prCase{
		{name: "none: create", spec: spec,
			script: []exchange{ghListing(`[]`), createX},
			want:   &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/8", Number: 8, State: "open", Created: true}},
		{name: "open: update title and body", spec: spec,
			script: []exchange{
				ghListing("[" + ghPR(7, "open", "", "old title", "old body") + "]"),
				{method: "PATCH", path: ghPulls + "/7", resp: ghPR(7, "open", "", spec.Title, spec.Body),
					body: map[string]any{"title": spec.Title, "body": spec.Body, "state": absent}},
			},
			want: &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/7", Number: 7, State: "open"}},
		{name: "open and unchanged: no update", spec: spec,
			script: []exchange{ghListing("[" + ghPR(7, "open", "", spec.Title, spec.Body) + "]")},
			want:   &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/7", Number: 7, State: "open"}},
		{name: "open one older than a closed one is the one", spec: spec,
			script: []exchange{ghListing("[" + ghPR(9, "closed", "", "x", "y") + "," + ghPR(7, "open", "", spec.Title, spec.Body) + "]")},
			want:   &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/7", Number: 7, State: "open"}},
		{name: "merged: returned, no new one", spec: spec,
			script: []exchange{ghListing("[" + ghPR(6, "closed", "2025-01-03T00:00:00Z", "t", "b") + "]")},
			want:   &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/6", Number: 6, State: "merged"}},
		{name: "merged, a new change (Reopen): a new one", spec: specR,
			script: []exchange{ghListing("[" + ghPR(6, "closed", "2025-01-03T00:00:00Z", "t", "b") + "]"), createX},
			want:   &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/8", Number: 8, State: "open", Created: true}},
		{name: "closed: returned as is", spec: spec,
			script: []exchange{ghListing("[" + ghPR(5, "closed", "", "t", "b") + "]")},
			want:   &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/5", Number: 5, State: "closed"}},
		{name: "closed with Reopen: reopened and updated", spec: specR,
			script: []exchange{
				ghListing("[" + ghPR(5, "closed", "", "t", "b") + "]"),
				{method: "PATCH", path: ghPulls + "/5", resp: ghPR(5, "open", "", spec.Title, spec.Body),
					body: map[string]any{"state": "open", "title": spec.Title, "body": spec.Body}},
			},
			want: &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/5", Number: 5, State: "open"}},
		{name: "closed with Reopen, branch force-pushed: new one", spec: specR,
			script: []exchange{
				ghListing("[" + ghPR(5, "closed", "", "t", "b") + "]"),
				{method: "PATCH", path: ghPulls + "/5", status: http.StatusUnprocessableEntity,
					resp: `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"state cannot be changed. The fabsync/dc1 branch has been force-pushed or recreated."}],"documentation_url":"https://docs.github.com/rest/pulls/pulls#update-a-pull-request"}`},
				createX,
			},
			want: &tasks.PullRequest{Provider: "github", URL: "https://github.com/octo/fab/pull/8", Number: 8, State: "open", Created: true}},
		{name: "primary rate limit: 403 with x-ratelimit-remaining 0", spec: spec, err: errRateLimit, minWait: 100 * time.Second, maxWait: 121 * time.Second,
			script: []exchange{{method: "GET", path: ghPulls, status: http.StatusForbidden,
				header: map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000", "X-RateLimit-Reset": resetIn(120 * time.Second), "X-RateLimit-Resource": "core"},
				resp:   `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`}}},
		{name: "secondary rate limit: 403 with retry-after", spec: spec, err: errRateLimit, minWait: 60 * time.Second, maxWait: 60 * time.Second,
			script: []exchange{{method: "GET", path: ghPulls, status: http.StatusForbidden,
				header: map[string]string{"Retry-After": "60"},
				resp:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"` + secondaryDoc + `"}`}}},
		{name: "secondary rate limit: 403 without headers waits a minute", spec: spec, err: errRateLimit, minWait: time.Minute, maxWait: time.Minute,
			script: []exchange{{method: "GET", path: ghPulls, status: http.StatusForbidden,
				resp: `{"message":"You have exceeded a secondary rate limit.","documentation_url":"` + secondaryDoc + `"}`}}},
		{name: "429 with retry-after", spec: spec, err: errRateLimit, minWait: 30 * time.Second, maxWait: 30 * time.Second,
			script: []exchange{ghListing(`[]`), {method: "POST", path: ghPulls, status: http.StatusTooManyRequests,
				header: map[string]string{"Retry-After": "30"},
				resp:   `{"message":"You have exceeded a secondary rate limit.","documentation_url":"` + secondaryDoc + `"}`}}},
		{name: "5xx is transient", spec: spec, err: errTransient,
			script: []exchange{{method: "GET", path: ghPulls, status: http.StatusBadGateway, resp: `{"message":"Server Error"}`}}},
		{name: "401 bad credentials", spec: spec, err: errUnauthorized,
			script: []exchange{{method: "GET", path: ghPulls, status: http.StatusUnauthorized,
				resp: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`}}},
		{name: "403 without rate-limit headers is unauthorized", spec: spec, err: errUnauthorized,
			script: []exchange{ghListing(`[]`), {method: "POST", path: ghPulls, status: http.StatusForbidden,
				header: map[string]string{"X-RateLimit-Remaining": "4999"},
				resp:   `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"403"}`}}},
		{name: "404 repository", spec: spec, err: errNotFound,
			script: []exchange{{method: "GET", path: ghPulls, status: http.StatusNotFound,
				resp: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/pulls/pulls#list-pull-requests","status":"404"}`}}},
		{name: "422 head branch missing", spec: spec, err: errNotFound,
			script: []exchange{ghListing(`[]`), {method: "POST", path: ghPulls, status: http.StatusUnprocessableEntity,
				resp: `{"message":"Validation Failed","errors":[{"resource":"PullRequest","field":"head","code":"invalid"}],"documentation_url":"https://docs.github.com/rest/pulls/pulls#create-a-pull-request","status":"422"}`}}},
	}
	runPRCases(t, cases, "Authorization", "Bearer "+testToken, newGitHubTest)
}

func TestGitHubSetStatus(t *testing.T) {
	const path = "/api/v3/repos/octo/fab/statuses/6dcb09b5b57875f334f61aebed695e2e4193db5e"
	status := func(state string) string {
		return fmt.Sprintf(`{"url":"https://api.github.com/repos/octo/fab/statuses/6dcb09b5","id":1,"state":%q,"description":"d","target_url":"https://fabsync.example.com/jobs/1","context":"fabsync/dc1","created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`, state)
	}
	st := func(state, desc string) tasks.CommitStatus {
		return tasks.CommitStatus{Commit: "6dcb09b5b57875f334f61aebed695e2e4193db5e", State: state, Description: desc,
			TargetURL: "https://fabsync.example.com/jobs/1", Context: "fabsync/dc1"}
	}
	x := func(state, desc string) exchange {
		return exchange{method: "POST", path: path, status: http.StatusCreated, resp: status(state),
			body: map[string]any{"state": state, "description": desc, "context": "fabsync/dc1", "target_url": "https://fabsync.example.com/jobs/1"}}
	}
	cases := []statusCase{
		{name: "success", st: st("success", "synced"), script: []exchange{x("success", "synced")}},
		{name: "failure", st: st("failure", "push rejected"), script: []exchange{x("failure", "push rejected")}},
		{name: "pending, long description truncated", st: st("pending", long), script: []exchange{x("pending", truncate(long, 140))}},
		{name: "unknown state", st: st("running", "x"), err: errTransient},
		{name: "401", st: st("success", "synced"), err: errUnauthorized,
			script: []exchange{{method: "POST", path: path, status: http.StatusUnauthorized, resp: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`}}},
		{name: "422 unknown commit", st: st("success", "synced"), err: errTransient,
			script: []exchange{{method: "POST", path: path, status: http.StatusUnprocessableEntity, resp: `{"message":"No commit found for SHA: 6dcb09b5b57875f334f61aebed695e2e4193db5e","documentation_url":"https://docs.github.com/rest/commits/statuses#create-a-commit-status"}`}}},
	}
	runStatusCases(t, cases, "Authorization", "Bearer "+testToken, newGitHubTest)
}
