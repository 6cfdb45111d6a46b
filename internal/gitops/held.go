package gitops

import (
	"context"
	"io"
	"slices"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// This file lets the fetch of a SyncAt use the ref advertisement its caller's RemoteHead read.
//
// Over smart HTTP every request stands alone: a fetch is a GET of the advertisement, then a
// POST of the wants and haves. go-git's fetch always makes both, so a resync that asked where
// the branch is (RemoteHead) and then fetched it (SyncAt) made three requests, the
// advertisement twice. RemoteHead over HTTP keeps its upload-pack session and advertisement
// on the Client; a SyncAt to the head it returned fetches with them: the POST only. The
// session holds no connection between requests (go-git's HTTP session does nothing on Close),
// so a Client that never syncs loses nothing by keeping it. Over SSH a session is a
// connection and over file:// a process: RemoteHead closes those at once, as before.
//
// If the branch moved since the look, the POST still wants the head the look saw: git serves
// a commit that is reachable from a ref over HTTP, which gives the behaviour SyncAt documents
// (the clone goes to the older head). If that head is no longer reachable (the branch was
// rewritten), the server refuses it and update asks the remote again, as Sync does.

// heldAdvertisement is what a RemoteHead over HTTP read, kept for the fetch that follows.
type heldAdvertisement struct {
	head plumbing.Hash
	sess transport.UploadPackSession
	adv  *packp.AdvRefs
}

// close closes the session, once; h may be nil. An HTTP session's Close does nothing, so
// nothing is lost when some path forgets to.
func (h *heldAdvertisement) close() error {
	if h == nil || h.sess == nil {
		return nil
	}
	sess := h.sess
	h.sess = nil
	return sess.Close()
}

// takeHeld returns the held advertisement, if any, and forgets it: it serves one fetch at most.
func (c *Client) takeHeld() *heldAdvertisement {
	h := c.held
	c.held = nil
	return h
}

// dropHeld forgets the held advertisement.
func (c *Client) dropHeld() {
	_ = c.takeHeld().close()
}

// stateless reports whether the remote is served over smart HTTP, where a session is no more
// than its endpoint and credentials.
func (c *Client) stateless() bool {
	return c.ep.Protocol == "http" || c.ep.Protocol == "https"
}

// advertisedHeld is advertised for an HTTP remote: it reads the advertisement through an
// upload-pack session and, when ref is there, keeps both on c for the fetch of a SyncAt. The
// caller has dropped any earlier one (c.held is nil).
func (c *Client) advertisedHeld(ctx context.Context, op string, auth transport.AuthMethod, ref plumbing.ReferenceName) (plumbing.Hash, bool, error) {
	opCtx, cancel := c.opContext(ctx)
	defer cancel()
	sess, err := c.uploadPackSession(auth)
	if err != nil {
		return plumbing.ZeroHash, false, c.netErr(opCtx, op, err)
	}
	defer func() {
		if c.held == nil {
			_ = sess.Close() // not kept
		}
	}()
	adv, err := sess.AdvertisedReferencesContext(opCtx)
	if err != nil {
		return plumbing.ZeroHash, false, c.netErr(opCtx, op, err)
	}
	refs, err := adv.AllReferences()
	if err != nil {
		return plumbing.ZeroHash, false, c.netErr(opCtx, op, err)
	}
	r, err := refs.Reference(ref)
	if err != nil || r.Type() != plumbing.HashReference {
		return plumbing.ZeroHash, false, nil
	}
	c.held = &heldAdvertisement{head: r.Hash(), sess: sess, adv: adv}
	return r.Hash(), true, nil
}

// uploadPackSession opens an upload-pack session to the remote, as go-git's fetch does.
func (c *Client) uploadPackSession(auth transport.AuthMethod) (transport.UploadPackSession, error) {
	cl, ep, err := c.transport(transport.ProxyOptions{}) // proxyFor gives HTTP remotes none
	if err != nil {
		return nil, err
	}
	return cl.NewUploadPackSession(ep, auth)
}

// transport returns go-git's transport for the remote and the endpoint to open sessions on,
// as go-git's fetch and push find them.
func (c *Client) transport(proxy transport.ProxyOptions) (transport.Transport, *transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(c.cfg.URL)
	if err != nil {
		return nil, nil, err
	}
	ep.Proxy = proxy
	cl, err := client.NewClient(ep)
	if err != nil {
		return nil, nil, err
	}
	return cl, ep, nil
}

// fetchHeld fetches target, the head h's advertisement holds, over h's session: one
// upload-pack request, with the clone's depth and its branch tips as haves, and the shallow
// commits the remote names recorded. It is what go-git's Remote.FetchContext does after its
// own look at the advertisement, for the one ref the clone tracks; the caller records the ref.
func (c *Client) fetchHeld(ctx context.Context, repo *git.Repository, h *heldAdvertisement, target plumbing.Hash, progress sideband.Progress) (err error) {
	sess := h.sess
	defer func() {
		if cerr := h.close(); err == nil {
			err = cerr
		}
	}()
	req := packp.NewUploadPackRequestFromCapabilities(h.adv.Capabilities)
	if c.cfg.Depth > 0 {
		req.Depth = packp.DepthCommits(c.cfg.Depth)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return err
		}
		if req.Shallows, err = repo.Storer.Shallow(); err != nil {
			return err
		}
	}
	if progress == nil && h.adv.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return err
		}
	}
	req.Wants = []plumbing.Hash{target}
	for _, name := range []plumbing.ReferenceName{c.tracking, c.branch} {
		if r, err := repo.Storer.Reference(name); err == nil && c.hasCommit(repo, r.Hash()) && !slices.Contains(req.Haves, r.Hash()) {
			req.Haves = append(req.Haves, r.Hash())
		}
	}
	resp, err := sess.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := resp.Close(); err == nil {
			err = cerr
		}
	}()
	if c.cfg.Depth > 0 && len(resp.Shallows) > 0 {
		shallows, err := repo.Storer.Shallow()
		if err != nil {
			return err
		}
		for _, s := range resp.Shallows {
			if !slices.Contains(shallows, s) {
				shallows = append(shallows, s)
			}
		}
		if err := repo.Storer.SetShallow(shallows); err != nil {
			return err
		}
	}
	var pack io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		pack = demuxer(sideband.Sideband64k, resp, progress)
	case req.Capabilities.Supports(capability.Sideband):
		pack = demuxer(sideband.Sideband, resp, progress)
	}
	return packfile.UpdateObjectStorage(repo.Storer, pack)
}

// demuxer reads the pack out of r, a sideband stream of type t, handing progress messages to
// progress (nil: dropped).
func demuxer(t sideband.Type, r io.Reader, progress sideband.Progress) io.Reader {
	d := sideband.NewDemuxer(t, r)
	d.Progress = progress
	return d
}
