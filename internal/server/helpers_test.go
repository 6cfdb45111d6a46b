package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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
	if testing.Short() {
		t.Skip("needs redis-server")
	}
	rdb, err := tasks.OpenRedis(redistest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	e, err := New(Config{Service: tasks.NewService(rdb), Redis: rdb, Fabrics: src, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// get serves one GET request and returns the recorded response.
func get(e *echo.Echo, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}
