package fabricdir_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fabsync/fabsync/internal/fabricdir"
	"github.com/fabsync/fabsync/internal/ingest"
)

// writerKinds are the two kinds of Writer: a literal, which walks from Root for every file, and
// NewWriter's, which keeps the folders it writes into open.
var writerKinds = []struct {
	name string
	make func(*os.Root) fabricdir.Writer
}{
	{"literal", func(r *os.Root) fabricdir.Writer { return fabricdir.Writer{Root: r} }},
	{"NewWriter", fabricdir.NewWriter},
}

// writeTree writes files (slash paths to content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriter runs on both kinds of Writer (writerKinds).
func TestWriter(t *testing.T) {
	for _, tc := range writerKinds {
		t.Run(tc.name, func(t *testing.T) { testWriter(t, tc.make) })
	}
}

func testWriter(t *testing.T, newWriter func(*os.Root) fabricdir.Writer) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	w := newWriter(root)
	defer func() {
		if err := w.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, name := range []string{"managed/switches/a.yaml", "managed/switches/b.yaml", "top.yaml"} {
		if err := w.WriteFile(name, []byte("a")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Remove("managed/switches/b.yaml"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "managed", "switches", "b.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed file: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "managed", "switches", "a.yaml")); err != nil || string(b) != "a" {
		t.Fatalf("written file = %q, %v", b, err)
	}
	if err := w.Remove("managed/switches/a.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x.yaml", "/etc/x.yaml", "managed/../../x.yaml"} {
		if err := w.WriteFile(name, nil); !errors.Is(err, fabricdir.ErrOutside) {
			t.Errorf("WriteFile(%s) = %v; want ErrOutside", name, err)
		}
		if err := w.Remove(name); !errors.Is(err, fabricdir.ErrOutside) {
			t.Errorf("Remove(%s) = %v; want ErrOutside", name, err)
		}
	}
	// A link inside the folder that points out of it is refused by the root itself.
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "unmanaged")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile("unmanaged/x.yaml", []byte("x")); err == nil {
		t.Error("wrote through a symbolic link out of the folder")
	}
	// So is a file that is a link out of a folder the Writer has open.
	if err := os.Symlink(filepath.Join(outside, "y.yaml"), filepath.Join(dir, "managed", "switches", "y.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile("managed/switches/y.yaml", []byte("y")); err == nil {
		t.Error("wrote through a symbolic link out of the folder")
	}
	// CreateFile: a file in pieces, in new folders; refused outside and through the same links.
	for _, name := range []string{".hnp/manifest.yaml", "top2.yaml"} {
		f, err := w.CreateFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range []string{"one ", "two"} {
			if _, err := io.WriteString(f, piece); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(b) != "one two" {
			t.Fatalf("CreateFile(%s) wrote %q, %v", name, b, err)
		}
	}
	if _, err := w.CreateFile("../x.yaml"); !errors.Is(err, fabricdir.ErrOutside) {
		t.Errorf("CreateFile(../x.yaml) = %v; want ErrOutside", err)
	}
	for _, name := range []string{"unmanaged/z.yaml", "managed/switches/y.yaml"} {
		if f, err := w.CreateFile(name); err == nil {
			_ = f.Close()
			t.Errorf("CreateFile(%s) went through a symbolic link out of the folder", name)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("files written outside the folder: %v", ents)
	}
	if d, err := fabricdir.SymlinkedOutput(root); err != nil || d != "unmanaged" {
		t.Errorf("SymlinkedOutput = %q, %v; want unmanaged", d, err)
	}
}

// Writers may be called from several goroutines at once: here 8 write 50 files each into new
// folders they share (run with -race).
func TestWriterConcurrent(t *testing.T) {
	for _, tc := range writerKinds {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = root.Close() }()
			var w ingest.ConcurrentWriter = tc.make(root)
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					for i := range 50 {
						name := fmt.Sprintf("managed/kind-%d/g%d-%d.yaml", i%3, g, i)
						if err := w.WriteFile(name, []byte(name)); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			n := 0
			for i := range 3 {
				ents, err := os.ReadDir(filepath.Join(dir, "managed", fmt.Sprintf("kind-%d", i)))
				if err != nil {
					t.Fatal(err)
				}
				n += len(ents)
			}
			if n != 400 {
				t.Errorf("%d files written; want 400", n)
			}
			if c, ok := w.(interface{ Close() error }); ok {
				if err := c.Close(); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestReadBounded(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	fsys := os.DirFS(dir)
	if b, err := fabricdir.ReadBounded(fsys, "a", 5); err != nil || string(b) != "12345" {
		t.Errorf("ReadBounded(a, 5) = %q, %v", b, err)
	}
	if _, err := fabricdir.ReadBounded(fsys, "a", 4); !errors.Is(err, fabricdir.ErrTooLarge) {
		t.Errorf("ReadBounded(a, 4) = %v; want ErrTooLarge", err)
	}
	if _, err := fabricdir.ReadBounded(fsys, "d", 4); err == nil {
		t.Error("ReadBounded read a folder")
	}
	if _, err := fabricdir.ReadBounded(fsys, "nope", 4); err == nil {
		t.Error("ReadBounded read a missing file")
	}
}

func TestYAMLFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"b.yaml", "a/c.yml", "a/readme.md", "z.yaml.bak"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "b.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	got, err := fabricdir.YAMLFiles(os.DirFS(dir), ".")
	if err != nil || strings.Join(got, " ") != "a/c.yml b.yaml" {
		t.Errorf("YAMLFiles = %q, %v; want a/c.yml b.yaml (no link, no other files)", got, err)
	}
	if _, err := fabricdir.YAMLFiles(os.DirFS(dir), "nope"); err == nil {
		t.Error("YAMLFiles of a missing folder: no error")
	}
}

// TestWriterFS: both kinds of Writer read what is there, whole (empty, small, larger than a
// read), and refuse a missing file and a path that leaves the folder. NewWriter's also refuses,
// without naming the absolute folder, a folder, a FIFO (without waiting on it), and on Linux a
// symbolic link, as a file or as a folder on the way, even one that stays inside. (A literal's
// reads through Root.FS, which waits on a FIFO and names the absolute folder of a folder it
// cannot read; ingest looks at each file's type before it reads it.)
func TestWriterFS(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("0123456789abcdef", 40000) // 640,000 bytes
	writeTree(t, dir, map[string]string{"empty.yaml": "", "managed/switches/a.yaml": "a: 1\n", "managed/big.yaml": big})
	if err := os.Symlink("switches/a.yaml", filepath.Join(dir, "managed", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("switches", filepath.Join(dir, "managed", "linked")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "managed", "fifo.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Close() }()
	for _, tc := range []struct {
		name string
		w    fabricdir.Writer
	}{
		{"literal", fabricdir.Writer{Root: root}},
		{"NewWriter", fabricdir.NewWriter(root)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() { _ = tc.w.Close() }()
			fsys := tc.w.FS()
			for name, want := range map[string]string{"empty.yaml": "", "managed/switches/a.yaml": "a: 1\n", "managed/big.yaml": big} {
				for range 2 { // the second time from the folder kept open
					if b, err := fs.ReadFile(fsys, name); err != nil || string(b) != want {
						t.Errorf("ReadFile(%s) = %d bytes, %v; want %d", name, len(b), err, len(want))
					}
				}
			}
			if _, err := fs.ReadFile(fsys, "managed/nope.yaml"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadFile of a missing file = %v; want ErrNotExist", err)
			}
			refused := []string{"../x.yaml", "/etc/passwd"}
			if tc.name == "NewWriter" {
				refused = append(refused, "managed", "managed/fifo.yaml")
				if runtime.GOOS == "linux" {
					refused = append(refused, "managed/link.yaml", "managed/linked/a.yaml")
				}
			}
			for _, name := range refused {
				done := make(chan error, 1)
				go func() { _, err := fs.ReadFile(fsys, name); done <- err }()
				select {
				case err := <-done:
					if err == nil {
						t.Errorf("ReadFile(%s) read it", name)
					} else if strings.Contains(err.Error(), dir) {
						t.Errorf("ReadFile(%s) = %v: names the absolute folder", name, err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("ReadFile(%s) still waiting after 5 s", name)
				}
			}
			// ReadDir lists as Root does: names sorted, the types of the entries themselves.
			for _, d := range []string{".", "managed", "managed/switches"} {
				want, err := fs.ReadDir(root.FS(), d)
				if err != nil {
					t.Fatal(err)
				}
				for range 2 { // the second time from the folder kept open
					got, err := fs.ReadDir(fsys, d)
					if err != nil || len(got) != len(want) {
						t.Fatalf("ReadDir(%s) = %v, %v; want %v", d, got, err, want)
					}
					for i := range want {
						if got[i].Name() != want[i].Name() || got[i].Type() != want[i].Type() || got[i].IsDir() != want[i].IsDir() {
							t.Errorf("ReadDir(%s)[%d] = %v; want %v", d, i, got[i], want[i])
						}
						gi, err := got[i].Info()
						if err != nil {
							t.Fatal(err)
						}
						wi, _ := want[i].Info()
						if gi.Size() != wi.Size() || gi.Mode() != wi.Mode() {
							t.Errorf("ReadDir(%s)[%d].Info() = %v %d; want %v %d", d, i, gi.Mode(), gi.Size(), wi.Mode(), wi.Size())
						}
					}
				}
			}
			if _, err := fs.ReadDir(fsys, "managed/nope"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ReadDir of a missing folder = %v; want ErrNotExist", err)
			}
			notDirs := []string{"../x", "/etc", "managed/big.yaml"}
			if tc.name == "NewWriter" && runtime.GOOS == "linux" {
				notDirs = append(notDirs, "managed/linked")
			}
			for _, d := range notDirs {
				if ents, err := fs.ReadDir(fsys, d); err == nil {
					t.Errorf("ReadDir(%s) = %v; want it refused", d, ents)
				} else if tc.name == "NewWriter" && strings.Contains(err.Error(), dir) { // Root's error for a file does
					t.Errorf("ReadDir(%s) = %v: names the absolute folder", d, err)
				}
			}
		})
	}
}

// TestWriterRename: both kinds of Writer move a file into folders they create, replacing what
// is there, and leave everything as it was when they refuse: a missing file, a path that leaves
// the folder, and for NewWriter's on Linux a symbolic link to a folder on the way.
func TestWriterRename(t *testing.T) {
	for _, tc := range writerKinds {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"raw/a.yaml": "a\n", "raw/b.yaml": "b\n", ".hnp/archive/j/b.yaml.archived": "old\n"})
			outside := t.TempDir()
			if err := os.Symlink(outside, filepath.Join(dir, ".hnp", "linked")); err != nil {
				t.Fatal(err)
			}
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = root.Close() }()
			w := tc.make(root)
			defer func() { _ = w.Close() }()
			for from, to := range map[string]string{"raw/a.yaml": ".hnp/archive/job-1/sub/a.yaml.archived", "raw/b.yaml": ".hnp/archive/j/b.yaml.archived"} {
				content, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(from)))
				if err := w.Rename(from, to); err != nil {
					t.Fatalf("Rename(%s, %s) = %v", from, to, err)
				}
				if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(to))); err != nil || !bytes.Equal(b, content) {
					t.Errorf("%s = %q, %v; want %q", to, b, err, content)
				}
				if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(from))); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s still there: %v", from, err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "raw", "c.yaml"), []byte("c\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			refused := [][2]string{{"raw/nope.yaml", ".hnp/x"}, {"raw/c.yaml", "../c.yaml"}, {"../x", "raw/x.yaml"}}
			if tc.name == "NewWriter" && runtime.GOOS == "linux" {
				refused = append(refused, [2]string{"raw/c.yaml", ".hnp/linked/c.yaml"})
			}
			for _, r := range refused {
				err := w.Rename(r[0], r[1])
				if err == nil {
					t.Errorf("Rename(%s, %s) moved it", r[0], r[1])
				} else if strings.Contains(err.Error(), dir) {
					t.Errorf("Rename(%s, %s) = %v: names the absolute folder", r[0], r[1], err)
				}
			}
			if b, err := os.ReadFile(filepath.Join(dir, "raw", "c.yaml")); err != nil || string(b) != "c\n" {
				t.Errorf("raw/c.yaml after the refusals = %q, %v", b, err)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Errorf("a file was moved through the link, out of the folder: %v", ents)
			}
		})
	}
}

// TestScratch: the scratch file is made at the first write, never shows in its folder, reads
// back what was written, and is gone once closed; a folder that is missing or a file is an
// error that does not name its absolute path.
func TestScratch(t *testing.T) {
	dir := t.TempDir()
	s, done, err := fabricdir.Scratch(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if n, err := s.ReadAt(buf, 0); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("ReadAt before any write = %d, %v; want 0, EOF", n, err)
	}
	if n, err := s.WriteAt([]byte("world"), 5); n != 5 || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	if _, err := s.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAt(buf, 5); err != nil || string(buf) != "world" {
		t.Errorf("ReadAt(5) = %q, %v", buf, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the scratch file shows in its folder: %v", ents)
	}
	done()
	if _, err := s.WriteAt([]byte("x"), 0); err == nil {
		t.Error("WriteAt after close worked")
	}

	// An ingest of more than its memory budget keeps documents in it, and reads them back.
	var raw strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&raw, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\ndata:\n  k: %s\n", i, strings.Repeat("v", 300))
	}
	s, done, err = fabricdir.Scratch(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	fsys := fstest.MapFS{"raw/big.yaml": {Data: []byte(raw.String())}}
	res, err := ingest.Ingest(t.Context(), fsys, ingest.Options{JobID: "job-1", Scratch: s}, dryWriter{})
	if err != nil || res.Documents != 4000 {
		t.Fatalf("Ingest = %+v, %v", res, err)
	}
	if n, err := s.ReadAt(buf, 0); n != len(buf) || err != nil {
		t.Errorf("after an ingest of %d bytes, ReadAt = %d, %v; want its documents kept there", raw.Len(), n, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{filepath.Join(dir, "missing"), filepath.Join(dir, "file")} {
		if _, _, err := fabricdir.Scratch(bad); err == nil || strings.Contains(err.Error(), dir) {
			t.Errorf("Scratch(%s) = %v; want an error without the absolute path", filepath.Base(bad), err)
		}
	}
}

// dryWriter writes nothing.
type dryWriter struct{}

func (dryWriter) WriteFile(string, []byte) error { return nil }
func (dryWriter) Remove(string) error            { return nil }
