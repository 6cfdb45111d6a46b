package tasks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/tasks"
)

const (
	hookSecret = "hunter2-hook-secret"
	slackPath  = "/services/T000/B000/hunter2slackpath"
	publicURL  = "https://fabsync.example.com/"
)

// receiver is an httptest server that records what it is sent and answers with the next of
// its statuses (the last one over and over).
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []int
	got      []received
}

type received struct {
	path   string
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.URL.Path, req.Header.Clone(), b})
		code := r.statuses[min(len(r.got), len(r.statuses))-1]
		r.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// statusForge records the commit statuses set.
type statusForge struct {
	mu       sync.Mutex
	statuses []tasks.CommitStatus
}

func (f *statusForge) EnsurePullRequest(context.Context, tasks.PullRequestSpec) (*tasks.PullRequest, error) {
	return nil, errors.New("not in this test")
}

func (f *statusForge) SetStatus(_ context.Context, st tasks.CommitStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, st)
	return nil
}

func (f *statusForge) got() []tasks.CommitStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tasks.CommitStatus(nil), f.statuses...)
}

// notifyRig is a rig whose fabric has the given notify: and commit_status: lines, a handler
// with a public URL, the secrets in its environment and forge (nil: none), and a real asynq
// server serving the notify queue with short retry delays.
type notifyRig struct {
	*rig
	h    *tasks.Handler
	insp *asynq.Inspector
}

func newNotifyRig(t *testing.T, files map[string]string, fabricExtra string, env map[string]string, forge tasks.Forge) *notifyRig {
	t.Helper()
	r := newRig(t, files, "")
	r.writeConfig("fabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n" + fabricExtra)
	var ff tasks.ForgeFactory
	if forge != nil {
		ff = func(context.Context, config.Fabric, tasks.ForgeAuth) (tasks.Forge, error) { return forge, nil }
	}
	h, err := tasks.NewHandler(r.svc, tasks.HandlerConfig{
		DataDir: r.dataDir, Fabrics: r.src,
		Getenv:     func(k string) string { return env[k] },
		Author:     gitops.Signature{Name: "fabsync test", Email: "test@fabsync.localhost"},
		GitTimeout: 20 * time.Second, GitDepth: gitops.RecommendedDepth, CancelPoll: 20 * time.Millisecond,
		NoHandoff: true, PublicURL: publicURL, Forge: ff,
		Logger: slog.New(slog.NewJSONHandler(&lockedBuffer{b: r.logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.SetRetryInfo(func(context.Context) (int, int) { return 0, 0 }) // the job's tasks: no retries
	srv := asynq.NewServerFromRedisClient(r.svc.Redis(), asynq.Config{
		Concurrency: 2, Queues: map[string]int{tasks.QueueNotify: 1},
		RetryDelayFunc: tasks.RetryDelay(
			func(int, error, *asynq.Task) time.Duration { return time.Hour }, // no job task runs here
			tasks.Backoff(10*time.Millisecond, 40*time.Millisecond)),
		TaskCheckInterval: 10 * time.Millisecond, DelayedTaskCheckInterval: 20 * time.Millisecond, LogLevel: asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	h.RegisterNotify(mux)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &notifyRig{rig: r, h: h, insp: r.svc.Inspector()}
}

// lockedBuffer lets the asynq server's goroutines log into the rig's buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// endJob runs a job of the rig's fabric to its end: succeeded (nothing in raw/, or a good
// file) or partial_sync (a bad file), by calling its task handlers as asynq would.
func (r *notifyRig) endJob() *tasks.Job {
	r.t.Helper()
	ctx := context.Background()
	j := r.trigger()
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		r.t.Fatal(err)
	}
	if got := r.job(j.ID); !got.State.Terminal() {
		_ = r.h.HandleIngest(ctx, task(tasks.TypeIngest, j.ID))
	}
	got := r.job(j.ID)
	if !got.State.Terminal() {
		r.t.Fatalf("job %s did not end: %s", j.ID, got.State)
	}
	return got
}

// waitTask waits until the notify queue's task id is in state, and returns it.
func (r *notifyRig) waitTask(id string, state asynq.TaskState) *asynq.TaskInfo {
	r.t.Helper()
	var ti *asynq.TaskInfo
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ti, err = r.insp.GetTaskInfo(tasks.QueueNotify, id); err == nil && ti.State == state {
			return ti
		}
	}
	r.t.Fatalf("task %s: %+v, %v; want it %s", id, ti, err, state)
	return nil
}

// TestNotifyDelivers: a job that ends sends exactly one message to each target: the webhook
// gets the job's JSON as the API returns it, signed with its secret; Slack gets a summary with
// the link to the job. No secret is in a message, the job or the logs, and a re-delivery of the
// fan-out sends nothing again.
func TestNotifyDelivers(t *testing.T) {
	hook, slack := newReceiver(t, 200), newReceiver(t, 200)
	r := newNotifyRig(t, map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC},
		"    notify:\n      - {type: webhook, url: '"+hook.URL+"/hook', secret_env: HOOK_SECRET}\n      - {type: slack, url_env: SLACK_URL}\n"+
			"      - {type: webhook, url: '"+hook.URL+"/only-failures', on: [failed]}\n",
		map[string]string{"HOOK_SECRET": hookSecret, "SLACK_URL": slack.URL + slackPath}, nil)
	j := r.endJob()
	if j.State != tasks.StateSucceeded {
		t.Fatalf("job = %s (%s); want succeeded", j.State, j.Reason)
	}
	r.waitTask("notify:"+j.ID+":0", asynq.TaskStateCompleted)
	r.waitTask("notify:"+j.ID+":1", asynq.TaskStateCompleted)
	// A re-delivery of the fan-out (a worker crash) sends nothing again.
	if err := r.h.HandleNotifyJob(context.Background(), task(tasks.TypeNotifyJob, j.ID)); err != nil {
		t.Fatalf("HandleNotifyJob again = %v", err)
	}
	time.Sleep(300 * time.Millisecond)

	hooks, slacks := hook.requests(), slack.requests()
	if len(hooks) != 1 || len(slacks) != 1 {
		t.Fatalf("webhook got %d requests, Slack %d; want exactly 1 each (and none for the failures-only webhook)", len(hooks), len(slacks))
	}
	want, err := r.svc.JobJSON(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	wh := hooks[0]
	if wh.path != "/hook" || !bytes.Equal(wh.body, want) {
		t.Errorf("webhook got %s %s; want the job's JSON %s", wh.path, wh.body, want)
	}
	m := hmac.New(sha256.New, []byte(hookSecret))
	m.Write(wh.body)
	sig := wh.header.Get("X-Fabsync-Signature-256")
	if !hmac.Equal([]byte(sig), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
		t.Errorf("signature %q does not verify with the secret", sig)
	}
	if wh.header.Get("Content-Type") != "application/json" || wh.header.Get("X-Fabsync-Event") != "job.finished" || wh.header.Get("X-Fabsync-Delivery") == "" {
		t.Errorf("webhook headers = %v", wh.header)
	}
	sl := slacks[0]
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(sl.body, &msg); err != nil || sl.path != slackPath || len(msg.Blocks) == 0 {
		t.Fatalf("Slack got %s %s (%v); want text and blocks", sl.path, sl.body, err)
	}
	link := "https://fabsync.example.com/#/jobs/" + j.ID
	for _, w := range []string{"fab", "succeeded", "adds VPC vpc-1", link} {
		if !strings.Contains(msg.Text, w) {
			t.Errorf("Slack text %q lacks %q", msg.Text, w)
		}
	}
	if sl.header.Get("X-Fabsync-Signature-256") != "" {
		t.Errorf("Slack message signed: %v", sl.header)
	}
	for _, where := range map[string]string{"webhook body": string(wh.body), "Slack body": string(sl.body), "job": string(want), "logs": r.logs.String()} {
		if strings.Contains(where, "hunter2") {
			t.Errorf("a secret leaked into %.300s", where)
		}
	}
}

// TestNotifyRetries: a receiver that answers 500 and then 200 gets the message on a retry,
// once; a 400 archives the task at once; a receiver that is down does not hold up the job, and
// its message is retried with backoff, NotifyMaxRetry times, and then archived.
func TestNotifyRetries(t *testing.T) {
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String() + "/hook"
	_ = down.Close()
	for _, tt := range []struct {
		name     string
		statuses []int // nil: the receiver is down
		state    asynq.TaskState
		requests int
		retried  int
		lastErr  string
	}{
		{"500 then 200", []int{500, 200}, asynq.TaskStateCompleted, 2, 1, ""},
		{"429 then 200", []int{429, 200}, asynq.TaskStateCompleted, 2, 1, ""},
		{"400", []int{400}, asynq.TaskStateArchived, 1, 0, "receiver answered 400 Bad Request: Bad Request (not retried)"},
		{"down", nil, asynq.TaskStateArchived, 0, tasks.NotifyMaxRetry, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := downURL
			var rcv *receiver
			if tt.statuses != nil {
				rcv = newReceiver(t, tt.statuses...)
				url = rcv.URL + "/hook"
			}
			r := newNotifyRig(t, nil, "    notify:\n      - {type: webhook, url: '"+url+"', secret_env: HOOK_SECRET}\n",
				map[string]string{"HOOK_SECRET": hookSecret}, nil)
			begin := time.Now()
			j := r.endJob()
			if took := time.Since(begin); j.State != tasks.StateSucceeded || j.Reason != "" || took > 10*time.Second {
				t.Fatalf("job = %s (%q) after %s; want succeeded at once, whatever the receiver does", j.State, j.Reason, took)
			}
			ti := r.waitTask("notify:"+j.ID+":0", tt.state)
			if ti.Retried != tt.retried || !strings.Contains(ti.LastErr, tt.lastErr) {
				t.Errorf("task: retried %d, last error %q; want %d, %q", ti.Retried, ti.LastErr, tt.retried, tt.lastErr)
			}
			if ti.MaxRetry != tasks.NotifyMaxRetry {
				t.Errorf("task MaxRetry = %d; want %d", ti.MaxRetry, tasks.NotifyMaxRetry)
			}
			if strings.Contains(ti.LastErr, "hunter2") {
				t.Errorf("last error %q leaks the secret", ti.LastErr)
			}
			if rcv != nil {
				time.Sleep(200 * time.Millisecond)
				got := rcv.requests()
				if len(got) != tt.requests {
					t.Fatalf("receiver got %d requests; want %d", len(got), tt.requests)
				}
				if id := got[0].header.Get("X-Fabsync-Delivery"); id != got[len(got)-1].header.Get("X-Fabsync-Delivery") {
					t.Errorf("a retry has another delivery ID than the first attempt")
				}
			}
			if after := r.job(j.ID); after.State != tasks.StateSucceeded || !after.UpdatedAt.Equal(j.UpdatedAt) {
				t.Errorf("the notification changed the job: %s, updated %s (was %s)", after.State, after.UpdatedAt, j.UpdatedAt)
			}
		})
	}
}

// TestNotifyFilters: dry runs send nothing unless dry_runs: true; notify: [] turns the
// top-level list off; a missing secret archives the message at once, naming the variable.
func TestNotifyFilters(t *testing.T) {
	hook := newReceiver(t, 200)
	r := newNotifyRig(t, nil, "    notify:\n      - {type: webhook, url: '"+hook.URL+"/all'}\n      - {type: webhook, url: '"+hook.URL+"/dry', dry_runs: true}\n"+
		"      - {type: webhook, url: '"+hook.URL+"/nosecret', secret_env: MISSING, dry_runs: true}\n", nil, nil)
	ctx := context.Background()
	j, _, err := r.svc.TriggerDryRun(ctx, "fab", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.h.HandleRepoSync(ctx, task(tasks.TypeRepoSync, j.ID)); err != nil {
		t.Fatal(err)
	}
	if got := r.job(j.ID); got.State != tasks.StateSucceeded || !got.DryRun {
		t.Fatalf("dry run = %s", got.State)
	}
	r.waitTask("notify:"+j.ID+":1", asynq.TaskStateCompleted)
	ti := r.waitTask("notify:"+j.ID+":2", asynq.TaskStateArchived)
	if ti.Retried != 0 || !strings.Contains(ti.LastErr, "secret_env: environment variable MISSING is not set") {
		t.Errorf("missing secret: retried %d, %q; want archived at once naming the variable", ti.Retried, ti.LastErr)
	}
	if _, err := r.insp.GetTaskInfo(tasks.QueueNotify, "notify:"+j.ID+":0"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("a dry run was sent to a target without dry_runs: %v", err)
	}
	if got := hook.requests(); len(got) != 1 || got[0].path != "/dry" {
		t.Errorf("requests = %d; want one, to /dry", len(got))
	}

	// notify: [] at the fabric turns the top-level list off.
	r.writeConfig("notify:\n  - {type: webhook, url: '" + hook.URL + "/top'}\nfabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n    notify: []\n")
	off := r.endJob()
	r.waitTask("notify:"+off.ID, asynq.TaskStateCompleted)
	r.writeConfig("notify:\n  - {type: webhook, url: '" + hook.URL + "/top'}\nfabrics:\n  - name: fab\n    repo: " + r.repo + "\n    path: " + fabricPath + "\n")
	on := r.endJob()
	r.waitTask("notify:"+on.ID+":0", asynq.TaskStateCompleted)
	if got := hook.requests(); len(got) != 2 || got[1].path != "/top" || !bytes.Contains(got[1].body, []byte(on.ID)) {
		t.Errorf("requests = %d; want a second one, to /top, about job %s only", len(got), on.ID)
	}
}

// TestNotifyCommitStatus: with commit_status: true, a job's end sets a commit status through the
// fabric's Forge on the commit the job synced from: success for succeeded, failure for
// partial_sync; context fabsync/<fabric>, the job's link, a short description. Without a forge
// the status task is archived, saying why.
func TestNotifyCommitStatus(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]string
		state tasks.State
		want  string
	}{
		{"succeeded", map[string]string{fabricPath + "/raw/vpcs.yaml": goodVPC}, tasks.StateSucceeded, tasks.StatusSuccess},
		{"partial sync", map[string]string{fabricPath + "/raw/bad.yaml": "kind: VPC\nmetadata: [\n"}, tasks.StatePartialSync, tasks.StatusFailure},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forge := &statusForge{}
			r := newNotifyRig(t, tt.files, "    commit_status: true\n", nil, forge)
			j := r.endJob()
			if j.State != tt.state {
				t.Fatalf("job = %s (%s); want %s", j.State, j.Reason, tt.state)
			}
			r.waitTask("notify:"+j.ID+":status", asynq.TaskStateCompleted)
			got := forge.got()
			if len(got) != 1 {
				t.Fatalf("statuses = %+v; want one", got)
			}
			st := got[0]
			if st.State != tt.want || st.Commit != j.GitSync.Commit || st.Commit == "" || st.Context != "fabsync/fab" ||
				st.TargetURL != "https://fabsync.example.com/#/jobs/"+j.ID || st.Description == "" || len([]rune(st.Description)) > 140 {
				t.Errorf("status = %+v; want %s on %s, context fabsync/fab, the job's link, a description", st, tt.want, j.GitSync.Commit)
			}
		})
	}
	t.Run("no forge", func(t *testing.T) {
		r := newNotifyRig(t, nil, "    commit_status: true\n", nil, nil)
		j := r.endJob()
		ti := r.waitTask("notify:"+j.ID+":status", asynq.TaskStateArchived)
		if ti.Retried != 0 || !strings.Contains(ti.LastErr, "this worker has no forge support") {
			t.Errorf("status task: retried %d, %q; want archived at once, saying there is no forge", ti.Retried, ti.LastErr)
		}
	})
	t.Run("off", func(t *testing.T) {
		forge := &statusForge{}
		r := newNotifyRig(t, nil, "", nil, forge)
		j := r.endJob()
		r.waitTask("notify:"+j.ID, asynq.TaskStateCompleted)
		if _, err := r.insp.GetTaskInfo(tasks.QueueNotify, "notify:"+j.ID+":status"); !errors.Is(err, asynq.ErrTaskNotFound) || len(forge.got()) != 0 {
			t.Errorf("commit_status unset: status task %v, statuses %v; want none", err, forge.got())
		}
	})
}
