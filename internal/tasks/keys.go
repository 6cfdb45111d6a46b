package tasks

import (
	"hash/fnv"
	"time"

	"github.com/redis/go-redis/v9"
)

// This file holds every Redis key fabsync writes and every Lua script that touches them (the
// layout of asynq's own internal/rdb). Key names and values are stored in Redis: do not rename
// them. Scripts receive every key they touch as KEYS, never build one from ARGV, and each
// documents its KEYS and ARGV.
//
//	fabsync:job:{<t>}:<id>              hash: data (the Job as JSON), state, cancel, enqueued,
//	                                    format (who wrote data: record.go)
//	fabsync:job:{<t>}:<id>:handoff      string: who runs the job's ingest stage, when the worker
//	                                    that ran its git sync runs it in-process (handoff.go):
//	                                    "run <token> <lease deadline, unix ms>", "done <outcome>"
//	                                    or "task" (its ingest task took the stage); expires
//	fabsync:fabrics                     set of fabric names that ever had a job
//	fabsync:fabric:{<t>}:<f>:active     string: the ID of the job that holds the fabric's slot
//	fabsync:fabric:{<t>}:<f>:waiting    string: the ID of the one job waiting for it
//	fabsync:fabric:{<t>}:<f>:dry-run    string: the ID of the fabric's one active dry run (its own
//	                                    slot: a dry run never holds or waits for the two above)
//	fabsync:fabric:{<t>}:<f>:drift      string: the fabric's last drift check as JSON (DriftCheck)
//	fabsync:fabric:{<t>}:<f>:inventory  hash: data (the fabric's Inventory as JSON), commit (its
//	                                    commit), recent (JSON list of the sha256s recent jobs
//	                                    wrote), sizes (JSON map sha256 -> bytes) (inventory.go)
//	fabsync:fabric:{<t>}:<f>:content    hash: sha256 (hex) -> the bytes of a resource file, for
//	                                    the inventory's files and recent jobs' versions
//	fabsync:fabric:{<t>}:<f>:jobs       zset: the fabric's job IDs by sequence (its history)
//	fabsync:fabric:{<t>}:<f>:jobs:seq   counter behind that sequence
//	fabsync:fabric:{<t>}:<f>:resync-claim string: held while one scheduler tick is being handled
//	fabsync:fabric:{<t>}:<f>:fence      string: written before a WAIT for replicas (expires)
//	fabsync:scheduler:leader            string: the ID of the worker that runs the scheduler
//	fabsync:webhook:delivery:<id>       string: a webhook delivery already handled (expires)
//	fabsync:epoch                       string: set once; its absence means Redis lost its data
//	asynq:queues                        asynq's own set of queue names (written on a data loss)
//	fabsync:metrics:jobs                hash "fabric|trigger|state" -> count
//	fabsync:metrics:documents           hash fabric -> documents ingested
//	fabsync:metrics:hist:<series>       hash per histogram series: le buckets, sum, count
//	fabsync:metrics:hist:series         set of histogram series names
//
// Redis Cluster: <t> is the fabric's slot tag (slotTag), four hex digits of a hash of its name,
// and a job ID carries its fabric's tag (newID), so that every key of a fabric and of its jobs
// is in one hash slot and each script, transaction and WATCH touches one slot; the keys of
// different fabrics spread over the cluster. Keys outside a fabric are each used alone. A job ID
// of the form before tags (20261126T060102Z-<10 hex digits>) keeps its untagged record,
// fabsync:job:<id> (and fabsync:job:<id>:handoff); untagged fabric keys, fabsync:fabric:<f>:…,
// are renamed to the tagged ones once (MigrateKeys). Neither exists on a cluster.
const keyPrefix = "fabsync:"

const (
	// jobRetained is how long a finished job record is kept.
	jobRetained = 30 * 24 * time.Hour
	// jobsKept is how many jobs a fabric's history keeps; older job records are deleted when a
	// new job is created, so Redis memory is bounded by fabrics × jobsKept, whatever the resync
	// interval.
	jobsKept = 200
)

// slotTag is the hash tag of a fabric's keys and its jobs' IDs: four lower-case hex digits of
// the FNV-1a hash of its name.
func slotTag(fabric string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(fabric))
	const hexDigits = "0123456789abcdef"
	v := h.Sum32()
	return string([]byte{hexDigits[v>>12&0xf], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf]})
}

// idTag is the slot tag a job ID carries (20261201T101500Z-<tag>-<10 hex digits>), "" for an
// ID of the form before tags or one that is not a job ID.
func idTag(id string) string {
	const stamp = len("20261201T101500Z-")
	if len(id) != stamp+4+1+10 || id[stamp-1] != '-' || id[stamp+4] != '-' {
		return ""
	}
	for _, c := range id[stamp : stamp+4] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return id[stamp : stamp+4]
}

func jobKey(id string) string {
	if t := idTag(id); t != "" {
		return keyPrefix + "job:{" + t + "}:" + id
	}
	return keyPrefix + "job:" + id
}
func handoffKey(id string) string { return jobKey(id) + ":handoff" }
func fabricsKey() string          { return keyPrefix + "fabrics" }
func fabricKey(fabric, what string) string {
	return keyPrefix + "fabric:{" + slotTag(fabric) + "}:" + fabric + ":" + what
}

// legacyFabricKey is a fabric key as it was named before slot tags (MigrateKeys).
func legacyFabricKey(fabric, what string) string { return keyPrefix + "fabric:" + fabric + ":" + what }

// fabricKeyKinds are the what of every fabric key, for MigrateKeys.
var fabricKeyKinds = []string{"active", "waiting", "dry-run", "drift", "inventory", "content", "jobs", "jobs:seq", "resync-claim"}

func activeKey(fabric string) string     { return fabricKey(fabric, "active") }
func waitingKey(fabric string) string    { return fabricKey(fabric, "waiting") }
func dryRunKey(fabric string) string     { return fabricKey(fabric, "dry-run") }
func driftKey(fabric string) string      { return fabricKey(fabric, "drift") }
func inventoryKey(fabric string) string  { return fabricKey(fabric, "inventory") }
func contentKey(fabric string) string    { return fabricKey(fabric, "content") }
func historyKey(fabric string) string    { return fabricKey(fabric, "jobs") }
func historySeqKey(fabric string) string { return fabricKey(fabric, "jobs:seq") }

// fenceKey is written (expiring after a minute) just before a WAIT for replicas
// (Service.SetReplicaWait), which needs a write of its own connection to wait for.
func fenceKey(fabric string) string { return fabricKey(fabric, "fence") }

func resyncClaimKey(fabric string) string {
	return fabricKey(fabric, "resync-claim")
}

func leaderKey() string { return keyPrefix + "scheduler:leader" }

func deliveryKey(id string) string { return keyPrefix + "webhook:delivery:" + id }

func epochKey() string { return keyPrefix + "epoch" }

// asynqQueuesKey is asynq's set of known queues (asynq's internal/base.AllQueues). asynq's
// client adds a queue to it only on its first enqueue in a process, so after Redis lost its
// data the set stays empty until every process restarts, and every task lookup reports its
// queue missing. The reconciler writes it back.
func asynqQueuesKey() string { return "asynq:queues" }

func metricJobsKey() string              { return keyPrefix + "metrics:jobs" }
func metricDocsKey() string              { return keyPrefix + "metrics:documents" }
func metricHistKey(series string) string { return keyPrefix + "metrics:hist:" + series }
func metricSeriesKey() string            { return keyPrefix + "metrics:hist:series" }

// Job record fields.
const (
	fieldData     = "data"
	fieldState    = "state"
	fieldCancel   = "cancel"
	fieldEnqueued = "enqueued"
	fieldFormat   = "format"
)

// triggerScript creates a job unless the fabric already has one waiting, so that at most one
// job per fabric runs and at most one waits (docs/SYNC.md). A job whose task is queued but not
// started counts as waiting. The caller read the active slot first and passes that job's key:
// if the slot changed meanwhile the script does nothing and says "retry".
//
//	KEYS[1] active slot         KEYS[2] waiting slot     KEYS[3] history zset
//	KEYS[4] history sequence    KEYS[5] the new job
//	KEYS[6] the active job's record (the one KEYS[1] named when the caller read it; any
//	        unused key of the fabric's slot when the slot was empty)
//	ARGV[1] new job ID          ARGV[2] its JSON         ARGV[3] its state
//	ARGV[4] fabric name (unused: the caller adds it to the fabrics set, a key of no slot of the fabric)
//	ARGV[5] the active job ID the caller read ("" for none)
//	ARGV[6] the state in which an active job still counts as waiting
//	ARGV[7] the new job's format field (record.go)
//
// Returns {job ID, "existing" | "active" | "waiting" | "retry"}.
var triggerScript = redis.NewScript(`
local a = redis.call('GET', KEYS[1])
if (a or '') ~= ARGV[5] then return {'', 'retry'} end
local w = redis.call('GET', KEYS[2])
if w then return {w, 'existing'} end
if a then
  local st = redis.call('HGET', KEYS[6], 'state')
  if st == ARGV[6] then return {a, 'existing'} end
  if st == false then a = false end
end
redis.call('HSET', KEYS[5], 'data', ARGV[2], 'state', ARGV[3], 'format', ARGV[7])
-- a per-fabric sequence orders the history exactly, even for jobs created in one millisecond
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
if a then
  redis.call('SET', KEYS[2], ARGV[1])
  return {ARGV[1], 'waiting'}
end
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 'active'}
`)

// settledScript records a scheduled resync that found nothing new (settled.go) as a job that
// already succeeded, unless the fabric has a job running or waiting: the resync is then left to
// triggerScript, which folds it into the waiting job or queues it behind the running one. It
// also records the drift check of zero files the job stands for.
//
//	KEYS[1] active slot         KEYS[2] waiting slot     KEYS[3] history zset
//	KEYS[4] history sequence    KEYS[5] the new job      KEYS[6] the fabric's drift check
//	ARGV[1] new job ID          ARGV[2] its JSON         ARGV[3] its state
//	ARGV[4] its format field    ARGV[5] the drift check's JSON
//
// Returns "created" or "busy".
var settledScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 'busy' end
redis.call('HSET', KEYS[5], 'data', ARGV[2], 'state', ARGV[3], 'format', ARGV[4])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
redis.call('SET', KEYS[6], ARGV[5])
return 'created'
`)

// trimScript removes old jobs from a fabric's history and deletes their records.
//
//	KEYS[1] history zset       KEYS[2..n] the records of the jobs to remove
//	ARGV[1..n-1] the IDs of those jobs, in the order of KEYS[2..n]
var trimScript = redis.NewScript(`
for i = 2, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('ZREM', KEYS[1], ARGV[i - 1])
end
return #KEYS - 1
`)

// dryRunScript creates a dry run unless the fabric already has one, queued or running: at most
// one dry run per fabric is active, in a slot of its own, so a dry run never takes, waits for or
// is merged with the real jobs' slots (triggerScript) and a real trigger is never answered with
// a dry run. The caller read the dry-run slot first and passes that job's key: if the slot
// changed meanwhile the script does nothing and says "retry". A slot naming a record that is gone
// is free.
//
//	KEYS[1] dry-run slot        KEYS[2] history zset     KEYS[3] history sequence
//	KEYS[4] the new job
//	KEYS[5] the active dry run's record (the one KEYS[1] named when the caller read it; any
//	        unused key of the fabric's slot when the slot was empty)
//	ARGV[1] new job ID          ARGV[2] its JSON         ARGV[3] its state
//	ARGV[4] fabric name (unused, as in triggerScript)
//	ARGV[5] the dry run ID the caller read ("" for none)
//	ARGV[6] the new job's format field (record.go)
//
// Returns {job ID, "existing" | "active" | "retry"}.
var dryRunScript = redis.NewScript(`
local d = redis.call('GET', KEYS[1])
if (d or '') ~= ARGV[5] then return {'', 'retry'} end
if d and redis.call('EXISTS', KEYS[5]) == 1 then return {d, 'existing'} end
redis.call('HSET', KEYS[4], 'data', ARGV[2], 'state', ARGV[3], 'format', ARGV[6])
redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 'active'}
`)

// releaseScript frees the fabric's slot held by ARGV[1] and promotes the waiting job,
// returning its ID. A waiting job that ends (canceled) just leaves its slot; a dry run that ends
// frees the dry-run slot and promotes nothing.
//
//	KEYS[1] active slot   KEYS[2] waiting slot   KEYS[3] dry-run slot
//	ARGV[1] the ID of the job that ended
//
// Returns the promoted job's ID, or nil.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
  return false
end
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

// newID returns a job ID of fabric that sorts by creation time and carries the fabric's slot
// tag: 20261126T060102Z-<tag>-<10 random hex digits> (random: 5 bytes).
func newID(now time.Time, fabric string, random []byte) string {
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, 2*len(random))
	for _, c := range random {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return now.UTC().Format("20060102T150405Z") + "-" + slotTag(fabric) + "-" + string(b)
}

// renewLeaseScript takes or renews the scheduler's leader lease for ARGV[1].
//
//	KEYS[1] the lease
//	ARGV[1] the would-be leader's ID   ARGV[2] the lease, in milliseconds
//
// Returns 1 when ARGV[1] holds the lease afterwards, 0 when another worker does.
var renewLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
`)

// releaseLeaseScript gives the lease up if ARGV[1] holds it.
//
//	KEYS[1] the lease
//	ARGV[1] the leader's ID
var releaseLeaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// The handoff of a job's ingest stage (handoff.go). The worker that ran the git sync takes the
// stage with a plain SET NX of "run <token> <deadline>"; the scripts below renew, finish and take
// it. A lease deadline is a time in unix milliseconds from the callers' clock.

// renewHandoffScript moves the lease deadline of the in-process run that holds the stage.
//
//	KEYS[1] the handoff
//	ARGV[1] the run's token   ARGV[2] its new lease deadline
//
// Returns 1 when ARGV[1] still holds the stage, 0 when it lost it.
var renewHandoffScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or string.match(v, '^run (%S+) ') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'run ' .. ARGV[1] .. ' ' .. ARGV[2], 'KEEPTTL')
return 1
`)

// finishHandoffScript ends the in-process run that holds the stage: it leaves its outcome for
// the ingest task, or (ARGV[2] empty) frees the stage for the ingest task to run it.
//
//	KEYS[1] the handoff
//	ARGV[1] the run's token   ARGV[2] the new value ("done …"), or "" to delete the key
//
// Returns 1 when ARGV[1] held the stage, 0 when it had lost it.
var finishHandoffScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or string.match(v, '^run (%S+) ') ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
`)

// takeHandoffScript is the ingest task's look at the stage. A stage nobody holds, or whose
// in-process run's lease ran out, or whose run left its outcome, becomes the task's ("task").
//
//	KEYS[1] the handoff
//	ARGV[1] now (unix ms)     ARGV[2] how long the key is kept, in milliseconds
//
// Returns "free" (the task runs the stage), "busy" (an in-process run holds a live lease),
// "lost" (the lease of the run ran out: its worker died) or the outcome the run left ("done …").
var takeHandoffScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == 'task' then return 'free' end
local res = 'free'
if v then
  local deadline = string.match(v, '^run %S+ (%d+)$')
  if deadline and tonumber(deadline) > tonumber(ARGV[1]) then return 'busy' end
  if deadline then res = 'lost' else res = v end
end
redis.call('SET', KEYS[1], 'task', 'PX', ARGV[2])
return res
`)
