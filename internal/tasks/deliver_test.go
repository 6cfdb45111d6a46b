package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

const secondVPC = `apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-2
spec:
  subnets:
    default:
      subnet: 10.0.2.0/24
      vlan: 1002
`

// prForge is a fake forge with one repository's pull requests from one branch, as the Forge
// contract describes them; it records every call.
type prForge struct {
	mu    sync.Mutex
	calls []tasks.PullRequestSpec
	auths []tasks.ForgeAuth
	fail  []error // returned by the next calls, in order (nil: answer)
	num   int     // the newest pull request's number, 0 when none
	state string  // the newest pull request's state
	// mergedStays returns a merged newest pull request as it is even for a new change
	// (Reopen), instead of opening a new one.
	mergedStays bool
}

func (f *prForge) EnsurePullRequest(_ context.Context, spec tasks.PullRequestSpec) (*tasks.PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, spec)
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		if err != nil {
			return nil, err
		}
	}
	created := false
	switch {
	case f.num == 0 || (f.state == "merged" && spec.Reopen && !f.mergedStays):
		f.num, f.state, created = f.num+1, "open", true
	case f.state == "closed" && spec.Reopen:
		f.state = "open"
	}
	return &tasks.PullRequest{Provider: "gitea", URL: fmt.Sprintf("https://forge.example/o/r/pulls/%d", f.num),
		Number: f.num, State: f.state, Created: created}, nil
}

func (f *prForge) SetStatus(context.Context, tasks.CommitStatus) error { return nil }

func (f *prForge) factory(_ context.Context, fab config.Fabric, auth tasks.ForgeAuth) (tasks.Forge, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auths = append(f.auths, auth)
	if fab.Forge.Type == "" {
		return nil, tasks.ErrNoForge
	}
	return f, nil
}

func (f *prForge) spec(i int) tasks.PullRequestSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[i]
}

func (f *prForge) ncalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// prYAML is the rig's fabric delivering by pull request.
func prYAML(repo, extra string) string {
	return "fabrics:\n  - name: fab\n    repo: " + repo + "\n    path: " + fabricPath + "\n    deliver: pull_request\n" + extra
}

// prRig is a rig whose fabric delivers by pull request through fg.
func prRig(t *testing.T, files map[string]string, fg *prForge, cfg func(*tasks.HandlerConfig)) *rig {
	t.Helper()
	r := newRig(t, files, "")
	r.writeConfig(prYAML(r.repo, "    forge: {type: gitea}\n"))
	hc := tasks.HandlerConfig{
		DataDir: r.dataDir, Fabrics: r.src,
		Author:     gitops.Signature{Name: "fabsync test", Email: "test@fabsync.localhost"},
		GitTimeout: 20 * time.Second, GitDepth: gitops.RecommendedDepth, CancelPoll: 20 * time.Millisecond,
		NoHandoff: true, Logger: slog.New(slog.NewJSONHandler(r.logs, nil)),
		PublicURL: "https://fabsync.example/",
	}
	if fg != nil {
		hc.Forge = fg.factory
	}
	if cfg != nil {
		cfg(&hc)
	}
	h, err := tasks.NewHandler(r.svc, hc)
	if err != nil {
		t.Fatal(err)
	}
	h.SetRetryInfo(func(context.Context) (int, int) { return r.retry, r.max })
	r.h = h
	return r
}

// deliverJob triggers a job and runs its tasks as asynq would; it returns the ingest task's error.
func (r *rig) deliverJob() (*tasks.Job, error) {
	r.t.Helper()
	ctx := context.Background()
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		r.t.Fatalf("HandleRepoSync = %v", err)
	}
	if !r.ingestQueued(j.ID) {
		return r.job(j.ID), nil
	}
	err := r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID))
	return r.job(j.ID), err
}

// ref returns where refs/heads/<branch> is in the rig's bare repository, "" when absent.
func (r *rig) ref(branch string) string {
	r.t.Helper()
	return gittest.Git(r.t, r.git.RepoDir("repo"), "for-each-ref", "--format=%(objectname)", "refs/heads/"+branch)
}

func (r *rig) bareGit(args ...string) string {
	r.t.Helper()
	return gittest.Git(r.t, r.git.RepoDir("repo"), args...)
}

const prBranch = "fabsync/fab"

// TestPullRequestDelivery follows one fabric through a pull request's life: the first job
// pushes fabsync/fab (main untouched) and opens the pull request; a resync of the same raw
// files pushes nothing and updates the same one; a new raw file pushes a new commit and updates
// it; after the merge the next sync is a no-op without a forge call; a new raw file then opens a
// new pull request.
func TestPullRequestDelivery(t *testing.T) {
	fg := &prForge{}
	r := prRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, fg, nil)
	main0 := r.ref("main")

	// 1. The first job.
	j1, err := r.deliverJob()
	if err != nil {
		t.Fatalf("HandleIngest = %v", err)
	}
	c1 := r.ref(prBranch)
	if j1.State != tasks.StateSucceeded || c1 == "" || j1.Ingest.Commit != c1 {
		t.Fatalf("job 1 = %s (%s), commit %q; want succeeded with the branch's commit %q", j1.State, j1.Reason, j1.Ingest.Commit, c1)
	}
	if got := r.ref("main"); got != main0 {
		t.Fatalf("main moved to %s; pull request delivery must leave it at %s", got, main0)
	}
	if parent := r.bareGit("rev-parse", c1+"^"); parent != main0 {
		t.Fatalf("the branch's commit has parent %s; want main %s", parent, main0)
	}
	files := r.bareGit("ls-tree", "-r", "--name-only", prBranch, fabricPath)
	if !strings.Contains(files, "managed/vpcs/vpc-1.yaml") || strings.Contains(files, "raw/vpcs.yaml") {
		t.Fatalf("the branch holds %s; want the VPC ingested and raw/ emptied", files)
	}
	if msg := r.bareGit("log", "-1", "--format=%B", prBranch); !strings.Contains(msg, tasks.TrailerKey+": "+j1.ID) {
		t.Fatalf("the branch's commit %q lacks the job trailer", msg)
	}
	if n := fg.ncalls(); n != 1 {
		t.Fatalf("forge calls = %d; want 1", n)
	}
	s := fg.spec(0)
	if s.Head != prBranch || s.Base != "main" || !s.Reopen || !strings.HasPrefix(s.Title, "fabsync: ") {
		t.Fatalf("pull request spec = %+v; want fabsync/fab → main, Reopen, a fabsync: title", s)
	}
	for _, want := range []string{"vpc-1", "https://fabsync.example/#/jobs/" + j1.ID, "created"} {
		if !strings.Contains(s.Body, want) {
			t.Errorf("pull request body lacks %q:\n%s", want, s.Body)
		}
	}
	if pr := j1.PullRequest; pr == nil || pr.Number != 1 || !pr.Created || pr.State != "open" || pr.Provider != "gitea" || pr.URL == "" {
		t.Fatalf("job 1 pull_request = %+v; want #1 created, open", pr)
	}
	raw, err := json.Marshal(j1)
	if err != nil || !strings.Contains(string(raw), `"pull_request":{"provider":"gitea","url":"https://forge.example/o/r/pulls/1","number":1,"state":"open","created":true}`) {
		t.Fatalf("job JSON %s lacks pull_request", raw)
	}

	// 2. A resync while the pull request is open, with the same raw files on main.
	j2, err := r.deliverJob()
	if err != nil || j2.State != tasks.StateSucceeded {
		t.Fatalf("job 2 = %s (%s), %v; want succeeded", j2.State, j2.Reason, err)
	}
	if got := r.ref(prBranch); got != c1 || j2.Ingest.Commit != c1 {
		t.Fatalf("job 2 moved the branch to %s (recorded %s); want it left at %s", got, j2.Ingest.Commit, c1)
	}
	if n := r.bareGit("rev-list", "--count", prBranch); n != "2" {
		t.Fatalf("the branch has %s commits; want 2 (no pile-up)", n)
	}
	if n := fg.ncalls(); n != 2 || fg.spec(1).Reopen {
		t.Fatalf("forge calls = %d, Reopen %v; want a second call without Reopen", n, fg.spec(1).Reopen)
	}
	if pr := j2.PullRequest; pr == nil || pr.Number != 1 || pr.Created {
		t.Fatalf("job 2 pull_request = %+v; want #1, not created", pr)
	}
	if !logHas(j2, "already holds this change") {
		t.Errorf("job 2 log lacks the nothing-pushed line: %+v", j2.Log)
	}

	// 3. A new raw file on main: a new commit on the branch, the same pull request.
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/vpc2.yaml": secondVPC}, "add vpc-2")
	main1 := r.ref("main")
	j3, err := r.deliverJob()
	if err != nil || j3.State != tasks.StateSucceeded {
		t.Fatalf("job 3 = %s (%s), %v; want succeeded", j3.State, j3.Reason, err)
	}
	c3 := r.ref(prBranch)
	if c3 == c1 || j3.Ingest.Commit != c3 || r.bareGit("rev-parse", c3+"^") != main1 {
		t.Fatalf("job 3: branch at %s (was %s), recorded %s; want a new commit on main %s", c3, c1, j3.Ingest.Commit, main1)
	}
	files = r.bareGit("ls-tree", "-r", "--name-only", prBranch, fabricPath+"/managed")
	if !strings.Contains(files, "vpc-1.yaml") || !strings.Contains(files, "vpc-2.yaml") {
		t.Fatalf("the branch's managed/ = %s; want both VPCs", files)
	}
	if n := fg.ncalls(); n != 3 || !fg.spec(2).Reopen {
		t.Fatalf("forge calls = %d; want a third with Reopen", n)
	}
	if pr := j3.PullRequest; pr == nil || pr.Number != 1 || pr.Created {
		t.Fatalf("job 3 pull_request = %+v; want the same #1", pr)
	}
	if got := r.ref("main"); got != main1 {
		t.Fatalf("main moved to %s", got)
	}

	// 4. Someone merges the pull request (a fast-forward of main to the branch).
	r.bareGit("update-ref", "refs/heads/main", c3, main1)
	fg.mu.Lock()
	fg.state = "merged"
	fg.mu.Unlock()
	j4, err := r.deliverJob()
	if err != nil || j4.State != tasks.StateSucceeded || j4.Ingest.Commit != "" || j4.PullRequest != nil {
		t.Fatalf("job 4 after the merge = %s, commit %q, pull request %+v, %v; want a no-op success", j4.State, j4.Ingest.Commit, j4.PullRequest, err)
	}
	if n := fg.ncalls(); n != 3 {
		t.Fatalf("forge calls = %d after a no-op sync; want still 3", n)
	}

	// 5. A new change after the merge: a new pull request.
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/vpc3.yaml": strings.NewReplacer("vpc-2", "vpc-3", "1002", "1003", "10.0.2.", "10.0.3.").Replace(secondVPC)}, "add vpc-3")
	j5, err := r.deliverJob()
	if err != nil || j5.State != tasks.StateSucceeded {
		t.Fatalf("job 5 = %s (%s), %v; want succeeded", j5.State, j5.Reason, err)
	}
	if got := r.ref(prBranch); got == c3 || got != j5.Ingest.Commit {
		t.Fatalf("job 5: branch at %s; want a new commit %s", got, j5.Ingest.Commit)
	}
	if pr := j5.PullRequest; pr == nil || pr.Number != 2 || !pr.Created || !fg.spec(3).Reopen {
		t.Fatalf("job 5 pull_request = %+v; want a new #2", pr)
	}
}

// TestPullRequestForgeTransient: the forge fails after the branch was pushed; the retried
// attempt pushes nothing more and opens the one pull request.
func TestPullRequestForgeTransient(t *testing.T) {
	fg := &prForge{fail: []error{errors.New("502 Bad Gateway")}}
	r := prRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, fg, nil)
	j, err := r.deliverJob()
	if err == nil || errors.Is(err, asynq.SkipRetry) || j.State != tasks.StateIngesting {
		t.Fatalf("first attempt = %v, job %s; want a transient error, the job still ingesting", err, j.State)
	}
	pushed := r.ref(prBranch)
	if pushed == "" || len(j.Ingest.AttemptErrors) != 1 || !strings.Contains(j.Ingest.AttemptErrors[0], "502 Bad Gateway") {
		t.Fatalf("branch %q, attempt errors %q; want the branch pushed and the forge's error recorded", pushed, j.Ingest.AttemptErrors)
	}
	r.retry = 1
	if err := r.h.HandleIngest(context.Background(), task(tasks.TypeIngest, j.ID)); err != nil {
		t.Fatalf("retried attempt = %v", err)
	}
	got := r.job(j.ID)
	if got.State != tasks.StateSucceeded || got.Ingest.Commit != pushed || got.PullRequest == nil || got.PullRequest.Number != 1 {
		t.Fatalf("job = %s (%s), commit %s, pull request %+v; want succeeded with %s and #1", got.State, got.Reason, got.Ingest.Commit, got.PullRequest, pushed)
	}
	if now := r.ref(prBranch); now != pushed {
		t.Fatalf("the retry pushed again: branch at %s, was %s", now, pushed)
	}
	if n := r.bareGit("rev-list", "--count", prBranch); n != "2" {
		t.Fatalf("the branch has %s commits; want 2", n)
	}
	// Both calls asked for the same pull request, as a new change (this job pushed it).
	if n := fg.ncalls(); n != 2 || !fg.spec(1).Reopen || fg.num != 1 {
		t.Fatalf("forge calls = %d, pull requests %d; want 2 calls, 1 pull request", n, fg.num)
	}
}

// TestPullRequestForgePermanent: the forge refuses the token; the job fails at once, saying
// which forge and where the change is, the branch pushed and main untouched.
func TestPullRequestForgePermanent(t *testing.T) {
	fg := &prForge{fail: []error{fmt.Errorf("401 Unauthorized: %w", tasks.ErrForgePermanent)}}
	r := prRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, fg, nil)
	main0 := r.ref("main")
	j, err := r.deliverJob()
	if err != nil {
		t.Fatalf("HandleIngest = %v; want nil (the job ended)", err)
	}
	branch := r.ref(prBranch)
	if j.State != tasks.StateFailed || j.Ingest.State != tasks.StageFailed || branch == "" || j.Ingest.Commit != branch {
		t.Fatalf("job = %s/%s, commit %q, branch %q; want failed with the pushed branch", j.State, j.Ingest.State, j.Ingest.Commit, branch)
	}
	for _, want := range []string{"gitea", "401 Unauthorized", prBranch} {
		if !strings.Contains(j.Reason, want) {
			t.Errorf("reason %q lacks %q", j.Reason, want)
		}
	}
	if r.ref("main") != main0 || fg.ncalls() != 1 {
		t.Fatalf("main %s (was %s), forge calls %d; want main untouched, one call", r.ref("main"), main0, fg.ncalls())
	}
}

// TestDeliverWithoutForge: deliver: pull_request with no forge (none in the worker, or none
// for the fabric) fails the job at once, before anything is pushed.
func TestDeliverWithoutForge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fg    *prForge
		forge string
		want  string
	}{
		{"no factory", nil, "    forge: {type: gitea}\n", "deliver: pull_request needs a forge"},
		{"no forge for the fabric", &prForge{}, "", "no forge configured for the fabric's repository; set forge.type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := prRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, tc.fg, nil)
			r.writeConfig(prYAML(r.repo, tc.forge))
			main0 := r.ref("main")
			j, err := r.deliverJob()
			if !errors.Is(err, asynq.SkipRetry) || j.State.Terminal() == false || j.State == tasks.StateSucceeded || !strings.Contains(j.Reason, tc.want) {
				t.Fatalf("job = %s (%s), %v; want a permanent failure saying %q", j.State, j.Reason, err, tc.want)
			}
			if r.ref(prBranch) != "" || r.ref("main") != main0 {
				t.Fatalf("something was pushed: branch %q, main %s (was %s)", r.ref(prBranch), r.ref("main"), main0)
			}
		})
	}
}

// TestDeliverGitHubApp: with auth.github_app, git over HTTPS authenticates with the App's
// installation tokens (user x-access-token) and the forge gets the same token source;
// without HandlerConfig.AppTokens it is a configuration error.
func TestDeliverGitHubApp(t *testing.T) {
	fg := &prForge{}
	var gotApp, gotInst int64
	var gotKey, gotAPI string
	r := prRig(t, nil, fg, func(hc *tasks.HandlerConfig) {
		hc.AppTokens = func(app, inst int64, key []byte, apiURL string) (func(context.Context) (string, error), error) {
			gotApp, gotInst, gotKey, gotAPI = app, inst, string(key), apiURL
			return func(context.Context) (string, error) { return "ghs_installation", nil }, nil
		}
	})
	srv := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", "ghs_installation"))
	repo := srv.NewRepo(t, "repo", map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC})
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, []byte("not really a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.writeConfig(prYAML(repo, "    forge: {type: github, api_url: 'https://ghe.example/api/v3'}\n"+
		"    auth: {github_app: {app_id: 42, installation_id: 7, private_key_file: "+keyFile+"}}\n"))
	j, err := r.deliverJob()
	if err != nil || j.State != tasks.StateSucceeded || j.PullRequest == nil {
		t.Fatalf("job = %s (%s), %v; want succeeded with a pull request", j.State, j.Reason, err)
	}
	if gotApp != 42 || gotInst != 7 || gotKey != "not really a key\n" || gotAPI != "https://ghe.example/api/v3" {
		t.Fatalf("AppTokens(%d, %d, %q, %q); want 42, 7, the key file, the api_url", gotApp, gotInst, gotKey, gotAPI)
	}
	if head := gittest.Git(t, srv.RepoDir("repo"), "for-each-ref", "--format=%(objectname)", "refs/heads/"+prBranch); head == "" || head != j.Ingest.Commit {
		t.Fatalf("branch at %q; want %s", head, j.Ingest.Commit)
	}
	fg.mu.Lock()
	auth := fg.auths[len(fg.auths)-1]
	fg.mu.Unlock()
	if auth.TokenSource == nil {
		t.Fatal("the forge got no token source")
	}
	if tok, err := auth.TokenSource(context.Background()); tok != "ghs_installation" || err != nil {
		t.Fatalf("forge token source = %q, %v", tok, err)
	}

	// A worker that cannot mint tokens.
	r2 := prRig(t, nil, fg, nil)
	r2.writeConfig(prYAML(r2.repo, "    forge: {type: github}\n    auth: {github_app: {app_id: 42, installation_id: 7, private_key_file: "+keyFile+"}}\n"))
	j2 := r2.trigger()
	err = r2.h.HandleRepoSync(context.Background(), task(tasks.TypeRepoSync, j2.ID))
	if got := r2.job(j2.ID); !errors.Is(err, asynq.SkipRetry) || got.State != tasks.StateFailed || !strings.Contains(got.Reason, "auth.github_app") {
		t.Fatalf("job without AppTokens = %s (%s), %v; want failed naming auth.github_app", got.State, got.Reason, err)
	}
}

// logHas reports whether a line of the job log contains s.
func logHas(j *tasks.Job, s string) bool {
	for _, l := range j.Log {
		if strings.Contains(l.Message, s) {
			return true
		}
	}
	return false
}

// TestPullRequestMergedReturned: a forge that answers a new change with the pull request
// merged before fails the job, saying so, rather than letting it succeed with a change no pull
// request shows.
func TestPullRequestMergedReturned(t *testing.T) {
	fg := &prForge{mergedStays: true}
	r := prRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, fg, nil)
	if j, err := r.deliverJob(); err != nil || j.State != tasks.StateSucceeded {
		t.Fatalf("job 1 = %s (%s), %v", j.State, j.Reason, err)
	}
	r.bareGit("update-ref", "refs/heads/main", r.ref(prBranch))
	fg.mu.Lock()
	fg.state = "merged"
	fg.mu.Unlock()
	gittest.Commit(t, r.repo, map[string]string{fabricPath + "/raw/vpc2.yaml": secondVPC}, "add vpc-2")
	j, err := r.deliverJob()
	if err != nil || j.State != tasks.StateFailed || !strings.Contains(j.Reason, "merged already") || !strings.Contains(j.Reason, "#1") {
		t.Fatalf("job 2 = %s (%s), %v; want failed: the forge returned the merged #1", j.State, j.Reason, err)
	}
}
