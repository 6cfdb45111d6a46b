package gitops

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
)

// Push pushes the branch (HEAD after Sync and Commit) to the remote branch.
//
// It never forces: it pushes only when the remote branch is still at the
// commit the last Sync fetched, and the remote itself refuses a
// non-fast-forward. When the remote moved, it returns an error wrapping
// ErrPushRejected; the caller then Syncs again, redoes its change, commits
// and pushes again. Pushing with nothing new is a no-op returning nil.
//
// What it sends is found from its own commits on top of the remote head (the
// folders they changed, sendpack.go), not from a walk of the whole
// repository; a history of another shape goes through go-git's push.
//
// ctx (and Config.Timeout) bound the push. progress, when not nil, is called
// on the caller's goroutine with the server's progress. Errors wrap ErrAuth,
// ErrRemoteNotFound, ErrBranchNotFound or ErrInvalidConfig when permanent.
func (c *Client) Push(ctx context.Context, progress func(Progress)) error {
	op := "push " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	repo, closeRepo, err := c.openLocal()
	if err != nil {
		return fmt.Errorf("%s: %s", op, opaque(err))
	}
	defer closeRepo()
	local, err := repo.Storer.Reference(c.branch)
	if err != nil {
		return fmt.Errorf("%s: read branch: %s", op, opaque(err))
	}
	base, err := repo.Storer.Reference(c.tracking)
	if err != nil {
		return fmt.Errorf("%s: read %s (Sync first): %s", op, c.tracking.Short(), opaque(err))
	}
	if local.Hash() == base.Hash() {
		return nil // nothing of ours to push
	}
	auth, err := c.authMethod(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	proxyOpts, done := c.proxyFor(opCtx)
	defer done()
	// Our own push when the clone's branch is a line of commits on top of the remote head
	// (sendpack.go); go-git's otherwise.
	err = c.sendPack(opCtx, repo, base.Hash(), local.Hash(), auth, proxyOpts, newProgress(progress))
	if !errors.Is(err, errNotOurs) {
		if err == nil {
			return nil
		}
		return c.netErr(opCtx, op, err)
	}
	err = repo.PushContext(opCtx, &git.PushOptions{
		RemoteName:   remoteName,
		RefSpecs:     []config.RefSpec{config.RefSpec(c.branch + ":" + c.branch)},
		Auth:         auth,
		ProxyOptions: proxyOpts,
		Progress:     newProgress(progress),
		// Compare-and-swap: the remote branch must still be where we synced
		// it. Anything else is someone else's commit we must not lose.
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(base.Hash().String() + ":" + c.branch.String())},
	})
	if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
		// go-git moved refs/remotes/origin/<branch> to what we pushed.
		c.own.forget()
		return nil
	}
	return c.netErr(opCtx, op, err)
}
