package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 10, 42, 0, 0, time.UTC)

// jobIn returns a job in state from, with its stages as they would be there. gitDone says
// whether its git sync stage has succeeded (only meaningful for syncing).
func jobIn(from State, gitDone bool) *Job {
	j := newJob("20261201T104200Z-0000000000", "f1", TriggerManual, t0)
	switch from {
	case StateSyncing:
		j.State, j.GitSync.State = StateSyncing, StageRunning
		if gitDone {
			j.GitSync.State = StageSucceeded
		}
	case StateIngesting:
		j.State, j.GitSync.State, j.Ingest.State = StateIngesting, StageSucceeded, StageRunning
	case StateQueued:
	default:
		j.finish(from, "earlier", t0)
	}
	return j
}

// TestTransitions checks every (from, event) pair against the table in state.go.
func TestTransitions(t *testing.T) {
	type move struct {
		name  string
		do    func(j *Job) error
		after State // the state an allowed move leads to
	}
	moves := []move{
		{"start git sync", func(j *Job) error { return j.start(StageGitSync, 1, t0) }, StateSyncing},
		{"start ingest", func(j *Job) error { return j.start(StageIngest, 1, t0) }, StateIngesting},
		{"git sync done", func(j *Job) error { return j.stageDone(StageGitSync, "abc", "main", t0) }, StateSyncing},
		{"retry git sync", func(j *Job) error { return j.retry(StageGitSync, 1, "boom", "will retry", t0) }, StateSyncing},
		{"retry ingest", func(j *Job) error { return j.retry(StageIngest, 1, "boom", "will retry", t0) }, StateIngesting},
		{"succeed", func(j *Job) error { return j.succeed("abc", t0) }, StateSucceeded},
		{"partial", func(j *Job) error { return j.partial("bad yaml", t0) }, StatePartialSync},
		{"fail", func(j *Job) error { return j.fail("gone", t0) }, StateFailed},
		{"cancel", func(j *Job) error { return j.cancel("asked", t0) }, StateCanceled},
	}
	type from struct {
		state   State
		gitDone bool
		allowed map[string]bool
	}
	froms := []from{
		{StateQueued, false, map[string]bool{"start git sync": true, "fail": true, "cancel": true}},
		{StateSyncing, false, map[string]bool{"start git sync": true, "start ingest": true, "git sync done": true,
			"retry git sync": true, "fail": true, "cancel": true}},
		{StateSyncing, true, map[string]bool{"start git sync": true, "start ingest": true, "git sync done": true,
			"retry git sync": true, "succeed": true, "partial": true, "fail": true, "cancel": true}},
		{StateIngesting, false, map[string]bool{"start ingest": true, "retry ingest": true, "succeed": true,
			"partial": true, "fail": true, "cancel": true}},
		{StateSucceeded, false, nil},
		{StatePartialSync, false, nil},
		{StateFailed, false, nil},
		{StateCanceled, false, nil},
	}
	for _, f := range froms {
		for _, m := range moves {
			name := string(f.state)
			if f.gitDone {
				name += " (git sync done)"
			}
			t.Run(name+"/"+m.name, func(t *testing.T) {
				j := jobIn(f.state, f.gitDone)
				before := *j
				err := m.do(j)
				if !f.allowed[m.name] {
					var te *TransitionError
					if !errors.As(err, &te) || !errors.Is(err, ErrTransition) || te.From != f.state {
						t.Fatalf("%s from %s = %v; want a *TransitionError from %s", m.name, f.state, err, f.state)
					}
					if j.State != before.State || j.GitSync.State != before.GitSync.State || j.Ingest.State != before.Ingest.State || len(j.Log) != len(before.Log) {
						t.Fatalf("refused %s changed the job: %+v", m.name, j)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s from %s = %v; want allowed", m.name, f.state, err)
				}
				if j.State != m.after {
					t.Fatalf("%s from %s: state %s; want %s", m.name, f.state, j.State, m.after)
				}
				if len(j.Log) <= len(before.Log) {
					t.Errorf("%s from %s logged nothing", m.name, f.state)
				}
				if m.after.Terminal() {
					checkFinished(t, j)
				}
			})
		}
	}
}

// checkFinished checks what every final transition leaves behind.
func checkFinished(t *testing.T, j *Job) {
	t.Helper()
	if j.FinishedAt == nil || j.Progress.Percent != 100 || j.Progress.Stage != ProgressDone {
		t.Errorf("finished job: finished_at %v, progress %+v; want a time and 100 %% done", j.FinishedAt, j.Progress)
	}
	for _, st := range []StageState{j.GitSync.State, j.Ingest.State} {
		if st == StagePending || st == StageRunning {
			t.Errorf("finished job %s still has a stage %s", j.State, st)
		}
	}
}

// TestFinishStages checks how a final state settles each stage.
func TestFinishStages(t *testing.T) {
	tests := []struct {
		name           string
		from           State
		end            func(j *Job) error
		git, ingestSt  StageState
		wantReasonText string
	}{
		{"queued job canceled", StateQueued, func(j *Job) error { return j.cancel("asked", t0) }, StageSkipped, StageSkipped, "asked"},
		{"queued job failed to enqueue", StateQueued, func(j *Job) error { return j.fail("no redis", t0) }, StageFailed, StageSkipped, "no redis"},
		{"git sync fails", StateSyncing, func(j *Job) error { return j.fail("auth", t0) }, StageFailed, StageSkipped, "auth"},
		{"git sync canceled", StateSyncing, func(j *Job) error { return j.cancel("asked", t0) }, StageSkipped, StageSkipped, "asked"},
		{"ingest canceled", StateIngesting, func(j *Job) error { return j.cancel("asked", t0) }, StageSucceeded, StageSkipped, "asked"},
		{"ingest partial", StateIngesting, func(j *Job) error { return j.partial("3 problems", t0) }, StageSucceeded, StageFailed, "3 problems"},
		{"ingest task lost", StateIngesting, func(j *Job) error { return j.fail("gone", t0) }, StageSucceeded, StageFailed, "gone"},
		{"ingest succeeds", StateIngesting, func(j *Job) error { return j.succeed("abc", t0) }, StageSucceeded, StageSucceeded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := jobIn(tt.from, false)
			if err := tt.end(j); err != nil {
				t.Fatal(err)
			}
			if j.GitSync.State != tt.git || j.Ingest.State != tt.ingestSt || j.Reason != tt.wantReasonText {
				t.Fatalf("stages = %s, %s, reason %q; want %s, %s, %q", j.GitSync.State, j.Ingest.State, j.Reason, tt.git, tt.ingestSt, tt.wantReasonText)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	transient := errors.New("connection reset")
	perm := permanent("auth.token_env: environment variable X is not set")
	tests := []struct {
		name             string
		err, parent, cau error
		last             bool
		want             verdict
	}{
		{"success", nil, nil, nil, false, verdictOK},
		{"canceled through the API", errUserCanceled, nil, nil, false, verdictCanceled},
		{"canceled: the cause says so", transient, nil, errUserCanceled, false, verdictCanceled},
		{"worker shutting down", transient, errors.New("context canceled"), nil, false, verdictInterrupted},
		{"task timed out, retries left", transient, deadline{}, nil, false, verdictRetry},
		{"transient, retries left", transient, nil, nil, false, verdictRetry},
		{"transient, last attempt", transient, nil, nil, true, verdictFinal},
		{"permanent", perm, nil, nil, false, verdictFinal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err, tt.parent, tt.cau, tt.last); got != tt.want {
				t.Fatalf("classify = %s; want %s", got, tt.want)
			}
		})
	}
}

// deadline is an error that is context.DeadlineExceeded.
type deadline struct{}

func (deadline) Error() string   { return "deadline exceeded" }
func (deadline) Is(e error) bool { return e == context.DeadlineExceeded }

func TestGitPhaseRange(t *testing.T) {
	for _, tt := range []struct {
		phase  string
		lo, hi int
	}{{"counting", 2, 15}, {"enumerating", 2, 15}, {"compressing", 15, 35}, {"receiving", 35, 39}, {"resolving", 35, 39}} {
		if lo, hi := gitPhaseRange(tt.phase); lo != tt.lo || hi != tt.hi {
			t.Errorf("gitPhaseRange(%s) = %d, %d; want %d, %d", tt.phase, lo, hi, tt.lo, tt.hi)
		}
	}
}

func TestNewID(t *testing.T) {
	got := newID(t0, "fab", []byte{0x01, 0xab, 0xff, 0x00, 0x10})
	want := "20261201T104200Z-" + slotTag("fab") + "-01abff0010"
	if got != want || idTag(got) != slotTag("fab") {
		t.Fatalf("newID = %q (tag %q); want %q", got, idTag(got), want)
	}
}

// TestKeySlots: every key of a fabric and of its jobs has the fabric's hash tag, so that each
// script touches one Redis Cluster slot; a job ID of the form before tags keeps its untagged
// record; the tags of different fabrics differ (mostly: 4 hex digits).
func TestKeySlots(t *testing.T) {
	id := newID(t0, "fabric-1", []byte{1, 2, 3, 4, 5})
	tag := "{" + slotTag("fabric-1") + "}"
	keys := []string{jobKey(id), handoffKey(id)}
	for _, what := range fabricKeyKinds {
		keys = append(keys, fabricKey("fabric-1", what))
	}
	for _, k := range keys {
		if first := k[strings.IndexByte(k, '{') : strings.IndexByte(k, '}')+1]; first != tag {
			t.Errorf("key %s has hash tag %s; want %s", k, first, tag)
		}
	}
	if k := jobKey("20261126T060102Z-3fa9c0d1e2"); k != "fabsync:job:20261126T060102Z-3fa9c0d1e2" {
		t.Errorf("jobKey of an untagged ID = %s; want its old name", k)
	}
	for _, bad := range []string{"", "x", "20261126T060102Z-zzzz-0123456789", "20261126T060102Z-3fa9c0d1e2"} {
		if idTag(bad) != "" {
			t.Errorf("idTag(%q) = %q; want none", bad, idTag(bad))
		}
	}
	tags := map[string]bool{}
	for i := range 100 {
		tags[slotTag(fmt.Sprintf("fabric-%d", i))] = true
	}
	if len(tags) < 95 {
		t.Errorf("100 fabrics have %d distinct tags; want nearly 100", len(tags))
	}
}

// TestPointOfNoReturn: a cancel before the commit stops the attempt; one after it does not, so
// a pushed job never ends canceled.
func TestPointOfNoReturn(t *testing.T) {
	for _, cancelFirst := range []bool{true, false} {
		ctx, cancel := context.WithCancelCause(context.Background())
		a := &attempt{cancel: cancel}
		if cancelFirst {
			if !a.cancelByUser() {
				t.Fatal("cancelByUser before the point of no return = false; want true")
			}
			if err := a.pointOfNoReturn(ctx); !errors.Is(err, errUserCanceled) {
				t.Fatalf("pointOfNoReturn after a cancel = %v; want errUserCanceled", err)
			}
			continue
		}
		if err := a.pointOfNoReturn(ctx); err != nil {
			t.Fatalf("pointOfNoReturn = %v", err)
		}
		if a.cancelByUser() || ctx.Err() != nil {
			t.Fatalf("a cancel after the point of no return canceled the attempt (%v)", context.Cause(ctx))
		}
		cancel(nil)
	}
}
