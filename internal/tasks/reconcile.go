package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Reconcile ends every job whose tasks are gone (no job stays running when its task was
// archived, deleted or lost) and restarts slots that a crash left without a task. grace is how
// long a new job may wait for its first enqueue. It returns how many jobs it changed.
//
// It also notices when Redis lost its data (a restart without persistence, FLUSHALL, a failover
// to an empty replica): it writes asynq's queue list back, so task lookups work again without a
// restart, and enqueues again the tasks of any job whose record survived but whose tasks did
// not, instead of failing it.
func (s *Service) Reconcile(ctx context.Context, grace time.Duration) (int, error) {
	var migrateErr error // a conflict is reported once, not retried: the old keys stay, for a person to look at
	if !s.migrated.Load() {
		if _, migrateErr = s.MigrateKeys(ctx); migrateErr != nil && !errors.Is(migrateErr, errMigrateConflict) {
			return 0, migrateErr
		}
		s.migrated.Store(true)
	}
	lost, epoch, err := s.recoverLoss(ctx)
	if err != nil {
		return 0, err
	}
	slots, err := s.store.slots(ctx)
	if err != nil {
		return 0, err
	}
	changed := 0
	var errs []error
	for fabric, ids := range slots {
		// The running job and the dry run; a waiting job has no task yet.
		for _, id := range []string{ids[0], ids[2]} {
			if id == "" {
				continue
			}
			n, err := s.reconcileJob(ctx, fabric, id, grace, lost)
			changed += n
			if err != nil {
				errs = append(errs, fmt.Errorf("reconcile %s: %w", fabric, err))
			}
		}
	}
	if len(errs) == 0 {
		// Only a pass that looked at every job settles a loss; until then each pass resumes.
		s.setEpoch(epoch)
	}
	return changed, errors.Join(append(errs, migrateErr)...)
}

// errUnknown is a task lookup that could not be answered (Redis unreachable).
var errUnknown = errors.New("cannot tell whether the job's tasks still exist")

// recoverLoss reports whether Redis lost its data since this service last settled the epoch:
// the epoch key, set once by the first process to look, is gone or was set anew. Then it writes
// asynq's queue list back. It returns the epoch to settle on once the pass succeeded.
func (s *Service) recoverLoss(ctx context.Context) (bool, string, error) {
	rdb := s.store.rdb
	var b [8]byte
	_, _ = rand.Read(b[:])
	if err := rdb.SetNX(ctx, epochKey(), hex.EncodeToString(b[:]), 0).Err(); err != nil {
		return false, "", fmt.Errorf("check for a Redis data loss: %w", err)
	}
	epoch, err := rdb.Get(ctx, epochKey()).Result()
	if err != nil {
		return false, "", fmt.Errorf("check for a Redis data loss: %w", err)
	}
	s.mu.Lock()
	seen := s.epoch
	if seen == "" {
		s.epoch = epoch // the first look: nothing to recover from
	}
	s.mu.Unlock()
	if seen == "" {
		// Both queues are known to asynq (and shown in the dashboard) from the first pass on,
		// not only once a task was enqueued into each.
		return false, epoch, s.publishQueues(ctx)
	}
	if seen == epoch {
		return false, epoch, nil
	}
	return true, epoch, s.publishQueues(ctx)
}

func (s *Service) setEpoch(epoch string) {
	s.mu.Lock()
	s.epoch = epoch
	s.mu.Unlock()
}

// publishQueues adds fabsync's queues to asynq's queue list.
func (s *Service) publishQueues(ctx context.Context) error {
	if err := s.store.rdb.SAdd(ctx, asynqQueuesKey(), QueueSync, QueueIngest, QueueNotify).Err(); err != nil {
		return fmt.Errorf("publish queues: %w", err)
	}
	return nil
}

// lookup returns a task's info: nil and true when the task does not exist, nil and false when
// that cannot be known now (Redis unreachable). A queue missing from asynq's list (after a data
// loss) is published again and the task looked up once more.
func (s *Service) lookup(ctx context.Context, queue, id string) (*asynq.TaskInfo, bool) {
	for try := 0; ; try++ {
		info, err := s.inspector.GetTaskInfo(queue, id)
		switch {
		case err == nil:
			return info, true
		case errors.Is(err, asynq.ErrTaskNotFound):
			return nil, true
		case errors.Is(err, asynq.ErrQueueNotFound) && try == 0:
			if s.publishQueues(ctx) != nil {
				return nil, false
			}
			continue
		case errors.Is(err, asynq.ErrQueueNotFound):
			return nil, true // the queue has never held a task
		}
		return nil, false
	}
}

// alive reports whether a task will still run (or is running).
func alive(info *asynq.TaskInfo) bool {
	if info == nil {
		return false
	}
	switch info.State {
	case asynq.TaskStatePending, asynq.TaskStateActive, asynq.TaskStateScheduled, asynq.TaskStateRetry, asynq.TaskStateAggregating:
		return true
	}
	return false
}

func (s *Service) reconcileJob(ctx context.Context, fabric, id string, grace time.Duration, lost bool) (int, error) {
	j, err := s.store.get(ctx, id)
	if errors.Is(err, ErrJobNotFound) || (err == nil && j.State.Terminal()) {
		return 1, s.release(ctx, fabric, id)
	}
	if err != nil {
		return 0, err
	}
	// Whether a queued job's first task was enqueued is read before its tasks are looked up:
	// a trigger enqueues the task, then marks the job, so a mark read after lookups that found
	// nothing may be a trigger that finished in between, not a task gone.
	enq := true
	if j.State == StateQueued {
		if enq, err = s.store.enqueued(ctx, id); err != nil {
			return 0, err
		}
	}
	syncInfo, syncKnown := s.lookup(ctx, QueueSync, syncTaskID(id))
	ingInfo, ingKnown := s.lookup(ctx, QueueIngest, ingestTaskID(id))
	if s.afterLookup != nil {
		s.afterLookup()
	}
	if !syncKnown || !ingKnown {
		return 0, errUnknown
	}
	if alive(syncInfo) || alive(ingInfo) {
		return 0, nil
	}
	if lost && syncInfo == nil && ingInfo == nil {
		return 1, s.resume(ctx, j)
	}
	if !enq {
		if s.now().Sub(j.UpdatedAt) < grace {
			return 0, nil
		}
		return 1, s.enqueueSync(ctx, id, fabric)
	}
	if cancel, _ := s.store.cancelRequested(ctx, id); cancel {
		_, _, err := s.end(ctx, id, cancelByRequest)
		return 1, err
	}
	_, _, err = s.end(ctx, id, func(j *Job, now time.Time) error { return goneTransition(j, syncInfo, ingInfo, now) })
	return 1, err
}

// goneTransition ends a job whose tasks no longer exist: partial_sync when its ingest task was
// archived after its last attempt, failed otherwise, with the reason.
func goneTransition(j *Job, syncInfo, ingInfo *asynq.TaskInfo, now time.Time) error {
	switch {
	case ingInfo != nil && ingInfo.State == asynq.TaskStateArchived && j.allowed(EventPartial, ""):
		reason := "the ingest task was archived after its last attempt"
		if ingInfo.LastErr != "" {
			reason += ": " + ingInfo.LastErr
		}
		return j.partial(reason, now)
	case syncInfo != nil && syncInfo.State == asynq.TaskStateArchived:
		reason := "the git sync task was archived after its last attempt"
		if syncInfo.LastErr != "" {
			reason += ": " + syncInfo.LastErr
		}
		return j.fail(reason, now)
	}
	return j.fail("its task is gone (deleted from the queue or lost)", now)
}

// resume enqueues again the task a job whose tasks were lost with Redis's data needs next.
func (s *Service) resume(ctx context.Context, j *Job) error {
	if _, err := s.store.update(ctx, j.ID, func(j *Job) error {
		j.logf(s.now(), "Redis lost its data, with this job's task; the task was enqueued again")
		return nil
	}); err != nil {
		return err
	}
	if j.State == StateIngesting {
		return s.enqueueIngest(ctx, j.ID, j.Fabric, false)
	}
	return s.enqueueSync(ctx, j.ID, j.Fabric)
}
