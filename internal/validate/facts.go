package validate

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Facts holds the Resources of a fabric until CheckFacts runs, each encoded, facts and all,
// into large byte chunks: a fabric of 100,000 documents keeps 100,000 Resources while the rest
// of the ingest goes on, and as Resource structs (a few hundred bytes of headers and pointers
// each, beside their packed facts) they cost the garbage collector a walk through every one
// at every cycle. In Facts they cost their bytes, in a few allocations that hold no pointers;
// with a Spill (SetSpill), full chunks are moved out of memory and read back, one at a time,
// when CheckFacts runs, so that the facts of a large fabric cost almost no memory at all.
// The zero Facts is empty and ready to use; it is not safe for concurrent use.
type Facts struct {
	chunks [][]byte    // nil for a chunk in the Spill
	meta   []chunkMeta // one per chunk
	n      int
	names  int // bytes of the names of the Resources added by Add
	spill  Spill
	err    error // the first error of the Spill
	chunk  int   // the size of a full chunk; 0 means factsChunk (tests set it)
}

// chunkMeta is where a chunk of Facts is.
type chunkMeta struct {
	off     int64 // in the Spill
	size    int
	spilled bool
}

// Spill is where Facts may keep full chunks of records instead of memory: a scratch file,
// say. Put stores b (it must not keep b) and returns where it is; Get fills b with the
// bytes stored at off (off may be inside what one Put stored).
type Spill interface {
	Put(b []byte) (off int64, err error)
	Get(b []byte, off int64) error
}

// Facts allocates chunks of twice the size of the one before, from factsFirstChunk to
// factsChunk (a larger record gets its own), so that a small fabric allocates little.
// With a Spill, chunks from factsSpillFrom bytes on go there once full: what stays in memory
// is the first few small chunks (under factsSpillFrom together) and the one being filled, so a
// small fabric never writes to its Spill.
const (
	factsFirstChunk = 4 << 10
	factsChunk      = 1 << 20
	factsSpillFrom  = 128 << 10
)

// SetSpill makes f keep its full chunks in s (nil: in memory). Set it before the first Add.
func (f *Facts) SetSpill(s Spill) { f.spill = s }

// Err is the first error of f's Spill: the chunk that could not be put stays in memory, and
// a chunk that could not be read back makes CheckFacts report an internal error.
func (f *Facts) Err() error { return f.err }

// Size is the number of bytes of the records added, in memory or in the Spill.
func (f *Facts) Size() int64 {
	var n int64
	for _, m := range f.meta {
		n += int64(m.size)
	}
	return n
}

// Len is the number of Resources added.
func (f *Facts) Len() int { return f.n }

// Add records r (nil is ignored). r is not used afterwards. It encodes r straight into f's
// chunk, as Record would.
func (f *Facts) Add(r *Resource) {
	if r == nil {
		return
	}
	facts := allFacts(r)
	i := f.room(recordSize(r, facts))
	f.chunks[i] = appendRecord(f.chunks[i], r, facts)
	f.meta[i].size = len(f.chunks[i])
	f.n++
	f.names += len(r.Name)
}

// AddRecord records a Resource encoded by Record.
func (f *Facts) AddRecord(rec []byte) {
	i := f.room(len(rec))
	f.chunks[i] = append(f.chunks[i], rec...)
	f.meta[i].size = len(f.chunks[i])
	f.n++
}

// room returns the index of a chunk with room for size more bytes, allocating one when the
// last has none (or, with a Spill, moving a full last chunk there and reusing its memory).
func (f *Facts) room(size int) int {
	full := f.chunk
	if full <= 0 {
		full = factsChunk
	}
	last := len(f.chunks) - 1
	if last >= 0 && cap(f.chunks[last])-len(f.chunks[last]) >= size {
		return last
	}
	var buf []byte
	next := min(factsFirstChunk, full)
	if last >= 0 {
		next = min(2*cap(f.chunks[last]), full)
		if c := f.chunks[last]; f.spill != nil && f.err == nil && cap(c) >= min(full, factsSpillFrom) {
			off, err := f.spill.Put(c)
			if err != nil {
				f.err = err
			} else {
				f.meta[last] = chunkMeta{off: off, size: len(c), spilled: true}
				f.chunks[last] = nil
				if cap(c) >= next {
					buf = c[:0]
				}
			}
		}
	}
	if cap(buf) < size {
		buf = make([]byte, 0, max(next, size))
	}
	f.chunks = append(f.chunks, buf)
	f.meta = append(f.meta, chunkMeta{})
	return last + 1
}

// Record encodes r, facts and all, as Facts keeps it: a caller may keep the bytes (to add the
// same resource again to the Facts of a later run, say) and hand them to AddRecord.
func Record(r *Resource) []byte {
	facts := allFacts(r)
	return appendRecord(make([]byte, 0, recordSize(r, facts)), r, facts)
}

// allFacts is r's facts in the packed form: its packed ones, then those of its slices.
func allFacts(r *Resource) []byte {
	if len(r.Refs)+len(r.Claims)+len(r.Prefixes)+len(r.Withins) == 0 {
		return r.packed
	}
	x := &Resource{packed: append([]byte(nil), r.packed...)}
	for _, v := range r.Refs {
		x.packRef(v)
	}
	for _, v := range r.Claims {
		x.packClaim(v)
	}
	for _, v := range r.Prefixes {
		x.packPrefix(v)
	}
	for _, v := range r.Withins {
		x.packWithin(v)
	}
	return x.packed
}

// recordSize bounds the length of r's record with facts: every uvarint counted at its
// longest.
func recordSize(r *Resource, facts []byte) int {
	const u = binary.MaxVarintLen64
	size := 12*u + 1 + len(r.Kind) + len(r.Namespace) + len(r.Name) + len(r.At.File) + len(facts)
	for _, p := range r.Parts {
		size += len(p) + u
	}
	return size + len(r.VLANRanges)*2*u + len(r.Subnets)*(u+18)
}

// appendRecord appends r's record, with facts as its facts, to b.
func appendRecord(b []byte, r *Resource, facts []byte) []byte {
	w := &Resource{packed: b}
	w.str(r.Kind)
	w.str(r.Namespace)
	w.str(r.Name)
	w.str(r.At.File)
	w.packed = binary.AppendUvarint(w.packed, uint64(max(r.At.Document, 0)))
	w.packed = binary.AppendUvarint(w.packed, uint64(max(r.At.Line, 0)))
	w.packed = binary.AppendUvarint(w.packed, uint64(max(r.At.Column, 0)))
	var flags byte
	if r.New {
		flags |= 1
	}
	if r.Deleted {
		flags |= 2
	}
	w.packed = append(w.packed, flags)
	w.packed = binary.AppendUvarint(w.packed, uint64(len(r.Parts)))
	for _, p := range r.Parts {
		w.str(p)
	}
	w.packed = binary.AppendUvarint(w.packed, uint64(len(r.VLANRanges)))
	for _, v := range r.VLANRanges {
		w.packed = binary.AppendUvarint(w.packed, uint64(max(v.From, 0)))
		w.packed = binary.AppendUvarint(w.packed, uint64(max(v.To, 0)))
	}
	w.packed = binary.AppendUvarint(w.packed, uint64(len(r.Subnets)))
	for _, p := range r.Subnets {
		w.prefix(p)
	}
	w.packed = binary.AppendUvarint(w.packed, uint64(len(facts)))
	return append(w.packed, facts...)
}

// decodeRecord decodes the record at the start of b into r, its offers (Parts, VLANRanges,
// Subnets) left encoded in offers, and returns the record's length (0: b holds no whole
// record). r's strings and packed facts share b.
func decodeRecord(b []byte, r *Resource) (offers []byte, n int) {
	d := &reader{b: b}
	*r = Resource{}
	r.Kind, r.Namespace, r.Name, r.At.File = d.str(), d.str(), d.str(), d.str()
	r.At.Document, r.At.Line, r.At.Column = int(d.uvarint()), int(d.uvarint()), int(d.uvarint())
	if d.bad || len(d.b) == 0 {
		return nil, 0
	}
	flags := d.b[0]
	d.b = d.b[1:]
	r.New, r.Deleted = flags&1 != 0, flags&2 != 0
	start := len(b) - len(d.b)
	for n := d.uvarint(); n > 0 && !d.bad; n-- {
		d.str()
	}
	for n := d.uvarint(); n > 0 && !d.bad; n-- {
		d.uvarint()
		d.uvarint()
	}
	for n := d.uvarint(); n > 0 && !d.bad; n-- {
		d.prefix()
	}
	offers = b[start : len(b)-len(d.b)]
	k := d.uvarint()
	if d.bad || k > uint64(len(d.b)) {
		return nil, 0
	}
	r.packed = d.b[:k:k]
	return offers, len(b) - len(d.b) + int(k)
}

// decodeOffers sets parts, vlans and subnets (reusing them) to the offers decodeRecord
// returned; the parts share offers.
func decodeOffers(offers []byte, parts *[]string, vlans *[]VLANRange, subnets *[]netip.Prefix) {
	d := &reader{b: offers}
	*parts, *vlans, *subnets = (*parts)[:0], (*vlans)[:0], (*subnets)[:0]
	for n := d.uvarint(); n > 0 && !d.bad; n-- {
		*parts = append(*parts, d.str())
	}
	for n := d.uvarint(); n > 0 && !d.bad; n-- {
		*vlans = append(*vlans, VLANRange{From: int(d.uvarint()), To: int(d.uvarint())})
	}
	for n := d.uvarint(); n > 0 && !d.bad; n-- {
		*subnets = append(*subnets, d.prefix())
	}
}

// CheckFacts checks the fabric as a whole, as CheckFabric describes, over the Resources
// recorded in f. It reads the records a few times, one chunk at a time, and keeps a few dozen bytes
// per Resource in memory (see factsChecker), not the Resources. f must not be added to
// while it runs.
func (v *Validator) CheckFacts(f *Facts) (problems []Problem) {
	defer func() {
		if r := recover(); r != nil {
			problems = []Problem{{Rule: RuleInternal, Severity: Error, Message: fmt.Sprintf("internal error while checking the fabric: %v", r)}}
		}
	}()
	c := &factsChecker{v: v, f: f}
	problems = c.run()
	if c.err != nil {
		return []Problem{{Rule: RuleInternal, Severity: Error, Message: fmt.Sprintf("internal error while checking the fabric: read the facts back: %v", c.err)}}
	}
	return problems
}
