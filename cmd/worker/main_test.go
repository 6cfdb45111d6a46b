package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/redistest"
)

func TestRunHelpAndBadInput(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(-h) = %v; want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "FABSYNC_DATA_DIR") || !strings.Contains(out.String(), "-concurrency") {
		t.Errorf("--help output lacks the settings:\n%s", out.String())
	}
	cfg := filepath.Join(t.TempDir(), "fabsync.yaml")
	os.WriteFile(cfg, []byte("fabrics:\n  - {name: a, repo: /r}\n  - {name: a, repo: /s}\n"), 0o644)
	err := run(context.Background(), nil, func(k string) string { return map[string]string{"FABSYNC_CONFIG": cfg}[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), `"a" is used by two fabrics`) {
		t.Fatalf("run with duplicate fabrics = %v; want a clear error", err)
	}
	os.WriteFile(cfg, []byte("fabrics:\n  - {name: a, repo: /r, auth: {token_env: A_TOKEN}}\n"), 0o644)
	err = run(context.Background(), nil, func(k string) string { return map[string]string{"FABSYNC_CONFIG": cfg}[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), "fabric a: auth.token_env: environment variable A_TOKEN is not set") {
		t.Fatalf("run with a missing secret = %v; want an error naming the fabric, field and variable", err)
	}
	err = run(context.Background(), []string{"-git-author", "nobody"}, func(k string) string { return map[string]string{"FABSYNC_CONFIG": cfg}[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), "git author") {
		t.Fatalf("run with a bad author = %v; want a clear error", err)
	}
}

func TestRunStops(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fabsync.yaml")
	os.WriteFile(cfg, []byte("fabrics: []\n"), 0o644)
	env := map[string]string{"REDIS_URL": redistest.Start(t), "FABSYNC_CONFIG": cfg, "FABSYNC_DATA_DIR": filepath.Join(dir, "data")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-shutdown-timeout", "2s"}, func(k string) string { return env[k] }, &logs)
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v; want nil", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
