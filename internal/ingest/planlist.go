package ingest

import (
	"hash/maphash"
	"unsafe"
)

// planList is the plan: one planRec per document that defines or deletes a
// resource, in order, in blocks of planBlock that never move once full, so
// that a plan of 100,000 documents grows without copying itself (and holding
// twice its size while it does). The first block grows by doubling, so a
// small fabric allocates little.
//
// A record holds no pointers: the path (and the name, when it is not the
// end of the path) are bytes in arena chunks that never move, kinds,
// apiVersions and namespaces indices into strs, and the normalized
// documents kept in memory are in outs. The strings at returns share the
// arena, which is never written again where it holds a string.
type planList struct {
	blocks [][]planRec
	n      int
	arena  [][]byte
	strs   []string // kinds, apiVersions and namespaces, each once
	strIdx map[string]uint32
	outs   [][]byte   // normalized documents held in memory; nil once written
	sums   [][32]byte // of the documents written that are not in Result.Changes (unchanged)
}

// planRec is one planned document.
type planRec struct {
	chunk, off, pathLen uint32 // the path: arena[chunk][off:off+pathLen]
	nameOff, nameLen    uint32 // the name: arena[chunk][nameOff:nameOff+nameLen]
	kind, apiVersion    uint32 // in strs
	namespace           uint32
	file, document      int32
	line, size          int32
	spill               int64 // where the document is in Options.Scratch, or in outs (inMemory)
	// sum says where the sha256 of what was written is (see setSum): 1 +
	// an index in Result.Changes, -1 - an index in planList.sums, 0: not
	// written yet.
	sum   int32
	flags uint8
}

const (
	recManaged = 1 << iota
	recDelete
	recInMemory
)

const (
	planBlock = 4096
	arenaSize = 64 << 10 // from the sixth chunk on; the first is 2 KiB
)

func (l *planList) len() int { return l.n }

func (l *planList) rec(i int) *planRec { return &l.blocks[i/planBlock][i%planBlock] }

// store puts path in the arena (with name when that is not the end of path)
// and returns where.
func (l *planList) store(path, name string) (chunk, off, nameOff uint32) {
	size := len(path)
	sep := len(path) < len(name) || path[len(path)-len(name):] != name
	if sep {
		size += len(name)
	}
	last := len(l.arena) - 1
	if last < 0 || cap(l.arena[last])-len(l.arena[last]) < size {
		// The first chunks grow by doubling, as the first block does.
		l.arena = append(l.arena, make([]byte, 0, max(arenaSize>>max(5-len(l.arena), 0), size)))
		last++
	}
	c := &l.arena[last]
	off = uint32(len(*c))
	*c = append(*c, path...)
	nameOff = off + uint32(len(path)-len(name))
	if sep {
		nameOff = uint32(len(*c))
		*c = append(*c, name...)
	}
	return uint32(last), off, nameOff
}

func (l *planList) bytes(chunk, off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&l.arena[chunk][off], int(n))
}

func (l *planList) intern(s string) uint32 {
	if i, ok := l.strIdx[s]; ok {
		return i
	}
	if l.strIdx == nil {
		l.strIdx = map[string]uint32{}
	}
	i := uint32(len(l.strs))
	l.strIdx[s] = i
	l.strs = append(l.strs, s)
	return i
}

// add appends p (its Sum is not kept: see setSum) and returns its path, as
// the plan keeps it.
func (l *planList) add(p planned) string {
	if len(l.blocks) == 0 || len(l.blocks[len(l.blocks)-1]) == planBlock {
		size := planBlock
		if len(l.blocks) == 0 {
			size = 16
		}
		l.blocks = append(l.blocks, make([]planRec, 0, size))
	}
	r := planRec{
		kind: l.intern(p.Kind), apiVersion: l.intern(p.APIVersion), namespace: l.intern(p.Namespace),
		file: p.File, document: p.Document, line: p.Line, size: p.Size, spill: p.Spill,
		pathLen: uint32(len(p.Path)), nameLen: uint32(len(p.Name)),
	}
	r.chunk, r.off, r.nameOff = l.store(p.Path, p.Name)
	if p.Managed {
		r.flags |= recManaged
	}
	if p.Delete {
		r.flags |= recDelete
	}
	if p.Out != nil {
		r.flags |= recInMemory
		r.spill = int64(len(l.outs))
		l.outs = append(l.outs, p.Out)
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, r) // the first block doubles up to planBlock
	l.n++
	return l.path(l.n - 1)
}

// path is the path of document i.
func (l *planList) path(i int) string {
	r := l.rec(i)
	return l.bytes(r.chunk, r.off, r.pathLen)
}

// deletes reports whether document i is a delete document.
func (l *planList) deletes(i int) bool { return l.rec(i).flags&recDelete != 0 }

// entry sets e to the manifest entry of document i; changes are the
// Result.Changes setSum was told about (nil leaves Sum zero).
func (l *planList) entry(i int, e *entry, changes []FileChange) {
	r := l.rec(i)
	*e = entry{
		Path: l.bytes(r.chunk, r.off, r.pathLen), Name: l.bytes(r.chunk, r.nameOff, r.nameLen),
		Kind: l.strs[r.kind], APIVersion: l.strs[r.apiVersion], Namespace: l.strs[r.namespace],
		File: r.file, Document: r.document,
	}
	switch {
	case r.sum < 0:
		e.Sum = l.sums[-1-r.sum]
	case r.sum > 0 && changes != nil:
		e.Sum = changes[r.sum-1].Sum
	}
}

// at returns document i.
func (l *planList) at(i int) *planned {
	r := l.rec(i)
	p := &planned{Size: r.size, Line: r.line, Managed: r.flags&recManaged != 0, Delete: r.flags&recDelete != 0, idx: i}
	l.entry(i, &p.entry, nil)
	if r.flags&recInMemory != 0 {
		p.Out = l.outs[r.spill]
	} else {
		p.Spill = r.spill
	}
	return p
}

// release lets go of the normalized document of i held in memory.
func (l *planList) release(i int) {
	if r := l.rec(i); r.flags&recInMemory != 0 {
		l.outs[r.spill] = nil
	}
}

// setSum records the sha256 of what was written for document i: it is
// changes[change].Sum of the Result's Changes (so not stored twice) when
// change >= 0, else sum.
func (l *planList) setSum(i int, sum [32]byte, change int) {
	if change >= 0 {
		l.rec(i).sum = int32(change + 1)
		return
	}
	l.sums = append(l.sums, sum)
	l.rec(i).sum = int32(-len(l.sums))
}

// pathIndex finds the document of the plan that defines a resource file:
// an open-addressing table of plan indices, at most half full, so that
// 100,000 paths cost 1 MiB (a map of strings costs 3 to 5 and copies itself
// as it grows).
type pathIndex struct {
	plan  *planList
	slots []int32 // 1 + index in plan; 0: empty
	n     int
	seed  maphash.Seed
}

// get returns the index in the plan of the document that defines path.
func (x *pathIndex) get(path string) (int32, bool) {
	if x.n == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for j := maphash.String(x.seed, path) & mask; ; j = (j + 1) & mask {
		v := x.slots[j]
		if v == 0 {
			return 0, false
		}
		if x.plan.path(int(v-1)) == path {
			return v - 1, true
		}
	}
}

// add records that document i of the plan defines its path, which is not
// in x yet.
func (x *pathIndex) add(i int) {
	if 2*(x.n+1) > len(x.slots) {
		if x.slots == nil {
			x.seed = maphash.MakeSeed()
		}
		old := x.slots
		x.slots = make([]int32, max(64, 2*len(old)))
		for _, v := range old {
			if v != 0 {
				x.put(int(v - 1))
			}
		}
	}
	x.put(i)
	x.n++
}

func (x *pathIndex) put(i int) {
	mask := uint64(len(x.slots) - 1)
	j := maphash.String(x.seed, x.plan.path(i)) & mask
	for x.slots[j] != 0 {
		j = (j + 1) & mask
	}
	x.slots[j] = int32(i + 1)
}
