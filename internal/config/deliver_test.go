package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/config"
)

// TestDeliverMerge: a fabric's deliver: replaces the top-level default, which is "push" when
// unset; forge: and auth.github_app come through as written.
func TestDeliverMerge(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want map[string]string
	}{
		{"fabrics:\n  - {name: a, repo: /r}\n  - {name: b, repo: /r, deliver: pull_request}\n", map[string]string{"a": "push", "b": "pull_request"}},
		{"deliver: pull_request\nfabrics:\n  - {name: a, repo: /r}\n  - {name: b, repo: /r, deliver: push}\n", map[string]string{"a": "pull_request", "b": "push"}},
	} {
		f, err := config.Parse([]byte(tt.yaml))
		if err != nil {
			t.Fatalf("Parse(%q) = %v", tt.yaml, err)
		}
		for name, want := range tt.want {
			fb, _ := f.Fabric(name)
			if fb.Deliver != want || fb.DeliversPullRequest() != (want == "pull_request") {
				t.Errorf("Parse(%q): fabric %s deliver = %q; want %q", tt.yaml, name, fb.Deliver, want)
			}
		}
	}

	f, err := config.Parse([]byte(`
fabrics:
  - name: lab
    repo: https://github.example.com/o/r.git
    deliver: pull_request
    forge: {type: github, api_url: "https://github.example.com/api/v3"}
    auth:
      github_app: {app_id: 12345, installation_id: "678", private_key_file: /etc/fabsync/app.pem}
`))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	lab, _ := f.Fabric("lab")
	if lab.Forge != (config.Forge{Type: "github", APIURL: "https://github.example.com/api/v3"}) || lab.PullRequestBranch() != "fabsync/lab" {
		t.Errorf("lab = %+v", lab)
	}
	g := lab.Auth.GitHubApp
	if g == nil || g.PrivateKeyFile != "/etc/fabsync/app.pem" {
		t.Fatalf("github_app = %+v", g)
	}
	if app, inst, err := g.IDs(); app != 12345 || inst != 678 || err != nil {
		t.Errorf("IDs = %d, %d, %v; want 12345, 678", app, inst, err)
	}
}

func TestParseInvalidDelivery(t *testing.T) {
	const app = "{app_id: 1, installation_id: 2, private_key_file: /k.pem}"
	tests := []struct {
		name, yaml, want string
	}{
		{"deliver", "fabrics:\n  - name: a\n    repo: /r\n    deliver: pr\n",
			`line 4: fabrics[0] (a): deliver "pr" is not one of push, pull_request (default push)`},
		{"top-level deliver", "deliver: merge\nfabrics:\n  - {name: a, repo: /r}\n",
			`line 1: deliver "merge" is not one of push, pull_request (default push)`},
		{"forge type", "fabrics:\n  - name: a\n    repo: /r\n    forge: {type: bitbucket}\n",
			`line 4: fabrics[0] (a): forge: type "bitbucket" is not one of github, gitlab, gitea, forgejo`},
		{"forge api_url", "fabrics:\n  - {name: a, repo: /r, forge: {api_url: 'github.example.com'}}\n",
			"fabrics[0] (a): forge: api_url must be an http(s) URL"},
		{"forge api_url secret", "fabrics:\n  - {name: a, repo: /r, forge: {api_url: 'https://u:hunter2@h/api'}}\n",
			"forge: api_url must not hold credentials"},
		{"forge unknown field", "fabrics:\n  - {name: a, repo: /r, forge: {kind: github}}\n", "field kind not found"},
		{"app_id missing", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {installation_id: 2, private_key_file: /k}}}\n",
			"fabrics[0] (a): auth: github_app.app_id is required"},
		{"app_id not a number", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: my-app, installation_id: 2, private_key_file: /k}}}\n",
			"auth: github_app.app_id must be the App's numeric ID"},
		{"app_id negative", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: -1, installation_id: 2, private_key_file: /k}}}\n",
			"auth: github_app.app_id must be the App's numeric ID"},
		{"installation_id missing", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: 1, private_key_file: /k}}}\n",
			"auth: github_app.installation_id is required"},
		{"installation_id not a number", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: 1, installation_id: 2.5, private_key_file: /k}}}\n",
			"auth: github_app.installation_id must be the installation's numeric ID"},
		{"key missing", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: 1, installation_id: 2}}}\n",
			"auth: github_app.private_key_file is required"},
		{"key inline", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: 1, installation_id: 2, private_key_file: \"-----BEGIN RSA PRIVATE KEY-----\\nMIIE\"}}}\n",
			"auth: github_app.private_key_file must name a file holding the key, not be the key"},
		{"app and token", "fabrics:\n  - {name: a, repo: /r, auth: {token_env: T, github_app: " + app + "}}\n",
			"auth: set github_app or a token or password, not both"},
		{"app unknown field", "fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: 1, installation_id: 2, private_key_file: /k, client_secret: x}}}\n",
			"field client_secret not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml))
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v; want ErrInvalid with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "MIIE") {
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}
	// The key file is never read by Parse: a missing one is fine here.
	if _, err := config.Parse([]byte("fabrics:\n  - {name: a, repo: /r, auth: {github_app: {app_id: 1, installation_id: 2, private_key_file: /nonexistent/k.pem}}}\n")); err != nil {
		t.Errorf("Parse with a missing key file = %v; want nil (the worker reads it)", err)
	}
}
