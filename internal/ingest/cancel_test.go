package ingest_test

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/ingest"
)

// threeFiles is a fabric folder with three raw files of two documents.
func threeFiles() fstest.MapFS {
	return fstest.MapFS{
		"raw/a.yaml": file(sw("a1") + "---\n" + sw("a2")),
		"raw/b.yaml": file(sw("b1") + "---\n" + sw("b2")),
		"raw/c.yaml": file(sw("c1") + "---\n" + sw("c2")),
	}
}

// manyDocs is one raw file of n switch documents.
func manyDocs(n int) fstest.MapFS {
	var b strings.Builder
	for i := range n {
		b.WriteString("---\n" + sw("s-"+strconv.Itoa(i)))
	}
	return fstest.MapFS{"raw/many.yaml": file(b.String())}
}

// TestCanceled checks that Ingest stops at once when its context ends,
// returns an error wrapping the context's error, and writes nothing more.
func TestCanceled(t *testing.T) {
	t.Run("before start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		w := newMemWriter()
		res, err := ingest.Ingest(ctx, threeFiles(), testOpts, w)
		if !errors.Is(err, context.Canceled) || res != nil {
			t.Errorf("Ingest(canceled) = %+v, %v; want nil, an error wrapping context.Canceled", res, err)
		}
		if w.calls != 0 {
			t.Errorf("Ingest(canceled) made %d Writer calls; want none", w.calls)
		}
	})
	t.Run("deadline passed", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
		defer cancel()
		w := newMemWriter()
		_, err := ingest.Ingest(ctx, threeFiles(), testOpts, w)
		if !errors.Is(err, context.DeadlineExceeded) || w.calls != 0 {
			t.Errorf("Ingest(past deadline) = %v with %d Writer calls; want an error wrapping context.DeadlineExceeded and none", err, w.calls)
		}
	})

	// Canceled from Progress: the run stops before the next raw file.
	for _, tt := range []struct {
		at       string // the Progress call that cancels
		progress []string
		written  []string // what the Writer got, in order
	}{
		{
			at:       "validate 1/3",
			progress: []string{"validate 1/3"},
		},
		{
			at:       "validate 3/3",
			progress: []string{"validate 1/3", "validate 2/3", "validate 3/3"},
		},
		{
			at:       "write 1/3",
			progress: []string{"validate 1/3", "validate 2/3", "validate 3/3", "write 1/3"},
			written:  []string{"managed/switches/a1.yaml", "managed/switches/a2.yaml", ".hnp/archive/job-1/a.yaml.archived", "raw/a.yaml"},
		},
	} {
		t.Run("from Progress at "+tt.at, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var got []string
			opts := testOpts
			opts.Progress = func(phase string, done, total int) {
				s := phase + " " + strconv.Itoa(done) + "/" + strconv.Itoa(total)
				got = append(got, s)
				if s == tt.at {
					cancel()
				}
			}
			w := &recordingWriter{memWriter: newMemWriter()}
			res, err := ingest.Ingest(ctx, threeFiles(), opts, w)
			if !errors.Is(err, context.Canceled) || res != nil {
				t.Errorf("Ingest() canceled at %s = %+v, %v; want nil, an error wrapping context.Canceled", tt.at, res, err)
			}
			if diff := cmp.Diff(tt.progress, got); diff != "" {
				t.Errorf("Progress calls differ (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.written, w.names); diff != "" {
				t.Errorf("Writer calls differ (-want +got):\n%s", diff)
			}
		})
	}

	// Within one large raw file, the validation pass stops after a few
	// documents: Progress is never called for that file.
	t.Run("while validating a large file", func(t *testing.T) {
		for _, workers := range []int{1, 2} {
			ctx, cancel := context.WithCancel(t.Context())
			fsys := cancelOnOpen{FS: manyDocs(2000), name: "raw/many.yaml", cancel: cancel}
			opts := testOpts
			opts.Workers = workers
			var progress []string
			opts.Progress = func(phase string, done, total int) { progress = append(progress, phase) }
			w := newMemWriter()
			_, err := ingest.Ingest(ctx, fsys, opts, w)
			cancel()
			if !errors.Is(err, context.Canceled) || w.calls != 0 || len(progress) != 0 {
				t.Errorf("Workers=%d: Ingest() canceled while reading = %v, %d Writer calls, Progress %q; want context.Canceled, none, none",
					workers, err, w.calls, progress)
			}
		}
	})

	// Canceled from the Writer: no further file is written.
	t.Run("while writing a large file", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		w := &recordingWriter{memWriter: newMemWriter(), after: func() { cancel() }}
		_, err := ingest.Ingest(ctx, manyDocs(500), testOpts, w)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Ingest() canceled by the Writer = %v; want an error wrapping context.Canceled", err)
		}
		if len(w.names) != 1 {
			t.Errorf("Writer got %d calls after the first canceled the context: %q; want none", len(w.names)-1, w.names)
		}
	})
}

// recordingWriter is a memWriter that records the names it is handed and
// calls after, if set, after each call.
type recordingWriter struct {
	*memWriter
	names []string
	after func()
}

func (w *recordingWriter) WriteFile(name string, data []byte) error {
	w.names = append(w.names, name)
	defer w.done()
	return w.memWriter.WriteFile(name, data)
}

func (w *recordingWriter) Remove(name string) error {
	w.names = append(w.names, name)
	defer w.done()
	return w.memWriter.Remove(name)
}

func (w *recordingWriter) done() {
	if w.after != nil {
		w.after()
	}
}

// cancelOnOpen calls cancel when name is opened.
type cancelOnOpen struct {
	fs.FS
	name   string
	cancel context.CancelFunc
}

func (c cancelOnOpen) Open(name string) (fs.File, error) {
	if name == c.name {
		c.cancel()
	}
	return c.FS.Open(name)
}

func (c cancelOnOpen) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(c.FS, name) }
