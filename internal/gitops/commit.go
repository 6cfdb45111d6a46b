package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
)

// Commit stages every change under the slash-separated subdirectory dir of
// the working tree (added, modified and deleted files, a removed directory
// included; dir "" or "." is the whole tree) and commits it on top of the
// current HEAD with the configured author as author and committer. message is
// used as given: the caller includes its "Fabsync-Job: <id>" trailer.
//
// It returns the new commit hash and true, or ("", false, nil) when nothing
// under dir changed. Changes outside dir are neither staged nor committed.
// Commit does no network I/O; ctx is checked between its local steps. It
// needs a clone made by Sync.
func (c *Client) Commit(ctx context.Context, dir, message string) (string, bool, error) {
	op := "commit " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	dir, err := cleanSubdir(dir)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	repo, err := c.openLocal()
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	if err := stage(repo, wt, c.cfg.Dir, dir); err != nil {
		return "", false, fmt.Errorf("%s: stage %s: %s", op, dir, opaque(err))
	}
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	sig := c.signature()
	h, err := wt.Commit(message, &git.CommitOptions{Author: sig, Committer: sig})
	if errors.Is(err, git.ErrEmptyCommit) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	return h.String(), true, nil
}

// stage updates the index with the working tree's state of dir.
func stage(repo *git.Repository, wt *git.Worktree, root, dir string) error {
	if dir == "." {
		return wt.AddWithOptions(&git.AddOptions{All: true})
	}
	if _, err := os.Lstat(filepath.Join(root, filepath.FromSlash(dir))); err == nil {
		// go-git's directory add covers additions, edits and deletions.
		return wt.AddWithOptions(&git.AddOptions{Path: dir})
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// The whole directory is gone: every entry under it is a deletion (go-git
	// would only look for an entry named exactly dir).
	idx, err := repo.Storer.Index()
	if err != nil {
		return err
	}
	kept := idx.Entries[:0]
	removed := false
	for _, e := range idx.Entries {
		if e.Name == dir || strings.HasPrefix(e.Name, dir+"/") {
			removed = true
			continue
		}
		kept = append(kept, e)
	}
	if !removed {
		return nil
	}
	idx.Entries = kept
	return repo.Storer.SetIndex(idx)
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

// openLocal opens the clone for a local operation.
func (c *Client) openLocal() (*git.Repository, error) {
	repo, err := git.PlainOpen(c.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("no usable clone in %s (Sync first): %s", c.cfg.Dir, opaque(err))
	}
	return repo, nil
}
