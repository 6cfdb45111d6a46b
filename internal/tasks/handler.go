package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
)

// TrailerKey is the commit trailer that ties a pushed commit to its job; stored in git history,
// do not rename.
const TrailerKey = "Fabsync-Job"

// permanentError marks an error no retry can fix (fabric removed, missing secret) without
// changing its text.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// errUserCanceled is the cancel cause when the job was canceled through the API.
var errUserCanceled = errors.New("job canceled")

// HandlerConfig configures the task handlers. Zero values take the defaults in brackets.
type HandlerConfig struct {
	DataDir      string              // required; clones live in DataDir/clones/<fabric>
	Fabrics      *config.Source      // required
	Getenv       func(string) string // resolves auth.*_env [always ""]
	Author       gitops.Signature    // commit author [fabsync <fabsync@localhost>]
	GitTimeout   time.Duration       // per clone, fetch or push [2m]
	GitDepth     int                 // clone depth, 0 = gitops default
	PushAttempts int                 // rounds of re-sync + re-ingest + push when a push is rejected [3]
	Limits       ingest.Limits       // ingest limits [ingest defaults]
	CancelPoll   time.Duration       // how often a running task checks for cancellation [500ms]
	Logger       *slog.Logger        // [discards]
}

// Handler runs the two task types. It is safe for concurrent use; tasks of one fabric are
// serialized per process (and across processes by the fabric's slot).
type Handler struct {
	svc *Service
	cfg HandlerConfig

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewHandler returns a Handler that records jobs through svc.
func NewHandler(svc *Service, cfg HandlerConfig) (*Handler, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("tasks: HandlerConfig.DataDir is required")
	}
	if cfg.Fabrics == nil {
		return nil, errors.New("tasks: HandlerConfig.Fabrics is required")
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.PushAttempts <= 0 {
		cfg.PushAttempts = 3
	}
	if cfg.CancelPoll <= 0 {
		cfg.CancelPoll = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{svc: svc, cfg: cfg, locks: map[string]*sync.Mutex{}}, nil
}

// Register adds the task types to mux.
func (h *Handler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeRepoSync, h.HandleRepoSync)
	mux.HandleFunc(TypeIngest, h.HandleIngest)
	mux.HandleFunc(TypeResync, h.HandleResync)
}

// IsPermanent reports whether err is one no retry can fix; tasks returning it are archived at once.
func IsPermanent(err error) bool {
	var ve *ingest.ValidationError
	var pe *permanentError
	return errors.As(err, &pe) || errors.As(err, &ve) || gitops.IsPermanent(err)
}

// attempt is the state shared by one run of a task handler.
type attempt struct {
	p     Payload
	fab   config.Fabric
	retry int
	final bool // no retry follows this attempt
}

// HandleRepoSync runs a job's git sync stage and enqueues its ingest stage.
func (h *Handler) HandleRepoSync(ctx context.Context, t *asynq.Task) error {
	return h.run(ctx, t, ProgressGitSync, func(ctx context.Context, a *attempt) error {
		c, err := h.client(a.fab)
		if err != nil {
			return err
		}
		unlock := h.lock(a.fab.Name)
		defer unlock()
		h.note(ctx, a.p.JobID, 2, "fetching "+c.URL())
		head, err := h.timed(ctx, "sync", func() (string, error) { return c.Sync(ctx, h.progress(ctx, a.p.JobID)) })
		if err != nil {
			return fmt.Errorf("git sync: %w", err)
		}
		if _, err := h.svc.Store.Update(ctx, a.p.JobID, func(j *Job) error {
			j.GitSync.State = StageSucceeded
			j.GitSync.Commit = head
			j.GitSync.Error = ""
			j.setProgress(ProgressGitSync, 40, "at "+short(head))
			j.logf(time.Now(), fmt.Sprintf("git sync done: %s is at %s", a.fab.Branch, short(head)))
			return nil
		}); err != nil {
			return err
		}
		// A resync with nothing in raw/ ends here: no second task, no second fetch.
		if pending, err := h.pending(c.Dir(), a.fab.Path); err != nil {
			return err
		} else if !pending {
			return h.succeed(ctx, a.p.JobID, "", "nothing to ingest: raw/ holds no YAML")
		}
		it, err := NewIngestTask(a.p.JobID, a.p.Fabric)
		if err != nil {
			return err
		}
		if _, err := h.svc.client.EnqueueContext(ctx, it); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue ingest: %w", err)
		}
		return nil
	})
}

// HandleIngest runs a job's ingest stage: re-sync (cheap when this worker just synced), ingest
// raw/, commit with the job trailer and push; on a rejected push, start over on the new head.
func (h *Handler) HandleIngest(ctx context.Context, t *asynq.Task) error {
	return h.run(ctx, t, ProgressIngest, func(ctx context.Context, a *attempt) error {
		c, err := h.client(a.fab)
		if err != nil {
			return err
		}
		unlock := h.lock(a.fab.Name)
		defer unlock()
		id := a.p.JobID
		for round := 1; ; round++ {
			head, err := h.timed(ctx, "sync", func() (string, error) { return c.Sync(ctx, nil) })
			if err != nil {
				return fmt.Errorf("git sync before ingest: %w", err)
			}
			if sha, found, err := c.FindTrailer(TrailerKey, id, 200); err != nil {
				return fmt.Errorf("look for this job's commit: %w", err)
			} else if found {
				return h.succeed(ctx, id, sha, "this job's commit "+short(sha)+" is already on the remote")
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			h.note(ctx, id, 45, "ingesting raw files at "+short(head))
			res, err := h.ingest(c.Dir(), a.fab.Path, ingest.Options{JobID: id, Commit: head, Time: time.Now().UTC(), Limits: h.cfg.Limits,
				Progress: h.ingestProgress(ctx, id)})
			if err != nil {
				return err
			}
			if _, err := h.svc.Store.Update(ctx, id, func(j *Job) error {
				in := &j.Ingest
				in.Files, in.Documents, in.Created, in.Updated = res.Files, res.Documents, res.Created, res.Updated
				in.Unchanged, in.Archived, in.Warnings = res.Unchanged, res.Archived, append([]string{}, res.Warnings...)
				j.setProgress(ProgressIngest, 80, fmt.Sprintf("%d files, %d documents ingested", res.Files, res.Documents))
				j.logf(time.Now(), fmt.Sprintf("ingested %d raw files, %d documents: %d created, %d updated, %d unchanged, %d warnings",
					res.Files, res.Documents, res.Created, res.Updated, res.Unchanged, len(res.Warnings)))
				return nil
			}); err != nil {
				return err
			}
			if res.Files == 0 {
				return h.succeed(ctx, id, "", "nothing to ingest: raw/ holds no YAML")
			}
			// Last point where a cancel can take effect: after the push the commit is public.
			if yes, err := h.svc.Store.CancelRequested(ctx, id); err == nil && yes {
				return errUserCanceled
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			sha, changed, err := c.Commit(ctx, a.fab.Path, commitMessage(a.fab.Name, id, res))
			if err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			if !changed {
				return h.succeed(ctx, id, "", "nothing changed in the repository")
			}
			h.note(ctx, id, 90, "pushing "+short(sha))
			_, err = h.timed(ctx, "push", func() (string, error) { return "", c.Push(ctx, nil) })
			if errors.Is(err, gitops.ErrPushRejected) && round < h.cfg.PushAttempts {
				h.note(ctx, id, 90, fmt.Sprintf("push rejected: the remote moved; fetching and ingesting again (round %d of %d)", round+1, h.cfg.PushAttempts))
				continue
			}
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			return h.succeed(ctx, id, sha, "pushed "+short(sha))
		}
	})
}

// run is the frame shared by both handlers: load the job, mark the stage running, watch for
// cancellation, run body, and turn its error into the job's state and asynq's retry decision.
func (h *Handler) run(ctx context.Context, t *asynq.Task, stage string, body func(context.Context, *attempt) error) error {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.JobID == "" || p.Fabric == "" {
		return fmt.Errorf("%s: bad payload %q: %w", t.Type(), t.Payload(), asynq.SkipRetry)
	}
	j, err := h.svc.Store.Get(ctx, p.JobID)
	if errors.Is(err, ErrJobNotFound) {
		return fmt.Errorf("%s: %w: %w", t.Type(), err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if Terminal(j.State) {
		return h.svc.release(ctx, j.Fabric, j.ID) // a re-delivery after the job ended
	}
	a := &attempt{p: p}
	a.retry, _ = asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	a.final = a.retry >= maxRetry

	now := time.Now().UTC()
	started, err := h.svc.Store.Update(ctx, p.JobID, func(j *Job) error {
		if Terminal(j.State) {
			return errUserCanceled
		}
		if j.StartedAt == nil {
			j.StartedAt = &now
		}
		if stage == ProgressGitSync {
			j.State, j.GitSync.State, j.GitSync.Attempts = StateSyncing, StageRunning, a.retry+1
			j.setProgress(ProgressGitSync, 1, "git sync started")
			j.logf(now, fmt.Sprintf("git sync attempt %d started", a.retry+1))
		} else {
			j.State, j.Ingest.State, j.Ingest.Attempts = StateIngesting, StageRunning, a.retry+1
			j.setProgress(ProgressIngest, 42, "ingest started")
			j.logf(now, fmt.Sprintf("ingest attempt %d started", a.retry+1))
		}
		return nil
	})
	if errors.Is(err, errUserCanceled) {
		return h.svc.release(ctx, j.Fabric, j.ID)
	}
	if err != nil {
		return err
	}
	fab, ok := h.cfg.Fabrics.Fabric(started.Fabric)
	a.fab = fab

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.watchCancel(runCtx, p.JobID, cancel)
	}()
	begin := time.Now()
	if !ok {
		err = permanent("fabric %q is no longer in the configuration", started.Fabric)
	} else {
		err = body(runCtx, a)
	}
	outcome := "succeeded"
	if err != nil {
		outcome = "failed"
	}
	observe(context.WithoutCancel(ctx), h.svc.Store.rdb, histJobDuration, time.Since(begin), stage, outcome)
	cancel(nil)
	wg.Wait()

	bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer bcancel()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errUserCanceled) || errors.Is(context.Cause(runCtx), errUserCanceled):
		_, endErr := h.svc.end(bctx, p.JobID, func(j *Job) { j.State = StateCanceled; j.Reason = "canceled by request" })
		return endErr
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The worker is shutting down (asynq puts the task back without using a retry), or an
		// operator canceled the task in Asynqmon (asynq retries it).
		h.note(bctx, p.JobID, 0, "attempt interrupted (the worker is shutting down, or the task was canceled in Asynqmon); it will be resumed or retried")
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%s timed out: %w", stage, err)
	}
	permanent := IsPermanent(err)
	final := permanent || a.final
	msg := err.Error()
	var ve *ingest.ValidationError
	_, uerr := h.svc.Store.Update(bctx, p.JobID, func(j *Job) error {
		st := &j.GitSync.Error
		errs := &j.GitSync.AttemptErrors
		if stage == ProgressIngest {
			st, errs = &j.Ingest.Error, &j.Ingest.AttemptErrors
		}
		*st = msg
		*errs = append(*errs, fmt.Sprintf("attempt %d: %s", a.retry+1, msg))
		if errors.As(err, &ve) {
			j.Ingest.Errors = docErrors(ve)
		}
		next := "will retry"
		if permanent {
			next = "not retried: this error is permanent"
		} else if a.final {
			next = "no retries left"
		}
		j.logf(time.Now(), fmt.Sprintf("%s attempt %d failed (%s): %s", stageName(stage), a.retry+1, next, msg))
		return nil
	})
	if final {
		_, uerr = h.svc.end(bctx, p.JobID, func(j *Job) {
			if stage == ProgressGitSync {
				j.State, j.GitSync.State, j.Reason = StateFailed, StageFailed, "git sync failed: "+msg
				return
			}
			j.State, j.Ingest.State = StatePartialSync, StageFailed
			j.Reason = "ingestion failed; nothing was changed in the repository: " + msg
			if ve != nil {
				j.Reason = fmt.Sprintf("%d problems in raw files; nothing was changed in the repository", len(ve.Problems))
			}
		})
	}
	if uerr != nil {
		err = errors.Join(err, fmt.Errorf("record job: %w", uerr))
	}
	if permanent {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// timed runs a git operation and records its duration.
func (h *Handler) timed(ctx context.Context, op string, fn func() (string, error)) (string, error) {
	begin := time.Now()
	v, err := fn()
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	observe(context.WithoutCancel(ctx), h.svc.Store.rdb, histGitOperations, time.Since(begin), op, outcome)
	return v, err
}

func stageName(stage string) string {
	if stage == ProgressGitSync {
		return "git sync"
	}
	return "ingest"
}

func (h *Handler) watchCancel(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(h.cfg.CancelPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if yes, err := h.svc.Store.CancelRequested(ctx, id); err == nil && yes {
				cancel(errUserCanceled)
				return
			}
		}
	}
}

// succeed ends the job as succeeded with the pushed commit (or none).
func (h *Handler) succeed(ctx context.Context, id, commit, msg string) error {
	_, err := h.svc.Store.Update(ctx, id, func(j *Job) error {
		j.logf(time.Now(), msg)
		return nil
	})
	if err != nil {
		return err
	}
	_, err = h.svc.end(ctx, id, func(j *Job) {
		j.State, j.Ingest.State, j.Ingest.Commit, j.Ingest.Error = StateSucceeded, StageSucceeded, commit, ""
	})
	return err
}

// note moves the job's progress and adds a log line; a failure to record is not the task's failure.
func (h *Handler) note(ctx context.Context, id string, percent int, msg string) {
	_, err := h.svc.Store.Update(ctx, id, func(j *Job) error {
		j.setProgress(j.Progress.Stage, percent, msg)
		j.logf(time.Now(), msg)
		return nil
	})
	if err != nil {
		h.cfg.Logger.WarnContext(ctx, "record job progress", "job_id", id, "err", err)
	}
}

// progress returns a gitops progress callback that maps the server's transfer phases to
// 2–39 %.
func (h *Handler) progress(ctx context.Context, id string) func(gitops.Progress) {
	record := h.recorder(ctx, id, ProgressGitSync)
	return func(p gitops.Progress) {
		if p.Total <= 0 {
			return
		}
		lo, hi := 35, 39 // receiving, resolving, writing
		switch p.Phase {
		case "counting", "enumerating":
			lo, hi = 2, 15
		case "compressing":
			lo, hi = 15, 35
		}
		record(lo+(hi-lo)*min(p.Done, p.Total)/p.Total, fmt.Sprintf("%s objects: %d/%d", p.Phase, p.Done, p.Total), false)
	}
}

// ingestProgress returns an ingest progress callback: validating maps to 45–60 %, writing to
// 60–75 %.
func (h *Handler) ingestProgress(ctx context.Context, id string) func(phase string, done, total int) {
	record := h.recorder(ctx, id, ProgressIngest)
	return func(phase string, done, total int) {
		lo, verb := 45, "validated"
		if phase == ingest.PhaseWrite {
			lo, verb = 60, "written"
		}
		record(lo+15*done/max(total, 1), fmt.Sprintf("raw files %s: %d of %d", verb, done, total), done == total)
	}
}

// recorder returns a function that records the job's progress at most four times a second,
// and always when final is set. Recording is best effort.
func (h *Handler) recorder(ctx context.Context, id, stage string) func(pct int, msg string, final bool) {
	var last time.Time
	return func(pct int, msg string, final bool) {
		if !final && time.Since(last) < 250*time.Millisecond {
			return
		}
		last = time.Now()
		_, _ = h.svc.Store.Update(ctx, id, func(j *Job) error {
			j.setProgress(stage, pct, msg)
			return nil
		})
	}
}

func (h *Handler) lock(fabric string) func() {
	h.mu.Lock()
	m, ok := h.locks[fabric]
	if !ok {
		m = &sync.Mutex{}
		h.locks[fabric] = m
	}
	h.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (h *Handler) client(f config.Fabric) (*gitops.Client, error) {
	auth, err := ResolveAuth(f.Auth, h.cfg.Getenv)
	if err != nil {
		return nil, err
	}
	if auth.InsecureIgnoreHostKey {
		h.cfg.Logger.Warn("SSH host key checking is off for this fabric (auth.insecure_ignore_host_key)", "fabric", f.Name)
	}
	return gitops.New(gitops.Config{
		URL: f.Repo, Branch: f.Branch, Dir: filepath.Join(h.cfg.DataDir, "clones", f.Name),
		Auth: auth, Author: h.cfg.Author, Timeout: h.cfg.GitTimeout, Depth: h.cfg.GitDepth,
	})
}

// ResolveAuth reads the secrets a fabric's auth block names. A missing secret is a permanent error
// naming the field (never the value).
func ResolveAuth(a config.Auth, getenv func(string) string) (gitops.Auth, error) {
	var out gitops.Auth
	secret := func(field, env, file string) (string, error) {
		switch {
		case env != "":
			v := getenv(env)
			if v == "" {
				return "", permanent("auth.%s_env: environment variable %s is not set", field, env)
			}
			return v, nil
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				return "", permanent("auth.%s_file: %v", field, err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		return "", nil
	}
	var err error
	if out.Password, err = secret("token", a.TokenEnv, a.TokenFile); err != nil {
		return out, err
	}
	if out.Password == "" {
		out.Username = a.Username
		if out.Password, err = secret("password", a.PasswordEnv, a.PasswordFile); err != nil {
			return out, err
		}
	}
	out.SSHKeyFile, out.KnownHostsFile, out.InsecureIgnoreHostKey = a.SSHKeyFile, a.KnownHostsFile, a.InsecureIgnoreHosts
	if a.SSHPassphraseEnv != "" {
		if out.SSHKeyPassphrase, err = secret("ssh_passphrase", a.SSHPassphraseEnv, ""); err != nil {
			return out, err
		}
	}
	return out, nil
}

// pending reports whether the fabric folder of the working tree dir has raw files to ingest.
func (h *Handler) pending(dir, fabricPath string) (bool, error) {
	root := filepath.Join(dir, filepath.FromSlash(fabricPath))
	if _, err := os.Lstat(filepath.Join(root, "raw")); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	ok, err := ingest.Pending(os.DirFS(root))
	if err != nil {
		return false, fmt.Errorf("look into raw/: %w", err)
	}
	return ok, nil
}

// ingest runs package ingest on the fabric folder of the working tree dir.
func (h *Handler) ingest(dir, fabricPath string, opts ingest.Options) (*ingest.Result, error) {
	root := filepath.Join(dir, filepath.FromSlash(fabricPath))
	if _, err := os.Lstat(filepath.Join(root, "raw")); errors.Is(err, os.ErrNotExist) {
		return &ingest.Result{}, nil // also when the fabric folder itself does not exist yet
	}
	res, err := ingest.Ingest(os.DirFS(root), opts, dirWriter{root: root})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return res, nil
}

// dirWriter writes ingest's output under root.
type dirWriter struct{ root string }

func (w dirWriter) path(name string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("refusing to write %q outside the fabric folder", name)
	}
	return filepath.Join(w.root, filepath.FromSlash(name)), nil
}

func (w dirWriter) WriteFile(name string, data []byte) error {
	p, err := w.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func (w dirWriter) Remove(name string) error {
	p, err := w.path(name)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

func docErrors(ve *ingest.ValidationError) []DocError {
	out := make([]DocError, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = DocError{File: p.File, Document: p.Document, Line: p.Line, Column: p.Column, Message: p.Message}
	}
	return out
}

func commitMessage(fabric, id string, r *ingest.Result) string {
	return fmt.Sprintf("fabsync: ingest %d raw files of %s (%d documents)\n\n"+
		"%d created, %d updated, %d unchanged; originals archived under .hnp/archive/%s/.\n\n%s: %s\n",
		r.Files, fabric, r.Documents, r.Created, r.Updated, r.Unchanged, id, TrailerKey, id)
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
