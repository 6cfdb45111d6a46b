package ingest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fabsync/fabsync/internal/ingest"
)

// streamWriter is a memWriter that also takes files in pieces (ingest.StreamWriter).
type streamWriter struct {
	*memWriter
	streamed []string
	failAt   int // with a piece count > 0, the write of that piece fails
}

type pieceWriter struct {
	w      *streamWriter
	name   string
	buf    bytes.Buffer
	pieces int
}

func (w *streamWriter) CreateFile(name string) (io.WriteCloser, error) {
	w.streamed = append(w.streamed, name)
	return &pieceWriter{w: w, name: name}, nil
}

func (p *pieceWriter) Write(b []byte) (int, error) {
	p.pieces++
	if p.w.failAt > 0 && p.pieces == p.w.failAt {
		return 0, errors.New("disk full")
	}
	return p.buf.Write(b)
}

func (p *pieceWriter) Close() error { return p.w.WriteFile(p.name, p.buf.Bytes()) }

// TestStreamedManifest: through a StreamWriter the manifest is written in pieces, byte for
// byte what a plain Writer gets whole, and listed in Written as before; a failed piece fails
// the ingest naming the manifest.
func TestStreamedManifest(t *testing.T) {
	var docs []string
	for i := range 3000 { // a manifest of several of the writer's 64 KiB pieces
		docs = append(docs, sw(fmt.Sprintf("s%04d", i)))
	}
	tree := fstest.MapFS{"raw/a.yaml": file(strings.Join(docs, "---\n"))}
	plain := newMemWriter()
	want, err := ingest.Ingest(t.Context(), tree, testOpts, plain)
	if err != nil {
		t.Fatal(err)
	}
	sw := &streamWriter{memWriter: newMemWriter()}
	got, err := ingest.Ingest(t.Context(), tree, testOpts, sw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sw.streamed, []string{ingest.ManifestPath}) {
		t.Fatalf("streamed %q; want only the manifest", sw.streamed)
	}
	if m := sw.files[ingest.ManifestPath]; len(m) < 3*64<<10 || !bytes.Equal(m, plain.files[ingest.ManifestPath]) {
		t.Fatalf("streamed manifest: %d bytes, equal to the whole one: %v", len(m), bytes.Equal(m, plain.files[ingest.ManifestPath]))
	}
	if !slices.Equal(got.Written, want.Written) || len(sw.files) != len(plain.files) {
		t.Fatalf("Written differs: %d files against %d", len(sw.files), len(plain.files))
	}

	failing := &streamWriter{memWriter: newMemWriter(), failAt: 2}
	if _, err := ingest.Ingest(t.Context(), tree, testOpts, failing); err == nil || !strings.Contains(err.Error(), ingest.ManifestPath) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("ingest with a failing manifest write = %v; want an error naming %s", err, ingest.ManifestPath)
	}
}
