package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/fabsync/fabsync/internal/fabricdir"
	"github.com/fabsync/fabsync/internal/ingest"
)

// TestRecordingWriter: the dry run's writer records each resource file's bytes before and
// after (nil for a file that did not exist and for one removed), lets every write happen, and
// records nothing outside managed/ and unmanaged/.
func TestRecordingWriter(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"managed/vpcs/a.yaml":    "old a\n",
		"managed/vpcs/gone.yaml": "gone\n",
		"unmanaged/x/empty.yaml": "",
		".hnp/manifest.yaml":     "m\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	rec := &recorder{}
	w := recordingWriter{w: fabricdir.Writer{Root: root}, rec: rec}
	steps := []func() error{
		func() error { return w.WriteFile("managed/vpcs/a.yaml", []byte("new a\n")) },
		func() error { return w.WriteFile("managed/vpcs/a.yaml", []byte("newer a\n")) }, // the first old bytes stay
		func() error { return w.WriteFile("managed/switches/b.yaml", []byte("b\n")) },
		func() error { return w.Remove("managed/vpcs/gone.yaml") },
		func() error { return w.WriteFile("unmanaged/x/empty.yaml", []byte("now\n")) },
		func() error { return w.WriteFile("managed/tmp/c.yaml", []byte("c\n")) },
		func() error { return w.Remove("managed/tmp/c.yaml") }, // never there
		func() error { return w.WriteFile(".hnp/manifest.yaml", []byte("m2\n")) },
		func() error { return w.WriteFile("raw/.gitkeep", nil) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := w.WriteFile("../escape.yaml", []byte("x")); err == nil {
		t.Fatal("a write outside the fabric folder was let through")
	}
	type change struct{ old, new *string }
	s := func(v string) *string { return &v }
	want := map[string]change{
		"managed/switches/b.yaml": {nil, s("b\n")},
		"managed/vpcs/a.yaml":     {s("old a\n"), s("newer a\n")},
		"managed/vpcs/gone.yaml":  {s("gone\n"), nil},
		"unmanaged/x/empty.yaml":  {s(""), s("now\n")},
	}
	got := rec.list()
	if len(got) != len(want) {
		t.Fatalf("recorded %d changes: %+v; want %d", len(got), got, len(want))
	}
	for i, c := range got {
		if i > 0 && got[i-1].Path >= c.Path {
			t.Errorf("changes not sorted by path: %s before %s", got[i-1].Path, c.Path)
		}
		w, ok := want[c.Path]
		if !ok {
			t.Errorf("recorded %s, which is not a resource file ingest changed", c.Path)
			continue
		}
		for _, side := range []struct {
			name string
			got  []byte
			want *string
		}{{"old", c.Old, w.old}, {"new", c.New, w.new}} {
			if (side.got == nil) != (side.want == nil) || (side.want != nil && string(side.got) != *side.want) {
				t.Errorf("%s: %s bytes = %q (nil %v); want %v", c.Path, side.name, side.got, side.got == nil, side.want)
			}
		}
	}
	// Every write happened in the folder.
	for name, data := range map[string]string{"managed/vpcs/a.yaml": "newer a\n", "managed/switches/b.yaml": "b\n", ".hnp/manifest.yaml": "m2\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(b) != data {
			t.Errorf("%s = %q, %v; want %q", name, b, err, data)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "managed/vpcs/gone.yaml")); !os.IsNotExist(err) {
		t.Errorf("removed file still there: %v", err)
	}
}

// TestChangesPastTheLimit: a real run's recorder stops keeping bytes at its limit; the job's
// changes list every file of ingest's Result all the same, the recorded ones with a diff and
// the others without (truncated), with counts and a summary from the Result.
func TestChangesPastTheLimit(t *testing.T) {
	root, err := os.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	rec := &recorder{limit: 10}
	w := recordingWriter{w: fabricdir.Writer{Root: root}, rec: rec}
	res := &ingest.Result{Unchanged: 4}
	for _, name := range []string{"managed/vpcs/a.yaml", "managed/vpcs/b.yaml", "managed/vpcs/c.yaml"} {
		data := []byte("kind: VPC\nmetadata: {name: x}\n")
		if err := w.WriteFile(name, data); err != nil {
			t.Fatal(err)
		}
		res.Changes = append(res.Changes, ingest.FileChange{Path: name, Action: ingest.ChangeCreated, Sum: sha256.Sum256(data)})
	}
	if !rec.full || len(rec.list()) != 1 {
		t.Fatalf("recorder kept %d files (full %v); want 1, then full", len(rec.list()), rec.full)
	}
	p := buildChanges(rec, res)
	if len(p.Files) != 3 || p.Created != 3 || p.Unchanged != 4 || !p.Truncated || p.Summary != "3 resource files created, 0 updated, 0 deleted" {
		t.Fatalf("changes = %+v; want 3 created files listed, truncated, with counts", p)
	}
	for i, f := range p.Files {
		if f.SHA256 != hex.EncodeToString(res.Changes[i].Sum[:]) || (f.Diff != "") != (i == 0) {
			t.Errorf("file %d = %+v; want its sha256, and a diff only for the first", i, f)
		}
	}
	if buildChanges(rec, &ingest.Result{}) != nil {
		t.Error("buildChanges of no changes is not nil")
	}
}
