package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// enqueuer is the part of *asynq.Client the service uses.
type enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Service is the package's one public face: the job lifecycle shared by the API (trigger, read,
// cancel) and the worker (run, finish, reconcile). It is safe for concurrent use.
type Service struct {
	store     *store
	client    enqueuer
	inspector *asynq.Inspector
	now       func() time.Time
	log       *slog.Logger             // SetLogger; where a failed enqueue of a job's notifications is told [discards]
	notifies  func(fabric string) bool // SetNotifies; nil: every job end enqueues its notifications
	replicas  int                      // SetReplicaWait: replicas a new job must reach [0: none]
	replicaTO time.Duration            // how long a trigger waits for them

	mu    sync.Mutex
	epoch string // the Redis epoch this service last saw (see Reconcile)

	migrated atomic.Bool // MigrateKeys ran (Reconcile runs it once)

	afterLookup func() // tests: called by the reconciler after it looked a job's tasks up
}

// NewService returns a Service on rdb. The caller closes rdb after the Service is no longer used.
func NewService(rdb redis.UniversalClient) *Service {
	s := &Service{
		client:    asynq.NewClientFromRedisClient(rdb),
		inspector: asynq.NewInspectorFromRedisClient(rdb),
		now:       time.Now,
		log:       slog.New(slog.DiscardHandler),
	}
	s.store = &store{rdb: rdb, now: s.clock, keep: jobsKept}
	return s
}

// clock is the one clock of the package: every recorded time comes from it.
func (s *Service) clock() time.Time { return s.now() }

// Inspector returns the asynq inspector the service uses.
func (s *Service) Inspector() *asynq.Inspector { return s.inspector }

// Get returns the job with id, or an error wrapping ErrJobNotFound.
func (s *Service) Get(ctx context.Context, id string) (*Job, error) { return s.store.get(ctx, id) }

// JobJSON returns the job with id as JSON: byte for byte json.Marshal of the Job that Get
// returns, read in one Redis round trip and, for a record written by this version of fabsync,
// without decoding or encoding it. It wraps ErrJobNotFound for an unknown job.
func (s *Service) JobJSON(ctx context.Context, id string) ([]byte, error) {
	return s.store.getJSON(ctx, id)
}

// List returns up to limit of fabric's jobs, newest first.
func (s *Service) List(ctx context.Context, fabric string, limit int) ([]*Job, error) {
	return s.store.list(ctx, fabric, limit)
}

// Latest returns each fabric's newest job (absent for a fabric without jobs), in two pipelined
// Redis round trips however many fabrics there are.
func (s *Service) Latest(ctx context.Context, fabrics []string) (map[string]*Job, error) {
	return s.store.latest(ctx, fabrics)
}

// Ping checks that Redis answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.rdb.Ping(ctx).Err() }

// Trigger asks for a sync of fabric: it returns the already waiting job with SlotExisting, or a
// new job that runs now (SlotActive, its task enqueued) or after the running one (SlotWaiting).
// At most one job per fabric runs and at most one waits (dry runs are apart: TriggerDryRun).
// The caller checks that the fabric exists.
func (s *Service) Trigger(ctx context.Context, fabric, trigger string) (*Job, Slot, error) {
	j, slot, err := s.store.trigger(ctx, fabric, trigger)
	return s.startTriggered(ctx, fabric, j, slot, err)
}

// TriggerDryRun asks for a dry run of fabric: a job (DryRun set) that syncs, ingests and
// validates exactly as a real one, records its Plan and pushes nothing. Dry runs have a slot of
// their own, one per fabric: it returns the fabric's active (queued or running) dry run with
// SlotExisting, or a new one that runs now (SlotActive). A dry run neither waits for nor holds
// up the fabric's real jobs in Redis; a worker runs one task of a fabric at a time, so a real job
// waits at most for the dry run's task that holds the clone. The caller checks that the fabric
// exists.
func (s *Service) TriggerDryRun(ctx context.Context, fabric, trigger string) (*Job, Slot, error) {
	j, slot, err := s.store.triggerDryRun(ctx, fabric, trigger)
	return s.startTriggered(ctx, fabric, j, slot, err)
}

// SetReplicaWait makes every trigger that creates a job wait, before it answers, until n
// replicas of the Redis master hold the job and its task (Redis WAIT), for at most timeout. With
// Sentinel this is what makes an acknowledged trigger survive a failover: replication is
// asynchronous, and a job the master took but no replica had yet would be lost with it. When
// fewer replicas answer in time the trigger still succeeds (the job is on the master, as with a
// single Redis) and the shortfall is logged. Call before the Service is used.
func (s *Service) SetReplicaWait(n int, timeout time.Duration) { s.replicas, s.replicaTO = n, timeout }

// ReplicaWait is the replica wait REDIS_URL asks for: a Sentinel URL (redis-sentinel://) waits
// for one replica for up to a second; any other URL for none.
func ReplicaWait(redisURL string) (int, time.Duration) {
	if strings.HasPrefix(redisURL, "redis-sentinel://") {
		return 1, time.Second
	}
	return 0, 0
}

// awaitReplicas waits for the replicas SetReplicaWait asks for to have every write the master
// took so far: a write to a key of fabric's slot and a WAIT on the same connection (WAIT counts
// the connection's own writes, and the master's replication stream is one ordered log).
func (s *Service) awaitReplicas(ctx context.Context, fabric string) {
	if s.replicas <= 0 {
		return
	}
	pipe := s.store.rdb.Pipeline()
	pipe.Set(ctx, fenceKey(fabric), "1", time.Minute)
	wait := pipe.Do(ctx, "WAIT", s.replicas, s.replicaTO.Milliseconds())
	_, err := pipe.Exec(ctx)
	acked, _ := wait.Int()
	if err != nil || acked < s.replicas {
		s.log.WarnContext(ctx, "a new job is not on a Redis replica yet; a failover now would lose it",
			"fabric", fabric, "replicas", acked, "wanted", s.replicas, "err", err)
	}
}

// startTriggered enqueues the first task of a job that got the fabric's slot; one that cannot
// be enqueued ends failed at once.
func (s *Service) startTriggered(ctx context.Context, fabric string, j *Job, slot Slot, err error) (*Job, Slot, error) {
	if err == nil && slot == SlotWaiting {
		s.awaitReplicas(ctx, fabric)
	}
	if err != nil || slot != SlotActive {
		return j, slot, err
	}
	defer s.awaitReplicas(ctx, fabric) // the job and its task, enqueued below
	if err := s.enqueueSync(ctx, j.ID, fabric); err != nil {
		// Nothing will run this job: end it now rather than leave it queued. If even that
		// fails, the reconciler enqueues it after its grace period.
		reason := "could not enqueue the job: " + err.Error()
		if _, _, endErr := s.end(context.WithoutCancel(ctx), j.ID, func(j *Job, now time.Time) error {
			return j.fail(reason, now)
		}); endErr != nil {
			err = errors.Join(err, fmt.Errorf("record job: %w", endErr))
		}
		return nil, 0, err
	}
	return j, slot, nil
}

func (s *Service) enqueueSync(ctx context.Context, id, fabric string) error {
	if err := s.enqueue(ctx, NewRepoSyncTask, id, fabric); err != nil {
		return err
	}
	return s.store.markEnqueued(ctx, id)
}

// enqueueIngest enqueues the second task of job id; a task already there is fine. A task whose
// stage was handed off to an in-process run is its fallback: it is due handoffDelay from now.
func (s *Service) enqueueIngest(ctx context.Context, id, fabric string, handedOff bool) error {
	if handedOff {
		return s.enqueue(ctx, NewIngestTask, id, fabric, asynq.ProcessIn(handoffDelay))
	}
	return s.enqueue(ctx, NewIngestTask, id, fabric)
}

// enqueue enqueues the task newTask builds for job id, with opts; a task with its ID already
// there is fine (a re-delivery, or a race with the reconciler).
func (s *Service) enqueue(ctx context.Context, newTask func(id, fabric string) (*asynq.Task, error), id, fabric string, opts ...asynq.Option) error {
	t, err := newTask(id, fabric)
	if err != nil {
		return err
	}
	if _, err := s.client.EnqueueContext(ctx, t, opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s of %s: %w", t.Type(), fabric, err)
	}
	return nil
}

// Cancel cancels a job. A job whose task is not running ends canceled at once; a running one is
// flagged and its handler stops at its next check. It wraps ErrJobEnded for a finished job and
// ErrJobNotFound for an unknown one.
func (s *Service) Cancel(ctx context.Context, id string) (*Job, error) {
	j, err := s.store.requestCancel(ctx, id)
	if err != nil {
		return j, err
	}
	// While one of the job's tasks runs, its handler sees the flag and ends the job; the other
	// task is left in place: a sync task that runs the ingest stage in-process (handoff.go)
	// still needs the ingest task, its fallback should the worker die before the cancel takes
	// effect. A task that runs for a job that ended does nothing.
	running := false
	var queued [][2]string
	for _, t := range [][2]string{{QueueSync, syncTaskID(id)}, {QueueIngest, ingestTaskID(id)}} {
		info, known := s.lookup(ctx, t[0], t[1])
		if !known {
			running = true // cannot tell: the handler or the reconciler ends it
			continue
		}
		if info == nil {
			continue
		}
		switch info.State {
		case asynq.TaskStateActive:
			running = true
		case asynq.TaskStatePending, asynq.TaskStateScheduled, asynq.TaskStateRetry:
			queued = append(queued, t)
		}
	}
	for _, t := range queued {
		if running {
			break
		}
		if err := s.inspector.DeleteTask(t[0], t[1]); err != nil {
			running = true // it started meanwhile; its handler sees the flag
		}
	}
	if !running {
		if _, _, err := s.end(ctx, id, cancelByRequest); err != nil {
			return nil, err
		}
	}
	return s.store.get(ctx, id)
}

// cancelByRequest is the transition of a job canceled through the API.
func cancelByRequest(j *Job, now time.Time) error { return j.cancel("canceled by request", now) }

// end applies a final transition to the job unless it already ended, records the job's metrics,
// releases the fabric's slot and starts the waiting job, if any. It returns the job as it is
// afterwards and whether this call ended it. A job that already ended is not an error: its slot
// is released all the same.
func (s *Service) end(ctx context.Context, id string, transition func(*Job, time.Time) error) (*Job, bool, error) {
	ended := false
	j, err := s.store.update(ctx, id, func(j *Job) error {
		ended = false
		if j.State.Terminal() {
			return nil
		}
		if err := transition(j, s.now()); err != nil {
			return err
		}
		ended = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if ended {
		recordJobEnd(ctx, s.store.rdb, j)
		s.notifyEnd(ctx, j) // best effort: never fails the job (notify.go)
	}
	return j, ended, s.release(ctx, j.Fabric, id)
}

// release frees the fabric's slot held by id and enqueues the promoted job.
func (s *Service) release(ctx context.Context, fabric, id string) error {
	next, err := s.store.release(ctx, fabric, id)
	if err != nil || next == "" {
		return err
	}
	return s.enqueueSync(ctx, next, fabric)
}

// The job record as the handlers change it: through these methods, never the store itself.

// update applies fn to the job's record atomically; see store.update.
func (s *Service) update(ctx context.Context, id string, fn func(*Job) error) (*Job, error) {
	return s.store.update(ctx, id, fn)
}

// cancelRequested reports whether someone asked to cancel the job.
func (s *Service) cancelRequested(ctx context.Context, id string) (bool, error) {
	return s.store.cancelRequested(ctx, id)
}

// claimResync takes the claim of one scheduler tick of fabric; see store.claimResync.
func (s *Service) claimResync(ctx context.Context, fabric string, hold time.Duration) (bool, error) {
	return s.store.claimResync(ctx, fabric, hold)
}

// releaseResync gives back the claim of fabric's current scheduler tick.
func (s *Service) releaseResync(ctx context.Context, fabric string) error {
	if err := s.store.rdb.Del(ctx, resyncClaimKey(fabric)).Err(); err != nil {
		return fmt.Errorf("release resync claim of %s: %w", fabric, err)
	}
	return nil
}

// observe records a duration in one of the package's histograms; best effort, even after ctx
// ended.
func (s *Service) observe(ctx context.Context, hist string, d time.Duration, labels ...string) {
	observe(context.WithoutCancel(ctx), s.store.rdb, hist, d, labels...)
}

// Collector returns the Prometheus collector of fabsync's own metrics, read from this
// service's Redis.
func (s *Service) Collector() *Collector { return NewCollector(s.store.rdb) }

// FirstDelivery records a webhook delivery ID for ttl and reports whether this is the first
// time it was seen; a replayed delivery reports false. An empty ID is always first.
func (s *Service) FirstDelivery(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if id == "" {
		return true, nil
	}
	ok, err := s.store.rdb.SetNX(ctx, deliveryKey(id), s.now().UTC().Format(time.RFC3339), ttl).Result()
	if err != nil {
		return false, fmt.Errorf("record webhook delivery: %w", err)
	}
	return ok, nil
}

// ForgetDelivery forgets webhook delivery IDs recorded by FirstDelivery, so that a delivery
// whose handling failed can be delivered again.
func (s *Service) ForgetDelivery(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = deliveryKey(id)
	}
	if err := s.store.rdb.Del(ctx, keys...).Err(); err != nil {
		return fmt.Errorf("forget webhook delivery: %w", err)
	}
	return nil
}
