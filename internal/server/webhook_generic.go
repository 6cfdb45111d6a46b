package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// genericForge: fabsync's own webhook, for any forge or CI job that can sign a request. The
// body is signed with HMAC-SHA256 in X-Fabsync-Signature-256 ("sha256=<hex>"), like GitHub's.
// X-Fabsync-Event is "push" or absent for a push and "ping" for a test; X-Fabsync-Delivery may
// carry an ID. The body is genericPush.
var genericForge = &forge{
	name:     "generic",
	setting:  "FABSYNC_GENERIC_WEBHOOK_SECRET",
	proof:    "X-Fabsync-Signature-256",
	idSpace:  "generic:",
	delivery: []string{"X-Fabsync-Delivery"},
	verify: func(secret string, h http.Header, body []byte) bool {
		return validSignature(secret, body, h.Get("X-Fabsync-Signature-256"))
	},
	event: func(h http.Header) eventKind {
		switch h.Get("X-Fabsync-Event") {
		case "", "push":
			return eventPush
		case "ping":
			return eventPing
		}
		return eventOther
	},
	parse: parseGenericPush,
}

// genericPush is the generic webhook's body.
type genericPush struct {
	Repo   string `json:"repo"`   // the repository's git URL, https or ssh
	Branch string `json:"branch"` // "main" or "refs/heads/main"
	// Paths are the files the push added or modified. Absent (or null): something changed,
	// every fabric of the repository and branch matches; [] means nothing did.
	Paths []string `json:"paths"`
}

// parseGenericPush reads the generic webhook's body.
func parseGenericPush(body []byte) (pushEvent, error) {
	var p genericPush
	if err := json.Unmarshal(body, &p); err != nil {
		return pushEvent{}, errors.New(`not valid JSON: want {"repo": "<git URL>", "branch": "<branch>", "paths": [...]}`)
	}
	if repoKey(p.Repo) == "" {
		return pushEvent{}, errors.New(`"repo" must be a repository's https or ssh URL`)
	}
	branch := strings.TrimPrefix(p.Branch, "refs/heads/")
	if branch == "" {
		return pushEvent{}, errors.New(`"branch" is required`)
	}
	return pushEvent{repos: []string{p.Repo}, branches: []string{branch}, paths: p.Paths, anyPath: p.Paths == nil}, nil
}
