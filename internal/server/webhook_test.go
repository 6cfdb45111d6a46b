package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
)

func TestRepoKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/Example/GitOps.git", "github.com/example/gitops"},
		{"https://github.com/example/gitops", "github.com/example/gitops"},
		{"https://github.com/example/gitops/", "github.com/example/gitops"},
		{"git@github.com:example/gitops.git", "github.com/example/gitops"},
		{"ssh://git@github.com/example/gitops.git", "github.com/example/gitops"},
		{"ssh://git@github.com:22/example/gitops.git", "github.com/example/gitops"},
		{"http://127.0.0.1:8080/gitops.git", "127.0.0.1/gitops"},
		{"/srv/git/gitops.git", ""},
		{"file:///srv/git/gitops.git", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := repoKey(tt.in); got != tt.want {
			t.Errorf("repoKey(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidSignature(t *testing.T) {
	body := []byte(`{"zen":"hi"}`)
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name, secret, header string
		want                 bool
	}{
		{"good", "secret", good, true},
		{"wrong secret", "other", good, false},
		{"missing", "secret", "", false},
		{"sha1 form", "secret", "sha1=" + good[7:], false},
		{"not hex", "secret", "sha256=zz", false},
		{"truncated", "secret", good[:20], false},
	}
	for _, tt := range tests {
		if got := validSignature(tt.secret, body, tt.header); got != tt.want {
			t.Errorf("%s: validSignature = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestTouchesRaw(t *testing.T) {
	f := config.Fabric{Path: "gitops/fab"}
	root := config.Fabric{Path: "."}
	if !touchesRaw(f, []string{"README.md", "gitops/fab/raw/x.yaml"}) {
		t.Error("a file in raw/ should count")
	}
	if touchesRaw(f, []string{"gitops/fab/managed/vpcs/a.yaml", "gitops/fab2/raw/x.yaml", "gitops/fab/rawish/x.yaml"}) {
		t.Error("files outside raw/ should not count")
	}
	if !touchesRaw(root, []string{"raw/a.yml"}) || touchesRaw(root, []string{"x/raw/a.yml"}) {
		t.Error("a fabric at the repository root has its raw/ at the top")
	}
}

// TestWebhookReplay: a signed delivery is handled once. Sent again, under its own delivery ID
// or under another (the signature covers the body, not the headers), it answers 200 and starts
// no job, even once the first job has ended. An unsigned request does not use up an ID.
func TestWebhookReplay(t *testing.T) {
	const secret = "hook-secret"
	e, svc := newTestServerWith(t, Config{Fabrics: newSource(t, oneFabric), WebhookSecret: secret})
	ctx := context.Background()
	push := func(after string) string {
		return `{"ref":"refs/heads/main","after":"` + after + `","repository":{"clone_url":"https://github.com/example/gitops.git"},` +
			`"commits":[{"added":["raw/a.yaml"],"modified":[]}]}`
	}
	deliver := func(id, body string, signed bool) (int, webhookResponse) {
		t.Helper()
		sig := ""
		if signed {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(body))
			sig = "sha256=" + hex.EncodeToString(mac.Sum(nil))
		}
		rec := serve(e, "POST", webhookPath, body, "X-GitHub-Event", "push", "X-GitHub-Delivery", id,
			"X-Hub-Signature-256", sig, "Content-Type", "application/json")
		var res webhookResponse
		if rec.Code != 401 {
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("webhook = %d %s; want JSON", rec.Code, rec.Body)
			}
		}
		return rec.Code, res
	}
	jobs := func() int {
		t.Helper()
		list, err := svc.List(ctx, "a", 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	cancelAll := func() {
		t.Helper()
		list, err := svc.List(ctx, "a", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list {
			if !tasks.Terminal(j.State) {
				if _, err := svc.Cancel(ctx, j.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	body := push(strings.Repeat("1", 40))
	if code, res := deliver("d-1", body, true); code != 202 || len(res.Jobs) != 1 {
		t.Fatalf("first delivery = %d %+v; want 202 and one job", code, res)
	}
	cancelAll() // the fabric is free again: a replay would get a job of its own
	for _, id := range []string{"d-1", "d-2", ""} {
		code, res := deliver(id, body, true)
		if code != 200 || len(res.Jobs) != 0 || res.Message != "delivery already handled" {
			t.Errorf("replay with delivery ID %q = %d %+v; want 200, no job, delivery already handled", id, code, res)
		}
	}
	if n := jobs(); n != 1 {
		t.Errorf("jobs after the replays = %d; want 1", n)
	}

	// An unsigned request with a fresh ID is refused without recording the ID.
	body2 := push(strings.Repeat("2", 40))
	if code, _ := deliver("d-3", body2, false); code != 401 {
		t.Fatalf("unsigned delivery = %d; want 401", code)
	}
	if code, res := deliver("d-3", body2, true); code != 202 || len(res.Jobs) != 1 {
		t.Errorf("signed delivery d-3 after an unsigned one = %d %+v; want 202 and a job", code, res)
	}
	// A new push under an ID already seen is a replay of that ID.
	cancelAll()
	if code, res := deliver("d-3", push(strings.Repeat("3", 40)), true); code != 200 || len(res.Jobs) != 0 {
		t.Errorf("another body under delivery ID d-3 = %d %+v; want 200 and no job", code, res)
	}
	if n := jobs(); n != 2 {
		t.Errorf("jobs = %d; want 2", n)
	}
}
