package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/plan"
)

// attempt is one run of a task handler for one job.
type attempt struct {
	p      Payload
	fab    config.Fabric
	number int  // from 1
	final  bool // no retry follows this attempt
	dryRun bool // the job is a dry run: it pushes nothing

	// mu orders a user's cancel against the point of no return (the commit and push): the cancel
	// watcher cancels the attempt only before it, under mu.
	mu        sync.Mutex
	committed bool
	cancel    context.CancelCauseFunc
}

// pointOfNoReturn is called before the commit and push, after which the job's commit may be
// public: from then on a cancel no longer interrupts the attempt. It returns errUserCanceled if
// the cancel came first.
func (a *attempt) pointOfNoReturn(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if errors.Is(context.Cause(ctx), errUserCanceled) {
		return errUserCanceled
	}
	a.committed = true
	return nil
}

// cancelByUser cancels the attempt unless it passed its point of no return.
func (a *attempt) cancelByUser() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.committed {
		return false
	}
	a.cancel(errUserCanceled)
	return true
}

// recordTimeout bounds the Redis writes that record an attempt's outcome (conclude) and a
// success (succeed), which run even when the task's own context has ended.
const recordTimeout = 15 * time.Second

// run is the frame shared by both job handlers: start the stage (the state machine refuses a
// task that arrives for a job that moved on), watch for cancellation, run body, and turn its
// error into the job's next state and asynq's retry decision.
func (h *Handler) run(ctx context.Context, t *asynq.Task, stage Stage, body func(context.Context, *attempt) error) error {
	p, err := decodePayload(t)
	if err != nil {
		return err
	}
	retry, maxRetry := h.retryInfo(ctx)
	_, err = h.runAttempt(ctx, t.Type(), p, stage, retry, maxRetry, body)
	return err
}

// decodePayload decodes the payload of a task of either type; a bad one is a permanent error.
func decodePayload(t *asynq.Task) (Payload, error) {
	var p Payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.JobID == "" || p.Fabric == "" {
		return p, fmt.Errorf("%s: bad payload %q: %w", t.Type(), t.Payload(), asynq.SkipRetry)
	}
	return p, nil
}

// runAttempt is run for attempt retry+1 (of at most maxRetry+1) of stage of the job p names, as
// a task of type typ. It returns the verdict of the attempt (verdictOK when it did not start
// because the job moved on) and what asynq is told.
func (h *Handler) runAttempt(ctx context.Context, typ string, p Payload, stage Stage, retry, maxRetry int, body func(context.Context, *attempt) error) (verdict, error) {
	a := &attempt{p: p, number: retry + 1, final: retry >= maxRetry}

	started, err := h.svc.update(ctx, p.JobID, func(j *Job) error { return j.start(stage, a.number, h.svc.clock()) })
	var te *TransitionError
	switch {
	case errors.Is(err, ErrJobNotFound):
		return verdictFinal, fmt.Errorf("%s: %w: %w", typ, err, asynq.SkipRetry)
	case errors.As(err, &te):
		// A re-delivery for a job that ended or moved past this stage: nothing to do, but a
		// slot an ended job still holds is released.
		if te.From.Terminal() {
			return verdictOK, h.svc.release(ctx, p.Fabric, p.JobID)
		}
		return verdictOK, nil
	case err != nil:
		return verdictInterrupted, err // the attempt never started: it runs again
	}
	fab, ok := h.cfg.Fabrics.Fabric(started.Fabric)
	a.dryRun = started.DryRun

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a.cancel = cancel
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.watchCancel(runCtx, p.JobID, a)
	}()
	begin := h.svc.clock()
	if !ok {
		err = permanent("fabric %q is no longer in the configuration", started.Fabric)
	} else {
		a.fab = fab
		err = body(runCtx, a)
	}
	outcome := "succeeded"
	if err != nil {
		outcome = "failed"
	}
	h.svc.observe(ctx, histJobDuration, h.svc.clock().Sub(begin), string(stage), outcome)
	cancel(nil)
	wg.Wait()
	v := classify(err, ctx.Err(), context.Cause(runCtx), a.final)
	return v, h.conclude(ctx, v, a, stage, err)
}

// conclude records the outcome v of an attempt that returned err and returns what asynq is told.
func (h *Handler) conclude(ctx context.Context, v verdict, a *attempt, stage Stage, err error) error {
	id := a.p.JobID
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer rcancel()
	switch v {
	case verdictOK:
		return nil
	case verdictCanceled:
		_, _, endErr := h.svc.end(rctx, id, func(j *Job, now time.Time) error {
			j.logf(now, "cancel took effect during "+stage.name())
			return j.cancel("canceled by request", now)
		})
		return endErr
	case verdictInterrupted:
		h.note(rctx, id, 0, "attempt interrupted (the worker is shutting down, or the task was canceled in Asynqmon); it will be resumed or retried")
		return err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%s timed out: %w", stage.name(), err)
	}
	perm := IsPermanent(err)
	msg := err.Error()
	next := "will retry"
	switch {
	case perm:
		next = "not retried: this error is permanent"
	case v == verdictFinal:
		next = "no retries left"
	}
	var ve *ingest.ValidationError
	isVE := errors.As(err, &ve)
	var recErr error
	if _, uerr := h.svc.update(rctx, id, func(j *Job) error {
		if isVE {
			j.Ingest.Errors = docErrors(ve.Problems)
			j.Ingest.Problems = docErrors(ve.Problems, ve.Warnings)
		}
		return j.retry(stage, a.number, msg, next, h.svc.clock())
	}); uerr != nil && !errors.Is(uerr, ErrTransition) {
		recErr = uerr
	}
	if v == verdictFinal {
		if _, _, endErr := h.svc.end(rctx, id, func(j *Job, now time.Time) error {
			if stage == StageGitSync {
				return j.fail("git sync failed: "+msg, now)
			}
			reason := "ingestion failed; nothing was changed in the repository: " + msg
			a.mu.Lock()
			pushing := a.committed
			a.mu.Unlock()
			if pushing {
				reason = "ingestion failed while committing or pushing; the commit may have reached the remote (look for its Fabsync-Job trailer): " + msg
			}
			if isVE {
				reason = fmt.Sprintf("%s in raw files; nothing was changed in the repository", countProblems(len(ve.Problems), len(ve.Warnings)))
			}
			return j.partial(reason, now)
		}); endErr != nil && !errors.Is(endErr, ErrTransition) {
			recErr = errors.Join(recErr, endErr)
		}
	}
	if recErr != nil {
		err = errors.Join(err, fmt.Errorf("record job: %w", recErr))
	}
	if perm {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return err
}

// watchCancel polls the job's cancel flag until ctx ends, and cancels the attempt with
// errUserCanceled when it is set, unless the attempt passed its point of no return.
func (h *Handler) watchCancel(ctx context.Context, id string, a *attempt) {
	t := time.NewTicker(h.cfg.CancelPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if yes, err := h.svc.cancelRequested(ctx, id); err == nil && yes {
				a.cancelByUser()
				return
			}
		}
	}
}

// succeed ends the job succeeded with the pushed commit (or none), and logs the one line an
// operator reads for a good job.
func (h *Handler) succeed(ctx context.Context, id, commit, msg string) error {
	return h.succeedWith(ctx, id, commit, msg, nil)
}

// succeedDryRun ends a dry run succeeded with its plan.
func (h *Handler) succeedDryRun(ctx context.Context, id string, p *plan.Plan) error {
	return h.succeedWith(ctx, id, "", "plan: "+p.Summary, func(j *Job) {
		j.Plan = p
		j.logf(h.svc.clock(), "dry run: nothing was pushed")
	})
}

// succeedWith is succeed, with set applied to the job's record (when not nil) along with msg.
func (h *Handler) succeedWith(ctx context.Context, id, commit, msg string, set func(*Job)) error {
	// The work is done (perhaps pushed): record it even if a cancel or the deadline comes now.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if _, err := h.svc.update(ctx, id, func(j *Job) error {
		if set != nil {
			set(j)
		}
		j.logf(h.svc.clock(), msg)
		return nil
	}); err != nil {
		return err
	}
	j, ended, err := h.svc.end(ctx, id, func(j *Job, now time.Time) error { return j.succeed(commit, now) })
	if err != nil {
		return err
	}
	if ended {
		h.logSucceeded(ctx, j, commit)
	}
	return nil
}

// logSucceeded logs the one line an operator reads for a good job, j as it ended.
func (h *Handler) logSucceeded(ctx context.Context, j *Job, commit string) {
	var took time.Duration
	if j.FinishedAt != nil {
		took = j.FinishedAt.Sub(j.CreatedAt)
	}
	h.log.InfoContext(ctx, "job succeeded", "fabric", j.Fabric, "job_id", j.ID, "trigger", j.Trigger, "dry_run", j.DryRun,
		"files", j.Ingest.Files, "documents", j.Ingest.Documents, "created", j.Ingest.Created,
		"updated", j.Ingest.Updated, "unchanged", j.Ingest.Unchanged, "commit", commit,
		"duration", took.Round(time.Millisecond).String())
}

// countProblems says "3 errors and 1 warning".
func countProblems(errs, warns int) string {
	plural := func(n int, word string) string {
		if n == 1 {
			return "1 " + word
		}
		return fmt.Sprintf("%d %ss", n, word)
	}
	if warns == 0 {
		return plural(errs, "error")
	}
	return plural(errs, "error") + " and " + plural(warns, "warning")
}
