package gitops

import (
	"bufio"
	"compress/zlib"
	"crypto/sha1"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// This file writes the pack a push sends (sendPack): the objects our commits just wrote as
// they were written, the others read from the store, each a whole object.
//
// go-git's pack encoder reads each object it sends back from the store (it opens the clone's
// pack indexes, finds the object, inflates it), looks for deltas among them and deflates them
// again: 8-10 ms of CPU of a small click's push in a CPU profile of 40 clicks on tmpfs, for
// some 40 objects that the commit had deflated a moment before. A pack entry of a whole object
// is its header and its deflated content, exactly as newObjects wrote it into the commit's
// pack, so a Client keeps those entries from its commits to the push that sends them. What it
// did not keep (a tree the store already had, from an older commit; the objects of a commit
// made before the Client restarted) is read from the store and deflated. A pack of whole
// objects is a valid pack, which `git index-pack` and `git unpack-objects` take as they take
// any other; without deltas it is larger, which matters little for the pushes of ingest: new
// resource files, each different.

// ownLimit bounds the bytes of pack entries a Client keeps between its commits and the push
// that sends them. Past it the Client keeps nothing more until that push, which then reads
// them all from the store.
const ownLimit = 4 << 20

// ownObjects is what a Client keeps of the objects its commits wrote (newObjects.add): each
// object's pack entry, by hash. Entries are content-addressed, so one is never wrong, only
// perhaps no longer wanted: a push that succeeds forgets them all, and so does a commit on a
// branch with no commit of ours waiting for a push (the last was pushed, to a pull request's
// branch say, or dropped by a sync to the remote head).
type ownObjects struct {
	buf  []byte                   // the entries, one after the other
	at   map[plumbing.Hash][2]int // where each is in buf
	full bool                     // ownLimit was reached: nothing is kept until the next forget
}

// keep records the pack entry of h, its header and its deflated content.
func (o *ownObjects) keep(h plumbing.Hash, header, deflated []byte) {
	if o.full {
		return
	}
	if _, ok := o.at[h]; ok {
		return
	}
	if len(o.buf)+len(header)+len(deflated) > ownLimit {
		*o = ownObjects{full: true}
		return
	}
	if o.at == nil {
		o.at = map[plumbing.Hash][2]int{}
	}
	start := len(o.buf)
	o.buf = append(append(o.buf, header...), deflated...)
	o.at[h] = [2]int{start, len(o.buf)}
}

// forget drops everything kept.
func (o *ownObjects) forget() { *o = ownObjects{} }

// writePack writes to w a pack of the objects hashes, whole: the header, each object's entry,
// as kept or else read from s and deflated, and the SHA-1 of all that. It returns how many
// were kept.
func (o *ownObjects) writePack(w io.Writer, s storer.EncodedObjectStorer, hashes []plumbing.Hash) (kept int, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	sum := sha1.New()
	out := io.MultiWriter(bw, sum)
	if _, err := out.Write(packHeader(uint32(len(hashes)))); err != nil {
		return kept, err
	}
	var zw *zlib.Writer
	var hdr []byte
	for _, h := range hashes {
		if span, ok := o.at[h]; ok { // at is empty once full
			if _, err := out.Write(o.buf[span[0]:span[1]]); err != nil {
				return kept, err
			}
			kept++
			continue
		}
		obj, err := s.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return kept, err
		}
		hdr = objectHeader(hdr[:0], obj.Type(), uint64(obj.Size()))
		if _, err := out.Write(hdr); err != nil {
			return kept, err
		}
		if zw == nil {
			if zw, err = zlib.NewWriterLevel(out, zlib.BestSpeed); err != nil {
				return kept, err
			}
		} else {
			zw.Reset(out)
		}
		if err := deflateObject(zw, obj); err != nil {
			return kept, fmt.Errorf("object %s: %w", h, err)
		}
	}
	if _, err := bw.Write(sum.Sum(nil)); err != nil {
		return kept, err
	}
	return kept, bw.Flush()
}

// deflateObject writes obj's content through zw and closes zw.
func deflateObject(zw *zlib.Writer, obj plumbing.EncodedObject) error {
	r, err := obj.Reader()
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }() // only read
	if _, err := io.Copy(zw, r); err != nil {
		return err
	}
	return zw.Close()
}
