package forge

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/tasks"
)

// gtPR is a pull request as Gitea's (and Forgejo's) API v1 returns it (trimmed); headRepo is
// the head branch's repository ID (7 is this repository).
func gtPR(index int, state string, merged bool, title, body string, headRepo int) string {
	mergedAt := "null"
	if merged {
		mergedAt = `"2025-01-03T00:00:00Z"`
	}
	return fmt.Sprintf(`{"id":%[1]d00,"url":"https://gitea.example.com/octo/fab/pulls/%[1]d","number":%[1]d,
"user":{"id":1,"login":"fabsync-bot"},"title":%[4]q,"body":%[5]q,"labels":[],"milestone":null,"assignees":null,
"state":%[2]q,"is_locked":false,"comments":0,"html_url":"https://gitea.example.com/octo/fab/pulls/%[1]d",
"diff_url":"https://gitea.example.com/octo/fab/pulls/%[1]d.diff","patch_url":"https://gitea.example.com/octo/fab/pulls/%[1]d.patch",
"mergeable":true,"merged":%[3]t,"merged_at":%[6]s,"merge_commit_sha":null,"merged_by":null,
"base":{"label":"main","ref":"main","sha":"7638417db6d59f3c431d3e1f261cc637155684cd","repo_id":7},
"head":{"label":"fabsync/dc1","ref":"fabsync/dc1","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","repo_id":%[7]d},
"merge_base":"7638417db6d59f3c431d3e1f261cc637155684cd","due_date":null,
"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","closed_at":null}`,
		index, state, merged, title, body, mergedAt, headRepo)
}

const gtPulls = "/api/v1/repos/octo/fab/pulls"

func gtListing(state, resp string) exchange {
	return exchange{method: "GET", path: gtPulls, resp: resp,
		query: map[string]any{"state": state, "page": "1", "limit": "50"}}
}

func gtURL(n int) string { return fmt.Sprintf("https://gitea.example.com/octo/fab/pulls/%d", n) }

func newGiteaTest(t *testing.T, srvURL string) tasks.Forge {
	t.Helper()
	f, err := New(Config{Type: "forgejo", Repo: "https://gitea.example.com/octo/fab.git", APIURL: srvURL + "/api/v1", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestGiteaEnsurePullRequest(t *testing.T) {
	apiErr := func(msg string) string {
		return fmt.Sprintf(`{"message":%q,"url":"https://gitea.example.com/api/swagger"}`, msg)
	}
	cases := []prCase{
		{name: "none: create", spec: spec,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", `[]`),
				{method: "POST", path: gtPulls, status: http.StatusCreated, resp: gtPR(4, "open", false, spec.Title, spec.Body, 7),
					body: map[string]any{"head": "fabsync/dc1", "base": "main", "title": spec.Title, "body": spec.Body}}},
			want: &tasks.PullRequest{Provider: "gitea", URL: gtURL(4), Number: 4, State: "open", Created: true}},
		{name: "open from a fork is not ours: create", spec: spec,
			script: []exchange{gtListing("open", "["+gtPR(3, "open", false, "fork", "x", 9)+"]"), gtListing("closed", `[]`),
				{method: "POST", path: gtPulls, status: http.StatusCreated, resp: gtPR(4, "open", false, spec.Title, spec.Body, 7),
					body: map[string]any{"head": "fabsync/dc1", "base": "main"}}},
			want: &tasks.PullRequest{Provider: "gitea", URL: gtURL(4), Number: 4, State: "open", Created: true}},
		{name: "open: update title and body", spec: spec,
			script: []exchange{gtListing("open", "["+gtPR(3, "open", false, "old", "old", 7)+"]"),
				{method: "PATCH", path: gtPulls + "/3", status: http.StatusCreated, resp: gtPR(3, "open", false, spec.Title, spec.Body, 7),
					body: map[string]any{"title": spec.Title, "body": spec.Body, "state": absent}}},
			want: &tasks.PullRequest{Provider: "gitea", URL: gtURL(3), Number: 3, State: "open"}},
		{name: "open and unchanged: no update", spec: spec,
			script: []exchange{gtListing("open", "["+gtPR(3, "open", false, spec.Title, spec.Body, 7)+"]")},
			want:   &tasks.PullRequest{Provider: "gitea", URL: gtURL(3), Number: 3, State: "open"}},
		{name: "merged: returned, no new one", spec: spec,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", "["+gtPR(2, "closed", true, "t", "b", 7)+"]")},
			want:   &tasks.PullRequest{Provider: "gitea", URL: gtURL(2), Number: 2, State: "merged"}},
		{name: "merged, a new change (Reopen): a new one", spec: specR,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", "["+gtPR(2, "closed", true, "t", "b", 7)+"]"),
				{method: "POST", path: gtPulls, status: http.StatusCreated, resp: gtPR(4, "open", false, spec.Title, spec.Body, 7),
					body: map[string]any{"head": "fabsync/dc1", "base": "main", "title": spec.Title, "body": spec.Body}}},
			want: &tasks.PullRequest{Provider: "gitea", URL: gtURL(4), Number: 4, State: "open", Created: true}},
		{name: "closed: returned as is", spec: spec,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", "["+gtPR(2, "closed", false, "t", "b", 7)+"]")},
			want:   &tasks.PullRequest{Provider: "gitea", URL: gtURL(2), Number: 2, State: "closed"}},
		{name: "closed with Reopen: reopened and updated", spec: specR,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", "["+gtPR(2, "closed", false, "t", "b", 7)+"]"),
				{method: "PATCH", path: gtPulls + "/2", status: http.StatusCreated, resp: gtPR(2, "open", false, spec.Title, spec.Body, 7),
					body: map[string]any{"title": spec.Title, "body": spec.Body, "state": "open"}}},
			want: &tasks.PullRequest{Provider: "gitea", URL: gtURL(2), Number: 2, State: "open"}},
		{name: "429 with retry-after", spec: spec, err: errRateLimit, minWait: 20 * time.Second, maxWait: 20 * time.Second,
			script: []exchange{{method: "GET", path: gtPulls, status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "20"}, resp: apiErr("too many requests")}}},
		{name: "5xx is transient", spec: spec, err: errTransient,
			script: []exchange{{method: "GET", path: gtPulls, status: http.StatusServiceUnavailable, resp: apiErr("service unavailable")}}},
		{name: "401", spec: spec, err: errUnauthorized,
			script: []exchange{{method: "GET", path: gtPulls, status: http.StatusUnauthorized, resp: apiErr("invalid username, password or token")}}},
		{name: "403 missing scope", spec: spec, err: errUnauthorized,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", `[]`),
				{method: "POST", path: gtPulls, status: http.StatusForbidden, resp: apiErr("token does not have at least one of required scope(s), required=[write:repository]")}}},
		{name: "404 head branch", spec: spec, err: errNotFound,
			script: []exchange{gtListing("open", `[]`), gtListing("closed", `[]`),
				{method: "POST", path: gtPulls, status: http.StatusNotFound, resp: `{"errors":["head branch fabsync/dc1 does not exist"],"message":"The target couldn't be found.","url":"https://gitea.example.com/api/swagger"}`}}},
	}
	runPRCases(t, cases, "Authorization", "token "+testToken, newGiteaTest)
}

func TestGiteaSetStatus(t *testing.T) {
	const sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	const path = "/api/v1/repos/octo/fab/statuses/" + sha
	resp := func(state string) string {
		return fmt.Sprintf(`{"id":1,"status":%q,"target_url":"https://fabsync.example.com/jobs/1","description":"d","url":"https://gitea.example.com/api/v1/repos/octo/fab/statuses/%s","context":"fabsync/dc1","creator":{"id":1,"login":"fabsync-bot"},"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}`, state, sha)
	}
	st := func(state, desc string) tasks.CommitStatus {
		return tasks.CommitStatus{Commit: sha, State: state, Description: desc, TargetURL: "https://fabsync.example.com/jobs/1", Context: "fabsync/dc1"}
	}
	x := func(state, desc string) exchange {
		return exchange{method: "POST", path: path, status: http.StatusCreated, resp: resp(state),
			body: map[string]any{"state": state, "context": "fabsync/dc1", "description": desc, "target_url": "https://fabsync.example.com/jobs/1"}}
	}
	cases := []statusCase{
		{name: "success", st: st("success", "synced"), script: []exchange{x("success", "synced")}},
		{name: "failure", st: st("failure", "push rejected"), script: []exchange{x("failure", "push rejected")}},
		{name: "pending, long description truncated", st: st("pending", long), script: []exchange{x("pending", truncate(long, 140))}},
		{name: "401", st: st("success", "synced"), err: errUnauthorized,
			script: []exchange{{method: "POST", path: path, status: http.StatusUnauthorized, resp: `{"message":"invalid username, password or token","url":"https://gitea.example.com/api/swagger"}`}}},
	}
	runStatusCases(t, cases, "Authorization", "token "+testToken, newGiteaTest)
}
