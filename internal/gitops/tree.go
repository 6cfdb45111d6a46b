package gitops

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// badName says what is wrong with one name of a tree entry ("has a \"..\"
// component"), or returns "" when the name can be checked out safely here
// and by git on any platform.
func badName(name string) string {
	switch {
	case name == "":
		return "has an empty name"
	case name == "." || name == "..":
		return fmt.Sprintf("has a %q component", name)
	case strings.ContainsRune(name, '/'):
		return "has a slash inside a name"
	case strings.ContainsRune(name, '\\'):
		return "has a backslash in a name (a folder separator on Windows)"
	}
	for i := 0; i < len(name); i++ {
		if name[i] < 0x20 || name[i] == 0x7f {
			return "has a control character in a name"
		}
	}
	if isDotGit(name) {
		return fmt.Sprintf("has a component %s, which git reserves for its own folder", quotePath(name))
	}
	return ""
}

// isDotGit reports whether name is ".git" to git on some file system: in any
// case, as the NTFS short name "git~1", with the trailing dots, spaces or
// alternate data stream NTFS ignores, or with the zero-width code points HFS+
// ignores.
func isDotGit(name string) bool {
	n := strings.Map(func(r rune) rune {
		if hfsIgnorable(r) {
			return -1
		}
		return r
	}, strings.ToLower(name))
	if i := strings.IndexByte(n, ':'); i >= 0 {
		n = n[:i]
	}
	n = strings.TrimRight(n, ". ")
	return n == ".git" || n == "git~1"
}

// hfsIgnorable lists the code points HFS+ drops when it compares names (as
// git's is_hfs_dotgit does).
func hfsIgnorable(r rune) bool {
	return (r >= 0x200c && r <= 0x200f) || (r >= 0x202a && r <= 0x202e) ||
		(r >= 0x206a && r <= 0x206f) || r == 0xfeff
}

// file is one file of a flattened tree.
type file struct {
	path string            // slash-separated, as in the tree
	mode filemode.FileMode // Regular, Executable, Symlink or Submodule
	hash plumbing.Hash
}

// listing is a commit's tree as this clone checks it out.
type listing struct {
	files []file          // to check out, parents before children
	dirs  map[string]bool // every folder they need (submodules included)
	// skipped are the files left out of the working tree: outside
	// Config.Paths, with a bad name or over MaxFileSize. Commit keeps them
	// as they are.
	skipped []file
	// problems are the entries inside Config.Paths left out of the working
	// tree for a bad name or a size over MaxFileSize, in tree order, each
	// for the Sync of the fabric whose folder holds it (see ownProblem).
	problems []TreeError
}

// list flattens the tree of commit and sorts its entries into what to check
// out and what to leave out, by the rules of Config.Paths and MaxFileSize
// (see Config.Path), the same for every fabric that shares the clone. It
// reads trees and, where a size matters, object headers; no file contents.
// What it leaves out inside Paths it also records as problems (their
// Commit set, More zero).
func (c *Client) list(repo *git.Repository, commit plumbing.Hash) (*listing, error) {
	co, err := repo.CommitObject(commit)
	if err != nil {
		return nil, err
	}
	w := &lister{c: c, repo: repo, l: &listing{dirs: map[string]bool{}}}
	if err := w.walk(co.TreeHash, ""); err != nil {
		return nil, err
	}
	for i := range w.l.problems {
		w.l.problems[i].Commit = commit.String()
	}
	return w.l, nil
}

type lister struct {
	c    *Client
	repo *git.Repository
	l    *listing
}

func (w *lister) walk(treeHash plumbing.Hash, prefix string) error {
	t, err := object.GetTree(w.repo.Storer, treeHash)
	if err != nil {
		return fmt.Errorf("read tree %s: %s", prefix+"/", opaque(err))
	}
	seen := make(map[string]bool, len(t.Entries))
	for _, e := range t.Entries {
		p := join(prefix, e.Name)
		why := badName(e.Name)
		if why == "" && seen[e.Name] {
			why = "appears twice in its folder"
		}
		seen[e.Name] = true
		if why == "" && !knownMode(e.Mode) {
			why = fmt.Sprintf("has an unknown file mode %o", uint32(e.Mode))
		}
		if why == "" && e.Mode == filemode.Symlink {
			size, err := blobSize(w.repo, e.Hash)
			if err != nil {
				return fmt.Errorf("size of %s: %s", p, opaque(err))
			}
			if size > maxSymlink {
				why = fmt.Sprintf("is a symbolic link to a name longer than %d bytes", maxSymlink)
			}
		}
		if why != "" {
			if w.c.withinAny(p) {
				// Name a file, as `git ls-tree -r` shows it, rather than
				// its folder.
				w.l.problems = append(w.l.problems, TreeError{Path: w.firstFile(e, p), Reason: why, Err: ErrBadPath})
			}
			if err := w.skip(e, p); err != nil {
				return err
			}
			continue
		}
		if e.Mode == filemode.Dir {
			if err := w.walk(e.Hash, p); err != nil {
				return err
			}
			continue
		}
		if limit := w.c.cfg.MaxFileSize; limit > 0 && e.Mode != filemode.Submodule && w.c.sizeBound(p) {
			size, err := blobSize(w.repo, e.Hash)
			if err != nil {
				return fmt.Errorf("size of %s: %s", p, opaque(err))
			}
			if size > limit {
				if w.c.withinAny(p) {
					w.l.problems = append(w.l.problems, TreeError{Path: p, Size: size, Limit: limit, Err: ErrFileTooLarge})
				}
				w.l.skipped = append(w.l.skipped, file{p, fileMode(e.Mode), e.Hash})
				continue
			}
		}
		w.l.files = append(w.l.files, file{p, fileMode(e.Mode), e.Hash})
		for d := prefix; d != "" && !w.l.dirs[d]; d = parent(d) {
			w.l.dirs[d] = true
		}
		if e.Mode == filemode.Submodule {
			w.l.dirs[p] = true
		}
	}
	return nil
}

// skip leaves e at p out of the checkout, and everything under it when it
// is a folder; the files under it are listed as skipped.
func (w *lister) skip(e object.TreeEntry, p string) error {
	if e.Mode != filemode.Dir {
		w.l.skipped = append(w.l.skipped, file{p, fileMode(e.Mode), e.Hash})
		return nil
	}
	t, err := object.GetTree(w.repo.Storer, e.Hash)
	if err != nil {
		return fmt.Errorf("read tree %s: %s", p+"/", opaque(err))
	}
	for _, k := range t.Entries {
		if err := w.skip(k, join(p, k.Name)); err != nil {
			return err
		}
	}
	return nil
}

// firstFile returns the path of the first file under the entry e at p, or
// p when e is a file or an empty or unreadable folder.
func (w *lister) firstFile(e object.TreeEntry, p string) string {
	for e.Mode == filemode.Dir {
		t, err := object.GetTree(w.repo.Storer, e.Hash)
		if err != nil || len(t.Entries) == 0 {
			return p
		}
		e = t.Entries[0]
		p = p + "/" + e.Name
	}
	return p
}

// within reports whether the slash path p is inside the fabric folder of
// this client (Config.Path).
func (c *Client) within(p string) bool { return inside(p, c.cfg.Path) }

// withinAny reports whether the slash path p is inside one of the fabric
// folders that share the clone (Config.Paths).
func (c *Client) withinAny(p string) bool {
	for _, dir := range c.cfg.Paths {
		if inside(p, dir) {
			return true
		}
	}
	return false
}

// sizeBound reports whether MaxFileSize bounds the file at p: inside the
// raw/ folder of one of Paths, or outside every one of them.
func (c *Client) sizeBound(p string) bool {
	if !c.withinAny(p) {
		return true
	}
	for _, dir := range c.cfg.Paths {
		if strings.HasPrefix(p, join(dir, "raw")+"/") {
			return true
		}
	}
	return false
}

// inside reports whether the slash path p is the clean folder dir or inside
// it ("." holds everything).
func inside(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// join joins slash path elements without cleaning them: a tree's names are
// taken as they are.
func join(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return dir + "/" + name
}

// parent is the folder of a slash path, "" at the top.
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

func knownMode(m filemode.FileMode) bool {
	switch m {
	case filemode.Dir, filemode.Regular, filemode.Deprecated, filemode.Executable, filemode.Symlink, filemode.Submodule:
		return true
	}
	return false
}

// fileMode is the mode git checks a tree entry out with.
func fileMode(m filemode.FileMode) filemode.FileMode {
	if m == filemode.Deprecated {
		return filemode.Regular
	}
	return m
}

// blobSize returns the size of a blob from its object header, without
// reading its content.
func blobSize(repo *git.Repository, h plumbing.Hash) (int64, error) {
	if s, ok := repo.Storer.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		return s.EncodedObjectSize(h)
	}
	o, err := repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return 0, err
	}
	return o.Size(), nil
}
