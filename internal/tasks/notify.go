package tasks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
)

// This file reports finished jobs (docs/NOTIFY.md). When a job ends, Service.end enqueues one
// TypeNotifyJob task (TaskID notify:<job>): one cheap Redis write, best effort, never in the way
// of the job. Its handler, in a worker (which has the fabrics file), fans out: one TypeNotifySend
// task per notify: target that wants the job (TaskID notify:<job>:<index>) and, with
// commit_status:, one TypeNotifyStatus task (notify:<job>:status). Each is retried on its own
// with backoff and then archived, so a slow or down receiver delays nothing else, and the task
// IDs, kept for notifyTaskRetained, make sure a message that got through is not sent again.

// Notification HTTP headers; a receiver relies on them, do not rename.
const (
	HeaderEvent     = "X-Fabsync-Event"
	HeaderDelivery  = "X-Fabsync-Delivery"
	HeaderSignature = "X-Fabsync-Signature-256"
	// EventJobFinished is the X-Fabsync-Event of a finished job's webhook.
	EventJobFinished = "job.finished"
)

const (
	// notifyEnqueueTimeout bounds the enqueue of a job's notifications when it ends.
	notifyEnqueueTimeout = 2 * time.Second
	// slackProblems is how many problems a Slack message lists.
	slackProblems = 5
	// statusDescriptionMax is the longest commit status description (GitHub's limit is 140).
	statusDescriptionMax = 140
)

// NotifyPayload is the payload of a TypeNotifySend task, stored in Redis; add fields, never
// rename them. Target holds the target as configured when the job ended: only the names of its
// secrets, which the worker reads when it sends.
type NotifyPayload struct {
	JobID    string        `json:"job_id"`
	Fabric   string        `json:"fabric"`
	Index    int           `json:"index"`    // the target's place in the fabric's notify: list
	Target   config.Notify `json:"target"`   // where the message goes
	Delivery string        `json:"delivery"` // X-Fabsync-Delivery: the same for every attempt of this message
}

func notifyJobTaskID(jobID string) string         { return "notify:" + jobID }
func notifySendTaskID(jobID string, i int) string { return fmt.Sprintf("notify:%s:%d", jobID, i) }
func notifyStatusTaskID(jobID string) string      { return "notify:" + jobID + ":status" }

// NewNotifyJobTask returns the task that fans out the notifications of a job that ended.
func NewNotifyJobTask(jobID, fabric string) (*asynq.Task, error) {
	return newTask(TypeNotifyJob, jobID, fabric,
		asynq.Queue(QueueNotify), asynq.TaskID(notifyJobTaskID(jobID)),
		asynq.MaxRetry(notifyJobMaxRetry), asynq.Timeout(NotifyTimeout), asynq.Retention(notifyTaskRetained))
}

// NewNotifySendTask returns the task that sends one message about a finished job.
func NewNotifySendTask(p NotifyPayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", TypeNotifySend, err)
	}
	return asynq.NewTask(TypeNotifySend, b,
		asynq.Queue(QueueNotify), asynq.TaskID(notifySendTaskID(p.JobID, p.Index)),
		asynq.MaxRetry(NotifyMaxRetry), asynq.Timeout(NotifyTimeout), asynq.Retention(notifyTaskRetained)), nil
}

// NewNotifyStatusTask returns the task that sets the commit status of a finished job.
func NewNotifyStatusTask(jobID, fabric string) (*asynq.Task, error) {
	return newTask(TypeNotifyStatus, jobID, fabric,
		asynq.Queue(QueueNotify), asynq.TaskID(notifyStatusTaskID(jobID)),
		asynq.MaxRetry(NotifyMaxRetry), asynq.Timeout(NotifyTimeout), asynq.Retention(notifyTaskRetained))
}

// IsNotifyType reports whether typ is one of the notification task types.
func IsNotifyType(typ string) bool {
	return typ == TypeNotifyJob || typ == TypeNotifySend || typ == TypeNotifyStatus
}

// RetryDelay returns the worker's RetryDelayFunc: notify for the notification task types, jobs
// for every other.
func RetryDelay(jobs, notify asynq.RetryDelayFunc) asynq.RetryDelayFunc {
	return func(n int, err error, t *asynq.Task) time.Duration {
		if IsNotifyType(t.Type()) {
			return notify(n, err, t)
		}
		return jobs(n, err, t)
	}
}

// SetLogger sets where the service tells of what it cannot do in the background of a call and
// need not fail it for: a job's notifications that could not be enqueued when it ended.
func (s *Service) SetLogger(l *slog.Logger) {
	if l != nil {
		s.log = l
	}
}

// SetNotifies tells the service which fabrics want their jobs' ends told (notify: targets or
// commit_status:; NotifyWanted reads that from the fabrics file): a job of any other fabric
// enqueues no notification task, which spares a periodic resync of such a fabric a second task.
// Unset, every job end enqueues one, whose handler finds nothing to do.
func (s *Service) SetNotifies(wants func(fabric string) bool) { s.notifies = wants }

// NotifyWanted is SetNotifies' function for the fabrics of src, as the file is when a job ends:
// a fabric with notify: targets or commit_status: set.
func NotifyWanted(src *config.Source) func(fabric string) bool {
	return func(fabric string) bool {
		f, ok := src.Fabric(fabric)
		return ok && (len(f.Notify) > 0 || f.SetsCommitStatus())
	}
}

// notifyEnd enqueues the notifications of job j, which this call just ended. Best effort: a
// failure is logged and the job is unaffected.
func (s *Service) notifyEnd(ctx context.Context, j *Job) {
	if s.notifies != nil && !s.notifies(j.Fabric) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyEnqueueTimeout)
	defer cancel()
	if err := s.enqueue(ctx, NewNotifyJobTask, j.ID, j.Fabric); err != nil {
		s.log.WarnContext(ctx, "job ended; its notifications could not be enqueued and are not sent",
			"job_id", j.ID, "fabric", j.Fabric, "err", err)
	}
}

// RegisterNotify adds the notification task types to mux.
func (h *Handler) RegisterNotify(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeNotifyJob, h.HandleNotifyJob)
	mux.HandleFunc(TypeNotifySend, h.HandleNotifySend)
	mux.HandleFunc(TypeNotifyStatus, h.HandleNotifyStatus)
}

// skipIfPermanent tells asynq not to retry a permanent error.
func skipIfPermanent(err error) error {
	if err != nil && IsPermanent(err) && !errors.Is(err, asynq.SkipRetry) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// HandleNotifyJob fans out the notifications of a job that ended: one TypeNotifySend task per
// target of the fabric's notify: that wants the job's state (and dry runs, for a dry run), and a
// TypeNotifyStatus task when the fabric sets commit_status: and the job is a real one with a
// commit. Tasks already there (a re-delivery) are left as they are.
func (h *Handler) HandleNotifyJob(ctx context.Context, t *asynq.Task) error {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.JobID == "" {
		return fmt.Errorf("%s: bad payload: %w", t.Type(), asynq.SkipRetry)
	}
	return skipIfPermanent(h.notifyJob(ctx, p))
}

func (h *Handler) notifyJob(ctx context.Context, p Payload) error {
	j, err := h.svc.Get(ctx, p.JobID)
	if errors.Is(err, ErrJobNotFound) {
		return permanent("notify job %s: the job record is gone", p.JobID)
	} else if err != nil {
		return err
	}
	if !j.State.Terminal() {
		return permanent("notify job %s: the job has not ended (%s)", j.ID, j.State)
	}
	fab, ok := h.cfg.Fabrics.Fabric(j.Fabric)
	if !ok {
		h.log.InfoContext(ctx, "job ended for a fabric no longer in the fabrics file; no notifications", "job_id", j.ID, "fabric", j.Fabric)
		return nil
	}
	var errs []error
	enqueue := func(t *asynq.Task, err error) {
		if err == nil {
			_, err = h.svc.client.EnqueueContext(ctx, t)
		}
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			errs = append(errs, err)
		}
	}
	for i, n := range fab.Notify {
		if !n.Wants(string(j.State), j.DryRun) {
			continue
		}
		enqueue(NewNotifySendTask(NotifyPayload{JobID: j.ID, Fabric: j.Fabric, Index: i, Target: n, Delivery: rand.Text()}))
	}
	if fab.SetsCommitStatus() && !j.DryRun && j.GitSync.Commit != "" && j.State != StateCanceled {
		enqueue(NewNotifyStatusTask(j.ID, j.Fabric))
	}
	if len(errs) > 0 {
		return fmt.Errorf("notify job %s: enqueue: %w", j.ID, errors.Join(errs...))
	}
	return nil
}

// HandleNotifySend sends one message about a finished job: its JSON to a webhook, or a summary
// to Slack. A 2xx answer is done; 408, 429, 5xx, a network error or a timeout are retried; any
// other answer archives the task at once.
func (h *Handler) HandleNotifySend(ctx context.Context, t *asynq.Task) error {
	var p NotifyPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.JobID == "" {
		return fmt.Errorf("%s: bad payload: %w", t.Type(), asynq.SkipRetry)
	}
	if err := h.notifySend(ctx, p); err != nil {
		return skipIfPermanent(fmt.Errorf("notify job %s: %s: %w", p.JobID, p.Target, err))
	}
	return nil
}

func (h *Handler) notifySend(ctx context.Context, p NotifyPayload) error {
	data, err := h.svc.JobJSON(ctx, p.JobID)
	if errors.Is(err, ErrJobNotFound) {
		return permanent("the job record is gone")
	} else if err != nil {
		return err
	}
	addr, err := readSecret(h.cfg.Getenv, "url", p.Target.URLEnv, p.Target.URLFile)
	if err != nil {
		return err
	}
	if addr == "" {
		addr = p.Target.URL
	}
	hdr := http.Header{}
	var body []byte
	switch p.Target.Type {
	case config.NotifyWebhook:
		secret, err := readSecret(h.cfg.Getenv, "secret", p.Target.SecretEnv, p.Target.SecretFile)
		if err != nil {
			return err
		}
		body = data
		hdr.Set(HeaderEvent, EventJobFinished)
		hdr.Set(HeaderDelivery, p.Delivery)
		if secret != "" {
			hdr.Set(HeaderSignature, sign([]byte(secret), body))
		}
	case config.NotifySlack:
		var j finishedJob
		if err := json.Unmarshal(data, &j); err != nil {
			return permanent("decode the job: %v", err)
		}
		if body, err = json.Marshal(slackMessage(&j, h.jobURL(j.ID))); err != nil {
			return permanent("encode the message: %v", err)
		}
	default:
		return permanent("unknown notification type %q", p.Target.Type)
	}
	return h.post(ctx, addr, body, hdr)
}

// readSecret reads notify[].<field>_env or <field>_file; neither set is no secret. Its errors
// name the field and the variable or file, never the value.
func readSecret(getenv func(string) string, field, env, file string) (string, error) {
	switch {
	case env != "":
		if v := strings.TrimSpace(getenv(env)); v != "" {
			return v, nil
		}
		return "", permanent("%s_env: environment variable %s is not set", field, env)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", permanent("%s_file: %v", field, err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
		return "", permanent("%s_file: %s is empty", field, file)
	}
	return "", nil
}

// sign returns the X-Fabsync-Signature-256 of body: "sha256=" and the hex HMAC-SHA256 of body
// with secret (GitHub's X-Hub-Signature-256 scheme).
func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends body as JSON to addr. Its errors never quote addr (a Slack URL is a secret), only
// what went wrong; a refused message (4xx other than 408 and 429, or a redirect) is permanent.
func (h *Handler) post(ctx context.Context, addr string, body []byte, hdr http.Header) error {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return permanent("the URL is not a valid http(s) URL")
	}
	ctx, cancel := context.WithTimeout(ctx, NotifyHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, bytes.NewReader(body))
	if err != nil {
		return permanent("the URL is not a valid http(s) URL")
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fabsync")
	client := h.cfg.NotifyClient
	if client == nil {
		client = &http.Client{Timeout: NotifyHTTPTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error // its text holds the URL: keep only what went wrong
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
			return fmt.Errorf("no answer within %s", NotifyHTTPTimeout)
		}
		return fmt.Errorf("send: %w", err) // without the url.Error around it, which names the URL
	}
	defer func() { _ = resp.Body.Close() }()
	said, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	answer := "receiver answered " + resp.Status
	if s := strings.Join(strings.Fields(strings.ToValidUTF8(string(said), "")), " "); s != "" {
		answer += ": " + s
	}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusTooManyRequests || c == http.StatusRequestTimeout || c >= 500:
		return errors.New(answer)
	case c >= 300 && c < 400:
		return permanent("%s (redirects are not followed: configure the final URL)", answer)
	}
	return permanent("%s (not retried)", answer)
}

// jobURL returns the job's page in the UI (HandlerConfig.PublicURL + "/#/jobs/<id>"), or ""
// without a PublicURL.
func (h *Handler) jobURL(id string) string {
	if h.cfg.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(h.cfg.PublicURL, "/") + "/#/jobs/" + url.PathEscape(id)
}

// finishedJob is a job as its notification reads it from the job's JSON: what the API
// returns, with the fields other parts of fabsync add (a pull request) read by name.
type finishedJob struct {
	Job
	PullRequest *PullRequest `json:"pull_request,omitempty"`
}

// stateWord says a job's state in a message.
func stateWord(s State) string {
	switch s {
	case StatePartialSync:
		return "partial sync"
	}
	return string(s)
}

// summary says in one line what the job did (succeeded) or why it ended (any other state).
func summary(j *finishedJob) string {
	if j.State != StateSucceeded {
		if j.Reason != "" {
			return j.Reason
		}
		return stateWord(j.State)
	}
	in := j.Ingest
	switch {
	case j.DryRun && j.Plan != nil:
		return "dry run: " + j.Plan.Summary
	case j.DryRun:
		return "dry run: nothing would change"
	case in.Commit != "" && j.Changes != nil && j.Changes.Summary != "":
		return j.Changes.Summary + "; commit " + short(in.Commit)
	case in.Commit != "":
		return fmt.Sprintf("%d created, %d updated, %d unchanged from %d documents in %d files; commit %s",
			in.Created, in.Updated, in.Unchanged, in.Documents, in.Files, short(in.Commit))
	case in.Files == 0:
		return "nothing to ingest"
	}
	return "nothing to change"
}

// problems returns the job's problems to show (errors first, located ones with file:line), and
// how many errors and warnings it has.
func problems(j *finishedJob) (lines []string, errs, warns int) {
	in := j.Ingest
	list := in.Problems
	if len(list) == 0 {
		list = in.Errors
	}
	var warnLines []string
	for _, p := range list {
		where := p.File
		if p.Line > 0 {
			where = fmt.Sprintf("%s:%d", p.File, p.Line)
		}
		line := where + ": " + p.Message
		if p.Severity == "warning" {
			warns++
			warnLines = append(warnLines, line)
			continue
		}
		errs++
		lines = append(lines, line)
	}
	if len(warnLines) == 0 {
		warnLines = in.Warnings // unlocated (drift, unmanaged kinds)
	}
	warns = max(warns, len(in.Warnings))
	return append(lines, warnLines...), errs, warns
}

// slackPayload is the Slack incoming-webhook payload: text (the notification's fallback) and
// blocks (what Slack shows).
type slackPayload struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn gives meaning to.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func slackSection(s string) slackBlock {
	return slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(s, 2900)}}
}

// slackMessage builds the Slack message about j; link is the job's page ("" for none).
func slackMessage(j *finishedJob, link string) slackPayload {
	icon := map[State]string{StateSucceeded: ":white_check_mark:", StatePartialSync: ":warning:", StateFailed: ":x:", StateCanceled: ":no_entry_sign:"}[j.State]
	kind := "sync"
	if j.DryRun {
		kind = "dry run"
	}
	sum := summary(j)
	text := fmt.Sprintf("fabsync: %s %s of %s %s: %s", icon, kind, j.Fabric, stateWord(j.State), sum)
	title := fmt.Sprintf("%s *%s* %s %s", icon, slackEscape(j.Fabric), kind, stateWord(j.State))
	blocks := []slackBlock{slackSection(title), slackSection(slackEscape(sum))}
	if pr := j.PullRequest; pr != nil && pr.URL != "" {
		blocks = append(blocks, slackSection(fmt.Sprintf("Pull request: <%s|#%d> (%s)", pr.URL, pr.Number, slackEscape(pr.State))))
		text += fmt.Sprintf(" (pull request #%d)", pr.Number)
	}
	if lines, errs, warns := problems(j); len(lines) > 0 || errs+warns > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "*%s, %s*", plural(errs, "error"), plural(warns, "warning"))
		for i, l := range lines {
			if i == slackProblems {
				fmt.Fprintf(&b, "\n…and %d more", len(lines)-slackProblems)
				break
			}
			file, msg, _ := strings.Cut(l, ": ")
			fmt.Fprintf(&b, "\n• `%s` %s", slackEscape(file), slackEscape(truncate(msg, 300)))
		}
		blocks = append(blocks, slackSection(b.String()))
	}
	meta := fmt.Sprintf("job %s · trigger %s", j.ID, j.Trigger)
	if j.GitSync.Commit != "" {
		meta += " · synced from " + short(j.GitSync.Commit)
	}
	if link != "" {
		meta = fmt.Sprintf("<%s|job %s> · trigger %s", link, j.ID, j.Trigger)
		if j.GitSync.Commit != "" {
			meta += " · synced from " + short(j.GitSync.Commit)
		}
		text += " " + link
	}
	blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: meta}}})
	return slackPayload{Text: text, Blocks: blocks}
}

// truncate cuts s to at most n bytes on a rune boundary, ending in "…" when it cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// statusOf returns the commit status a finished job sets, or "" for none (canceled).
func statusOf(s State) string {
	switch s {
	case StateSucceeded:
		return StatusSuccess
	case StatePartialSync, StateFailed:
		return StatusFailure
	}
	return ""
}

// statusDescription is a commit status's one-line description of j, at most
// statusDescriptionMax characters.
func statusDescription(j *finishedJob) string {
	d := stateWord(j.State) + ": " + summary(j)
	d = strings.Join(strings.Fields(d), " ")
	if utf8.RuneCountInString(d) > statusDescriptionMax {
		r := []rune(d)
		d = string(r[:statusDescriptionMax-1]) + "…"
	}
	return d
}

// HandleNotifyStatus sets the commit status of a finished job on the commit its git sync
// reached (Job.GitSync.Commit), through the fabric's Forge: success for succeeded, failure for
// partial_sync and failed; context fabsync/<fabric>. Without a Forge (HandlerConfig.Forge), or a
// fabric whose forge is unknown, the task is archived with that reason.
func (h *Handler) HandleNotifyStatus(ctx context.Context, t *asynq.Task) error {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.JobID == "" {
		return fmt.Errorf("%s: bad payload: %w", t.Type(), asynq.SkipRetry)
	}
	if err := h.notifyStatus(ctx, p); err != nil {
		return skipIfPermanent(fmt.Errorf("commit status of job %s: %w", p.JobID, err))
	}
	return nil
}

func (h *Handler) notifyStatus(ctx context.Context, p Payload) error {
	data, err := h.svc.JobJSON(ctx, p.JobID)
	if errors.Is(err, ErrJobNotFound) {
		return permanent("the job record is gone")
	} else if err != nil {
		return err
	}
	var j finishedJob
	if err := json.Unmarshal(data, &j); err != nil {
		return permanent("decode the job: %v", err)
	}
	state := statusOf(j.State)
	if state == "" || j.GitSync.Commit == "" {
		return nil // nothing to report, or no commit to report it on
	}
	fab, ok := h.cfg.Fabrics.Fabric(j.Fabric)
	if !ok {
		return permanent("fabric %s is no longer in the fabrics file", j.Fabric)
	}
	if h.cfg.Forge == nil {
		return permanent("this worker has no forge support (HandlerConfig.Forge is nil); commit_status: of fabric %s is not set", j.Fabric)
	}
	_, fa, err := h.resolveAuth(fab)
	if err != nil {
		return err
	}
	f, err := h.cfg.Forge(ctx, fab, fa)
	if errors.Is(err, ErrNoForge) {
		return permanent("fabric %s: %w", j.Fabric, err)
	} else if err != nil {
		return fmt.Errorf("forge of fabric %s: %w", j.Fabric, err)
	}
	st := CommitStatus{Commit: j.GitSync.Commit, State: state, Description: statusDescription(&j),
		TargetURL: h.jobURL(j.ID), Context: "fabsync/" + j.Fabric}
	if err := f.SetStatus(ctx, st); err != nil {
		return fmt.Errorf("set status %s on %s: %w", state, short(st.Commit), err)
	}
	h.log.InfoContext(ctx, "commit status set", "job_id", j.ID, "fabric", j.Fabric, "commit", st.Commit, "state", state)
	return nil
}
