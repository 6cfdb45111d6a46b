package validate

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPack checks that facts come out of a Resource's packed form as they went in, after the
// facts of its slices.
func TestPack(t *testing.T) {
	r := &Resource{Refs: []Ref{{Kind: "Switch", Name: "by-hand", Rule: "connection-unknown-switch"}}}
	refs := []Ref{{Kind: "Switch", Name: "leaf-01", Rule: "connection-unknown-switch", At: Loc{12, 15}}, {Kind: "VPC", Name: "vpc-1", Part: "default", Rule: "vpcattachment-unknown-subnet", At: Loc{1, 1}}}
	claims := []Claim{{Space: "port", Key: "leaf-01/E1/1/1", Show: "port leaf-01/E1/1", Rule: "connection-port-reused", At: Loc{3, 4}}, {Space: "", Key: "", Show: "ünïcode", Rule: "connection-port-reused"}}
	prefixes := []PrefixClaim{{Space: "ipv4ns/default", Prefix: netip.MustParsePrefix("10.0.1.0/24"), Show: "subnet default", Rule: "vpc-subnet-overlap", At: Loc{9, 15}}, {Space: "v6", Prefix: netip.MustParsePrefix("fd00::/64"), Rule: "vpc-subnet-overlap"}}
	withins := []Within{{Kind: "VLANNamespace", Name: "default", VLAN: 1001, Show: "VLAN 1001", Rule: "vpc-subnet-vlan-namespace", At: Loc{10, 13}}, {Kind: "IPv4Namespace", Name: "default", Prefix: netip.MustParsePrefix("10.0.0.0/8"), Rule: "vpc-subnet-ipv4namespace"}}
	for i := range 2 {
		r.packRef(refs[i])
		r.packClaim(claims[i])
		r.packPrefix(prefixes[i])
		r.packWithin(withins[i])
	}
	gotRefs, gotClaims, gotPrefixes, gotWithins := r.unpack()
	opt := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if diff := cmp.Diff(append([]Ref{r.Refs[0]}, refs...), gotRefs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(claims, gotClaims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(prefixes, gotPrefixes, opt); diff != "" {
		t.Errorf("prefixes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(withins, gotWithins, opt); diff != "" {
		t.Errorf("withins (-want +got):\n%s", diff)
	}
	r.dropFacts()
	if a, b, c, d := r.unpack(); len(a)+len(b)+len(c)+len(d) != 0 {
		t.Error("dropFacts left facts")
	}
}

// TestFactsSpill: with a Spill, full chunks leave memory and come back for
// CheckFacts; a Spill that fails keeps the chunk in memory (Put) or makes
// CheckFacts report an internal error (Get).
func TestFactsSpill(t *testing.T) {
	mk := func(i int) *Resource {
		r := &Resource{Kind: "Connection", Namespace: "default", Name: fmt.Sprintf("c-%d", i), New: true, At: Pos{File: "raw/a.yaml", Document: i + 1}}
		r.packClaim(Claim{Space: "port", Key: fmt.Sprintf("leaf-01/E1/%d", i%50), Show: "port", Rule: "connection-port-reused"})
		return r
	}
	v := Default()
	var plain, spilled Facts
	s := &memSpill{}
	spilled.chunk = 512
	spilled.SetSpill(s)
	for i := range 100 {
		plain.Add(mk(i))
		spilled.Add(mk(i))
	}
	if len(s.b) == 0 || spilled.Len() != 100 || spilled.Size() != plain.Size() {
		t.Fatalf("spilled %d bytes, %d records of %d bytes (in memory: %d)", len(s.b), spilled.Len(), spilled.Size(), plain.Size())
	}
	want := v.CheckFacts(&plain)
	if len(want) != 50 {
		t.Fatalf("%d problems; want 50 (every port used twice)", len(want))
	}
	if got := v.CheckFacts(&spilled); !reflect.DeepEqual(got, want) {
		t.Errorf("through the Spill:\n%v\nwant:\n%v", got, want)
	}
	s.b = s.b[:10] // what was put is lost
	if got := v.CheckFacts(&spilled); len(got) != 1 || got[0].Rule != RuleInternal {
		t.Errorf("a Spill that cannot read back: %v; want one internal error", got)
	}
	var failing Facts
	failing.chunk = 512
	failing.SetSpill(failSpill{})
	for i := range 100 {
		failing.Add(mk(i))
	}
	if failing.Err() == nil {
		t.Error("no error from a failing Put")
	}
	if got := v.CheckFacts(&failing); !reflect.DeepEqual(got, want) {
		t.Errorf("after a failing Put (chunks kept in memory):\n%v\nwant:\n%v", got, want)
	}
}

type failSpill struct{}

func (failSpill) Put([]byte) (int64, error) { return 0, errors.New("disk full") }
func (failSpill) Get([]byte, int64) error   { return errors.New("unreachable") }

// TestFactsSpillSizes: with the real chunk sizes, a small fabric's facts stay in memory (its
// Spill is never written), and a large fabric's stay in memory only up to the small first
// chunks and the one being filled, whatever their total.
func TestFactsSpillSizes(t *testing.T) {
	mk := func(i int) *Resource {
		r := &Resource{Kind: "Connection", Namespace: "default", Name: fmt.Sprintf("connection-%06d", i), New: true, At: Pos{File: "raw/a.yaml", Document: i + 1}}
		r.packClaim(Claim{Space: "port", Key: fmt.Sprintf("leaf-%03d/E1/%d", i/50, i%50), Show: "port", Rule: "connection-port-reused"})
		return r
	}
	inMemory := func(f *Facts) int {
		n := 0
		for _, c := range f.chunks {
			n += cap(c)
		}
		return n
	}
	for _, tt := range []struct {
		records   int
		spillUsed bool
	}{
		{100, false},
		{1000, false},
		{50000, true},
	} {
		var f Facts
		s := &memSpill{}
		f.SetSpill(s)
		for i := range tt.records {
			f.Add(mk(i))
		}
		if (len(s.b) > 0) != tt.spillUsed {
			t.Errorf("%d records (%d bytes): %d bytes spilled; want spilled: %v", tt.records, f.Size(), len(s.b), tt.spillUsed)
		}
		if limit := factsSpillFrom + factsChunk; inMemory(&f) > limit {
			t.Errorf("%d records (%d bytes): %d bytes in memory; want at most %d", tt.records, f.Size(), inMemory(&f), limit)
		}
		if f.Size() != int64(len(s.b))+int64(sumLen(f.chunks)) {
			t.Errorf("%d records: Size %d, not what is in the Spill and in memory", tt.records, f.Size())
		}
	}
}

func sumLen(chunks [][]byte) int {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	return n
}
