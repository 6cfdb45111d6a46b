package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/redistest"
)

func TestRunHelpAndBadInput(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(--help) = %v; want flag.ErrHelp", err)
	}
	for _, want := range []string{"REDIS_URL", "FABSYNC_CONFIG", "FABSYNC_LISTEN", "FABSYNC_API_TOKEN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, out.String())
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"FABSYNC_CONFIG": missing}[k]
	}, &out)
	if err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("run with a missing fabrics file = %v; want an error naming it", err)
	}
}

func TestRunServesAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	cfg := filepath.Join(t.TempDir(), "fabsync.yaml")
	os.WriteFile(cfg, []byte("fabrics:\n  - {name: a, repo: /nowhere}\n"), 0o644)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{"REDIS_URL": redistest.Start(t), "FABSYNC_CONFIG": cfg, "FABSYNC_LISTEN": addr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &logs) }()
	var ok bool
	for i := 0; i < 100 && !ok; i++ {
		if r, err := http.Get(fmt.Sprintf("http://%s/readyz", addr)); err == nil {
			ok = r.StatusCode == 200
			r.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !ok {
		t.Fatal("api never became ready")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v; want nil after cancel", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}
