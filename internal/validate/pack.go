package validate

import (
	"encoding/binary"
	"net/netip"
	"unsafe"
)

// The facts Check records for CheckFabric are packed into Resource.packed, one record after
// another: a tag byte, the rule (its index in ruleIDs), the line and column (uvarints), then the
// fact's fields, strings as a uvarint length and the bytes, prefixes as netip's binary form
// behind a length. A fabric of 100,000 documents keeps 100,000 Resources until CheckFabric runs;
// packed this way their facts take a third of the memory they take as structs of strings, and
// the garbage collector, which never looks inside a byte slice, has nothing to follow in them.

const (
	tagRef byte = iota + 1
	tagClaim
	tagPrefix
	tagWithin
)

// ruleIndex maps a rule ID to its index in ruleList.
var ruleList, ruleIndex = func() ([]string, map[string]uint64) {
	ids := ruleIDs()
	m := make(map[string]uint64, len(ids))
	for i, id := range ids {
		m[id] = uint64(i)
	}
	return ids, m
}()

func (r *Resource) head(tag byte, rule string, at Loc) {
	idx, ok := ruleIndex[rule]
	if !ok {
		panic("validate: unregistered rule " + rule)
	}
	r.packed = append(r.packed, tag)
	r.packed = binary.AppendUvarint(r.packed, idx)
	r.packed = binary.AppendUvarint(r.packed, uint64(max(at.Line, 0)))
	r.packed = binary.AppendUvarint(r.packed, uint64(max(at.Column, 0)))
}

func (r *Resource) str(s string) {
	r.packed = binary.AppendUvarint(r.packed, uint64(len(s)))
	r.packed = append(r.packed, s...)
}

func (r *Resource) prefix(p netip.Prefix) {
	b, _ := p.MarshalBinary() // never fails
	r.packed = binary.AppendUvarint(r.packed, uint64(len(b)))
	r.packed = append(r.packed, b...)
}

func (r *Resource) packRef(f Ref) {
	r.head(tagRef, f.Rule, f.At)
	r.str(f.Kind)
	r.str(f.Name)
	r.str(f.Part)
}

func (r *Resource) packClaim(f Claim) {
	r.head(tagClaim, f.Rule, f.At)
	r.str(f.Space)
	r.str(f.Key)
	r.str(f.Show)
}

func (r *Resource) packPrefix(f PrefixClaim) {
	r.head(tagPrefix, f.Rule, f.At)
	r.str(f.Space)
	r.prefix(f.Prefix)
	r.str(f.Show)
}

func (r *Resource) packWithin(f Within) {
	r.head(tagWithin, f.Rule, f.At)
	r.str(f.Kind)
	r.str(f.Name)
	r.packed = binary.AppendUvarint(r.packed, uint64(max(f.VLAN, 0)))
	r.prefix(f.Prefix)
	r.str(f.Show)
}

// dropFacts forgets every fact recorded so far.
func (r *Resource) dropFacts() {
	r.packed = nil
	r.Refs, r.Claims, r.Prefixes, r.Withins = nil, nil, nil, nil
}

// reader decodes packed records; a record it cannot read ends the reading (it cannot happen:
// only pack* write them).
type reader struct {
	b   []byte
	bad bool
}

func (d *reader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// str returns the next string without copying it: it shares the packed bytes, which are never
// written again once Check has returned (so CheckFabric allocates nothing per string).
func (d *reader) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return ""
	}
	var s string
	if n > 0 {
		s = unsafe.String(&d.b[0], int(n))
	}
	d.b = d.b[n:]
	return s
}

func (d *reader) prefix() netip.Prefix {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return netip.Prefix{}
	}
	var p netip.Prefix
	if err := p.UnmarshalBinary(d.b[:n]); err != nil {
		d.bad = true
	}
	d.b = d.b[n:]
	return p
}

// facts is one resource's facts, unpacked; CheckFabric reuses one for every resource.
type facts struct {
	refs     []Ref
	claims   []Claim
	prefixes []PrefixClaim
	withins  []Within
}

// unpack returns r's facts: those in its slices, then the packed ones.
func (r *Resource) unpack() (refs []Ref, claims []Claim, prefixes []PrefixClaim, withins []Within) {
	var f facts
	r.unpackInto(&f)
	return f.refs, f.claims, f.prefixes, f.withins
}

// unpackInto sets f to r's facts, reusing f's slices: what it held before is overwritten.
func (r *Resource) unpackInto(f *facts) {
	f.refs = append(f.refs[:0], r.Refs...)
	f.claims = append(f.claims[:0], r.Claims...)
	f.prefixes = append(f.prefixes[:0], r.Prefixes...)
	f.withins = append(f.withins[:0], r.Withins...)
	d := &reader{b: r.packed}
	for len(d.b) > 0 && !d.bad {
		tag := d.b[0]
		d.b = d.b[1:]
		idx := d.uvarint()
		at := Loc{Line: int32(d.uvarint()), Column: int32(d.uvarint())}
		if d.bad || idx >= uint64(len(ruleList)) {
			break
		}
		rule := ruleList[idx]
		switch tag {
		case tagRef:
			f.refs = append(f.refs, Ref{Rule: rule, At: at, Kind: d.str(), Name: d.str(), Part: d.str()})
		case tagClaim:
			f.claims = append(f.claims, Claim{Rule: rule, At: at, Space: d.str(), Key: d.str(), Show: d.str()})
		case tagPrefix:
			f.prefixes = append(f.prefixes, PrefixClaim{Rule: rule, At: at, Space: d.str(), Prefix: d.prefix(), Show: d.str()})
		case tagWithin:
			f.withins = append(f.withins, Within{Rule: rule, At: at, Kind: d.str(), Name: d.str(), VLAN: int(d.uvarint()), Prefix: d.prefix(), Show: d.str()})
		default:
			d.bad = true
		}
	}
}
