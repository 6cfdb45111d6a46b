package server

import (
	"encoding/json"
	"errors"
	"net/http"
)

// gitlabForge: GitLab's push webhook ("Push events"). GitLab signs nothing: it sends the hook's
// secret token itself in X-Gitlab-Token, compared in constant time. The event is in
// X-Gitlab-Event ("Push Hook") and the delivery's ID in X-Gitlab-Event-UUID. GitLab has no
// ping: its "Test" button sends a push of the branch's last commits.
var gitlabForge = &forge{
	name:     "GitLab",
	setting:  "FABSYNC_GITLAB_WEBHOOK_TOKEN",
	proof:    "X-Gitlab-Token",
	idSpace:  "gitlab:",
	delivery: []string{"X-Gitlab-Event-UUID"},
	verify: func(secret string, h http.Header, _ []byte) bool {
		return validToken(secret, h.Get("X-Gitlab-Token"))
	},
	event: func(h http.Header) eventKind {
		if h.Get("X-Gitlab-Event") == "Push Hook" {
			return eventPush
		}
		return eventOther
	},
	parse: parseGitLabPush,
}

// gitlabPush is the part of GitLab's push payload fabsync reads.
type gitlabPush struct {
	Ref     string `json:"ref"`
	After   string `json:"after"`
	Project struct {
		WebURL     string `json:"web_url"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
	} `json:"project"`
	Commits []struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
	} `json:"commits"`
	// TotalCommitsCount is more than len(Commits) when GitLab cut the list short (it sends the
	// last 20).
	TotalCommitsCount int `json:"total_commits_count"`
}

// parseGitLabPush reads a GitLab push payload.
func parseGitLabPush(body []byte) (pushEvent, error) {
	var p gitlabPush
	if err := json.Unmarshal(body, &p); err != nil {
		return pushEvent{}, errors.New("not valid JSON")
	}
	ev := pushEvent{
		repos:    []string{p.Project.GitHTTPURL, p.Project.GitSSHURL, p.Project.WebURL},
		branches: branchOf(p.Ref, p.After, false),
		anyPath:  p.TotalCommitsCount > len(p.Commits),
	}
	for _, c := range p.Commits {
		ev.paths = append(append(ev.paths, c.Added...), c.Modified...)
	}
	return ev, nil
}
