//go:build !linux

package gitops

import (
	"os"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// fillStat records in e the stat data of the file fi describes: elsewhere
// than on Linux, its size and modification time.
func fillStat(e *index.Entry, fi os.FileInfo) {
	e.ModifiedAt = fi.ModTime()
	e.Size = uint32(fi.Size())
}
