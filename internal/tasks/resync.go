package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
)

// TypeResync is the periodic task that triggers a fabric's scheduled sync; stored in Redis, do
// not rename.
const TypeResync = "fabric:resync"

// ResyncPayload is the payload of TypeResync; stored in Redis, add fields, never rename them.
type ResyncPayload struct {
	Fabric string `json:"fabric"`
}

// ResyncProvider turns the fabrics file into asynq periodic task configs: one "@every <resync>"
// entry per fabric with a resync interval. asynq's PeriodicTaskManager re-reads it, so adding,
// changing or removing a fabric's schedule needs no restart.
type ResyncProvider struct{ Fabrics *config.Source }

// GetConfigs implements asynq.PeriodicTaskConfigProvider.
func (p ResyncProvider) GetConfigs() ([]*asynq.PeriodicTaskConfig, error) {
	f, err := p.Fabrics.Load()
	if f == nil {
		return nil, err
	}
	// While the file is invalid, Load serves the last good content with the error; the Source
	// logs that once per change and the API shows it, so the schedule keeps the last good one.
	var out []*asynq.PeriodicTaskConfig
	for _, fb := range f.Fabrics {
		every := time.Duration(fb.Resync)
		if every <= 0 {
			continue
		}
		b, err := json.Marshal(ResyncPayload{Fabric: fb.Name})
		if err != nil {
			return nil, err
		}
		out = append(out, &asynq.PeriodicTaskConfig{
			Cronspec: "@every " + every.String(),
			// Unique: at most one tick per fabric is queued. Ticks that find the workers busy
			// (or down) are dropped at the enqueue instead of piling up, to be run and turned
			// away by the claim one by one.
			Task: asynq.NewTask(TypeResync, b, asynq.Queue(QueueSync), asynq.MaxRetry(2),
				asynq.Timeout(30*time.Second), asynq.ProcessIn(resyncJitter(fb.Name, every)), asynq.Unique(every)),
		})
	}
	return out, nil
}

// resyncJitter spreads fabrics with equal intervals over up to a tenth of the interval (at most
// a minute). It is a fixed function of the name, so the periodic config stays stable between
// re-reads and asynq does not re-register the entry.
func resyncJitter(fabric string, every time.Duration) time.Duration {
	span := min(every/10, time.Minute)
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(fabric))
	return time.Duration(h.Sum64() % uint64(span))
}

// HandleResync triggers a scheduled sync. The scheduler runs in one worker at a time (package
// worker holds a leader lease), but during a handover two schedulers may both enqueue a tick:
// a claim in Redis, held for half the interval, lets one of them through; the one-per-fabric
// rule then folds it into any job already waiting. (Held for 90 % of it, the claim also turned
// away a third of the real ticks of 5,000 fabrics whose ticks waited in the queue for a varying
// time: a tick that waited a second less than the one before came "too early".)
func (h *Handler) HandleResync(ctx context.Context, t *asynq.Task) error {
	var p ResyncPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Fabric == "" {
		return fmt.Errorf("%s: bad payload %q: %w", t.Type(), t.Payload(), asynq.SkipRetry)
	}
	fab, ok := h.cfg.Fabrics.Fabric(p.Fabric)
	if !ok || fab.Resync <= 0 {
		return nil // schedule removed since the tick was enqueued
	}
	hold := time.Duration(fab.Resync) / 2
	claimed, err := h.svc.claimResync(ctx, p.Fabric, hold)
	if err != nil {
		return err
	}
	if !claimed {
		return nil // another worker's scheduler already triggered this tick
	}
	done, err := h.resyncSettled(ctx, fab)
	if err == nil && !done {
		_, _, err = h.svc.Trigger(ctx, p.Fabric, TriggerSchedule)
	}
	if err != nil {
		// Let asynq's retry of this tick through the claim it took.
		return errors.Join(err, h.svc.releaseResync(context.WithoutCancel(ctx), p.Fabric))
	}
	return nil
}
