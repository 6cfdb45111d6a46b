// Package forge talks to the forges that host fabric repositories (GitHub, GitHub
// Enterprise, GitLab, Gitea and Forgejo) through their HTTP APIs. New returns a
// tasks.Forge bound to one repository: it opens or updates the fabric's pull request
// (merge request on GitLab) and sets commit statuses.
//
// Errors callers may branch on, with errors.Is and errors.As:
//   - ErrUnknownForge (which wraps tasks.ErrNoForge): the forge type is unknown or cannot be
//     inferred from the repository URL.
//   - ErrUnauthorized: the forge rejected the credentials (401, or a 403 that is not a rate
//     limit). Permanent.
//   - ErrNotFound: the repository or a branch does not exist, or the token cannot see it.
//     Permanent.
//   - *RateLimitError: the forge rate-limited the request (429, or 403 with rate-limit
//     headers); RetryAfter says how long to wait. Transient.
//
// Any other error (5xx, a network failure, an unexpected answer) is transient. Tokens
// never appear in errors.
package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fabsync/fabsync/internal/tasks"
)

// Forge types accepted in Config.Type. "forgejo" is an alias of TypeGitea.
const (
	TypeGitHub = "github"
	TypeGitLab = "gitlab"
	TypeGitea  = "gitea"
)

// Config says which repository a forge client works on and how it authenticates.
type Config struct {
	// Type is "github" (GitHub and GitHub Enterprise), "gitlab", "gitea" or "forgejo" (an
	// alias of "gitea"). "" infers it from Repo's host (see Infer); other hosts then fail with
	// ErrUnknownForge.
	Type string
	// APIURL is the forge's API root, such as https://api.github.com/,
	// https://ghe.example.com/api/v3/, https://gitlab.example.com/api/v4 or
	// https://gitea.example.com/api/v1. "" derives it from Repo: the public forges' API for
	// github.com, gitlab.com and codeberg.org, else the type's usual path on Repo's host.
	APIURL string
	// Repo is the repository's git URL: https://, http://, ssh:// or scp-like
	// git@host:owner/repo.git. Credentials in it are ignored.
	Repo string
	// Token authenticates API requests (a personal, project or installation access token).
	Token string
	// TokenSource, when set, is called for a token before each request and wins over Token
	// (GitHub App installation tokens: see NewAppTokenSource).
	TokenSource func(ctx context.Context) (string, error)
	// HTTPClient sends the requests. nil means a client with a 30-second timeout. Its
	// Transport is wrapped, never modified.
	HTTPClient *http.Client
	// Fabric names the fabric in New's errors; it may be empty.
	Fabric string
}

// ErrUnknownForge says that the forge type is unknown or cannot be inferred from the
// repository URL. It wraps tasks.ErrNoForge.
var ErrUnknownForge = fmt.Errorf("unknown forge: %w", tasks.ErrNoForge)

// ErrUnauthorized says that the forge rejected the credentials, or that they lack a
// permission the request needs. Retrying does not help: it wraps tasks.ErrForgePermanent.
var ErrUnauthorized = fmt.Errorf("forge rejected the credentials: %w", tasks.ErrForgePermanent)

// ErrNotFound says that the repository or a branch does not exist, or that the credentials
// cannot see it (GitHub answers 404 for private repositories the token cannot read).
var ErrNotFound = fmt.Errorf("repository or branch not found: %w", tasks.ErrForgePermanent)

// RateLimitError says that the forge rate-limited the request. It is transient: retry after
// RetryAfter.
type RateLimitError struct {
	RetryAfter time.Duration // how long the forge asks to wait; 1 minute when it did not say
	Err        error         // the forge's answer, as text
}

func (e *RateLimitError) Error() string {
	msg := fmt.Sprintf("rate limited, retry after %s", e.RetryAfter.Round(time.Second))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// defaultRetryAfter is the wait when a rate-limit answer names none: GitHub's docs say to
// wait at least a minute before retrying a secondary rate limit.
const defaultRetryAfter = time.Minute

// descriptionLimit is the longest commit status description GitHub accepts, in characters;
// the other forges get the same.
const descriptionLimit = 140

// New returns a tasks.Forge for cfg.Repo on its forge. It makes no request.
func New(cfg Config) (tasks.Forge, error) {
	fail := func(err error) (tasks.Forge, error) {
		if cfg.Fabric != "" {
			return nil, fmt.Errorf("forge for fabric %s: %w", cfg.Fabric, err)
		}
		return nil, fmt.Errorf("forge: %w", err)
	}
	t, err := resolve(cfg)
	if err != nil {
		return fail(err)
	}
	if cfg.Token == "" && cfg.TokenSource == nil {
		return fail(fmt.Errorf("%w: no token configured", ErrUnauthorized))
	}
	switch t.typ {
	case TypeGitHub:
		return newGitHub(cfg, t)
	case TypeGitLab:
		return newGitLab(cfg, t)
	default:
		return newGitea(cfg, t)
	}
}

// target is a resolved Config: the forge type, its API root and the repository's path there.
type target struct {
	typ     string
	apiURL  *url.URL
	project string // "owner/repo"; on GitLab the full "group/subgroup/project" path
}

func resolve(cfg Config) (target, error) {
	typ := strings.ToLower(strings.TrimSpace(cfg.Type))
	if typ == "forgejo" {
		typ = TypeGitea
	}
	switch typ {
	case "", TypeGitHub, TypeGitLab, TypeGitea:
	default:
		return target{}, fmt.Errorf("%w: type %q", ErrUnknownForge, cfg.Type)
	}
	r, err := parseRepoURL(cfg.Repo)
	if err != nil {
		return target{}, fmt.Errorf("%w: %s", ErrUnknownForge, err.Error())
	}
	known, knownAPI, ok := publicForge(r.host)
	if typ == "" {
		if !ok {
			return target{}, fmt.Errorf("%w: cannot infer the forge of host %s; set its type", ErrUnknownForge, r.host)
		}
		typ = known
	}
	api := cfg.APIURL
	if api == "" {
		if ok && typ == known {
			api = knownAPI
		} else {
			api = defaultAPIURL(typ, r)
		}
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return target{}, fmt.Errorf("API URL %q is not an http(s) URL", redactURL(api))
	}
	u.User = nil
	project := r.path
	// A forge served under a path prefix (https://host/gitlab/api/v4) has that prefix in
	// its repository URLs too (https://host/gitlab/group/project.git).
	if prefix := strings.Trim(apiPrefix(u.Path), "/"); prefix != "" && strings.EqualFold(u.Hostname(), hostOnly(r.host)) {
		project = strings.TrimPrefix(project, prefix+"/")
	}
	if typ != TypeGitLab && strings.Count(project, "/") != 1 {
		return target{}, fmt.Errorf("repository path %q is not owner/repo", project)
	}
	return target{typ: typ, apiURL: u, project: project}, nil
}

// apiPrefix returns the part of an API URL path before its /api/vN suffix.
func apiPrefix(p string) string {
	p = strings.TrimSuffix(p, "/")
	for _, s := range []string{"/api/v3", "/api/v4", "/api/v1"} {
		if strings.HasSuffix(p, s) {
			return strings.TrimSuffix(p, s)
		}
	}
	return ""
}

// tokenFunc returns the token for the next request.
type tokenFunc func(ctx context.Context) (string, error)

func (cfg Config) tokenFunc() tokenFunc {
	if cfg.TokenSource != nil {
		return cfg.TokenSource
	}
	tok := cfg.Token
	return func(context.Context) (string, error) { return tok, nil }
}

// httpClient returns a copy of cfg.HTTPClient (or the default client) whose transport adds
// the token as "Authorization: <scheme> <token>" to requests to host, and to no other host
// (so a redirect elsewhere never carries it). scheme "" adds no header.
func (cfg Config) httpClient(host, scheme string) *http.Client {
	c := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		cp := *cfg.HTTPClient
		c = &cp
	}
	if scheme == "" {
		return c
	}
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &authTransport{base: base, host: host, scheme: scheme, token: cfg.tokenFunc()}
	return c
}

type authTransport struct {
	base   http.RoundTripper
	host   string
	scheme string
	token  tokenFunc
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Host, t.host) {
		return t.base.RoundTrip(req)
	}
	tok, err := t.token(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("token: %w", err)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", t.scheme+" "+tok)
	return t.base.RoundTrip(r)
}

// apiError translates a failed request into this package's errors: resp is the forge's
// answer, nil when none came. Errors that are already ours pass through.
func apiError(resp *http.Response, err error) error {
	if err == nil {
		return nil
	}
	var rl *RateLimitError
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotFound) || errors.As(err, &rl) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if resp == nil {
		return errors.New(err.Error()) // the text only: no library type leaves the package
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || (code == http.StatusForbidden && rateLimited(resp.Header)):
		return &RateLimitError{RetryAfter: retryAfter(resp.Header, time.Now()), Err: errors.New(err.Error())}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("%w: %s", ErrUnauthorized, err.Error())
	case code == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, err.Error())
	}
	return errors.New(err.Error())
}

// rateLimited reports whether a 403's headers say it is a rate limit: GitHub sends
// x-ratelimit-remaining: 0 (GitLab ratelimit-remaining: 0), and secondary limits may carry
// retry-after.
func rateLimited(h http.Header) bool {
	return h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""
}

// retryAfter reads how long a rate-limited client should wait: Retry-After (seconds or an
// HTTP date) first, then the reset time in UTC epoch seconds (GitHub x-ratelimit-reset,
// GitLab ratelimit-reset), else defaultRetryAfter.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if s, err := strconv.ParseInt(h.Get(k), 10, 64); err == nil && s > 0 {
			return max(time.Unix(s, 0).Sub(now), 0)
		}
	}
	return defaultRetryAfter
}

// truncate shortens s to at most n characters, ending in "..." when it was cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
