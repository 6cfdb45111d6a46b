package ingest_test

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/ingest"
)

func TestNothingToIngest(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"empty fabric folder", fstest.MapFS{}},
		{"no raw folder", fstest.MapFS{"managed/vpcs/v.yaml": file("x: 1\n")}},
		{"only non-YAML and hidden files", fstest.MapFS{
			"raw/.gitkeep":    file(""),
			"raw/README.md":   file("drop files here"),
			"raw/.draft.yaml": file(sw("draft")),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newMemWriter()
			res, err := ingest.Ingest(t.Context(), tt.fsys, testOpts, w)
			if err != nil {
				t.Fatalf("Ingest() = %v; want nil", err)
			}
			if diff := cmp.Diff(&ingest.Result{}, res); diff != "" {
				t.Errorf("Ingest() result differs from zero (-want +got):\n%s", diff)
			}
			if w.calls != 0 {
				t.Errorf("Ingest() made %d Writer calls; want none", w.calls)
			}
		})
	}
}

func TestInvalidJobID(t *testing.T) {
	for _, id := range []string{"", "../x", "a/b", ".hidden", "a b", strings.Repeat("x", 129)} {
		opts := testOpts
		opts.JobID = id
		w := newMemWriter()
		_, err := ingest.Ingest(t.Context(), fstest.MapFS{"raw/a.yaml": file(sw("a"))}, opts, w)
		if !errors.Is(err, ingest.ErrInvalidOptions) {
			t.Errorf("Ingest(JobID %q) = %v; want ErrInvalidOptions", id, err)
		}
		if w.calls != 0 {
			t.Errorf("Ingest(JobID %q) made %d Writer calls; want none", id, w.calls)
		}
	}
}

func TestWriterErrorIsWrapped(t *testing.T) {
	errDisk := errors.New("disk full")
	for _, failOn := range []string{"managed/switches/a.yaml", ".hnp/archive/job-1/a.yaml.archived", "raw/a.yaml", ".hnp/manifest.yaml", ".hnp/archive-log.yaml", "raw/.gitkeep"} {
		w := newMemWriter()
		w.fail = func(name string) error {
			if name == failOn {
				return errDisk
			}
			return nil
		}
		res, err := ingest.Ingest(t.Context(), fstest.MapFS{"raw/a.yaml": file(sw("a"))}, testOpts, w)
		if !errors.Is(err, errDisk) || res != nil {
			t.Errorf("Ingest() with a Writer failing on %s = %v, %v; want nil, an error wrapping %v", failOn, res, err, errDisk)
		}
		if err != nil && !strings.Contains(err.Error(), failOn) {
			t.Errorf("Ingest() error %q does not name %s", err, failOn)
		}
	}
}

// TestLineEndingsAndBOM checks that CRLF, lone CR and a UTF-8 BOM give the
// same resource files as LF.
func TestLineEndingsAndBOM(t *testing.T) {
	lf := "# header\n" + sw("a") + "spec:\n  description: |\n    two\n    lines\n---\n" + sw("b") + "...\n"
	variants := map[string]string{
		"crlf":     strings.ReplaceAll(lf, "\n", "\r\n"),
		"cr":       strings.ReplaceAll(lf, "\n", "\r"),
		"bom":      "\xEF\xBB\xBF" + lf,
		"bom+crlf": "\xEF\xBB\xBF" + strings.ReplaceAll(lf, "\n", "\r\n"),
	}
	want := resources(t, fstest.MapFS{"raw/a.yaml": file(lf)})
	if len(want) != 2 {
		t.Fatalf("LF input gave %d resource files; want 2", len(want))
	}
	for name, data := range variants {
		got := resources(t, fstest.MapFS{"raw/a.yaml": file(data)})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s input: resource files differ from LF input (-lf +%s):\n%s", name, name, diff)
		}
	}
	// The archive copy keeps the original bytes.
	w := newMemWriter()
	if _, err := ingest.Ingest(t.Context(), fstest.MapFS{"raw/a.yaml": file(variants["bom+crlf"])}, testOpts, w); err != nil {
		t.Fatal(err)
	}
	if got := w.files[".hnp/archive/job-1/a.yaml.archived"]; string(got) != variants["bom+crlf"] {
		t.Errorf("archive copy = %q; want the raw bytes %q", got, variants["bom+crlf"])
	}
}

// resources ingests fsys and returns the resource files written.
func resources(t *testing.T, fsys fstest.MapFS) map[string]string {
	t.Helper()
	w := newMemWriter()
	if _, err := ingest.Ingest(t.Context(), fsys, testOpts, w); err != nil {
		t.Fatalf("Ingest() = %v", err)
	}
	out := map[string]string{}
	for p, d := range w.files {
		if strings.HasPrefix(p, "managed/") || strings.HasPrefix(p, "unmanaged/") {
			out[p] = string(d)
		}
	}
	return out
}

// TestDeterministic checks that the output does not depend on the number
// of workers.
func TestDeterministic(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		if i > 0 {
			b.WriteString("---\n")
		}
		b.WriteString(sw("leaf-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + itoa(i)))
	}
	fsys := fstest.MapFS{"raw/a.yaml": file(b.String()), "raw/b/c.yaml": file(sw("other"))}
	var first map[string][]byte
	for _, workers := range []int{1, 2, 3, 8} {
		opts := testOpts
		opts.Workers = workers
		w := newMemWriter()
		res, err := ingest.Ingest(t.Context(), fsys, opts, w)
		if err != nil {
			t.Fatal(err)
		}
		if res.Documents != 201 || res.Created != 201 {
			t.Errorf("Workers=%d: Documents, Created = %d, %d; want 201, 201", workers, res.Documents, res.Created)
		}
		if first == nil {
			first = w.files
			continue
		}
		if !maps.EqualFunc(first, w.files, bytes.Equal) {
			t.Errorf("Workers=%d: output differs from Workers=1", workers)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSecondIngestIsUnchanged ingests, applies the writes, puts the same raw
// files back and ingests again: every resource is Unchanged and nothing but
// the bookkeeping files is written.
func TestSecondIngestIsUnchanged(t *testing.T) {
	raw := fstest.MapFS{
		"raw/a.yaml":  file("# banner\n" + sw("a") + "spec: {x: [1, 2]}\n---\n" + sw("b")),
		"raw/gw.yaml": file("apiVersion: gateway.githedgehog.com/v1alpha1\nkind: Gateway\nmetadata:\n  name: g\n  namespace: ns\n"),
	}
	tree := fstest.MapFS{}
	maps.Copy(tree, raw)
	w := newMemWriter()
	if _, err := ingest.Ingest(t.Context(), tree, testOpts, w); err != nil {
		t.Fatal(err)
	}
	apply(tree, w)
	maps.Copy(tree, raw)
	opts := testOpts
	opts.JobID = "job-2"
	w2 := newMemWriter()
	res, err := ingest.Ingest(t.Context(), tree, opts, w2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || res.Updated != 0 || res.Unchanged != 3 {
		t.Errorf("second Ingest() Created, Updated, Unchanged = %d, %d, %d; want 0, 0, 3", res.Created, res.Updated, res.Unchanged)
	}
	for _, p := range res.Written {
		if strings.HasPrefix(p, "managed/") || strings.HasPrefix(p, "unmanaged/") {
			t.Errorf("second Ingest() wrote %s; want unchanged files left alone", p)
		}
	}
	log := string(w2.files[".hnp/archive-log.yaml"])
	if !strings.HasPrefix(log, string(tree[".hnp/archive-log.yaml"].Data)) || strings.Count(log, "- job: ") != 2 {
		t.Errorf("archive log was not appended to:\n%s", log)
	}
}

func apply(tree fstest.MapFS, w *memWriter) {
	for p, d := range w.files {
		tree[p] = &fstest.MapFile{Data: d}
	}
	for p := range w.removed {
		delete(tree, p)
	}
}

func TestValidationErrorString(t *testing.T) {
	e := &ingest.ValidationError{Problems: []ingest.Problem{
		{File: "raw/a.yaml", Document: 2, Line: 14, Column: 3, Message: "first"},
		{File: "raw/b.yaml", Message: "second"},
		{File: "raw/c.yaml", Document: 1, Line: 3, Message: "third"},
	}}
	want := "3 problems in raw files: raw/a.yaml:14:3 document 2: first; raw/b.yaml: second; raw/c.yaml:3 document 1: third"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	many := &ingest.ValidationError{}
	for range 12 {
		many.Problems = append(many.Problems, ingest.Problem{File: "raw/x.yaml", Message: "m"})
	}
	if got := many.Error(); !strings.HasPrefix(got, "12 problems in raw files: ") || !strings.HasSuffix(got, "; and 2 more") {
		t.Errorf("Error() = %q; want 12 problems, ten spelled out", got)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		s    string
		name bool
		ns   bool
	}{
		{"leaf-01", true, true},
		{"a.b.c", true, false},
		{"Leaf_1", false, false},
		{"-a", false, false},
		{"a-", false, false},
		{"a..b", false, false},
		{"", false, false},
		{"../etc", false, false},
		{strings.Repeat("a", 63), true, true},
		{strings.Repeat("a", 64), true, false}, // like Kubernetes, no per-label limit in a subdomain
		{strings.Repeat("a.", 126) + "a", true, false},
		{strings.Repeat("a.", 127) + "a", false, false},
	}
	for _, tt := range tests {
		if got := ingest.ValidName(tt.s); got != tt.name {
			t.Errorf("ValidName(%q) = %v; want %v", tt.s, got, tt.name)
		}
		if got := ingest.ValidNamespace(tt.s); got != tt.ns {
			t.Errorf("ValidNamespace(%q) = %v; want %v", tt.s, got, tt.ns)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{
			name: "key order and dropped fields",
			in:   "status: {}\nspec: {a: 1}\nmetadata: {uid: x, name: n, labels: {l: v}}\nkind: K\napiVersion: v1\n",
			want: "apiVersion: v1\nkind: K\nmetadata:\n  name: n\n  labels:\n    l: v\nspec:\n  a: 1\n",
		},
		{
			name: "CRLF and BOM",
			in:   "\xEF\xBB\xBFa: 1\r\nb:\r\n  - c\r\n",
			want: "a: 1\nb:\n  - c\n",
		},
		{
			name: "not a resource is still normalized",
			in:   "[1, {a: b}]",
			want: "- 1\n- a: b\n",
		},
		{name: "empty", in: "# only a comment\n", err: ingest.ErrEmpty},
		{name: "null", in: "---\n~\n", err: ingest.ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ingest.Normalize([]byte(tt.in))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Normalize(%q) = %q, %v; want %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			again, err := ingest.Normalize(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Errorf("Normalize(Normalize(%q)) = %q, %v; want %q", tt.in, again, err, got)
			}
		})
	}
	for _, in := range []string{"a: 1\n---\nb: 2\n", "a: [\n", "a: *x\n"} {
		if got, err := ingest.Normalize([]byte(in)); err == nil {
			t.Errorf("Normalize(%q) = %q, nil; want an error", in, got)
		}
	}
}

func TestWrittenIsSorted(t *testing.T) {
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), fstest.MapFS{"raw/z.yaml": file(sw("b")), "raw/a.yaml": file(sw("a"))}, testOpts, w)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(res.Written) {
		t.Errorf("Written = %q; want sorted", res.Written)
	}
}

func TestProgress(t *testing.T) {
	fsys := fstest.MapFS{
		"raw/a.yaml":    file(sw("a")),
		"raw/b.yaml":    file(sw("b")),
		"raw/sub/c.yml": file(sw("c")),
		"raw/README.md": file("not counted"),
	}
	var got []string
	opts := testOpts
	opts.Progress = func(phase string, done, total int) {
		got = append(got, phase+" "+strconv.Itoa(done)+"/"+strconv.Itoa(total))
	}
	if _, err := ingest.Ingest(t.Context(), fsys, opts, newMemWriter()); err != nil {
		t.Fatal(err)
	}
	want := []string{"validate 1/3", "validate 2/3", "validate 3/3", "write 1/3", "write 2/3", "write 3/3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Progress calls differ (-want +got):\n%s", diff)
	}
}

func TestPending(t *testing.T) {
	tests := []struct {
		name string
		fsys fstest.MapFS
		want bool
	}{
		{"no raw folder", fstest.MapFS{"managed/vpcs/v.yaml": file("x: 1\n")}, false},
		{"only non-YAML and hidden files", fstest.MapFS{"raw/.gitkeep": file(""), "raw/README.md": file("x"), "raw/.d.yaml": file(sw("d"))}, false},
		{"a YAML file deep down", fstest.MapFS{"raw/a/b/c.YML": file(sw("c"))}, true},
		{"a symbolic link", fstest.MapFS{"raw/x": &fstest.MapFile{Mode: fs.ModeSymlink}}, true},
	}
	for _, tt := range tests {
		got, err := ingest.Pending(tt.fsys)
		if err != nil || got != tt.want {
			t.Errorf("%s: Pending = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// TestConcurrentWrites: with a Writer that allows it, resource files are written on several
// goroutines; the Result (every count, the order of Written and Kept) and the files are those
// of a one-at-a-time Writer, with files created, updated, kept and deleted in one run.
func TestConcurrentWrites(t *testing.T) {
	raw := benchdata.File(0, 120)
	half := bytes.Index(raw[len(raw)/2:], []byte("---\n")) + len(raw)/2
	fsys := fstest.MapFS{
		"raw/a.yaml":  &fstest.MapFile{Data: raw[:half]},
		"raw/b.yaml":  &fstest.MapFile{Data: raw[half:]},
		"raw/del.yml": &fstest.MapFile{Data: []byte("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: old-leaf\n  annotations:\n    " + ingest.DeleteAnnotation + ": \"true\"\n")},
		// Kept as it is, and updated.
		"managed/servers/server-000-00000.yaml": &fstest.MapFile{Data: mustNormalize(t, benchdata.Doc(0, 0))},
		"managed/servers/server-000-00003.yaml": &fstest.MapFile{Data: []byte("stale\n")},
		"managed/switches/old-leaf.yaml":        &fstest.MapFile{Data: []byte("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: old-leaf\n")},
	}
	opts := testOpts
	opts.Workers = 4
	serial := newMemWriter()
	want, err := ingest.Ingest(t.Context(), fsys, opts, serial)
	if err != nil {
		t.Fatal(err)
	}
	par := &concurrentWriter{w: newMemWriter()}
	got, err := ingest.Ingest(t.Context(), fsys, opts, par)
	if err != nil {
		t.Fatal(err)
	}
	if want.Created != 118 || want.Updated != 1 || want.Unchanged != 1 || want.Deleted != 1 {
		t.Fatalf("serial ingest: %d created, %d updated, %d unchanged, %d deleted; want 118, 1, 1, 1", want.Created, want.Updated, want.Unchanged, want.Deleted)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Result with a concurrent Writer (-serial +concurrent):\n%s", diff)
	}
	if diff := cmp.Diff(serial.files, par.w.files); diff != "" {
		t.Errorf("files written (-serial +concurrent):\n%s", diff)
	}
	if diff := cmp.Diff(serial.removed, par.w.removed); diff != "" {
		t.Errorf("files removed (-serial +concurrent):\n%s", diff)
	}
}

func mustNormalize(t *testing.T, doc string) []byte {
	t.Helper()
	out, err := ingest.Normalize([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
