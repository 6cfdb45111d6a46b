package fabricdir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// openDir is a folder a Writer keeps open: a file descriptor, in which a file is written with
// a few plain system calls. Going through an *os.Root instead costs twice as many for each
// file, and for each folder a dozen (Root.MkdirAll opens every folder on the way again, and
// every file it opens is registered with the runtime's poller and given up again).
type openDir struct {
	fd   int
	root *os.File // set for Root itself: fd is its descriptor
}

func (d *openDir) close() error {
	if d.root != nil {
		return d.root.Close()
	}
	return syscall.Close(d.fd)
}

// openRootDir opens root itself as an openDir.
func openRootDir(root *os.Root) (*openDir, error) {
	f, err := root.Open(".")
	if err != nil {
		return nil, err
	}
	return &openDir{fd: int(f.Fd()), root: f}, nil
}

// openIn opens the folder name (one path element) in the open folder parent, making it first
// when create is set; path (the folder's path under Root) is for errors. A symbolic link there
// is refused (O_NOFOLLOW), never followed, and so is anything that is not a folder.
func openIn(parent *openDir, name, path string, create bool) (*openDir, error) {
	if create {
		for {
			err := syscall.Mkdirat(parent.fd, name, 0o755)
			if err == syscall.EINTR {
				continue
			}
			if err != nil && err != syscall.EEXIST {
				return nil, &fs.PathError{Op: "mkdir", Path: path, Err: err}
			}
			break
		}
	}
	fd, err := openat(parent.fd, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &openDir{fd: fd}, nil
}

// writeIn writes data to the file name (one path element) in the open folder dir, creating it
// or truncating it: openat with O_NOFOLLOW (a symbolic link there is refused, never followed),
// write and close, three system calls where going through an *os.Root costs six (its file is
// also registered with the runtime's poller, and given up again).
func writeIn(dir *openDir, name string, data []byte) error {
	fd, err := createAt(dir, name)
	if err != nil {
		return err
	}
	if err := writeAll(fd, name, data); err != nil {
		_ = syscall.Close(fd)
		return err
	}
	if err := syscall.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}

func createAt(dir *openDir, name string) (int, error) {
	fd, err := openat(dir.fd, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return fd, nil
}

func writeAll(fd int, name string, data []byte) error {
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	return nil
}

// createIn creates or truncates the file name (one path element) in the open folder dir, as
// writeIn does, and returns it open for writing.
func createIn(dir *openDir, name string) (io.WriteCloser, error) {
	fd, err := createAt(dir, name)
	if err != nil {
		return nil, err
	}
	return &fdWriter{fd: fd, name: name}, nil
}

// fdWriter is a file open for writing, as a plain descriptor (an *os.File would cost a system
// call more to make, and nothing here needs the runtime's poller).
type fdWriter struct {
	fd   int // -1 once closed
	name string
}

var (
	errClosed     = errors.New("file already closed")
	errNotRegular = errors.New("not a regular file")
)

func (f *fdWriter) Write(p []byte) (int, error) {
	if f.fd < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: errClosed}
	}
	if err := writeAll(f.fd, f.name, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (f *fdWriter) Close() error {
	if f.fd < 0 {
		return &fs.PathError{Op: "close", Path: f.name, Err: errClosed}
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &fs.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

// readIn reads the regular file name (one path element) of the open folder dir whole: openat
// with O_NOFOLLOW (a symbolic link is refused, never followed) and O_NONBLOCK (a FIFO put there
// is refused, not waited on), fstat, read, close. path (the file's path under Root) is for
// errors.
func readIn(dir *openDir, name, path string) ([]byte, error) {
	fd, err := openat(dir.fd, name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer func() { _ = syscall.Close(fd) }() // only read: closing cannot lose data
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errNotRegular}
	}
	data := make([]byte, 0, st.Size+1) // one byte more: the read that finds the end
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
	}
}

// renameIn moves the file from (a local path under Root) in the open folder src to to in the
// open folder dst: one renameat, which follows neither name.
func renameIn(_ *os.Root, src *openDir, from string, dst *openDir, to string) error {
	for {
		err := syscall.Renameat(src.fd, filepath.Base(from), dst.fd, filepath.Base(to))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &os.LinkError{Op: "rename", Old: filepath.ToSlash(from), New: filepath.ToSlash(to), Err: err}
		}
		return nil
	}
}

// removeIn removes the file name (one path element) from the open folder dir.
func removeIn(dir *openDir, name string) error {
	for {
		err := syscall.Unlinkat(dir.fd, name)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "remove", Path: name, Err: err}
		}
		return nil
	}
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, name, flags, mode)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

// readDirIn lists the open folder dir, at the slash path name under root, sorted by name, as
// fs.ReadDir does: an open of the folder of its own (the kept descriptor's offset is shared),
// getdents and close; the type of an entry comes from getdents, or for a file system that does
// not give it from an Lstat through root.
func readDirIn(root *os.Root, dir *openDir, name string) ([]fs.DirEntry, error) {
	fd, err := openat(dir.fd, ".", syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer func() { _ = syscall.Close(fd) }() // only read: closing cannot lose data
	var ents []fs.DirEntry
	buf := make([]byte, 8<<10)
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: name, Err: err}
		}
		if n <= 0 {
			break
		}
		// Records of struct linux_dirent64: d_ino (8 bytes), d_off (8), d_reclen (2),
		// d_type (1), then the name, NUL-terminated, padded to d_reclen.
		for b := buf[:n]; len(b) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(b[16:18]))
			if reclen < 19 || reclen > len(b) {
				return nil, &fs.PathError{Op: "readdirent", Path: name, Err: syscall.EIO}
			}
			rec := b[:reclen]
			b = b[reclen:]
			nm := rec[19:]
			if i := bytes.IndexByte(nm, 0); i >= 0 {
				nm = nm[:i]
			}
			if string(nm) == "." || string(nm) == ".." {
				continue
			}
			typ, ok := direntType(rec[18])
			if !ok { // DT_UNKNOWN: seldom, so the slow way
				fi, err := root.Lstat(filepath.Join(filepath.FromSlash(name), string(nm)))
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed since it was listed
				}
				if err != nil {
					return nil, err
				}
				typ = fi.Mode().Type()
			}
			ents = append(ents, dirEntry{root: root, dir: name, name: string(nm), typ: typ})
		}
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// direntType is the type bits of a getdents d_type, as the os package gives them; ok is
// false for DT_UNKNOWN.
func direntType(t uint8) (fs.FileMode, bool) {
	switch t {
	case syscall.DT_REG:
		return 0, true
	case syscall.DT_DIR:
		return fs.ModeDir, true
	case syscall.DT_LNK:
		return fs.ModeSymlink, true
	case syscall.DT_FIFO:
		return fs.ModeNamedPipe, true
	case syscall.DT_SOCK:
		return fs.ModeSocket, true
	case syscall.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice, true
	case syscall.DT_BLK:
		return fs.ModeDevice, true
	}
	return 0, false
}
