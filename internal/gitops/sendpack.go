package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// This file is Push's fast path: the objects to send are found from the commits themselves.
//
// go-git's push (Remote.PushContext) works out what the remote lacks by walking every object
// reachable from the refs the remote advertises: the whole tree of the branch (and of every
// commit of the clone's history), at every push, so it grows with the repository: 20-30 ms of
// a push of 1,000 new files on a 5,000-commit repository (BenchmarkCommitPush1000), a few ms
// of a small click's. Our commits are made on top of the commit the remote branch is
// at (Push checks that the remote still advertises it), so what the remote lacks is what each
// new commit's tree holds that its parent's tree does not hold at the same path: a walk of the
// changed folders only. An object that base held in one of those folders is not sent, wherever
// it is now (ingest archives raw files: the same blobs under .hnp/archive/); one that base
// holds only in a folder that did not change is sent again, which the remote takes.

// maxOwnCommits bounds the commits between the remote head and ours that sendPack walks; a
// longer or stranger history (a merge, a parent the clone lacks) goes through go-git's push.
const maxOwnCommits = 64

// errNotOurs says that sendPack cannot tell what to send; Push then uses go-git's push.
var errNotOurs = errors.New("not a line of our commits on top of the remote head")

// newObjectsSince lists the objects of the commits from local back to base (excluded) that
// the remote lacks, as far as the folders that changed tell: the commits, and for each the
// trees and blobs its tree holds that its parent's does not hold at the same path, minus
// what base's versions of the changed folders hold anywhere in them. An object that base holds
// only in a folder that did not change is listed (and sent again). It returns errNotOurs when
// local does not descend from base through at most maxOwnCommits single-parent commits.
func newObjectsSince(s storer.EncodedObjectStorer, base, local plumbing.Hash) ([]plumbing.Hash, error) {
	var line []*object.Commit // local first
	for h := local; h != base; {
		if len(line) == maxOwnCommits {
			return nil, errNotOurs
		}
		c, err := object.GetCommit(s, h)
		if err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return nil, errNotOurs
			}
			return nil, err
		}
		if len(c.ParentHashes) != 1 {
			return nil, errNotOurs
		}
		line = append(line, c)
		h = c.ParentHashes[0]
	}
	w := treeDiffer{s: s, seen: map[plumbing.Hash]bool{}, remoteHas: map[plumbing.Hash]bool{}}
	for i, c := range line {
		parent := base
		if i+1 < len(line) {
			parent = line[i+1].Hash
		}
		pc, err := object.GetCommit(s, parent)
		if err != nil {
			return nil, err
		}
		w.add(c.Hash)
		w.againstBase = parent == base
		if err := w.diff(c.TreeHash, pc.TreeHash); err != nil {
			return nil, err
		}
	}
	// What base's folders that changed held is on the remote, under whatever path it is now:
	// a raw file archived by ingest, say.
	out := w.out[:0]
	for _, h := range w.out {
		if !w.remoteHas[h] {
			out = append(out, h)
		}
	}
	return out, nil
}

// treeDiffer collects the objects of trees that an older tree lacks at their path.
type treeDiffer struct {
	s    storer.EncodedObjectStorer
	seen map[plumbing.Hash]bool
	out  []plumbing.Hash
	// againstBase says that the older tree is base's; then what its folders hold is
	// recorded in remoteHas.
	againstBase bool
	remoteHas   map[plumbing.Hash]bool
}

func (w *treeDiffer) add(h plumbing.Hash) bool {
	if w.seen[h] {
		return false
	}
	w.seen[h] = true
	w.out = append(w.out, h)
	return true
}

// diff adds tree (a folder) and what it holds that old (the same folder in the older tree;
// zero when it was no folder there) does not hold under the same name with the same hash.
func (w *treeDiffer) diff(tree, old plumbing.Hash) error {
	if tree == old || !w.add(tree) {
		return nil
	}
	t, err := object.GetTree(w.s, tree)
	if err != nil {
		return err
	}
	had := map[string]object.TreeEntry{}
	if !old.IsZero() {
		ot, err := object.GetTree(w.s, old)
		if err != nil {
			return err
		}
		for _, e := range ot.Entries {
			had[e.Name] = e
			if w.againstBase && e.Mode != filemode.Submodule {
				w.remoteHas[e.Hash] = true
			}
		}
	}
	for _, e := range t.Entries {
		prev, ok := had[e.Name]
		if ok && prev.Hash == e.Hash && prev.Mode == e.Mode {
			continue
		}
		switch e.Mode {
		case filemode.Submodule: // a commit of another repository: not ours to send
		case filemode.Dir:
			sub := plumbing.ZeroHash
			if ok && prev.Mode == filemode.Dir {
				sub = prev.Hash
			}
			if err := w.diff(e.Hash, sub); err != nil {
				return err
			}
		default:
			if !ok || prev.Hash != e.Hash {
				w.add(e.Hash)
			}
		}
	}
	return nil
}

// sendPack pushes local onto the remote branch, which must be at base: one ref advertisement,
// then one pack of newObjectsSince(base, local). It returns errNotOurs, having sent nothing,
// when local is not a line of commits on top of base. Errors are go-git's and the
// transport's, for the caller to translate; a remote that no longer has the branch at base
// gives an error isRejection recognizes.
func (c *Client) sendPack(ctx context.Context, repo *git.Repository, base, local plumbing.Hash, auth transport.AuthMethod, proxy transport.ProxyOptions, progress io.Writer) (err error) {
	hashes, err := newObjectsSince(repo.Storer, base, local)
	if err != nil {
		return err
	}
	cl, ep, err := c.transport(proxy)
	if err != nil {
		return err
	}
	sess, err := cl.NewReceivePackSession(ep, auth)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sess.Close(); err == nil {
			err = cerr
		}
	}()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return err
	}
	if ref, err := refs.Reference(c.branch); err != nil || ref.Hash() != base {
		// The words of go-git's own check (RequireRemoteRefs), which isRejection knows.
		return fmt.Errorf("remote ref %s required to be %s but is elsewhere", c.branch, base)
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	if progress != nil {
		req.Progress = progress
		if ar.Capabilities.Supports(capability.Sideband64k) {
			_ = req.Capabilities.Set(capability.Sideband64k)
		} else if ar.Capabilities.Supports(capability.Sideband) {
			_ = req.Capabilities.Set(capability.Sideband)
		}
	}
	req.Commands = []*packp.Command{{Name: c.branch, Old: base, New: local}}
	rd, wr := io.Pipe()
	req.Packfile = rd
	encoded := make(chan struct{})
	var encErr error
	// Whole objects: those our commits just wrote as they were written, the others from the
	// store (ownpack.go).
	var kept int
	go func() {
		defer close(encoded)
		var err error
		if kept, err = c.own.writePack(wr, repo.Storer, hashes); err != nil {
			encErr = err
			_ = wr.CloseWithError(err) // ReceivePack fails reading it
			return
		}
		encErr = wr.Close()
	}()
	rs, err := sess.ReceivePack(ctx, req)
	if err != nil {
		_ = rd.Close() // unblocks the encoder, which must be done before the caller closes the store
		<-encoded
		return err
	}
	<-encoded
	if encErr != nil {
		return encErr
	}
	if rs != nil {
		if err := rs.Error(); err != nil {
			return err
		}
	}
	c.sentKept = kept
	c.own.forget() // on the remote now
	// What go-git's push does after it: the remote branch is where we pushed it.
	return repo.Storer.SetReference(plumbing.NewHashReference(c.tracking, local))
}
