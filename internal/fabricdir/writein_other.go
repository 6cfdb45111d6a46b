//go:build !linux

package fabricdir

import (
	"errors"
	"os"
)

// useWriteIn says that writeIn and removeIn are used: not on this system, where files are
// written through *os.Root.
const useWriteIn = false

var errNoWriteIn = errors.New("fabricdir: writeIn is only used on Linux")

func writeIn(*os.File, string, []byte) error { return errNoWriteIn }

func removeIn(*os.File, string) error { return errNoWriteIn }

func createIn(*os.File, string) (*os.File, error) { return nil, errNoWriteIn }
