package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/tasks"
)

// runScheduler runs the periodic resync scheduler in whichever worker holds the leader lease,
// so that the number of resync ticks does not grow with the number of workers. The resync
// claim in tasks.HandleResync still guards the moment of a handover. It returns when ctx ends.
func runScheduler(ctx context.Context, cfg Config, log *slog.Logger) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	var mgr *asynq.PeriodicTaskManager
	stop := func() {
		if mgr != nil {
			mgr.Shutdown()
			mgr = nil
			log.Info("resync scheduler stopped")
			if cfg.onLead != nil {
				cfg.onLead(false)
			}
		}
	}
	defer func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tasks.ReleaseLeadership(rctx, cfg.Redis, id)
	}()
	// The leader renews every third of the lease; if it dies, another worker takes over within
	// 4/3 of the lease.
	t := time.NewTicker(cfg.LeaderLease / 3)
	defer t.Stop()
	failing := false // the last renewal failed: say so once, not every third of the lease
	for {
		held, err := tasks.HoldLeadership(ctx, cfg.Redis, id, cfg.LeaderLease)
		if err == nil && failing {
			failing = false
			log.InfoContext(ctx, "scheduler lease: redis answers again")
		}
		switch {
		case err != nil && ctx.Err() == nil:
			if !failing {
				failing = true
				log.WarnContext(ctx, "scheduler lease: cannot renew, no resyncs from this worker until redis answers", "err", err)
			}
			stop() // without Redis we cannot know we still lead
		case held && mgr == nil:
			m, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
				RedisUniversalClient:       cfg.Redis,
				PeriodicTaskConfigProvider: tasks.ResyncProvider{Fabrics: cfg.Handler.Fabrics},
				SyncInterval:               cfg.ScheduleSync,
				SchedulerOpts: &asynq.SchedulerOpts{Logger: asynqLogger{log, cfg.RedisLog}, LogLevel: asynq.WarnLevel,
					PostEnqueueFunc: tickError(log, cfg.RedisLog)},
			})
			if err == nil {
				err = m.Start()
			}
			if err != nil {
				log.ErrorContext(ctx, "start resync scheduler", "err", err)
				break
			}
			mgr = m
			log.Info("resync scheduler started: this worker leads")
			if cfg.onLead != nil {
				cfg.onLead(true)
			}
		case !held && mgr != nil:
			stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tickError handles a resync tick the scheduler could not enqueue. A tick for a fabric whose
// previous tick is still queued is dropped by design (tasks.ResyncProvider makes ticks unique):
// nothing to say. Anything else means Redis did not take it: that goes to the rate-limited
// Redis log, and the next tick tries again.
func tickError(log *slog.Logger, redisLog *tasks.RedisLog) func(*asynq.TaskInfo, error) {
	return func(_ *asynq.TaskInfo, err error) {
		switch {
		case err == nil, errors.Is(err, asynq.ErrDuplicateTask):
		case redisLog != nil:
			redisLog.Unavailable(context.Background(), "scheduler", "enqueue a resync tick: "+err.Error())
		default:
			log.Warn("scheduler could not enqueue a resync tick", "err", err)
		}
	}
}
