// Package worker runs fabsync's asynq server: both sync tasks, the reconciler that ends jobs
// whose tasks are gone, and graceful shutdown. It is the wiring behind cmd/worker and dev mode;
// the behaviour lives in package tasks. It knows nothing of HTTP.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/tasks"
)

// Config configures a worker. Zero values take the defaults in brackets.
type Config struct {
	Redis           redis.UniversalClient // required; the caller closes it after Run returns
	Handler         tasks.HandlerConfig   // required fields: DataDir, Fabrics
	Concurrency     int                   // tasks run at once [4]
	ShutdownTimeout time.Duration         // how long running tasks may finish on shutdown [30s]
	ReconcileEvery  time.Duration         // how often jobs are reconciled with their tasks [15s]
	ReconcileGrace  time.Duration         // how long a new job may wait for its first enqueue [30s]
	RetryBase       time.Duration         // first retry delay, doubled per retry [5s]
	RetryMax        time.Duration         // longest retry delay [5m]
	NotifyRetryBase time.Duration         // first retry delay of a notification or commit status, doubled per retry [tasks.NotifyRetryBase]
	NotifyRetryMax  time.Duration         // longest retry delay of a notification or commit status [tasks.NotifyRetryMax]
	PollInterval    time.Duration         // how often idle queues are checked for new tasks [DefaultPollInterval]
	DelayedInterval time.Duration         // how often due retries are moved back to their queue [1s]
	ScheduleSync    time.Duration         // how often the periodic resync schedule is re-read from the fabrics file [10s]
	NoScheduler     bool                  // never run the periodic resync scheduler in this worker
	LeaderLease     time.Duration         // the scheduler runs in one worker at a time, under this Redis lease [15s]
	Logger          *slog.Logger          // required
	RedisLog        *tasks.RedisLog       // where asynq's Redis failures go, rate-limited; share the one given to redis.SetLogger [a new one on Logger]

	onLead func(bool) // tests: called when this worker starts or stops leading
}

// DefaultPollInterval is how often an idle worker looks for new tasks (asynq's
// TaskCheckInterval; asynq sleeps between half and one and a half of it after each empty look).
// A task enqueued into an idle worker's queue waits about half of it: 20 ms, where the 100 ms
// the worker used before made every job wait about 70 ms before its first task started. An idle
// worker then sends Redis about 300 commands a second instead of 70 (BenchmarkIdlePoll: Redis
// 5.6 ms of CPU a second instead of 2.9, the worker 20 ms instead of 4.5).
const DefaultPollInterval = 20 * time.Millisecond

// Run serves tasks until ctx ends, then shuts down: running tasks get ShutdownTimeout to finish,
// after which asynq puts them back in their queue without using a retry. It returns nil after a
// clean shutdown, or the startup error.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Redis == nil || cfg.Logger == nil {
		return errors.New("worker: Redis and Logger are required")
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	if cfg.RedisLog == nil {
		cfg.RedisLog = &tasks.RedisLog{Logger: log}
	}
	cfg.Handler.Logger = log
	svc := tasks.NewService(cfg.Redis)
	svc.SetLogger(log)
	svc.SetNotifies(tasks.NotifyWanted(cfg.Handler.Fabrics))
	h, err := tasks.NewHandler(svc, cfg.Handler)
	if err != nil {
		return err
	}
	srv := asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   tasks.Queues,
		StrictPriority:           false,
		RetryDelayFunc:           tasks.RetryDelay(tasks.Backoff(cfg.RetryBase, cfg.RetryMax), tasks.Backoff(cfg.NotifyRetryBase, cfg.NotifyRetryMax)),
		ShutdownTimeout:          cfg.ShutdownTimeout,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.DelayedInterval,
		Logger:                   asynqLogger{log, cfg.RedisLog},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			// The one place task failures are logged (STYLE §7): one line per attempt. asynq's
			// own "Retry exhausted" that follows a final failure is demoted (asynqLogger).
			retry, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			id, _ := asynq.GetTaskID(ctx)
			permanent := errors.Is(err, asynq.SkipRetry)
			log.ErrorContext(ctx, "task failed", "task_id", id, "task_type", t.Type(),
				"retry", retry, "max_retry", maxRetry, "final", permanent || retry >= maxRetry, "permanent", permanent, "err", err)
		}),
	})
	mux := asynq.NewServeMux()
	h.Register(mux)
	h.RegisterNotify(mux)
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	// Start has returned: the processors are dequeuing, so the worker is running.
	log.Info("worker started", "concurrency", cfg.Concurrency, "data_dir", cfg.Handler.DataDir, "shutdown_timeout", cfg.ShutdownTimeout.String())

	var wg sync.WaitGroup
	recCtx, stopRec := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(1)
	go func() {
		defer wg.Done()
		reconcileLoop(recCtx, svc, cfg.ReconcileEvery, cfg.ReconcileGrace, log)
	}()
	if !cfg.NoScheduler {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runScheduler(recCtx, cfg, log)
		}()
	}

	<-ctx.Done()
	log.Info("worker shutting down", "shutdown_timeout", cfg.ShutdownTimeout.String())
	stopRec()
	wg.Wait()
	srv.Shutdown()
	log.Info("worker stopped")
	return nil
}

// withDefaults returns cfg with every zero field that has a default set to it.
func (cfg Config) withDefaults() Config {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = 15 * time.Second
	}
	if cfg.ReconcileGrace <= 0 {
		cfg.ReconcileGrace = 30 * time.Second
	}
	if cfg.NotifyRetryBase <= 0 {
		cfg.NotifyRetryBase = tasks.NotifyRetryBase
	}
	if cfg.NotifyRetryMax <= 0 {
		cfg.NotifyRetryMax = tasks.NotifyRetryMax
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.DelayedInterval <= 0 {
		cfg.DelayedInterval = time.Second
	}
	if cfg.ScheduleSync <= 0 {
		cfg.ScheduleSync = 10 * time.Second
	}
	if cfg.LeaderLease <= 0 {
		cfg.LeaderLease = 15 * time.Second
	}
	return cfg
}

func reconcileLoop(ctx context.Context, svc *tasks.Service, every, grace time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := svc.Reconcile(ctx, grace)
		if err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "reconcile jobs", "err", err)
		}
		if n > 0 {
			log.InfoContext(ctx, "reconciled jobs whose tasks ended", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
