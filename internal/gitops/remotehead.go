package gitops

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"
)

// RemoteHead asks the remote where the Client's branch is: one round trip, like
// `git ls-remote`, with or without a clone in Dir (it neither reads nor writes one). It is how a
// resync finds that nothing is new without a fetch or a checkout. Errors wrap ErrAuth,
// ErrRemoteNotFound, ErrBranchNotFound (no such branch) or ErrInvalidConfig when permanent.
func (c *Client) RemoteHead(ctx context.Context) (string, error) {
	op := "read the head of " + c.cfg.Branch
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: remoteName, URLs: []string{c.cfg.URL}})
	auth, err := c.authMethod(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	proxyOpts, done := c.proxyFor(opCtx)
	defer done()
	refs, err := remote.ListContext(opCtx, &git.ListOptions{Auth: auth, ProxyOptions: proxyOpts})
	if err != nil {
		return "", c.netErr(opCtx, op, err)
	}
	want := plumbing.NewBranchReferenceName(c.cfg.Branch)
	for _, r := range refs {
		if r.Name() == want && r.Type() == plumbing.HashReference {
			return r.Hash().String(), nil
		}
	}
	return "", fmt.Errorf("%s: %w", op, ErrBranchNotFound)
}
