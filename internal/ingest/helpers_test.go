package ingest_test

import (
	"flag"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fabsync/fabsync/internal/ingest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Fixed options for reproducible output.
var testOpts = ingest.Options{
	JobID:  "job-1",
	Commit: "0123456789abcdef0123456789abcdef01234567",
	Time:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
}

// memWriter records what Ingest writes.
type memWriter struct {
	files   map[string][]byte
	removed map[string]bool
	calls   int
	fail    func(name string) error // if set, the error for a call
}

func newMemWriter() *memWriter {
	return &memWriter{files: map[string][]byte{}, removed: map[string]bool{}}
}

func (w *memWriter) WriteFile(name string, data []byte) error {
	w.calls++
	if w.fail != nil {
		if err := w.fail(name); err != nil {
			return err
		}
	}
	w.files[name] = slices.Clone(data)
	delete(w.removed, name)
	return nil
}

func (w *memWriter) Remove(name string) error {
	w.calls++
	if w.fail != nil {
		if err := w.fail(name); err != nil {
			return err
		}
	}
	w.removed[name] = true
	delete(w.files, name)
	return nil
}

// checkWritten fails t if any path handed to the Writer is not a clean,
// relative path inside the fabric folder, where ingest may write, or has an
// element over 255 bytes.
func checkWritten(t testing.TB, w *memWriter) {
	t.Helper()
	for _, p := range slices.Concat(slices.Collect(maps.Keys(w.files)), slices.Collect(maps.Keys(w.removed))) {
		if !fs.ValidPath(p) || path.Clean(p) != p || strings.Contains(p, "\\") || strings.HasPrefix(p, "../") {
			t.Errorf("Writer got unsafe path %q", p)
		}
		checkNameLengths(t, p)
		top, _, _ := strings.Cut(p, "/")
		switch top {
		case "managed", "unmanaged", ".hnp", "raw":
		default:
			t.Errorf("Writer got path %q outside managed/, unmanaged/, .hnp/ and raw/", p)
		}
	}
	for p := range w.removed {
		if !strings.HasPrefix(p, "raw/") {
			t.Errorf("removed %q, outside raw/", p)
		}
	}
}

// checkIdempotent fails t if a written resource file changes when
// normalized again.
func checkIdempotent(t testing.TB, w *memWriter) {
	t.Helper()
	for p, data := range w.files {
		if !strings.HasPrefix(p, "managed/") && !strings.HasPrefix(p, "unmanaged/") {
			continue
		}
		again, err := ingest.Normalize(data)
		if err != nil {
			t.Errorf("Normalize(%s) = %v; want no error", p, err)
			continue
		}
		if string(again) != string(data) {
			t.Errorf("Normalize(%s) changed the file:\n--- written\n%s\n--- normalized again\n%s", p, data, again)
		}
	}
}

// checkNameLengths fails t if an element of p is over the 255-byte limit
// of file systems or not valid UTF-8.
func checkNameLengths(t testing.TB, p string) {
	t.Helper()
	for el := range strings.SplitSeq(p, "/") {
		if len(el) > 255 {
			t.Errorf("Writer got %s, with an element of %d bytes; want at most 255", p, len(el))
		}
	}
	if !utf8.ValidString(p) {
		t.Errorf("Writer got %q, not valid UTF-8", p)
	}
}

// concurrentWriter is a memWriter that may be called from several goroutines at once, so that
// Ingest writes with it in parallel (ingest.ConcurrentWriter).
type concurrentWriter struct {
	mu sync.Mutex
	w  *memWriter
}

func (c *concurrentWriter) WriteFile(name string, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.WriteFile(name, data)
}

func (c *concurrentWriter) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Remove(name)
}

func (c *concurrentWriter) ConcurrentWrites() {}
