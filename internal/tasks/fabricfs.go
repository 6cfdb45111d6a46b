package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/fabsync/fabsync/internal/fabricdir"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/plan"
	"github.com/fabsync/fabsync/internal/validate"
)

// This file is the only file-system access of the package: it hands package ingest (which does
// no I/O of its own) the fabric folder of a clone to read and a writer for its output.
//
// Whatever the repository holds, nothing here reads, writes or deletes outside the clone: the
// fabric folder is opened as an *os.Root, which refuses any path or symbolic link that leaves
// it, and a fabric path that is, or passes through, a symbolic link in the repository is a
// permanent error that names the link.

// openFabric opens the fabric folder of the clone dir. It returns nil and no error when the
// folder does not exist (yet).
func openFabric(dir, fabricPath string) (*os.Root, error) {
	clean := path.Clean(fabricPath)
	if clean != "." {
		parts := strings.Split(clean, "/")
		for i := range parts {
			rel := strings.Join(parts[:i+1], "/")
			fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel)))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("fabric folder %s: %w", rel, err)
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				return nil, permanent("fabric path %q: %s is a symbolic link in the repository; fabsync does not follow links in the fabric's path", fabricPath, rel)
			}
			if !fi.IsDir() {
				return nil, permanent("fabric path %q: %s is a file in the repository, not a folder", fabricPath, rel)
			}
		}
	}
	root, err := os.OpenRoot(filepath.Join(dir, filepath.FromSlash(clean)))
	if err != nil {
		return nil, fmt.Errorf("open fabric folder: %w", err)
	}
	return root, nil
}

// checkOutputDirs refuses a fabric folder whose raw/, managed/, unmanaged/ or .hnp/ is a
// symbolic link: ingest would read or write through it.
func checkOutputDirs(root *os.Root, fabricPath string) error {
	d, err := fabricdir.SymlinkedOutput(root)
	if err != nil {
		return err
	}
	if d != "" {
		return permanent("fabric path %q: %s/ is a symbolic link in the repository; fabsync does not follow it", fabricPath, d)
	}
	return nil
}

// openRaw opens the fabric folder of the working tree dir to look into raw/: nil and no error
// when the folder or its raw/ does not exist (there is nothing to ingest).
func openRaw(dir, fabricPath string) (*os.Root, error) {
	root, err := openFabric(dir, fabricPath)
	if err != nil || root == nil {
		return nil, err
	}
	if err := checkOutputDirs(root, fabricPath); err != nil {
		_ = root.Close()
		return nil, err
	}
	if _, err := root.Lstat("raw"); errors.Is(err, fs.ErrNotExist) {
		_ = root.Close()
		return nil, nil
	}
	return root, nil
}

// pending reports whether the fabric folder of the working tree dir has raw files to ingest.
func pending(dir, fabricPath string) (bool, error) {
	root, err := openRaw(dir, fabricPath)
	if err != nil || root == nil {
		return false, err
	}
	defer func() { _ = root.Close() }()
	ok, err := ingest.Pending(root.FS())
	if err != nil {
		return false, fmt.Errorf("look into raw/: %w", err)
	}
	return ok, nil
}

// runIngest runs package ingest on the fabric folder of the working tree dir. With rec set (a
// dry run), every resource file ingest writes or removes is also recorded in rec, with its bytes
// before and after; the writes still happen, in the clone, exactly as in a real run.
func runIngest(ctx context.Context, dir, fabricPath string, opts ingest.Options, rec *recorder) (*ingest.Result, error) {
	root, err := openFabric(dir, fabricPath)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return &ingest.Result{}, nil // no fabric folder yet
	}
	defer func() { _ = root.Close() }()
	if err := checkOutputDirs(root, fabricPath); err != nil {
		return nil, err
	}
	// Without raw/ ingest finds no raw files, but it still looks for drift in managed/ and
	// unmanaged/ (and adopts or reverts it, as opts.Drift says).
	fw := fabricdir.NewWriter(root)
	defer func() { _ = fw.Close() }() // only folders opened to read and write in: nothing to flush
	var w ingest.Writer = fw
	if rec != nil {
		w = recordingWriter{w: fw, rec: rec}
	}
	res, err := ingest.Ingest(ctx, fw.FS(), opts, w)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return res, nil
}

// drifted returns the resource files of the fabric folder of the working tree dir that were
// changed by hand since the manifest recorded them (ingest.Drifted); it only reads. No fabric
// folder, no drift.
func drifted(dir, fabricPath string) ([]ingest.Drift, error) {
	root, err := openFabric(dir, fabricPath)
	if err != nil || root == nil {
		return nil, err
	}
	defer func() { _ = root.Close() }()
	if err := checkOutputDirs(root, fabricPath); err != nil {
		return nil, err
	}
	d, err := ingest.Drifted(root.FS())
	if err != nil {
		return nil, fmt.Errorf("look for drift in managed/ and unmanaged/: %w", err)
	}
	return d, nil
}

// recorder collects each resource file (under managed/ or unmanaged/) that ingest wrote or
// removed: its bytes before the first change (nil when it did not exist) and after the last
// (nil when removed), for a dry run's plan and a job's changes. With a limit it stops keeping
// files once their bytes reach it (full is then set): the job's changes list the rest from
// ingest's Result, without a diff. Safe for ingest's concurrent writes (of distinct files).
type recorder struct {
	limit int // bytes of old and new content kept at most; 0: no limit

	mu      sync.Mutex
	changes map[string]*plan.Change
	kept    int  // bytes kept
	full    bool // a file was left out to stay within limit
}

// resourceFile reports whether name is a resource file: one under managed/ or unmanaged/.
func resourceFile(name string) bool {
	return strings.HasPrefix(name, "managed/") || strings.HasPrefix(name, "unmanaged/")
}

// before records the bytes name holds before ingest changes it, once per file. It reports
// false when the recorder is full and does not follow name.
func (r *recorder) before(root *os.Root, name string) (bool, error) {
	r.mu.Lock()
	_, ok := r.changes[name]
	full := r.limit > 0 && r.kept >= r.limit
	if full && !ok {
		r.full = true
	}
	r.mu.Unlock()
	if ok || full {
		return ok, nil
	}
	c := &plan.Change{Path: name}
	p := filepath.FromSlash(name)
	if !filepath.IsLocal(p) {
		return false, permanent("refusing to read %q outside the fabric folder", name)
	}
	old, err := root.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("read %s before it is written: %w", name, err)
	default:
		c.Old = old
		if c.Old == nil {
			c.Old = []byte{} // an empty file exists: it is not created
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.changes == nil {
		r.changes = map[string]*plan.Change{}
	}
	r.changes[name] = c
	r.kept += len(c.Old)
	return true, nil
}

// after records name's new bytes (nil: removed); before said it follows name.
func (r *recorder) after(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if data != nil {
		data = append([]byte{}, data...)
		r.kept += len(data)
	}
	r.changes[name].New = data
}

// list returns the recorded changes, sorted by path.
func (r *recorder) list() []plan.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]plan.Change, 0, len(r.changes))
	for _, c := range r.changes {
		if c.Old == nil && c.New == nil {
			continue // written and removed again: never there
		}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b plan.Change) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// recordingWriter writes through w, as a run without it does, and records each resource
// file's old and new bytes in rec.
type recordingWriter struct {
	w   fabricdir.Writer
	rec *recorder
}

// ConcurrentWrites says that ingest may write distinct files from several goroutines, as it
// may through w.
func (recordingWriter) ConcurrentWrites() {}

// WriteFile records name's old bytes, writes data to it and records data.
func (w recordingWriter) WriteFile(name string, data []byte) error {
	if !resourceFile(name) {
		return w.w.WriteFile(name, data)
	}
	follow, err := w.rec.before(w.w.Root, name)
	if err != nil {
		return err
	}
	if err := w.w.WriteFile(name, data); err != nil {
		return err
	}
	if follow {
		w.rec.after(name, data)
	}
	return nil
}

// CreateFile writes a file that is not a resource file (the manifest) in pieces, as a run
// without the recorder does; ingest streams no resource file.
func (w recordingWriter) CreateFile(name string) (io.WriteCloser, error) {
	if resourceFile(name) {
		return nil, fmt.Errorf("refusing to stream resource file %s past the recorder", name)
	}
	return w.w.CreateFile(name)
}

// Rename moves a file that is not a resource file (ingest archives a raw file by moving it),
// as a run without the recorder does.
func (w recordingWriter) Rename(from, to string) error {
	if resourceFile(from) || resourceFile(to) {
		return fmt.Errorf("refusing to move resource file %s to %s past the recorder", from, to)
	}
	return w.w.Rename(from, to)
}

// Remove records name's old bytes, removes it and records the removal.
func (w recordingWriter) Remove(name string) error {
	if !resourceFile(name) {
		return w.w.Remove(name)
	}
	follow, err := w.rec.before(w.w.Root, name)
	if err != nil {
		return err
	}
	if err := w.w.Remove(name); err != nil {
		return err
	}
	if follow {
		w.rec.after(name, nil)
	}
	return nil
}

// maxRecordedProblems bounds the problems a job record keeps in each of its lists; the job's
// reason and log still give the whole count.
const maxRecordedProblems = 1000

// docErrors converts problems for the job record, at most maxRecordedProblems of them.
func docErrors(ps ...[]ingest.Problem) []DocError {
	out := []DocError{}
	for _, list := range ps {
		for _, p := range list {
			if len(out) == maxRecordedProblems {
				return out
			}
			out = append(out, DocError{File: p.File, Document: p.Document, Line: p.Line, Column: p.Column, Message: p.Message,
				Rule: p.Rule, Severity: p.Severity, Excerpt: p.Excerpt, Kind: p.Kind, Name: p.Name})
		}
	}
	return out
}

// CRD files read for validation are bounded: each, and all of a fabric's together.
const (
	maxCRDFileBytes  = 8 << 20
	maxCRDTotalBytes = 64 << 20
)

// readCRDs reads the CRD files a fabric's validation.crds names: a relative path in the clone
// dir (through an *os.Root, so nothing outside the clone is read, whatever the repository
// holds), an absolute one on this machine's disk. A folder gives its *.yaml and *.yml files at
// any depth, in path order. A missing or unreadable path is a permanent error naming it.
func readCRDs(dir string, paths []string) ([]validate.CRDFile, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	clone, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open clone: %w", err)
	}
	defer func() { _ = clone.Close() }()
	var out []validate.CRDFile
	total := 0
	for _, p := range paths {
		fsys, name, where := clone.FS(), path.Clean(p), "in the repository"
		if strings.HasPrefix(p, "/") {
			fsys, name, where = os.DirFS("/"), strings.TrimPrefix(path.Clean(p), "/"), "on the worker"
		}
		st, err := fs.Stat(fsys, name)
		if err != nil {
			return nil, permanent("validation.crds: %s: not found %s", p, where)
		}
		files := []string{name}
		if st.IsDir() {
			if files, err = fabricdir.YAMLFiles(fsys, name); err != nil {
				return nil, permanent("validation.crds: %s: cannot list the folder %s", p, where)
			}
		}
		for _, f := range files {
			shown := f
			if strings.HasPrefix(p, "/") {
				shown = "/" + f
			}
			data, err := readBounded(fsys, f, maxCRDFileBytes)
			if err != nil {
				return nil, permanent("validation.crds: %s: %v", shown, err)
			}
			if total += len(data); total > maxCRDTotalBytes {
				return nil, permanent("validation.crds: the CRD files are over %d MiB together", maxCRDTotalBytes>>20)
			}
			out = append(out, validate.CRDFile{Name: shown, Data: data})
		}
	}
	return out, nil
}

// readBounded reads the regular file name of fsys, refusing one over max bytes; its error says
// what is wrong without the file system's own words (which may name paths on the worker).
func readBounded(fsys fs.FS, name string, max int64) ([]byte, error) {
	data, err := fabricdir.ReadBounded(fsys, name, max)
	switch {
	case errors.Is(err, fabricdir.ErrTooLarge):
		return nil, fmt.Errorf("larger than %d MiB", max>>20)
	case err != nil && err.Error() == "not a regular file":
		return nil, err
	case err != nil:
		return nil, errors.New("cannot be read")
	}
	return data, nil
}

// maxInventoryFile bounds one resource file read for the inventory (ingest writes far smaller
// ones; a larger file, edited by hand, is listed without its content).
const maxInventoryFile = 1 << 20

// readInventory reads the manifest of the fabric folder of the working tree dir, and the bytes
// of each resource file it lists that want asks for, in manifest order, until budget bytes are
// read (the files after that are not read). No fabric folder or no manifest: no entries. A
// listed file that is gone, is not a regular file or is too large is left out of contents.
func readInventory(dir, fabricPath string, want func(ingest.ManifestEntry) bool, budget int) ([]ingest.ManifestEntry, map[string][]byte, error) {
	root, err := openFabric(dir, fabricPath)
	if err != nil || root == nil {
		return nil, nil, err
	}
	defer func() { _ = root.Close() }()
	if err := checkOutputDirs(root, fabricPath); err != nil {
		return nil, nil, err
	}
	data, err := readRegular(root, ingest.ManifestPath, 256<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", ingest.ManifestPath, err)
	}
	entries, err := ingest.ReadManifest(data)
	if err != nil {
		return nil, nil, err
	}
	contents := map[string][]byte{}
	for _, e := range entries {
		if budget <= 0 {
			break
		}
		if !resourceFile(e.Path) || !filepath.IsLocal(filepath.FromSlash(e.Path)) || !want(e) {
			continue
		}
		b, err := readRegular(root, e.Path, maxInventoryFile)
		if err != nil {
			continue // gone (drift: reported), or not a file fabsync writes: listed without content
		}
		contents[e.Path] = b
		budget -= len(b)
	}
	return entries, contents, nil
}

// readRegular reads name from root if it is a regular file of at most limit bytes; the root
// refuses symbolic links that leave it, and this refuses one that stays inside too.
func readRegular(root *os.Root, name string, limit int64) ([]byte, error) {
	p := filepath.FromSlash(name)
	fi, err := root.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is over %d bytes", name, limit)
	}
	return root.ReadFile(p)
}
