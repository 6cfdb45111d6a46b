package server

import (
	"encoding/json"
	"errors"
	"net/http"
)

// githubForge: GitHub's push webhook (and GitHub Enterprise's). The body is signed with
// HMAC-SHA256 in X-Hub-Signature-256 ("sha256=<hex>"), the event is in X-GitHub-Event and the
// delivery's ID in X-GitHub-Delivery.
var githubForge = &forge{
	name:     "GitHub",
	setting:  "FABSYNC_WEBHOOK_SECRET",
	proof:    "X-Hub-Signature-256",
	delivery: []string{"X-GitHub-Delivery"},
	verify: func(secret string, h http.Header, body []byte) bool {
		return validSignature(secret, body, h.Get("X-Hub-Signature-256"))
	},
	event: func(h http.Header) eventKind { return hubEvent(h.Get("X-GitHub-Event")) },
	parse: parseHubPush,
}

// hubEvent classifies the event names of GitHub and Gitea.
func hubEvent(name string) eventKind {
	switch name {
	case "ping":
		return eventPing
	case "push":
		return eventPush
	}
	return eventOther
}

// hubPush is the part of a GitHub push payload fabsync reads; Gitea's and Forgejo's have the
// same shape (and total_commits).
type hubPush struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
	Commits      []hubCommit `json:"commits"`
	HeadCommit   *hubCommit  `json:"head_commit"`
	TotalCommits int         `json:"total_commits"` // Gitea: more than len(Commits) when the list was cut short
}

type hubCommit struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
}

// parseHubPush reads a GitHub, Gitea or Forgejo push payload.
func parseHubPush(body []byte) (pushEvent, error) {
	var p hubPush
	if err := json.Unmarshal(body, &p); err != nil {
		return pushEvent{}, errors.New("not valid JSON")
	}
	ev := pushEvent{
		repos:    []string{p.Repository.CloneURL, p.Repository.SSHURL, p.Repository.HTMLURL},
		branches: branchOf(p.Ref, p.After, p.Deleted),
		anyPath:  p.TotalCommits > len(p.Commits),
	}
	for _, c := range p.Commits {
		ev.paths = append(append(ev.paths, c.Added...), c.Modified...)
	}
	if p.HeadCommit != nil {
		ev.paths = append(append(ev.paths, p.HeadCommit.Added...), p.HeadCommit.Modified...)
	}
	return ev, nil
}
