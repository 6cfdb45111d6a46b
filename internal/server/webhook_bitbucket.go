package server

import (
	"encoding/json"
	"errors"
	"net/http"
)

// bitbucketForge: Bitbucket Cloud's push webhook ("Repository: Push", event key repo:push). The
// body is signed with HMAC-SHA256 in X-Hub-Signature ("sha256=<hex>"), the event is in
// X-Event-Key and the delivery's ID in X-Request-UUID. Bitbucket's push payload lists no files:
// a push starts a job for every fabric of the repository and branch. diagnostics:ping (Bitbucket
// Data Center's "Test connection") answers 200.
var bitbucketForge = &forge{
	name:     "Bitbucket",
	setting:  "FABSYNC_BITBUCKET_WEBHOOK_SECRET",
	proof:    "X-Hub-Signature",
	idSpace:  "bitbucket:",
	delivery: []string{"X-Request-UUID"},
	verify: func(secret string, h http.Header, body []byte) bool {
		return validSignature(secret, body, h.Get("X-Hub-Signature"))
	},
	event: func(h http.Header) eventKind {
		switch h.Get("X-Event-Key") {
		case "repo:push":
			return eventPush
		case "diagnostics:ping":
			return eventPing
		}
		return eventOther
	},
	parse: parseBitbucketPush,
}

// bitbucketPush is the part of Bitbucket Cloud's repo:push payload fabsync reads.
type bitbucketPush struct {
	Repository struct {
		Links struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"repository"`
	Push struct {
		Changes []struct {
			New *struct { // null when the push deleted the branch or tag
				Type string `json:"type"` // "branch", "tag", …
				Name string `json:"name"`
			} `json:"new"`
		} `json:"changes"`
	} `json:"push"`
}

// parseBitbucketPush reads a Bitbucket Cloud repo:push payload: one push may update several
// branches.
func parseBitbucketPush(body []byte) (pushEvent, error) {
	var p bitbucketPush
	if err := json.Unmarshal(body, &p); err != nil {
		return pushEvent{}, errors.New("not valid JSON")
	}
	ev := pushEvent{repos: []string{p.Repository.Links.HTML.Href}, anyPath: true}
	for _, c := range p.Push.Changes {
		if c.New != nil && c.New.Type == "branch" && c.New.Name != "" {
			ev.branches = append(ev.branches, c.New.Name)
		}
	}
	return ev, nil
}
