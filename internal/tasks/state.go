package tasks

import (
	"errors"
	"fmt"
	"time"
)

// This file is the job state machine: the only code that assigns a job's state or a stage's
// state. Every move is one method on *Job (start, stageDone, retry, partial, fail, cancel,
// succeed); each refuses a move the table below does not allow with a *TransitionError, so a
// late or duplicated task can never take a job backwards. The Lua scripts receive the states
// they write from here (see keys.go).
//
//	from \ event   start(git)  start(ingest)  stageDone  retry  succeed  partial  fail  cancel
//	queued         syncing     -              -          -      -        -        yes   yes
//	syncing        syncing     ingesting      syncing²   yes²   yes¹     yes¹     yes   yes
//	ingesting      -           ingesting      -          yes³   yes      yes      yes   yes
//	(terminal)     -           -              -          -      -        -        -     -
//
//	¹ only once the git sync stage succeeded   ² git sync only (ingest has not started)
//	³ ingest only

// State is a job's state; stored in Redis, do not rename the values.
type State string

// Job states.
const (
	StateQueued      State = "queued"
	StateSyncing     State = "syncing"
	StateIngesting   State = "ingesting"
	StateSucceeded   State = "succeeded"
	StatePartialSync State = "partial_sync"
	StateFailed      State = "failed"
	StateCanceled    State = "canceled"
)

// Terminal reports whether s is a final job state.
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StatePartialSync, StateFailed, StateCanceled:
		return true
	}
	return false
}

// Terminal reports whether state is a final job state.
func Terminal(state State) bool { return state.Terminal() }

// Stage is one of a job's two stages.
type Stage string

// Stages, in the order they run; also the values of Progress.Stage while they run.
const (
	StageGitSync Stage = "git_sync"
	StageIngest  Stage = "ingest"
)

// name is the stage as a log line says it.
func (s Stage) name() string {
	if s == StageGitSync {
		return "git sync"
	}
	return "ingest"
}

// StageState is the state of one stage of a job; stored in Redis, do not rename the values.
type StageState string

// Stage states.
const (
	StagePending   StageState = "pending"
	StageRunning   StageState = "running"
	StageSucceeded StageState = "succeeded"
	StageFailed    StageState = "failed"
	StageSkipped   StageState = "skipped"
)

// Progress stages: the stage a job is in, or done.
const (
	ProgressGitSync = string(StageGitSync)
	ProgressIngest  = string(StageIngest)
	ProgressDone    = "done"
)

// Event names a move of the state machine.
type Event string

// Events, one per transition method.
const (
	EventStart     Event = "start"
	EventStageDone Event = "stage_done"
	EventRetry     Event = "retry"
	EventSucceed   Event = "succeed"
	EventPartial   Event = "partial"
	EventFail      Event = "fail"
	EventCancel    Event = "cancel"
)

// ErrTransition is wrapped by every refused move of the state machine.
var ErrTransition = errors.New("transition not allowed")

// TransitionError reports a move the state machine refused.
type TransitionError struct {
	From  State
	Event Event
	Stage Stage // the stage the event is about, if any
}

func (e *TransitionError) Error() string {
	if e.Stage != "" {
		return fmt.Sprintf("job is %s: cannot %s %s", e.From, e.Event, e.Stage)
	}
	return fmt.Sprintf("job is %s: cannot %s", e.From, e.Event)
}

// Unwrap makes errors.Is(err, ErrTransition) hold.
func (e *TransitionError) Unwrap() error { return ErrTransition }

// allowed is the transition table above.
func (j *Job) allowed(ev Event, stage Stage) bool {
	gitDone := j.GitSync.State == StageSucceeded
	switch j.State {
	case StateQueued:
		return (ev == EventStart && stage == StageGitSync) || ev == EventFail || ev == EventCancel
	case StateSyncing:
		switch ev {
		case EventStart:
			return true // ingest may start before a retried git sync re-records its success
		case EventStageDone, EventRetry:
			return stage == StageGitSync
		case EventSucceed, EventPartial:
			return gitDone
		case EventFail, EventCancel:
			return true
		}
	case StateIngesting:
		switch ev {
		case EventStart, EventRetry:
			return stage == StageIngest
		case EventSucceed, EventPartial, EventFail, EventCancel:
			return true
		}
	}
	return false
}

func (j *Job) check(ev Event, stage Stage) error {
	if !j.allowed(ev, stage) {
		return &TransitionError{From: j.State, Event: ev, Stage: stage}
	}
	return nil
}

// stageOf returns the record of stage.
func (j *Job) stageOf(stage Stage) (state *StageState, attempts *int, errMsg *string, attemptErrs *[]string) {
	if stage == StageGitSync {
		return &j.GitSync.State, &j.GitSync.Attempts, &j.GitSync.Error, &j.GitSync.AttemptErrors
	}
	return &j.Ingest.State, &j.Ingest.Attempts, &j.Ingest.Error, &j.Ingest.AttemptErrors
}

// start marks attempt (from 1) of stage running.
func (j *Job) start(stage Stage, attempt int, now time.Time) error {
	if err := j.check(EventStart, stage); err != nil {
		return err
	}
	if j.StartedAt == nil {
		t := now.UTC()
		j.StartedAt = &t
	}
	st, attempts, _, _ := j.stageOf(stage)
	*st, *attempts = StageRunning, attempt
	if stage == StageGitSync {
		j.State = StateSyncing
		j.setProgress(ProgressGitSync, 1, "git sync started")
	} else {
		j.State = StateIngesting
		j.setProgress(ProgressIngest, 42, "ingest started")
	}
	j.logf(now, fmt.Sprintf("%s attempt %d started", stage.name(), attempt))
	return nil
}

// stageDone records that the git sync stage brought the clone to commit head. (The ingest
// stage ends with the job: succeed or partial.)
func (j *Job) stageDone(stage Stage, head, branch string, now time.Time) error {
	if err := j.check(EventStageDone, stage); err != nil {
		return err
	}
	j.GitSync.State, j.GitSync.Commit, j.GitSync.Error = StageSucceeded, head, ""
	j.setProgress(ProgressGitSync, 40, "at "+short(head))
	j.logf(now, fmt.Sprintf("git sync done: %s is at %s", branch, short(head)))
	return nil
}

// retry records a failed attempt of stage; the job stays where it is. next says what follows
// ("will retry", "no retries left", …).
func (j *Job) retry(stage Stage, attempt int, msg, next string, now time.Time) error {
	if err := j.check(EventRetry, stage); err != nil {
		return err
	}
	_, _, errMsg, attemptErrs := j.stageOf(stage)
	*errMsg = msg
	*attemptErrs = append(*attemptErrs, fmt.Sprintf("attempt %d: %s", attempt, msg))
	j.logf(now, fmt.Sprintf("%s attempt %d failed (%s): %s", stage.name(), attempt, next, msg))
	return nil
}

// succeed ends the job succeeded, with the commit it pushed (or none).
func (j *Job) succeed(commit string, now time.Time) error {
	if err := j.check(EventSucceed, ""); err != nil {
		return err
	}
	j.Ingest.State, j.Ingest.Commit, j.Ingest.Error = StageSucceeded, commit, ""
	j.finish(StateSucceeded, "", now)
	return nil
}

// partial ends the job partial_sync: git sync worked, ingestion did not, nothing was changed.
func (j *Job) partial(reason string, now time.Time) error {
	if err := j.check(EventPartial, ""); err != nil {
		return err
	}
	j.Ingest.State = StageFailed
	j.finish(StatePartialSync, reason, now)
	return nil
}

// fail ends the job failed. A stage that was running failed with it.
func (j *Job) fail(reason string, now time.Time) error {
	if err := j.check(EventFail, ""); err != nil {
		return err
	}
	j.finish(StateFailed, reason, now)
	return nil
}

// cancel ends the job canceled. A stage that was running is skipped, not failed.
func (j *Job) cancel(reason string, now time.Time) error {
	if err := j.check(EventCancel, ""); err != nil {
		return err
	}
	j.finish(StateCanceled, reason, now)
	return nil
}

// finish moves the job to the final state: a git sync stage that had not finished failed with
// the job (skipped when the user canceled it), an ingest stage that never started is skipped and
// one cut short failed (skipped on a cancel), progress is 100 %, and the log says why.
func (j *Job) finish(state State, reason string, now time.Time) {
	t := now.UTC()
	j.State, j.Reason, j.FinishedAt = state, reason, &t
	cut := StageFailed
	if state == StateCanceled {
		cut = StageSkipped
	}
	if j.GitSync.State == StagePending || j.GitSync.State == StageRunning {
		j.GitSync.State = cut
	}
	switch j.Ingest.State {
	case StagePending:
		j.Ingest.State = StageSkipped
	case StageRunning:
		j.Ingest.State = cut
	}
	msg := "job " + string(state)
	if reason != "" {
		msg += ": " + reason
	}
	j.Progress = Progress{Stage: ProgressDone, Percent: 100, Message: msg}
	j.logf(now, msg)
}
