package gitops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// FindTrailer looks through the last limit commits reachable from HEAD,
// following first parents, for one whose message ends in a trailer block
// holding the line "<key>: <value>" (key compared without regard to case,
// value exactly), and returns its hash. limit <= 0 searches all of the local
// history. In a shallow clone the search stops at the shallow boundary, so
// keep limit within Config.Depth (see RecommendedDepth).
//
// It is local: it does no network I/O.
func (c *Client) FindTrailer(key, value string, limit int) (string, bool, error) {
	op := "find trailer " + key
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	head, err := repo.Head()
	if err != nil {
		return "", false, fmt.Errorf("%s: read HEAD: %s", op, opaque(err))
	}
	h := head.Hash()
	for n := 0; limit <= 0 || n < limit; n++ {
		commit, err := repo.CommitObject(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) && n > 0 {
			break // the shallow boundary
		}
		if err != nil {
			return "", false, fmt.Errorf("%s: read commit %s: %s", op, h, opaque(err))
		}
		if hasTrailer(commit, key, value) {
			return commit.Hash.String(), true, nil
		}
		if len(commit.ParentHashes) == 0 {
			break
		}
		h = commit.ParentHashes[0]
	}
	return "", false, nil
}

// hasTrailer reports whether the last paragraph of the commit message (the
// git trailer block) holds "key: value".
func hasTrailer(commit *object.Commit, key, value string) bool {
	msg := strings.TrimRight(strings.ReplaceAll(commit.Message, "\r\n", "\n"), "\n \t")
	if i := strings.LastIndex(msg, "\n\n"); i >= 0 {
		msg = msg[i+2:]
	}
	for _, line := range strings.Split(msg, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) && strings.TrimSpace(v) == value {
			return true
		}
	}
	return false
}
