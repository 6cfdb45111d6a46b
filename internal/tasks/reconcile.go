package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Reconcile ends every job whose tasks are gone (no job stays running when its task was
// archived, deleted or lost) and restarts slots that a crash left without a task. grace is how
// long a new job may wait for its first enqueue. It returns how many jobs it changed.
func (s *Service) Reconcile(ctx context.Context, grace time.Duration) (int, error) {
	slots, err := s.store.slots(ctx)
	if err != nil {
		return 0, err
	}
	changed := 0
	var errs []error
	for fabric, pair := range slots {
		id := pair[0]
		if id == "" {
			continue
		}
		n, err := s.reconcileJob(ctx, fabric, id, grace)
		changed += n
		if err != nil {
			errs = append(errs, fmt.Errorf("reconcile %s: %w", fabric, err))
		}
	}
	return changed, errors.Join(errs...)
}

// taskInfo returns a task's info, or nil when the task does not exist.
func (s *Service) taskInfo(queue, id string) *asynq.TaskInfo {
	info, err := s.inspector.GetTaskInfo(queue, id)
	if err != nil {
		return nil
	}
	return info
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

func (s *Service) reconcileJob(ctx context.Context, fabric, id string, grace time.Duration) (int, error) {
	j, err := s.store.get(ctx, id)
	if errors.Is(err, ErrJobNotFound) || (err == nil && j.State.Terminal()) {
		return 1, s.release(ctx, fabric, id)
	}
	if err != nil {
		return 0, err
	}
	syncInfo := s.taskInfo(QueueSync, syncTaskID(id))
	ingInfo := s.taskInfo(QueueIngest, ingestTaskID(id))
	if alive(syncInfo) || alive(ingInfo) {
		return 0, nil
	}
	if j.State == StateQueued {
		enq, err := s.store.enqueued(ctx, id)
		if err != nil {
			return 0, err
		}
		if !enq {
			if s.now().Sub(j.UpdatedAt) < grace {
				return 0, nil
			}
			return 1, s.enqueueSync(ctx, id, fabric)
		}
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
