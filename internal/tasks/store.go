package tasks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors of the job store.
var (
	// ErrJobNotFound means no job has that ID.
	ErrJobNotFound = errors.New("job not found")
	// ErrJobEnded means the job is already in a final state.
	ErrJobEnded = errors.New("job already ended")
)

// store keeps job records and the per-fabric slots in Redis (keys.go). It is safe for
// concurrent use by any number of processes sharing one Redis. Only Service uses it.
type store struct {
	rdb  redis.UniversalClient
	now  func() time.Time
	keep int // jobs kept per fabric
}

// Slot says where a triggered job stands.
type Slot int

// Slots returned by Trigger.
const (
	SlotExisting Slot = iota // an already waiting job was returned
	SlotActive               // the new job runs next: its task must be enqueued now
	SlotWaiting              // the new job waits for the running one
)

// newJobOf returns a new queued job of fabric, with a new ID.
func (s *store) newJobOf(fabric, trigger string) (*Job, error) {
	var random [5]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, fmt.Errorf("job id: %w", err)
	}
	now := s.now()
	return newJob(newID(now, fabric, random[:]), fabric, trigger, now), nil
}

// newJobRecord returns a new queued job of fabric and its JSON.
func (s *store) newJobRecord(fabric, trigger string, dryRun bool) (*Job, []byte, error) {
	j, err := s.newJobOf(fabric, trigger)
	if err != nil {
		return nil, nil, err
	}
	if dryRun {
		j.DryRun = true
		j.Log[0].Message = "dry run queued (trigger " + trigger + "); it will push nothing"
	}
	data, err := json.Marshal(j)
	if err != nil {
		return nil, nil, fmt.Errorf("encode job: %w", err)
	}
	return j, data, nil
}

// trigger creates a job for fabric unless one is already waiting, and returns the job that
// represents the request with its slot.
func (s *store) trigger(ctx context.Context, fabric, trigger string) (*Job, Slot, error) {
	j, data, err := s.newJobRecord(fabric, trigger, false)
	if err != nil {
		return nil, 0, err
	}
	for range 20 {
		active, err := s.readSlot(ctx, fabric, activeKey(fabric))
		if err != nil {
			return nil, 0, fmt.Errorf("trigger %s: %w", fabric, err)
		}
		res, err := triggerScript.Run(ctx, s.rdb,
			[]string{activeKey(fabric), waitingKey(fabric), historyKey(fabric), historySeqKey(fabric),
				jobKey(j.ID), slotJobKey(fabric, active)},
			j.ID, data, string(j.State), fabric, active, string(StateQueued), stamp(data)).StringSlice()
		if err != nil {
			return nil, 0, fmt.Errorf("trigger %s: %w", fabric, err)
		}
		switch res[1] {
		case "retry":
			continue // the slot moved between the read and the script
		case "active", "waiting":
			s.trim(ctx, fabric)
			if res[1] == "active" {
				return j, SlotActive, nil
			}
			return j, SlotWaiting, nil
		}
		existing, err := s.get(ctx, res[0])
		if err != nil {
			return nil, 0, err
		}
		return existing, SlotExisting, nil
	}
	return nil, 0, fmt.Errorf("trigger %s: too much contention", fabric)
}

// triggerDryRun creates a dry run of fabric in the fabric's dry-run slot unless one is already
// there (queued or running), which it returns with SlotExisting instead.
func (s *store) triggerDryRun(ctx context.Context, fabric, trigger string) (*Job, Slot, error) {
	j, data, err := s.newJobRecord(fabric, trigger, true)
	if err != nil {
		return nil, 0, err
	}
	for range 20 {
		active, err := s.readSlot(ctx, fabric, dryRunKey(fabric))
		if err != nil {
			return nil, 0, fmt.Errorf("dry run of %s: %w", fabric, err)
		}
		res, err := dryRunScript.Run(ctx, s.rdb,
			[]string{dryRunKey(fabric), historyKey(fabric), historySeqKey(fabric), jobKey(j.ID), slotJobKey(fabric, active)},
			j.ID, data, string(j.State), fabric, active, stamp(data)).StringSlice()
		if err != nil {
			return nil, 0, fmt.Errorf("dry run of %s: %w", fabric, err)
		}
		switch res[1] {
		case "retry":
			continue // the slot moved between the read and the script
		case "active":
			s.trim(ctx, fabric)
			return j, SlotActive, nil
		}
		existing, err := s.get(ctx, res[0])
		if err != nil {
			return nil, 0, err
		}
		return existing, SlotExisting, nil
	}
	return nil, 0, fmt.Errorf("dry run of %s: too much contention", fabric)
}

// readSlot reads a slot of fabric ("" when empty) and, in the same round trip, adds the fabric
// to the fabrics set (before the script that may create its first job: the set is in no slot
// of the fabric, so the script cannot).
func (s *store) readSlot(ctx context.Context, fabric, slot string) (string, error) {
	pipe := s.rdb.Pipeline()
	pipe.SAdd(ctx, fabricsKey(), fabric)
	get := pipe.Get(ctx, slot)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", err
	}
	id, err := get.Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return id, err
}

// slotJobKey is the record of the job id a slot of fabric names, for a script that reads it;
// for an empty slot, a key of the fabric's own (the script does not read it then), so that every
// key of the script is in the fabric's hash slot.
func slotJobKey(fabric, id string) string {
	if id == "" {
		return activeKey(fabric)
	}
	return jobKey(id)
}

// trim deletes the fabric's oldest jobs beyond the history bound. It is best effort: the next
// trigger trims again.
func (s *store) trim(ctx context.Context, fabric string) {
	n, err := s.rdb.ZCard(ctx, historyKey(fabric)).Result()
	extra := n - int64(s.keep)
	if err != nil || extra <= 0 {
		return
	}
	ids, err := s.rdb.ZRange(ctx, historyKey(fabric), 0, extra-1).Result()
	if err != nil || len(ids) == 0 {
		return
	}
	keys := make([]string, 0, len(ids)+1)
	args := make([]any, 0, len(ids))
	keys = append(keys, historyKey(fabric))
	for _, id := range ids {
		keys = append(keys, jobKey(id))
		args = append(args, id)
	}
	_ = trimScript.Run(ctx, s.rdb, keys, args...).Err()
}

// release frees the slot (running, waiting or dry run) of job id of fabric and returns the
// promoted waiting job's ID, if any.
func (s *store) release(ctx context.Context, fabric, id string) (string, error) {
	next, err := releaseScript.Run(ctx, s.rdb, []string{activeKey(fabric), waitingKey(fabric), dryRunKey(fabric)}, id).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("release %s: %w", fabric, err)
	}
	return next, nil
}

// get returns the job with id, or an error wrapping ErrJobNotFound.
func (s *store) get(ctx context.Context, id string) (*Job, error) {
	data, err := s.rdb.HGet(ctx, jobKey(id), fieldData).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("job %q: %w", id, ErrJobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	return &j, nil
}

// getJSON returns the JSON encoding of the job with id, as json.Marshal of what get returns
// would be, in one round trip; a record this binary's format wrote (record.go) is returned as
// stored, without decoding it. It wraps ErrJobNotFound for an unknown job.
func (s *store) getJSON(ctx context.Context, id string) ([]byte, error) {
	vals, err := s.rdb.HMGet(ctx, jobKey(id), fieldData, fieldFormat).Result()
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	str, ok := vals[0].(string)
	if !ok {
		return nil, fmt.Errorf("job %q: %w", id, ErrJobNotFound)
	}
	data := []byte(str)
	if f, _ := vals[1].(string); f == stamp(data) {
		return data, nil
	}
	// Written by another version of fabsync, whose Job may lack fields this one has.
	var j Job
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", id, err)
	}
	return json.Marshal(&j)
}

// list returns up to limit of fabric's jobs, newest first.
func (s *store) list(ctx context.Context, fabric string, limit int) ([]*Job, error) {
	ids, err := s.rdb.ZRevRange(ctx, historyKey(fabric), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list jobs of %s: %w", fabric, err)
	}
	jobs := make([]*Job, 0, len(ids))
	if len(ids) == 0 {
		return jobs, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGet(ctx, jobKey(id), fieldData)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("list jobs of %s: %w", fabric, err)
	}
	for _, c := range cmds {
		data, err := c.Bytes()
		if err != nil {
			continue // expired record
		}
		var j Job
		if json.Unmarshal(data, &j) == nil {
			jobs = append(jobs, &j)
		}
	}
	return jobs, nil
}

// latest returns each fabric's newest job (absent for a fabric without jobs), in two
// pipelined round trips however many fabrics there are.
func (s *store) latest(ctx context.Context, fabrics []string) (map[string]*Job, error) {
	out := make(map[string]*Job, len(fabrics))
	if len(fabrics) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	ids := make([]*redis.StringSliceCmd, len(fabrics))
	for i, f := range fabrics {
		ids[i] = pipe.ZRevRange(ctx, historyKey(f), 0, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("latest jobs: %w", err)
	}
	pipe = s.rdb.Pipeline()
	data := make(map[string]*redis.StringCmd, len(fabrics))
	for i, f := range fabrics {
		if v := ids[i].Val(); len(v) == 1 {
			data[f] = pipe.HGet(ctx, jobKey(v[0]), fieldData)
		}
	}
	if len(data) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("latest jobs: %w", err)
	}
	for f, c := range data {
		var j Job
		if b, err := c.Bytes(); err == nil && json.Unmarshal(b, &j) == nil {
			out[f] = &j
		}
	}
	return out, nil
}

// update applies fn to the job's record atomically (optimistic, retried on conflict). fn may
// return an error to abort; update returns it unwrapped. A job that reaches a final state gets
// an expiry.
func (s *store) update(ctx context.Context, id string, fn func(*Job) error) (*Job, error) {
	key := jobKey(id)
	var out *Job
	txf := func(tx *redis.Tx) error {
		data, err := tx.HGet(ctx, key, fieldData).Bytes()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("job %q: %w", id, ErrJobNotFound)
		}
		if err != nil {
			return err
		}
		var j Job
		if err := json.Unmarshal(data, &j); err != nil {
			return fmt.Errorf("decode job %s: %w", id, err)
		}
		before := j.Progress
		if err := fn(&j); err != nil {
			return err
		}
		j.UpdatedAt = s.now().UTC()
		if p := j.Progress; p.Stage != before.Stage || p.Percent != before.Percent || p.Message != before.Message {
			j.Progress.UpdatedAt = j.UpdatedAt
		}
		data, err = json.Marshal(&j)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, fieldData, data, fieldState, string(j.State), fieldFormat, stamp(data))
			if j.State.Terminal() {
				p.Expire(ctx, key, jobRetained)
			}
			return nil
		})
		out = &j
		return err
	}
	for range 50 {
		err := s.rdb.Watch(ctx, txf, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("update job %s: too much contention", id)
}

// requestCancel marks a job for cancellation. It wraps ErrJobEnded if the job already ended.
// The flag the handlers poll is set first, then the record says so (cancel_requested, a log
// line): a failure between the two still cancels, and the API reports the error.
func (s *store) requestCancel(ctx context.Context, id string) (*Job, error) {
	j, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.State.Terminal() {
		return j, fmt.Errorf("job %s is %s: %w", id, j.State, ErrJobEnded)
	}
	if err := s.rdb.HSet(ctx, jobKey(id), fieldCancel, "1").Err(); err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", id, err)
	}
	j, err = s.update(ctx, id, func(j *Job) error {
		if !j.CancelRequested && !j.State.Terminal() {
			j.CancelRequested = true
			j.logf(s.now(), "cancel requested")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return j, nil
}

// cancelRequested reports whether someone asked to cancel the job.
func (s *store) cancelRequested(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.HExists(ctx, jobKey(id), fieldCancel).Result()
	if err != nil {
		return false, fmt.Errorf("read job %s: %w", id, err)
	}
	return n, nil
}

// markEnqueued records that the job's first task is in the queue.
func (s *store) markEnqueued(ctx context.Context, id string) error {
	return s.rdb.HSet(ctx, jobKey(id), fieldEnqueued, "1").Err()
}

func (s *store) enqueued(ctx context.Context, id string) (bool, error) {
	return s.rdb.HExists(ctx, jobKey(id), fieldEnqueued).Result()
}

// slots returns every fabric that ever had a job, with its running, waiting and dry-run job IDs.
func (s *store) slots(ctx context.Context) (map[string][3]string, error) {
	fabrics, err := s.rdb.SMembers(ctx, fabricsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list fabrics: %w", err)
	}
	out := make(map[string][3]string, len(fabrics))
	for _, f := range fabrics {
		vals, err := s.rdb.MGet(ctx, activeKey(f), waitingKey(f), dryRunKey(f)).Result()
		if err != nil {
			return nil, fmt.Errorf("read slots of %s: %w", f, err)
		}
		var pair [3]string
		for i, v := range vals {
			if sv, ok := v.(string); ok {
				pair[i] = sv
			}
		}
		out[f] = pair
	}
	return out, nil
}

// claimResync takes the claim of one scheduler tick of fabric for hold; false means another
// worker's scheduler already took it.
func (s *store) claimResync(ctx context.Context, fabric string, hold time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, resyncClaimKey(fabric), s.now().UTC().Format(time.RFC3339), hold).Result()
	if err != nil {
		return false, fmt.Errorf("claim resync of %s: %w", fabric, err)
	}
	return ok, nil
}
