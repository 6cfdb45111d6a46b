package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// This file replaces go-git's Worktree.Reset(HardReset) and Worktree.Clean.
// Those compare the index with the working tree through merkletrie diffs
// and remove files one at a time, re-reading the folder after each removal:
// the cost grows with the square of the files in a folder (1,000 untracked
// files took 1.4 s, 10,000 took 119 s; see docs/benchmarks-gitops.md). Here
// a checkout is one walk of the working tree (an lstat per entry, as `git
// status` does), one os.RemoveAll per folder that should not be there, and
// a write of each file that is missing or differs, judged by the stat data
// in the index as git judges it. It is linear in the files on disk and the
// files written.

// maxSymlink bounds the target of a symbolic link read from the object store.
const maxSymlink = 4096

// reset points the branch at target and HEAD at the branch, and makes the
// index and the working tree exactly target's tree as this clone checks it
// out (see list), whatever it holds: what the rules refuse is left out. It
// returns the fingerprint of the working tree it left (see fingerprint), or
// "" when it could not tell it without a walk, and the problems list
// recorded inside Config.Paths, for every fabric of the clone (see
// ownProblem).
func (c *Client) reset(ctx context.Context, repo *git.Repository, target plumbing.Hash) (string, []TreeError, error) {
	l, err := c.list(repo, target)
	if err != nil {
		return "", nil, err
	}
	fp, err := c.checkout(ctx, repo, l)
	if err != nil {
		return "", nil, err
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(c.branch, target)); err != nil {
		return "", nil, err
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, c.branch)); err != nil {
		return "", nil, err
	}
	return fp, l.problems, nil
}

// checkout makes the working tree and the index exactly l. It removes every
// file and folder l does not hold (untracked and ignored ones included, as
// `git clean -ffdx` does), writes each file of l that is missing or differs
// from the index's record of it, and leaves the others alone. It never
// writes through a symbolic link: a link where a folder or file belongs is
// removed, and files are created, never opened for writing. It returns the
// fingerprint of the tree it left, from what it saw and wrote (a walk of the
// tree would cost as much again), or "" when it cannot tell.
func (c *Client) checkout(ctx context.Context, repo *git.Repository, l *listing) (string, error) {
	root := c.cfg.Dir
	sc := c.loadStatCache(repo)
	want := make(map[string]*file, len(l.files))
	for i := range l.files {
		if _, dup := want[l.files[i].path]; !dup {
			want[l.files[i].path] = &l.files[i]
		}
	}
	// 1. Remove what does not belong, and note what is there of the rest.
	disk := make(map[string]os.FileInfo, len(l.files))
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if d.IsDir() { // a real folder: WalkDir does not follow links
			if rel == git.GitDirName {
				return filepath.SkipDir
			}
			if l.dirs[rel] {
				return nil
			}
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			return filepath.SkipDir
		}
		if f := want[rel]; f != nil && f.mode != filemode.Submodule {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			disk[rel] = fi
			return nil
		}
		// Untracked, or a file or link where a folder belongs.
		return os.Remove(p)
	})
	if err != nil {
		return "", err
	}

	// 2. Write what is missing or differs. Every folder on the way is now a
	// real folder or absent.
	entries := make([]*index.Entry, 0, len(want)+len(l.skipped))
	made := map[string]bool{} // folders known to exist
	buf := make([]byte, 32<<10)
	seen := make([]statLine, 0, len(want)+len(l.dirs)) // what the tree holds now
	for i := range l.files {
		f := &l.files[i]
		if want[f.path] != f {
			continue // a duplicate name, outside the fabric folder
		}
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return "", err
			}
		}
		p := filepath.Join(root, filepath.FromSlash(f.path))
		if fi := disk[f.path]; fi != nil {
			e, racy := sc.lookup(f.path, fi, f.mode)
			if e != nil && e.Hash == f.hash && (!racy || sameContent(p, fi, f.hash)) {
				entries = append(entries, e)
				if f.mode != filemode.Submodule {
					seen = append(seen, statLine{f.path, fi})
				}
				continue
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
		e, fi, err := writeFile(repo, f, p, made, buf)
		if err != nil {
			return "", fmt.Errorf("check out %s: %w", f.path, err)
		}
		entries = append(entries, e)
		if f.mode != filemode.Submodule {
			seen = append(seen, statLine{f.path, fi})
		}
	}

	// 3. The index: what was checked out, with its stat data, and what was
	// left out, marked skip-worktree (git's sparse checkout) so that git
	// status does not report it as deleted.
	version := uint32(2)
	for _, f := range l.skipped {
		if _, dup := want[f.path]; dup || !indexable(f.path) {
			continue
		}
		want[f.path] = nil
		entries = append(entries, &index.Entry{Name: f.path, Hash: f.hash, Mode: f.mode, SkipWorktree: true})
		version = 3 // extended flags
	}
	if err := repo.Storer.SetIndex(&index.Index{Version: version, Entries: entries}); err != nil {
		return "", err
	}
	// The folders last: writing into them changed their times.
	for d := range l.dirs {
		fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(d)))
		if err != nil {
			return "", nil // the walk will tell
		}
		seen = append(seen, statLine{d, fi})
	}
	return fingerprintOf(seen), nil
}

// indexable reports whether a path can be an index entry that reads back as
// the same path.
func indexable(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == "" {
			return false
		}
	}
	return true
}

// writeFile creates the file f at p (absent) from the object store and
// returns its index entry and what lstat says of it. made records the
// folders known to exist; buf is for copying.
func writeFile(repo *git.Repository, f *file, p string, made map[string]bool, buf []byte) (*index.Entry, os.FileInfo, error) {
	if dir := filepath.Dir(p); !made[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, nil, err
		}
		made[dir] = true
	}
	var fi os.FileInfo
	var err error
	switch f.mode {
	case filemode.Submodule:
		// Submodules are not cloned: an empty folder, as git leaves one.
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, nil, err
		}
	case filemode.Symlink:
		target, err := readBlob(repo, f.hash, maxSymlink)
		if err != nil {
			return nil, nil, err
		}
		if err := os.Symlink(string(target), p); err != nil {
			return nil, nil, err
		}
	default:
		perm := os.FileMode(0o644)
		if f.mode == filemode.Executable {
			perm = 0o755
		}
		if fi, err = copyBlob(repo, f.hash, p, perm, buf); err != nil {
			return nil, nil, err
		}
	}
	if fi == nil {
		if fi, err = os.Lstat(p); err != nil {
			return nil, nil, err
		}
	}
	e := &index.Entry{Name: f.path, Hash: f.hash, Mode: f.mode}
	fillStat(e, fi)
	return e, fi, nil
}

// copyBlob creates p with the content of blob h, streamed: a blob over
// streamThreshold is never held in memory whole. It returns what fstat says
// of the file once written (the stat data the index records). buf is for
// copying.
func copyBlob(repo *git.Repository, h plumbing.Hash, p string, perm os.FileMode, buf []byte) (fi os.FileInfo, err error) {
	o, err := repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := r.Close(); err == nil && cerr != nil {
			fi, err = nil, cerr
		}
	}()
	// O_EXCL: create, never open what is there (a link planted since).
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyBuffer(w, r, buf); err != nil {
		_ = w.Close()
		return nil, err
	}
	if fi, err = w.Stat(); err != nil {
		_ = w.Close()
		return nil, err
	}
	return fi, w.Close()
}

// readBlob reads blob h, which must not be larger than limit.
func readBlob(repo *git.Repository, h plumbing.Hash, limit int64) ([]byte, error) {
	o, err := repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, err
	}
	if o.Size() > limit {
		return nil, fmt.Errorf("blob %s is %s, more than %s", h, humanSize(o.Size()), humanSize(limit))
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return b, err
}

// statCache is the index as the last checkout or commit left it: for each
// path, the hash and the stat data of the file this package wrote or read.
type statCache struct {
	entries map[string]*index.Entry
	written time.Time // when the index was written
	idx     *index.Index
}

func (c *Client) loadStatCache(repo *git.Repository) *statCache {
	sc := &statCache{entries: map[string]*index.Entry{}, idx: &index.Index{Version: 2}}
	fi, err := os.Stat(filepath.Join(c.cfg.Dir, git.GitDirName, "index"))
	if err != nil {
		return sc
	}
	idx, err := repo.Storer.Index()
	if err != nil {
		return sc
	}
	sc.idx, sc.written = idx, fi.ModTime()
	for _, e := range idx.Entries {
		// Stage 0: not a merge conflict (go-git's index.Merged is 1, the
		// ancestor stage).
		if e.Stage == 0 {
			sc.entries[e.Name] = e
		}
	}
	return sc
}

// fresh returns the index entry of p when the file fi describes is as the
// entry records it (see lookup) and the entry is not racily clean.
func (sc *statCache) fresh(p string, fi os.FileInfo, mode filemode.FileMode) *index.Entry {
	if e, racy := sc.lookup(p, fi, mode); e != nil && !racy {
		return e
	}
	return nil
}

// lookup returns the index entry of p when the file fi describes is as the
// entry records it: same type, size, times, inode. Like git, it reports as
// racy an entry recorded in the same clock tick as the index was written: a
// change right after could have kept the same times, so only the content
// can tell.
func (sc *statCache) lookup(p string, fi os.FileInfo, mode filemode.FileMode) (e *index.Entry, racy bool) {
	e = sc.entries[p]
	if e == nil || e.SkipWorktree || e.Mode != mode || !modeMatches(mode, fi) {
		return nil, false
	}
	var now index.Entry
	fillStat(&now, fi)
	if now.Size != e.Size || !now.ModifiedAt.Equal(e.ModifiedAt) || !now.CreatedAt.Equal(e.CreatedAt) ||
		now.Inode != e.Inode || now.Dev != e.Dev {
		return nil, false
	}
	racy = !e.ModifiedAt.Before(sc.written) || (!e.CreatedAt.IsZero() && !e.CreatedAt.Before(sc.written))
	return e, racy
}

// sameContent reports whether the file at p (fi) holds blob h, by hashing
// it (streamed).
func sameContent(p string, fi os.FileInfo, h plumbing.Hash) bool {
	hasher := plumbing.NewHasher(plumbing.BlobObject, fi.Size())
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return false
		}
		hasher = plumbing.NewHasher(plumbing.BlobObject, int64(len(target)))
		_, _ = hasher.Write([]byte(target))
		return hasher.Sum() == h
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }() // read only
	n, err := io.Copy(hasher, f)
	return err == nil && n == fi.Size() && hasher.Sum() == h
}

// modeMatches reports whether the file fi describes has the type and
// executable bit of mode.
func modeMatches(mode filemode.FileMode, fi os.FileInfo) bool {
	m := fi.Mode()
	switch mode {
	case filemode.Symlink:
		return m&fs.ModeSymlink != 0
	case filemode.Executable:
		return m.IsRegular() && m&0o100 != 0
	case filemode.Regular:
		return m.IsRegular() && m&0o100 == 0
	case filemode.Submodule:
		return m.IsDir()
	}
	return false
}
