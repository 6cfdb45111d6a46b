package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
)

// maxWebhookBody caps a webhook delivery, from any forge (GitHub caps payloads at 25 MB; a push
// that large touches far more than a fabric).
const maxWebhookBody = 5 << 20

// webhookPrefix begins the path of every webhook route (routes.go): each is capped by
// maxWebhookBody in its handler instead of by the server's body limit.
const webhookPrefix = "/api/v1/webhooks/"

// forge is what one kind of webhook sender adds to the shared handler (webhook): how a
// delivery proves it knows the secret, what kind of event it is, and how its push payload
// reads. Everything else (the body cap, the replay guard, matching fabrics, triggering jobs and
// the answers) is the same for every forge.
type forge struct {
	name    string // "GitHub", in messages
	setting string // the variable of the route's secret, named when the route is disabled
	proof   string // the header that carries the signature or token, named when it is wrong
	// idSpace sets the forge's delivery IDs apart from the other forges' in the replay guard
	// ("" for GitHub, whose IDs were recorded bare before there were other forges).
	idSpace string
	// delivery lists the headers that may carry the delivery's ID, the first one set wins;
	// none: the forge sends no ID and only the body identifies a delivery.
	delivery []string
	// verify reports whether the request proves knowledge of secret, in constant time.
	verify func(secret string, h http.Header, body []byte) bool
	// event says what kind of event a delivery is, from its headers.
	event func(h http.Header) eventKind
	// parse reads a push payload; an error is a message for the sender (400).
	parse func(body []byte) (pushEvent, error)
}

// eventKind is what a delivery asks for.
type eventKind int

const (
	eventOther eventKind = iota // anything else: 204
	eventPing                   // the forge testing the hook: 200 "pong"
	eventPush                   // a push: maybe jobs
)

// pushEvent is a push delivery as every forge's payload reduces to it.
type pushEvent struct {
	// repos are the repository's addresses as the forge gave them (https, ssh, web page); a
	// fabric matches when its repo is one of them in any form (repoKey).
	repos []string
	// branches are the branches the push updated; none (a tag, a deleted branch): nothing to do.
	branches []string
	// paths are the files the push added or modified, relative to the repository's root.
	paths []string
	// anyPath: the payload does not list every changed file (Bitbucket lists none, GitLab and
	// Gitea cut long pushes short, the generic body may leave paths out), so every fabric of
	// the repository and branch matches, whatever paths says.
	anyPath bool
	// delivery is the delivery's ID, "" when the forge sent none.
	delivery string
}

// webhookResponse is the answer to a push delivery, the same from every forge's route.
type webhookResponse struct {
	Jobs    []*tasks.Job `json:"jobs"`
	Message string       `json:"message"`
}

// webhook handles the deliveries of one forge (SPEC §4): the body is capped, then verified
// against secret (an empty secret disables the route: 401), then a ping answers 200, an event
// other than a push 204, and a push is parsed and starts a job (trigger webhook) for each fabric
// whose repository and branch match and whose raw/ got new or changed files (202; 200 when none
// did). A push delivery seen in the last 24 h (firstDelivery) answers 200 and starts no job.
func (s *server) webhook(f *forge, secret string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if secret == "" {
			return &apiError{http.StatusUnauthorized, "webhook_disabled", f.name + " webhooks are disabled: the server has no " + f.setting}
		}
		req := c.Request()
		body, err := io.ReadAll(io.LimitReader(req.Body, maxWebhookBody+1))
		if err != nil {
			return &apiError{http.StatusBadRequest, "bad_request", "could not read the request body"}
		}
		if len(body) > maxWebhookBody {
			return &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "webhook payload exceeds 5 MiB"}
		}
		if !f.verify(secret, req.Header, body) {
			return &apiError{http.StatusUnauthorized, "bad_signature", "missing or invalid " + f.proof}
		}
		switch f.event(req.Header) {
		case eventPing:
			return c.JSON(http.StatusOK, map[string]string{"message": "pong"})
		case eventPush:
		default:
			return c.NoContent(http.StatusNoContent)
		}
		ev, err := f.parse(body)
		if err != nil {
			return &apiError{http.StatusBadRequest, "bad_request", f.name + " push payload: " + err.Error()}
		}
		ev.delivery = firstHeader(req.Header, f.delivery)
		// Only now, with the signature checked: an unsigned request must not use up an ID.
		keys := deliveryKeys(f.deliveryID(ev.delivery), body)
		first, err := s.firstDelivery(req.Context(), keys)
		if err != nil {
			return err
		}
		if !first {
			return c.JSON(http.StatusOK, webhookResponse{Jobs: []*tasks.Job{}, Message: "delivery already handled"})
		}
		if len(ev.branches) == 0 {
			return c.JSON(http.StatusOK, webhookResponse{Jobs: []*tasks.Job{}, Message: "not a branch update: nothing to do"})
		}
		resp := webhookResponse{Jobs: []*tasks.Job{}}
		for _, fb := range matchingFabrics(s.fabrics.Fabrics(), ev) {
			j, _, err := s.svc.Trigger(req.Context(), fb.Name, tasks.TriggerWebhook)
			if err != nil {
				// Not handled after all: let the forge's redelivery (same ID, same body) try again.
				return errors.Join(err, s.svc.ForgetDelivery(context.WithoutCancel(req.Context()), keys...))
			}
			resp.Jobs = append(resp.Jobs, j)
		}
		if len(resp.Jobs) == 0 {
			resp.Message = "no fabric's raw/ changed on this repository and branch"
			return c.JSON(http.StatusOK, resp)
		}
		resp.Message = "sync triggered"
		return c.JSON(http.StatusAccepted, resp)
	}
}

// deliveryID is the name the replay guard knows the forge's delivery ID by; "" for none.
func (f *forge) deliveryID(id string) string {
	if id == "" {
		return ""
	}
	return f.idSpace + id
}

// matchingFabrics are the fabrics a push concerns: same repository (in any of its forms), a
// branch the push updated, and new or changed files in the fabric's raw/ (or a push that does
// not list its files).
func matchingFabrics(fabrics []config.Fabric, ev pushEvent) []config.Fabric {
	repos := map[string]bool{}
	for _, u := range ev.repos {
		if k := repoKey(u); k != "" {
			repos[k] = true
		}
	}
	var out []config.Fabric
	for _, f := range fabrics {
		if !slices.Contains(ev.branches, f.Branch) || !repos[repoKey(f.Repo)] || !ev.anyPath && !touchesRaw(f, ev.paths) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// firstHeader is the first of the named headers that is set, or "".
func firstHeader(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// deliveryTTL is how long a push delivery is remembered, so that a replay of it starts no job.
const deliveryTTL = 24 * time.Hour

// firstDelivery records a signed push delivery by its keys (deliveryKeys) and reports whether
// it is new. It is known by its delivery ID and also by its body: the signature covers the body
// only, so a captured delivery replayed under another ID (or none) is caught by the body. Two
// real pushes never have the same body on a forge (each names the commit it pushed); a generic
// sender must make its bodies differ too (docs/API.md).
func (s *server) firstDelivery(ctx context.Context, keys []string) (bool, error) {
	for _, k := range keys {
		if first, err := s.svc.FirstDelivery(ctx, k, deliveryTTL); err != nil || !first {
			return false, err
		}
	}
	return true, nil
}

// deliveryKeys are the names a delivery is remembered by: its ID (if any) and its body's hash.
func deliveryKeys(id string, body []byte) []string {
	sum := sha256.Sum256(body)
	keys := []string{"body:sha256:" + hex.EncodeToString(sum[:])}
	if id != "" {
		keys = append([]string{"id:" + id}, keys...)
	}
	return keys
}

// validSignature checks a "sha256=<hex hmac>" header (GitHub's, Bitbucket's and the generic
// receiver's) in constant time.
func validSignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	return ok && validHMAC(secret, body, hexSig)
}

// validHMAC checks a bare hex HMAC-SHA256 of body (Gitea's and Forgejo's) in constant time.
func validHMAC(secret string, body []byte, hexSig string) bool {
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// validToken compares a shared token (GitLab's) with secret in constant time, their lengths
// included: it compares their hashes.
func validToken(secret, token string) bool {
	if token == "" {
		return false
	}
	want, got := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(token))
	return hmac.Equal(want[:], got[:])
}

// branchOf is the branch a "refs/heads/<branch>" ref names; none for another ref (a tag) or a
// deletion (the new commit all zeros).
func branchOf(ref, after string, deleted bool) []string {
	branch, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok || branch == "" || deleted || after != "" && strings.Trim(after, "0") == "" {
		return nil
	}
	return []string{branch}
}

// repoKey reduces the forms of one repository address to "host/owner/repo" in lower case:
// https://github.com/Org/Repo(.git), git@github.com:Org/Repo.git, ssh://git@github.com/Org/Repo.
func repoKey(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	var host, p string
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		host, p = u.Hostname(), u.Path
	} else if at := strings.Index(raw, "@"); at >= 0 && strings.Contains(raw[at:], ":") {
		hostPath := raw[at+1:]
		host, p, _ = strings.Cut(hostPath, ":")
	} else {
		return "" // a local path never matches a webhook
	}
	p = strings.TrimSuffix(strings.Trim(path.Clean("/"+p), "/"), ".git")
	return strings.ToLower(host + "/" + p)
}

// touchesRaw reports whether any added or modified file lies in the fabric's raw/ (removals
// alone — such as fabsync's own archiving commits — need no sync).
func touchesRaw(f config.Fabric, files []string) bool {
	prefix := "raw/"
	if f.Path != "." {
		prefix = f.Path + "/raw/"
	}
	for _, name := range files {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
