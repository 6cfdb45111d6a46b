package server

import "net/http"

// giteaForge: Gitea's and Forgejo's push webhook (type "Gitea" or "Forgejo"; the payload is
// GitHub's shape). The body is signed with HMAC-SHA256 as bare hex in X-Gitea-Signature, which
// Forgejo also sends as X-Forgejo-Signature; the event is in X-Gitea-Event (X-Forgejo-Event)
// and the delivery's ID in X-Gitea-Delivery (X-Forgejo-Delivery). Neither forge has a ping: its
// "Test delivery" sends a push of the branch's last commit.
var giteaForge = &forge{
	name:     "Gitea",
	setting:  "FABSYNC_GITEA_WEBHOOK_SECRET",
	proof:    "X-Gitea-Signature",
	idSpace:  "gitea:",
	delivery: []string{"X-Forgejo-Delivery", "X-Gitea-Delivery"},
	verify: func(secret string, h http.Header, body []byte) bool {
		return validHMAC(secret, body, firstHeader(h, []string{"X-Forgejo-Signature", "X-Gitea-Signature"}))
	},
	event: func(h http.Header) eventKind {
		return hubEvent(firstHeader(h, []string{"X-Forgejo-Event", "X-Gitea-Event"}))
	},
	parse: parseHubPush,
}
