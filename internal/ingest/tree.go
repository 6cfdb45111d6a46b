package ingest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// tree answers "what is at this path" for the fabric folder without
// following symbolic links: every answer comes from fs.ReadDir of the
// parent folder, whose entries carry the type of the entry itself.
// Listings are cached, so each folder is read at most once.
type tree struct {
	fsys  fs.FS
	lists map[string]map[string]fs.FileMode // folder → entry name → type bits
}

func newTree(fsys fs.FS) *tree {
	return &tree{fsys: fsys, lists: map[string]map[string]fs.FileMode{}}
}

// list returns the entries of dir, which the caller knows to be a real
// folder (or absent: then it is empty).
func (t *tree) list(dir string) (map[string]fs.FileMode, error) {
	if m, ok := t.lists[dir]; ok {
		return m, nil
	}
	ents, err := fs.ReadDir(t.fsys, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read folder %s: %w", dir, err)
	}
	m := make(map[string]fs.FileMode, len(ents))
	for _, e := range ents {
		m[e.Name()] = e.Type()
	}
	t.lists[dir] = m
	return m, nil
}

// typeOf returns the type bits of the entry at p, and whether it exists
// reached through real folders only.
func (t *tree) typeOf(p string) (fs.FileMode, bool, error) {
	parent := path.Dir(p)
	if parent != "." {
		pt, ok, err := t.typeOf(parent)
		if err != nil || !ok || !pt.IsDir() {
			return 0, false, err
		}
	}
	m, err := t.list(parent)
	if err != nil {
		return 0, false, err
	}
	mode, ok := m[path.Base(p)]
	return mode, ok, nil
}

// writable explains why a regular file cannot safely be written at p (a
// folder on the way, or p itself, is a symbolic link or something else
// unusual), naming the offending path, or returns "".
func (t *tree) writable(p string) (bad, msg string, err error) {
	els := strings.Split(p, "/")
	for i := 1; i <= len(els); i++ {
		a := strings.Join(els[:i], "/")
		mode, ok, err := t.typeOf(a)
		if err != nil || !ok {
			return "", "", err
		}
		if i < len(els) && !mode.IsDir() {
			return a, fmt.Sprintf("%s is %s, not a folder, so %s cannot be written", a, describeMode(mode), p), nil
		}
		if i == len(els) && !mode.IsRegular() {
			return a, fmt.Sprintf("%s is %s, not a regular file, so it cannot be written", a, describeMode(mode)), nil
		}
	}
	return "", "", nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	case m.IsRegular():
		return "a regular file"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// yamlName reports whether a file name is one ingest reads: *.yaml or
// *.yml in any case, not starting with '.'.
func yamlName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	l := strings.ToLower(name)
	return strings.HasSuffix(l, ".yaml") || strings.HasSuffix(l, ".yml")
}

// walkFiles calls fn for every entry under dir (which must be a real
// folder or absent), depth first with names sorted; it does not descend
// into entries that are not real folders, nor into hidden folders when
// skipHidden is set.
func (t *tree) walk(dir string, skipHidden bool, fn func(p string, mode fs.FileMode) error) error {
	m, err := t.list(dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		mode := m[n]
		p := dir + "/" + n
		if skipHidden && strings.HasPrefix(n, ".") {
			continue
		}
		if mode.IsDir() {
			if err := t.walk(p, skipHidden, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(p, mode); err != nil {
			return err
		}
	}
	return nil
}
