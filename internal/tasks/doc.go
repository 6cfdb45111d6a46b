// Package tasks runs fabsync's sync jobs on asynq. A job is two chained tasks: repo:sync brings
// the worker's clone of the fabric's repository up to the remote head (package gitops), then
// repo:ingest turns raw/ into managed/ (package ingest), commits and pushes one commit.
//
// The package owns the job record kept in Redis (Store), the one-job-per-fabric rule with one
// waiting follow-up (Service.Trigger), the retry policy of both tasks (which errors are permanent,
// how many attempts, what backoff) and the reconciliation that ends jobs whose tasks are gone.
// It knows nothing of HTTP.
package tasks
