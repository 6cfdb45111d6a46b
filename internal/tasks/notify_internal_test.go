package tasks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/plan"
)

// TestNotifyStatesAgree: the states the fabrics file accepts in notify[].on are the final job
// states.
func TestNotifyStatesAgree(t *testing.T) {
	for _, s := range config.NotifyStates {
		if !State(s).Terminal() {
			t.Errorf("notify state %q is not a final job state", s)
		}
	}
	for _, s := range []State{StateSucceeded, StatePartialSync, StateFailed, StateCanceled} {
		if !strings.Contains(strings.Join(config.NotifyStates, " "), string(s)) {
			t.Errorf("final state %s missing from config.NotifyStates", s)
		}
	}
}

func notifyTestJob(state State) *finishedJob {
	j := &finishedJob{Job: *newJob("job-1", "lab<1>", TriggerWebhook, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
	j.State = state
	j.GitSync.Commit = "0123456789abcdef0123456789abcdef01234567"
	return j
}

func TestNotifySlackMessage(t *testing.T) {
	const link = "https://fabsync.example.com/#/jobs/job-1"
	partial := notifyTestJob(StatePartialSync)
	partial.Reason = "7 errors and 1 warning in raw files; nothing was changed in the repository"
	for i := range 7 {
		partial.Ingest.Problems = append(partial.Ingest.Problems, DocError{File: "raw/bad.yaml", Line: 10 + i, Message: fmt.Sprintf("problem %d <&>", i), Severity: "error"})
	}
	partial.Ingest.Problems = append(partial.Ingest.Problems, DocError{File: "raw/w.yaml", Line: 2, Message: "a warning", Severity: "warning"})
	succeeded := notifyTestJob(StateSucceeded)
	succeeded.Ingest = Ingest{Files: 2, Documents: 3, Created: 2, Updated: 1, Commit: "fedcba9876543210fedcba9876543210fedcba98"}
	succeeded.PullRequest = &PullRequest{Provider: "github", URL: "https://github.com/o/r/pull/12", Number: 12, State: "open"}
	failed := notifyTestJob(StateFailed)
	failed.Reason = "git sync failed: authentication failed"
	failed.GitSync.Commit = ""
	dry := notifyTestJob(StateSucceeded)
	dry.DryRun = true
	dry.Plan = &plan.Plan{Summary: "1 VPC created"}

	for _, tt := range []struct {
		name    string
		job     *finishedJob
		link    string
		want    []string // in text or blocks
		notWant []string
	}{
		{"partial sync with problems", partial, link,
			[]string{"lab&lt;1&gt;", "partial sync", "7 errors and 1 warning in raw files", "*7 errors, 1 warning*",
				"`raw/bad.yaml:10` problem 0 &lt;&amp;&gt;", "`raw/bad.yaml:14` problem 4", "…and 3 more", "<" + link + "|job job-1>", "synced from 0123456789"},
			[]string{"problem 5", "a warning", "problem 0 <&>"}},
		{"succeeded with a pull request", succeeded, link,
			[]string{"succeeded", "2 created, 1 updated, 0 unchanged from 3 documents in 2 files; commit fedcba9876", "<https://github.com/o/r/pull/12|#12> (open)", link},
			[]string{"error"}},
		{"failed without a link", failed, "",
			[]string{"failed", "git sync failed: authentication failed", "job job-1 · trigger webhook"},
			[]string{"/#/jobs/", "synced from", "<|"}},
		{"dry run", dry, link, []string{"dry run of lab<1> succeeded: dry run: 1 VPC created", "*lab&lt;1&gt;* dry run succeeded"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := slackMessage(tt.job, tt.link)
			b, err := json.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			var all strings.Builder
			all.WriteString(msg.Text + "\n")
			for _, bl := range msg.Blocks {
				if bl.Text != nil {
					all.WriteString(bl.Text.Text + "\n")
				}
				for _, e := range bl.Elements {
					all.WriteString(e.Text + "\n")
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(all.String(), w) {
					t.Errorf("message lacks %q:\n%s", w, all.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(all.String(), w) {
					t.Errorf("message has %q:\n%s", w, all.String())
				}
			}
			var back map[string]any
			if err := json.Unmarshal(b, &back); err != nil || back["text"] == "" || len(back["blocks"].([]any)) < 3 {
				t.Errorf("payload %s: want text and blocks", b)
			}
			if strings.Contains(msg.Text, "\n") {
				t.Errorf("text %q is not one line", msg.Text)
			}
		})
	}
}

func TestStatusDescription(t *testing.T) {
	long := notifyTestJob(StateFailed)
	long.Reason = "git sync failed: " + strings.Repeat("très long ", 30) + "\nsecond line"
	for _, tt := range []struct {
		job         *finishedJob
		state, want string
	}{
		{notifyTestJob(StateSucceeded), StatusSuccess, "succeeded: nothing to ingest"},
		{func() *finishedJob {
			j := notifyTestJob(StatePartialSync)
			j.Reason = "2 errors in raw files; nothing was changed in the repository"
			return j
		}(), StatusFailure, "partial sync: 2 errors in raw files; nothing was changed in the repository"},
		{long, StatusFailure, "failed: git sync failed: très long très long"},
		{notifyTestJob(StateCanceled), "", "canceled"},
	} {
		if got := statusOf(tt.job.State); got != tt.state {
			t.Errorf("statusOf(%s) = %q; want %q", tt.job.State, got, tt.state)
		}
		d := statusDescription(tt.job)
		if !strings.HasPrefix(d, tt.want) || utf8.RuneCountInString(d) > 140 || strings.ContainsAny(d, "\n\r") {
			t.Errorf("statusDescription(%s) = %q (%d runes); want a line of at most 140 starting %q", tt.job.State, d, utf8.RuneCountInString(d), tt.want)
		}
	}
}

func TestNotifySign(t *testing.T) {
	body := []byte(`{"id":"job-1"}`)
	got := sign([]byte("hunter2"), body)
	m := hmac.New(sha256.New, []byte("hunter2"))
	m.Write(body)
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("sign = %s; want %s", got, want)
	}
	if sign([]byte("other"), body) == got {
		t.Fatal("the signature does not depend on the secret")
	}
}
