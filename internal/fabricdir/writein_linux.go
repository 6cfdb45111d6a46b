package fabricdir

import (
	"io/fs"
	"os"
	"syscall"
)

// useWriteIn says that writeIn and removeIn are used (see openDir).
const useWriteIn = true

// writeIn writes data to the file name (one path element) in the open folder dir, creating it
// or truncating it: openat with O_NOFOLLOW (a symbolic link there is refused, never followed),
// write and close, three system calls where going through an *os.Root costs six (its file is
// also registered with the runtime's poller, and given up again).
func writeIn(dir *os.File, name string, data []byte) error {
	fd, err := openat(int(dir.Fd()), name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	for len(data) > 0 {
		n, err := syscall.Write(fd, data)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			_ = syscall.Close(fd)
			return &fs.PathError{Op: "write", Path: name, Err: err}
		}
		data = data[n:]
	}
	if err := syscall.Close(fd); err != nil {
		return &fs.PathError{Op: "close", Path: name, Err: err}
	}
	return nil
}

// createIn creates or truncates the file name (one path element) in the open folder dir, as
// writeIn does, and returns it open for writing.
func createIn(dir *os.File, name string) (*os.File, error) {
	fd, err := openat(int(dir.Fd()), name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// removeIn removes the file name (one path element) from the open folder dir.
func removeIn(dir *os.File, name string) error {
	for {
		err := syscall.Unlinkat(int(dir.Fd()), name)
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
