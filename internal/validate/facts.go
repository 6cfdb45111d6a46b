package validate

import (
	"encoding/binary"
	"net/netip"
)

// Facts holds the Resources of a fabric until CheckFacts runs, each encoded, facts and all,
// into large byte chunks: a fabric of 100,000 documents keeps 100,000 Resources while the rest
// of the ingest goes on, and as Resource structs (a few hundred bytes of headers and pointers
// each, beside their packed facts) they cost the garbage collector a walk through every one
// at every cycle. In Facts they cost their bytes, in a few allocations that hold no pointers.
// The zero Facts is empty and ready to use; it is not safe for concurrent use.
type Facts struct {
	chunks [][]byte
	n      int
}

// Facts allocates chunks of twice the size of the one before, from factsFirstChunk to
// factsChunk (a larger record gets its own), so that a small fabric allocates little.
const (
	factsFirstChunk = 4 << 10
	factsChunk      = 1 << 20
)

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
	f.n++
}

// AddRecord records a Resource encoded by Record.
func (f *Facts) AddRecord(rec []byte) {
	i := f.room(len(rec))
	f.chunks[i] = append(f.chunks[i], rec...)
	f.n++
}

// room returns the index of a chunk with room for size more bytes, allocating one when the
// last has none.
func (f *Facts) room(size int) int {
	last := len(f.chunks) - 1
	if last >= 0 && cap(f.chunks[last])-len(f.chunks[last]) >= size {
		return last
	}
	next := factsFirstChunk
	if last >= 0 {
		next = min(2*cap(f.chunks[last]), factsChunk)
	}
	f.chunks = append(f.chunks, make([]byte, 0, max(next, size)))
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

// resources decodes the Resources of f. Their strings and packed facts share f's bytes, so f
// must not be added to while they are in use.
func (f *Facts) resources() []*Resource {
	slab := make([]Resource, 0, f.n)
	rs := make([]*Resource, 0, f.n)
	for _, c := range f.chunks {
		d := &reader{b: c}
		for len(d.b) > 0 && !d.bad {
			var r Resource
			r.Kind, r.Namespace, r.Name, r.At.File = d.str(), d.str(), d.str(), d.str()
			r.At.Document, r.At.Line, r.At.Column = int(d.uvarint()), int(d.uvarint()), int(d.uvarint())
			if len(d.b) == 0 {
				break
			}
			flags := d.b[0]
			d.b = d.b[1:]
			r.New, r.Deleted = flags&1 != 0, flags&2 != 0
			if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
				r.Parts = make([]string, n)
				for i := range r.Parts {
					r.Parts[i] = d.str()
				}
			}
			if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
				r.VLANRanges = make([]VLANRange, n)
				for i := range r.VLANRanges {
					r.VLANRanges[i] = VLANRange{From: int(d.uvarint()), To: int(d.uvarint())}
				}
			}
			if n := d.uvarint(); n > 0 && n <= uint64(len(d.b)) {
				r.Subnets = make([]netip.Prefix, n)
				for i := range r.Subnets {
					r.Subnets[i] = d.prefix()
				}
			}
			n := d.uvarint()
			if d.bad || n > uint64(len(d.b)) {
				break
			}
			r.packed = d.b[:n:n]
			d.b = d.b[n:]
			slab = append(slab, r)
			rs = append(rs, &slab[len(slab)-1])
		}
	}
	return rs
}

// CheckFacts is CheckFabric over the Resources recorded in f.
func (v *Validator) CheckFacts(f *Facts) []Problem {
	return v.CheckFabric(f.resources())
}
