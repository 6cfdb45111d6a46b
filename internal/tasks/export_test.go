package tasks

import (
	"context"
	"time"
)

// SetProgress exposes setProgress to the tests.
func SetProgress(j *Job, stage string, pct int, msg string) { j.setProgress(stage, pct, msg) }

// SetKeep changes how many jobs a fabric's history keeps.
func (s *Service) SetKeep(n int) { s.store.keep = n }

// SetClock replaces the service's clock.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetRetryInfo replaces asynq's retry count and limit in the handler.
func (h *Handler) SetRetryInfo(f func(context.Context) (int, int)) { h.retryInfo = f }

// Start moves a job into stage as a worker's attempt 1 would.
func (s *Service) Start(ctx context.Context, id string, stage Stage) (*Job, error) {
	return s.store.update(ctx, id, func(j *Job) error { return j.start(stage, 1, s.now()) })
}

// Update exposes the store's update to the tests.
func (s *Service) Update(ctx context.Context, id string, fn func(*Job) error) (*Job, error) {
	return s.store.update(ctx, id, fn)
}
