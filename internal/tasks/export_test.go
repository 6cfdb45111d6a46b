package tasks

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/config"
)

// CloneDir is where a Handler with dataDir keeps the clone fabric f reads.
func CloneDir(dataDir string, f config.Fabric) string {
	return filepath.Join(dataDir, "repos", cloneKey(f))
}

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

// RequestCancel sets a job's cancel flag only, as Cancel does for a job whose task runs.
func (s *Service) RequestCancel(ctx context.Context, id string) error {
	_, err := s.store.requestCancel(ctx, id)
	return err
}

// Redis returns the service's Redis client.
func (s *Service) Redis() redis.UniversalClient { return s.store.rdb }

// SetAfterLookup makes the reconciler call f after it looked each job's tasks up.
func (s *Service) SetAfterLookup(f func()) { s.afterLookup = f }

// EnqueueSync enqueues the job's first task and marks the job enqueued, as a trigger does.
func (s *Service) EnqueueSync(ctx context.Context, id, fabric string) error {
	return s.enqueueSync(ctx, id, fabric)
}

// ForgetEnqueued clears the job's enqueued mark, as if its enqueue never happened.
func (s *Service) ForgetEnqueued(ctx context.Context, id string) error {
	return s.store.rdb.HDel(ctx, jobKey(id), fieldEnqueued).Err()
}

// HoldHandoff takes the job's ingest stage for an in-process run and starts its attempt 1, as the
// worker that ran the job's git sync does before it dies without ever renewing its lease.
func (s *Service) HoldHandoff(ctx context.Context, id, fabric string) error {
	if s.claimHandoff(ctx, Payload{JobID: id, Fabric: fabric}) == nil {
		return errors.New("handoff not claimed")
	}
	_, err := s.Start(ctx, id, StageIngest)
	return err
}

// HandoffLease is how long an in-process run of the ingest stage holds it without renewing.
const HandoffLease = handoffLease

// ReleaseResync gives back the claim of fabric's current scheduler tick, as its hold running
// out would.
func (s *Service) ReleaseResync(ctx context.Context, fabric string) error {
	return s.releaseResync(ctx, fabric)
}

// ResyncClaimKey is the key of a fabric's resync claim.
func ResyncClaimKey(fabric string) string { return resyncClaimKey(fabric) }

// JobKey is the key of a job's record.
func JobKey(id string) string { return jobKey(id) }
