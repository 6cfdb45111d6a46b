package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// enqueuer is the part of *asynq.Client the service uses.
type enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Service is the job lifecycle shared by the API (trigger, cancel) and the worker (finish,
// reconcile). It is safe for concurrent use.
type Service struct {
	Store     *Store
	client    enqueuer
	inspector *asynq.Inspector
	now       func() time.Time
}

// NewService returns a Service on rdb. The caller closes rdb after the Service is no longer used.
func NewService(rdb redis.UniversalClient) *Service {
	return &Service{
		Store:     NewStore(rdb),
		client:    asynq.NewClientFromRedisClient(rdb),
		inspector: asynq.NewInspectorFromRedisClient(rdb),
		now:       time.Now,
	}
}

// Inspector returns the asynq inspector the service uses.
func (s *Service) Inspector() *asynq.Inspector { return s.inspector }

// Trigger asks for a sync of fabric (SPEC §3): it returns the already waiting job with
// SlotExisting, or a new job that runs now (SlotActive, its task enqueued) or after the running
// one (SlotWaiting). The caller checks that the fabric exists.
func (s *Service) Trigger(ctx context.Context, fabric, trigger string) (*Job, Slot, error) {
	j, slot, err := s.Store.Trigger(ctx, fabric, trigger)
	if err != nil || slot != SlotActive {
		return j, slot, err
	}
	if err := s.enqueueSync(ctx, j.ID, fabric); err != nil {
		// Nothing will run this job: end it now rather than leave it queued.
		s.end(context.WithoutCancel(ctx), j.ID, func(j *Job) {
			j.State = StateFailed
			j.GitSync.State = StageFailed
			j.Ingest.State = StageSkipped
			j.Reason = "could not enqueue the job: " + err.Error()
		})
		return nil, 0, err
	}
	return j, slot, nil
}

func (s *Service) enqueueSync(ctx context.Context, id, fabric string) error {
	t, err := NewRepoSyncTask(id, fabric)
	if err != nil {
		return err
	}
	if _, err := s.client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue sync of %s: %w", fabric, err)
	}
	return s.Store.markEnqueued(ctx, id)
}

// Cancel cancels a job. A job whose task is not running ends canceled at once; a running one is
// flagged and its handler stops at its next check. It wraps ErrJobEnded for a finished job and
// ErrJobNotFound for an unknown one.
func (s *Service) Cancel(ctx context.Context, id string) (*Job, error) {
	j, err := s.Store.RequestCancel(ctx, id)
	if err != nil {
		return j, err
	}
	running := false
	for _, t := range [][2]string{{QueueSync, syncTaskID(id)}, {QueueIngest, ingestTaskID(id)}} {
		info, err := s.inspector.GetTaskInfo(t[0], t[1])
		if err != nil {
			continue
		}
		switch info.State {
		case asynq.TaskStateActive:
			running = true
		case asynq.TaskStatePending, asynq.TaskStateScheduled, asynq.TaskStateRetry:
			if err := s.inspector.DeleteTask(t[0], t[1]); err != nil {
				running = true // it started meanwhile; its handler sees the flag
			}
		}
	}
	if !running {
		s.end(ctx, id, func(j *Job) {
			j.State = StateCanceled
			j.Reason = "canceled by request"
		})
	}
	return s.Store.Get(ctx, id)
}

// end moves a job to the final state set by fn (unless it already ended), releases the fabric's
// slot and starts the waiting job, if any. Failures are reported through the returned job only:
// the reconciler repairs whatever this could not do.
func (s *Service) end(ctx context.Context, id string, fn func(*Job)) (*Job, error) {
	now := s.now().UTC()
	ended := false
	j, err := s.Store.Update(ctx, id, func(j *Job) error {
		ended = false
		if Terminal(j.State) {
			return nil
		}
		ended = true
		fn(j)
		j.FinishedAt = &now
		// A stage that never ran is skipped; one cut short failed, unless the user canceled it.
		cut := StageFailed
		if j.State == StateCanceled {
			cut = StageSkipped
		}
		if j.GitSync.State == StagePending || j.GitSync.State == StageRunning {
			j.GitSync.State = cut
		}
		switch j.Ingest.State {
		case StagePending:
			j.Ingest.State = StageSkipped
		case StageRunning:
			j.Ingest.State = cut
		}
		msg := "job " + j.State
		if j.Reason != "" {
			msg += ": " + j.Reason
		}
		j.Progress = Progress{Stage: ProgressDone, Percent: 100, Message: msg}
		j.logf(now, msg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ended {
		recordJobEnd(ctx, s.Store.rdb, j)
	}
	return j, s.release(ctx, j.Fabric, id)
}

// release frees the fabric's slot held by id and enqueues the promoted job.
func (s *Service) release(ctx context.Context, fabric, id string) error {
	next, err := s.Store.release(ctx, fabric, id)
	if err != nil || next == "" {
		return err
	}
	return s.enqueueSync(ctx, next, fabric)
}

// taskState returns the state of a task, or 0 and false when the task does not exist.
func (s *Service) taskState(queue, id string) (*asynq.TaskInfo, bool) {
	info, err := s.inspector.GetTaskInfo(queue, id)
	if err != nil {
		return nil, false
	}
	return info, true
}

func alive(info *asynq.TaskInfo, ok bool) bool {
	if !ok {
		return false
	}
	switch info.State {
	case asynq.TaskStatePending, asynq.TaskStateActive, asynq.TaskStateScheduled, asynq.TaskStateRetry, asynq.TaskStateAggregating:
		return true
	}
	return false
}

// Reconcile ends every job whose tasks are gone (SPEC §3: no job stays running when its task
// was archived, deleted or lost) and restarts slots that a crash left without a task. grace is
// how long a new job may wait for its first enqueue. It returns how many jobs it changed.
func (s *Service) Reconcile(ctx context.Context, grace time.Duration) (int, error) {
	slots, err := s.Store.slots(ctx)
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

func (s *Service) reconcileJob(ctx context.Context, fabric, id string, grace time.Duration) (int, error) {
	j, err := s.Store.Get(ctx, id)
	if errors.Is(err, ErrJobNotFound) || (err == nil && Terminal(j.State)) {
		return 1, s.release(ctx, fabric, id)
	}
	if err != nil {
		return 0, err
	}
	syncInfo, syncOK := s.taskState(QueueSync, syncTaskID(id))
	ingInfo, ingOK := s.taskState(QueueIngest, ingestTaskID(id))
	if alive(syncInfo, syncOK) || alive(ingInfo, ingOK) {
		return 0, nil
	}
	if j.State == StateQueued {
		enq, err := s.Store.enqueued(ctx, id)
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
	if cancel, _ := s.Store.CancelRequested(ctx, id); cancel {
		_, err := s.end(ctx, id, func(j *Job) { j.State = StateCanceled; j.Reason = "canceled by request" })
		return 1, err
	}
	_, err = s.end(ctx, id, func(j *Job) {
		switch {
		case ingOK && ingInfo.State == asynq.TaskStateArchived:
			j.State = StatePartialSync
			j.Ingest.State = StageFailed
			j.Reason = "the ingest task was archived after its last attempt"
			if ingInfo.LastErr != "" {
				j.Reason += ": " + ingInfo.LastErr
			}
		case syncOK && syncInfo.State == asynq.TaskStateArchived:
			j.State = StateFailed
			j.Reason = "the git sync task was archived after its last attempt"
			if syncInfo.LastErr != "" {
				j.Reason += ": " + syncInfo.LastErr
			}
		default:
			j.State = StateFailed
			if j.Ingest.State == StageRunning {
				j.Ingest.State = StageFailed
			}
			j.Reason = "its task is gone (deleted from the queue or lost)"
		}
	})
	return 1, err
}

// Get returns the job with id, or an error wrapping ErrJobNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Job, error) { return s.Store.Get(ctx, id) }

// List returns up to limit of fabric's jobs, newest first.
func (s *Service) List(ctx context.Context, fabric string, limit int) ([]*Job, error) {
	return s.Store.List(ctx, fabric, limit)
}

// Latest returns each fabric's newest job (absent for a fabric without jobs).
func (s *Service) Latest(ctx context.Context, fabrics []string) (map[string]*Job, error) {
	return s.Store.Latest(ctx, fabrics)
}

// Ping checks that Redis answers.
func (s *Service) Ping(ctx context.Context) error { return s.Store.Ping(ctx) }
