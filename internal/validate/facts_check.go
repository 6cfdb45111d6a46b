package validate

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"net/netip"
	"slices"
	"strings"
	"unsafe"
)

// factsChecker is CheckFabric over Facts without decoding every Resource at once: it reads
// the records in order, one chunk at a time, three times at most:
//
//  1. to learn every resource's kind, namespace and name (resSum, 40 bytes, and the name),
//     which resources are deleted, and what each offers (its Parts, VLANRanges and Subnets,
//     still encoded);
//  2. to check references and ranges, and to note a hash of every claim and each address
//     prefix with where it is (pfxEntry);
//  3. only when two claims share a hash, to collect the claims of those hashes.
//
// What it keeps are those summaries, an open-addressing table of the kept resources by key,
// the claim hashes and the prefixes: a few dozen bytes per resource, against the few hundred
// of a decoded Resource with its facts. A record is read again only to word a problem.
// It finds what CheckFabric finds, and reports it in the same order.
type factsChecker struct {
	v   *Validator
	f   *Facts
	err error // from the Spill

	buf []byte // a chunk read back
	one []byte // one record read back

	sums   []resSum
	names  []byte // every resource's name, one after another
	offers []byte // the offers of those that have any, encoded
	kinds  internTable
	nss    internTable
	spaces internTable
	files  internTable
	held   []bool  // by kind: the fabric has a resource of the kind (kept or deleted)
	table  []int32 // 1 + index in sums of the first kept resource of each key; 0: empty
	seed   maphash.Seed
	gone   map[resKey]*goneRes
	listed map[[2]uint32][]string // names of the kept resources of a kind and namespace, for messages

	parts   []string // a target's offers, decoded (reused)
	vlans   []VLANRange
	subnets []netip.Prefix
}

// resSum is what factsChecker keeps of one resource.
type resSum struct {
	chunk, pos, size  uint32 // where its record is
	name, nameLen     uint32 // in factsChecker.names
	offers, offersLen uint32 // in factsChecker.offers
	kind, ns          uint32 // in factsChecker.kinds and nss
	flags             uint8
}

const (
	sumNew    = 1 // Resource.New
	sumHidden = 2 // deleted, or of the key of a deleted resource: not part of the fabric
)

// goneRes is a deleted resource.
type goneRes struct {
	At         Pos
	New        bool
	Kind, Name string
}

// pfxEntry is one address prefix a resource claims: the k-th of its PrefixClaims.
type pfxEntry struct {
	p     netip.Prefix
	space uint32 // in factsChecker.spaces
	file  uint32 // in factsChecker.files
	doc   int32
	res   int32 // in factsChecker.sums
	k     int32
	at    Loc
	new   bool
}

// internTable numbers distinct strings, each kept once.
type internTable struct {
	idx  map[string]uint32
	strs []string
}

func (t *internTable) id(s string) uint32 {
	if i, ok := t.idx[s]; ok {
		return i
	}
	if t.idx == nil {
		t.idx = map[string]uint32{}
	}
	s = strings.Clone(s)
	i := uint32(len(t.strs))
	t.idx[s] = i
	t.strs = append(t.strs, s)
	return i
}

func (t *internTable) lookup(s string) (uint32, bool) {
	i, ok := t.idx[s]
	return i, ok
}

// str returns s as a string that does not share the record it came from.
func (t *internTable) str(s string) string { return t.strs[t.id(s)] }

// read fills *buf with size bytes at off of the Spill; nil after an error.
func (c *factsChecker) read(buf *[]byte, off int64, size int) []byte {
	if c.err != nil {
		return nil
	}
	if cap(*buf) < size {
		*buf = make([]byte, size)
	}
	b := (*buf)[:size]
	if err := c.f.spill.Get(b, off); err != nil {
		c.err = err
		return nil
	}
	return b
}

// each calls fn with every record, in order: its index, the Resource (sharing the record,
// which may be overwritten once fn returns), its encoded offers and where it is.
func (c *factsChecker) each(fn func(i int, r *Resource, offers []byte, chunk, pos, size int)) {
	i := 0
	var r Resource
	for ci, b := range c.f.chunks {
		m := c.f.meta[ci]
		if m.spilled {
			if b = c.read(&c.buf, m.off, m.size); b == nil {
				return
			}
		}
		for pos := 0; pos < len(b); {
			offers, n := decodeRecord(b[pos:], &r)
			if n == 0 {
				break
			}
			fn(i, &r, offers, ci, pos, n)
			pos += n
			i++
		}
	}
}

// record decodes resource i again into r (sharing a buffer the next call overwrites).
func (c *factsChecker) record(i int, r *Resource) bool {
	s := &c.sums[i]
	var b []byte
	if m := c.f.meta[s.chunk]; m.spilled {
		b = c.read(&c.one, m.off+int64(s.pos), int(s.size))
	} else {
		b = c.f.chunks[s.chunk][s.pos : s.pos+s.size]
	}
	if b == nil {
		return false
	}
	_, n := decodeRecord(b, r)
	return n > 0
}

func (c *factsChecker) name(s *resSum) string {
	if s.nameLen == 0 {
		return ""
	}
	return unsafe.String(&c.names[s.name], int(s.nameLen))
}

func (c *factsChecker) hash(kind, ns uint32, name string) uint64 {
	h := maphash.String(c.seed, name) ^ (uint64(kind)<<32|uint64(ns))*0x9e3779b97f4a7c15
	return h ^ h>>31
}

// find returns the index of the kept resource kind/ns/name, or -1; with add, it adds i as
// that resource when there is none yet.
func (c *factsChecker) find(kind, ns uint32, name string, add bool, i int) int {
	mask := uint64(len(c.table) - 1)
	for j := c.hash(kind, ns, name) & mask; ; j = (j + 1) & mask {
		v := c.table[j]
		if v == 0 {
			if add {
				c.table[j] = int32(i + 1)
			}
			return -1
		}
		if s := &c.sums[v-1]; s.kind == kind && s.ns == ns && c.name(s) == name {
			return int(v - 1)
		}
	}
}

// lookup returns the index of the kept resource of kind (a string) in namespace ns, or -1.
func (c *factsChecker) lookup(kind string, ns uint32, name string) (int, bool) {
	k, ok := c.kinds.lookup(kind)
	if !ok || !c.held[k] {
		return -1, false
	}
	return c.find(k, ns, name, false, 0), true
}

// targetOffers decodes the offers of resource t into c.parts, c.vlans and c.subnets.
func (c *factsChecker) targetOffers(t int) {
	s := &c.sums[t]
	decodeOffers(c.offers[s.offers:s.offers+s.offersLen], &c.parts, &c.vlans, &c.subnets)
}

// namesOf lists the kept resources of a kind in a namespace, in order, as CheckFabric does.
func (c *factsChecker) namesOf(kind, ns uint32) []string {
	k := [2]uint32{kind, ns}
	if ns, ok := c.listed[k]; ok {
		return ns
	}
	var out []string
	for i := range c.sums {
		s := &c.sums[i]
		if s.kind == kind && s.ns == k[1] && s.flags&sumHidden == 0 && c.find(kind, k[1], c.name(s), false, 0) == i {
			out = append(out, c.name(s))
		}
	}
	if c.listed == nil {
		c.listed = map[[2]uint32][]string{}
	}
	c.listed[k] = out
	return out
}

func (c *factsChecker) run() (problems []Problem) {
	v, f := c.v, c.f
	add := func(rule string, at Pos, isNew bool, format string, args ...any) {
		if v.disabled[rule] {
			return
		}
		sev := v.severity(rule)
		if !isNew {
			sev = Warning
		}
		problems = append(problems, Problem{Pos: at, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	c.seed = maphash.MakeSeed()

	// 1. Who is there.
	c.sums = make([]resSum, 0, f.n)
	c.names = make([]byte, 0, f.names)
	c.gone = map[resKey]*goneRes{}
	var nClaims, nPrefixes int // to size what the second reading keeps
	var fa facts
	c.each(func(i int, r *Resource, offers []byte, chunk, pos, size int) {
		r.unpackInto(&fa)
		nClaims += len(fa.claims)
		nPrefixes += len(fa.prefixes)
		s := resSum{chunk: uint32(chunk), pos: uint32(pos), size: uint32(size),
			kind: c.kinds.id(r.Kind), ns: c.nss.id(r.Namespace),
			name: uint32(len(c.names)), nameLen: uint32(len(r.Name))}
		c.names = append(c.names, r.Name...)
		if len(offers) > 3 { // three zero counts: no offers
			s.offers, s.offersLen = uint32(len(c.offers)), uint32(len(offers))
			c.offers = append(c.offers, offers...)
		}
		if r.New {
			s.flags |= sumNew
		}
		c.sums = append(c.sums, s)
		if r.Deleted {
			if k := (resKey{r.Kind, r.Namespace, r.Name}); c.gone[k] == nil {
				d := &goneRes{At: r.At, New: r.New, Kind: c.kinds.strs[s.kind], Name: strings.Clone(r.Name)}
				d.At.File = c.files.str(r.At.File)
				c.gone[resKey{d.Kind, c.nss.strs[s.ns], d.Name}] = d
			}
		}
	})
	if c.err != nil {
		return nil
	}
	c.held = make([]bool, len(c.kinds.strs))
	for k := range c.gone {
		c.held[c.kinds.idx[k.kind]] = true
	}
	size := 16
	for size < 2*len(c.sums) {
		size *= 2
	}
	c.table = make([]int32, size)
	for i := range c.sums {
		s := &c.sums[i]
		if len(c.gone) > 0 && c.gone[resKey{c.kinds.strs[s.kind], c.nss.strs[s.ns], c.name(s)}] != nil {
			s.flags |= sumHidden
			continue
		}
		c.held[s.kind] = true
		c.find(s.kind, s.ns, c.name(s), true, i)
	}

	// 2. References and ranges; claims and prefixes noted.
	hashOf := func(space, key string) uint64 {
		var h maphash.Hash
		h.SetSeed(c.seed)
		h.WriteString(space)
		h.WriteByte(0)
		h.WriteString(key)
		return h.Sum64()
	}
	referrers := map[*goneRes][]referrer{}
	claimHashes := make([]uint64, 0, nClaims)
	pfx := make([]pfxEntry, 0, nPrefixes)
	c.each(func(i int, r *Resource, _ []byte, _, _, _ int) {
		s := &c.sums[i]
		if s.flags&sumHidden != 0 {
			return
		}
		r.At.File = c.files.str(r.At.File)
		r.unpackInto(&fa)
		for j := range fa.refs {
			ref := &fa.refs[j]
			t, held := c.lookup(ref.Kind, s.ns, ref.Name)
			if !held {
				continue
			}
			if t < 0 && len(c.gone) > 0 {
				if d := c.gone[resKey{ref.Kind, r.Namespace, ref.Name}]; d != nil {
					if rf := (referrer{c.kinds.strs[s.kind], r.Name}); !slices.Contains(referrers[d], rf) {
						rf.name = strings.Clone(rf.name)
						referrers[d] = append(referrers[d], rf)
					}
					continue
				}
			}
			if t < 0 {
				k, _ := c.kinds.lookup(ref.Kind)
				add(ref.Rule, r.at(ref.At), r.New, "%s %s: %s %s does not exist (%s)", noun(r.Kind), r.Name, noun(ref.Kind), ref.Name, listNames(ref.Kind, c.namesOf(k, s.ns)))
				continue
			}
			if ref.Part != "" {
				if c.targetOffers(t); !slices.Contains(c.parts, ref.Part) {
					add(ref.Rule, r.at(ref.At), r.New, "%s %s: %s %s has no subnet %s (subnets: %s)", noun(r.Kind), r.Name, noun(ref.Kind), ref.Name, ref.Part, listOrNone(c.parts))
				}
			}
		}
		for j := range fa.claims {
			claimHashes = append(claimHashes, hashOf(fa.claims[j].Space, fa.claims[j].Key))
		}
		for j := range fa.prefixes {
			p := &fa.prefixes[j]
			pfx = append(pfx, pfxEntry{p: p.Prefix, space: c.spaces.id(p.Space), file: c.files.id(r.At.File), doc: int32(r.At.Document),
				res: int32(i), k: int32(j), at: p.At, new: r.New})
		}
		for j := range fa.withins {
			w := &fa.withins[j]
			t, held := c.lookup(w.Kind, s.ns, w.Name)
			if !held || t < 0 {
				continue // the Ref to it reports that
			}
			c.targetOffers(t)
			if w.VLAN > 0 {
				if !vlanIn(w.VLAN, c.vlans) {
					add(w.Rule, r.at(w.At), r.New, "%s %s: %s is outside %s %s (ranges %s)", noun(r.Kind), r.Name, w.Show, noun(w.Kind), w.Name, rangesString(c.vlans))
				}
				continue
			}
			if w.Prefix.IsValid() && !prefixIn(w.Prefix, c.subnets) {
				add(w.Rule, r.at(w.At), r.New, "%s %s: %s is outside %s %s (subnets %s)", noun(r.Kind), r.Name, w.Show, noun(w.Kind), w.Name, prefixesString(c.subnets))
			}
		}
	})
	if c.err != nil {
		return nil
	}

	// Deletes that leave references behind.
	for d, rfs := range referrers {
		add(RuleDeleteLeavesReferences, d.At, d.New, "deleting %s %s leaves %s referring to it", noun(d.Kind), d.Name, referrersString(rfs))
	}

	// 3. Claims: only those of a hash held twice are looked at again.
	slices.Sort(claimHashes)
	twice := map[uint64]bool{}
	for j := 1; j < len(claimHashes); j++ {
		if claimHashes[j] == claimHashes[j-1] {
			twice[claimHashes[j]] = true
		}
	}
	claimHashes = nil
	type claimKey struct{ space, key string }
	type claimant struct {
		res        int
		kind, name string
		new        bool
		at         Pos
		c          Claim
	}
	claims := map[claimKey][]claimant{}
	if len(twice) > 0 {
		c.each(func(i int, r *Resource, _ []byte, _, _, _ int) {
			s := &c.sums[i]
			if s.flags&sumHidden != 0 {
				return
			}
			r.unpackInto(&fa)
			for j := range fa.claims {
				cl := fa.claims[j]
				if !twice[hashOf(cl.Space, cl.Key)] {
					continue
				}
				cl.Space, cl.Key, cl.Show = strings.Clone(cl.Space), strings.Clone(cl.Key), strings.Clone(cl.Show)
				at := r.at(cl.At)
				at.File = c.files.str(at.File)
				k := claimKey{cl.Space, cl.Key}
				claims[k] = append(claims[k], claimant{res: i, kind: c.kinds.strs[s.kind], name: c.name(s), new: r.New, at: at, c: cl})
			}
		})
		if c.err != nil {
			return nil
		}
	}
	keys := make([]claimKey, 0, len(claims))
	for k, cs := range claims {
		if len(cs) > 1 { // one holder: its hash collided with another key's
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b claimKey) int {
		return cmp.Or(strings.Compare(a.space, b.space), strings.Compare(a.key, b.key))
	})
	for _, k := range keys {
		cs := claims[k]
		slices.SortStableFunc(cs, func(a, b claimant) int {
			return cmp.Or(cmpNew(a.new, b.new), cmpPos(a.at, b.at))
		})
		first := cs[0]
		for _, o := range cs[1:] {
			if o.res == first.res {
				add(o.c.Rule, o.at, o.new, "%s %s: %s is used twice", noun(o.kind), o.name, o.c.Show)
				continue
			}
			add(o.c.Rule, o.at, o.new, "%s is already used by %s %s", o.c.Show, noun(first.kind), first.name)
		}
	}

	// Prefixes, as CheckFabric: by space, then by address (wider first).
	pos := func(e *pfxEntry) Pos {
		return Pos{File: c.files.strs[e.file], Document: int(e.doc), Line: int(e.at.Line), Column: int(e.at.Column)}
	}
	slices.SortStableFunc(pfx, func(a, b pfxEntry) int {
		return cmp.Or(strings.Compare(c.spaces.strs[a.space], c.spaces.strs[b.space]), a.p.Addr().Compare(b.p.Addr()), cmp.Compare(a.p.Bits(), b.p.Bits()), cmpNew(a.new, b.new), cmpPos(pos(&a), pos(&b)))
	})
	fact := func(e *pfxEntry) (PrefixClaim, bool) {
		var r Resource
		if !c.record(int(e.res), &r) {
			return PrefixClaim{}, false
		}
		r.unpackInto(&fa)
		if int(e.k) >= len(fa.prefixes) {
			return PrefixClaim{}, false
		}
		p := fa.prefixes[e.k]
		p.Space, p.Show = "", strings.Clone(p.Show)
		return p, true
	}
	for lo := 0; lo < len(pfx); {
		hi := lo + 1
		for hi < len(pfx) && pfx[hi].space == pfx[lo].space {
			hi++
		}
		ps := pfx[lo:hi]
		lo = hi
		var open *pfxEntry
		for i := range ps {
			cur := &ps[i]
			if open == nil || !open.p.Contains(cur.p.Addr()) {
				open = cur
				continue
			}
			at, other := cur, open
			if !cur.new && open.new {
				at, other = open, cur
			}
			atP, ok1 := fact(at)
			otherP, ok2 := fact(other)
			if !ok1 || !ok2 {
				if c.err == nil {
					c.err = fmt.Errorf("a record cannot be read again")
				}
				return nil
			}
			as, os := &c.sums[at.res], &c.sums[other.res]
			add(atP.Rule, pos(at), at.new, "%s %s: %s overlaps %s of %s %s", noun(c.kinds.strs[as.kind]), c.name(as), atP.Show, otherP.Show, noun(c.kinds.strs[os.kind]), c.name(os))
		}
	}
	sortProblems(problems)
	return problems
}
