package gitops

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Commit stages every change under the slash-separated subdirectory dir of
// the working tree (added, modified and deleted files, a removed directory
// included; dir "" or "." is the whole tree) and commits it on top of the
// current HEAD with the configured author as author and committer. message is
// used as given: the caller includes its "Fabsync-Job: <id>" trailer. New
// files that .gitignore (or .git/info/exclude) ignores are not added.
//
// It returns the new commit hash and true, or ("", false, nil) when nothing
// under dir changed. Changes outside dir are neither staged nor committed:
// the new commit's tree is HEAD's tree with only the folder dir replaced, so
// everything else, what Sync left out of the working tree included (see
// Config.Path), stays exactly as it was. What Sync left out inside dir stays
// too, even when the folder that holds it is gone from disk. Commit does no
// network I/O; ctx is checked between its local steps. It needs a clone
// made by Sync.
//
// Commit looks at every file under dir (an lstat each). A caller that knows
// which paths it wrote or removed should call CommitPaths instead.
func (c *Client) Commit(ctx context.Context, dir, message string) (string, bool, error) {
	return c.commit(ctx, dir, message, nil, false)
}

// commit is Commit (named false: the whole folder dir is staged) and
// CommitPaths (named true: only paths, relative to dir, are staged).
func (c *Client) commit(ctx context.Context, dir, message string, paths []string, named bool) (string, bool, error) {
	op := "commit " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	dir, err := cleanSubdir(dir)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	var pt *pathTrie
	if named {
		if pt, err = newPathTrie(dir, paths); err != nil {
			return "", false, fmt.Errorf("%s: %w", op, err)
		}
		if pt.empty() {
			return "", false, nil
		}
	}
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	headRef, err := repo.Storer.Reference(c.branch)
	if err != nil {
		return "", false, fmt.Errorf("%s: read branch (Sync first): %s", op, opaque(err))
	}
	head, err := repo.CommitObject(headRef.Hash())
	if err != nil {
		return "", false, fmt.Errorf("%s: read HEAD: %s", op, opaque(err))
	}
	if t, err := repo.Storer.Reference(c.tracking); err == nil && t.Hash() == headRef.Hash() {
		// No commit of ours waits for a push: what was kept for one was pushed or dropped.
		c.own.forget()
	}
	root, err := head.Tree()
	if err != nil {
		return "", false, fmt.Errorf("%s: read HEAD: %s", op, opaque(err))
	}

	b := &builder{c: c, ctx: ctx, repo: repo, sc: c.loadStatCache(repo)}
	b.objs.dir = filepath.Join(c.cfg.Dir, git.GitDirName, "objects", "pack")
	b.objs.own = &c.own
	defer b.objs.discard() // a commit given up leaves no pack behind
	var sub plumbing.Hash
	if named {
		sub, err = b.edit(root, ".", pt.root, b.ignoresAbove("."), true)
		if err == nil && sub.IsZero() {
			sub, err = b.storeTree(nil) // everything is gone: the empty tree
		}
	} else {
		var old *object.Tree
		if old, err = subtree(repo, root, dir); err == nil {
			sub, err = b.build(dir, old, b.ignoresAbove(dir), true)
		}
		if err == nil {
			sub, err = b.splice(root, dir, sub)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", false, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		return "", false, fmt.Errorf("%s: stage %s: %s", op, dir, opaque(err))
	}
	if sub == root.Hash {
		return "", false, nil
	}
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}

	sig := c.signature()
	commit := &object.Commit{Author: *sig, Committer: *sig, Message: message, TreeHash: sub, ParentHashes: []plumbing.Hash{head.Hash}}
	if k := c.cfg.Auth.SigningKey; k != nil {
		if err := k.signCommit(commit); err != nil {
			return "", false, fmt.Errorf("%s: sign: %s", op, opaque(err))
		}
	}
	obj := &plumbing.MemoryObject{}
	if err := commit.Encode(obj); err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	h := obj.Hash()
	if err := b.storeObject(obj); err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	// Every object of the commit goes into the store before the branch
	// points at it.
	if err := b.objs.finish(); err != nil {
		return "", false, fmt.Errorf("%s: store objects: %s", op, opaque(err))
	}
	if err := repo.Storer.CheckAndSetReference(plumbing.NewHashReference(c.branch, h), headRef); err != nil {
		return "", false, fmt.Errorf("%s: update branch: %s", op, opaque(err))
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, c.branch)); err != nil {
		return "", false, fmt.Errorf("%s: update HEAD: %s", op, opaque(err))
	}
	// The commit is made: an index left stale costs the next checkout some
	// rewrites, nothing more.
	under := func(name string) bool {
		return dir == "." || name == dir || strings.HasPrefix(name, dir+"/")
	}
	if named {
		under = pt.covers
	}
	_ = b.writeIndex(under)
	return h.String(), true, nil
}

// builder builds the trees of a commit from the working tree.
type builder struct {
	c        *Client
	ctx      context.Context
	repo     *git.Repository
	sc       *statCache
	objs     newObjects     // the new objects, one pack (objpack.go)
	recorded []*index.Entry // index entries of the files looked at
	n        int
}

// build returns the tree of the working tree's folder rel ("." for the top),
// whose tree at HEAD is old (nil when it has none), or the zero hash when
// the folder is empty or gone. What Sync left out of the working tree is
// taken from old as it is; so are submodules. ign holds the ignore patterns
// that apply above rel. Without onDisk the folder is known to be gone (a
// folder above it is not a real folder): nothing is read from disk there,
// so no symbolic link is followed.
func (b *builder) build(rel string, old *object.Tree, ign []gitignore.Pattern, onDisk bool) (plumbing.Hash, error) {
	abs := filepath.Join(b.c.cfg.Dir, filepath.FromSlash(rel))
	domain := components(rel)
	var ents []fs.DirEntry
	if onDisk {
		var err error
		ents, err = os.ReadDir(abs)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !isNotDir(err) {
			return plumbing.ZeroHash, err
		}
		if ign, err = withIgnores(ign, abs, domain); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	match := gitignore.NewMatcher(ign)

	var out []object.TreeEntry
	taken := map[string]bool{}
	tracked := map[string]object.TreeEntry{}
	if old != nil {
		for _, e := range old.Entries {
			if taken[e.Name] || b.keep(e, join(rel, e.Name), tracked) {
				out = append(out, e)
				taken[e.Name] = true
			} else if _, dup := tracked[e.Name]; !dup {
				tracked[e.Name] = e
			}
		}
	}
	for _, d := range ents {
		name := d.Name()
		p := join(rel, name)
		if (rel == "." && name == git.GitDirName) || taken[name] || badName(name) != "" {
			continue
		}
		if b.n++; b.n%256 == 0 {
			if err := b.ctx.Err(); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		fi, err := d.Info()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		te, isTracked := tracked[name]
		switch {
		case fi.IsDir():
			var sub *object.Tree
			if isTracked && te.Mode == filemode.Dir {
				if sub, err = object.GetTree(b.repo.Storer, te.Hash); err != nil {
					return plumbing.ZeroHash, err
				}
			}
			if sub == nil && match.Match(append(domain, name), true) {
				continue
			}
			h, err := b.build(p, sub, ign, true)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if !h.IsZero() {
				out = append(out, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
				taken[name] = true
			}
		case fi.Mode().IsRegular() || fi.Mode()&fs.ModeSymlink != 0:
			if !isTracked && match.Match(append(domain, name), false) {
				continue
			}
			e, err := b.blob(p, fi)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			out = append(out, object.TreeEntry{Name: name, Mode: e.Mode, Hash: e.Hash})
			taken[name] = true
		}
	}
	// A folder gone from disk may still hold what Sync left out: outside
	// the fabric folder that and submodules are kept, inside it only what
	// Sync refused (the rest went with the folder).
	for name, e := range tracked {
		if taken[name] || e.Mode != filemode.Dir {
			continue
		}
		sub, err := object.GetTree(b.repo.Storer, e.Hash)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		var h plumbing.Hash
		if p := join(rel, name); b.c.within(p) {
			h, err = b.leftOut(p, sub)
		} else {
			h, err = b.build(p, sub, ign, false)
		}
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !h.IsZero() {
			out = append(out, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
	}
	if len(out) == 0 {
		return plumbing.ZeroHash, nil
	}
	return b.storeTree(out)
}

// keep reports whether the entry e of HEAD's tree at p is one Sync left out
// of the working tree (see list), or a submodule, and so goes into the new
// tree as it is. seen holds the names before e, to spot a duplicate.
func (b *builder) keep(e object.TreeEntry, p string, seen map[string]object.TreeEntry) bool {
	return e.Mode == filemode.Submodule || b.refused(e, p, seen)
}

// refused reports whether the checkout rules (Config.Paths and MaxFileSize,
// see list) leave the entry e of HEAD's tree at p out of the working tree,
// whoever's fabric folder holds it. seen holds the names before e, to spot a
// duplicate. An entry whose size cannot be read counts as refused: it is
// kept as it is.
func (b *builder) refused(e object.TreeEntry, p string, seen map[string]object.TreeEntry) bool {
	if _, dup := seen[e.Name]; dup || badName(e.Name) != "" || !knownMode(e.Mode) {
		return true
	}
	if e.Mode == filemode.Symlink {
		if size, err := blobSize(b.repo, e.Hash); err != nil || size > maxSymlink {
			return true
		}
	}
	if limit := b.c.cfg.MaxFileSize; limit > 0 && e.Mode != filemode.Dir && e.Mode != filemode.Submodule && b.c.sizeBound(p) {
		size, err := blobSize(b.repo, e.Hash)
		return err != nil || size > limit
	}
	return false
}

// leftOut returns the tree of what Sync refused (see refused) in the folder
// p of HEAD, whose tree is t, each entry as it is, or the zero hash when
// there is none: what remains of a folder removed from the fabric folder.
func (b *builder) leftOut(p string, t *object.Tree) (plumbing.Hash, error) {
	var out []object.TreeEntry
	seen := map[string]object.TreeEntry{}
	for _, e := range t.Entries {
		kp := join(p, e.Name)
		if b.refused(e, kp, seen) {
			out = append(out, e)
			continue
		}
		seen[e.Name] = e
		if e.Mode != filemode.Dir {
			continue
		}
		sub, err := object.GetTree(b.repo.Storer, e.Hash)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		h, err := b.leftOut(kp, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !h.IsZero() {
			out = append(out, object.TreeEntry{Name: e.Name, Mode: filemode.Dir, Hash: h})
		}
	}
	if len(out) == 0 {
		return plumbing.ZeroHash, nil
	}
	return b.storeTree(out)
}

// blob returns the index entry of the file at p, storing its content as a
// blob when the index does not vouch for it.
func (b *builder) blob(p string, fi os.FileInfo) (*index.Entry, error) {
	mode := filemode.Regular
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		mode = filemode.Symlink
	case fi.Mode()&0o100 != 0:
		mode = filemode.Executable
	}
	if e := b.sc.fresh(p, fi, mode); e != nil {
		b.recorded = append(b.recorded, e)
		return e, nil
	}
	abs := filepath.Join(b.c.cfg.Dir, filepath.FromSlash(p))
	var h plumbing.Hash
	var err error
	if mode == filemode.Symlink {
		var target string
		if target, err = os.Readlink(abs); err == nil {
			h, err = b.storeBytes([]byte(target))
		}
	} else {
		h, err = b.storeFile(abs, fi.Size())
	}
	if err != nil {
		return nil, err
	}
	e := &index.Entry{Name: p, Hash: h, Mode: mode}
	fillStat(e, fi)
	b.recorded = append(b.recorded, e)
	return e, nil
}

// storeFile stores the content of the file abs (of size bytes) as a blob and
// returns its hash. A large file is streamed, never held in memory whole.
func (b *builder) storeFile(abs string, size int64) (plumbing.Hash, error) {
	f, err := os.Open(abs)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer func() { _ = f.Close() }() // read only
	lw, ok := b.repo.Storer.(interface {
		LazyWriter() (io.WriteCloser, func(plumbing.ObjectType, int64) error, error)
	})
	if size <= streamThreshold || !ok {
		data, err := io.ReadAll(f)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return b.storeBytes(data)
	}
	w, header, err := lw.LazyWriter()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := header(plumbing.BlobObject, size); err != nil {
		_ = w.Close()
		return plumbing.ZeroHash, err
	}
	if _, err := io.CopyN(w, f, size); err != nil {
		_ = w.Close()
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	hw, ok := w.(interface{ Hash() plumbing.Hash })
	if !ok {
		return plumbing.ZeroHash, errors.New("object writer does not report the hash")
	}
	return hw.Hash(), nil
}

// storeBytes stores data as a blob in the commit's pack (objpack.go), unless
// the store or the pack has it, and returns its hash.
func (b *builder) storeBytes(data []byte) (plumbing.Hash, error) {
	h := plumbing.ComputeHash(plumbing.BlobObject, data)
	if b.objs.has(h) || b.repo.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	return h, b.objs.add(plumbing.BlobObject, h, data)
}

// storeObject adds the encoded object obj to the commit's new objects (the
// store lacks it).
func (b *builder) storeObject(obj *plumbing.MemoryObject) error {
	r, err := obj.Reader()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return b.objs.add(obj.Type(), obj.Hash(), data)
}

// storeTree stores a tree of entries (in any order) in the commit's pack,
// unless the store or the pack has it, and returns its hash.
func (b *builder) storeTree(entries []object.TreeEntry) (plumbing.Hash, error) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.SliceStable(entries, func(i, j int) bool { return key(entries[i]) < key(entries[j]) })
	obj := &plumbing.MemoryObject{}
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h := obj.Hash()
	if b.objs.has(h) || b.repo.Storer.HasEncodedObject(h) == nil {
		return h, nil
	}
	return h, b.storeObject(obj)
}

// splice returns the hash of root with its folder dir replaced by the tree
// sub (removed when sub is zero). Nothing else of root changes.
func (b *builder) splice(root *object.Tree, dir string, sub plumbing.Hash) (plumbing.Hash, error) {
	h, err := b.spliceIn(root, components(dir), sub)
	if err != nil || !h.IsZero() {
		return h, err
	}
	return b.storeTree(nil) // everything is gone: the empty tree
}

func (b *builder) spliceIn(t *object.Tree, parts []string, sub plumbing.Hash) (plumbing.Hash, error) {
	if len(parts) == 0 {
		return sub, nil
	}
	var entries []object.TreeEntry
	var child *object.Tree
	at := -1
	if t != nil {
		entries = append(entries, t.Entries...)
		for i, e := range entries {
			if e.Name != parts[0] {
				continue
			}
			at = i
			if e.Mode == filemode.Dir {
				var err error
				if child, err = object.GetTree(b.repo.Storer, e.Hash); err != nil {
					return plumbing.ZeroHash, err
				}
			}
			break
		}
	}
	h, err := b.spliceIn(child, parts[1:], sub)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	switch {
	case at >= 0 && h.IsZero():
		entries = append(entries[:at], entries[at+1:]...)
	case at >= 0:
		entries[at] = object.TreeEntry{Name: parts[0], Mode: filemode.Dir, Hash: h}
	case !h.IsZero():
		entries = append(entries, object.TreeEntry{Name: parts[0], Mode: filemode.Dir, Hash: h})
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	if t != nil && at >= 0 && entries[at].Hash == t.Entries[at].Hash && entries[at].Mode == t.Entries[at].Mode {
		return t.Hash, nil // unchanged: keep the tree exactly as it was
	}
	return b.storeTree(entries)
}

// writeIndex records in the index what Commit committed of the paths under
// reports as staged, so that the next checkout trusts the files it already
// has. Entries of other paths stay as they are.
func (b *builder) writeIndex(under func(name string) bool) error {
	recorded := make(map[string]bool, len(b.recorded))
	for _, e := range b.recorded {
		recorded[e.Name] = true
	}
	entries := append([]*index.Entry(nil), b.recorded...)
	version := uint32(2)
	for _, e := range b.sc.idx.Entries {
		if recorded[e.Name] || (under(e.Name) && !e.SkipWorktree && e.Mode != filemode.Submodule) {
			continue
		}
		if e.SkipWorktree {
			version = 3
		}
		entries = append(entries, e)
	}
	return b.repo.Storer.SetIndex(&index.Index{Version: version, Entries: entries})
}

// ignoresAbove returns the ignore patterns that apply to dir from above it:
// .git/info/exclude and the .gitignore files of the folders holding dir.
func (b *builder) ignoresAbove(dir string) []gitignore.Pattern {
	root := b.c.cfg.Dir
	ps, _ := readIgnore(filepath.Join(root, git.GitDirName, "info", "exclude"), nil)
	parts := components(dir)
	for i := range parts {
		more, _ := readIgnore(filepath.Join(root, filepath.FromSlash(path.Join(parts[:i]...)), ".gitignore"), parts[:i])
		ps = append(ps, more...)
	}
	return ps
}

// withIgnores returns ign followed by the patterns of the .gitignore of the folder abs, whose
// path in the repository is domain (ign itself is not changed).
func withIgnores(ign []gitignore.Pattern, abs string, domain []string) ([]gitignore.Pattern, error) {
	ps, err := readIgnore(filepath.Join(abs, ".gitignore"), domain)
	if err != nil {
		return nil, err
	}
	return append(ign[:len(ign):len(ign)], ps...), nil
}

// readIgnore parses the ignore file name (absent: no patterns), whose
// patterns apply under domain, as go-git's status does.
func readIgnore(name string, domain []string) ([]gitignore.Pattern, error) {
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			ps = append(ps, gitignore.ParsePattern(line, domain))
		}
	}
	return ps, nil
}

// isNotDir reports an error from a path through a file where a folder
// should be.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// components splits a clean slash path into its names; "." has none.
func components(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// subtree returns the tree at the folder dir of root, or nil when root has
// no folder there.
func subtree(repo *git.Repository, root *object.Tree, dir string) (*object.Tree, error) {
	t := root
	for _, part := range components(dir) {
		var next *object.Tree
		for _, e := range t.Entries {
			if e.Name == part {
				if e.Mode != filemode.Dir {
					return nil, nil
				}
				var err error
				if next, err = object.GetTree(repo.Storer, e.Hash); err != nil {
					return nil, err
				}
				break
			}
		}
		if next == nil {
			return nil, nil
		}
		t = next
	}
	return t, nil
}

// cleanSubdir turns a caller's subdirectory into a clean slash path inside
// the tree ("." for the whole tree).
func cleanSubdir(dir string) (string, error) {
	if strings.Contains(dir, `\`) {
		return "", fmt.Errorf("%w: path %q: use slashes", ErrInvalidConfig, dir)
	}
	cleaned := path.Clean("/" + dir)[1:]
	if cleaned == "" {
		return ".", nil
	}
	for _, part := range strings.Split(dir, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: path %q leaves the working tree", ErrInvalidConfig, dir)
		}
	}
	if cleaned == git.GitDirName || strings.HasPrefix(cleaned, git.GitDirName+"/") {
		return "", fmt.Errorf("%w: path %q is inside .git", ErrInvalidConfig, dir)
	}
	return cleaned, nil
}

// openLocal opens the clone for a local operation; the caller calls close.
func (c *Client) openLocal() (repo *git.Repository, close func(), err error) {
	repo, close, err = c.openRepo()
	if err != nil {
		return nil, nil, fmt.Errorf("no usable clone in %s (Sync first): %s", c.cfg.Dir, opaque(err))
	}
	return repo, close, nil
}
