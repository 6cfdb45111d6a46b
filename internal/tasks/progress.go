package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
)

// Progress of a job, in percent: git sync 1–40, ingest 42–80 (validating 45–60, writing 60–75),
// commit and push 80–99, done 100. Recording progress is best effort: it never fails a task.

// recordEvery is how often, at most, a stream of progress callbacks is written to Redis.
const recordEvery = 250 * time.Millisecond

// note moves the job's progress and adds a log line.
func (h *Handler) note(ctx context.Context, id string, percent int, msg string) {
	_, err := h.svc.update(ctx, id, func(j *Job) error {
		j.setProgress(j.Progress.Stage, percent, msg)
		j.logf(h.svc.clock(), msg)
		return nil
	})
	if err != nil {
		h.log.WarnContext(ctx, "record job progress", "job_id", id, "err", err)
	}
}

// gitProgress returns a gitops progress callback that maps the server's transfer phases to
// 2–39 %.
func (h *Handler) gitProgress(ctx context.Context, id string) func(gitops.Progress) {
	record := h.recorder(ctx, id, ProgressGitSync)
	return func(p gitops.Progress) {
		if p.Total <= 0 {
			return
		}
		lo, hi := gitPhaseRange(p.Phase)
		record(lo+(hi-lo)*min(p.Done, p.Total)/p.Total, fmt.Sprintf("%s objects: %d/%d", p.Phase, p.Done, p.Total), false)
	}
}

// gitPhaseRange is the percent range of a git transfer phase.
func gitPhaseRange(phase string) (lo, hi int) {
	switch phase {
	case "counting", "enumerating":
		return 2, 15
	case "compressing":
		return 15, 35
	}
	return 35, 39 // receiving, resolving, writing
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

// recorder returns a function that records the job's progress at most once per recordEvery,
// and always when final is set.
func (h *Handler) recorder(ctx context.Context, id, stage string) func(pct int, msg string, final bool) {
	var last time.Time
	return func(pct int, msg string, final bool) {
		now := h.svc.clock()
		if !final && now.Sub(last) < recordEvery {
			return
		}
		last = now
		_, _ = h.svc.update(ctx, id, func(j *Job) error {
			j.setProgress(stage, pct, msg)
			return nil
		})
	}
}

// timed runs a git operation and records its duration.
func (h *Handler) timed(ctx context.Context, op string, fn func() (string, error)) (string, error) {
	begin := h.svc.clock()
	v, err := fn()
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	h.svc.observe(ctx, histGitOperations, h.svc.clock().Sub(begin), op, outcome)
	return v, err
}
