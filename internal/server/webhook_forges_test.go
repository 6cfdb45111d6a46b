package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/tasks"
)

// forgeFabrics has, for each forge, the fabric a push to its raw/ triggers (the repository as
// ssh, the payloads naming it as https and ssh), a fabric of the same repository and branch
// under another path ("-lab": its raw/ is not touched) and one on another branch ("-dev").
const forgeFabrics = `fabrics:
  - {name: gh, repo: 'git@github.com:example/gitops.git', path: fab}
  - {name: gh-lab, repo: 'https://github.com/example/gitops', path: lab}
  - {name: gl, repo: 'git@gitlab.example.com:netops/fabric.git', path: fab}
  - {name: gl-lab, repo: 'https://gitlab.example.com/netops/fabric.git', path: lab}
  - {name: gl-dev, repo: 'https://gitlab.example.com/netops/fabric.git', branch: dev, path: fab}
  - {name: gt, repo: 'git@git.example.com:netops/fabric.git', path: fab}
  - {name: gt-lab, repo: 'https://git.example.com/netops/fabric.git', path: lab}
  - {name: bb, repo: 'git@bitbucket.org:netops/fabric.git', path: fab}
  - {name: bb-lab, repo: 'https://bitbucket.org/netops/fabric.git', path: lab}
  - {name: bb-dev, repo: 'https://bitbucket.org/netops/fabric.git', branch: dev, path: fab}
  - {name: gen, repo: 'ssh://git@git.internal:2222/netops/fabric.git', path: fab}
  - {name: gen-lab, repo: 'https://git.internal/netops/fabric.git', path: lab}
`

var forgeFabricNames = []string{"gh", "gh-lab", "gl", "gl-lab", "gl-dev", "gt", "gt-lab", "bb", "bb-lab", "bb-dev", "gen", "gen-lab"}

func hmacHex(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return hex.EncodeToString(mac.Sum(nil))
}

func jsonList(files []string) string {
	b, _ := json.Marshal(files)
	return string(b)
}

// A push as each forge sends it (the shapes of their documented examples, trimmed of the
// fields nobody reads). after names the pushed commit: two pushes differ by it.

func githubPushBody(branch string, files []string, after string) string {
	return `{"ref":"refs/heads/` + branch + `","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"` + after + `",
"created":false,"deleted":false,"forced":false,"base_ref":null,"compare":"https://github.com/example/gitops/compare/6113728f27ae...` + after[:12] + `",
"commits":[{"id":"` + after + `","tree_id":"f9d2a07e9488b91af2641b26b9407fe22a451433","distinct":true,"message":"Add VPCs",
"timestamp":"2026-01-05T10:00:00+01:00","url":"https://github.com/example/gitops/commit/` + after + `",
"author":{"name":"Net Ops","email":"netops@example.com","username":"netops"},"committer":{"name":"Net Ops","email":"netops@example.com","username":"netops"},
"added":` + jsonList(files) + `,"removed":[],"modified":[]}],
"head_commit":{"id":"` + after + `","added":` + jsonList(files) + `,"removed":[],"modified":[]},
"repository":{"id":186853002,"name":"gitops","full_name":"example/gitops","private":true,"html_url":"https://github.com/example/gitops",
"clone_url":"https://github.com/example/gitops.git","ssh_url":"git@github.com:example/gitops.git","default_branch":"main"},
"pusher":{"name":"netops","email":"netops@example.com"},"sender":{"login":"netops","id":21031067}}`
}

func gitlabPushBody(branch string, files []string, after string) string {
	return `{"object_kind":"push","event_name":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"` + after + `",
"ref":"refs/heads/` + branch + `","ref_protected":true,"checkout_sha":"` + after + `","message":null,"user_id":4,"user_name":"Net Ops",
"user_username":"netops","user_email":"","user_avatar":"https://s.gravatar.com/avatar/d4c74594d841139328695756648b6bd6?s=80","project_id":15,
"project":{"id":15,"name":"fabric","description":"","web_url":"https://gitlab.example.com/netops/fabric","avatar_url":null,
"git_ssh_url":"git@gitlab.example.com:netops/fabric.git","git_http_url":"https://gitlab.example.com/netops/fabric.git","namespace":"netops",
"visibility_level":0,"path_with_namespace":"netops/fabric","default_branch":"main","ci_config_path":null,
"homepage":"https://gitlab.example.com/netops/fabric","url":"git@gitlab.example.com:netops/fabric.git",
"ssh_url":"git@gitlab.example.com:netops/fabric.git","http_url":"https://gitlab.example.com/netops/fabric.git"},
"commits":[{"id":"` + after + `","message":"Add VPCs\n","title":"Add VPCs","timestamp":"2026-01-05T10:00:00+01:00",
"url":"https://gitlab.example.com/netops/fabric/-/commit/` + after + `","author":{"name":"Net Ops","email":"netops@example.com"},
"added":` + jsonList(files) + `,"modified":[],"removed":[]}],
"total_commits_count":1,"push_options":{},
"repository":{"name":"fabric","url":"git@gitlab.example.com:netops/fabric.git","description":"","homepage":"https://gitlab.example.com/netops/fabric",
"git_http_url":"https://gitlab.example.com/netops/fabric.git","git_ssh_url":"git@gitlab.example.com:netops/fabric.git","visibility_level":0}}`
}

func giteaPushBody(branch string, files []string, after string) string {
	commit := `{"id":"` + after + `","message":"Add VPCs\n","url":"https://git.example.com/netops/fabric/commit/` + after + `",
"author":{"name":"Net Ops","email":"netops@example.com","username":"netops"},"committer":{"name":"Net Ops","email":"netops@example.com","username":"netops"},
"verification":null,"timestamp":"2026-01-05T10:00:00+01:00","added":` + jsonList(files) + `,"removed":[],"modified":[]}`
	return `{"ref":"refs/heads/` + branch + `","before":"0000000000000000000000000000000000000000","after":"` + after + `",
"compare_url":"https://git.example.com/netops/fabric/compare/0000000000000000000000000000000000000000...` + after + `",
"commits":[` + commit + `],"total_commits":1,"head_commit":` + commit + `,
"repository":{"id":1,"owner":{"id":1,"login":"netops","email":"netops@example.com","username":"netops"},"name":"fabric","full_name":"netops/fabric",
"description":"","empty":false,"private":true,"fork":false,"mirror":false,"size":89,"html_url":"https://git.example.com/netops/fabric",
"ssh_url":"git@git.example.com:netops/fabric.git","clone_url":"https://git.example.com/netops/fabric.git","default_branch":"main"},
"pusher":{"id":1,"login":"netops","email":"netops@example.com","username":"netops"},"sender":{"id":1,"login":"netops","username":"netops"}}`
}

// bitbucketPushBody lists no files: Bitbucket's payload has none.
func bitbucketPushBody(branch string, _ []string, after string) string {
	return `{"actor":{"display_name":"Net Ops","uuid":"{a54f16da-24e9-4d7f-a3a7-b1ba2cd98aa3}","account_id":"udfy9suggmzpswxc7n200y3c","nickname":"netops"},
"repository":{"type":"repository","full_name":"netops/fabric","name":"fabric","uuid":"{673a6070-3421-46c9-9d48-90745f7bfe8e}","scm":"git","is_private":true,
"links":{"self":{"href":"https://api.bitbucket.org/2.0/repositories/netops/fabric"},"html":{"href":"https://bitbucket.org/netops/fabric"},
"avatar":{"href":"https://bytebucket.org/ravatar/%7B673a6070-3421-46c9-9d48-90745f7bfe8e%7D?ts=default"}}},
"push":{"changes":[{"new":{"type":"branch","name":"` + branch + `","target":{"type":"commit","hash":"` + after + `","message":"Add VPCs\n",
"date":"2026-01-05T09:00:00+00:00","parents":[{"type":"commit","hash":"1e65c05c1d5171631d92438a13901ca7dae9618c"}]},
"links":{"html":{"href":"https://bitbucket.org/netops/fabric/branch/` + branch + `"}}},
"old":{"type":"branch","name":"` + branch + `","target":{"type":"commit","hash":"1e65c05c1d5171631d92438a13901ca7dae9618c"}},
"created":false,"forced":false,"closed":false,"truncated":false,
"links":{"html":{"href":"https://bitbucket.org/netops/fabric/branches/compare/` + after + `..1e65c05c1d5171631d92438a13901ca7dae9618c"}}}]}}`
}

func genericPushBody(branch string, files []string, after string) string {
	return `{"repo":"https://git.internal/netops/fabric.git","branch":"` + branch + `","commit":"` + after + `","paths":` + jsonList(files) + `}`
}

// delivery is one request to a webhook route and the answer it should get.
type delivery struct {
	body        string
	headers     []string
	wantCode    int
	wantMessage string // a part of the answer's body
}

// webhookForge describes one forge's route for the table of TestWebhookForges.
type webhookForge struct {
	name      string
	path      string
	secret    func(*Config, string)
	body      func(branch string, files []string, after string) string
	sign      func(secret, body string) []string // the headers that prove the delivery
	push      func(id string) []string           // the event (and delivery ID) headers of a push
	ping      []string                           // the headers of a ping; nil: the forge has none
	other     []string                           // the headers of an event that is not a push
	want      []string                           // the fabrics a push to main touching fab/raw/ triggers
	listAll   bool                               // the payload lists no files
	tokenOnly bool                               // the proof is a token that does not cover the body (GitLab)
}

var webhookForges = []webhookForge{
	{
		name: "github", path: webhookPath,
		secret: func(c *Config, s string) { c.WebhookSecret = s },
		body:   githubPushBody,
		sign:   func(s, b string) []string { return []string{"X-Hub-Signature-256", "sha256=" + hmacHex(s, b)} },
		push:   func(id string) []string { return []string{"X-GitHub-Event", "push", "X-GitHub-Delivery", id} },
		ping:   []string{"X-GitHub-Event", "ping"},
		other:  []string{"X-GitHub-Event", "issues"},
		want:   []string{"gh"},
	},
	{
		name: "gitlab", path: webhookPrefix + "gitlab",
		secret: func(c *Config, s string) { c.GitLabWebhookToken = s },
		body:   gitlabPushBody,
		sign:   func(s, _ string) []string { return []string{"X-Gitlab-Token", s} },
		push: func(id string) []string {
			return []string{"X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", id, "X-Gitlab-Instance", "https://gitlab.example.com"}
		},
		other:     []string{"X-Gitlab-Event", "Tag Push Hook"},
		want:      []string{"gl"},
		tokenOnly: true,
	},
	{
		name: "gitea", path: webhookPrefix + "gitea",
		secret: func(c *Config, s string) { c.GiteaWebhookSecret = s },
		body:   giteaPushBody,
		sign:   func(s, b string) []string { return []string{"X-Gitea-Signature", hmacHex(s, b)} },
		push: func(id string) []string {
			return []string{"X-Gitea-Event", "push", "X-Gitea-Event-Type", "push", "X-Gitea-Delivery", id}
		},
		other: []string{"X-Gitea-Event", "issues"},
		want:  []string{"gt"},
	},
	{
		name: "forgejo", path: webhookPrefix + "gitea",
		secret: func(c *Config, s string) { c.GiteaWebhookSecret = s },
		body:   giteaPushBody,
		sign:   func(s, b string) []string { return []string{"X-Forgejo-Signature", hmacHex(s, b)} },
		push:   func(id string) []string { return []string{"X-Forgejo-Event", "push", "X-Forgejo-Delivery", id} },
		other:  []string{"X-Forgejo-Event", "create"},
		want:   []string{"gt"},
	},
	{
		name: "bitbucket", path: webhookPrefix + "bitbucket",
		secret: func(c *Config, s string) { c.BitbucketWebhookSecret = s },
		body:   bitbucketPushBody,
		sign:   func(s, b string) []string { return []string{"X-Hub-Signature", "sha256=" + hmacHex(s, b)} },
		push: func(id string) []string {
			return []string{"X-Event-Key", "repo:push", "X-Request-UUID", id, "X-Hook-UUID", "{cb3fd2a6-8b25-4d2b-9b4f-0e6a3d1c2f11}", "X-Attempt-Number", "1"}
		},
		ping:    []string{"X-Event-Key", "diagnostics:ping"},
		other:   []string{"X-Event-Key", "pullrequest:created"},
		want:    []string{"bb", "bb-lab"},
		listAll: true,
	},
	{
		name: "generic", path: webhookPrefix + "generic",
		secret: func(c *Config, s string) { c.GenericWebhookSecret = s },
		body:   genericPushBody,
		sign:   func(s, b string) []string { return []string{"X-Fabsync-Signature-256", "sha256=" + hmacHex(s, b)} },
		push:   func(id string) []string { return []string{"X-Fabsync-Delivery", id} },
		ping:   []string{"X-Fabsync-Event", "ping"},
		other:  []string{"X-Fabsync-Event", "tag"},
		want:   []string{"gen"},
	},
}

// TestWebhookForges runs the same deliveries against every forge's route: a good signature
// starts a job for exactly the matching fabrics; a bad or missing one is 401 and starts
// nothing; a push that touches only managed/ or another branch starts nothing; a ping answers
// 200 and another event 204; a delivery ID is handled once; an oversized body is 413; a route
// without its secret is 401 webhook_disabled.
func TestWebhookForges(t *testing.T) {
	const secret = "hook-secret"
	sha := func(n int) string { return strings.Repeat(fmt.Sprintf("%x", n%16), 40) }
	raw := []string{"fab/raw/vpcs.yaml", "README.md"}
	managed := []string{"fab/managed/vpcs/vpc-1.yaml", "lab/managed/vpcs/vpc-1.yaml"}
	triggered := delivery{wantCode: http.StatusAccepted, wantMessage: "sync triggered"}
	nothing := delivery{wantCode: http.StatusOK, wantMessage: "no fabric's raw/ changed on this repository and branch"}
	replay := delivery{wantCode: http.StatusOK, wantMessage: "delivery already handled"}
	refused := delivery{wantCode: http.StatusUnauthorized, wantMessage: "missing or invalid"}
	answer := func(d, want delivery) delivery { d.wantCode, d.wantMessage = want.wantCode, want.wantMessage; return d }

	for _, fg := range webhookForges {
		// signed is a delivery of body with the forge's proof for secret and the given headers.
		signed := func(secret, body string, headers ...string) delivery {
			return delivery{body: body, headers: append(append(fg.sign(secret, body), headers...), "Content-Type", "application/json")}
		}
		push := func(branch string, files []string, n int, id string) delivery {
			return signed(secret, fg.body(branch, files, sha(n)), fg.push(id)...)
		}
		unsigned := delivery{body: fg.body("main", raw, sha(1)), headers: fg.push("id-1")}
		forged := push("main", raw, 1, "id-1")
		forged.body = fg.body("main", raw, sha(2)) // the proof is for another body
		other := signed(secret, `{"action":"opened"}`, fg.other...)

		tests := []struct {
			name       string
			skip       bool // not for this forge
			disabled   bool // the route has no secret
			deliveries []delivery
			wantJobs   []string // the fabrics that have a job at the end
		}{
			{name: "good signature", deliveries: []delivery{answer(push("main", raw, 1, "id-1"), triggered)}, wantJobs: fg.want},
			{name: "wrong secret", deliveries: []delivery{answer(signed("not-the-secret", fg.body("main", raw, sha(1)), fg.push("id-1")...), refused)}},
			{name: "no signature", deliveries: []delivery{answer(unsigned, refused)}},
			{name: "signature of another body", skip: fg.tokenOnly, deliveries: []delivery{answer(forged, refused)}},
			{name: "only managed/ touched", skip: fg.listAll, deliveries: []delivery{answer(push("main", managed, 1, "id-1"), nothing)}},
			{name: "another branch", deliveries: []delivery{answer(push("feature/x", raw, 1, "id-1"), nothing)}},
			{name: "ping or test", deliveries: []delivery{pingOrTest(func(b string, h ...string) delivery { return signed(secret, b, h...) }, fg)}},
			{name: "other event", deliveries: []delivery{answer(other, delivery{wantCode: http.StatusNoContent})}},
			{name: "delivery ID handled once", deliveries: []delivery{
				answer(push("main", raw, 1, "id-1"), triggered),
				answer(push("main", raw, 2, "id-1"), replay), // another body under the same ID
			}, wantJobs: fg.want},
			{name: "body handled once", deliveries: []delivery{
				answer(push("main", raw, 1, "id-1"), triggered),
				answer(push("main", raw, 1, "id-2"), replay), // the same body under another ID
			}, wantJobs: fg.want},
			{name: "unsigned does not use up the ID", deliveries: []delivery{
				answer(unsigned, refused),
				answer(push("main", raw, 1, "id-1"), triggered),
			}, wantJobs: fg.want},
			{name: "oversized body", deliveries: []delivery{answer(signed(secret, strings.Repeat(" ", maxWebhookBody+1), fg.push("id-1")...),
				delivery{wantCode: http.StatusRequestEntityTooLarge, wantMessage: "exceeds 5 MiB"})}},
			{name: "not JSON", deliveries: []delivery{answer(signed(secret, "{", fg.push("id-1")...),
				delivery{wantCode: http.StatusBadRequest, wantMessage: "push payload"})}},
			{name: "disabled", disabled: true, deliveries: []delivery{answer(push("main", raw, 1, "id-1"),
				delivery{wantCode: http.StatusUnauthorized, wantMessage: "webhooks are disabled"})}},
		}
		for _, tt := range tests {
			if tt.skip {
				continue
			}
			t.Run(fg.name+"/"+tt.name, func(t *testing.T) {
				cfg := Config{Fabrics: newSource(t, forgeFabrics)}
				if !tt.disabled {
					fg.secret(&cfg, secret)
				}
				e, svc := newTestServerWith(t, cfg)
				for i, d := range tt.deliveries {
					rec := serve(e, http.MethodPost, fg.path, d.body, d.headers...)
					if rec.Code != d.wantCode || !strings.Contains(rec.Body.String(), d.wantMessage) {
						t.Errorf("delivery %d = %d %.300s; want %d %q", i, rec.Code, rec.Body, d.wantCode, d.wantMessage)
					}
				}
				if got := fabricsWithJobs(t, svc.List); !slices.Equal(got, tt.wantJobs) {
					t.Errorf("fabrics with jobs = %v; want %v", got, tt.wantJobs)
				}
			})
		}
	}
}

// pingOrTest is a forge's ping, which answers 200 "pong". GitLab, Gitea and Forgejo have none:
// their test button sends a real push of the branch's last commit, handled as any push; for
// them it is a push of a tag, which answers 200 with nothing to do.
func pingOrTest(signed func(string, ...string) delivery, fg webhookForge) delivery {
	if fg.ping != nil {
		d := signed(`{"zen":"Keep it logically awesome.","hook_id":1}`, fg.ping...)
		d.wantCode, d.wantMessage = http.StatusOK, `"pong"`
		return d
	}
	body := strings.Replace(fg.body("main", []string{"fab/raw/vpcs.yaml"}, strings.Repeat("a", 40)), `refs/heads/main`, `refs/tags/v1.0.0`, 1)
	d := signed(body, fg.push("id-tag")...)
	d.wantCode, d.wantMessage = http.StatusOK, "not a branch update"
	return d
}

// fabricsWithJobs lists, in forgeFabricNames order, the fabrics that have a job.
func fabricsWithJobs(t *testing.T, list func(context.Context, string, int) ([]*tasks.Job, error)) []string {
	t.Helper()
	var out []string
	for _, name := range forgeFabricNames {
		jobs, err := list(context.Background(), name, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 0 {
			out = append(out, name)
		}
		if len(jobs) > 1 {
			t.Errorf("fabric %s has %d jobs; want at most 1", name, len(jobs))
		}
	}
	return out
}

// TestWebhookPayloads: what each forge's own payload can say beyond a plain push.
func TestWebhookPayloads(t *testing.T) {
	const secret = "hook-secret"
	after := strings.Repeat("c", 40)
	tests := []struct {
		name     string
		forge    string // a name in webhookForges
		body     string
		wantCode int
		wantJobs []string
	}{
		{"gitlab: commits cut short, every fabric of the branch", "gitlab",
			strings.Replace(gitlabPushBody("main", []string{"README.md"}, after), `"total_commits_count":1`, `"total_commits_count":42`, 1),
			http.StatusAccepted, []string{"gl", "gl-lab"}},
		{"gitlab: branch deleted", "gitlab",
			strings.ReplaceAll(gitlabPushBody("main", nil, after), after, strings.Repeat("0", 40)), http.StatusOK, nil},
		{"gitea: commits cut short", "gitea",
			strings.Replace(giteaPushBody("main", []string{"README.md"}, after), `"total_commits":1`, `"total_commits":30`, 1),
			http.StatusAccepted, []string{"gt", "gt-lab"}},
		{"gitea: the other fabric's raw/", "gitea", giteaPushBody("main", []string{"lab/raw/a.yaml"}, after), http.StatusAccepted, []string{"gt-lab"}},
		{"bitbucket: branch deleted", "bitbucket",
			`{"repository":{"links":{"html":{"href":"https://bitbucket.org/netops/fabric"}}},"push":{"changes":[{"new":null,"old":{"type":"branch","name":"main"},"closed":true}]}}`,
			http.StatusOK, nil},
		{"bitbucket: a tag", "bitbucket",
			`{"repository":{"links":{"html":{"href":"https://bitbucket.org/netops/fabric"}}},"push":{"changes":[{"new":{"type":"tag","name":"main"},"old":null}]}}`,
			http.StatusOK, nil},
		{"bitbucket: two branches in one push", "bitbucket",
			`{"repository":{"links":{"html":{"href":"https://bitbucket.org/netops/fabric"}}},"push":{"changes":[` +
				`{"new":{"type":"branch","name":"dev","target":{"hash":"` + after + `"}}},{"new":{"type":"branch","name":"main","target":{"hash":"` + after + `"}}}]}}`,
			http.StatusAccepted, []string{"bb", "bb-lab", "bb-dev"}},
		{"bitbucket: another repository", "bitbucket", strings.ReplaceAll(bitbucketPushBody("main", nil, after), "netops/fabric", "netops/other"), http.StatusOK, nil},
		{"generic: no paths, something changed", "generic",
			`{"repo":"git@git.internal:netops/fabric.git","branch":"main","commit":"` + after + `"}`, http.StatusAccepted, []string{"gen", "gen-lab"}},
		{"generic: empty paths, nothing changed", "generic",
			`{"repo":"git@git.internal:netops/fabric.git","branch":"main","paths":[]}`, http.StatusOK, nil},
		{"generic: a full ref", "generic",
			`{"repo":"https://git.internal/netops/fabric","branch":"refs/heads/main","paths":["lab/raw/x.yaml"]}`, http.StatusAccepted, []string{"gen-lab"}},
		{"generic: no repo", "generic", `{"branch":"main"}`, http.StatusBadRequest, nil},
		{"generic: a local path", "generic", `{"repo":"/srv/git/fabric.git","branch":"main"}`, http.StatusBadRequest, nil},
		{"generic: no branch", "generic", `{"repo":"https://git.internal/netops/fabric.git"}`, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := slices.IndexFunc(webhookForges, func(f webhookForge) bool { return f.name == tt.forge })
			fg := webhookForges[i]
			cfg := Config{Fabrics: newSource(t, forgeFabrics)}
			fg.secret(&cfg, secret)
			e, svc := newTestServerWith(t, cfg)
			rec := serve(e, http.MethodPost, fg.path, tt.body, append(fg.sign(secret, tt.body), fg.push("id-1")...)...)
			if rec.Code != tt.wantCode {
				t.Errorf("webhook = %d %s; want %d", rec.Code, rec.Body, tt.wantCode)
			}
			if got := fabricsWithJobs(t, svc.List); !slices.Equal(got, tt.wantJobs) {
				t.Errorf("fabrics with jobs = %v; want %v", got, tt.wantJobs)
			}
		})
	}
}

// TestValidToken: GitLab's token is compared whole, in constant time.
func TestValidToken(t *testing.T) {
	tests := []struct {
		name, secret, token string
		want                bool
	}{
		{"same", "tok-1", "tok-1", true},
		{"other", "tok-1", "tok-2", false},
		{"prefix", "tok-1", "tok-", false},
		{"longer", "tok-1", "tok-12", false},
		{"empty", "tok-1", "", false},
	}
	for _, tt := range tests {
		if got := validToken(tt.secret, tt.token); got != tt.want {
			t.Errorf("%s: validToken = %v; want %v", tt.name, got, tt.want)
		}
	}
}
