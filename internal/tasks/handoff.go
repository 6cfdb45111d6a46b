package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// This file hands a job's ingest stage to the worker that just ran its git sync, so that a job
// does not wait for a worker's idle poll between its two tasks, while the ingest task stays what
// it was: the second task of the chain in Asynqmon, with its retries, and the crash-safe record
// that the stage must run.
//
// At the end of its git sync the sync task takes the stage in Redis (handoffKey, a lease),
// enqueues the ingest task as usual but handoffDelay in the future, and runs the stage's first
// attempt in-process, exactly as the ingest task's first delivery would (same frame, same
// attempt number and retry limit, same job states). When it ends the run leaves its outcome in
// the key; the ingest task, when it runs, finds the outcome and reports it to asynq as its own
// (nil, a retry or an archive): the stage ran once, and the task carried it.
//
// The ingest task is the fallback for everything else. A run that was interrupted (shutdown)
// frees the stage and the task runs it. A worker killed during the run stops renewing its lease:
// the task waits while the lease is live, then records the lost attempt and fails it, as asynq
// does for a crashed task (one retry used), and its retry runs the stage; the job's trailer keeps
// that to one commit. An ingest task that got to the stage first (one that an earlier delivery
// of the sync task enqueued) keeps it: no in-process run starts once the key exists.

const (
	// handoffDelay is how far in the future a handed-off stage's ingest task is scheduled: a
	// small job ends in-process before the task is due, so the task does not wait in a worker
	// slot for it.
	handoffDelay = 2 * time.Second
	// handoffLease is how long an in-process run holds the stage without renewing it; it renews
	// every third of that.
	handoffLease = 15 * time.Second
	// handoffPoll is how often an ingest task looks again while an in-process run holds the stage.
	handoffPoll = 100 * time.Millisecond
	// handoffKept is how long the key is kept: longer than any wait of the ingest task.
	handoffKept = 24 * time.Hour
	// handoffMargin ends an in-process run this long before the sync task's deadline, so that
	// the attempt is recorded (as timed out) before asynq gives up on the sync task.
	handoffMargin = 30 * time.Second
)

// errHandoffLost fails the ingest task's first delivery when the worker that ran that attempt
// in-process stopped during it: like the crash of a task, it uses up one retry.
var errHandoffLost = errors.New("the worker that ran this attempt in-process stopped before it ended")

// handoff is a job's ingest stage, held by the in-process run of the worker that ran its git
// sync.
type handoff struct {
	p     Payload
	token string
	// head is the remote head the git sync brought the clone to, under the fabric's lock,
	// which unlock releases; the in-process run starts from there.
	head   string
	unlock func()
}

// claimHandoff takes job p's ingest stage for an in-process run. It returns nil when the stage
// was taken before (by an ingest task, or an earlier delivery of the sync task) or cannot be
// taken now: the ingest task then runs it.
func (s *Service) claimHandoff(ctx context.Context, p Payload) *handoff {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil
	}
	ho := &handoff{p: p, token: hex.EncodeToString(b[:]), unlock: func() {}}
	ok, err := s.store.rdb.SetNX(ctx, handoffKey(p.JobID), ho.value(s.now().Add(handoffLease)), handoffKept).Result()
	if err != nil || !ok {
		return nil
	}
	return ho
}

func (ho *handoff) value(deadline time.Time) string {
	return "run " + ho.token + " " + strconv.FormatInt(deadline.UnixMilli(), 10)
}

// renewHandoff extends the run's lease; false means the run no longer holds the stage.
func (s *Service) renewHandoff(ctx context.Context, ho *handoff) (bool, error) {
	n, err := renewHandoffScript.Run(ctx, s.store.rdb, []string{handoffKey(ho.p.JobID)},
		ho.token, s.now().Add(handoffLease).UnixMilli()).Int()
	if err != nil {
		return true, fmt.Errorf("renew the ingest handoff of %s: %w", ho.p.JobID, err)
	}
	return n == 1, nil
}

// finishHandoff ends the run: it leaves outcome ("done …") for the ingest task, or, when outcome
// is empty, frees the stage for the task to run. It records even after ctx ended.
func (s *Service) finishHandoff(ctx context.Context, ho *handoff, outcome string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := finishHandoffScript.Run(ctx, s.store.rdb, []string{handoffKey(ho.p.JobID)}, ho.token, outcome).Err(); err != nil {
		return fmt.Errorf("finish the ingest handoff of %s: %w", ho.p.JobID, err)
	}
	return nil
}

// takeHandoff is the ingest task's look at the stage; see takeHandoffScript.
func (s *Service) takeHandoff(ctx context.Context, id string) (string, error) {
	res, err := takeHandoffScript.Run(ctx, s.store.rdb, []string{handoffKey(id)},
		s.now().UnixMilli(), handoffKept.Milliseconds()).Text()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("look at the ingest handoff of %s: %w", id, err)
	}
	return res, nil
}

// ingestNow runs the first attempt of the ingest stage that ho holds, in this process, as the
// ingest task's first delivery would (but from the clone the git sync just brought to the
// remote head, without fetching again), and leaves its outcome for that task. ctx is the sync
// task's: the attempt ends handoffMargin before its deadline, and within IngestTimeout.
func (h *Handler) ingestNow(ctx context.Context, ho *handoff) {
	ictx, cancel := context.WithTimeout(ctx, IngestTimeout)
	defer cancel()
	if dl, ok := ctx.Deadline(); ok {
		var cancelDl context.CancelFunc
		ictx, cancelDl = context.WithDeadline(ictx, dl.Add(-handoffMargin))
		defer cancelDl()
	}
	renewCtx, stopRenew := context.WithCancel(ictx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.keepHandoff(renewCtx, ho, cancel)
	}()
	v, err := h.runAttempt(ictx, TypeIngest, ho.p, StageIngest, 0, IngestMaxRetry, func(ctx context.Context, a *attempt) error {
		return h.ingestStage(ctx, a, ho.head) // under the lock the git sync took
	})
	stopRenew()
	wg.Wait()
	outcome := "" // interrupted, or never started: the ingest task runs the stage
	if v != verdictInterrupted {
		outcome = handoffOutcome(err)
	}
	if ferr := h.svc.finishHandoff(ctx, ho, outcome); ferr != nil {
		// The lease runs out and the ingest task takes over, as after a crash.
		h.log.WarnContext(ctx, "hand the ingest outcome to its task", "job_id", ho.p.JobID, "err", ferr)
	}
}

// keepHandoff renews ho's lease until ctx ends; when the run lost the stage (its lease ran out
// and the ingest task took over) it stops the run with lost.
func (h *Handler) keepHandoff(ctx context.Context, ho *handoff, lost context.CancelFunc) {
	t := time.NewTicker(handoffLease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			held, err := h.svc.renewHandoff(ctx, ho)
			if err != nil {
				continue // Redis is away: the lease is good for a while yet
			}
			if !held {
				lost()
				return
			}
		}
	}
}

// handoffOutcome is what an in-process attempt that returned err leaves for the ingest task.
func handoffOutcome(err error) string {
	switch {
	case err == nil:
		return "done"
	case errors.Is(err, asynq.SkipRetry):
		return "done skip " + strings.TrimSuffix(err.Error(), ": "+asynq.SkipRetry.Error())
	}
	return "done retry " + err.Error()
}

// handoffError is what the ingest task tells asynq for the outcome an in-process attempt left.
func handoffError(outcome string) error {
	rest, _ := strings.CutPrefix(outcome, "done")
	if msg, ok := strings.CutPrefix(rest, " skip "); ok {
		return fmt.Errorf("%w: %w", errors.New(msg), asynq.SkipRetry)
	}
	if msg, ok := strings.CutPrefix(rest, " retry "); ok {
		return errors.New(msg)
	}
	return nil
}

// takeOver is the start of every delivery of the ingest task. When the stage was handed off it
// waits while the in-process run holds it, then reports that run's outcome (true, with
// what asynq is told). It returns false when the task is to run the stage itself.
func (h *Handler) takeOver(ctx context.Context, t *asynq.Task) (bool, error) {
	p, err := decodePayload(t)
	if err != nil {
		return false, nil // run reports it
	}
	var wait *time.Timer
	for {
		res, err := h.svc.takeHandoff(ctx, p.JobID)
		switch {
		case err != nil:
			return true, err
		case res == "lost":
			return h.lostHandoff(ctx, p)
		case strings.HasPrefix(res, "done"):
			return true, handoffError(res)
		case res != "busy": // "free"
			return false, nil
		}
		if wait == nil {
			wait = time.NewTimer(handoffPoll)
			defer wait.Stop()
		} else {
			wait.Reset(handoffPoll)
		}
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-wait.C:
		}
	}
}

// lostHandoff records the in-process attempt whose worker stopped during it as failed and fails
// the task with errHandoffLost, so that asynq retries it. A job that ended, or whose ingest
// stage never started, has no attempt to record: the task goes on as usual.
func (h *Handler) lostHandoff(ctx context.Context, p Payload) (bool, error) {
	_, err := h.svc.update(ctx, p.JobID, func(j *Job) error {
		return j.retry(StageIngest, j.Ingest.Attempts, errHandoffLost.Error(), "will retry", h.svc.clock())
	})
	switch {
	case errors.Is(err, ErrTransition), errors.Is(err, ErrJobNotFound):
		return false, nil
	case err != nil:
		return true, err
	}
	return true, errHandoffLost
}
