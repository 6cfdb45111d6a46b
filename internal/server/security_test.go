package server

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/tasks"
)

const oneFabric = "fabrics:\n  - {name: a, repo: 'https://github.com/example/gitops.git'}\n"

// TestCookieWritesNeedSameOrigin: a state-changing request that only the UI's token cookie
// authorizes must come from this server's own pages; the Authorization header needs no such
// proof (another site's page cannot set it).
func TestCookieWritesNeedSameOrigin(t *testing.T) {
	e, _ := newTestServerWith(t, Config{Fabrics: newSource(t, oneFabric), Token: "tok", Monitoring: "readwrite"})
	const pause = "/monitoring/api/queues/%s:pause" // each case pauses a queue of its own (204; a second pause fails)
	cookie := []string{"Cookie", "fabsync-token=tok"}
	tests := []struct {
		name    string
		method  string
		path    string
		headers []string
		want    int
	}{
		{"cross-site with the cookie", "POST", pause, []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, 403},
		{"same-site with the cookie", "POST", pause, []string{"Sec-Fetch-Site", "same-site", "Origin", "https://other.example.com"}, 403},
		{"foreign Origin, no Sec-Fetch-Site", "POST", pause, []string{"Origin", "https://evil.example"}, 403},
		{"Origin null", "POST", pause, []string{"Origin", "null"}, 403},
		{"no Origin, no Sec-Fetch-Site", "POST", pause, nil, 403},
		{"DELETE cross-site", "DELETE", "/monitoring/api/queues/default", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-origin", "POST", pause, []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"}, 204},
		{"Origin matches Host, no Sec-Fetch-Site", "POST", pause, []string{"Origin", "http://EXAMPLE.com"}, 204},
		{"Origin with the default port", "POST", pause, []string{"Origin", "http://example.com:80"}, 204},
		{"GET cross-site", "GET", "/monitoring/api/queues", []string{"Sec-Fetch-Site", "cross-site"}, 200},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := strings.Replace(tt.path, "%s", fmt.Sprintf("q%d", i), 1)
			rec := serve(e, tt.method, path, "", append(tt.headers, cookie...)...)
			if rec.Code != tt.want {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, path, rec.Code, rec.Body, tt.want)
			}
			if tt.want == 403 && !strings.Contains(rec.Body.String(), `"code":"cross_origin"`) {
				t.Errorf("body = %s; want a JSON error with code cross_origin", rec.Body)
			}
		})
	}
	// The header counts from anywhere: it is what scripts and curl send.
	rec := serve(e, "POST", fmt.Sprintf(pause, "by-header"), "", "Authorization", "Bearer tok", "Sec-Fetch-Site", "cross-site")
	if rec.Code != 204 {
		t.Errorf("POST with the Authorization header from another site = %d %s; want 204", rec.Code, rec.Body)
	}
	// A wrong cookie is refused before its origin matters.
	rec = serve(e, "POST", fmt.Sprintf(pause, "wrong-cookie"), "", "Cookie", "fabsync-token=nope", "Sec-Fetch-Site", "same-origin")
	if rec.Code != 401 {
		t.Errorf("POST with a wrong cookie = %d; want 401", rec.Code)
	}
}

// TestOpenServerRefusesCrossSiteWrites: without a token nothing authenticates a request, but a
// page of another site still cannot make a browser change state here. Clients that are not
// browsers (no Sec-Fetch-Site, no Origin) are let through.
func TestOpenServerRefusesCrossSiteWrites(t *testing.T) {
	e, _ := newTestServerWith(t, Config{Fabrics: newSource(t, oneFabric), Monitoring: "readwrite"})
	tests := []struct {
		name    string
		path    string
		headers []string
		want    int
	}{
		{"sync from another site", "/api/v1/fabrics/a/sync", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"sync, foreign Origin", "/api/v1/fabrics/a/sync", []string{"Origin", "https://evil.example"}, 403},
		{"pause from another site", "/monitoring/api/queues/q1:pause", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"sync from the UI", "/api/v1/fabrics/a/sync", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://example.com"}, 202},
		{"sync by curl", "/api/v1/fabrics/a/sync", nil, 200}, // the job of the row above
		{"pause by curl", "/monitoring/api/queues/q2:pause", nil, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := serve(e, "POST", tt.path, "", tt.headers...); rec.Code != tt.want {
				t.Fatalf("POST %s = %d %s; want %d", tt.path, rec.Code, rec.Body, tt.want)
			}
		})
	}
}

// TestMonitoringModes: readonly (the default) serves the dashboard but refuses changes,
// readwrite allows them, off serves no dashboard at all.
func TestMonitoringModes(t *testing.T) {
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>fabsync</title>")}}
	auth := []string{"Authorization", "Bearer tok"}
	const pause = "/monitoring/api/queues/sync:pause"
	tests := []struct {
		mode       string
		page, post int
	}{
		{"", 200, 405},
		{"readonly", 200, 405},
		{"readwrite", 200, 204},
		{"off", 404, 405}, // 405: the UI's GET route answers
	}
	for _, tt := range tests {
		t.Run("mode "+tt.mode, func(t *testing.T) {
			e, _ := newTestServerWith(t, Config{Fabrics: newSource(t, oneFabric), Token: "tok", Monitoring: tt.mode, UI: ui})
			for _, p := range []string{"/monitoring/", "/monitoring", "/monitoring/api/queues"} {
				if rec := serve(e, "GET", p, "", auth...); rec.Code != tt.page {
					t.Errorf("GET %s = %d; want %d", p, rec.Code, tt.page)
				}
			}
			rec := serve(e, "POST", pause, "", auth...)
			if rec.Code != tt.post {
				t.Errorf("POST %s = %d %s; want %d", pause, rec.Code, rec.Body, tt.post)
			}
			if tt.post == 405 && tt.mode != "off" && !strings.Contains(rec.Body.String(), "read-only") {
				t.Errorf("POST %s = %s; want it to say the dashboard is read-only", pause, rec.Body)
			}
			if rec := serve(e, "GET", "/", ""); rec.Code != 200 {
				t.Errorf("GET / = %d; want the UI", rec.Code)
			}
		})
	}
}

func TestMonitoringModeInvalid(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed by New
	defer func() { _ = rdb.Close() }()
	_, err := New(Config{Service: tasks.NewService(rdb), Redis: rdb, Fabrics: newSource(t, oneFabric),
		Logger: slog.New(slog.DiscardHandler), Monitoring: "read-only"})
	if err == nil || !strings.Contains(err.Error(), `"readonly", "readwrite" or "off"`) || !strings.Contains(err.Error(), `"read-only"`) {
		t.Fatalf("New(Monitoring: read-only) = %v; want an error naming the value and the allowed ones", err)
	}
}

// TestSecurityHeaders: every response, pages, API, errors and the dashboard, carries the
// headers that keep it out of frames and stop MIME sniffing; the UI's policy allows only this
// server's own files, and the dashboard's allows exactly the inline scripts it has.
func TestSecurityHeaders(t *testing.T) {
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>fabsync</title>")}}
	e, _ := newTestServerWith(t, Config{Fabrics: newSource(t, oneFabric), Token: "tok", UI: ui})
	const uiPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	auth := []string{"Authorization", "Bearer tok"}
	for _, tt := range []struct {
		path    string
		headers []string
		status  int
	}{
		{"/", nil, 200},
		{"/healthz", nil, 200},
		{"/api/v1/fabrics", auth, 200},
		{"/api/v1/fabrics", nil, 401},
		{"/api/v1/jobs/nope", auth, 404},
		{"/nope.js", nil, 404},
		{"/monitoring/", auth, 200},
		{"/monitoring/api/queues", auth, 200},
		{"/monitoring/", nil, 401},
	} {
		rec := serve(e, "GET", tt.path, "", tt.headers...)
		if rec.Code != tt.status {
			t.Errorf("GET %s = %d; want %d", tt.path, rec.Code, tt.status)
		}
		h := rec.Header()
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("GET %s: %s = %q; want %q", tt.path, name, got, want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		if strings.HasPrefix(tt.path, "/monitoring") {
			for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "style-src 'self' 'unsafe-inline'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("GET %s: Content-Security-Policy = %q; want %s", tt.path, csp, want)
				}
			}
			if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
				t.Errorf("GET %s: Content-Security-Policy = %q; want inline scripts allowed by hash only", tt.path, csp)
			}
		} else if csp != uiPolicy {
			t.Errorf("GET %s: Content-Security-Policy = %q; want %q", tt.path, csp, uiPolicy)
		}
	}

	// Each inline script of Asynqmon's page is allowed by its hash, and nothing else inline.
	rec := serve(e, "GET", "/monitoring/", "", auth...)
	csp := rec.Header().Get("Content-Security-Policy")
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(rec.Body.String(), -1)
	if len(scripts) == 0 {
		t.Fatalf("GET /monitoring/ has no inline script; the test expects Asynqmon's page:\n%s", rec.Body)
	}
	for _, m := range scripts {
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, h) {
			t.Errorf("Content-Security-Policy of /monitoring/ = %q; want %s for the inline script %.80q", csp, h, m[1])
		}
	}
	if rec.Code != http.StatusOK {
		t.Errorf("GET /monitoring/ = %d", rec.Code)
	}
}
