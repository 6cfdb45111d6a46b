package server

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/tasks"
)

// TestGetJob: a status read answers exactly what c.JSON of the job answered (the stored JSON
// and a newline), with its length; ?pretty still indents it; an unknown job is a 404.
func TestGetJob(t *testing.T) {
	e, svc := newTestServerWith(t, Config{Fabrics: newSource(t, "fabrics:\n  - {name: a, repo: 'https://github.com/o/r.git'}\n")})
	j, _, err := svc.Trigger(context.Background(), "a", tasks.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	rec := get(e, "/api/v1/jobs/"+j.ID)
	if rec.Code != 200 || rec.Body.String() != string(want)+"\n" {
		t.Fatalf("GET job = %d %s; want 200 %s", rec.Code, rec.Body, want)
	}
	if ct, cl := rec.Header().Get("Content-Type"), rec.Header().Get("Content-Length"); ct != "application/json" || cl != strconv.Itoa(len(want)+1) {
		t.Errorf("Content-Type %q, Content-Length %q; want application/json, %d", ct, cl, len(want)+1)
	}
	rec = get(e, "/api/v1/jobs/"+j.ID+"?pretty")
	var got tasks.Job
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || !strings.Contains(rec.Body.String(), "\n  \"id\"") || got.ID != j.ID {
		t.Errorf("GET job?pretty = %d %s; want the job, indented", rec.Code, rec.Body)
	}
	if rec := get(e, "/api/v1/jobs/nope"); rec.Code != 404 || !strings.Contains(rec.Body.String(), "job_not_found") {
		t.Errorf("GET unknown job = %d %s; want 404 job_not_found", rec.Code, rec.Body)
	}
}
