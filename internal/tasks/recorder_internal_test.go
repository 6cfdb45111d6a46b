package tasks

import (
	"github.com/fabsync/fabsync/internal/fabricdir"

	"os"
	"path/filepath"
	"testing"
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
