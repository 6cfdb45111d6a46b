package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/fabsync/fabsync/internal/fabricdir"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
)

// permanentError marks an error no retry can fix (fabric removed, missing secret) without
// changing its text.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// errUserCanceled is the cancel cause when the job was canceled through the API.
var errUserCanceled = errors.New("job canceled")

// IsPermanent reports whether err is one no retry can fix: a missing secret, a fabric no longer
// configured, invalid raw files (*ingest.ValidationError), or a permanent git error
// (gitops.IsPermanent), or a write ingest would make outside the fabric folder. Tasks returning it
// are archived at once.
func IsPermanent(err error) bool {
	var ve *ingest.ValidationError
	var pe *permanentError
	return errors.As(err, &pe) || errors.As(err, &ve) || gitops.IsPermanent(err) || errors.Is(err, fabricdir.ErrOutside)
}

// verdict is what an attempt's outcome means for the job and for asynq.
type verdict int

const (
	verdictOK          verdict = iota // the body finished the job or handed it on
	verdictCanceled                   // the user canceled the job: it ends canceled
	verdictInterrupted                // the worker is stopping or Asynqmon canceled the task: asynq runs it again
	verdictRetry                      // a transient failure with retries left
	verdictFinal                      // a permanent failure, or the last attempt failed: the job ends
)

func (v verdict) String() string {
	return [...]string{"ok", "canceled", "interrupted", "retry", "final"}[v]
}

// classify decides the verdict of an attempt that returned err. parentErr is the error of the
// context asynq gave the task, cause the cause of the attempt's own context, last whether no
// retry follows this attempt.
func classify(err, parentErr, cause error, last bool) verdict {
	switch {
	case err == nil, errors.Is(err, ErrTransition):
		// ErrTransition: another delivery or the reconciler moved the job on; nothing to retry.
		return verdictOK
	case errors.Is(err, errUserCanceled) || errors.Is(cause, errUserCanceled):
		return verdictCanceled
	case parentErr != nil && !errors.Is(parentErr, context.DeadlineExceeded):
		return verdictInterrupted
	case last || IsPermanent(err):
		return verdictFinal
	}
	return verdictRetry
}
