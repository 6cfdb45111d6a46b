package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/server"
	"github.com/fabsync/fabsync/internal/tasks"
	"github.com/fabsync/fabsync/internal/worker"
	"github.com/fabsync/fabsync/web"
)

// system is fabsync running in-process: one API server and one or more workers on one Redis.
type system struct {
	t        testing.TB
	base     string // API base URL
	cfgPath  string
	redisURL string
	svc      *tasks.Service
	env      map[string]string
	cancel   context.CancelFunc
	ctx      context.Context
	done     []chan error
}

type options struct {
	workers       int    // 0 = one; -1 = none (jobs stay queued)
	token         string // FABSYNC_API_TOKEN
	webhookSecret string // FABSYNC_WEBHOOK_SECRET
	env           map[string]string
	redis         *redistest.Server // a Redis the test stops and restarts; default a private one
	redisURL      string            // a REDIS_URL to use instead (Sentinel, Cluster)
	retryBase     time.Duration     // first retry delay [20ms]
	poll          time.Duration     // worker poll and delayed-task intervals [20ms, 50ms]; -1 = production defaults
	concurrency   int               // tasks per worker [2]
	monitoring    string            // the dashboard's mode [readonly]
}

// start runs fabsync with the given fabrics file content.
func start(t testing.TB, fabrics string, o options) *system {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: needs redis-server and git")
	}
	switch o.workers {
	case 0:
		o.workers = 1
	case -1:
		o.workers = 0 // API only: jobs stay queued
	}
	dir := t.TempDir()
	s := &system{t: t, cfgPath: filepath.Join(dir, "fabsync.yaml"), env: o.env}
	if o.redisURL != "" {
		s.redisURL = o.redisURL
	} else if o.redis != nil {
		s.redisURL = o.redis.URL
	} else {
		s.redisURL = redistest.Start(t)
	}
	if err := os.WriteFile(s.cfgPath, []byte(fabrics), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := config.NewSource(s.cfgPath, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	getenv := func(k string) string { return o.env[k] }
	if o.retryBase == 0 {
		o.retryBase = 20 * time.Millisecond
	}
	poll, delayed := 20*time.Millisecond, 50*time.Millisecond
	if o.poll < 0 {
		poll, delayed = 0, 0 // worker.Config defaults
	} else if o.poll > 0 {
		poll, delayed = o.poll, o.poll
	}
	if o.concurrency == 0 {
		o.concurrency = 2
	}
	for i := 0; i < o.workers; i++ {
		rdb, err := tasks.OpenRedis(s.redisURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := rdb.Close(); err != nil {
				t.Error(err)
			}
		})
		cfg := worker.Config{
			Redis: rdb,
			Handler: tasks.HandlerConfig{
				DataDir: filepath.Join(dir, fmt.Sprintf("worker-%d", i)), Fabrics: src, Getenv: getenv,
				Author: gitops.Signature{Name: "fabsync test", Email: "test@fabsync.localhost"}, GitDepth: gitops.RecommendedDepth,
				GitTimeout: 20 * time.Second, CancelPoll: 50 * time.Millisecond,
			},
			Concurrency: o.concurrency, ShutdownTimeout: 5 * time.Second,
			ReconcileEvery: 200 * time.Millisecond, ReconcileGrace: 2 * time.Second,
			RetryBase: o.retryBase, RetryMax: 5 * o.retryBase,
			PollInterval: poll, DelayedInterval: delayed, ScheduleSync: 200 * time.Millisecond,
			Logger: log.With("worker", i),
		}
		done := make(chan error, 1)
		go func() { done <- worker.Run(s.ctx, cfg) }()
		s.done = append(s.done, done)
	}
	rdb, err := tasks.OpenRedis(s.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rdb.Close(); err != nil {
			t.Error(err)
		}
	})
	s.svc = tasks.NewService(rdb)
	e, err := server.New(server.Config{Service: s.svc, Redis: rdb, Fabrics: src, Token: o.token, WebhookSecret: o.webhookSecret, Monitoring: o.monitoring, Logger: log, UI: web.FS()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.base = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- server.Serve(s.ctx, ln, e) }()
	s.done = append(s.done, done)
	t.Cleanup(s.stop)
	return s
}

// stop shuts everything down; every run must return nil.
func (s *system) stop() {
	s.cancel()
	for _, d := range s.done {
		select {
		case err := <-d:
			if err != nil {
				s.t.Errorf("shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			s.t.Errorf("shutdown did not finish in 30 s")
		}
	}
	s.done = nil
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (s *system) do(method, path, body string, header ...string) response {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(res.Body)
	if cerr := res.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		s.t.Fatalf("%s %s: read response: %v", method, path, err)
	}
	return response{res.StatusCode, res.Header, b}
}

// trigger POSTs a sync of fabric and returns the job and status.
func (s *system) trigger(fabric string) (tasks.Job, int) {
	s.t.Helper()
	r := s.do("POST", "/api/v1/fabrics/"+fabric+"/sync", "")
	if r.status != http.StatusAccepted && r.status != http.StatusOK {
		s.t.Fatalf("POST sync %s = %d %s", fabric, r.status, r.body)
	}
	var j tasks.Job
	r.decode(s.t, &j)
	return j, r.status
}

// wait polls the job until it ends and returns it.
func (s *system) wait(id string) tasks.Job {
	s.t.Helper()
	return s.waitFor(id, 90*time.Second)
}

// waitFor polls the job until it ends, for at most limit.
func (s *system) waitFor(id string, limit time.Duration) tasks.Job {
	s.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		r := s.do("GET", "/api/v1/jobs/"+id, "")
		if r.status != http.StatusOK {
			s.t.Fatalf("GET job %s = %d %s", id, r.status, r.body)
		}
		var j tasks.Job
		r.decode(s.t, &j)
		if tasks.Terminal(j.State) {
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s still %s after %s: %s", id, j.State, limit, r.body)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sharedDir returns the absolute folder name of the test data shared by the team's
// repositories: ../shared/testdata/<name> from the repository root (the folder
// FABSYNC_SHARED_TESTDATA names instead, when set). Where it is missing the test fails in CI
// (CI set), where nothing is skipped; elsewhere it logs that and returns "", and the caller
// goes on without the shared data (the e2e tests use it as extra input, not as their subject).
func sharedDir(t testing.TB, name string) string {
	t.Helper()
	root := os.Getenv("FABSYNC_SHARED_TESTDATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "testdata")
	}
	d, err := filepath.Abs(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		if os.Getenv("CI") != "" {
			t.Fatalf("no shared test data folder %s (in CI nothing is skipped)", d)
		}
		t.Logf("no shared test data folder %s: going on without it (in CI this fails)", d)
		return ""
	}
	return d
}

func jsonString(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.String()
}
