package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/config"
)

// TestParseNotify: a fabric's notify: replaces the top-level one, notify: [] turns it off, on:
// defaults to every final state but canceled; commit_status: takes the top-level default.
func TestParseNotify(t *testing.T) {
	f, err := config.Parse([]byte(`notify:
  - {type: slack, url_env: SLACK_URL}
commit_status: true
fabrics:
  - {name: a, repo: /r}
  - name: b
    repo: /r
    commit_status: false
    notify:
      - type: webhook
        url: https://hooks.example.com/fabsync?team=net
        secret_env: HOOK_SECRET
        on: [failed, canceled]
        dry_runs: true
      - {type: webhook, url: 'http://127.0.0.1:9000/x', secret_file: /run/secrets/hook}
      - {type: webhook, url_file: /run/secrets/hook-url}
  - {name: c, repo: /r, notify: []}
`))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	def := []string{"succeeded", "partial_sync", "failed"}
	for _, tt := range []struct {
		fabric string
		notify []config.Notify
		status bool
	}{
		{"a", []config.Notify{{Type: "slack", URLEnv: "SLACK_URL", On: def}}, true},
		{"b", []config.Notify{
			{Type: "webhook", URL: "https://hooks.example.com/fabsync?team=net", SecretEnv: "HOOK_SECRET", On: []string{"failed", "canceled"}, DryRuns: true},
			{Type: "webhook", URL: "http://127.0.0.1:9000/x", SecretFile: "/run/secrets/hook", On: def},
			{Type: "webhook", URLFile: "/run/secrets/hook-url", On: def},
		}, false},
		{"c", []config.Notify{}, true},
	} {
		fb, _ := f.Fabric(tt.fabric)
		if !reflect.DeepEqual(fb.Notify, tt.notify) {
			t.Errorf("%s: notify = %+v; want %+v", tt.fabric, fb.Notify, tt.notify)
		}
		if fb.SetsCommitStatus() != tt.status || fb.CommitStatus == nil {
			t.Errorf("%s: commit_status = %v; want %v", tt.fabric, fb.CommitStatus, tt.status)
		}
	}
	// No top-level defaults: no notifications, no commit status.
	f, err = config.Parse([]byte("fabrics:\n  - {name: a, repo: /r}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fb := f.Fabrics[0]; fb.Notify != nil || fb.SetsCommitStatus() {
		t.Errorf("defaults: notify %v, commit status %v; want none, false", fb.Notify, fb.SetsCommitStatus())
	}
}

func TestNotifyWants(t *testing.T) {
	n := config.Notify{On: []string{"succeeded", "failed"}}
	for _, tt := range []struct {
		state  string
		dryRun bool
		runs   bool
		want   bool
	}{
		{"succeeded", false, false, true},
		{"failed", false, false, true},
		{"canceled", false, false, false},
		{"succeeded", true, false, false},
		{"succeeded", true, true, true},
	} {
		n.DryRuns = tt.runs
		if got := n.Wants(tt.state, tt.dryRun); got != tt.want {
			t.Errorf("Wants(%s, dry run %v) with dry_runs %v = %v; want %v", tt.state, tt.dryRun, tt.runs, got, tt.want)
		}
	}
	if s := (config.Notify{Type: "webhook", URL: "https://u:hunter2@h/p?token=hunter2"}).String(); strings.Contains(s, "hunter2") || s != "webhook https://h/p" {
		t.Errorf("String() = %q; want the URL without user info and query", s)
	}
	if s := (config.Notify{Type: "slack", URLEnv: "SLACK_URL"}).String(); s != "slack (url_env SLACK_URL)" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseNotifyInvalid(t *testing.T) {
	fabric := func(entry string) string {
		return "fabrics:\n  - name: a\n    repo: /r\n    notify:\n      - " + entry + "\n"
	}
	for _, tt := range []struct{ name, yaml, want string }{
		{"unknown type", fabric("{type: teams, url: 'https://h/x'}"), `line 5: fabrics[0] (a): notify[0]: type "teams" is not one of webhook, slack`},
		{"no type", fabric("{url: 'https://h/x'}"), "notify[0]: type is required (webhook or slack)"},
		{"unknown field", fabric("{type: webhook, url: 'https://h/x', secret: hunter2}"), "line 5: field secret not found"},
		{"webhook without url", fabric("{type: webhook, secret_env: S}"), "notify[0]: url is required (or url_env or url_file)"},
		{"http to another host", fabric("{type: webhook, url: 'http://hooks.example.com/x'}"), "notify[0]: url: http:// is allowed only for localhost; use https://"},
		{"bad scheme", fabric("{type: webhook, url: 'ftp://h/x'}"), `url: scheme "ftp" not supported (use https://)`},
		{"relative url", fabric("{type: webhook, url: /hook}"), "url: not a valid absolute URL"},
		{"credentials in the url", fabric("{type: webhook, url: 'https://u:hunter2@h/x'}"), "url: credentials must not be in the URL"},
		{"fragment", fabric("{type: webhook, url: 'https://h/x#hunter2'}"), "url: the URL must not have a fragment"},
		{"both secret sources", fabric("{type: webhook, url: 'https://h/x', secret_env: S, secret_file: /run/s}"), "notify[0]: set secret_env or secret_file, not both"},
		{"two url sources", fabric("{type: webhook, url: 'https://h/x', url_env: U}"), "notify[0]: set one of url, url_env or url_file"},
		{"slack url inline", fabric("{type: slack, url: 'https://hooks.slack.com/services/T/B/hunter2'}"), "notify[0]: url: a Slack webhook URL is a secret: put it in url_env or url_file"},
		{"slack without url", fabric("{type: slack}"), "notify[0]: url_env or url_file is required (a Slack webhook URL is a secret)"},
		{"slack with a secret", fabric("{type: slack, url_env: U, secret_env: S}"), "secret_env/secret_file sign webhooks; a Slack URL needs none"},
		{"url pasted into url_env", fabric("{type: slack, url_env: 'https://hooks.slack.com/services/T/B/hunter2'}"), "notify[0]: url_env must name an environment variable"},
		{"secret pasted into secret_env", fabric("{type: webhook, url: 'https://h/x', secret_env: 'hunter2 hunter2'}"), "secret_env must name an environment variable"},
		{"url pasted into url_file", fabric("{type: slack, url_file: 'https://hooks.slack.com/services/T/B/hunter2'}"), "url_file must name a file holding the value"},
		{"unknown state", fabric("{type: slack, url_env: U, on: [succeeded, done]}"), `notify[0]: on: "done" is not one of succeeded, partial_sync, failed, canceled`},
		{"empty on", fabric("{type: slack, url_env: U, on: []}"), "on: [] would send nothing"},
		{"line of the second entry", "fabrics:\n  - name: a\n    repo: /r\n    notify:\n      - {type: slack, url_env: U}\n      - {type: pager}\n", `line 6: fabrics[0] (a): notify[1]: type "pager"`},
		{"top level", "notify:\n  - {type: slack, url_env: U}\n  - {type: webhook, url: 'http://example.com/x'}\nfabrics:\n  - {name: a, repo: /r}\n", "line 3: notify[1]: url: http:// is allowed only for localhost"},
		{"commit_status not a bool", "fabrics:\n  - {name: a, repo: /r, commit_status: maybe}\n", "line 2: cannot unmarshal !!str into bool"},
		{"notify not a list", "fabrics:\n  - {name: a, repo: /r, notify: hunter2}\n", "line 2: cannot unmarshal !!str into []config.Notify"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml))
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v; want ErrInvalid containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the secret", err)
			}
		})
	}
	// localhost in its forms is fine over http.
	for _, u := range []string{"http://localhost:8080/x", "http://127.0.0.1/x", "http://[::1]:9/x", "http://hooks.localhost/x"} {
		if _, err := config.Parse([]byte(fabric("{type: webhook, url: '" + u + "'}"))); err != nil {
			t.Errorf("Parse(url %s) = %v; want it accepted", u, err)
		}
	}
}
