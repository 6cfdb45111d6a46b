package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

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

// TestDevModeDemoSync is `make run` as a newcomer uses it: embedded Redis, the demo fabric, one
// click on "Sync from Git" (the API call the button makes), and the job succeeds. PATH is emptied
// so it also proves dev mode needs nothing but Go.
func TestDevModeDemoSync(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	t.Setenv("PATH", "")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	env := map[string]string{"FABSYNC_DATA_DIR": t.TempDir(), "FABSYNC_LISTEN": addr}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs lockedBuffer
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, &logs) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v", err)
		}
	}()
	base := "http://" + addr
	var res *http.Response
	var err error
	for i := 0; i < 200; i++ {
		if res, err = http.Get(base + "/"); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("UI never came up: %v\n%s", err, logs.String())
	}
	res.Body.Close()
	res, err = http.Post(base+"/api/v1/fabrics/demo/sync", "", nil)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("trigger = %v, %v", res, err)
	}
	var job struct {
		ID, State string
		Ingest    struct{ Files, Documents, Created int }
	}
	json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
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
		json.NewDecoder(r.Body).Decode(&job)
		r.Body.Close()
	}
	if job.Ingest.Files != 3 || job.Ingest.Documents < 15 || job.Ingest.Created != job.Ingest.Documents {
		t.Errorf("demo ingest = %+v; want the 3 sample files ingested", job.Ingest)
	}
	if !strings.Contains(logs.String(), "built-in transport") {
		t.Errorf("with no git on PATH, dev mode should say it uses the built-in transport:\n%s", logs.String())
	}
	fmt.Fprint(&logs, "")
}
