package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// RemoteHead asks the remote where the Client's branch is: one round trip, like
// `git ls-remote`, with or without a clone in Dir (it neither reads nor writes one). It is how a
// resync finds that nothing is new without a fetch or a checkout. Errors wrap ErrAuth,
// ErrRemoteNotFound, ErrBranchNotFound (no such branch) or ErrInvalidConfig when permanent.
// Over smart HTTP the Client keeps what the remote answered until its next Sync or SyncAt, so that
// a SyncAt to this head fetches without asking again.
func (c *Client) RemoteHead(ctx context.Context) (string, error) {
	op := "read the head of " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	auth, err := c.authMethod(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	c.dropHeld()
	var head plumbing.Hash
	var found bool
	if c.stateless() {
		// Kept for a SyncAt to this head: its fetch needs no look of its own (held.go).
		head, found, err = c.advertisedHeld(ctx, op, auth, c.branch)
	} else {
		remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: remoteName, URLs: []string{c.cfg.URL}})
		head, found, err = c.advertised(ctx, op, remote, auth, c.branch)
	}
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("%s: %w", op, ErrBranchNotFound)
	}
	return head.String(), nil
}

// advertised asks remote for the refs it advertises (one round trip, with c's timeout and
// proxy) and returns where ref is; found is false when the remote lacks it. A failure is
// translated for op (netErr).
func (c *Client) advertised(ctx context.Context, op string, remote *git.Remote, auth transport.AuthMethod, ref plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	proxyOpts, done := c.proxyFor(opCtx)
	defer done()
	refs, err := remote.ListContext(opCtx, &git.ListOptions{Auth: auth, ProxyOptions: proxyOpts})
	if err != nil {
		return plumbing.ZeroHash, false, c.netErr(opCtx, op, err)
	}
	for _, r := range refs {
		if r.Name() == ref && r.Type() == plumbing.HashReference {
			return r.Hash(), true, nil
		}
	}
	return plumbing.ZeroHash, false, nil
}
