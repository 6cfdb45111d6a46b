package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
)

// maxWebhookBody caps a webhook delivery (GitHub caps payloads at 25 MB; a push that large
// touches far more than a fabric).
const maxWebhookBody = 5 << 20

// pushEvent is the part of GitHub's push payload fabsync reads.
type pushEvent struct {
	Ref        string `json:"ref"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
	Commits []struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
	} `json:"commits"`
	HeadCommit *struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
	} `json:"head_commit"`
}

type webhookResponse struct {
	Jobs    []*tasks.Job `json:"jobs"`
	Message string       `json:"message"`
}

// githubWebhook handles GitHub deliveries (SPEC §4): ping → 200; push → a job (trigger webhook)
// for each fabric whose repository and branch match and whose raw/ got new or changed files;
// any other event → 204. A push delivery seen in the last 24 h (firstDelivery) answers 200 and
// starts no job.
func (s *server) githubWebhook(secret string) echo.HandlerFunc {
	return func(c echo.Context) error {
		if secret == "" {
			return &apiError{http.StatusUnauthorized, "webhook_disabled", "webhooks are disabled: the server has no FABSYNC_WEBHOOK_SECRET"}
		}
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBody+1))
		if err != nil {
			return &apiError{http.StatusBadRequest, "bad_request", "could not read the request body"}
		}
		if len(body) > maxWebhookBody {
			return &apiError{http.StatusRequestEntityTooLarge, "body_too_large", "webhook payload exceeds 5 MiB"}
		}
		if !validSignature(secret, body, c.Request().Header.Get("X-Hub-Signature-256")) {
			return &apiError{http.StatusUnauthorized, "bad_signature", "missing or invalid X-Hub-Signature-256"}
		}
		switch c.Request().Header.Get("X-GitHub-Event") {
		case "ping":
			return c.JSON(http.StatusOK, map[string]string{"message": "pong"})
		case "push":
		default:
			return c.NoContent(http.StatusNoContent)
		}
		// Only now, with the signature checked: an unsigned request must not use up an ID.
		first, err := s.firstDelivery(c.Request().Context(), c.Request().Header.Get("X-GitHub-Delivery"), body)
		if err != nil {
			return err
		}
		if !first {
			return c.JSON(http.StatusOK, webhookResponse{Jobs: []*tasks.Job{}, Message: "delivery already handled"})
		}
		var ev pushEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			return &apiError{http.StatusBadRequest, "bad_request", "push payload is not valid JSON"}
		}
		branch, ok := strings.CutPrefix(ev.Ref, "refs/heads/")
		if !ok || ev.Deleted {
			return c.JSON(http.StatusOK, webhookResponse{Jobs: []*tasks.Job{}, Message: "not a branch update: nothing to do"})
		}
		repos := map[string]bool{}
		for _, u := range []string{ev.Repository.CloneURL, ev.Repository.SSHURL, ev.Repository.HTMLURL} {
			if k := repoKey(u); k != "" {
				repos[k] = true
			}
		}
		var touched []string
		for _, cm := range ev.Commits {
			touched = append(append(touched, cm.Added...), cm.Modified...)
		}
		if ev.HeadCommit != nil {
			touched = append(append(touched, ev.HeadCommit.Added...), ev.HeadCommit.Modified...)
		}
		resp := webhookResponse{Jobs: []*tasks.Job{}}
		for _, f := range s.fabrics.Fabrics() {
			if f.Branch != branch || !repos[repoKey(f.Repo)] || !touchesRaw(f, touched) {
				continue
			}
			j, _, err := s.svc.Trigger(c.Request().Context(), f.Name, tasks.TriggerWebhook)
			if err != nil {
				// Not handled after all: let GitHub's "Redeliver" (same ID, same body) try again.
				ids := deliveryKeys(c.Request().Header.Get("X-GitHub-Delivery"), body)
				return errors.Join(err, s.svc.ForgetDelivery(context.WithoutCancel(c.Request().Context()), ids...))
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

// deliveryTTL is how long a push delivery is remembered, so that a replay of it starts no job.
const deliveryTTL = 24 * time.Hour

// firstDelivery records a signed push delivery and reports whether it is new. It is known by
// its X-GitHub-Delivery ID and also by its body: the signature covers the body only, so a
// captured delivery replayed under another ID (or none) is caught by the body. Two real pushes
// never have the same body (each names the commit it pushed).
func (s *server) firstDelivery(ctx context.Context, id string, body []byte) (bool, error) {
	for _, k := range deliveryKeys(id, body) {
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

// validSignature checks GitHub's "sha256=<hex hmac>" header in constant time.
func validSignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
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
