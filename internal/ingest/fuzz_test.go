package ingest_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fabsync/fabsync/internal/ingest"
)

// FuzzNormalize checks that Normalize never panics and is idempotent. The
// seed corpus is in testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(sw("a") + "spec: {b: [1, 2]} # c\n"))
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := ingest.Normalize(doc)
		if err != nil {
			return
		}
		if len(out) == 0 || out[len(out)-1] != '\n' {
			t.Fatalf("Normalize(%q) = %q; want a trailing newline", doc, out)
		}
		again, err := ingest.Normalize(out)
		if err != nil {
			t.Fatalf("Normalize(Normalize(%q)) = %v; want no error (first output %q)", doc, err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("Normalize is not idempotent for %q:\nfirst:  %q\nsecond: %q", doc, out, again)
		}
	})
}

// FuzzIngest checks that Ingest never panics, never writes outside the
// fabric folder, writes nothing when it reports problems, and writes
// idempotent resource files. The seed corpus is in testdata/fuzz/FuzzIngest.
func FuzzIngest(f *testing.F) {
	f.Add([]byte(sw("a") + "---\n" + sw("b")))
	f.Add([]byte("apiVersion: v1\nkind: X\nmetadata:\n  name: ../../etc\n"))
	// File names that must be shortened.
	f.Add([]byte(sw(strings.Repeat("a", 253)) + "---\n" + sw(strings.Repeat("a", 252)+"b")))
	f.Add([]byte("apiVersion: v1\nkind: X\nmetadata:\n  name: " + strings.Repeat("n.", 95) + "n\n  namespace: " + strings.Repeat("s", 63) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The same bytes as a file, and split in two files, one nested.
		half := len(data) / 2
		fsys := fstest.MapFS{
			"raw/in.yaml":     &fstest.MapFile{Data: data},
			"raw/sub/b.yml":   &fstest.MapFile{Data: data[half:]},
			"managed/x/.keep": &fstest.MapFile{},
		}
		opts := testOpts
		opts.Workers = 2
		opts.Limits = ingest.Limits{MaxAliasExpansion: 1000, MaxDocuments: 200}
		w := newMemWriter()
		res, err := ingest.Ingest(t.Context(), fsys, opts, w)
		var ve *ingest.ValidationError
		switch {
		case errors.As(err, &ve):
			if w.calls != 0 {
				t.Fatalf("Ingest made %d Writer calls and returned %v", w.calls, err)
			}
			if len(ve.Problems) == 0 {
				t.Fatal("ValidationError without problems")
			}
			for _, p := range ve.Problems {
				if !strings.HasPrefix(p.File, "raw/") || p.Document < 0 || p.Line < 0 || p.Column < 0 || p.Message == "" {
					t.Fatalf("ill-formed problem %+v", p)
				}
			}
			_ = ve.Error()
			return
		case err != nil:
			t.Fatalf("Ingest() = %v; want success or *ValidationError", err)
		}
		checkWritten(t, w)
		checkIdempotent(t, w)
		resources := 0
		for p := range w.files {
			if strings.HasPrefix(p, "managed/") || strings.HasPrefix(p, "unmanaged/") {
				resources++
			}
		}
		if res.Files != 2 || res.Created != res.Documents || resources != res.Documents {
			t.Fatalf("Files %d, Documents %d, Created %d, resource files %d; want 2 files and one new file per document",
				res.Files, res.Documents, res.Created, resources)
		}
	})
}
