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
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// stateFile, inside .git, records the commit Sync last checked out, a
// fingerprint (paths, sizes, modes, modification times) of the tree it left
// behind, the checkout rules it applied (Config.Paths and MaxFileSize, the
// same for every fabric that shares the clone) and the problems it recorded
// inside Paths. A Sync that finds the remote head and the rules unchanged
// and the fingerprint equal skips the checkout, which looks at every file,
// and answers from the recorded problems inside its own Config.Path.
const stateFile = "fabsync-sync"

// Sync makes Dir an exact copy of the remote branch head, as the checkout
// rules of Config.Paths and MaxFileSize allow (see Config.Path), and returns
// the head commit hash (hex).
//
// Without a usable clone in Dir (none, corrupt, or one for another URL or
// branch) it removes whatever Dir holds and clones. Otherwise it asks the
// remote for the branch head, fetches when it moved, and checks the head out:
// the branch and HEAD point at it, local commits are dropped, every file that
// differs is rewritten and every file and folder that is not in the tree is
// removed (untracked and ignored ones included), whatever an interrupted job
// left behind; this costs a walk of the tree plus the files it writes or
// removes (see checkout.go). When the head equals the commit of the last
// checkout and the tree is untouched since, there is nothing to do: a no-op
// Sync costs one round trip to the remote. A local failure while updating (a
// broken object store, index or HEAD) is answered by one re-clone, so a
// fabric never stays stuck on a damaged clone.
//
// ctx bounds every network operation, each also bounded by Config.Timeout;
// ctx is checked between the local steps. progress, when not nil, is called
// on the caller's goroutine with the server's transfer progress.
//
// Errors wrap ErrAuth, ErrRemoteNotFound, ErrBranchNotFound (also for a
// remote repository with no commits yet: there is nothing to mirror until
// someone pushes the branch) or ErrInvalidConfig when no retry can help, and
// a *TreeError wrapping ErrBadPath or ErrFileTooLarge when the head holds,
// inside Config.Path, what the clone refuses to check out: the first such
// entry, More counting the others inside Path. Problems inside the folder
// of another fabric of Config.Paths never fail this Sync. Either way the
// head is checked out (HEAD, index and working tree) minus the refused
// entries, as for a Sync that succeeds, and a Sync with nothing new fails
// the same way, from what the checkout recorded, until someone pushes a fix.
// Anything else (network, timeout, server errors, I/O) is transient.
func (c *Client) Sync(ctx context.Context, progress func(Progress)) (string, error) {
	return c.sync(ctx, plumbing.ZeroHash, progress)
}

// SyncAt is Sync for a caller that has just asked the remote where the
// branch is (RemoteHead) and hands that answer in as head (hex): it syncs
// the clone to head without asking the remote again, which saves one round
// trip. It fetches only when the clone lacks head, and checks head out,
// exactly as Sync does for a remote head it found itself.
//
// If the branch moved since the caller asked, the clone is synced to head,
// the older commit, as a Sync would be when the branch moves right after its
// own look: a Push from there is refused (ErrPushRejected, it pushes only
// onto the commit synced) and the next Sync catches the new head. If head is
// no commit the fetch brings (the branch was rewritten meanwhile) or no hash
// at all, SyncAt asks the remote as Sync does. Without a usable clone it
// clones the branch as it is now. Errors are those of Sync.
func (c *Client) SyncAt(ctx context.Context, head string, progress func(Progress)) (string, error) {
	known := plumbing.ZeroHash
	if plumbing.IsHash(head) {
		known = plumbing.NewHash(head)
	}
	return c.sync(ctx, known, progress)
}

// sync is Sync and, for a remote head known non-zero, SyncAt.
func (c *Client) sync(ctx context.Context, known plumbing.Hash, progress func(Progress)) (string, error) {
	op := "sync " + c.cfg.Branch
	held := c.takeHeld()
	if held != nil && held.head != known {
		_ = held.close()
		held = nil
	}
	defer func() { _ = held.close() }() // update closes it when it uses it
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if repo, closeRepo := c.open(); repo != nil {
		head, err := c.update(ctx, repo, known, held, progress)
		closeRepo()
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
	// The checkout is ours (see checkout.go), with our rules for bad paths
	// and large files.
	// The object store is ours to index the pack (see pack.go); the rest is
	// what git.PlainCloneContext does.
	wt := osfs.New(c.cfg.Dir)
	dot, err := wt.Chroot(git.GitDirName)
	if err != nil {
		return "", fmt.Errorf("%s: %s", op, opaque(err))
	}
	st := filesystem.NewStorageWithOptions(dot, cache.NewObjectLRU(objectCacheSize), filesystem.Options{})
	_, err = git.CloneContext(opCtx, packStorage{st, c.cfg.MaxObjects}, wt, &git.CloneOptions{
		URL:           c.cfg.URL,
		Auth:          auth,
		ProxyOptions:  proxyOpts,
		RemoteName:    remoteName,
		ReferenceName: c.branch,
		SingleBranch:  true,
		Depth:         c.cfg.Depth,
		Tags:          git.NoTags,
		NoCheckout:    true,
		Progress:      newProgress(progress),
	})
	_ = st.Close() // releases file descriptors; nothing to flush
	if err != nil {
		// Make sure nothing half-done stays.
		_ = emptyDir(c.cfg.Dir)
		return "", c.netErr(opCtx, op, err)
	}
	repo, closeRepo, err := c.openRepo()
	if err != nil {
		return "", fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	ref, err := repo.Storer.Reference(c.branch)
	if err != nil {
		return "", fmt.Errorf("%s: read branch: %s", op, opaque(err))
	}
	// An interrupted checkout keeps the clone: the next Sync fetches only
	// what is new and checks out again.
	fp, problems, err := c.reset(ctx, repo, ref.Hash())
	if err := c.resetErr(ctx, op, err); err != nil {
		return "", err
	}
	if err := c.saveState(ref.Hash(), fp, problems); err != nil {
		return "", fmt.Errorf("%s: %s", op, opaque(err))
	}
	if te := c.ownProblem(problems); te != nil {
		return "", fmt.Errorf("%s: %w", op, te)
	}
	return ref.Hash().String(), nil
}

// resetErr words an error of reset for op: a context error is wrapped
// (callers branch on it), anything else is flattened.
func (c *Client) resetErr(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	return fmt.Errorf("%s: %s", op, opaque(err))
}

// update brings an existing clone to the remote head: known when not zero
// (SyncAt), else asked for. Failures of the local clone are returned as
// *localError.
//
// held, when not nil, is RemoteHead's look at the remote that gave known: the fetch uses it
// instead of looking again (held.go), and closes it. When the remote refuses that fetch
// (the branch was rewritten since), update asks the remote as Sync does.
func (c *Client) update(ctx context.Context, repo *git.Repository, known plumbing.Hash, held *heldAdvertisement, progress func(Progress)) (string, error) {
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
	// the no-op check below needs it, unless it cannot pass whatever the
	// tree holds (couldBeUnchanged): after a commit of ours, say, the
	// branch is no longer the commit the last checkout recorded.
	fpDone := make(chan struct{})
	var fp string
	var fpErr error
	if c.couldBeUnchanged(repo, known) {
		go func() {
			defer close(fpDone)
			fp, fpErr = fingerprint(c.cfg.Dir)
		}()
	} else {
		fpErr = errNoFingerprint
		close(fpDone)
	}
	defer func() { <-fpDone }()

	// One look at the advertised refs tells whether there is anything to
	// fetch; a no-op sync then costs this one round trip, like `git fetch`.
	// SyncAt's caller has looked already.
	target := known
	if target.IsZero() {
		var found bool
		target, found, err = c.advertised(ctx, op, remote, auth, c.branch)
		if err != nil {
			return "", err
		}
		if !found {
			return "", fmt.Errorf("%s: %w", op, ErrBranchNotFound)
		}
	}

	if held != nil && c.hasCommit(repo, target) {
		_ = held.close()
		held = nil
	}
	if held != nil {
		opCtx, cancel := c.opContext(ctx)
		err := c.fetchHeld(opCtx, repo, held, target, newProgress(progress))
		opErr := opCtx.Err()
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return "", fmt.Errorf("%s: %w", op, ctx.Err())
		case opErr != nil || isNetwork(err):
			if opErr != nil {
				err = opErr
			}
			return "", c.translate(op, err)
		default:
			// Refused (no longer a commit of the branch, say), or a failure of the clone:
			// Sync's way finds out which.
			<-fpDone
			return c.update(ctx, repo, plumbing.ZeroHash, nil, progress)
		}
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
			if !known.IsZero() {
				// The branch no longer holds the caller's head: ask the
				// remote, as Sync does.
				<-fpDone
				return c.update(ctx, repo, plumbing.ZeroHash, nil, progress)
			}
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
	problems, same := []TreeError(nil), false
	if fpErr == nil {
		problems, same = c.unchanged(repo, target, fp)
	}
	if !same {
		newFP, found, err := c.reset(ctx, repo, target)
		if err != nil {
			if ctx.Err() != nil {
				return "", c.resetErr(ctx, "sync "+c.cfg.Branch, err)
			}
			return "", &localError{c.resetErr(ctx, "reset "+c.cfg.Branch, err)}
		}
		if err := c.saveState(target, newFP, found); err != nil {
			return "", &localError{fmt.Errorf("reset %s: %s", c.cfg.Branch, opaque(err))}
		}
		problems = found
	}
	if te := c.ownProblem(problems); te != nil {
		return "", fmt.Errorf("sync %s: %w", c.cfg.Branch, te)
	}
	return target.String(), nil
}

// ownProblem returns the first of problems (of one checkout, in tree order)
// inside Config.Path, More counting the others inside Path, or nil when
// none is: what is wrong in another fabric's folder is that fabric's
// problem.
func (c *Client) ownProblem(problems []TreeError) *TreeError {
	var first *TreeError
	for i := range problems {
		if !c.within(problems[i].Path) {
			continue
		}
		if first != nil {
			first.More++
			continue
		}
		te := problems[i]
		te.More = 0
		first = &te
	}
	return first
}

func (c *Client) hasCommit(repo *git.Repository, h plumbing.Hash) bool {
	_, err := repo.CommitObject(h)
	return err == nil
}

// errNoFingerprint stands for the fingerprint update does not take when
// unchanged could not pass anyway.
var errNoFingerprint = errors.New("no fingerprint taken")

// couldBeUnchanged reports whether unchanged could pass for some target
// (for known, when not zero): whether the branch is the commit that the
// last checkout recorded in stateFile (and known). It reads the branch and
// the first line's commit only, so that a sync after a commit of ours (the
// branch moved on from what was checked out) does not stat every file of
// the tree for nothing.
func (c *Client) couldBeUnchanged(repo *git.Repository, known plumbing.Hash) bool {
	ref, err := repo.Storer.Reference(c.branch)
	if err != nil || (!known.IsZero() && ref.Hash() != known) {
		return false
	}
	saved, err := os.ReadFile(filepath.Join(c.cfg.Dir, git.GitDirName, stateFile))
	if err != nil {
		return false
	}
	commit, _, _ := strings.Cut(string(saved), " ")
	return commit == ref.Hash().String()
}

// unchanged reports whether HEAD is the branch at target and the tree is as
// the last reset left it, under the checkout rules of this client, and if
// so returns the problems that reset recorded.
func (c *Client) unchanged(repo *git.Repository, target plumbing.Hash, fp string) ([]TreeError, bool) {
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != c.branch {
		return nil, false
	}
	ref, err := repo.Storer.Reference(c.branch)
	if err != nil || ref.Hash() != target {
		return nil, false
	}
	saved, err := os.ReadFile(filepath.Join(c.cfg.Dir, git.GitDirName, stateFile))
	if err != nil {
		return nil, false
	}
	return c.parseState(string(saved), target, fp)
}

// saveState records a checkout of target that left the tree with
// fingerprint fp ("": walk the tree to take it) and found problems. The
// file is replaced whole (written beside it, then renamed), so that a crash
// never leaves a state that matches with problems missing.
func (c *Client) saveState(target plumbing.Hash, fp string, problems []TreeError) error {
	if fp == "" {
		var err error
		if fp, err = fingerprint(c.cfg.Dir); err != nil {
			return fmt.Errorf("fingerprint tree: %s", opaque(err))
		}
	}
	name := filepath.Join(c.cfg.Dir, git.GitDirName, stateFile)
	if err := os.WriteFile(name+".tmp", []byte(c.state(target, fp, problems)), 0o644); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

// state is the content of stateFile after a checkout of target that left
// the tree with fingerprint fp and found problems: a first line with the
// commit, the fingerprint, the checkout rules (Config.Paths and
// MaxFileSize, not Path: the fabrics sharing a clone share its checkout)
// and the number of problems, then a line per problem. A clone checked out
// under other rules holds other files and must be checked out again; a
// state file of another format never matches.
func (c *Client) state(target plumbing.Hash, fp string, problems []TreeError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%d\n", c.stateKey(target, fp), len(problems))
	for _, p := range problems {
		if errors.Is(p.Err, ErrFileTooLarge) {
			fmt.Fprintf(&b, "large %s %d %d\n", strconv.Quote(p.Path), p.Size, p.Limit)
		} else {
			fmt.Fprintf(&b, "bad %s %s\n", strconv.Quote(p.Path), strconv.Quote(p.Reason))
		}
	}
	return b.String()
}

// stateKey is the start of the first line of stateFile, up to the number
// of problems.
func (c *Client) stateKey(target plumbing.Hash, fp string) string {
	paths := make([]string, len(c.cfg.Paths))
	for i, p := range c.cfg.Paths {
		paths[i] = strconv.Quote(p)
	}
	return fmt.Sprintf("%s %s paths=%s max=%d problems=", target, fp, strings.Join(paths, ","), c.cfg.MaxFileSize)
}

// parseState reads the problems from saved, the content of stateFile, when
// it records a checkout of target with fingerprint fp under this client's
// rules; ok is false otherwise, and for anything it cannot read.
func (c *Client) parseState(saved string, target plumbing.Hash, fp string) (problems []TreeError, ok bool) {
	rest, ok := strings.CutPrefix(saved, c.stateKey(target, fp))
	if !ok {
		return nil, false
	}
	lines := strings.Split(rest, "\n")
	n, err := strconv.Atoi(lines[0])
	if err != nil || n < 0 || len(lines) != n+2 || lines[n+1] != "" {
		return nil, false
	}
	problems = make([]TreeError, 0, n)
	for _, line := range lines[1 : n+1] {
		te, ok := parseProblem(line)
		if !ok {
			return nil, false
		}
		te.Commit = target.String()
		problems = append(problems, te)
	}
	return problems, true
}

// parseProblem reads one problem line of stateFile (see state).
func parseProblem(line string) (TreeError, bool) {
	kind, rest, _ := strings.Cut(line, " ")
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return TreeError{}, false
	}
	p, _ := strconv.Unquote(q) // a quoted prefix always unquotes
	rest, ok := strings.CutPrefix(rest[len(q):], " ")
	if !ok {
		return TreeError{}, false
	}
	switch kind {
	case "bad":
		why, err := strconv.Unquote(rest)
		if err != nil {
			return TreeError{}, false
		}
		return TreeError{Path: p, Reason: why, Err: ErrBadPath}, true
	case "large":
		var size, limit int64
		if n, err := fmt.Sscanf(rest, "%d %d", &size, &limit); err != nil || n != 2 || rest != fmt.Sprintf("%d %d", size, limit) {
			return TreeError{}, false
		}
		return TreeError{Path: p, Size: size, Limit: limit, Err: ErrFileTooLarge}, true
	}
	return TreeError{}, false
}

// fingerprint hashes the path, type, size and modification time of every
// entry of the working tree (not .git). Any edit, creation or deletion
// changes it; it reads no file contents.
func fingerprint(root string) (string, error) {
	var seen []statLine
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
		seen = append(seen, statLine{filepath.ToSlash(rel), info})
		return nil
	})
	if err != nil {
		return "", err
	}
	return fingerprintOf(seen), nil
}

// statLine is one entry of the working tree: its slash path and what lstat
// says of it.
type statLine struct {
	path string
	fi   os.FileInfo
}

// fingerprintOf hashes the entries of a working tree in the order a walk
// visits them (each folder's names sorted, a folder before what it holds),
// whatever order they come in, so that a checkout can tell the fingerprint
// of the tree it wrote without walking it again.
func fingerprintOf(seen []statLine) string {
	// A walk's order is the paths' order with "/" sorting before every
	// other byte.
	keys := make([]string, len(seen))
	order := make([]int, len(seen))
	for i, s := range seen {
		keys[i], order[i] = strings.ReplaceAll(s.path, "/", "\x00"), i
	}
	sort.Slice(order, func(i, j int) bool { return keys[order[i]] < keys[order[j]] })
	h := sha256.New()
	var line []byte
	for _, i := range order {
		s := seen[i]
		line = fmt.Appendf(line[:0], "%s\x00%o\x00%d\x00%d\n", filepath.FromSlash(s.path), s.fi.Mode(), s.fi.Size(), s.fi.ModTime().UnixNano())
		h.Write(line) // a hash.Hash never returns an error
	}
	return hex.EncodeToString(h.Sum(nil))
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

// Discard throws away every local change and local commit: the branch, the
// index and the working tree become the remote head the last Sync fetched
// (refs/remotes/origin/<branch>), as if that Sync had just ended. It does no
// network I/O. Call it after an ingest that failed or was canceled after
// writing into the working tree or committing, so that the clone is clean at
// once and the next Sync costs its usual round trip. Without a usable clone
// it does nothing: the next Sync clones. ctx is checked between local steps.
// Errors wrap ErrBadPath or ErrFileTooLarge (in a *TreeError) when the remote
// head holds what Sync refuses inside Config.Path, as for Sync: the tree is
// checked out all the same, minus the refused entries. Any other error is
// transient, and the next Sync repairs the clone.
func (c *Client) Discard(ctx context.Context) error {
	op := "discard " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	repo, closeRepo := c.open()
	if repo == nil {
		return nil
	}
	defer closeRepo()
	ref, err := repo.Storer.Reference(c.tracking)
	if err != nil {
		return nil // not synced yet: Sync will
	}
	fp, problems, err := c.reset(ctx, repo, ref.Hash())
	if err := c.resetErr(ctx, op, err); err != nil {
		return err
	}
	if err := c.saveState(ref.Hash(), fp, problems); err != nil {
		return fmt.Errorf("%s: %s", op, opaque(err))
	}
	if te := c.ownProblem(problems); te != nil {
		return fmt.Errorf("%s: %w", op, te)
	}
	return nil
}
