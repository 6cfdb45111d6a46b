package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/redistest"
)

// helpFlags parses flag.PrintDefaults output into each flag's help text.
func helpFlags(help string) map[string]string {
	flags := map[string]string{}
	name := ""
	for _, l := range strings.Split(help, "\n") {
		if rest, ok := strings.CutPrefix(l, "  -"); ok {
			name, _, _ = strings.Cut(rest, " ")
			flags[name] = ""
		} else if text, ok := strings.CutPrefix(l, "    \t"); ok && name != "" {
			flags[name] += text + " "
		}
	}
	return flags
}

// TestRunHelp: --help lists exactly the flags the api uses, each naming its environment
// variable, with the defaults the api really uses; it never shows a secret from the environment.
func TestRunHelp(t *testing.T) {
	want := []struct{ flag, env, def string }{
		{"redis-url", "REDIS_URL", `"redis://127.0.0.1:6379/0"`},
		{"config", "FABSYNC_CONFIG", `"./fabsync.yaml"`},
		{"listen", "FABSYNC_LISTEN", `"127.0.0.1:8080"`},
		{"api-token", "FABSYNC_API_TOKEN", ""},
		{"webhook-secret", "FABSYNC_WEBHOOK_SECRET", ""},
		{"gitlab-webhook-token", "FABSYNC_GITLAB_WEBHOOK_TOKEN", ""},
		{"gitea-webhook-secret", "FABSYNC_GITEA_WEBHOOK_SECRET", ""},
		{"bitbucket-webhook-secret", "FABSYNC_BITBUCKET_WEBHOOK_SECRET", ""},
		{"generic-webhook-secret", "FABSYNC_GENERIC_WEBHOOK_SECRET", ""},
		{"monitoring", "FABSYNC_MONITORING", `"readonly"`},
	}
	env := map[string]string{"FABSYNC_API_TOKEN": "hunter2", "FABSYNC_WEBHOOK_SECRET": "hunter3", "FABSYNC_LISTEN": ":1"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(k string) string { return env[k] }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(--help) = %v; want flag.ErrHelp", err)
	}
	got := helpFlags(out.String())
	var names []string
	for _, w := range want {
		names = append(names, w.flag)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(names)), slices.Sorted(maps.Keys(got))); diff != "" {
		t.Errorf("--help flags (-want +got):\n%s\n%s", diff, out.String())
	}
	for _, w := range want {
		t.Run(w.flag, func(t *testing.T) {
			help := got[w.flag]
			if !strings.Contains(help, "(env "+w.env+")") {
				t.Errorf("-%s help = %q; want it to name %s", w.flag, help, w.env)
			}
			if w.def == "" && strings.Contains(help, "(default ") || w.def != "" && !strings.Contains(help, "(default "+w.def+")") {
				t.Errorf("-%s help = %q; want default %q", w.flag, help, w.def)
			}
		})
	}
	if strings.Contains(out.String(), "hunter") {
		t.Errorf("--help shows a secret from the environment:\n%s", out.String())
	}
}

func TestRunBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a missing fabrics file", nil, "missing.yaml"},
		{"a flag of the worker", []string{"-concurrency", "2"}, "flag provided but not defined: -concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, func(k string) string {
				return map[string]string{"FABSYNC_CONFIG": missing}[k]
			}, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// lockedBuffer collects run's log output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// jsonLines parses run's log: every line must be a slog JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	return lines
}

// startAPI runs run against redisURL on a free port until stop; it waits for the "api listening"
// line, and returns the address.
func startAPI(t *testing.T, redisURL string, logs *lockedBuffer) (addr string, stop func() error) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "fabsync.yaml")
	if err := os.WriteFile(cfg, []byte("fabrics:\n  - {name: a, repo: /nowhere}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"REDIS_URL": redisURL, "FABSYNC_CONFIG": cfg, "FABSYNC_LISTEN": addr, "FABSYNC_API_TOKEN": "hunter2"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	var once sync.Once
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "api listening"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no \"api listening\" line:\n%s", logs.String())
		}
	}
	return addr, stop
}

// listening returns the "api listening" line, checking that it is true: the address serves.
func listening(t *testing.T, addr string, logs *lockedBuffer) map[string]any {
	t.Helper()
	r, err := http.Get(fmt.Sprintf("http://%s/healthz", addr))
	if err != nil {
		t.Fatalf("logged listening, but GET /healthz: %v", err)
	}
	_ = r.Body.Close()
	for _, l := range jsonLines(t, logs.String()) {
		if l["msg"] == "api listening" {
			if l["addr"] != addr {
				t.Errorf("listening on %v; want %s", l["addr"], addr)
			}
			return l
		}
	}
	return nil
}

// TestRunServesAndStops: "api listening" says Redis answered; a clean shutdown returns nil
// and logs no ERROR.
func TestRunServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	var logs lockedBuffer
	addr, stop := startAPI(t, redistest.Start(t), &logs)
	if l := listening(t, addr, &logs); l["redis_answered"] != true {
		t.Errorf("listening line = %v; want redis_answered true", l)
	}
	r, err := http.Get(fmt.Sprintf("http://%s/readyz", addr))
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("GET /readyz = %v, %v; want 200", r, err)
	}
	_ = r.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("run = %v; want nil after cancel", err)
	}
	for _, l := range jsonLines(t, logs.String()) {
		if l["level"] == "ERROR" {
			t.Errorf("clean shutdown logged an ERROR: %v", l)
		}
	}
	if strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the log shows the API token:\n%s", logs.String())
	}
}

// TestRunRedisDown: the api serves without Redis, says so when it starts, and reports the
// failures go-redis sees in one rate-limited structured line, not go-redis's own text.
func TestRunRedisDown(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out go-redis's dial retries")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "redis://:hunter2@" + l.Addr().String() + "/0"
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	addr, stop := startAPI(t, down, &logs)
	if l := listening(t, addr, &logs); l["redis_answered"] != false || strings.Contains(fmt.Sprint(l["redis"]), "hunter2") {
		t.Errorf("listening line = %v; want redis_answered false and the URL redacted", l)
	}
	// More failures: the queue metrics collector met one at startup, the ping another; these
	// add a ping and the metrics again.
	for _, path := range []string{"/readyz", "/metrics"} {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s%s", addr, path), nil)
		req.Header.Set("Authorization", "Bearer hunter2")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s without Redis: %v", path, err)
		}
		_ = r.Body.Close()
	}
	if err := stop(); err != nil {
		t.Fatalf("run = %v; want nil after cancel", err)
	}
	var unavailable []map[string]any
	for _, l := range jsonLines(t, logs.String()) {
		if l["msg"] == "redis unavailable" {
			unavailable = append(unavailable, l)
		}
	}
	if len(unavailable) != 1 || unavailable[0]["component"] != "redis" || unavailable[0]["level"] != "WARN" {
		t.Errorf("\"redis unavailable\" lines = %v; want one WARN from go-redis:\n%s", unavailable, logs.String())
	}
}
