package validate

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Resource is what CheckFabric needs to know of one fabric resource: its
// identity and the facts about it that span documents. The kind's check
// fills it in; CheckFabric compares all of them.
type Resource struct {
	Kind      string
	Namespace string // "default" when the document has none
	Name      string
	At        Pos  // metadata.name
	New       bool // brought by this sync (Doc.New)

	// Deleted marks a resource this sync deletes: it is not part of the
	// fabric after the sync. At is where the delete is asked for (the
	// delete document). Its Refs, Claims, Prefixes and Withins, and any
	// other Resource of the same kind, namespace and name, are ignored; a
	// Ref to it from a resource that stays is a RuleDeleteLeavesReferences
	// problem located at At, naming the referrers, instead of a "does not
	// exist" one at each referrer. NewDeleted makes one.
	Deleted bool

	// The facts CheckFabric compares. Check records them in packed, not in these slices; a
	// Resource made by hand (a test's, say) may use either or both.
	Refs     []Ref         // other resources this one names; each must exist
	Claims   []Claim       // things only one resource may have: a switch port, a VLAN in a namespace, an ASN
	Prefixes []PrefixClaim // address space that must not overlap another's in the same space
	Withins  []Within      // values that must lie inside what another resource provides

	// packed holds the facts Check recorded, encoded (see pack.go): a fabric has as many
	// Resources as documents, and a byte slice holds no pointers for the garbage collector
	// to follow while ingest goes on working.
	packed []byte

	// What this resource offers others.
	Parts      []string       // named parts a Ref may ask for: a VPC's subnet names
	VLANRanges []VLANRange    // a VLANNamespace's ranges
	Subnets    []netip.Prefix // an IPv4Namespace's subnets
}

// Ref names another resource, in the referrer's namespace.
type Ref struct {
	Kind string // "Switch"
	Name string // "leaf-01"
	Part string // when set, the target must have this part: a VPCAttachment's subnet "default" of VPC "vpc-1"
	Rule string
	At   Loc
}

// Loc is a line and column in the document of the Resource a fact belongs
// to (its file and document are the Resource's At): facts are many, so
// they do not each carry a file name.
type Loc struct{ Line, Column int32 }

// Claim is a value only one resource may hold in a space: Space "port",
// Key "leaf-01/E1/1"; Show is how a message names it ("port leaf-01/E1/1").
type Claim struct {
	Space, Key string
	Show       string
	Rule       string
	At         Loc
}

// PrefixClaim is address space that must not overlap any other in Space
// (e.g. "ipv4ns/default"). Show names it: "subnet default 10.0.1.0/24".
type PrefixClaim struct {
	Space  string
	Prefix netip.Prefix
	Show   string
	Rule   string
	At     Loc
}

// Within says a VLAN or a prefix must lie inside what the resource Kind
// Name (in the same namespace) provides: its VLANRanges or its Subnets.
type Within struct {
	Kind, Name string
	VLAN       int          // when > 0
	Prefix     netip.Prefix // when VLAN is 0
	Show       string       // "subnet default: VLAN 1001"
	Rule       string
	At         Loc
}

// VLANRange is an inclusive range of VLAN IDs.
type VLANRange struct{ From, To int }

func newResource(d *Doc) *Resource {
	ns := d.Namespace
	if ns == "" {
		ns = "default"
	}
	return &Resource{Kind: d.Kind, Namespace: ns, Name: d.Name, At: d.At(nil), New: d.New}
}

// loc is where n is in the document (nil: its metadata.name).
func (c *docCtx) loc(n *yaml.Node) Loc {
	p := c.d.At(n)
	return Loc{Line: int32(p.Line), Column: int32(p.Column)}
}

// at is the position of l in r's document.
func (r *Resource) at(l Loc) Pos {
	return Pos{File: r.At.File, Document: r.At.Document, Line: int(l.Line), Column: int(l.Column)}
}

// ref records that the document names the resource kind/name at n.
func (c *docCtx) ref(rule, kind, name, part string, n *yaml.Node) {
	if c.res == nil || c.v.disabled[rule] || name == "" {
		return
	}
	k := [4]string{rule, kind, name, part}
	if slices.Contains(c.refs, k) {
		return // one problem per missing resource is enough (a connection names its server once per link)
	}
	c.refs = append(c.refs, k)
	c.res.packRef(Ref{Kind: kind, Name: name, Part: part, Rule: rule, At: c.loc(n)})
}

// claim records that the document holds key in space at n.
func (c *docCtx) claim(rule, space, key, show string, n *yaml.Node) {
	if c.res == nil || c.v.disabled[rule] {
		return
	}
	c.res.packClaim(Claim{Space: space, Key: key, Show: show, Rule: rule, At: c.loc(n)})
}

// claimPrefix records address space the document holds in space at n.
func (c *docCtx) claimPrefix(rule, space string, p netip.Prefix, show string, n *yaml.Node) {
	if c.res == nil || c.v.disabled[rule] {
		return
	}
	c.res.packPrefix(PrefixClaim{Space: space, Prefix: p.Masked(), Show: show, Rule: rule, At: c.loc(n)})
}

// within records that vlan (when > 0) or p must lie inside what kind/name
// provides.
func (c *docCtx) within(rule, kind, name string, vlan int, p netip.Prefix, show string, n *yaml.Node) {
	if c.res == nil || c.v.disabled[rule] || name == "" {
		return
	}
	c.res.packWithin(Within{Kind: kind, Name: name, VLAN: vlan, Prefix: p, Show: show, Rule: rule, At: c.loc(n)})
}

// NewDeleted returns the Resource that tells CheckFabric the sync deletes
// the resource kind/name in namespace ("" means "default"), as asked at at.
func NewDeleted(kind, namespace, name string, at Pos, isNew bool) *Resource {
	if namespace == "" {
		namespace = "default"
	}
	return &Resource{Kind: kind, Namespace: namespace, Name: name, At: at, New: isNew, Deleted: true}
}

// Rules CheckFabric applies itself.
const (
	// RuleDeleteLeavesReferences: a resource the sync deletes is still
	// named by resources that stay.
	RuleDeleteLeavesReferences = "delete-leaves-references"
)

// fabricRules are the rules CheckFabric applies itself; the references,
// claims and ranges carry the rules of the kinds that make them.
var fabricRules = []Rule{
	{ID: RuleDeleteLeavesReferences, Doc: "a resource a sync deletes is not still named by resources that stay (delete its referrers in the same sync, or change them)", Severity: Error},
}

type resKey struct{ kind, ns, name string }

// maxListed bounds how many names a "does not exist" message lists.
const maxListed = 8

// CheckFabric checks the fabric as a whole: rs are the Resources Check
// returned for every document of the fabric as it will be after the sync,
// plus one Deleted Resource (NewDeleted) for each resource the sync
// deletes. A reference to a kind of which rs holds no resource at all, not
// even a deleted one, is not checked (the fabric does not manage that
// kind). A problem is located at
// a resource this sync brings when one is involved, and is a warning when
// none is. Problems are sorted by position. It never panics. It records rs
// as Facts and runs CheckFacts, the one implementation of these checks.
func (v *Validator) CheckFabric(rs []*Resource) []Problem {
	var f Facts
	for _, r := range rs {
		f.Add(r)
	}
	return v.CheckFacts(&f)
}

// referrer is a resource that names another.
type referrer struct{ kind, name string }

// referrersString names the referrers of a deleted resource by kind, kinds
// and names sorted: "connections a, b and VPC attachments c".
func referrersString(rfs []referrer) string {
	byKind := map[string][]string{}
	for _, r := range rfs {
		byKind[r.kind] = append(byKind[r.kind], r.name)
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int { return strings.Compare(strings.ToLower(noun(a)), strings.ToLower(noun(b))) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		n := noun(k)
		if len(byKind[k]) > 1 {
			n = plural(k)
		}
		parts[i] = n + " " + listOrNone(byKind[k])
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// cmpNew orders old (false) before new (true).
func cmpNew(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func cmpPos(a, b Pos) int {
	return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Document, b.Document), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
}

func vlanIn(v int, rs []VLANRange) bool {
	for _, r := range rs {
		if v >= r.From && v <= r.To {
			return true
		}
	}
	return false
}

func prefixIn(p netip.Prefix, in []netip.Prefix) bool {
	for _, q := range in {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func rangesString(rs []VLANRange) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d-%d", r.From, r.To)
	}
	return strings.Join(parts, ", ")
}

func prefixesString(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

// noun is how messages name a kind: "switch", "connection", "VPC".
func noun(kind string) string {
	switch kind {
	case "Switch", "Server", "Connection", "External":
		return strings.ToLower(kind)
	case "SwitchGroup":
		return "switch group"
	case "ExternalAttachment":
		return "external attachment"
	case "ExternalPeering":
		return "external peering"
	case "VPCAttachment":
		return "VPC attachment"
	case "VPCPeering":
		return "VPC peering"
	}
	return kind
}

// plural names several of a kind: "switches", "VPCs".
func plural(kind string) string {
	n := noun(kind)
	switch {
	case strings.HasSuffix(n, "ch"), strings.HasSuffix(n, "s"):
		return n + "es"
	}
	return n + "s"
}

func listNames(kind string, names []string) string {
	if len(names) == 0 {
		return "there are no " + plural(kind)
	}
	return plural(kind) + ": " + listOrNone(names)
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := slices.Clone(names)
	slices.Sort(s)
	if len(s) > maxListed {
		return strings.Join(s[:maxListed], ", ") + fmt.Sprintf(", and %d more", len(s)-maxListed)
	}
	return strings.Join(s, ", ")
}
