package validate

// Hedgehog's rules for the wiring.githedgehog.com kinds: Switch, Server,
// Connection, SwitchGroup and VLANNamespace. They restate, as fabsync
// rules, what the Default and Validate methods of Hedgehog's
// api/wiring/v1beta1 types enforce without cluster access, plus the
// cross-document facts (references, unique ports and addresses) that
// Validate looks up in the cluster. Connections are in wiring_connection.go.
//
// Hydrated fields (a switch's asn, ip, protocolIP, vtepIP; a fabric link's
// ips) are filled in by Hedgehog's tooling and are not required here; when
// present they are checked for format and uniqueness.

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// wiringGroup is the API group of the kinds in this file.
const wiringGroup = "wiring.githedgehog.com"

// wiringVersion is the only version whose rules are known here.
const wiringVersion = "v1beta1"

// wiringKinds are the kinds checked here, with the prefix of their rule IDs.
var wiringKinds = []struct{ kind, prefix string }{
	{"Switch", "switch"},
	{"Server", "server"},
	{"Connection", "connection"},
	{"SwitchGroup", "switchgroup"},
	{"VLANNamespace", "vlannamespace"},
}

// wiringRules are the rules of the wiring.githedgehog.com kinds.
var wiringRules = slices.Concat(wiringMetaRules(), []Rule{
	{ID: "wiring-api-version", Doc: "a wiring.githedgehog.com document of a version other than v1beta1 is not checked against Hedgehog's rules", Severity: Warning},

	{ID: "switch-role", Doc: "a switch's spec.role is set and is one of spine, server-leaf, border-leaf, mixed-leaf", Severity: Error},
	{ID: "switch-profile", Doc: "a switch's spec.profile (its SwitchProfile) is set", Severity: Error},
	{ID: "switch-redundancy-type", Doc: "a switch's spec.redundancy.type is eslag or mclag, and is set exactly when spec.redundancy.group is", Severity: Error},
	{ID: "switch-mclag-deprecated", Doc: "a switch uses MCLAG redundancy, which Hedgehog deprecated and no longer supports", Severity: Warning},
	{ID: "switch-unknown-group", Doc: "every switch group a switch names (spec.groups, spec.redundancy.group) is a non-empty name of an existing SwitchGroup", Severity: Error},
	{ID: "switch-unknown-vlannamespace", Doc: "every VLAN namespace a switch names (spec.vlanNamespaces, \"default\" when empty) exists", Severity: Error},
	{ID: "switch-asn", Doc: "a switch's spec.asn, when set, is a number from 1 to 4294967295", Severity: Error},
	{ID: "switch-duplicate-asn", Doc: "no two leaves (other than MCLAG pairs) have the same spec.asn", Severity: Error},
	{ID: "switch-ip", Doc: "a switch's spec.ip, when set, is an address with a prefix length (10.0.0.1/24)", Severity: Error},
	{ID: "switch-duplicate-ip", Doc: "no two switches have the same management address (spec.ip)", Severity: Error},
	{ID: "switch-protocol-ip", Doc: "a switch's spec.protocolIP, when set, is an IPv4 /32", Severity: Error},
	{ID: "switch-duplicate-protocol-ip", Doc: "no two switches have the same spec.protocolIP", Severity: Error},
	{ID: "switch-vtep-ip", Doc: "a leaf's spec.vtepIP, when set, is an IPv4 /32; a spine has none", Severity: Error},
	{ID: "switch-duplicate-vtep-ip", Doc: "no two leaves (other than MCLAG pairs) have the same spec.vtepIP", Severity: Error},
	{ID: "switch-boot-mac", Doc: "a switch's spec.boot.mac, when set, is a MAC address (0c:20:12:ff:00:00)", Severity: Error},
	{ID: "switch-duplicate-boot", Doc: "no two switches have the same spec.boot.mac or spec.boot.serial", Severity: Error},
	{ID: "switch-port-fec", Doc: "every value of a switch's spec.portFECs is rs, fc, auto or disabled", Severity: Error},
	{ID: "switch-link-flap", Doc: "a switch's spec.linkFlapErrDisable values are in range (flapThreshold 1-50, samplingInterval 1-65535, recoveryInterval 0-65534)", Severity: Error},

	{ID: "vlannamespace-range", Doc: "a VLAN namespace has 1 to 20 ranges, each from 1 to 4094 with from <= to (to defaults to from)", Severity: Error},
	{ID: "vlannamespace-range-overlap", Doc: "the ranges of a VLAN namespace do not overlap one another", Severity: Error},
}, connectionRules)

// wiringMetaRules are the metadata rules every wiring kind shares
// (Hedgehog's ValidateObjectMetadata), one pair of IDs per kind.
func wiringMetaRules() []Rule {
	var rs []Rule
	for _, k := range wiringKinds {
		rs = append(rs,
			Rule{ID: k.prefix + "-name", Doc: fmt.Sprintf("a %s's metadata.name is a lower-case RFC 1123 subdomain (a-z, 0-9, '-', '.'; at most 253 characters)", noun(k.kind)), Severity: Error},
			Rule{ID: k.prefix + "-namespace", Doc: fmt.Sprintf("a %s is in the default namespace (the only one Hedgehog supports)", noun(k.kind)), Severity: Error},
		)
	}
	return rs
}

// wiringKindChecks are the checks of the wiring.githedgehog.com kinds.
var wiringKindChecks = map[string]kindCheck{
	"Switch":        checkSwitch,
	"Server":        func(c *docCtx) { wiringDoc(c, "server") },
	"Connection":    checkConnection,
	"SwitchGroup":   func(c *docCtx) { wiringDoc(c, "switchgroup") },
	"VLANNamespace": checkVLANNamespace,
}

// wiringDoc applies the metadata rules (prefix names the kind's rules) and
// reports whether the document is a wiring.githedgehog.com/v1beta1 one the
// kind's own rules apply to.
func wiringDoc(c *docCtx, prefix string) bool {
	if c.d.Group != wiringGroup {
		return false // a kind of the same name in another Hedgehog group: not ours
	}
	if c.d.Version != wiringVersion {
		_, n := getStr(c.d.Root, "apiVersion")
		c.report("wiring-api-version", n, "%s: apiVersion %s is not checked against Hedgehog's rules: fabsync knows them for %s/%s only",
			wiringSubject(c), c.d.APIVersion, wiringGroup, wiringVersion)
		return false
	}
	md := Get(c.d.Root, "metadata")
	name, nameN := getStr(md, "name")
	switch {
	case name == "":
		c.report(prefix+"-name", firstNode(nameN, keyNode(c.d.Root, "metadata")), "%s: metadata.name is missing", wiringSubject(c))
	case len(name) > 253:
		c.report(prefix+"-name", nameN, "%s: metadata.name is %d characters long, at most 253 are allowed", noun(c.d.Kind), len(name))
	case !Subdomain(name):
		c.report(prefix+"-name", nameN, "%s %q: metadata.name must be a lower-case RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a letter or digit)", noun(c.d.Kind), name)
	}
	if ns, nsN := getStr(md, "namespace"); ns != "" && ns != "default" {
		c.report(prefix+"-namespace", nsN, "%s: metadata.namespace is %q, but Hedgehog supports only the default namespace", wiringSubject(c), ns)
	}
	return true
}

// wiringSubject names the document in messages: "switch leaf-01".
func wiringSubject(c *docCtx) string {
	if c.d.Name == "" {
		return noun(c.d.Kind) + " (no name)"
	}
	return noun(c.d.Kind) + " " + c.d.Name
}

// wiringShow shows a scalar's value in a message: quoted, or its YAML kind
// when it is not a scalar.
func wiringShow(n *yaml.Node) string {
	switch {
	case n == nil:
		return "missing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(n.Value)
}

// switchRoles are the roles Hedgehog's fabric handles (SwitchRoles).
var switchRoles = []string{"spine", "server-leaf", "border-leaf", "mixed-leaf"}

// switchFECModes are the values of spec.portFECs.
var switchFECModes = []string{"rs", "fc", "auto", "disabled"}

// checkSwitch checks a Switch: its enums, its hydrated fields when set,
// and what it names and must not share.
func checkSwitch(c *docCtx) {
	if !wiringDoc(c, "switch") {
		return
	}
	root := c.d.Root
	spec := Get(root, "spec")
	specAt := firstNode(keyNode(root, "spec"))
	who := wiringSubject(c)

	// Role: required, one of the four.
	role, roleN := getStr(spec, "role")
	switch {
	case isNull(roleN):
		c.report("switch-role", firstNode(roleN, specAt), "%s: spec.role is missing (roles: %s)", who, strings.Join(switchRoles, ", "))
	case role == "virtual-edge":
		c.report("switch-role", roleN, "%s: spec.role virtual-edge is in Hedgehog's CRD but its fabric no longer handles it (roles: %s)", who, strings.Join(switchRoles, ", "))
	case !slices.Contains(switchRoles, role) || roleN.Kind != yaml.ScalarNode:
		c.report("switch-role", roleN, "%s: spec.role %s is not a switch role (roles: %s)", who, wiringShow(roleN), strings.Join(switchRoles, ", "))
	}
	isLeaf := role == "server-leaf" || role == "border-leaf" || role == "mixed-leaf"

	if p, pN := getStr(spec, "profile"); p == "" {
		c.report("switch-profile", firstNode(pN, specAt), "%s: spec.profile is missing: name the SwitchProfile of the switch's model (vs for a virtual switch)", who)
	}

	// Redundancy: type in the enum; group and type go together.
	red := Get(spec, "redundancy")
	group, groupN := getStr(red, "group")
	rtype, rtypeN := getStr(red, "type")
	switch {
	case !isNull(rtypeN) && (rtypeN.Kind != yaml.ScalarNode || (rtype != "" && rtype != "eslag" && rtype != "mclag")):
		c.report("switch-redundancy-type", rtypeN, "%s: spec.redundancy.type %s is not a redundancy type (eslag, or the deprecated mclag)", who, wiringShow(rtypeN))
	case group != "" && rtype == "":
		c.report("switch-redundancy-type", groupN, "%s: spec.redundancy.group %s is set without spec.redundancy.type (eslag)", who, group)
	case group == "" && rtype != "":
		c.report("switch-redundancy-type", rtypeN, "%s: spec.redundancy.type %s is set without spec.redundancy.group (the SwitchGroup of the redundancy pair)", who, rtype)
	}
	if rtype == "mclag" {
		c.report("switch-mclag-deprecated", rtypeN, "%s: spec.redundancy.type mclag is deprecated and no longer supported by Hedgehog: use eslag", who)
	}

	// Groups (Default adds the redundancy group to them).
	var groups []string
	for i, g := range items(Get(spec, "groups")) {
		name, ok := str(g)
		if !ok || name == "" {
			c.report("switch-unknown-group", g, "%s: spec.groups[%d] is %s: name a switch group", who, i, wiringShow(g))
			continue
		}
		groups = append(groups, name)
		c.ref("switch-unknown-group", "SwitchGroup", name, "", g)
	}
	if group != "" && !slices.Contains(groups, group) {
		c.ref("switch-unknown-group", "SwitchGroup", group, "", groupN)
	}

	// VLAN namespaces ("default" when none).
	vns := items(Get(spec, "vlanNamespaces"))
	for i, v := range vns {
		name, ok := str(v)
		if !ok || name == "" {
			c.report("switch-unknown-vlannamespace", v, "%s: spec.vlanNamespaces[%d] is %s: name a VLAN namespace", who, i, wiringShow(v))
			continue
		}
		c.ref("switch-unknown-vlannamespace", "VLANNamespace", name, "", v)
	}
	if len(vns) == 0 {
		c.ref("switch-unknown-vlannamespace", "VLANNamespace", "default", "", nil)
	}

	// Hydrated fields: optional, checked when present.
	mclag := rtype == "mclag"
	if n := Get(spec, "asn"); !isNull(n) {
		asn, ok := intOf(n)
		switch {
		case !ok || asn < 0 || asn > 1<<32-1:
			c.report("switch-asn", n, "%s: spec.asn %s is not an ASN (a number from 1 to 4294967295)", who, wiringShow(n))
		case asn > 0 && isLeaf && !mclag:
			c.claim("switch-duplicate-asn", "leaf-asn", strconv.Itoa(asn), "leaf ASN "+strconv.Itoa(asn), n)
		}
	}
	if p, n, ok := switchPrefix(c, spec, "ip", "switch-ip", "an address with its prefix length, such as 172.30.0.8/21"); ok {
		c.claim("switch-duplicate-ip", "switch-ip", p.Addr().String(), "management IP "+p.Addr().String(), n)
	}
	if p, n, ok := switchPrefix(c, spec, "protocolIP", "switch-protocol-ip", "an IPv4 /32, such as 172.30.8.2/32"); ok {
		if !p.Addr().Is4() || p.Bits() != 32 {
			c.report("switch-protocol-ip", n, "%s: spec.protocolIP %s must be an IPv4 /32", who, p)
		} else {
			c.claim("switch-duplicate-protocol-ip", "protocol-ip", p.Addr().String(), "protocol IP "+p.Addr().String(), n)
		}
	}
	if p, n, ok := switchPrefix(c, spec, "vtepIP", "switch-vtep-ip", "an IPv4 /32, such as 172.30.12.0/32"); ok {
		switch {
		case role == "spine":
			c.report("switch-vtep-ip", n, "%s: spec.vtepIP is set, but spine switches have no VTEP IP", who)
		case !p.Addr().Is4() || p.Bits() != 32:
			c.report("switch-vtep-ip", n, "%s: spec.vtepIP %s must be an IPv4 /32", who, p)
		case isLeaf && !mclag:
			c.claim("switch-duplicate-vtep-ip", "vtep-ip", p.Addr().String(), "VTEP IP "+p.Addr().String(), n)
		}
	}

	// Boot identity.
	boot := Get(spec, "boot")
	if n := Get(boot, "mac"); !isNull(n) {
		s, _ := str(n)
		if hw, err := net.ParseMAC(s); err != nil || len(hw) != 6 {
			c.report("switch-boot-mac", n, "%s: spec.boot.mac %s is not a MAC address (such as 0c:20:12:ff:00:00)", who, wiringShow(n))
		} else {
			c.claim("switch-duplicate-boot", "boot-mac", hw.String(), "boot MAC "+hw.String(), n)
		}
	}
	if s, n := getStr(boot, "serial"); s != "" {
		c.claim("switch-duplicate-boot", "boot-serial", s, "boot serial "+s, n)
	}

	// Port FEC modes.
	pairs(Get(spec, "portFECs"), func(k, v *yaml.Node) {
		if m, ok := str(v); !ok || !slices.Contains(switchFECModes, m) {
			c.report("switch-port-fec", v, "%s: spec.portFECs[%s] %s is not a FEC mode (%s)", who, k.Value, wiringShow(v), strings.Join(switchFECModes, ", "))
		}
	})

	// Link-flap errdisable (Default fills in the missing values).
	lf := Get(spec, "linkFlapErrDisable")
	for _, f := range []struct {
		key     string
		min, mx int
	}{{"flapThreshold", 1, 50}, {"samplingInterval", 1, 65535}, {"recoveryInterval", 0, 65534}} {
		n := Get(lf, f.key)
		if isNull(n) {
			continue
		}
		if v, ok := intOf(n); !ok || v < f.min || v > f.mx {
			c.report("switch-link-flap", n, "%s: spec.linkFlapErrDisable.%s %s must be a number from %d to %d", who, f.key, wiringShow(n), f.min, f.mx)
		}
	}
}

// switchPrefix reads the optional address-with-prefix field key of spec,
// reporting rule when it is set but not one (want says what it should be).
func switchPrefix(c *docCtx, spec *yaml.Node, key, rule, want string) (netip.Prefix, *yaml.Node, bool) {
	n := Get(spec, key)
	if isNull(n) {
		return netip.Prefix{}, n, false
	}
	s, _ := str(n)
	if s == "" && n.Kind == yaml.ScalarNode {
		return netip.Prefix{}, n, false // "" is Go's zero value: not set
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		c.report(rule, n, "%s: spec.%s %s is not %s", wiringSubject(c), key, wiringShow(n), want)
		return netip.Prefix{}, n, false
	}
	return p, n, true
}

// vlanRangeAt is one valid range of a VLAN namespace, where it was written.
type vlanRangeAt struct {
	r VLANRange
	i int
	n *yaml.Node
}

// maxVLANRanges is the CRD's maxItems for spec.ranges.
const maxVLANRanges = 20

// checkVLANNamespace checks a VLANNamespace's ranges and offers the valid
// ones (c.res.VLANRanges) to the kinds that take VLANs from it.
func checkVLANNamespace(c *docCtx) {
	if !wiringDoc(c, "vlannamespace") {
		return
	}
	root := c.d.Root
	spec := Get(root, "spec")
	who := wiringSubject(c)
	rangesN := Get(spec, "ranges")
	rs := items(rangesN)
	if len(rs) == 0 {
		c.report("vlannamespace-range", firstNode(rangesN, keyNode(root, "spec")), "%s: spec.ranges is empty: a VLAN namespace needs at least one range of VLAN IDs (1 to 4094)", who)
	}
	if len(rs) > maxVLANRanges {
		c.report("vlannamespace-range", rs[maxVLANRanges], "%s: spec.ranges has %d ranges, at most %d are allowed", who, len(rs), maxVLANRanges)
	}
	var valid []vlanRangeAt
	for i, it := range rs {
		fromN, toN := Get(it, "from"), Get(it, "to")
		from, okF := intOf(fromN)
		to, okT := intOf(toN)
		if isNull(toN) {
			to, okT = 0, true
		}
		if to == 0 {
			to = from // Hedgehog: a range without "to" is the single VLAN "from"
		}
		switch {
		case !okF || from < 1 || from > 4094:
			c.report("vlannamespace-range", firstNode(fromN, it), "%s: spec.ranges[%d].from %s is not a VLAN ID (1 to 4094)", who, i, wiringShow(fromN))
		case !okT || to < 1 || to > 4094:
			c.report("vlannamespace-range", toN, "%s: spec.ranges[%d].to %s is not a VLAN ID (1 to 4094)", who, i, wiringShow(toN))
		case from > to:
			c.report("vlannamespace-range", it, "%s: spec.ranges[%d] is from %d to %d: from must not be greater than to", who, i, from, to)
		default:
			valid = append(valid, vlanRangeAt{VLANRange{from, to}, i, it})
		}
	}
	if c.res != nil {
		for _, v := range valid {
			c.res.VLANRanges = append(c.res.VLANRanges, v.r)
		}
	}
	// Overlaps: sorted by start, each range need only be compared with the
	// one reaching furthest before it.
	sorted := slices.Clone(valid)
	slices.SortStableFunc(sorted, func(a, b vlanRangeAt) int { return a.r.From - b.r.From })
	var open *vlanRangeAt
	for k := range sorted {
		cur := &sorted[k]
		if open != nil && cur.r.From <= open.r.To {
			at, other := cur, open
			if other.i > at.i {
				at, other = other, at
			}
			c.report("vlannamespace-range-overlap", at.n, "%s: spec.ranges[%d] %d-%d overlaps spec.ranges[%d] %d-%d (Hedgehog then rejects the switches in this namespace)",
				who, at.i, at.r.From, at.r.To, other.i, other.r.From, other.r.To)
		}
		if open == nil || cur.r.To > open.r.To {
			open = cur
		}
	}
}
