package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

func writeFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newTestServer builds the server on a Redis of its own (redistest) and the given Source.
func newTestServer(t testing.TB, src *config.Source) *echo.Echo {
	t.Helper()
	e, _ := newTestServerWith(t, Config{Fabrics: src})
	return e
}

// newTestServerWith builds the server from cfg on a Redis of its own (redistest), filling in
// Service, Redis and Logger, and returns the Service too.
func newTestServerWith(t testing.TB, cfg Config) (*echo.Echo, *tasks.Service) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	rdb, err := tasks.OpenRedis(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	cfg.Service, cfg.Redis, cfg.Logger = tasks.NewService(rdb), rdb, slog.New(slog.DiscardHandler)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, cfg.Service
}

// newSource writes a fabrics file with content and returns its Source.
func newSource(t testing.TB, content string) *config.Source {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fabsync.yaml")
	writeFile(t, p, content)
	src, err := config.NewSource(p, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// serve serves one request built by httptest.NewRequest, with headers as name, value pairs.
func serve(e *echo.Echo, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// get serves one GET request and returns the recorded response.
func get(e *echo.Echo, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}
