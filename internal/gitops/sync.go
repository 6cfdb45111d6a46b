package gitops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
)

// stateFile, inside .git, records the commit Sync last reset the tree to and
// a fingerprint (paths, sizes, modes, modification times) of the tree it left
// behind. A Sync that finds the remote head unchanged and the fingerprint
// equal skips go-git's hard reset, which re-examines every file.
const stateFile = "fabsync-sync"

// Sync makes Dir an exact copy of the remote branch head and returns the
// head commit hash (hex).
//
// Without a usable clone in Dir (none, corrupt, or one for another URL or
// branch) it removes whatever Dir holds and clones. Otherwise it asks the
// remote for the branch head, fetches when it moved, and hard-resets the
// tree and removes untracked (and ignored) files, leaving local commits and
// edits behind. When the head equals the commit of the last reset and the
// tree is untouched since, the reset is skipped: a no-op Sync costs one
// round trip to the remote. A local failure while updating (a broken object
// store, index or HEAD) is answered by one re-clone, so a fabric never stays
// stuck on a damaged clone.
//
// ctx bounds every network operation, each also bounded by Config.Timeout;
// ctx is checked between the local steps. progress, when not nil, is called
// on the caller's goroutine with the server's transfer progress.
//
// Errors wrap ErrAuth, ErrRemoteNotFound, ErrBranchNotFound (also for a
// remote repository with no commits yet: there is nothing to mirror until
// someone pushes the branch) or ErrInvalidConfig when no retry can help;
// anything else (network, timeout, server errors, I/O) is transient.
func (c *Client) Sync(ctx context.Context, progress func(Progress)) (string, error) {
	op := "sync " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if repo := c.open(); repo != nil {
		head, err := c.update(ctx, repo, progress)
		var local *localError
		if err == nil || !errors.As(err, &local) || ctx.Err() != nil {
			return head, err
		}
		// The clone is damaged: start over.
	}
	return c.clone(ctx, progress)
}

// clone replaces whatever Dir holds by a fresh clone.
func (c *Client) clone(ctx context.Context, progress func(Progress)) (string, error) {
	op := "clone " + c.cfg.Branch
	if err := emptyDir(c.cfg.Dir); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	auth, err := c.authMethod(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	proxyOpts, done := c.proxyFor(opCtx)
	defer done()
	repo, err := git.PlainCloneContext(opCtx, c.cfg.Dir, false, &git.CloneOptions{
		URL:           c.cfg.URL,
		Auth:          auth,
		ProxyOptions:  proxyOpts,
		RemoteName:    remoteName,
		ReferenceName: c.branch,
		SingleBranch:  true,
		Depth:         c.cfg.Depth,
		Tags:          git.NoTags,
		Progress:      newProgress(progress),
	})
	if err != nil {
		// go-git removes what it wrote; make sure nothing half-done stays.
		_ = emptyDir(c.cfg.Dir)
		return "", c.netErr(opCtx, op, err)
	}
	ref, err := repo.Storer.Reference(c.branch)
	if err != nil {
		return "", fmt.Errorf("%s: read branch: %s", op, opaque(err))
	}
	if err := c.saveState(ref.Hash()); err != nil {
		return "", fmt.Errorf("%s: %s", op, opaque(err))
	}
	return ref.Hash().String(), nil
}

// update brings an existing clone to the remote head. Failures of the local
// clone are returned as *localError.
func (c *Client) update(ctx context.Context, repo *git.Repository, progress func(Progress)) (string, error) {
	op := "fetch " + c.cfg.Branch
	auth, err := c.authMethod(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	remote, err := repo.Remote(remoteName)
	if err != nil {
		return "", &localError{fmt.Errorf("%s: %s", op, opaque(err))}
	}

	// Fingerprint the tree (a stat of every file) while the remote answers;
	// the no-op check below needs it.
	fpDone := make(chan struct{})
	var fp string
	var fpErr error
	go func() {
		defer close(fpDone)
		fp, fpErr = fingerprint(c.cfg.Dir)
	}()
	defer func() { <-fpDone }()

	// One look at the advertised refs tells whether there is anything to
	// fetch; a no-op sync then costs this one round trip, like `git fetch`.
	opCtx, cancel := c.opContext(ctx)
	proxyOpts, done := c.proxyFor(opCtx)
	refs, err := remote.ListContext(opCtx, &git.ListOptions{Auth: auth, ProxyOptions: proxyOpts})
	if err != nil {
		err = c.netErr(opCtx, op, err)
	}
	done()
	cancel()
	if err != nil {
		return "", err
	}
	var target plumbing.Hash
	for _, r := range refs {
		if r.Name() == c.branch {
			target = r.Hash()
		}
	}
	if target.IsZero() {
		return "", fmt.Errorf("%s: %w", op, ErrBranchNotFound)
	}

	if !c.hasCommit(repo, target) {
		opCtx, cancel := c.opContext(ctx)
		proxyOpts, done := c.proxyFor(opCtx)
		err := remote.FetchContext(opCtx, &git.FetchOptions{
			RemoteName:   remoteName,
			RefSpecs:     []config.RefSpec{config.RefSpec(c.fetchSpec)},
			Auth:         auth,
			ProxyOptions: proxyOpts,
			Depth:        c.cfg.Depth,
			Tags:         git.NoTags,
			Force:        true,
			Progress:     newProgress(progress),
		})
		opErr := opCtx.Err()
		done()
		cancel()
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			if opErr != nil {
				err = opErr
			}
			terr := c.translate(op, err)
			if IsPermanent(terr) || ctx.Err() != nil || isNetwork(err) ||
				errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return "", terr
			}
			return "", &localError{terr}
		}
		if !c.hasCommit(repo, target) {
			return "", &localError{fmt.Errorf("%s: fetched commit %s is missing", op, target)}
		}
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	// The head may have moved between the listing and the fetch; what we
	// record as the remote head is what we reset to.
	if err := repo.Storer.SetReference(plumbing.NewHashReference(c.tracking, target)); err != nil {
		return "", &localError{fmt.Errorf("%s: update %s: %s", op, c.tracking.Short(), opaque(err))}
	}

	<-fpDone
	if fpErr == nil && c.unchanged(repo, target, fp) {
		return target.String(), nil
	}
	if err := c.reset(repo, target); err != nil {
		return "", &localError{fmt.Errorf("reset %s: %s", c.cfg.Branch, opaque(err))}
	}
	if err := c.saveState(target); err != nil {
		return "", &localError{fmt.Errorf("reset %s: %s", c.cfg.Branch, opaque(err))}
	}
	return target.String(), nil
}

func (c *Client) hasCommit(repo *git.Repository, h plumbing.Hash) bool {
	_, err := repo.CommitObject(h)
	return err == nil
}

// unchanged reports whether HEAD is the branch at target and the tree is as
// the last reset left it.
func (c *Client) unchanged(repo *git.Repository, target plumbing.Hash, fp string) bool {
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != c.branch {
		return false
	}
	ref, err := repo.Storer.Reference(c.branch)
	if err != nil || ref.Hash() != target {
		return false
	}
	saved, err := os.ReadFile(filepath.Join(c.cfg.Dir, git.GitDirName, stateFile))
	if err != nil {
		return false
	}
	return string(saved) == target.String()+" "+fp+"\n"
}

// reset points HEAD at the branch, the branch at target, and makes the tree
// and index exactly target's tree.
func (c *Client) reset(repo *git.Repository, target plumbing.Hash) error {
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, c.branch)); err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: target, Mode: git.HardReset}); err != nil {
		return err
	}
	return c.clean(repo)
}

// clean removes every file and directory the index does not track, ignored
// ones included (git clean -ffdx). go-git's Worktree.Clean keeps ignored
// files and computes a full status; the index alone says what to keep.
func (c *Client) clean(repo *git.Repository) error {
	idx, err := repo.Storer.Index()
	if err != nil {
		return err
	}
	files := make(map[string]bool, len(idx.Entries))
	dirs := map[string]bool{}
	for _, e := range idx.Entries {
		files[e.Name] = true
		for d := e.Name; ; {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				break
			}
			d = d[:i]
			if dirs[d] {
				break
			}
			dirs[d] = true
		}
	}
	root := c.cfg.Dir
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel := filepath.ToSlash(p[len(root)+1:])
		if d.IsDir() {
			if rel == git.GitDirName {
				return filepath.SkipDir
			}
			if !dirs[rel] {
				if err := os.RemoveAll(p); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return nil
		}
		if !files[rel] {
			return os.Remove(p)
		}
		return nil
	})
}

func (c *Client) saveState(target plumbing.Hash) error {
	fp, err := fingerprint(c.cfg.Dir)
	if err != nil {
		return fmt.Errorf("fingerprint tree: %s", opaque(err))
	}
	return os.WriteFile(filepath.Join(c.cfg.Dir, git.GitDirName, stateFile), []byte(target.String()+" "+fp+"\n"), 0o644)
}

// fingerprint hashes the path, type, size and modification time of every
// entry of the working tree (not .git). Any edit, creation or deletion
// changes it; it reads no file contents.
func fingerprint(root string) (string, error) {
	h := sha256.New()
	var line []byte
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel := p[len(root)+1:]
		if d.IsDir() && rel == git.GitDirName {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line = fmt.Appendf(line[:0], "%s\x00%o\x00%d\x00%d\n", rel, info.Mode(), info.Size(), info.ModTime().UnixNano())
		h.Write(line) // a hash.Hash never returns an error
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// emptyDir makes dir an existing, empty directory. It removes dir's entries
// rather than dir itself, which may be a mount point.
func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		// A file where the directory should be.
		if rmErr := os.Remove(dir); rmErr != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
