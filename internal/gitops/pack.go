package gitops

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// This file replaces go-git's pack indexer (the packfile.Parser its
// filesystem storage runs on every fetched pack). That parser keeps a cache
// of up to 96 MiB of resolved objects plus a record of every object and its
// delta children, and reads every object of the pack into memory once: a
// full-history clone of the 5,000-commit benchmark repository peaked at
// 134-258 MiB of heap, where `git clone` stays under 30 MiB. Here the pack
// is written to disk as it arrives, then indexed in two passes over the
// file: the first hashes every whole object as a stream and notes each
// delta's base, the second resolves each delta from its base, walking the
// delta tree depth first from every whole object, so that what is held in
// memory at once is one chain of bases (a few KiB for YAML trees), not the
// history. Memory grows with the number of objects (≈100 bytes each), not
// with their content; a whole object is held in memory only while deltas
// are resolved against it.

// maxDeltaChain bounds the depth of a delta chain (git's own default is
// 50; a hostile pack could nest deeper to exhaust the stack).
const maxDeltaChain = 10000

// packStorage is a clone's filesystem storage with the pack writer of this
// file, which refuses a pack of more than max objects.
type packStorage struct {
	*filesystem.Storage
	max int
}

// packLimitError is the error of a pack over Config.MaxObjects.
type packLimitError struct {
	count, max uint32
}

func (e *packLimitError) Error() string {
	return fmt.Sprintf("%v: the remote sends %d objects, over the limit of %d (Config.MaxObjects); clone with a Config.Depth (RecommendedDepth is %d) or raise MaxObjects",
		ErrRepoTooLarge, e.count, e.max, RecommendedDepth)
}

func (e *packLimitError) Unwrap() error { return ErrRepoTooLarge }

// PackfileWriter returns a writer that stores a fetched pack and indexes it
// when closed. It implements go-git's storer.PackfileWriter.
func (s packStorage) PackfileWriter() (io.WriteCloser, error) {
	dir := filepath.Join(s.Filesystem().Root(), "objects", "pack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "tmp_pack_")
	if err != nil {
		return nil, err
	}
	return &packWriter{s: s, dir: dir, f: f}, nil
}

// packHeaderSize is the size of a pack's header: "PACK", version, count.
const packHeaderSize = 12

// packWriter writes a pack to a temporary file; Close indexes it and moves
// both into objects/pack.
type packWriter struct {
	s       packStorage
	dir     string
	f       *os.File
	n       int64
	hdr     []byte // the pack's header, until it is whole
	refused bool   // over the limit: nothing to index
}

// Write appends p to the pack. Once the header is in, a pack of too many
// objects is refused, which ends the download.
func (w *packWriter) Write(p []byte) (int, error) {
	if w.n < packHeaderSize {
		w.hdr = append(w.hdr, p[:min(len(p), packHeaderSize-len(w.hdr))]...)
		if len(w.hdr) == packHeaderSize {
			if err := checkCount(binary.BigEndian.Uint32(w.hdr[8:]), w.s.max); err != nil {
				w.refused = true
				return 0, err
			}
		}
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// checkCount refuses a pack of count objects over max.
func checkCount(count uint32, max int) error {
	if max > 0 && uint64(count) > uint64(max) {
		return &packLimitError{count: count, max: uint32(max)}
	}
	return nil
}

func (w *packWriter) Close() (err error) {
	tmp := w.f.Name()
	defer func() {
		if err != nil {
			_ = w.f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if w.n == 0 || w.refused {
		if err := w.f.Close(); err != nil {
			return err
		}
		return os.Remove(tmp)
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	idx, sum, err := indexPack(w.f, w.s)
	if err != nil {
		return fmt.Errorf("index pack: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	base := filepath.Join(w.dir, "pack-"+sum.String())
	if err := writeIdx(base+".idx", idx); err != nil {
		return err
	}
	if err := os.Rename(tmp, base+".pack"); err != nil {
		return err
	}
	w.s.Reindex() // the storage lists its packs once; make it look again
	foldSmallPacks(w.s, w.dir)
	return nil
}

// foldPacks is how many small packs (under foldLimit bytes) a clone gathers
// before foldSmallPacks folds them into one.
const foldPacks = 16

// foldSmallPacks folds the small packs of the pack folder dir (the one the
// commits write to excepted, objpack.go) into one, of whole objects, once
// there are foldPacks of them, and removes them. Each fetch leaves a pack,
// and a pack for each fetch would slow every later operation on the clone:
// go-git decodes every pack index of a clone when it opens it and looks an
// object up in each index in turn, so after 40 small jobs (40 fetch packs)
// reading the indexes alone took 10 ms of each job, a cost that grows with
// every job. Folding at every fetch instead costs more
// than it saves on a slow disk (a click's fetch went from 48-58 to 67-80 ms:
// the new pack's files, the marker and the removals are a dozen file system
// operations); once every foldPacks fetches it is a fraction of a
// millisecond a job. The folded pack is not the commits' pack: that one is
// copied by every commit, and the fetched trees, whole, filled it four
// times as fast (a job's commit and push took 20 ms more after 100 jobs).
// So a clone keeps its large packs (a first clone, large fetches), the
// commits' pack, a pack of folded fetches for about every 4 MiB of their
// objects, and fewer than foldPacks small packs besides; the folded pack
// is folded again with the next ones while it is small.
//
// It is best effort and safe at every step: the objects are in the new pack
// before their old packs go, so a crash or an error leaves them in one pack
// or both, never in neither. A pack whose objects add up past foldLimit
// once whole (a small pack of deltas can stand for large objects) is left
// as it is.
func foldSmallPacks(s packStorage, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	mark, _ := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(dir)), commitPackFile))
	commitPack := strings.TrimSpace(string(mark))
	var small []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".pack")
		if !ok || !strings.HasPrefix(name, "pack-") || name == commitPack {
			continue
		}
		if info, err := e.Info(); err == nil && info.Size() < foldLimit {
			small = append(small, name)
		}
	}
	if len(small) < foldPacks {
		return
	}
	n := newObjects{dir: dir}
	defer n.discard()
	var folded []string
	var total int64
	for _, name := range small {
		objs, size, ok := wholeObjects(s, filepath.Join(dir, name+".idx"), foldLimit-total)
		if !ok {
			continue
		}
		for _, o := range objs {
			if err := n.add(o.typ, o.hash, o.data); err != nil {
				return
			}
		}
		total += size
		folded = append(folded, name)
	}
	if len(folded) < 2 || n.finishAlone() != nil {
		return
	}
	for _, name := range folded {
		removePack(dir, name)
	}
	s.Reindex()
}

// wholeObject is an object of a pack, read whole.
type wholeObject struct {
	typ  plumbing.ObjectType
	hash plumbing.Hash
	data []byte
}

// wholeObjects reads, through the clone's storage s, every object of the
// pack whose index file is idxName, whole, and their total size; ok is false
// when that is over limit bytes or anything cannot be read.
func wholeObjects(s packStorage, idxName string, limit int64) (objs []wholeObject, total int64, ok bool) {
	mi, err := readIdx(idxName)
	if err != nil {
		return nil, 0, false
	}
	iter, err := mi.Entries()
	if err != nil {
		return nil, 0, false
	}
	defer func() { _ = iter.Close() }()
	for {
		e, err := iter.Next()
		if errors.Is(err, io.EOF) {
			return objs, total, true
		}
		if err != nil {
			return nil, 0, false
		}
		o, err := s.EncodedObject(plumbing.AnyObject, e.Hash)
		if err != nil {
			return nil, 0, false
		}
		if total += o.Size(); total > limit {
			return nil, 0, false
		}
		r, err := o.Reader()
		if err != nil {
			return nil, 0, false
		}
		data, err := io.ReadAll(r)
		if cerr := r.Close(); err != nil || cerr != nil {
			return nil, 0, false
		}
		objs = append(objs, wholeObject{o.Type(), e.Hash, data})
	}
}

// writeIdx writes the index file name atomically.
func writeIdx(name string, idx *idxfile.MemoryIndex) error {
	f, err := os.CreateTemp(filepath.Dir(name), "tmp_idx_")
	if err != nil {
		return err
	}
	if _, err := idxfile.NewEncoder(f).Encode(idx); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}

// packObject is what the indexer keeps of one object of the pack.
type packObject struct {
	off        int64
	crc        uint32
	typ        plumbing.ObjectType // for a delta: its resolved type, once known
	hash       plumbing.Hash       // zero until known
	delta      bool
	firstChild int32 // first delta whose base this is, or -1
	next       int32 // next delta with the same base, or -1
}

// indexer resolves the objects of one pack file.
type indexer struct {
	sc      *packfile.Scanner
	objs    []packObject
	byHash  map[plumbing.Hash]int32 // objects whose hash is known
	pending map[plumbing.Hash][]int32
	ext     interface {
		EncodedObject(plumbing.ObjectType, plumbing.Hash) (plumbing.EncodedObject, error)
	}
	max    int          // the most objects a pack may hold
	delta  bytes.Buffer // a delta being read
	levels [][]byte     // the object resolved at each depth of the chain being walked
}

// indexPack reads the pack in f (at its start) and returns its index and
// checksum. The base of a delta the pack does not hold (a thin pack) is
// read from ext.
func indexPack(f *os.File, ext packStorage) (*idxfile.MemoryIndex, plumbing.Hash, error) {
	x := &indexer{sc: packfile.NewScanner(f), pending: map[plumbing.Hash][]int32{}, ext: ext, max: ext.max}
	sum, err := x.scan()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if err := x.resolve(); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	w := new(idxfile.Writer)
	if err := w.OnHeader(uint32(len(x.objs))); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	for i := range x.objs {
		o := &x.objs[i]
		w.Add(o.hash, uint64(o.off), o.crc)
	}
	if err := w.OnFooter(sum); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	idx, err := w.Index()
	return idx, sum, err
}

// scan is the first pass: every object's offset and CRC, the hash of every
// whole object (streamed), and the delta tree. It checks the pack checksum.
func (x *indexer) scan() (plumbing.Hash, error) {
	_, count, err := x.sc.Header()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := checkCount(count, x.max); err != nil {
		return plumbing.ZeroHash, err
	}
	x.objs = make([]packObject, 0, count)
	x.byHash = make(map[plumbing.Hash]int32, count/2)
	byOff := make(map[int64]int32, count)
	for i := int32(0); i < int32(count); i++ {
		oh, err := x.sc.NextObjectHeader()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		o := packObject{off: oh.Offset, typ: oh.Type, firstChild: -1, next: -1}
		w := io.Writer(io.Discard)
		var hasher plumbing.Hasher
		switch oh.Type {
		case plumbing.OFSDeltaObject:
			base, ok := byOff[oh.OffsetReference]
			if !ok {
				return plumbing.ZeroHash, fmt.Errorf("delta at %d: no object at base offset %d", oh.Offset, oh.OffsetReference)
			}
			o.delta, o.typ = true, plumbing.InvalidObject
			o.next, x.objs[base].firstChild = x.objs[base].firstChild, i
		case plumbing.REFDeltaObject:
			o.delta, o.typ = true, plumbing.InvalidObject
			if base, ok := x.byHash[oh.Reference]; ok {
				o.next, x.objs[base].firstChild = x.objs[base].firstChild, i
			} else {
				x.pending[oh.Reference] = append(x.pending[oh.Reference], i)
			}
		case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
			hasher = plumbing.NewHasher(oh.Type, oh.Length)
			w = hasher
		default:
			return plumbing.ZeroHash, fmt.Errorf("object at %d: unknown type %v", oh.Offset, oh.Type)
		}
		_, crc, err := x.sc.NextObject(w)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		o.crc = crc
		if !o.delta {
			o.hash = hasher.Sum()
			if _, dup := x.byHash[o.hash]; !dup {
				x.byHash[o.hash] = i
			}
		}
		byOff[o.off] = i
		x.objs = append(x.objs, o)
	}
	return x.sc.Checksum()
}

// resolve is the second pass: the hash and type of every delta, walking
// the delta tree from each whole object.
func (x *indexer) resolve() error {
	var buf bytes.Buffer
	for i := range x.objs {
		o := &x.objs[i]
		if o.delta || (o.firstChild < 0 && len(x.pending[o.hash]) == 0) {
			continue
		}
		buf.Reset()
		if err := x.read(int32(i), &buf); err != nil {
			return err
		}
		if err := x.children(int32(i), buf.Bytes(), o.typ, 1); err != nil {
			return err
		}
	}
	// What is left refers to bases outside the pack (a thin pack).
	for len(x.pending) > 0 {
		for h := range x.pending {
			base, err := x.external(h)
			if err != nil {
				return err
			}
			kids := x.pending[h]
			delete(x.pending, h)
			for _, c := range kids {
				if err := x.resolveDelta(c, base.data, base.typ, 1); err != nil {
					return err
				}
			}
		}
	}
	for i := range x.objs {
		if x.objs[i].hash.IsZero() {
			return fmt.Errorf("delta at %d: base never found", x.objs[i].off)
		}
	}
	return nil
}

type content struct {
	data []byte
	typ  plumbing.ObjectType
}

// external reads a delta base from the repository's other objects.
func (x *indexer) external(h plumbing.Hash) (content, error) {
	o, err := x.ext.EncodedObject(plumbing.AnyObject, h)
	if err != nil {
		return content{}, fmt.Errorf("delta base %s: %w", h, err)
	}
	r, err := o.Reader()
	if err != nil {
		return content{}, err
	}
	data, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return content{data, o.Type()}, err
}

// children resolves the deltas whose base is object i, of type typ and
// content data, and theirs in turn.
func (x *indexer) children(i int32, data []byte, typ plumbing.ObjectType, depth int) error {
	if kids, ok := x.pending[x.objs[i].hash]; ok {
		delete(x.pending, x.objs[i].hash)
		for _, c := range kids {
			if err := x.resolveDelta(c, data, typ, depth); err != nil {
				return err
			}
		}
	}
	for c := x.objs[i].firstChild; c >= 0; c = x.objs[c].next {
		if err := x.resolveDelta(c, data, typ, depth); err != nil {
			return err
		}
	}
	return nil
}

// resolveDelta resolves the delta c against its base (data, of type typ),
// then the deltas based on it. The result goes into the indexer's buffer for
// depth, so that resolving a pack allocates one buffer per level of delta
// chain, not one per object.
func (x *indexer) resolveDelta(c int32, base []byte, typ plumbing.ObjectType, depth int) error {
	o := &x.objs[c]
	if depth > maxDeltaChain {
		return fmt.Errorf("delta at %d: chain deeper than %d", o.off, maxDeltaChain)
	}
	if !o.hash.IsZero() {
		return fmt.Errorf("delta at %d: resolved twice (a delta cycle)", o.off)
	}
	x.delta.Reset()
	if err := x.read(c, &x.delta); err != nil {
		return err
	}
	for len(x.levels) < depth {
		x.levels = append(x.levels, nil)
	}
	data, err := patchDelta(x.levels[depth-1][:0], base, x.delta.Bytes())
	if err != nil {
		return fmt.Errorf("delta at %d: %w", o.off, err)
	}
	x.levels[depth-1] = data
	h := plumbing.NewHasher(typ, int64(len(data)))
	_, _ = h.Write(data) // a hash never fails
	o.hash, o.typ = h.Sum(), typ
	if _, dup := x.byHash[o.hash]; !dup {
		x.byHash[o.hash] = c
	}
	if o.firstChild < 0 && len(x.pending[o.hash]) == 0 {
		return nil
	}
	return x.children(c, data, typ, depth+1)
}

// patchDelta appends to dst the object the git delta applied to base
// gives, and returns it.
func patchDelta(dst, base, delta []byte) ([]byte, error) {
	srcSize, delta, ok := deltaSize(delta)
	if !ok || srcSize != uint64(len(base)) {
		return nil, fmt.Errorf("delta base is %d bytes; the delta expects %d", len(base), srcSize)
	}
	size, delta, ok := deltaSize(delta)
	if !ok || size > 1<<32 {
		return nil, fmt.Errorf("bad delta header")
	}
	if uint64(cap(dst)) < size {
		dst = make([]byte, 0, size)
	}
	for len(delta) > 0 {
		cmd := delta[0]
		delta = delta[1:]
		switch {
		case cmd&0x80 != 0: // copy from base
			var off, n uint64
			for i := uint(0); i < 4; i++ {
				if cmd&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, fmt.Errorf("truncated delta")
					}
					off |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := uint(0); i < 3; i++ {
				if cmd&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, fmt.Errorf("truncated delta")
					}
					n |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) || uint64(len(dst))+n > size {
				return nil, fmt.Errorf("delta copies outside its base or target")
			}
			dst = append(dst, base[off:off+n]...)
		case cmd != 0: // insert
			n := uint64(cmd)
			if n > uint64(len(delta)) || uint64(len(dst))+n > size {
				return nil, fmt.Errorf("truncated delta")
			}
			dst = append(dst, delta[:n]...)
			delta = delta[n:]
		default:
			return nil, fmt.Errorf("delta holds the reserved instruction 0")
		}
	}
	if uint64(len(dst)) != size {
		return nil, fmt.Errorf("delta gives %d bytes; its header says %d", len(dst), size)
	}
	return dst, nil
}

// deltaSize decodes a size of a delta's header (little-endian base 128).
func deltaSize(b []byte) (uint64, []byte, bool) {
	var n uint64
	for i := 0; i < len(b) && i < 10; i++ {
		n |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return n, b[i+1:], true
		}
	}
	return 0, nil, false
}

// read inflates object i as stored (a delta's instructions, for a delta)
// into buf.
func (x *indexer) read(i int32, buf *bytes.Buffer) error {
	oh, err := x.sc.SeekObjectHeader(x.objs[i].off)
	if err != nil {
		return err
	}
	if oh.Length > 0 {
		buf.Grow(int(min(oh.Length, 64<<20)))
	}
	if _, _, err := x.sc.NextObject(buf); err != nil {
		return fmt.Errorf("object at %d: %w", x.objs[i].off, err)
	}
	return nil
}
