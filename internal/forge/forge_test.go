package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/tasks"
)

// testToken is the token every fake forge expects; no error may contain it.
const testToken = "tok-SECRET-123"

// absent, as a want value in exchange.body or exchange.query, says the field must not be sent.
var absent = &struct{ absent bool }{true}

// exchange is one request a fake forge expects, in order, and its answer.
type exchange struct {
	method string
	path   string         // escaped path, as sent
	query  map[string]any // query parameters that must have these values (string) or be absent
	body   map[string]any // JSON body fields that must have these values, or be absent
	status int            // 0 means 200
	header map[string]string
	resp   string
}

// fakeForge serves script in order, checking each request's method, path, query, auth
// header and JSON body; at the end of the test every exchange must have been used.
func fakeForge(t *testing.T, authHeader, authValue string, script []exchange) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(script) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			http.Error(w, `{"message":"unexpected"}`, http.StatusTeapot)
			return
		}
		x := script[next]
		next++
		if r.Method != x.method || r.URL.EscapedPath() != x.path {
			t.Errorf("request %d: got %s %s, want %s %s", next, r.Method, r.URL.EscapedPath(), x.method, x.path)
		}
		if got := r.Header.Get(authHeader); got != authValue {
			t.Errorf("request %d: %s header = %q, want %q", next, authHeader, got, authValue)
		}
		q := r.URL.Query()
		for k, want := range x.query {
			if want == absent {
				if q.Has(k) {
					t.Errorf("request %d: query has %s=%q, want none", next, k, q.Get(k))
				}
			} else if got := q.Get(k); got != want {
				t.Errorf("request %d: query %s = %q, want %q", next, k, got, want)
			}
		}
		if x.body != nil {
			var got map[string]any
			data, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(data, &got); err != nil {
				t.Errorf("request %d: body %q is not a JSON object: %v", next, data, err)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("request %d: Content-Type = %q, want application/json", next, ct)
			}
			for k, want := range x.body {
				v, ok := got[k]
				switch {
				case want == absent:
					if ok && v != nil {
						t.Errorf("request %d: body has %s=%v, want none", next, k, v)
					}
				case !ok:
					t.Errorf("request %d: body lacks %s (body %s)", next, k, data)
				case !reflect.DeepEqual(v, want):
					t.Errorf("request %d: body %s = %#v, want %#v", next, k, v, want)
				}
			}
		}
		for k, v := range x.header {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		status := x.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, x.resp)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if next != len(script) {
			t.Errorf("fake forge got %d requests, want %d (next: %s %s)", next, len(script), script[next].method, script[next].path)
		}
	})
	return srv
}

// errKind is the class of error a case expects.
type errKind int

const (
	errNone errKind = iota
	errUnauthorized
	errNotFound
	errRateLimit
	errTransient // none of the above
)

// checkErr checks that err is of kind want; for errRateLimit, that RetryAfter is within
// [minWait, maxWait].
func checkErr(t *testing.T, err error, want errKind, minWait, maxWait time.Duration) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testToken) {
		t.Errorf("error leaks the token: %v", err)
	}
	var rl *RateLimitError
	isRL := errors.As(err, &rl)
	switch want {
	case errNone:
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	case errUnauthorized:
		if !errors.Is(err, ErrUnauthorized) || isRL {
			t.Fatalf("error = %v, want ErrUnauthorized", err)
		}
	case errNotFound:
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("error = %v, want ErrNotFound", err)
		}
	case errRateLimit:
		if !isRL {
			t.Fatalf("error = %v, want *RateLimitError", err)
		}
		if rl.RetryAfter < minWait || rl.RetryAfter > maxWait {
			t.Errorf("RetryAfter = %s, want between %s and %s", rl.RetryAfter, minWait, maxWait)
		}
	case errTransient:
		if err == nil || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotFound) || isRL {
			t.Fatalf("error = %v, want a transient error", err)
		}
	}
}

// prCase is one EnsurePullRequest scenario against a fake forge.
type prCase struct {
	name             string
	spec             tasks.PullRequestSpec
	script           []exchange
	want             *tasks.PullRequest
	err              errKind
	minWait, maxWait time.Duration
}

func runPRCases(t *testing.T, cases []prCase, authHeader, authValue string, newForge func(t *testing.T, srvURL string) tasks.Forge) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeForge(t, authHeader, authValue, tc.script)
			f := newForge(t, srv.URL)
			got, err := f.EnsurePullRequest(context.Background(), tc.spec)
			checkErr(t, err, tc.err, tc.minWait, tc.maxWait)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("EnsurePullRequest = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// statusCase is one SetStatus scenario against a fake forge.
type statusCase struct {
	name   string
	st     tasks.CommitStatus
	script []exchange
	err    errKind
}

func runStatusCases(t *testing.T, cases []statusCase, authHeader, authValue string, newForge func(t *testing.T, srvURL string) tasks.Forge) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeForge(t, authHeader, authValue, tc.script)
			err := newForge(t, srv.URL).SetStatus(context.Background(), tc.st)
			checkErr(t, err, tc.err, 0, 0)
		})
	}
}

func resetIn(d time.Duration) string { return fmt.Sprint(time.Now().Add(d).Unix()) }

var (
	spec  = tasks.PullRequestSpec{Head: "fabsync/dc1", Base: "main", Title: "fabsync: dc1", Body: "3 files changed"}
	specR = tasks.PullRequestSpec{Head: "fabsync/dc1", Base: "main", Title: "fabsync: dc1", Body: "3 files changed", Reopen: true}
	long  = strings.Repeat("é", 150) // 150 characters, 300 bytes
)

func TestInfer(t *testing.T) {
	tests := []struct {
		url                  string
		typ, apiURL, project string
		ok                   bool
	}{
		{"https://github.com/octo/fab.git", "github", "https://api.github.com/", "octo/fab", true},
		{"https://x-access-token:ghs_abc@github.com/octo/fab", "github", "https://api.github.com/", "octo/fab", true},
		{"git@github.com:octo/fab.git", "github", "https://api.github.com/", "octo/fab", true},
		{"ssh://git@github.com/octo/fab.git", "github", "https://api.github.com/", "octo/fab", true},
		{"http://GitHub.com/octo/fab/", "github", "https://api.github.com/", "octo/fab", true},
		{"https://gitlab.com/net/dc/fab.git", "gitlab", "https://gitlab.com/api/v4", "net/dc/fab", true},
		{"git@gitlab.com:net/dc/fab.git", "gitlab", "https://gitlab.com/api/v4", "net/dc/fab", true},
		{"ssh://git@codeberg.org:22/octo/fab.git", "gitea", "https://codeberg.org/api/v1", "octo/fab", true},
		{"https://codeberg.org/octo/fab", "gitea", "https://codeberg.org/api/v1", "octo/fab", true},
		{"https://git.example.com/octo/fab.git", "", "", "octo/fab", false},
		{"git@git.example.com:octo/fab.git", "", "", "octo/fab", false},
		{"https://github.com/octo", "", "", "", false},
		{"file:///srv/git/fab.git", "", "", "", false},
		{"/srv/git/fab.git", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			typ, api, project, ok := Infer(tt.url)
			if typ != tt.typ || api != tt.apiURL || project != tt.project || ok != tt.ok {
				t.Errorf("Infer(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tt.url, typ, api, project, ok, tt.typ, tt.apiURL, tt.project, tt.ok)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		typ     string
		apiURL  string
		project string
		err     error // errors.Is target; nil: no error
	}{
		{"github inferred", Config{Repo: "git@github.com:octo/fab.git"}, "github", "https://api.github.com/", "octo/fab", nil},
		{"ghe default API", Config{Type: "github", Repo: "https://ghe.example.com/octo/fab.git"}, "github", "https://ghe.example.com/api/v3/", "octo/fab", nil},
		{"ghe over ssh drops the ssh port", Config{Type: "github", Repo: "ssh://git@ghe.example.com:7999/octo/fab.git"}, "github", "https://ghe.example.com/api/v3/", "octo/fab", nil},
		{"gitlab self-hosted", Config{Type: "GitLab", Repo: "git@gitlab.example.com:net/dc/fab.git"}, "gitlab", "https://gitlab.example.com/api/v4", "net/dc/fab", nil},
		{"gitlab under a path", Config{Type: "gitlab", APIURL: "https://example.com/gitlab/api/v4", Repo: "https://example.com/gitlab/net/fab.git"}, "gitlab", "https://example.com/gitlab/api/v4", "net/fab", nil},
		{"forgejo is gitea", Config{Type: "forgejo", Repo: "http://forge.lan:3000/octo/fab.git"}, "gitea", "http://forge.lan:3000/api/v1", "octo/fab", nil},
		{"codeberg inferred", Config{Repo: "https://codeberg.org/octo/fab.git"}, "gitea", "https://codeberg.org/api/v1", "octo/fab", nil},
		{"explicit API URL wins", Config{Repo: "https://github.com/octo/fab", APIURL: "http://127.0.0.1:1/api/v3/"}, "github", "http://127.0.0.1:1/api/v3/", "octo/fab", nil},
		{"unknown host", Config{Repo: "https://git.example.com/octo/fab.git"}, "", "", "", tasks.ErrNoForge},
		{"unknown type", Config{Type: "bitbucket", Repo: "https://bitbucket.org/octo/fab.git"}, "", "", "", ErrUnknownForge},
		{"bad URL", Config{Repo: "not a url"}, "", "", "", ErrUnknownForge},
		{"github path too deep", Config{Type: "github", Repo: "https://ghe.example.com/a/b/c.git"}, "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolve(tt.cfg)
			if tt.typ == "" {
				if err == nil {
					t.Fatalf("resolve = %+v, want an error", got)
				}
				if tt.err != nil && !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.typ != tt.typ || got.apiURL.String() != tt.apiURL || got.project != tt.project {
				t.Errorf("resolve = %s %s %s, want %s %s %s", got.typ, got.apiURL, got.project, tt.typ, tt.apiURL, tt.project)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	_, err := New(Config{Repo: "https://git.example.com/octo/fab.git", Token: testToken, Fabric: "dc1"})
	if !errors.Is(err, ErrUnknownForge) || !errors.Is(err, tasks.ErrNoForge) || !strings.Contains(err.Error(), "dc1") {
		t.Errorf("unknown host: error = %v, want ErrUnknownForge naming the fabric", err)
	}
	_, err = New(Config{Repo: "https://github.com/octo/fab.git"})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("no token: error = %v, want ErrUnauthorized", err)
	}
	_, err = New(Config{Type: "gitea", Repo: "https://user:" + testToken + "@git.example.com/octo/fab.git", APIURL: "ftp://x:" + testToken + "@h/"})
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("bad API URL: error = %v, want one without the token", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{http.Header{"Retry-After": {now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, 90 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Unix() + 120)}}, 120 * time.Second},
		{http.Header{"Ratelimit-Reset": {fmt.Sprint(now.Unix() + 5)}}, 5 * time.Second},
		{http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Unix() - 5)}}, 0},
		{http.Header{}, time.Minute},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h, now); got != tt.want {
			t.Errorf("retryAfter(%v) = %s, want %s", tt.h, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate(long, descriptionLimit); len([]rune(got)) != descriptionLimit || !strings.HasSuffix(got, "...") {
		t.Errorf("truncate(150 runes) = %d runes %q", len([]rune(got)), got)
	}
	if got := truncate("short", descriptionLimit); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
}

// TestAuthNotSentElsewhere checks that the token goes only to the API's host, so that a
// redirect to another host does not carry it.
func TestAuthNotSentElsewhere(t *testing.T) {
	var gotAuth string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		_, _ = io.WriteString(w, `[]`)
	}))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	f, err := New(Config{Type: "gitea", Repo: "https://git.example.com/octo/fab.git", APIURL: api.URL + "/api/v1", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.EnsurePullRequest(context.Background(), spec) // the answer does not matter: where the token went does
	if gotAuth != "" {
		t.Errorf("the other host got Authorization %q", gotAuth)
	}
}

// TestPermanentErrors: the errors no retry can fix wrap tasks.ErrForgePermanent, so that a job
// ends at once instead of retrying; a rate limit does not.
func TestPermanentErrors(t *testing.T) {
	for _, err := range []error{ErrUnauthorized, ErrNotFound, fmt.Errorf("github o/r: create pull request: %w", ErrUnauthorized)} {
		if !errors.Is(err, tasks.ErrForgePermanent) {
			t.Errorf("%v does not wrap tasks.ErrForgePermanent", err)
		}
	}
	if errors.Is(&RateLimitError{RetryAfter: time.Minute}, tasks.ErrForgePermanent) {
		t.Error("a rate limit is permanent")
	}
}
