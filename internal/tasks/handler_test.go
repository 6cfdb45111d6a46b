package tasks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

const fabricPath = "gitops/fab"

const goodVPC = `apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
spec:
  subnets:
    default:
      subnet: 10.0.1.0/24
      vlan: 1001
`

// rig is one Redis, one git server with a repository per test, a fabrics file and a Handler,
// driven by calling the task handlers directly as asynq would.
type rig struct {
	t       *testing.T
	svc     *tasks.Service
	h       *tasks.Handler
	git     *gittest.Server
	repo    string
	cfgPath string
	dataDir string
	src     *config.Source
	logs    *bytes.Buffer
	retry   int // the retry count the next attempt sees
	max     int // the task's retry limit
}

func newRig(t *testing.T, files map[string]string, fabricYAML string) *rig {
	t.Helper()
	if testing.Short() {
		t.Skip("needs redis-server and git")
	}
	rdb, _ := redistest.Client(t)
	r := &rig{t: t, svc: tasks.NewService(rdb), git: gittest.NewServer(t), logs: &bytes.Buffer{}, max: 3}
	r.repo = r.git.NewRepo(t, "repo", files)
	dir := t.TempDir()
	r.cfgPath = filepath.Join(dir, "fabsync.yaml")
	r.dataDir = filepath.Join(dir, "data")
	if fabricYAML == "" {
		fabricYAML = "fabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n    resync: 1m\n"
	}
	r.writeConfig(fabricYAML)
	src, err := config.NewSource(r.cfgPath, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	r.src = src
	// The tests drive each task by hand, as asynq delivers them; handoff_test.go runs the
	// ingest stage in-process, as the worker does.
	r.h = r.handler(true)
	return r
}

// handler returns a Handler on the rig's Redis, clones and fabrics, with the rig's retry count.
func (r *rig) handler(noHandoff bool) *tasks.Handler {
	r.t.Helper()
	h, err := tasks.NewHandler(r.svc, tasks.HandlerConfig{
		DataDir: r.dataDir, Fabrics: r.src,
		Getenv:     func(k string) string { return map[string]string{"TOKEN": "secret"}[k] },
		Author:     gitops.Signature{Name: "fabsync test", Email: "test@fabsync.localhost"},
		GitTimeout: 20 * time.Second, GitDepth: gitops.RecommendedDepth, CancelPoll: 20 * time.Millisecond,
		NoHandoff: noHandoff,
		Logger:    slog.New(slog.NewJSONHandler(r.logs, nil)),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	h.SetRetryInfo(func(context.Context) (int, int) { return r.retry, r.max })
	return h
}

// cloneDir is the worker's clone of fab.
func (r *rig) cloneDir() string {
	r.t.Helper()
	f, ok := r.src.Fabric("fab")
	if !ok {
		r.t.Fatal("no fabric fab")
	}
	return tasks.CloneDir(r.dataDir, f)
}

func (r *rig) writeConfig(y string) {
	r.t.Helper()
	if err := os.WriteFile(r.cfgPath, []byte(y), 0o644); err != nil {
		r.t.Fatal(err)
	}
	// the Source notices a change by modification time and size
	later := time.Now().Add(time.Duration(len(y)) * time.Second)
	if err := os.Chtimes(r.cfgPath, later, later); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) trigger() *tasks.Job {
	r.t.Helper()
	j, slot, err := r.svc.Trigger(context.Background(), "fab", tasks.TriggerManual)
	if err != nil || slot != tasks.SlotActive {
		r.t.Fatalf("Trigger = %v, %v; want an active job", slot, err)
	}
	return j
}

func task(typ, id string) *asynq.Task {
	b, _ := json.Marshal(tasks.Payload{JobID: id, Fabric: "fab"})
	return asynq.NewTask(typ, b)
}

func (r *rig) job(id string) *tasks.Job {
	r.t.Helper()
	j, err := r.svc.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return j
}

func (r *rig) ingestQueued(id string) bool {
	_, err := r.svc.Inspector().GetTaskInfo(tasks.QueueIngest, "ingest:"+id)
	return err == nil
}

func TestJobSucceeds(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatalf("HandleRepoSync = %v", err)
	}
	got := r.job(j.ID)
	if got.State != tasks.StateSyncing || got.GitSync.State != tasks.StageSucceeded || got.GitSync.Commit == "" || !r.ingestQueued(j.ID) {
		t.Fatalf("after git sync: %s/%s, commit %q, ingest queued %v; want syncing, git sync succeeded, ingest queued",
			got.State, got.GitSync.State, got.GitSync.Commit, r.ingestQueued(j.ID))
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatalf("HandleIngest = %v", err)
	}
	got = r.job(j.ID)
	if got.State != tasks.StateSucceeded || got.Ingest.Commit == "" || got.Ingest.Files != 1 || got.Ingest.Documents != 1 || got.Ingest.Created != 1 {
		t.Fatalf("after ingest: %+v; want succeeded with 1 file, 1 document, 1 created and a commit", got)
	}
	msg := gittest.Git(t, r.git.RepoDir("repo"), "log", "-1", "--format=%B", "main")
	if !strings.Contains(msg, tasks.TrailerKey+": "+j.ID) {
		t.Fatalf("pushed commit message %q lacks the job trailer", msg)
	}
	if files := gittest.Git(t, r.git.RepoDir("repo"), "ls-tree", "-r", "--name-only", "main", fabricPath+"/managed"); !strings.Contains(files, "vpc-1") {
		t.Fatalf("managed/ on the remote = %q; want the VPC's file", files)
	}
	// The one log line of a good job.
	line := r.logs.String()
	for _, want := range []string{`"msg":"job succeeded"`, `"fabric":"fab"`, `"job_id":"` + j.ID + `"`, `"documents":1`, `"commit":"` + got.Ingest.Commit + `"`, `"duration"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log %s lacks %s", line, want)
		}
	}
	// A re-delivery of either task after the job ended does nothing.
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatalf("HandleIngest again = %v; want nil", err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatalf("HandleRepoSync again = %v; want nil", err)
	}
	if again := r.job(j.ID); again.State != tasks.StateSucceeded || len(again.Log) != len(got.Log) {
		t.Fatalf("a re-delivery changed the ended job: %s, %d log lines (was %d)", again.State, len(again.Log), len(got.Log))
	}
	// The fabric's slot is free: the next trigger is active.
	next := r.trigger()
	// Nothing left in raw/: the job ends after git sync, without an ingest task.
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, next.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(next.ID); got.State != tasks.StateSucceeded || got.Ingest.Commit != "" || r.ingestQueued(next.ID) {
		t.Fatalf("sync with empty raw/ = %s, commit %q, ingest queued %v; want succeeded, no commit, no ingest task",
			got.State, got.Ingest.Commit, r.ingestQueued(next.ID))
	}
}

func TestIngestFindsItsOwnCommit(t *testing.T) {
	// A worker pushed, then died before recording it: the next attempt finds the trailer.
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	sha := gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/vpcs.yaml": ""}, "fabsync: ingest\n\n"+tasks.TrailerKey+": "+j.ID)
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(j.ID); got.State != tasks.StateSucceeded || got.Ingest.Commit != sha {
		t.Fatalf("job = %s, commit %q; want succeeded with the commit already on the remote %s", got.State, got.Ingest.Commit, sha)
	}
	if n := gittest.Git(t, r.git.RepoDir("repo"), "rev-list", "--count", "main"); n != "2" {
		t.Fatalf("remote has %s commits; want 2 (no second commit)", n)
	}
}

func TestSecondJobFindsResourceUnchanged(t *testing.T) {
	// The same VPC dropped into raw/ again: the second job finds its managed file unchanged
	// and still commits (the raw file is archived).
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	for i := range 2 {
		if i == 1 {
			gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/again.yaml": goodVPC}, "same VPC again")
		}
		j := r.trigger()
		if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
			t.Fatal(err)
		}
		if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := r.svc.List(ctx, "fab", 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("List = %d, %v", len(jobs), err)
	}
	if in := jobs[0].Ingest; jobs[0].State != tasks.StateSucceeded || in.Unchanged != 1 || in.Created != 0 || in.Commit == "" {
		t.Fatalf("second job = %s, %+v; want succeeded, 1 unchanged, 0 created, a commit", jobs[0].State, in)
	}
}

func TestPartialSyncOnInvalidYAML(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/bad.yaml": "kind: VPC\nmetadata: [\n"}, "")
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID))
	if !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("HandleIngest = %v; want a permanent error (SkipRetry)", err)
	}
	got := r.job(j.ID)
	if got.State != tasks.StatePartialSync || got.Ingest.State != tasks.StageFailed || len(got.Ingest.Errors) == 0 ||
		got.Ingest.Errors[0].File != "raw/bad.yaml" || got.Ingest.Errors[0].Line == 0 || !strings.Contains(got.Reason, "nothing was changed") {
		t.Fatalf("job = %s/%s, errors %+v, reason %q; want partial_sync with located errors", got.State, got.Ingest.State, got.Ingest.Errors, got.Reason)
	}
	if n := gittest.Git(t, r.git.RepoDir("repo"), "rev-list", "--count", "main"); n != "1" {
		t.Fatalf("remote has %s commits; want 1 (nothing pushed)", n)
	}
}

func TestGitSyncFailures(t *testing.T) {
	tests := []struct {
		name      string
		fabric    string // the fabrics file; REPO is replaced by the test repository's URL
		retry     int
		wantState tasks.State
		permanent bool
		wantInErr string
	}{
		{"repository not found", "fabrics:\n  - name: fab\n    repo: REPO-missing.git\n    path: x\n", 0, tasks.StateFailed, true, "not found"},
		{"missing secret", "fabrics:\n  - name: fab\n    repo: REPO\n    path: x\n    auth: {token_env: NOPE}\n", 0, tasks.StateFailed, true, "NOPE is not set"},
		{"server down, retries left", "fabrics:\n  - name: fab\n    repo: http://127.0.0.1:1/repo.git\n    path: x\n", 0, tasks.StateSyncing, false, "git sync"},
		{"server down, last attempt", "fabrics:\n  - name: fab\n    repo: http://127.0.0.1:1/repo.git\n    path: x\n", 3, tasks.StateFailed, false, "git sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, nil, "")
			r.writeConfig(strings.ReplaceAll(tt.fabric, "REPO", strings.TrimSuffix(r.repo, ".git")))
			if !strings.Contains(tt.fabric, "REPO-missing") {
				r.writeConfig(strings.ReplaceAll(tt.fabric, "REPO", r.repo))
			}
			r.retry = tt.retry
			j := r.trigger()
			err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID))
			if err == nil || errors.Is(err, asynq.SkipRetry) != tt.permanent || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("HandleRepoSync = %v; want an error containing %q, permanent %v", err, tt.wantInErr, tt.permanent)
			}
			got := r.job(j.ID)
			if got.State != tt.wantState || len(got.GitSync.AttemptErrors) != 1 || got.GitSync.Attempts != tt.retry+1 {
				t.Fatalf("job = %s, attempts %d, attempt errors %q; want %s after attempt %d", got.State, got.GitSync.Attempts, got.GitSync.AttemptErrors, tt.wantState, tt.retry+1)
			}
			if tt.wantState == tasks.StateFailed && (got.GitSync.State != tasks.StageFailed || got.Ingest.State != tasks.StageSkipped || !strings.HasPrefix(got.Reason, "git sync failed")) {
				t.Fatalf("failed job stages %s/%s, reason %q", got.GitSync.State, got.Ingest.State, got.Reason)
			}
		})
	}
}

func TestFabricRemovedFromConfig(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil, "")
	j := r.trigger()
	r.writeConfig("fabrics:\n  - name: other\n    repo: " + r.repo + "\n")
	err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID))
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "no longer in the configuration") {
		t.Fatalf("HandleRepoSync = %v; want a permanent error naming the removed fabric", err)
	}
	if got := r.job(j.ID); got.State != tasks.StateFailed {
		t.Fatalf("job = %s; want failed", got.State)
	}
}

func TestCancelRunningIngest(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Start(ctx, j.ID, tasks.StageIngest); err != nil {
		t.Fatal(err)
	}
	follow, slot, err := r.svc.Trigger(ctx, "fab", tasks.TriggerWebhook)
	if err != nil || slot != tasks.SlotWaiting {
		t.Fatalf("Trigger while running = %v, %v; want waiting", slot, err)
	}
	// The cancel flag of a job whose task runs: the handler must stop before the push.
	if err := r.svc.RequestCancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatalf("HandleIngest of a canceled job = %v; want nil", err)
	}
	got := r.job(j.ID)
	if got.State != tasks.StateCanceled || got.Ingest.State != tasks.StageSkipped {
		t.Fatalf("job = %s/%s; want canceled, ingest skipped", got.State, got.Ingest.State)
	}
	if !got.CancelRequested || !hasLog(got, "cancel requested") || !hasLog(got, "cancel took effect during ingest") {
		t.Fatalf("job log %v (cancel_requested %v); want the request and the moment it took effect", got.Log, got.CancelRequested)
	}
	if n := gittest.Git(t, r.git.RepoDir("repo"), "rev-list", "--count", "main"); n != "1" {
		t.Fatalf("remote has %s commits; want 1 (a canceled job pushes nothing)", n)
	}
	// What the canceled ingest wrote is gone from the worker's clone: it is the remote head.
	clone := r.cloneDir()
	if st := gittest.Git(t, clone, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Fatalf("clone after a canceled ingest is dirty:\n%s", st)
	}
	if _, err := os.Stat(filepath.Join(clone, fabricPath, "raw", "vpcs.yaml")); err != nil {
		t.Fatalf("raw file after a canceled ingest: %v; want it back in place", err)
	}
	// The waiting job was promoted and its task enqueued.
	if info, err := r.svc.Inspector().GetTaskInfo(tasks.QueueSync, "sync:"+follow.ID); err != nil || info.State != asynq.TaskStatePending {
		t.Fatalf("follow-up task = %v, %v; want pending", info, err)
	}
}

func TestBadPayloadAndUnknownJob(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil, "")
	for _, tt := range []struct {
		name string
		t    *asynq.Task
	}{
		{"not JSON", asynq.NewTask(tasks.TypeRepoSync, []byte("{"))},
		{"no job", asynq.NewTask(tasks.TypeIngest, []byte(`{"fabric":"fab"}`))},
		{"unknown job", task(tasks.TypeRepoSync, "20260101T000000Z-0000000000")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.t.Type() == tasks.TypeIngest {
				err = r.h.HandleIngest(ctx, tt.t)
			} else {
				err = r.h.HandleRepoSync(ctx, tt.t)
			}
			if !errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("handler = %v; want SkipRetry", err)
			}
		})
	}
}

func TestResyncClaimsOneTick(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil, "")
	b, _ := json.Marshal(tasks.ResyncPayload{Fabric: "fab"})
	tick := asynq.NewTask(tasks.TypeResync, b)
	for i := range 3 { // three schedulers during a handover: one job
		if err := r.h.HandleResync(ctx, tick); err != nil {
			t.Fatalf("HandleResync %d = %v", i, err)
		}
	}
	jobs, err := r.svc.List(ctx, "fab", 10)
	if err != nil || len(jobs) != 1 || jobs[0].Trigger != tasks.TriggerSchedule {
		t.Fatalf("jobs after three ticks = %d, %v; want one scheduled job", len(jobs), err)
	}
	// A tick for a fabric whose schedule was removed does nothing.
	b, _ = json.Marshal(tasks.ResyncPayload{Fabric: "gone"})
	if err := r.h.HandleResync(ctx, asynq.NewTask(tasks.TypeResync, b)); err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleResync(ctx, asynq.NewTask(tasks.TypeResync, []byte("x"))); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("HandleResync(bad payload) = %v; want SkipRetry", err)
	}
	// The provider turns the fabric's interval into a periodic task.
	src, err := config.NewSource(r.cfgPath, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cfgs, err := tasks.ResyncProvider{Fabrics: src}.GetConfigs()
	if err != nil || len(cfgs) != 1 || cfgs[0].Cronspec != "@every 1m0s" || cfgs[0].Task.Type() != tasks.TypeResync {
		t.Fatalf("GetConfigs = %v, %v; want one @every 1m0s resync", cfgs, err)
	}
	// At most one tick of a fabric is queued: the scheduler's next one, while it waits, is
	// refused at the enqueue (the worker's scheduler drops it silently).
	client := asynq.NewClientFromRedisClient(r.svc.Redis())
	if _, err := client.EnqueueContext(ctx, cfgs[0].Task, cfgs[0].Opts...); err != nil {
		t.Fatal(err)
	}
	if _, err := client.EnqueueContext(ctx, cfgs[0].Task, cfgs[0].Opts...); !errors.Is(err, asynq.ErrDuplicateTask) {
		t.Fatalf("a second tick while the first waits: %v; want ErrDuplicateTask", err)
	}
	// The claim of the tick that ran is held for half the interval (1m), not more: a tick that
	// waited in the queue a few seconds less than the one before is still a tick.
	if ttl := r.svc.Redis().PTTL(ctx, tasks.ResyncClaimKey("fab")).Val(); ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("resync claim held for %v; want at most 30s", ttl)
	}
}

// TestThroughAsynq runs a job through a real asynq server in this process: the handlers as
// registered, asynq's own retry count, and a transient failure that a retry fixes.
func TestThroughAsynq(t *testing.T) {
	r := newRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, "")
	h, err := tasks.NewHandler(r.svc, tasks.HandlerConfig{DataDir: t.TempDir(), Fabrics: mustSource(t, r.cfgPath), CancelPoll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := asynq.NewServerFromRedisClient(r.svc.Redis(), asynq.Config{
		Concurrency: 2, Queues: tasks.Queues, RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond },
		TaskCheckInterval: 20 * time.Millisecond, DelayedTaskCheckInterval: 50 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	h.Register(mux)
	// The first git sync finds the server hanging up on it; the retry gets through.
	proxy := flakyProxy(t, strings.TrimPrefix(r.git.URL, "http://"), 1)
	r.writeConfig("fabrics:\n  - name: fab\n    repo: http://" + proxy + "/repo.git\n    path: " + fabricPath + "\n")
	j := r.trigger()
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	deadline := time.Now().Add(30 * time.Second)
	for !r.job(j.ID).State.Terminal() {
		if time.Now().After(deadline) {
			t.Fatalf("job still %s", r.job(j.ID).State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := r.job(j.ID)
	if got.State != tasks.StateSucceeded || got.Ingest.Commit == "" || got.GitSync.Attempts < 2 || got.Ingest.Attempts != 1 {
		t.Fatalf("job = %s, git sync attempts %d (%q), ingest attempts %d; want succeeded after a retried git sync",
			got.State, got.GitSync.Attempts, got.GitSync.AttemptErrors, got.Ingest.Attempts)
	}
	// Both tasks of the chain end completed in asynq, whichever worker ran the ingest stage.
	for _, tk := range [][2]string{{tasks.QueueSync, "sync:" + j.ID}, {tasks.QueueIngest, "ingest:" + j.ID}} {
		for {
			info, err := r.svc.Inspector().GetTaskInfo(tk[0], tk[1])
			if err == nil && info.State == asynq.TaskStateCompleted {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s = %v, %v; want completed", tk[1], info, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// flakyProxy forwards TCP connections to target, except that it closes the first fail ones at
// once. It returns its address.
func flakyProxy(t *testing.T, target string, fail int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n < fail {
				_ = c.Close()
				continue
			}
			go func() {
				defer func() { _ = c.Close() }()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer func() { _ = up.Close() }()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

func mustSource(t *testing.T, path string) *config.Source {
	t.Helper()
	src, err := config.NewSource(path, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func hasLog(j *tasks.Job, msg string) bool {
	for _, l := range j.Log {
		if l.Message == msg {
			return true
		}
	}
	return false
}
