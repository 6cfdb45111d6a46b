package config_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/config"
)

// logRecorder is a slog.Handler that keeps every record, for checking what was logged.
type logRecorder struct {
	mu   sync.Mutex
	recs []logLine
}

// logLine is the part of a slog.Record the tests compare.
type logLine struct {
	Level slog.Level
	Msg   string
	Err   string // the "err" attribute
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l := logLine{Level: r.Level, Msg: r.Message}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			l.Err = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	h.recs = append(h.recs, l)
	h.mu.Unlock()
	return nil
}

// take returns the records logged since the last call.
func (h *logRecorder) take() []logLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.recs
	h.recs = nil
	return out
}

// TestSourceStatus walks one fabrics file through valid, invalid, another invalid, the same
// invalid content touched, valid again, deleted and restored. At every step the Source is asked
// many times (as the API and the scheduler do), and the step's change must be logged exactly once.
func TestSourceStatus(t *testing.T) {
	const (
		good    = "fabrics:\n  - {name: a, repo: /r}\n"
		good2   = "fabrics:\n  - {name: a, repo: /r}\n  - {name: b, repo: /r}\n"
		unknown = "fabrics:\n  - name: a\n    repo: /r\n    colour: red\n"
		badPath = "fabrics:\n  - name: a\n    repo: /r\n  - name: b\n    repo: /r\n    path: ../x\n"
	)
	const (
		errUnknown = "line 4: field colour not found in type config.Fabric"
		errBadPath = `line 6: fabrics[1] (b): path: "../x" leaves the repository`
		stillBad   = "fabrics file invalid; still running the last good one"
		validAgain = "fabrics file valid again"
	)
	dir := t.TempDir()
	p := filepath.Join(dir, "fabsync.yaml")
	rel := filepath.Join(filepath.Base(dir), "fabsync.yaml") // the path as configured: relative
	t.Chdir(filepath.Dir(dir))

	t0 := time.Date(2025, 3, 1, 10, 42, 0, 0, time.UTC)
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	at := func(step int) time.Time { return t0.Add(time.Duration(step) * time.Minute) }
	mtime := t0.Add(-time.Hour)
	write := func(content string) {
		t.Helper()
		if content == "" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			return
		}
		mtime = mtime.Add(time.Second) // a new modification time even on coarse file systems
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}

	write(good)
	logs := &logRecorder{}
	s, err := config.NewSource(rel, config.SourceConfig{Logger: slog.New(logs), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Status(), (config.Status{Path: rel, OK: true, LastGood: t0}); got != want {
		t.Fatalf("Status after NewSource = %+v; want %+v", got, want)
	}

	tests := []struct {
		name     string
		content  string // "" deletes the file
		want     config.Status
		wantLogs []logLine
		fabrics  int // what Fabrics serves
	}{
		{"invalid", unknown,
			config.Status{Path: rel, Err: errUnknown, Since: at(1), LastGood: t0},
			[]logLine{{slog.LevelError, stillBad, errUnknown}}, 1},
		{"another invalid", badPath,
			config.Status{Path: rel, Err: errBadPath, Since: at(1), LastGood: t0},
			[]logLine{{slog.LevelError, stillBad, errBadPath}}, 1},
		{"same invalid content written again", badPath,
			config.Status{Path: rel, Err: errBadPath, Since: at(1), LastGood: t0},
			nil, 1},
		{"valid again", good2,
			config.Status{Path: rel, OK: true, LastGood: at(4)},
			[]logLine{{slog.LevelInfo, validAgain, ""}}, 2},
		{"valid, rewritten", good,
			config.Status{Path: rel, OK: true, LastGood: at(5)},
			nil, 1},
		{"deleted", "",
			config.Status{Path: rel, Err: "stat " + rel + ": no such file or directory", Since: at(6), LastGood: at(5)},
			[]logLine{{slog.LevelError, stillBad, "stat " + rel + ": no such file or directory"}}, 1},
		{"restored", good2,
			config.Status{Path: rel, OK: true, LastGood: at(7)},
			[]logLine{{slog.LevelInfo, validAgain, ""}}, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			now = at(i + 1)
			mu.Unlock()
			write(tt.content)
			// The first look at the change decides Since; later looks, at later times, change nothing.
			for range 5 {
				f, err := s.Load()
				if f == nil || (err == nil) != tt.want.OK {
					t.Fatalf("Load = %v, %v; want the last good file and an error only when invalid", f, err)
				}
				if err != nil && tt.content != "" && !errors.Is(err, config.ErrInvalid) {
					t.Errorf("Load error %v does not wrap ErrInvalid", err)
				}
				if n := len(s.Fabrics()); n != tt.fabrics {
					t.Errorf("Fabrics = %d fabrics; want %d", n, tt.fabrics)
				}
				if got := s.Status(); got != tt.want {
					t.Errorf("Status = %+v; want %+v", got, tt.want)
				}
				mu.Lock()
				now = now.Add(time.Second)
				mu.Unlock()
			}
			if diff := cmp.Diff(tt.wantLogs, logs.take()); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSourceStatusNoAbsolutePath checks that an error about a relative fabrics file names it as
// configured, not as an absolute path.
func TestSourceStatusNoAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("fabsync.yaml", []byte("fabrics: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := config.NewSource("fabsync.yaml", config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove("fabsync.yaml"); err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if st.OK || !strings.Contains(st.Err, "fabsync.yaml") || strings.Contains(st.Err, dir) {
		t.Errorf("Status = %+v; want an error naming fabsync.yaml but not %s", st, dir)
	}
}
