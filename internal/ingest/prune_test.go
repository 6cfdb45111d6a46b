package ingest_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/fabsync/fabsync/internal/goldentest"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/validate"
)

// baseFabric builds the fabric every prune and drift case starts from:
// testdata/fabric/base.yaml ingested as raw/base.yaml by job-0, with the
// files Ingest wrote (resource files, archive, manifest, archive log).
func baseFabric(t testing.TB) fstest.MapFS {
	t.Helper()
	data, err := os.ReadFile("testdata/fabric/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"raw/base.yaml": &fstest.MapFile{Data: data}}
	opts := testOpts
	opts.JobID, opts.Commit = "job-0", "1111111111111111111111111111111111111111"
	opts.Time = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts.Validator = validate.Default()
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), fsys, opts, w)
	if err != nil {
		t.Fatalf("ingest the base fabric: %v", err)
	}
	if len(res.Problems) > 0 {
		t.Fatalf("the base fabric has warnings: %v", res.Warnings)
	}
	apply(fsys, w)
	return fsys
}

// removeByHand is the content of a hand/ file of a case that stands for
// removing the file.
const removeByHand = "REMOVE\n"

// runCases runs every case testdata/<dir>/*.txtar (not *.golden.txtar) and
// compares what Ingest did with testdata/<dir>/<case>.golden.txtar; run
// `go test ./internal/ingest -update` to rewrite those.
//
// A case starts from baseFabric. Its files named hand/<path> are then
// written to <path> as if by hand (content "REMOVE\n" removes <path>), and
// its other files are added as they are: the raw files of the sync. Its
// comment holds options, one "key: value" a line: "drift: <mode>" sets
// Options.Drift, "validator: none" runs without a validator (the default is
// validate.Default()).
//
// The golden archive's comment shows what Drifted finds before the sync,
// the Result (or the *ValidationError's problems, and then no Writer
// method may have been called) and the removed paths; its files are those
// written.
func runCases(t *testing.T, dir string) {
	cases, err := filepath.Glob(filepath.Join("testdata", dir, "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	cases = slices.DeleteFunc(cases, func(p string) bool { return strings.HasSuffix(p, ".golden.txtar") })
	if len(cases) == 0 {
		t.Fatalf("no cases in testdata/%s", dir)
	}
	for _, tc := range cases {
		name := strings.TrimSuffix(filepath.Base(tc), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(tc)
			if err != nil {
				t.Fatal(err)
			}
			fsys := baseFabric(t)
			for _, f := range ar.Files {
				p, hand := strings.CutPrefix(f.Name, "hand/")
				if hand && string(f.Data) == removeByHand {
					if _, ok := fsys[p]; !ok {
						t.Fatalf("hand/%s removes a file the base fabric does not have", p)
					}
					delete(fsys, p)
					continue
				}
				fsys[p] = &fstest.MapFile{Data: f.Data}
			}
			opts := testOpts
			opts.Validator = validate.Default()
			for line := range strings.Lines(string(ar.Comment)) {
				k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
				switch {
				case !ok:
				case k == "drift":
					opts.Drift = v
				case k == "validator" && v == "none":
					opts.Validator = nil
				}
			}
			got := runCase(t, fsys, opts)
			goldentest.Check(t, strings.TrimSuffix(tc, ".txtar")+".golden.txtar", got, *update, "update")
		})
	}
}

// runCase runs Drifted and Ingest on fsys and renders what they did.
func runCase(t *testing.T, fsys fstest.MapFS, opts ingest.Options) []byte {
	t.Helper()
	var c strings.Builder
	drifted, err := ingest.Drifted(fsys)
	if err != nil {
		t.Fatalf("Drifted = %v", err)
	}
	c.WriteString("drifted before:\n")
	for _, d := range drifted {
		if d.Action != "" {
			t.Errorf("Drifted gave action %q for %s; want none", d.Action, d.Path)
		}
		fmt.Fprintf(&c, "  - %s %s\n", d.Kind, d.Path)
	}
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), fsys, opts, w)
	var ve *ingest.ValidationError
	switch {
	case errors.As(err, &ve):
		if w.calls != 0 {
			t.Errorf("Ingest made %d Writer calls and returned %v", w.calls, err)
		}
		c.WriteString("validation error:\n")
		for _, p := range ve.Problems {
			fmt.Fprintf(&c, "  - [%s %s] %s\n", p.Severity, p.Rule, p)
		}
		c.WriteString("warnings:\n")
		for _, p := range ve.Warnings {
			fmt.Fprintf(&c, "  - [%s %s] %s\n", p.Severity, p.Rule, p)
		}
		return txtar.Format(&txtar.Archive{Comment: []byte(c.String())})
	case err != nil:
		t.Fatalf("Ingest = %v", err)
	}
	checkIdempotent(t, w)
	all := slices.Concat(slices.Collect(maps.Keys(w.files)), slices.Collect(maps.Keys(w.removed)))
	slices.Sort(all)
	if diff := cmp.Diff(all, res.Written); diff != "" {
		t.Errorf("Result.Written differs from the Writer calls (-calls +Written):\n%s", diff)
	}
	for p := range w.removed {
		top, _, _ := strings.Cut(p, "/")
		if top != "raw" && top != "managed" && top != "unmanaged" {
			t.Errorf("removed %s", p)
		}
	}
	fmt.Fprintf(&c, "files: %d\ndocuments: %d\ncreated: %d\nupdated: %d\nunchanged: %d\narchived: %d\ndeleted: %d\n",
		res.Files, res.Documents, res.Created, res.Updated, res.Unchanged, res.Archived, res.Deleted)
	c.WriteString("drift:\n")
	for _, d := range res.Drift {
		fmt.Fprintf(&c, "  - %s %s %s\n", d.Kind, d.Action, d.Path)
	}
	c.WriteString("problems:\n")
	for _, p := range res.Problems {
		fmt.Fprintf(&c, "  - [%s %s] %s\n", p.Severity, p.Rule, p)
	}
	c.WriteString("other warnings:\n")
	for _, s := range res.Warnings {
		if !slices.ContainsFunc(res.Problems, func(p ingest.Problem) bool { return p.String() == s }) {
			fmt.Fprintf(&c, "  - %s\n", s)
		}
	}
	return txtar.Format(writtenArchive(&c, w))
}

// TestPrune runs the cases in testdata/prune: delete documents
// (DeleteAnnotation).
func TestPrune(t *testing.T) { runCases(t, "prune") }

// TestPruneThenIngestAgain: after a delete, the fabric has no drift, and
// the deleted resource can be created again by a later sync.
func TestPruneThenIngestAgain(t *testing.T) {
	fsys := baseFabric(t)
	fsys["raw/delete.yaml"] = &fstest.MapFile{Data: []byte(`apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-02--unbundled--leaf-01
  annotations:
    fabsync.githedgehog.com/delete: "true"
`)}
	opts := testOpts
	opts.Validator = validate.Default()
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), fsys, opts, w)
	if err != nil {
		t.Fatal(err)
	}
	const p = "managed/connections/server-02--unbundled--leaf-01.yaml"
	if res.Deleted != 1 || !w.removed[p] || len(res.Drift) != 0 || len(res.Problems) != 0 {
		t.Fatalf("Deleted %d, removed %v, drift %v, problems %v; want %s removed, nothing else", res.Deleted, w.removed, res.Drift, res.Problems, p)
	}
	old := fsys[p].Data
	apply(fsys, w)
	if d, err := ingest.Drifted(fsys); err != nil || len(d) != 0 {
		t.Fatalf("Drifted after the delete = %v, %v; want none", d, err)
	}
	if strings.Contains(string(fsys[ingest.ManifestPath].Data), p) {
		t.Errorf("the manifest still lists %s:\n%s", p, fsys[ingest.ManifestPath].Data)
	}
	fsys["raw/again.yaml"] = &fstest.MapFile{Data: old}
	opts.JobID = "job-2"
	w = newMemWriter()
	res, err = ingest.Ingest(t.Context(), fsys, opts, w)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || !bytes.Equal(w.files[p], old) || len(res.Drift) != 0 {
		t.Errorf("Created %d, drift %v; want %s created again as it was", res.Created, res.Drift, p)
	}
}

// TestDeleteDocumentNotChecked: a delete document needs only apiVersion,
// kind and metadata; its identity is checked like any other.
func TestDeleteDocumentNotChecked(t *testing.T) {
	for _, tt := range []struct{ name, doc, want string }{
		{"bad name", "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: Leaf_1\n  annotations: {fabsync.githedgehog.com/delete: \"true\"}\n", `metadata.name "Leaf_1" is not a valid DNS-1123 subdomain`},
		{"no kind", "apiVersion: wiring.githedgehog.com/v1beta1\nmetadata:\n  name: leaf-01\n  annotations: {fabsync.githedgehog.com/delete: \"true\"}\n", "kind is missing"},
		{"false", "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-01\n  annotations: {fabsync.githedgehog.com/delete: \"false\"}\n", `annotation fabsync.githedgehog.com/delete is the string "false"; set it to "true" to delete this resource, or remove it`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := baseFabric(t)
			fsys["raw/delete.yaml"] = &fstest.MapFile{Data: []byte(tt.doc)}
			opts := testOpts
			opts.Validator = validate.Default()
			w := newMemWriter()
			_, err := ingest.Ingest(t.Context(), fsys, opts, w)
			var ve *ingest.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.want) || w.calls != 0 {
				t.Fatalf("Ingest = %v (%d Writer calls); want a ValidationError containing %q", err, w.calls, tt.want)
			}
		})
	}
}
