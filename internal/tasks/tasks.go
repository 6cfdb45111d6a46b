package tasks

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// Task types and queues, stored in Redis; do not rename.
const (
	TypeRepoSync = "repo:sync"
	TypeIngest   = "repo:ingest"

	QueueSync   = "sync"
	QueueIngest = "ingest"

	// Notifications of finished jobs (notify.go): one TypeNotifyJob per job end fans out into a
	// TypeNotifySend per notify: target and a TypeNotifyStatus for the commit status.
	TypeNotifyJob    = "notify:job"
	TypeNotifySend   = "notify:send"
	TypeNotifyStatus = "notify:status"

	QueueNotify = "notify"
)

// Retry policy of each task: explicit limits, never asynq's defaults (25 retries, 30 min).
const (
	SyncMaxRetry   = 4
	SyncTimeout    = 10 * time.Minute
	IngestMaxRetry = 3
	IngestTimeout  = 15 * time.Minute
	// A notification or commit status is retried on its own, with Backoff(NotifyRetryBase, NotifyRetryMax) between
	// attempts (the worker's RetryDelayFunc picks it for the notify queue's task types), then
	// archived; NotifyTimeout bounds one attempt, whose HTTP request gets NotifyHTTPTimeout.
	NotifyMaxRetry     = 8
	NotifyTimeout      = 30 * time.Second
	NotifyHTTPTimeout  = 10 * time.Second
	NotifyRetryBase    = 5 * time.Second
	NotifyRetryMax     = 10 * time.Minute
	notifyJobMaxRetry  = 5              // the fan-out only enqueues: a few retries cover a Redis hiccup
	notifyTaskRetained = 24 * time.Hour // a delivered message's task ID stays taken: it is never sent again
	// taskRetention keeps a finished task visible in Asynqmon's "completed" tab for a while.
	// Correctness does not depend on it: a task that runs for a job that already ended does
	// nothing. It bounds the memory completed tasks take: at most one retention period's worth.
	taskRetention = 10 * time.Minute
)

// Queues is the asynq queue configuration the worker serves: ingest first, so a job that got
// through git sync finishes before new jobs start; notifications last, so a slow receiver
// never takes a worker's slots from jobs for long.
var Queues = map[string]int{QueueIngest: 4, QueueSync: 2, QueueNotify: 1}

// Payload is the payload of both task types, stored in Redis; add fields, never rename them.
type Payload struct {
	JobID  string `json:"job_id"`
	Fabric string `json:"fabric"`
}

func syncTaskID(jobID string) string   { return "sync:" + jobID }
func ingestTaskID(jobID string) string { return "ingest:" + jobID }

// NewRepoSyncTask returns the first task of job on fabric.
func NewRepoSyncTask(jobID, fabric string) (*asynq.Task, error) {
	return newTask(TypeRepoSync, jobID, fabric,
		asynq.Queue(QueueSync), asynq.TaskID(syncTaskID(jobID)),
		asynq.MaxRetry(SyncMaxRetry), asynq.Timeout(SyncTimeout), asynq.Retention(taskRetention))
}

// NewIngestTask returns the second task of job on fabric.
func NewIngestTask(jobID, fabric string) (*asynq.Task, error) {
	return newTask(TypeIngest, jobID, fabric,
		asynq.Queue(QueueIngest), asynq.TaskID(ingestTaskID(jobID)),
		asynq.MaxRetry(IngestMaxRetry), asynq.Timeout(IngestTimeout), asynq.Retention(taskRetention))
}

func newTask(typ, jobID, fabric string, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(Payload{JobID: jobID, Fabric: fabric})
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return asynq.NewTask(typ, b, opts...), nil
}

// Backoff returns asynq's RetryDelayFunc for exponential backoff: base·2^n with ±25% jitter,
// capped at max. A zero base means 5 s; a zero max means 5 min.
func Backoff(base, maxDelay time.Duration) asynq.RetryDelayFunc {
	if base <= 0 {
		base = 5 * time.Second
	}
	if maxDelay <= 0 {
		maxDelay = 5 * time.Minute
	}
	return func(n int, _ error, _ *asynq.Task) time.Duration {
		d := base
		for i := 0; i < n && d < maxDelay; i++ {
			d *= 2
		}
		d = min(d, maxDelay)
		jitter := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
		return d + jitter
	}
}
