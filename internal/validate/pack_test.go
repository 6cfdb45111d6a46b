package validate

import (
	"net/netip"
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
