package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitPaths is Commit for a caller that knows what it changed: it stages
// only the named paths, as `git add -A -- <paths>` run in dir would, and
// looks at nothing else of the working tree. Commit walks the whole folder
// dir (an lstat per file); CommitPaths costs an lstat per named path, and
// everything else of the new commit's tree is HEAD's, reused by hash.
//
// paths are relative to dir and slash-separated ("managed/vpcs/a.yaml");
// duplicates and a path inside another named path are allowed. For each
// path, the new commit holds what the working tree holds there:
//   - a file or symbolic link (never followed) is staged, its mode included;
//   - a folder is staged whole, as Commit stages dir;
//   - nothing there (or something that is neither file, link nor folder,
//     or a path beneath a symbolic link or a file) removes the path,
//     a folder with all it holds, from the commit.
//
// Every other path keeps HEAD's content, even when the working tree holds
// another: files written or removed outside the named paths are not
// committed. As with Commit, a new file that .gitignore (or
// .git/info/exclude) ignores, or one in an ignored new folder, is not added,
// while a tracked one is; what Sync left out of the working tree (see
// Config.Path) stays as it is, even under a named path that is gone; and
// the message is used as given.
//
// A path that is empty, absolute, leaves dir (".."), holds a backslash, an
// empty, "." or control-character component or a ".git" component gives an
// error wrapping ErrInvalidConfig, and nothing is committed. No paths
// (nil or empty) is nothing to commit: ("", false, nil).
//
// It returns the new commit hash and true, or ("", false, nil) when none of
// the paths changed. It does no network I/O; ctx is checked between its
// local steps. It needs a clone made by Sync.
func (c *Client) CommitPaths(ctx context.Context, dir, message string, paths []string) (string, bool, error) {
	return c.commit(ctx, dir, message, paths, true)
}

// pathTrie holds the named paths of CommitPaths, from the top of the tree,
// as a tree of names. A node that is a named path (final) has no children:
// a path under a named path is covered by it.
type pathTrie struct {
	root *pathNode
	set  map[string]bool // every named path, from the top
}

type pathNode struct {
	final bool
	kids  map[string]*pathNode
}

// newPathTrie checks and cleans paths (relative to the clean folder dir)
// and returns them as a trie.
func newPathTrie(dir string, paths []string) (*pathTrie, error) {
	pt := &pathTrie{root: &pathNode{kids: map[string]*pathNode{}}, set: map[string]bool{}}
	full := make([]string, 0, len(paths))
	for _, p := range paths {
		if why := badStagePath(p); why != "" {
			return nil, fmt.Errorf("%w: path %s %s", ErrInvalidConfig, quotePath(p), why)
		}
		full = append(full, join(dir, path.Clean(p)))
	}
	// Shorter first, so that a named folder comes before what it holds.
	sort.Slice(full, func(i, j int) bool { return len(full[i]) < len(full[j]) })
	for _, p := range full {
		n := pt.root
		covered := false
		parts := strings.Split(p, "/")
		for i, part := range parts {
			if n.final {
				covered = true
				break
			}
			k := n.kids[part]
			if k == nil {
				k = &pathNode{kids: map[string]*pathNode{}}
				n.kids[part] = k
			}
			n = k
			if i == len(parts)-1 {
				n.final, n.kids = true, nil
			}
		}
		if !covered {
			pt.set[p] = true
		}
	}
	return pt, nil
}

// badStagePath says what is wrong with a path given to CommitPaths, or
// returns "".
func badStagePath(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.HasPrefix(p, "/"):
		return "is absolute; name it relative to the folder"
	case strings.ContainsRune(p, '\\'):
		return "holds a backslash; use slashes"
	}
	for _, part := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if part == ".." {
			return "leaves the folder"
		}
		if why := badName(part); why != "" {
			return strings.Replace(why, "in a name", "in a component", 1)
		}
	}
	return ""
}

func (pt *pathTrie) empty() bool { return len(pt.set) == 0 }

// covers reports whether the slash path name is a named path or under one.
func (pt *pathTrie) covers(name string) bool {
	for p := name; p != ""; p = parent(p) {
		if pt.set[p] {
			return true
		}
	}
	return false
}

// edit returns the hash of the tree t (nil when HEAD has none) of the folder
// rel with the named paths below node staged from the working tree, or the
// zero hash when nothing is left in it. ign holds the ignore patterns that
// apply above rel. Without onDisk rel is not a real folder on disk (gone, or
// beneath a link or a file): every path below it is absent.
func (b *builder) edit(t *object.Tree, rel string, node *pathNode, ign []gitignore.Pattern, onDisk bool) (plumbing.Hash, error) {
	abs := filepath.Join(b.c.cfg.Dir, filepath.FromSlash(rel))
	domain := components(rel)
	if onDisk {
		var err error
		if ign, err = withIgnores(ign, abs, domain); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	match := gitignore.NewMatcher(ign)

	var entries []object.TreeEntry
	at := map[string]int{} // first entry of each name
	if t != nil {
		entries = append(entries, t.Entries...)
		for i := len(entries) - 1; i >= 0; i-- {
			at[entries[i].Name] = i
		}
	}
	gone := map[int]bool{}
	changed := false
	names := make([]string, 0, len(node.kids))
	for name := range node.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		kid := node.kids[name]
		p := join(rel, name)
		if b.n++; b.n%256 == 0 {
			if err := b.ctx.Err(); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		if rel == "." && name == git.GitDirName {
			continue // refused by newPathTrie; never staged
		}
		var old *object.TreeEntry
		i, tracked := at[name]
		if tracked {
			old = &entries[i]
			if b.keep(*old, p, nil) {
				continue // left out by Sync, or a submodule: kept as it is
			}
		}
		var fi os.FileInfo
		if onDisk {
			var err error
			fi, err = os.Lstat(filepath.Join(abs, name))
			if err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotDir(err) {
				return plumbing.ZeroHash, err
			}
		}
		var sub *object.Tree
		if tracked && old.Mode == filemode.Dir {
			var err error
			if sub, err = object.GetTree(b.repo.Storer, old.Hash); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		isDir := fi != nil && fi.IsDir() // a real folder: Lstat does not follow links
		var next *object.TreeEntry       // nil: no entry
		switch {
		case kid.final && fi == nil && b.c.within(p):
			// Gone from the fabric folder, a folder with all it holds (as
			// Commit drops a folder gone from dir) but what Sync refused.
			if sub != nil {
				h, err := b.leftOut(p, sub)
				if err != nil {
					return plumbing.ZeroHash, err
				}
				if !h.IsZero() {
					next = &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
				}
			}
		case !kid.final || isDir || (fi == nil && sub != nil):
			// A folder to edit below, or to stage whole: an untracked
			// ignored folder holds nothing to stage.
			if sub == nil && isDir && match.Match(append(domain, name), true) {
				next = nil
				if !tracked {
					continue
				}
				break
			}
			var h plumbing.Hash
			var err error
			if kid.final {
				h, err = b.build(p, sub, ign, isDir)
			} else {
				if sub == nil && !isDir {
					continue // nothing tracked or on disk below
				}
				h, err = b.edit(sub, p, kid, ign, isDir)
			}
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if !h.IsZero() {
				next = &object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
			}
		case fi != nil && (fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0):
			if !tracked && match.Match(append(domain, name), false) {
				continue // a new ignored file
			}
			e, err := b.blob(p, fi)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			next = &object.TreeEntry{Name: name, Mode: e.Mode, Hash: e.Hash}
		}
		switch {
		case next == nil && tracked:
			gone[i] = true
			changed = true
		case next != nil && tracked:
			if *next != *old {
				entries[i] = *next
				changed = true
			}
		case next != nil:
			entries = append(entries, *next)
			changed = true
		}
	}
	if t != nil && !changed {
		return t.Hash, nil // unchanged: keep the tree exactly as it was
	}
	out := entries[:0]
	for i, e := range entries {
		if !gone[i] {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return plumbing.ZeroHash, nil
	}
	return b.storeTree(out)
}
