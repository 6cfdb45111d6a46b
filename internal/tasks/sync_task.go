package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/plan"
)

// HandleRepoSync runs a job's git sync stage and enqueues its ingest stage. A sync that finds
// nothing in raw/ and no hand edits to adopt or revert (drift) ends the job there: no second
// task, no second fetch. Unless HandlerConfig.NoHandoff is set, the ingest stage's first attempt
// then runs here, at once, and the ingest task reports its outcome (handoff.go).
func (h *Handler) HandleRepoSync(ctx context.Context, t *asynq.Task) error {
	var ho *handoff
	err := h.run(ctx, t, StageGitSync, func(ctx context.Context, a *attempt) error {
		var err error
		ho, err = h.syncBody(ctx, a)
		return err
	})
	if ho == nil {
		return err
	}
	defer ho.unlock()
	if err != nil { // not reached: a body that handed off returned nil
		return errors.Join(err, h.svc.finishHandoff(ctx, ho, ""))
	}
	h.ingestNow(ctx, ho)
	return nil // the git sync stage succeeded; the ingest task reports the ingest attempt
}

// syncBody is the git sync stage; it returns the ingest stage when this worker is to run it.
func (h *Handler) syncBody(ctx context.Context, a *attempt) (*handoff, error) {
	ho, err := h.gitSync(ctx, a)
	if err != nil && ho != nil {
		err = errors.Join(err, h.svc.finishHandoff(ctx, ho, "")) // the ingest task runs the stage
		ho = nil
	}
	return ho, err
}

func (h *Handler) gitSync(ctx context.Context, a *attempt) (*handoff, error) {
	c, err := h.client(ctx, a.fab)
	if err != nil {
		return nil, err
	}
	var unlock func() // the clone's lock, taken once the clone is needed
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	id := a.p.JobID
	known := "" // the remote head, when the nothing-new check asked for it
	if !a.dryRun {
		// A resync with nothing new: one round trip to the remote, no fetch, no checkout, no
		// ingest task (inventory.go, nothingNew).
		head, ok := h.nothingNew(ctx, c, a.fab)
		if ok {
			// Settled means no drift at this commit: the check says so, as a full sync would.
			if err := h.recordDrift(ctx, a, nil); err != nil {
				return nil, err
			}
			// One write ends the job: the git sync done at head, and succeeded.
			j, ended, err := h.svc.end(ctx, id, func(j *Job, now time.Time) error {
				if err := j.stageDone(StageGitSync, head, a.fab.Branch, now); err != nil {
					return err
				}
				j.logf(now, nothingNewMessage(a.fab.Branch, head))
				return j.succeed("", now)
			})
			if err == nil && ended {
				h.logSucceeded(ctx, j, "")
			}
			return nil, err
		}
		known = head
	}
	// The clone is shared by the fabrics of the branch: their tasks take turns (the check
	// above needs no clone, so it does not wait for a neighbour's ingest).
	var waited bool
	unlock, waited = h.lockWaited(a.fab)
	if waited {
		// A neighbour held the clone meanwhile and may have pushed: the head the check saw
		// may be stale, and a sync to it would only have its push refused. Ask again.
		known = ""
	}
	h.note(ctx, id, 2, "fetching "+c.URL())
	head, err := h.timed(ctx, "sync", func() (string, error) {
		if known != "" {
			// The check's answer is a moment old: the sync goes to that head without asking
			// again (one round trip less). If the branch moved since, the push is refused and
			// the job retried, or, when nothing is pushed, the next sync catches the new head.
			return c.SyncAt(ctx, known, h.gitProgress(ctx, id))
		}
		return c.Sync(ctx, h.gitProgress(ctx, id))
	})
	if err != nil {
		return nil, fmt.Errorf("git sync: %w", err)
	}
	if _, err := h.svc.update(ctx, id, func(j *Job) error {
		return j.stageDone(StageGitSync, head, a.fab.Branch, h.svc.clock())
	}); err != nil {
		return nil, err
	}
	pending, err := pending(c.Dir(), a.fab.Path)
	if err != nil {
		return nil, err
	}
	if !pending {
		// No raw files: look for hand edits. Drift that the fabric adopts or reverts goes on to
		// the ingest stage, which writes (and commits) the manifest or the restored files.
		drift, err := drifted(c.Dir(), a.fab.Path)
		if err != nil {
			return nil, err
		}
		mode := driftMode(a.fab.Drift)
		if !actOnDrift(mode, drift) {
			for i := range drift {
				if drift[i].Action == "" {
					drift[i].Action = ingest.DriftReported
				}
			}
			if err := h.recordDrift(ctx, a, drift); err != nil {
				return nil, err
			}
			if a.dryRun {
				return nil, h.succeedDryRun(ctx, id, plan.Build(nil, plan.DefaultMaxDiff))
			}
			h.publish(ctx, c, a, head, &ingest.Result{Drift: drift}, len(drift) == 0)
			return nil, h.succeed(ctx, id, "", "nothing to ingest: raw/ holds no YAML")
		}
		h.note(ctx, id, 41, fmt.Sprintf("raw/ holds no YAML, but %d resource files were changed by hand: going on to %s them (drift: %s)",
			len(drift), mode, mode))
	}
	// A cancel asked for while the git sync ran ends the job here rather than after the ingest
	// task it would start (which Cancel may already have looked for and not found).
	if yes, err := h.svc.cancelRequested(ctx, id); err == nil && yes {
		return nil, errUserCanceled
	}
	var ho *handoff
	if !h.cfg.NoHandoff {
		ho = h.svc.claimHandoff(ctx, a.p)
	}
	if err := h.svc.enqueueIngest(ctx, id, a.p.Fabric, ho != nil); err != nil {
		return ho, err
	}
	if yes, err := h.svc.cancelRequested(ctx, id); err == nil && yes {
		return ho, errUserCanceled // the ingest task, if it runs, finds the job ended
	}
	if ho != nil {
		// The in-process ingest goes on from this clone as it is: it keeps the fabric's lock.
		ho.head, ho.unlock, unlock = head, unlock, nil
	}
	return ho, nil
}

// actOnDrift reports whether the fabric's drift mode does something about drift that only the
// ingest stage can do: adopt it, or revert a file edited or removed by hand (a file added by
// hand has nothing to revert to, and is reported).
func actOnDrift(mode string, drift []ingest.Drift) bool {
	for _, d := range drift {
		switch {
		case mode == ingest.DriftAdopt:
			return true
		case mode == ingest.DriftRevert && d.Kind != ingest.DriftAdded:
			return true
		}
	}
	return false
}
