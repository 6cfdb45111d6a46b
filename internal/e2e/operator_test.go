package e2e_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// pushPayload is shaped like GitHub's push event (the fields fabsync reads, plus some it does not).
func pushPayload(ref, cloneURL string, added, removed []string) string {
	b, _ := json.Marshal(map[string]any{
		"ref": ref, "before": strings.Repeat("0", 40), "after": strings.Repeat("a", 40), "created": false, "deleted": false, "forced": false,
		"repository": map[string]any{"id": 1, "name": "gitops", "full_name": "example/gitops", "private": true,
			"clone_url": cloneURL, "ssh_url": "git@github.com:example/other.git", "html_url": "https://github.com/example/other"},
		"pusher":      map[string]any{"name": "octocat", "email": "octocat@example.com"},
		"commits":     []any{map[string]any{"id": strings.Repeat("a", 40), "message": "wiring", "added": added, "removed": removed, "modified": []string{}}},
		"head_commit": map[string]any{"id": strings.Repeat("a", 40), "added": added, "removed": removed, "modified": []string{}},
	})
	return string(b)
}

func TestGitHubWebhook(t *testing.T) {
	const secret = "hook-secret"
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n  - {name: other, repo: %q, path: fab, branch: dev}\n", url, url),
		options{webhookSecret: secret, token: "api-token"})
	// GitHub reports the https form of the same repository.
	httpsForm := strings.Replace(url, "http://", "https://", 1)
	hook := func(event, body, sig string) response {
		return sys.do("POST", "/api/v1/webhooks/github", body, "X-GitHub-Event", event, "X-Hub-Signature-256", sig, "Content-Type", "application/json")
	}
	ping := `{"zen":"Keep it logically awesome.","hook_id":1}`
	tests := []struct {
		name, event, body, sig string
		status                 int
		jobs                   int
	}{
		{"no signature", "ping", ping, "-", 401, 0},
		{"bad signature", "ping", ping, sign("wrong", ping), 401, 0},
		{"ping", "ping", ping, sign(secret, ping), 200, 0},
		{"other event", "issues", `{}`, sign(secret, `{}`), 204, 0},
		{"push elsewhere in the repo", "push", pushPayload("refs/heads/main", httpsForm, []string{"docs/x.md"}, nil), "", 200, 0},
		{"push removing raw files only", "push", pushPayload("refs/heads/main", httpsForm, nil, []string{"fab/raw/a.yaml"}), "", 200, 0},
		{"push to another repository", "push", pushPayload("refs/heads/main", "https://github.com/example/nope.git", []string{"fab/raw/b.yaml"}, nil), "", 200, 0},
		{"push a tag", "push", pushPayload("refs/tags/v1", httpsForm, []string{"fab/raw/b.yaml"}, nil), "", 200, 0},
		{"push to raw/ on main", "push", pushPayload("refs/heads/main", httpsForm, []string{"fab/raw/b.yaml"}, nil), "", 202, 1},
		{"malformed push", "push", `{"ref": `, "", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			switch sig {
			case "": // sign it properly
				sig = sign(secret, tt.body)
			case "-": // send no signature at all
				sig = ""
			}
			r := hook(tt.event, tt.body, sig)
			if r.status != tt.status {
				t.Fatalf("status = %d %s; want %d", r.status, r.body, tt.status)
			}
			if tt.status == 200 || tt.status == 202 {
				var res struct {
					Jobs []tasks.Job
				}
				r.decode(t, &res)
				if tt.event == "push" && len(res.Jobs) != tt.jobs {
					t.Fatalf("jobs = %d; want %d (%s)", len(res.Jobs), tt.jobs, r.body)
				}
				for _, j := range res.Jobs {
					if j.Trigger != tasks.TriggerWebhook || j.Fabric != "fab" {
						t.Errorf("job = %s/%s; want fab/webhook", j.Fabric, j.Trigger)
					}
					if got := sys.waitAuth(j.ID, "api-token"); got.State != tasks.StateSucceeded {
						t.Errorf("webhook job = %s (%s)", got.State, got.Reason)
					}
				}
			}
		})
	}
	big := `{"x":"` + strings.Repeat("a", 6<<20) + `"}`
	if r := hook("push", big, sign(secret, big)); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("huge payload = %d; want 413", r.status)
	}
}

func TestWebhookDisabledWithoutSecret(t *testing.T) {
	gs := gittest.NewServer(t)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q}\n", gs.NewRepo(t, "gitops", nil)), options{})
	r := sys.do("POST", "/api/v1/webhooks/github", "{}", "X-GitHub-Event", "ping", "X-Hub-Signature-256", sign("", "{}"))
	if r.status != 401 || !strings.Contains(string(r.body), "FABSYNC_WEBHOOK_SECRET") {
		t.Errorf("webhook without a configured secret = %d %s; want 401 naming FABSYNC_WEBHOOK_SECRET", r.status, r.body)
	}
}

func TestMetricsAndMonitoring(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{token: "tok"})
	auth := []string{"Authorization", "Bearer tok"}
	r := sys.do("POST", "/api/v1/fabrics/fab/sync", "", auth...)
	var j tasks.Job
	r.decode(t, &j)
	if got := sys.waitAuth(j.ID, "tok"); got.State != tasks.StateSucceeded {
		t.Fatalf("job = %s", got.State)
	}
	if r := sys.do("GET", "/metrics", ""); r.status != 401 {
		t.Errorf("/metrics without token = %d; want 401", r.status)
	}
	wants := []string{
		`fabsync_jobs_total{fabric="fab",state="succeeded",trigger="manual"} 1`,
		`fabsync_documents_ingested_total{fabric="fab"} 3`,
		`fabsync_job_duration_seconds_count{outcome="succeeded",stage="total"} 1`,
		`fabsync_job_duration_seconds_count{outcome="succeeded",stage="git_sync"} 1`,
		`fabsync_git_operation_duration_seconds_count{op="push",outcome="ok"} 1`,
		`asynq_tasks_processed_total{queue="sync"}`,
		`asynq_tasks_enqueued_total{queue="ingest",state="completed"} 1`,
		`fabsync_metrics_scrape_error 0`,
	}
	// The job is recorded as succeeded inside its last task; asynq marks that task completed
	// only once the handler has returned, so the queue's counts may lag a moment.
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		body = string(sys.do("GET", "/metrics", "", auth...).body)
		missing := 0
		for _, want := range wants {
			if !strings.Contains(body, want) {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}

	if r := sys.do("GET", "/monitoring/", ""); r.status != 401 {
		t.Errorf("/monitoring/ without token = %d; want 401", r.status)
	}
	r = sys.do("GET", "/monitoring/", "", auth...)
	if r.status != 200 || !strings.Contains(string(r.body), "<html") {
		t.Errorf("/monitoring/ = %d %.200s", r.status, r.body)
	}
	// A browser reaches it with the cookie the UI sets.
	if r := sys.do("GET", "/monitoring/", "", "Cookie", "fabsync-token=tok"); r.status != 200 {
		t.Errorf("/monitoring/ with the token cookie = %d", r.status)
	}
	r = sys.do("GET", "/monitoring/api/queues", "", auth...)
	if r.status != 200 || !strings.Contains(string(r.body), `"queue":"sync"`) || !strings.Contains(string(r.body), `"queue":"ingest"`) {
		t.Errorf("/monitoring/api/queues = %d %s; want our queues", r.status, r.body)
	}
	if r := sys.do("GET", "/api/openapi.yaml", ""); r.status != 200 || !strings.Contains(string(r.body), "/api/v1/fabrics/{fabric}/sync") {
		t.Errorf("/api/openapi.yaml = %d", r.status)
	}
}

func (s *system) waitAuth(id, token string) tasks.Job {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := s.do("GET", "/api/v1/jobs/"+id, "", "Authorization", "Bearer "+token)
		var j tasks.Job
		r.decode(s.t, &j)
		if tasks.Terminal(j.State) {
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s still %s", id, j.State)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestPeriodicResync runs two workers on a fabric with a 10 s resync: the schedule (run by the
// leading worker) triggers syncs through the normal job path, never twice for one tick, and
// removing the interval from the fabrics file stops it without a restart.
func TestPeriodicResync(t *testing.T) {
	t.Parallel()
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/a.yaml": readTestdata(t, "wiring.yaml")})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab, resync: 10s}\n", url), options{workers: 2})
	scheduled := func() []tasks.Job {
		r := sys.do("GET", "/api/v1/fabrics/fab/jobs?limit=50", "")
		var res struct{ Jobs []tasks.Job }
		r.decode(t, &res)
		var out []tasks.Job
		for _, j := range res.Jobs {
			if j.Trigger == tasks.TriggerSchedule {
				out = append(out, j)
			}
		}
		return out
	}
	deadline := time.Now().Add(25 * time.Second)
	for len(scheduled()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled sync within 25 s of a 10 s resync")
		}
		time.Sleep(200 * time.Millisecond)
	}
	first := scheduled()[0]
	if got := sys.wait(first.ID); got.State != tasks.StateSucceeded {
		t.Fatalf("scheduled job = %s (%s)", got.State, got.Reason)
	}
	// One tick, one job (the leader lease, and the claim behind it).
	time.Sleep(2 * time.Second)
	if n := len(scheduled()); n != 1 {
		t.Fatalf("%d scheduled jobs after one tick of two schedulers; want 1", n)
	}
	// Turn the schedule off by editing the fabrics file.
	if err := os.WriteFile(sys.cfgPath, []byte(fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url)), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(sys.cfgPath, future, future); err != nil { // a different mtime even within one clock tick
		t.Fatal(err)
	}
	time.Sleep(12 * time.Second)
	if n := len(scheduled()); n != 1 {
		t.Errorf("%d scheduled jobs after the schedule was removed; want still 1", n)
	}
}

// TestReadyzFollowsRedis: /readyz answers 503 while Redis is down and recovers with it, while
// /healthz (liveness) stays 200.
func TestReadyzFollowsRedis(t *testing.T) {
	rs := redistest.StartServer(t)
	gs := gittest.NewServer(t)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q}\n", gs.NewRepo(t, "gitops", nil)), options{redis: rs, workers: -1})
	if r := sys.do("GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("/readyz = %d; want 200", r.status)
	}
	rs.Stop()
	r := sys.do("GET", "/readyz", "")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "redis_unavailable") {
		t.Errorf("/readyz with Redis down = %d %s; want 503", r.status, r.body)
	}
	if r := sys.do("GET", "/healthz", ""); r.status != 200 {
		t.Errorf("/healthz with Redis down = %d; want 200", r.status)
	}
	if r := sys.do("GET", "/api/v1/jobs/x", ""); r.status != http.StatusServiceUnavailable || strings.Contains(string(r.body), "127.0.0.1") {
		t.Errorf("API with Redis down = %d %s; want 503 without internals", r.status, r.body)
	}
	rs.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for sys.do("GET", "/readyz", "").status != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
