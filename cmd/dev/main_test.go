package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// TestRunHelp: --help lists exactly the flags dev mode uses, each naming its environment
// variable, with dev mode's own defaults and what an empty Redis URL or fabrics file does.
func TestRunHelp(t *testing.T) {
	want := []struct{ flag, env, def, says string }{
		{"redis-url", "REDIS_URL", "", "empty: an embedded Redis"},
		{"config", "FABSYNC_CONFIG", "", "empty: a demo fabric"},
		{"data-dir", "FABSYNC_DATA_DIR", `"./.data/dev"`, ""},
		{"listen", "FABSYNC_LISTEN", `"127.0.0.1:8080"`, ""},
		{"api-token", "FABSYNC_API_TOKEN", "", ""},
		{"webhook-secret", "FABSYNC_WEBHOOK_SECRET", "", ""},
		{"gitlab-webhook-token", "FABSYNC_GITLAB_WEBHOOK_TOKEN", "", ""},
		{"gitea-webhook-secret", "FABSYNC_GITEA_WEBHOOK_SECRET", "", ""},
		{"bitbucket-webhook-secret", "FABSYNC_BITBUCKET_WEBHOOK_SECRET", "", ""},
		{"generic-webhook-secret", "FABSYNC_GENERIC_WEBHOOK_SECRET", "", ""},
		{"git-author", "FABSYNC_GIT_AUTHOR", `"fabsync <fabsync@localhost>"`, ""},
		{"monitoring", "FABSYNC_MONITORING", `"readonly"`, ""},
		{"public-url", "FABSYNC_PUBLIC_URL", "", ""},
	}
	env := map[string]string{"REDIS_URL": "redis://:hunter2@r:1/0", "FABSYNC_API_TOKEN": "hunter2"}
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
			if !strings.Contains(help, "(env "+w.env+")") || !strings.Contains(help, w.says) {
				t.Errorf("-%s help = %q; want it to name %s and say %q", w.flag, help, w.env, w.says)
			}
			if w.def == "" && strings.Contains(help, "(default ") || w.def != "" && !strings.Contains(help, "(default "+w.def+")") {
				t.Errorf("-%s help = %q; want default %q", w.flag, help, w.def)
			}
		})
	}
	if strings.Contains(out.String(), "hunter2") {
		t.Errorf("--help shows a secret from the environment:\n%s", out.String())
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

// jsonLines parses run's log: every line is a slog JSON object but for the banner that says
// which address to open.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(out, "\n") {
		if l == "" || strings.HasPrefix(l, "  fabsync dev mode: open ") || strings.HasPrefix(l, "  fabrics file: ") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestDevModeDemoSync is `make run` as a newcomer uses it: embedded Redis, the demo fabric, one
// click on "Sync from Git" (the API call the button makes), and the job succeeds. PATH is emptied
// so it also proves dev mode needs nothing but Go.
func TestDevModeDemoSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	t.Setenv("PATH", "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FABSYNC_DATA_DIR": t.TempDir(), "FABSYNC_LISTEN": addr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs lockedBuffer
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &logs) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run = %v; want nil after cancel", err)
			}
		}
	}
	defer stop()
	base := "http://" + addr
	var res *http.Response
	for i := 0; i < 200; i++ {
		if res, err = http.Get(base + "/"); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("UI never came up: %v\n%s", err, logs.String())
	}
	_ = res.Body.Close()
	res, err = http.Post(base+"/api/v1/fabrics/demo/sync", "", nil)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("trigger = %v, %v", res, err)
	}
	var job struct {
		ID, State string
		Ingest    struct{ Files, Documents, Created int }
	}
	if err := json.NewDecoder(res.Body).Decode(&job); err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	deadline := time.Now().Add(60 * time.Second)
	for job.State != "succeeded" {
		if job.State == "failed" || job.State == "partial_sync" || time.Now().After(deadline) {
			t.Fatalf("demo job = %+v\n%s", job, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
		r, err := http.Get(base + "/api/v1/jobs/" + job.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(r.Body).Decode(&job)
		_ = r.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if job.Ingest.Files != 3 || job.Ingest.Documents < 15 || job.Ingest.Created != job.Ingest.Documents {
		t.Errorf("demo ingest = %+v; want the 3 sample files ingested", job.Ingest)
	}
	if !strings.Contains(logs.String(), "built-in transport") {
		t.Errorf("with no git on PATH, dev mode should say it uses the built-in transport:\n%s", logs.String())
	}

	// A clean shutdown after a successful job logs no ERROR; the listening line was true.
	stop()
	var listening map[string]any
	for _, l := range jsonLines(t, logs.String()) {
		if l["level"] == "ERROR" {
			t.Errorf("dev mode logged an ERROR: %v", l)
		}
		if l["msg"] == "dev mode listening" {
			listening = l
		}
	}
	if listening["addr"] != addr || listening["redis_answered"] != true {
		t.Errorf("listening line = %v; want addr %s and redis_answered true", listening, addr)
	}
}
