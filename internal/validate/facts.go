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

// Add records r (nil is ignored). r is not used afterwards.
func (f *Facts) Add(r *Resource) {
	if r == nil {
		return
	}
	f.AddRecord(Record(r))
}

// AddRecord records a Resource encoded by Record.
func (f *Facts) AddRecord(rec []byte) {
	var b []byte
	if last := len(f.chunks) - 1; last >= 0 && cap(f.chunks[last])-len(f.chunks[last]) >= len(rec) {
		b = f.chunks[last]
	} else {
		next := factsFirstChunk
		if last >= 0 {
			next = min(2*cap(f.chunks[last]), factsChunk)
		}
		b = make([]byte, 0, max(next, len(rec)))
		f.chunks = append(f.chunks, b)
	}
	f.chunks[len(f.chunks)-1] = append(b, rec...)
	f.n++
}

// Record encodes r, facts and all, as Facts keeps it: a caller may keep the bytes (to add the
// same resource again to the Facts of a later run, say) and hand them to AddRecord.
func Record(r *Resource) []byte {
	// The hand-made facts of r's slices go after its packed ones, all in the packed form.
	facts := r.packed
	if len(r.Refs)+len(r.Claims)+len(r.Prefixes)+len(r.Withins) > 0 {
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
		facts = x.packed
	}
	size := 64 + len(r.Kind) + len(r.Namespace) + len(r.Name) + len(r.At.File) + len(facts)
	for _, p := range r.Parts {
		size += len(p) + binary.MaxVarintLen64
	}
	size += len(r.VLANRanges)*2*binary.MaxVarintLen64 + len(r.Subnets)*24
	w := &Resource{packed: make([]byte, 0, size)}
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
