package gitops

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrLeaseLost reports that PushTo found the other branch somewhere else than
// the caller expected: someone (or another fabsync worker) moved, created or
// deleted it since the caller read its head. Nothing was pushed. The caller
// reads the head again, redoes its change and pushes again.
var ErrLeaseLost = errors.New("push rejected: the branch is not where fabsync left it")

var hexHash = regexp.MustCompile(`^[0-9a-f]{40}$`)

// BranchHead asks the remote where branch (a branch name such as
// "fabsync/lab", not a ref) is: one round trip, like `git ls-remote`. found
// is false when the remote has no such branch. It fetches nothing. Errors
// wrap ErrAuth, ErrRemoteNotFound or ErrInvalidConfig when permanent.
func (c *Client) BranchHead(ctx context.Context, branch string) (hash string, found bool, err error) {
	op := "read branch " + branch
	ref, err := branchRef(branch)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	remote, err := repo.Remote(remoteName)
	if err != nil {
		return "", false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	auth, err := c.authMethod(ctx)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", op, err)
	}
	head, found, err := c.advertised(ctx, op, remote, auth, ref)
	if err != nil || !found {
		return "", false, err
	}
	return head.String(), true, nil
}

// PushTo pushes the clone's commit (HEAD after Sync and Commit) to branch,
// another branch than the one the Client mirrors, replacing whatever branch
// holds, but only where the caller expects it: a force push with a lease.
// expectOld is the branch's head as BranchHead reported it, "" when it had
// none. When the remote branch is elsewhere (moved, created or deleted
// meanwhile), nothing is pushed and the error wraps ErrLeaseLost.
//
// The lease is go-git's RequireRemoteRefs, checked against the refs the
// remote advertises for this very push, and the update sent names the old
// head, which the remote checks again under its ref lock; a branch expected
// absent is pushed without force, so that a branch that appeared meanwhile
// is refused unless it only holds commits of ours already (a fast-forward).
//
// ctx (and Config.Timeout) bound the push. Errors wrap ErrAuth,
// ErrRemoteNotFound or ErrInvalidConfig when permanent.
func (c *Client) PushTo(ctx context.Context, branch, expectOld string) error {
	op := "push " + branch
	dst, err := branchRef(branch)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if dst == c.branch {
		return fmt.Errorf("%s: %w: PushTo pushes to another branch than the clone's (use Push)", op, ErrInvalidConfig)
	}
	if expectOld != "" && !hexHash.MatchString(expectOld) {
		return fmt.Errorf("%s: %w: expected head %q is not a commit hash", op, ErrInvalidConfig, expectOld)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	if _, err := repo.Storer.Reference(c.branch); err != nil {
		return fmt.Errorf("%s: read branch: %s", op, opaque(err))
	}
	auth, err := c.authMethod(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	opts := &git.PushOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{config.RefSpec(c.branch.String() + ":" + dst.String())},
		Auth:       auth,
	}
	if expectOld != "" {
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + c.branch.String() + ":" + dst.String())}
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(expectOld + ":" + dst.String())}
	}
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	proxyOpts, done := c.proxyFor(opCtx)
	defer done()
	opts.ProxyOptions = proxyOpts
	err = repo.PushContext(opCtx, opts)
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		c.own.forget() // on the remote now
		return nil
	}
	terr := c.netErr(opCtx, op, err)
	if errors.Is(terr, ErrPushRejected) {
		return fmt.Errorf("%s: %w", op, ErrLeaseLost)
	}
	return terr
}

// FetchBranch brings commit hash, the head of the remote branch as
// BranchHead reported it, into the clone (with the clone's Depth), so that
// ReadCommit and SameTree can look at it. It fetches nothing when the clone
// has the commit already (one this clone pushed, say). It records the branch
// under refs/remotes/origin/<branch> and leaves the clone's own branch, HEAD
// and working tree alone. A branch that moved away from hash meanwhile gives
// an error wrapping ErrLeaseLost.
func (c *Client) FetchBranch(ctx context.Context, branch, hash string) error {
	op := "fetch " + branch
	ref, err := branchRef(branch)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !hexHash.MatchString(hash) {
		return fmt.Errorf("%s: %w: %q is not a commit hash", op, ErrInvalidConfig, hash)
	}
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	want := plumbing.NewHash(hash)
	if c.hasCommit(repo, want) {
		return nil
	}
	auth, err := c.authMethod(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	proxyOpts, done := c.proxyFor(opCtx)
	defer done()
	tracking := plumbing.NewRemoteReferenceName(remoteName, branch)
	err = repo.FetchContext(opCtx, &git.FetchOptions{
		RemoteName:   remoteName,
		RefSpecs:     []config.RefSpec{config.RefSpec("+" + ref.String() + ":" + tracking.String())},
		Auth:         auth,
		ProxyOptions: proxyOpts,
		Depth:        c.cfg.Depth,
		Tags:         git.NoTags,
		Force:        true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return c.netErr(opCtx, op, err)
	}
	if !c.hasCommit(repo, want) {
		return fmt.Errorf("%s: %w: the branch moved away from %.10s", op, ErrLeaseLost, hash)
	}
	return nil
}

// CommitInfo is what ReadCommit tells of a commit.
type CommitInfo struct {
	Hash    string   // hex
	Tree    string   // hex hash of its root tree
	Parents []string // hex, first parent first
	Message string
}

// HasTrailer reports whether the commit's message ends in a trailer block
// holding "key: value", as FindTrailer looks for it.
func (ci CommitInfo) HasTrailer(key, value string) bool {
	return hasTrailer(&object.Commit{Message: ci.Message}, key, value)
}

// ReadCommit reads commit hash from the clone. It does no network I/O.
func (c *Client) ReadCommit(hash string) (CommitInfo, error) {
	op := "read commit " + short10(hash)
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return CommitInfo{}, fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	commit, err := repo.CommitObject(plumbing.NewHash(hash))
	if err != nil {
		return CommitInfo{}, fmt.Errorf("%s: %s", op, opaque(err))
	}
	ci := CommitInfo{Hash: commit.Hash.String(), Tree: commit.TreeHash.String(), Message: commit.Message}
	for _, p := range commit.ParentHashes {
		ci.Parents = append(ci.Parents, p.String())
	}
	return ci, nil
}

// SameTree reports whether commits a and b hold the same files (paths, modes
// and contents), apart from what lies under the folders in ignore
// (slash-separated, from the repository root; "gitops/lab/.hnp", say). Both
// commits must be in the clone (FetchBranch). It does no network I/O, and
// it reads only the trees on the way to a difference: subtrees with the same
// hash are equal without a look inside.
func (c *Client) SameTree(a, b string, ignore ...string) (bool, error) {
	op := fmt.Sprintf("compare %s with %s", short10(a), short10(b))
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	var trees [2]*object.Tree
	for i, h := range []string{a, b} {
		commit, err := repo.CommitObject(plumbing.NewHash(h))
		if err != nil {
			return false, fmt.Errorf("%s: read commit %s: %s", op, short10(h), opaque(err))
		}
		if trees[i], err = commit.Tree(); err != nil {
			return false, fmt.Errorf("%s: read tree of %s: %s", op, short10(h), opaque(err))
		}
	}
	skip := map[string]bool{}
	for _, p := range ignore {
		if p = path.Clean(strings.Trim(p, "/")); p != "." && p != "" {
			skip[p] = true
		}
	}
	same, err := sameTree(repo, trees[0], trees[1], "", skip)
	if err != nil {
		return false, fmt.Errorf("%s: %s", op, opaque(err))
	}
	return same, nil
}

// sameTree compares trees x and y, found at dir ("" for the root), leaving
// out the paths in skip.
func sameTree(repo *git.Repository, x, y *object.Tree, dir string, skip map[string]bool) (bool, error) {
	if x.Hash == y.Hash {
		return true, nil
	}
	byName := func(t *object.Tree) map[string]object.TreeEntry {
		m := make(map[string]object.TreeEntry, len(t.Entries))
		for _, e := range t.Entries {
			m[e.Name] = e
		}
		return m
	}
	xs, ys := byName(x), byName(y)
	names := make(map[string]bool, len(xs)+len(ys))
	for n := range xs {
		names[n] = true
	}
	for n := range ys {
		names[n] = true
	}
	for n := range names {
		p := n
		if dir != "" {
			p = dir + "/" + n
		}
		if skip[p] {
			continue
		}
		ex, okx := xs[n]
		ey, oky := ys[n]
		if !okx || !oky {
			if underSkip(p, skip) && (okx && ex.Mode == filemode.Dir || oky && ey.Mode == filemode.Dir) {
				// A folder on one side only: equal if all it holds is ignored.
				e := ex
				if !okx {
					e = ey
				}
				sub, err := repo.TreeObject(e.Hash)
				if err != nil {
					return false, err
				}
				empty, err := sameTree(repo, sub, &object.Tree{}, p, skip)
				if err != nil || !empty {
					return false, err
				}
				continue
			}
			return false, nil
		}
		if ex.Hash == ey.Hash && ex.Mode == ey.Mode {
			continue
		}
		if ex.Mode != filemode.Dir || ey.Mode != filemode.Dir || !underSkip(p, skip) {
			return false, nil
		}
		sx, err := repo.TreeObject(ex.Hash)
		if err != nil {
			return false, err
		}
		sy, err := repo.TreeObject(ey.Hash)
		if err != nil {
			return false, err
		}
		if same, err := sameTree(repo, sx, sy, p, skip); err != nil || !same {
			return false, err
		}
	}
	return true, nil
}

// underSkip reports whether some path in skip lies inside folder p.
func underSkip(p string, skip map[string]bool) bool {
	for s := range skip {
		if strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// branchRef validates a branch name and returns its ref.
func branchRef(branch string) (plumbing.ReferenceName, error) {
	ref := plumbing.NewBranchReferenceName(branch)
	if branch == "" || strings.HasPrefix(branch, "refs/") || ref.Validate() != nil {
		return "", fmt.Errorf("%w: bad branch name %q", ErrInvalidConfig, branch)
	}
	return ref, nil
}

func short10(h string) string {
	if len(h) > 10 {
		return h[:10]
	}
	return h
}
