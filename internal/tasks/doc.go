// Package tasks runs fabsync's sync jobs on asynq. A job is two chained tasks: repo:sync brings
// the worker's clone of the fabric's repository up to the remote head (package gitops), then
// repo:ingest turns raw/ into managed/ (package ingest), commits and pushes one commit. The
// worker that ran the git sync runs the ingest stage's first attempt itself, at once, and the
// ingest task, enqueued all the same, reports that attempt's outcome to asynq, or runs the stage
// when that worker could not (handoff.go): no job waits for an idle poll between its two tasks,
// and the chain, its retries and its crash safety are the ingest task's as before. Each sync
// also looks for resource files changed by hand (drift) and adopts, reports or reverts them as
// the fabric's drift: says; the last check per fabric is kept (DriftCheck).
//
// A dry run is a job like any other that stops short of the commit: it records what the sync
// would change (a plan.Plan) and puts the clone back. Dry runs have a slot of their own, so that
// they never hold up, or stand in for, the fabric's real jobs.
//
// The package owns the job record kept in Redis (Store), the one-job-per-fabric rule with one
// waiting follow-up (Service.Trigger) and the one-dry-run-per-fabric rule
// (Service.TriggerDryRun), the retry policy of both tasks (which errors are permanent, how many
// attempts, what backoff) and the reconciliation that ends jobs whose tasks are gone.
// It knows nothing of HTTP.
package tasks
