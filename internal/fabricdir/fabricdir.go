// Package fabricdir is the file access the worker and the CLI share on a fabric folder: a writer
// for ingest's output that stays inside the folder, the check that none of the folders ingest
// reads or writes is a symbolic link, and a bounded read of one file. Everything goes through an
// *os.Root (or an fs.FS), which refuses any path or symbolic link that leaves it.
package fabricdir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Writer writes ingest's output inside Root (it implements ingest.Writer); a name that would
// leave Root is refused. Made with NewWriter it keeps the folders it wrote into open, so that
// writing a file costs one open of its name in an open folder instead of a walk from Root
// (ingest writes thousands of files into a few folders); Close it then. A Writer{Root: r}
// literal walks from Root every time. On Linux NewWriter's refuses a symbolic link where it
// writes, as a file or as a folder on the way (it walks the folders one at a time, opening each
// without following a link); otherwise *os.Root follows one only when it stays inside Root
// (ingest refuses symbolic links before it writes anything, either way). Either is safe for
// concurrent use (it implements ingest.ConcurrentWriter), for distinct names.
type Writer struct {
	Root *os.Root
	open *openDirs // NewWriter's
}

// openDirs are the folders under Root a Writer keeps open, by local path ("." is Root).
type openDirs struct {
	mu   sync.Mutex
	dirs map[string]*openDir
}

// NewWriter returns a Writer for root that keeps the folders it writes into open.
func NewWriter(root *os.Root) Writer {
	return Writer{Root: root, open: &openDirs{dirs: map[string]*openDir{}}}
}

// ConcurrentWrites says that w may be called from several goroutines at once.
func (Writer) ConcurrentWrites() {}

// Close closes the folders w kept open (not Root).
func (w Writer) Close() error {
	if w.open == nil {
		return nil
	}
	w.open.mu.Lock()
	defer w.open.mu.Unlock()
	var errs []error
	for name, d := range w.open.dirs {
		errs = append(errs, d.close())
		delete(w.open.dirs, name)
	}
	return errors.Join(errs...)
}

// ErrOutside is wrapped by Writer's error for a name that would leave the folder.
var ErrOutside = errors.New("outside the fabric folder")

func local(name string) (string, error) {
	p := filepath.FromSlash(name)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("refusing to write %q: %w", name, ErrOutside)
	}
	return p, nil
}

// dir returns the folder d (a clean local path under Root, or "." for Root), opened, creating
// it and the folders on the way when create is set, and keeps it and them open.
func (w Writer) dir(d string, create bool) (*openDir, error) {
	w.open.mu.Lock()
	defer w.open.mu.Unlock()
	return w.dirLocked(d, create)
}

func (w Writer) dirLocked(d string, create bool) (*openDir, error) {
	if od, ok := w.open.dirs[d]; ok {
		return od, nil
	}
	var od *openDir
	var err error
	if d == "." {
		od, err = openRootDir(w.Root)
	} else {
		var parent *openDir
		if parent, err = w.dirLocked(filepath.Dir(d), create); err != nil {
			return nil, err
		}
		od, err = openIn(parent, filepath.Base(d), d, create)
	}
	if err != nil {
		return nil, err
	}
	w.open.dirs[d] = od
	return od, nil
}

// mkdirParent makes the folders of the local path p under Root, walking from Root (a Writer
// literal's way).
func (w Writer) mkdirParent(p string) error {
	if d := filepath.Dir(p); d != "." {
		return w.Root.MkdirAll(d, 0o755)
	}
	return nil
}

// WriteFile writes data to name (a slash path relative to Root), creating its folders.
func (w Writer) WriteFile(name string, data []byte) error {
	p, err := local(name)
	if err != nil {
		return err
	}
	if w.open == nil {
		if err := w.mkdirParent(p); err != nil {
			return err
		}
		return w.Root.WriteFile(p, data, 0o644)
	}
	od, err := w.dir(filepath.Dir(p), true)
	if err != nil {
		return err
	}
	return writeIn(od, filepath.Base(p), data)
}

// CreateFile creates or truncates name (a slash path relative to Root), creating its folders,
// and returns a writer of its content, complete once Close returned nil; a symbolic link where
// the file would be is refused, as by WriteFile. It lets ingest write a large file (a big
// fabric's manifest) in pieces instead of holding it whole (ingest.StreamWriter).
func (w Writer) CreateFile(name string) (io.WriteCloser, error) {
	p, err := local(name)
	if err != nil {
		return nil, err
	}
	if w.open == nil {
		if err := w.mkdirParent(p); err != nil {
			return nil, err
		}
		return w.Root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	od, err := w.dir(filepath.Dir(p), true)
	if err != nil {
		return nil, err
	}
	return createIn(od, filepath.Base(p))
}

// Remove removes name.
func (w Writer) Remove(name string) error {
	p, err := local(name)
	if err != nil {
		return err
	}
	if w.open == nil {
		return w.Root.Remove(p)
	}
	od, err := w.dir(filepath.Dir(p), false)
	if err != nil {
		return err
	}
	return removeIn(od, filepath.Base(p))
}

// Rename moves the file from to to (slash paths relative to Root), creating to's folders; a
// file at to is replaced. It lets ingest archive a raw file by moving it (ingest.Renamer). On
// Linux NewWriter's renames in folders it opened without following a link, like WriteFile's;
// the moved name itself is never followed (a symbolic link would be moved as a link). An
// error means that nothing was moved.
func (w Writer) Rename(from, to string) error {
	pf, err := local(from)
	if err != nil {
		return err
	}
	pt, err := local(to)
	if err != nil {
		return err
	}
	if w.open == nil {
		if err := w.mkdirParent(pt); err != nil {
			return err
		}
		return w.Root.Rename(pf, pt)
	}
	src, err := w.dir(filepath.Dir(pf), false)
	if err != nil {
		return err
	}
	dst, err := w.dir(filepath.Dir(pt), true)
	if err != nil {
		return err
	}
	return renameIn(w.Root, src, pf, dst, pt)
}

// FS returns Root's file system (Root.FS) with ReadFile and ReadDir done as w writes: in a
// folder w keeps open, one open of the name without following a symbolic link (refused on
// Linux, as for WriteFile, also for a folder on the way), plain system calls. Ingest reads
// every resource file it does not replace (its fabric-wide checks and its drift scan) and
// lists every folder it looks at through it: going through Root costs an open of each folder
// on the way and registers each file with the runtime's poller. A Writer{Root: r} literal's
// FS reads through Root. Open is Root's. Close w when done with both.
func (w Writer) FS() fs.FS { return readFS{FS: w.Root.FS(), w: w} }

type readFS struct {
	fs.FS
	w Writer
}

// ReadDir lists the folder name, sorted by name (fs.ReadDirFS). Its entries' Info is an
// Lstat through Root.
func (r readFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if r.w.open == nil {
		return fs.ReadDir(r.FS, name)
	}
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	od, err := r.w.dir(filepath.FromSlash(name), false)
	if err != nil {
		return nil, err
	}
	return readDirIn(r.w.Root, od, name)
}

// dirEntry is an entry of a folder listed by readDirIn.
type dirEntry struct {
	root      *os.Root
	dir, name string // dir: the folder's slash path under root
	typ       fs.FileMode
}

func (e dirEntry) Name() string      { return e.name }
func (e dirEntry) IsDir() bool       { return e.typ.IsDir() }
func (e dirEntry) Type() fs.FileMode { return e.typ }
func (e dirEntry) Info() (fs.FileInfo, error) {
	return e.root.Lstat(filepath.FromSlash(path.Join(e.dir, e.name)))
}
func (e dirEntry) String() string { return fs.FormatDirEntry(e) }

// ReadFile reads name whole (fs.ReadFileFS).
func (r readFS) ReadFile(name string) ([]byte, error) {
	if r.w.open == nil {
		return fs.ReadFile(r.FS, name)
	}
	if !fs.ValidPath(name) || name == "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	p := filepath.FromSlash(name)
	od, err := r.w.dir(filepath.Dir(p), false)
	if err != nil {
		return nil, err
	}
	return readIn(od, filepath.Base(p), name)
}

// Outputs are the folders of a fabric that ingest reads and writes.
var Outputs = []string{"raw", "managed", "unmanaged", ".hnp"}

// SymlinkedOutput returns the first of Outputs that is a symbolic link in root ("" when none is):
// ingest would read or write through it. An error other than "does not exist" is returned.
func SymlinkedOutput(root *os.Root) (string, error) {
	for _, d := range Outputs {
		fi, err := root.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("look at %s/: %w", d, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return d, nil
		}
	}
	return "", nil
}

// ErrTooLarge is wrapped by ReadBounded's error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// ReadBounded reads the regular file name of fsys, refusing one over max bytes (an error
// wrapping ErrTooLarge that says the limit) and anything that is not a regular file.
func ReadBounded(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d MiB: %w", max>>20, ErrTooLarge)
	}
	return data, nil
}

// YAMLFiles returns the regular *.yaml and *.yml files under dir in fsys, at any depth, in the
// lexical order of their paths (fs.WalkDir's), as paths of fsys. Symbolic links are not followed
// and not returned.
func YAMLFiles(fsys fs.FS, dir string) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, dir, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
			files = append(files, f)
		}
		return nil
	})
	return files, err
}

// RawBytes returns how many bytes the YAML files under raw/ in root hold (those YAMLFiles
// lists), as their folder entries say: about what an ingest of the folder reads. No raw/ is 0.
func RawBytes(root *os.Root) (int64, error) {
	var n int64
	err := fs.WalkDir(root.FS(), "raw", func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml")) {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) && n == 0 {
		return 0, nil
	}
	return n, err
}

// Scratch returns scratch space for ingest's Options.Scratch, where ingest keeps normalized
// documents beyond its memory budget between its two passes: a temporary file in dir (the
// system's temporary folder when dir is ""), made at the first write (a small ingest never
// writes one: one file created and removed fewer for every job). The file is removed from the
// folder at once (it lives while it is open, and nothing is left behind if the process dies);
// close it with the returned function. The error is for a folder that cannot be used; a file
// that cannot be made fails the first write.
func Scratch(dir string) (*ScratchFile, func(), error) {
	if dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			var pe *fs.PathError
			switch {
			case err == nil:
				err = errors.New("not a folder")
			case errors.As(err, &pe):
				err = pe.Err // not the folder's absolute path
			}
			return nil, nil, fmt.Errorf("scratch space for ingest in %s: %w", filepath.Base(dir), err)
		}
	}
	sf := &ScratchFile{dir: dir}
	return sf, sf.close, nil
}

// ScratchFile is Scratch's temporary file, made at its first write. It is safe for concurrent
// use.
type ScratchFile struct {
	dir     string
	mu      sync.Mutex
	f       *os.File
	removed bool
	err     error
}

// file returns the file, made at the first call.
func (s *ScratchFile) file() (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil && s.err == nil {
		f, err := os.CreateTemp(s.dir, "fabsync-ingest-*")
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // not the folder's absolute path
			}
			s.err = fmt.Errorf("scratch space for ingest: %w", err)
			return nil, s.err
		}
		// On systems that cannot remove an open file, it is removed when closed.
		s.f, s.removed = f, os.Remove(f.Name()) == nil
	}
	return s.f, s.err
}

// WriteAt writes p at off, making the file first.
func (s *ScratchFile) WriteAt(p []byte, off int64) (int, error) {
	f, err := s.file()
	if err != nil {
		return 0, err
	}
	return f.WriteAt(p, off)
}

// ReadAt reads what WriteAt wrote; before any write there is nothing (io.EOF).
func (s *ScratchFile) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	f := s.f
	s.mu.Unlock()
	if f == nil {
		return 0, io.EOF
	}
	return f.ReadAt(p, off)
}

func (s *ScratchFile) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return
	}
	_ = s.f.Close() // only read and written at offsets: nothing to flush
	if !s.removed {
		_ = os.Remove(s.f.Name())
	}
	s.f, s.err = nil, errors.New("scratch space for ingest: already closed")
}
