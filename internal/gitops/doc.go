// Package gitops keeps a local clone of one fabric's repository branch in
// sync with its remote and pushes commits back, using go-git.
//
// A Client owns one clone directory. Sync makes it an exact copy of the
// remote branch head (cloning, fetching, hard-resetting and cleaning as
// needed, and re-cloning when the local clone is unusable), Commit records
// the changes under a subdirectory, Push publishes them without ever
// overwriting anything on the remote, and FindTrailer finds a commit that
// already landed, so that a re-run job makes no second commit.
//
// It knows nothing of queues, HTTP, Redis or the ingest package: retry
// policy, job state and logging belong to the callers. Callers branch on the
// sentinel errors (ErrAuth, ErrRemoteNotFound, ErrBranchNotFound,
// ErrPushRejected, ErrInvalidConfig) with errors.Is, and on IsPermanent; no
// go-git type or error crosses this package's boundary, and no error or
// returned value ever holds a credential.
//
// gitops never reads the environment or the user's git and ssh
// configuration files: credentials arrive resolved in Auth.
package gitops
