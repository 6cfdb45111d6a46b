package tasks

import (
	"time"

	"github.com/fabsync/fabsync/internal/plan"
)

// Triggers, stored in Redis; do not rename.
const (
	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerWebhook  = "webhook"
)

// Job is one sync of one fabric, as stored in Redis and returned by the API (docs/API.md).
// Fields may be added, never renamed.
type Job struct {
	ID       string   `json:"id"`
	Fabric   string   `json:"fabric"`
	Trigger  string   `json:"trigger"`
	State    State    `json:"state"`
	Progress Progress `json:"progress"`
	GitSync  GitSync  `json:"git_sync"`
	Ingest   Ingest   `json:"ingest"`
	Reason   string   `json:"reason,omitempty"` // why the job ended failed/partial_sync/canceled, in a sentence
	// DryRun marks a dry run: it syncs, ingests and validates like a real job but commits and
	// pushes nothing, and records its Plan instead.
	DryRun bool `json:"dry_run"`
	// Plan is what a sync would change in the resource files: set when a dry run succeeded,
	// absent otherwise.
	Plan *plan.Plan `json:"plan,omitempty"`
	// Changes is what a job that pushed a commit changed: its created, updated and deleted
	// resource files (Unchanged files only counted), each with its sha256 and, within a bound,
	// its diff. Absent for a job that changed no file, and for a dry run (see Plan).
	Changes *plan.Plan `json:"changes,omitempty"`
	// PullRequest is the pull request a job of a fabric with deliver: pull_request opened or
	// updated (docs/DELIVERY.md); absent otherwise.
	PullRequest *PullRequest `json:"pull_request,omitempty"`
	// CancelRequested is set when someone asked to cancel the job and stays set; until the job
	// ends, the cancel has not taken effect yet.
	CancelRequested bool       `json:"cancel_requested,omitempty"`
	Log             []LogLine  `json:"log"`
	CreatedAt       time.Time  `json:"created_at"`
	StartedAt       *time.Time `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Progress is the job's live progress. Percent never goes down.
type Progress struct {
	Stage   string `json:"stage"`
	Percent int    `json:"percent"`
	Message string `json:"message"`
	// UpdatedAt is when stage, percent or message last changed (absent in records written
	// before it was added). With Timeout it tells a stalled job from a slow one: a job whose
	// progress has not moved for longer than its stage's timeout is stalled (its task is
	// past its deadline, and the reconciler ends it).
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Timeout is the running stage's timeout in seconds (SyncTimeout, IngestTimeout); 0 when no
	// stage runs.
	Timeout int `json:"timeout_seconds"`
}

// GitSync is the state of the git sync stage.
type GitSync struct {
	State         StageState `json:"state"`
	Attempts      int        `json:"attempts"`
	Commit        string     `json:"commit"`
	Error         string     `json:"error"`
	AttemptErrors []string   `json:"attempt_errors"`
}

// Ingest is the state of the ingest stage.
type Ingest struct {
	State     StageState `json:"state"`
	Attempts  int        `json:"attempts"`
	Files     int        `json:"files"`
	Documents int        `json:"documents"`
	Created   int        `json:"created"`
	Updated   int        `json:"updated"`
	Unchanged int        `json:"unchanged"`
	Archived  int        `json:"archived"`
	Commit    string     `json:"commit"`
	Warnings  []string   `json:"warnings"`
	Errors    []DocError `json:"errors"`
	// Problems is every located problem of the last attempt, errors and
	// warnings, each with its rule and severity (Errors keeps the errors
	// alone, as before).
	Problems      []DocError `json:"problems"`
	Error         string     `json:"error"`
	AttemptErrors []string   `json:"attempt_errors"`
}

// DocError is one ingestion problem located in a raw file.
type DocError struct {
	File     string `json:"file"`
	Document int    `json:"document"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Message  string `json:"message"`
	Rule     string `json:"rule,omitempty"`     // the check that found it, e.g. "connection-unknown-switch"
	Severity string `json:"severity,omitempty"` // "error" or "warning"
	Excerpt  string `json:"excerpt,omitempty"`  // source lines with a caret under the column
	Kind     string `json:"kind,omitempty"`     // the resource of the document it is in ("Switch"), when known
	Name     string `json:"name,omitempty"`     // and its name ("leaf-01")
}

// LogLine is one timestamped line of the job log.
type LogLine struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// maxLogLines bounds the job log kept in the record; older lines are dropped, with a marker.
const maxLogLines = 500

func (j *Job) logf(now time.Time, msg string) {
	j.Log = append(j.Log, LogLine{Time: now.UTC(), Message: msg})
	if len(j.Log) > maxLogLines {
		keep := j.Log[len(j.Log)-maxLogLines+1:]
		j.Log = append([]LogLine{{Time: keep[0].Time, Message: "(earlier lines dropped)"}}, keep...)
	}
}

// setProgress moves the progress forward; percent never goes down.
func (j *Job) setProgress(stage string, percent int, msg string) {
	if percent < j.Progress.Percent {
		percent = j.Progress.Percent
	}
	if percent > 100 {
		percent = 100
	}
	j.Progress = Progress{Stage: stage, Percent: percent, Message: msg, UpdatedAt: j.Progress.UpdatedAt, Timeout: stageTimeout(stage)}
}

// stageTimeout is the timeout of the stage a job's progress is in, in seconds.
func stageTimeout(stage string) int {
	switch stage {
	case ProgressGitSync:
		return int(SyncTimeout / time.Second)
	case ProgressIngest:
		return int(IngestTimeout / time.Second)
	}
	return 0
}

func newJob(id, fabric, trigger string, now time.Time) *Job {
	return &Job{
		ID: id, Fabric: fabric, Trigger: trigger, State: StateQueued,
		Progress:  Progress{Stage: ProgressGitSync, Percent: 0, Message: "queued", UpdatedAt: now.UTC()},
		GitSync:   GitSync{State: StagePending, AttemptErrors: []string{}},
		Ingest:    Ingest{State: StagePending, Warnings: []string{}, Errors: []DocError{}, Problems: []DocError{}, AttemptErrors: []string{}},
		Log:       []LogLine{{Time: now.UTC(), Message: "job queued (trigger " + trigger + ")"}},
		CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
}
