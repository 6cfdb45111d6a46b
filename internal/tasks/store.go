package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// Redis keys, stored in Redis; do not rename.
const (
	keyPrefix   = "fabsync:"
	keyJob      = keyPrefix + "job:"    // hash: data (JSON), state, cancel, enqueued
	keyFabrics  = keyPrefix + "fabrics" // set of fabric names that have jobs
	jobRetained = 30 * 24 * time.Hour   // a finished job record expires after this
	// jobsKept is how many jobs a fabric's history keeps; older job records are deleted when a
	// new job is created, so Redis memory is bounded by fabrics × jobsKept, whatever the resync
	// interval.
	jobsKept = 200
)

func keyActive(fabric string) string  { return keyPrefix + "fabric:" + fabric + ":active" }
func keyWaiting(fabric string) string { return keyPrefix + "fabric:" + fabric + ":waiting" }
func keyJobs(fabric string) string    { return keyPrefix + "fabric:" + fabric + ":jobs" }

// Store keeps job records and the per-fabric slots in Redis. It is safe for concurrent use by
// any number of processes sharing one Redis.
type Store struct {
	rdb  redis.UniversalClient
	now  func() time.Time
	keep int // jobs kept per fabric
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, now: time.Now, keep: jobsKept}
}

// Slot says where a triggered job stands.
type Slot int

// Slots returned by Trigger.
const (
	SlotExisting Slot = iota // an already waiting job was returned
	SlotActive               // the new job runs next: its task must be enqueued now
	SlotWaiting              // the new job waits for the running one
)

// triggerScript implements SPEC §3's rule atomically: at most one running job per fabric and
// at most one waiting. A job whose task is queued but not started counts as waiting. It also
// trims the fabric's history to its newest jobs, deleting the older records.
// KEYS: active slot, waiting slot, history zset, new job, fabrics set.
// ARGV: new job ID, its JSON, fabric, job key prefix, jobs kept.
var triggerScript = redis.NewScript(`
local w = redis.call('GET', KEYS[2])
if w then return {w, 'existing'} end
local a = redis.call('GET', KEYS[1])
if a then
  local st = redis.call('HGET', ARGV[4] .. a, 'state')
  if st == 'queued' then return {a, 'existing'} end
  if st == false then a = false end
end
redis.call('HSET', KEYS[4], 'data', ARGV[2], 'state', 'queued')
-- a per-fabric sequence orders the history exactly, even for jobs created in one millisecond
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[3] .. ':seq'), ARGV[1])
local extra = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[5])
if extra > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[3], 0, extra - 1)) do
    redis.call('DEL', ARGV[4] .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, extra - 1)
end
redis.call('SADD', KEYS[5], ARGV[3])
if a then
  redis.call('SET', KEYS[2], ARGV[1])
  return {ARGV[1], 'waiting'}
end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 'active'}
`)

// Trigger creates a job for fabric unless one is already waiting, and returns the job that
// represents the request with its slot.
func (s *Store) Trigger(ctx context.Context, fabric, trigger string) (*Job, Slot, error) {
	id, err := newID(s.now())
	if err != nil {
		return nil, 0, err
	}
	now := s.now()
	j := newJob(id, fabric, trigger, now)
	data, err := json.Marshal(j)
	if err != nil {
		return nil, 0, fmt.Errorf("encode job: %w", err)
	}
	res, err := triggerScript.Run(ctx, s.rdb,
		[]string{keyActive(fabric), keyWaiting(fabric), keyJobs(fabric), keyJob + id, keyFabrics},
		id, data, fabric, keyJob, s.keep).StringSlice()
	if err != nil {
		return nil, 0, fmt.Errorf("trigger %s: %w", fabric, err)
	}
	switch res[1] {
	case "active":
		return j, SlotActive, nil
	case "waiting":
		return j, SlotWaiting, nil
	}
	existing, err := s.Get(ctx, res[0])
	if err != nil {
		return nil, 0, err
	}
	return existing, SlotExisting, nil
}

// finishScript releases a fabric's running slot held by ARGV[1] and promotes the waiting job,
// returning its ID. A waiting job that ends (canceled) just leaves its slot.
var finishScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
  return false
end
local w = redis.call('GET', KEYS[2])
if w then
  redis.call('SET', KEYS[1], w)
  redis.call('DEL', KEYS[2])
  return w
end
redis.call('DEL', KEYS[1])
return false
`)

// release frees the slot of job id of fabric and returns the promoted waiting job's ID, if any.
func (s *Store) release(ctx context.Context, fabric, id string) (string, error) {
	next, err := finishScript.Run(ctx, s.rdb, []string{keyActive(fabric), keyWaiting(fabric)}, id).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("release %s: %w", fabric, err)
	}
	return next, nil
}

// Get returns the job with id, or an error wrapping ErrJobNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	data, err := s.rdb.HGet(ctx, keyJob+id, "data").Bytes()
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

// List returns up to limit of fabric's jobs, newest first.
func (s *Store) List(ctx context.Context, fabric string, limit int) ([]*Job, error) {
	ids, err := s.rdb.ZRevRange(ctx, keyJobs(fabric), 0, int64(limit-1)).Result()
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
		cmds[i] = pipe.HGet(ctx, keyJob+id, "data")
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

// Latest returns each fabric's newest job (absent for a fabric without jobs), in two
// pipelined round trips however many fabrics there are.
func (s *Store) Latest(ctx context.Context, fabrics []string) (map[string]*Job, error) {
	out := make(map[string]*Job, len(fabrics))
	if len(fabrics) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	ids := make([]*redis.StringSliceCmd, len(fabrics))
	for i, f := range fabrics {
		ids[i] = pipe.ZRevRange(ctx, keyJobs(f), 0, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("latest jobs: %w", err)
	}
	pipe = s.rdb.Pipeline()
	data := make(map[string]*redis.StringCmd, len(fabrics))
	for i, f := range fabrics {
		if v := ids[i].Val(); len(v) == 1 {
			data[f] = pipe.HGet(ctx, keyJob+v[0], "data")
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

// Update applies fn to the job's record atomically (optimistic, retried on conflict). fn may
// return an error to abort. A job that reaches a final state gets an expiry.
func (s *Store) Update(ctx context.Context, id string, fn func(*Job) error) (*Job, error) {
	key := keyJob + id
	var out *Job
	txf := func(tx *redis.Tx) error {
		data, err := tx.HGet(ctx, key, "data").Bytes()
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
		if err := fn(&j); err != nil {
			return err
		}
		j.UpdatedAt = s.now().UTC()
		data, err = json.Marshal(&j)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, "data", data, "state", j.State)
			if Terminal(j.State) {
				p.Expire(ctx, key, jobRetained)
			}
			return nil
		})
		out = &j
		return err
	}
	for i := 0; i < 50; i++ {
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

// RequestCancel marks a job for cancellation. It returns ErrJobEnded if the job already ended.
func (s *Store) RequestCancel(ctx context.Context, id string) (*Job, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if Terminal(j.State) {
		return j, fmt.Errorf("job %s is %s: %w", id, j.State, ErrJobEnded)
	}
	if err := s.rdb.HSet(ctx, keyJob+id, "cancel", "1").Err(); err != nil {
		return nil, fmt.Errorf("cancel job %s: %w", id, err)
	}
	return j, nil
}

// CancelRequested reports whether someone asked to cancel the job.
func (s *Store) CancelRequested(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.HExists(ctx, keyJob+id, "cancel").Result()
	if err != nil {
		return false, fmt.Errorf("read job %s: %w", id, err)
	}
	return n, nil
}

// markEnqueued records that the job's first task is in the queue.
func (s *Store) markEnqueued(ctx context.Context, id string) error {
	return s.rdb.HSet(ctx, keyJob+id, "enqueued", "1").Err()
}

func (s *Store) enqueued(ctx context.Context, id string) (bool, error) {
	return s.rdb.HExists(ctx, keyJob+id, "enqueued").Result()
}

// slots returns every fabric that ever had a job, with its running and waiting job IDs.
func (s *Store) slots(ctx context.Context) (map[string][2]string, error) {
	fabrics, err := s.rdb.SMembers(ctx, keyFabrics).Result()
	if err != nil {
		return nil, fmt.Errorf("list fabrics: %w", err)
	}
	out := make(map[string][2]string, len(fabrics))
	for _, f := range fabrics {
		vals, err := s.rdb.MGet(ctx, keyActive(f), keyWaiting(f)).Result()
		if err != nil {
			return nil, fmt.Errorf("read slots of %s: %w", f, err)
		}
		var pair [2]string
		for i, v := range vals {
			if sv, ok := v.(string); ok {
				pair[i] = sv
			}
		}
		out[f] = pair
	}
	return out, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

// newID returns a job ID that sorts by creation time: 20261126T060102Z-<8 random hex>.
func newID(now time.Time) (string, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("job id: %w", err)
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}
