package tasks

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"
)

// HandleRepoSync runs a job's git sync stage and enqueues its ingest stage. A sync that finds
// nothing in raw/ ends the job there: no second task, no second fetch.
func (h *Handler) HandleRepoSync(ctx context.Context, t *asynq.Task) error {
	return h.run(ctx, t, StageGitSync, h.syncBody)
}

func (h *Handler) syncBody(ctx context.Context, a *attempt) error {
	c, err := h.client(ctx, a.fab)
	if err != nil {
		return err
	}
	unlock := h.lock(a.fab.Name)
	defer unlock()
	id := a.p.JobID
	h.note(ctx, id, 2, "fetching "+c.URL())
	head, err := h.timed(ctx, "sync", func() (string, error) { return c.Sync(ctx, h.gitProgress(ctx, id)) })
	if err != nil {
		return fmt.Errorf("git sync: %w", err)
	}
	if _, err := h.svc.update(ctx, id, func(j *Job) error {
		return j.stageDone(StageGitSync, head, a.fab.Branch, h.svc.clock())
	}); err != nil {
		return err
	}
	pending, err := pending(c.Dir(), a.fab.Path)
	if err != nil {
		return err
	}
	if !pending {
		return h.succeed(ctx, id, "", "nothing to ingest: raw/ holds no YAML")
	}
	// A cancel asked for while the git sync ran ends the job here rather than after the ingest
	// task it would start (which Cancel may already have looked for and not found).
	if yes, err := h.svc.cancelRequested(ctx, id); err == nil && yes {
		return errUserCanceled
	}
	if err := h.svc.enqueueIngest(ctx, id, a.p.Fabric); err != nil {
		return err
	}
	if yes, err := h.svc.cancelRequested(ctx, id); err == nil && yes {
		return errUserCanceled // the ingest task, if it runs, finds the job ended
	}
	return nil
}
