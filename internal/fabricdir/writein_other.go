//go:build !linux

package fabricdir

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// openDir is a folder a Writer keeps open: here an *os.Root, through which its files are
// written.
type openDir struct {
	root  *os.Root
	owned bool // root was opened for the openDir (it is not the Writer's Root)
}

func (d *openDir) close() error {
	if !d.owned {
		return nil
	}
	return d.root.Close()
}

func openRootDir(root *os.Root) (*openDir, error) { return &openDir{root: root}, nil }

// openIn opens the folder name (one path element) in the open folder parent, making it first
// when create is set; path (the folder's path under Root) is for errors.
func openIn(parent *openDir, name, path string, create bool) (*openDir, error) {
	if create {
		if err := parent.root.Mkdir(name, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, &fs.PathError{Op: "mkdir", Path: path, Err: err}
		}
	}
	r, err := parent.root.OpenRoot(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &openDir{root: r, owned: true}, nil
}

func writeIn(dir *openDir, name string, data []byte) error {
	return dir.root.WriteFile(name, data, 0o644)
}

func createIn(dir *openDir, name string) (io.WriteCloser, error) {
	return dir.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
}

func removeIn(dir *openDir, name string) error { return dir.root.Remove(name) }

func readIn(dir *openDir, name, _ string) ([]byte, error) { return dir.root.ReadFile(name) }

// renameIn moves from to to (local paths under root), through root: the open folders here
// are roots of their own, which cannot rename across.
func renameIn(root *os.Root, _ *openDir, from string, _ *openDir, to string) error {
	return root.Rename(from, to)
}

// readDirIn lists the open folder dir through its root; name is its slash path under root.
func readDirIn(root *os.Root, dir *openDir, name string) ([]fs.DirEntry, error) {
	ents, err := fs.ReadDir(dir.root.FS(), ".")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // named by name, not by ".".
		}
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, len(ents))
	for i, e := range ents {
		out[i] = dirEntry{root: root, dir: name, name: e.Name(), typ: e.Type()}
	}
	return out, nil
}
