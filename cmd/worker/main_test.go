package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"maps"
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

// TestRunHelp: --help lists exactly the flags the worker uses, each naming its environment
// variable, with the defaults the worker really uses (not the values in the environment).
func TestRunHelp(t *testing.T) {
	want := []struct{ flag, env, def string }{
		{"redis-url", "REDIS_URL", `"redis://127.0.0.1:6379/0"`},
		{"config", "FABSYNC_CONFIG", `"./fabsync.yaml"`},
		{"data-dir", "FABSYNC_DATA_DIR", `"./.data"`},
		{"git-author", "FABSYNC_GIT_AUTHOR", `"fabsync <fabsync@localhost>"`},
		{"concurrency", "FABSYNC_CONCURRENCY", "4"},
		{"shutdown-timeout", "FABSYNC_SHUTDOWN_TIMEOUT", "30s"},
		{"public-url", "FABSYNC_PUBLIC_URL", ""}, // no default: no links
	}
	env := map[string]string{"FABSYNC_CONCURRENCY": "9", "REDIS_URL": "redis://:hunter2@elsewhere:1/0"}
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
				t.Errorf("-%s help = %q; want (default %s)", w.flag, help, w.def)
			}
		})
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("--help shows a value from the environment:\n%s", out.String())
	}
}

func TestRunBadInput(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "fabsync.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, file string
		args       []string
		env        map[string]string
		want       string
	}{
		{"duplicate fabrics", "fabrics:\n  - {name: a, repo: /r}\n  - {name: a, repo: /s}\n", nil, nil, `"a" is used by two fabrics`},
		{"a missing secret", "fabrics:\n  - {name: a, repo: /r, auth: {token_env: A_TOKEN}}\n", nil, nil,
			"fabric a: auth.token_env: environment variable A_TOKEN is not set"},
		{"a bad author", "fabrics: []\n", []string{"-git-author", "nobody"}, nil, "git author"},
		{"a bad concurrency", "fabrics: []\n", nil, map[string]string{"FABSYNC_CONCURRENCY": "x"},
			`FABSYNC_CONCURRENCY: want a whole number from 1 to 1000, got "x"`},
		{"a bad shutdown timeout", "fabrics: []\n", nil, map[string]string{"FABSYNC_SHUTDOWN_TIMEOUT": "soon"},
			`FABSYNC_SHUTDOWN_TIMEOUT: want a duration greater than 0, such as 30s or 2m, got "soon"`},
		{"a flag of the api", "fabrics: []\n", []string{"-listen", ":8080"}, nil, "flag provided but not defined: -listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write(tt.file)
			env := map[string]string{"FABSYNC_CONFIG": cfg, "FABSYNC_DATA_DIR": filepath.Join(t.TempDir(), "data")}
			for k, v := range tt.env {
				env[k] = v
			}
			var out bytes.Buffer
			err := run(context.Background(), tt.args, func(k string) string { return env[k] }, &out)
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

// startWorker runs run with env until the test ends; stop cancels it and returns its result.
func startWorker(t *testing.T, env map[string]string, logs *lockedBuffer) (stop func() error) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fabsync.yaml")
	if err := os.WriteFile(cfg, []byte("fabrics: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env["FABSYNC_CONFIG"], env["FABSYNC_DATA_DIR"] = cfg, filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-shutdown-timeout", "2s"}, func(k string) string { return env[k] }, logs)
	}()
	var once sync.Once
	var err error
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
	return stop
}

func waitForLog(t *testing.T, logs *lockedBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), s); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", s, logs.String())
		}
	}
}

// TestRunStops: a clean shutdown returns nil and logs no ERROR, the worker having led the
// resync scheduler.
func TestRunStops(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	var logs lockedBuffer
	stop := startWorker(t, map[string]string{"REDIS_URL": redistest.Start(t)}, &logs)
	waitForLog(t, &logs, "resync scheduler started")
	if err := stop(); err != nil {
		t.Fatalf("run = %v; want nil", err)
	}
	lines := jsonLines(t, logs.String())
	for _, l := range lines {
		if l["level"] == "ERROR" {
			t.Errorf("clean shutdown logged an ERROR: %v", l)
		}
	}
	if first, last := lines[0]["msg"], lines[len(lines)-1]["msg"]; first != "worker started" || last != "worker stopped" {
		t.Errorf("log runs from %q to %q; want \"worker started\" to \"worker stopped\"", first, last)
	}
}

// TestRunRedisDown: while Redis is down the worker says so in one structured line per 10 s,
// not a line per failed dial, command or poll.
func TestRunRedisDown(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	srv := redistest.StartServer(t)
	var logs lockedBuffer
	stop := startWorker(t, map[string]string{"REDIS_URL": srv.URL}, &logs)
	waitForLog(t, &logs, "resync scheduler started")
	srv.Stop()
	waitForLog(t, &logs, "redis unavailable")
	time.Sleep(2 * time.Second) // dozens of failures: the forwarder polls every second, processors every 100ms
	if err := stop(); err != nil {
		t.Fatalf("run = %v; want nil", err)
	}
	var unavailable []map[string]any
	for _, l := range jsonLines(t, logs.String()) {
		if l["msg"] == "redis unavailable" {
			unavailable = append(unavailable, l)
		}
		if l["level"] == "ERROR" {
			t.Errorf("an outage logged an ERROR line; want it in \"redis unavailable\": %v", l)
		}
	}
	if len(unavailable) != 1 {
		t.Errorf("%d \"redis unavailable\" lines in under 10s; want 1:\n%s", len(unavailable), logs.String())
	}
}
