package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// The client-side view of the JSON shapes in docs/API.md. Only the fields the CLI shows are here;
// the server may add fields (the contract allows it) and --json prints the response untouched.

// job is a sync job as GET /api/v1/jobs/{id} returns it.
type job struct {
	ID         string     `json:"id"`
	Fabric     string     `json:"fabric"`
	Trigger    string     `json:"trigger"`
	State      string     `json:"state"`
	Progress   progress   `json:"progress"`
	GitSync    gitSync    `json:"git_sync"`
	Ingest     ingest     `json:"ingest"`
	Reason     string     `json:"reason"`
	Log        []logLine  `json:"log"`
	DryRun     bool       `json:"dry_run"` // a preview: it never pushes; absent (false) from older servers
	Plan       *plan      `json:"plan"`    // a dry run's plan: absent until it succeeded
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

type progress struct {
	Stage   string `json:"stage"`
	Percent int    `json:"percent"`
	Message string `json:"message"`
}

type gitSync struct {
	State         string   `json:"state"`
	Attempts      int      `json:"attempts"`
	Commit        string   `json:"commit"`
	Error         string   `json:"error"`
	AttemptErrors []string `json:"attempt_errors"`
}

type ingest struct {
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	Files         int        `json:"files"`
	Documents     int        `json:"documents"`
	Created       int        `json:"created"`
	Updated       int        `json:"updated"`
	Unchanged     int        `json:"unchanged"`
	Archived      int        `json:"archived"`
	Commit        string     `json:"commit"`
	Warnings      []string   `json:"warnings"`
	Errors        []docError `json:"errors"`
	Problems      []problem  `json:"problems"` // errors and warnings; absent from older records
	Error         string     `json:"error"`
	AttemptErrors []string   `json:"attempt_errors"`
}

// docError is one problem in a raw file. Document, Line and Column are 1-based; 0 means unknown.
type docError struct {
	File     string `json:"file"`
	Document int    `json:"document"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
}

// problem is one entry of a job's ingest.problems: a located error or warning with the rule
// that found it and an excerpt of the raw file.
type problem struct {
	docError
	Rule     string `json:"rule"`     // e.g. "schema-unknown-field"
	Severity string `json:"severity"` // "error" or "warning"; empty counts as an error
	Excerpt  string `json:"excerpt"`  // numbered source lines and a caret line, "14 |   spec:\n..."
}

const severityWarning = "warning"

func (p problem) isWarning() bool { return p.Severity == severityWarning }

// plan is what a dry run found it would do: the files of managed/ it would write or delete,
// each with a unified diff, and a one-line summary of the resources changed.
type plan struct {
	Files     []planFile `json:"files"`
	Summary   string     `json:"summary"`
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Deleted   int        `json:"deleted"`
	Unchanged int        `json:"unchanged"`
	Truncated bool       `json:"truncated"` // diffs were left out (empty) to keep the job under its bound
}

// changes is how many files the plan would write or delete.
func (p *plan) changes() int { return p.Created + p.Updated + p.Deleted }

// Plan file actions.
const (
	actionCreated   = "created"
	actionUpdated   = "updated"
	actionDeleted   = "deleted"
	actionUnchanged = "unchanged"
)

type planFile struct {
	Path    string `json:"path"`
	Action  string `json:"action"` // created, updated, deleted or unchanged
	Diff    string `json:"diff"`   // unified diff; may be empty when the plan is truncated
	Added   int    `json:"added"`
	Removed int    `json:"removed"`
}

type logLine struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

type fabric struct {
	Name      string `json:"name"`
	Repo      string `json:"repo"`
	Branch    string `json:"branch"`
	Path      string `json:"path"`
	Resync    string `json:"resync"`
	LatestJob *job   `json:"latest_job"`
	// DriftFiles is how many files of managed/ were edited, added or removed by hand since the
	// manifest, as of the last check; absent (0) from older servers.
	DriftFiles int `json:"drift_files"`
}

// Job states (docs/SYNC.md).
const (
	stateQueued      = "queued"
	stateSyncing     = "syncing"
	stateIngesting   = "ingesting"
	stateSucceeded   = "succeeded"
	statePartialSync = "partial_sync"
	stateFailed      = "failed"
	stateCanceled    = "canceled"
)

// ended reports whether a job in state s has finished.
func ended(s string) bool {
	switch s {
	case stateSucceeded, statePartialSync, stateFailed, stateCanceled:
		return true
	}
	return false
}

// apiError is an error response of the API: {"error": {"code": "...", "message": "..."}}.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// unreachableError reports that no HTTP exchange with the server happened.
type unreachableError struct {
	URL     string // the server, credentials removed
	Refused bool   // nothing listens there: the usual "server not started" case
	Err     error
}

func (e *unreachableError) Error() string {
	if e.Refused {
		return fmt.Sprintf("the fabsync server isn't reachable at %s (connection refused)", e.URL)
	}
	return fmt.Sprintf("the fabsync server isn't reachable at %s: %v", e.URL, e.Err)
}

func (e *unreachableError) Unwrap() error { return e.Err }

// maxBody bounds what we read of a response; a job with a long log is well under it.
const maxBody = 32 << 20

// client calls the fabsync API. The token is only ever put in the Authorization header.
type client struct {
	base  *url.URL
	token string
	hc    *http.Client
}

func newClient(base *url.URL, token string) *client {
	// Each request is bounded; --wait's overall limit is --timeout.
	return &client{base: base, token: token, hc: &http.Client{Timeout: 30 * time.Second}}
}

// call sends one request, with in as its JSON body (nil: none), and returns the response body of
// a 2xx answer. Other answers become an *apiError; failing to reach the server is an
// *unreachableError. ctx ending returns ctx's error.
func (c *client) call(ctx context.Context, method, path string, query url.Values, in []byte) (status int, body []byte, err error) {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if in != nil {
		rd = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return 0, nil, fmt.Errorf("request %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "fabsync-cli")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		inner := err
		var ue *url.Error
		if errors.As(err, &ue) {
			inner = ue.Err // url.Error repeats the method and URL, which we say ourselves
		}
		return 0, nil, &unreachableError{URL: redactURL(c.base.String()), Refused: errors.Is(err, syscall.ECONNREFUSED), Err: inner}
	}
	// The answer is what was read; closing the body cannot change it.
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, ctx.Err()
		}
		return resp.StatusCode, nil, fmt.Errorf("read response to %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, body, nil
	}
	return resp.StatusCode, nil, responseError(resp, body)
}

// responseError turns a non-2xx answer into an *apiError, also when something other than
// fabsync (a proxy, a different service) answered.
func responseError(resp *http.Response, body []byte) *apiError {
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		return &apiError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	msg := "unexpected response from the server: " + resp.Status
	if resp.StatusCode == http.StatusNotFound {
		msg += "; is --server pointing at a fabsync server?"
	}
	code := "http_error"
	if resp.StatusCode == http.StatusUnauthorized {
		code = "unauthorized"
	}
	return &apiError{Status: resp.StatusCode, Code: code, Message: msg}
}

// getJSON calls the API and decodes a 2xx body into out. It returns the status and the raw body
// (for --json).
func (c *client) getJSON(ctx context.Context, method, path string, query url.Values, out any) (int, []byte, error) {
	return c.sendJSON(ctx, method, path, query, nil, out)
}

// sendJSON is getJSON with a JSON request body (in; nil sends none).
func (c *client) sendJSON(ctx context.Context, method, path string, query url.Values, in []byte, out any) (int, []byte, error) {
	status, body, err := c.call(ctx, method, path, query, in)
	if err != nil {
		return status, nil, err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return status, nil, fmt.Errorf("answer to %s %s is not the expected JSON (is --server a fabsync server?): %w", method, path, err)
	}
	return status, body, nil
}

// getJob fetches one job.
func (c *client) getJob(ctx context.Context, id string) (*job, []byte, error) {
	var j job
	_, body, err := c.getJSON(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, &j)
	if err != nil {
		return nil, nil, err
	}
	return &j, body, nil
}

// isTransient reports whether err may go away by itself (the server restarting, a proxy
// hiccup), so a poll loop should retry rather than give up.
func isTransient(err error) bool {
	var ue *unreachableError
	var ae *apiError
	var ne net.Error
	switch {
	case errors.As(err, &ue):
		return true
	case errors.As(err, &ae):
		return ae.Status >= 500 || ae.Status == http.StatusTooManyRequests
	case errors.As(err, &ne):
		return ne.Timeout()
	}
	return false
}

// redactURL removes a password from a URL for printing.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// writeJSON prints a raw API response indented, for --json. It changes only whitespace.
func writeJSON(w io.Writer, body []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		return fmt.Errorf("format JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
