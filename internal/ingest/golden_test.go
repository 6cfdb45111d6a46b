package ingest_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/fabsync/fabsync/internal/goldentest"
	"github.com/fabsync/fabsync/internal/ingest"
)

// TestGolden runs Ingest on every case in testdata/ and compares everything
// it writes with testdata/<case>.golden.txtar.
//
// A case is either testdata/<case>.yaml, ingested as raw/<case>.yaml into an
// otherwise empty fabric folder, or testdata/<case>.txtar, a whole fabric
// folder (raw files, existing managed/ files, an old manifest...), one
// archive entry per file, named relative to the fabric root.
//
// The golden archive's comment holds the Result (counts, warnings, removed
// paths); it has one entry per file written. Every written resource file
// must also come out of Normalize unchanged. Run
// `go test ./internal/ingest -update` to rewrite the golden files.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	trees, err := filepath.Glob("testdata/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range trees {
		if !strings.HasSuffix(p, ".golden.txtar") {
			cases = append(cases, p)
		}
	}
	slices.Sort(cases)
	if len(cases) == 0 {
		t.Fatal("no golden cases in testdata/")
	}
	for _, tc := range cases {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(tc), ".yaml"), ".txtar")
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			if strings.HasSuffix(tc, ".txtar") {
				ar, err := txtar.ParseFile(tc)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range ar.Files {
					fsys[f.Name] = &fstest.MapFile{Data: f.Data}
				}
			} else {
				data, err := os.ReadFile(tc)
				if err != nil {
					t.Fatal(err)
				}
				fsys["raw/"+name+".yaml"] = &fstest.MapFile{Data: data}
			}
			w := newMemWriter()
			res, err := ingest.Ingest(t.Context(), fsys, testOpts, w)
			if err != nil {
				t.Fatalf("Ingest(%s) = %v; want success", tc, err)
			}
			checkWritten(t, w)
			checkIdempotent(t, w)
			all := slices.Sorted(maps.Keys(w.files))
			all = append(all, slices.Collect(maps.Keys(w.removed))...)
			slices.Sort(all)
			if diff := cmp.Diff(all, res.Written); diff != "" {
				t.Errorf("Result.Written differs from the Writer calls (-calls +Written):\n%s", diff)
			}
			got := txtar.Format(goldenArchive(res, w))
			goldentest.Check(t, strings.TrimSuffix(strings.TrimSuffix(tc, ".yaml"), ".txtar")+".golden.txtar", got, *update, "update")
		})
	}
}

// goldenArchive renders a Result and the written files as a txtar archive.
func goldenArchive(res *ingest.Result, w *memWriter) *txtar.Archive {
	var c strings.Builder
	fmt.Fprintf(&c, "files: %d\ndocuments: %d\ncreated: %d\nupdated: %d\nunchanged: %d\narchived: %d\n",
		res.Files, res.Documents, res.Created, res.Updated, res.Unchanged, res.Archived)
	c.WriteString("warnings:\n")
	for _, s := range res.Warnings {
		fmt.Fprintf(&c, "  - %s\n", s)
	}
	return writtenArchive(&c, w)
}

// writtenArchive finishes a golden archive: c, the header a test wrote, gets
// the list of removed files, and the archive holds every file w was handed.
func writtenArchive(c *strings.Builder, w *memWriter) *txtar.Archive {
	c.WriteString("removed:\n")
	for _, p := range slices.Sorted(maps.Keys(w.removed)) {
		fmt.Fprintf(c, "  - %s\n", p)
	}
	ar := &txtar.Archive{Comment: []byte(c.String())}
	for _, p := range slices.Sorted(maps.Keys(w.files)) {
		ar.Files = append(ar.Files, txtar.File{Name: p, Data: w.files[p]})
	}
	return ar
}
