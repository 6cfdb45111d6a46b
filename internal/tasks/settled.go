package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/ingest"
)

// A scheduled resync of a fabric that is settled (inventory.go: the last sync left nothing in
// raw/ and no drift, under today's settings) and whose branch has not moved ends in the scheduler
// tick's own task: the tick reads the branch head, finds it at the settled commit, and writes the
// job's record already succeeded, in one script. No sync task is enqueued, dequeued or leased,
// no clone is touched and the record is written once instead of once per step. The job is the
// same as one that ran ("nothing new", its git sync done at the head), and it counts in the
// metrics like one.
//
// The branch head comes from the worker's headCache: one ls-remote per repository, branch and
// auth answers every scheduled resync of that repository's fabrics for a tenth of their resync
// interval (at most maxHeadAge); while the next ls-remote is under way, ticks go on with the
// head it replaces, for up to twice that, rather than wait for it. A push is therefore seen by
// the first tick after it at the latest, a fifth of an interval late at the worst; a manual or
// webhook trigger always asks the remote itself (gitSync, nothingNew), and a tick that finds a
// job running or waiting takes the usual path and is folded into it.

// maxHeadAge bounds how old a branch head read from the remote may be when a scheduled resync
// relies on it without asking again (twice that while it asks).
const maxHeadAge = 5 * time.Second

// headAge is how old a head a scheduled resync of a fabric with resync interval every may use.
func headAge(every time.Duration) time.Duration { return min(every/10, maxHeadAge) }

// headCache remembers, per repository, branch and auth, the branch head this worker last read
// from the remote and when it asked. Safe for concurrent use; one ls-remote per key at a time.
type headCache struct {
	mu sync.Mutex
	m  map[string]*headEntry
}

type headEntry struct {
	mu     sync.Mutex // guards the fields
	head   string
	asked  time.Time     // when the ls-remote that read head started
	asking chan struct{} // not nil while an ls-remote is under way; closed when it ends
}

// maxHeadEntries bounds the cache: past it (many repositories, or configurations come and
// gone) it starts over.
const maxHeadEntries = 10000

// get returns the head of key if one was asked for at most maxAge before now, or asks ask.
// While another caller asks, it returns the head being replaced if that is at most 2*maxAge
// old, and otherwise waits for the answer. An error is not remembered.
func (hc *headCache) get(ctx context.Context, key string, maxAge time.Duration, now func() time.Time, ask func(context.Context) (string, error)) (string, error) {
	hc.mu.Lock()
	if hc.m == nil || len(hc.m) >= maxHeadEntries {
		hc.m = map[string]*headEntry{}
	}
	e, ok := hc.m[key]
	if !ok {
		e = &headEntry{}
		hc.m[key] = e
	}
	hc.mu.Unlock()
	for {
		e.mu.Lock()
		age := now().Sub(e.asked)
		if e.head != "" && (age <= maxAge || e.asking != nil && age <= 2*maxAge) {
			head := e.head
			e.mu.Unlock()
			return head, nil
		}
		if wait := e.asking; wait != nil {
			e.mu.Unlock()
			select {
			case <-wait:
				continue // answered, or failed: then this caller asks
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		done := make(chan struct{})
		e.asking = done
		e.mu.Unlock()
		asked := now()
		head, err := ask(ctx)
		e.mu.Lock()
		if err == nil {
			e.head, e.asked = head, asked
		}
		e.asking = nil
		close(done)
		e.mu.Unlock()
		return head, err
	}
}

// headKey identifies the remote branch a fabric reads and the credentials it reads it with
// (the configuration's references to them, hashed: no secret is kept).
func headKey(f config.Fabric) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%+v", f.Repo, f.Branch, f.Auth))
	return hex.EncodeToString(sum[:16])
}

// resyncSettled ends a scheduled resync of f with nothing new without a sync task when it can
// (see the top of this file). It reports whether it did; false with no error means the tick
// takes the usual path (Trigger).
func (h *Handler) resyncSettled(ctx context.Context, f config.Fabric) (bool, error) {
	commit, err := h.svc.store.settledAt(ctx, f)
	if err != nil || commit == "" {
		return false, err
	}
	head, err := h.heads.get(ctx, headKey(f), headAge(time.Duration(f.Resync)), h.svc.clock, func(ctx context.Context) (string, error) {
		c, err := h.client(ctx, f)
		if err != nil {
			return "", err
		}
		return c.RemoteHead(ctx)
	})
	if err != nil || head != commit {
		return false, nil // the job that runs now reports what is wrong, or syncs what is new
	}
	j, ok, err := h.svc.store.createSettled(ctx, f, head)
	if err != nil || !ok {
		return false, err
	}
	h.svc.store.trim(ctx, f.Name)
	recordJobEnd(ctx, h.svc.store.rdb, j)
	h.svc.notifyEnd(ctx, j)
	h.logSucceeded(ctx, j, "")
	return true, nil
}

// nothingNewMessage is the last line of a job that found its branch where the last sync left
// the fabric settled.
func nothingNewMessage(branch, head string) string {
	return "nothing new: " + branch + " is still at " + short(head) + ", where the last sync left the fabric settled"
}

// createSettled writes a succeeded scheduled job of f at head, with the drift check of zero
// files it stands for, unless f has a job running or waiting (then false: the tick is folded
// into that one by Trigger).
func (s *store) createSettled(ctx context.Context, f config.Fabric, head string) (*Job, bool, error) {
	j, err := s.newJobOf(f.Name, TriggerSchedule)
	if err != nil {
		return nil, false, err
	}
	now := j.CreatedAt
	if err := errors.Join(j.start(StageGitSync, 1, now), j.stageDone(StageGitSync, head, f.Branch, now)); err != nil {
		return nil, false, err
	}
	j.logf(now, nothingNewMessage(f.Branch, head))
	if err := j.succeed("", now); err != nil {
		return nil, false, err
	}
	data, err := json.Marshal(j)
	if err != nil {
		return nil, false, fmt.Errorf("encode job: %w", err)
	}
	at := now.UTC()
	drift, err := json.Marshal(DriftCheck{Fabric: f.Name, CheckedAt: &at, JobID: j.ID, Mode: driftMode(f.Drift), Files: []ingest.Drift{}})
	if err != nil {
		return nil, false, fmt.Errorf("encode drift check: %w", err)
	}
	res, err := settledScript.Run(ctx, s.rdb,
		[]string{activeKey(f.Name), waitingKey(f.Name), historyKey(f.Name), historySeqKey(f.Name), jobKey(j.ID), driftKey(f.Name)},
		j.ID, data, string(j.State), stamp(data), drift).Text()
	if err != nil {
		return nil, false, fmt.Errorf("record the resync of %s: %w", f.Name, err)
	}
	return j, res == "created", nil
}
