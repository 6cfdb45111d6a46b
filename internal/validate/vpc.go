package validate

// Hedgehog's own rules for the seven kinds of the vpc.githedgehog.com API
// group (VPC, VPCAttachment, VPCPeering, IPv4Namespace, External,
// ExternalAttachment, ExternalPeering), as the Default and Validate methods
// of githedgehog/fabric's api/vpc/v1beta1 enforce them, rewritten as fabsync
// rules. Each document is checked as it will be after Hedgehog's defaulting
// (a VPC without ipv4Namespace is in "default", a subnet without gateway
// gets the subnet's first address, an enabled DHCP server without a range
// gets one, ...). What Hedgehog checks against the cluster (a referenced
// VPC exists, a VLAN is free) becomes Resource facts that CheckFabric
// compares across the fabric.

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits and constants of the vpc API, as Hedgehog has them.
const (
	vpcMaxNameLen         = 11     // VPC, IPv4Namespace and External names
	vpcMaxSubnets         = 20     // subnets of one VPC
	vpcMaxPrefixBits      = 30     // the longest VPC subnet prefix
	vpcMaxIPv4NSSubnets   = 10     // subnets of one IPv4Namespace
	vpcExtNamePrefix      = "ext." // reserved for externals' VPC infos
	vpcDefaultNamespace   = "default"
	vpcDefaultMTU         = 9036 // DHCP interfaceMTU when not set
	vpcMinMTU             = 96
	vpcDefaultLeaseTime   = 3600 // DHCP leaseTimeSeconds when not set
	vpcACLUserMinSeq      = 10   // ACL sequence numbers below are Hedgehog's own
	vpcP2PLinkAnnotation  = "fabric.githedgehog.com/p2p-link"
	vpcMaxVLAN            = 4094
	vpcMaxASN             = 1<<32 - 1
	vpcMaxPort            = 65535
	vpcMaxCommunityNumber = 65535
)

// vpcRules are the rules of the vpc.githedgehog.com kinds.
var vpcRules = slices.Concat(
	[]Rule{{ID: "vpc-api-version", Doc: "a vpc.githedgehog.com document of a version other than v1beta1 is not checked against Hedgehog's rules", Severity: Warning}},
	vpcMetaRules("vpc", "VPC"),
	[]Rule{
		{ID: "vpc-name-length", Doc: "a VPC name has at most 11 characters", Severity: Error},
		{ID: "vpc-name-prefix", Doc: `a VPC name does not start with "ext." (reserved for externals)`, Severity: Error},
		{ID: "vpc-mode", Doc: `spec.mode is "" (L2VNI, the default) or l3vni; l3flat is not supported yet`, Severity: Error},
		{ID: "vpc-unknown-ipv4namespace", Doc: "spec.ipv4Namespace (default \"default\") names an IPv4Namespace of the fabric", Severity: Error},
		{ID: "vpc-unknown-vlannamespace", Doc: "spec.vlanNamespace (default \"default\") names a VLANNamespace of the fabric", Severity: Error},
		{ID: "vpc-subnet-count", Doc: "a VPC has at least one and at most 20 subnets", Severity: Error},
		{ID: "vpc-subnet-prefix", Doc: "each subnet's subnet is a CIDR prefix of at most /30", Severity: Error},
		{ID: "vpc-subnet-gateway", Doc: "each subnet's gateway (default: the subnet's first address) is an IP address inside the subnet", Severity: Error},
		{ID: "vpc-subnet-vlan", Doc: "each subnet other than a hostBGP one has a VLAN, 1-4094", Severity: Error},
		{ID: "vpc-subnet-hostbgp", Doc: "a hostBGP subnet does not enable DHCP", Severity: Error},
		{ID: "vpc-subnet-overlap", Doc: "a VPC subnet overlaps no other subnet of any VPC in the same IPv4Namespace", Severity: Error},
		{ID: "vpc-subnet-ipv4namespace", Doc: "each VPC subnet lies inside one of its IPv4Namespace's subnets", Severity: Error},
		{ID: "vpc-subnet-vlan-namespace", Doc: "each subnet's VLAN lies inside its VLANNamespace's ranges", Severity: Error},
		{ID: "vpc-subnet-vlan-unique", Doc: "a subnet's VLAN is used by no other subnet of any VPC in the same VLANNamespace", Severity: Error},
		{ID: "vpc-dhcp-relay", Doc: "dhcp.relay is an address/length prefix, not set with dhcp.enable; dhcp.relayVPC only with dhcp.relay", Severity: Error},
		{ID: "vpc-dhcp-relay-vpc", Doc: "dhcp.relayVPC names a VPC of the fabric", Severity: Error},
		{ID: "vpc-dhcp-range", Doc: "an enabled DHCP range (default: the subnet's third address to its last) lies inside the subnet, avoids the subnet address and the gateway, start before end", Severity: Error},
		{ID: "vpc-dhcp-options", Doc: "DHCP options: DNS and time servers are IP addresses, interfaceMTU 96-9036, leaseTimeSeconds at least 1", Severity: Error},
		{ID: "vpc-dhcp-routes", Doc: "each DHCP advertised route has a destination prefix and a gateway inside the subnet", Severity: Error},
		{ID: "vpc-dhcp-static", Doc: "DHCP static leases: only with DHCP enabled; a valid MAC each, a distinct IP inside the subnet that is not the subnet, gateway or broadcast address", Severity: Error},
		{ID: "vpc-dhcp-ignored", Doc: "dhcp.range and dhcp.options are set while DHCP is disabled (Hedgehog drops them)", Severity: Warning},
		{ID: "vpc-permit", Doc: "each spec.permit entry lists at least 2 distinct subnets of the VPC", Severity: Error},
		{ID: "vpc-static-route", Doc: "each static route has a prefix without host bits and at least one next hop", Severity: Error},
	},

	vpcMetaRules("vpcattachment", "VPC attachment"),
	[]Rule{
		{ID: "vpcattachment-subnet", Doc: "spec.subnet is set, as <vpc>/<subnet> or <vpc> (subnet \"default\")", Severity: Error},
		{ID: "vpcattachment-connection", Doc: "spec.connection is set", Severity: Error},
		{ID: "vpcattachment-unknown-subnet", Doc: "spec.subnet names a VPC of the fabric and one of its subnets", Severity: Error},
		{ID: "vpcattachment-unknown-connection", Doc: "spec.connection names a connection of the fabric", Severity: Error},
		{ID: "vpcattachment-duplicate", Doc: "a connection is attached to a VPC subnet only once", Severity: Error},
		{ID: "vpcattachment-native-vlan", Doc: "a connection has at most one attachment with nativeVLAN", Severity: Error},
		{ID: "vpcattachment-p2p-link", Doc: "the fabric.githedgehog.com/p2p-link annotation is an IPv4 /31 prefix", Severity: Error},
	},

	vpcMetaRules("vpcpeering", "VPC peering"),
	[]Rule{
		{ID: "vpcpeering-remote", Doc: "spec.remote is not set (deprecated, no longer supported)", Severity: Error},
		{ID: "vpcpeering-permit", Doc: "each spec.permit entry names exactly 2 VPCs, and all entries the same 2", Severity: Error},
		{ID: "vpcpeering-unknown-vpc", Doc: "the peered VPCs, and the subnets named for them, are in the fabric", Severity: Error},
	},

	vpcMetaRules("ipv4namespace", "IPv4Namespace"),
	[]Rule{
		{ID: "ipv4namespace-name-length", Doc: "an IPv4Namespace name has at most 11 characters", Severity: Error},
		{ID: "ipv4namespace-subnet", Doc: "each spec.subnets entry is a CIDR prefix", Severity: Error},
		{ID: "ipv4namespace-subnet-count", Doc: "an IPv4Namespace has at most 10 subnets", Severity: Error},
		{ID: "ipv4namespace-subnet-overlap", Doc: "the subnets of an IPv4Namespace do not overlap one another", Severity: Error},
	},

	vpcMetaRules("external", "external"),
	[]Rule{
		{ID: "external-name-length", Doc: "an external name has at most 11 characters", Severity: Error},
		{ID: "external-unknown-ipv4namespace", Doc: "spec.ipv4Namespace (default \"default\") names an IPv4Namespace of the fabric", Severity: Error},
		{ID: "external-community", Doc: "inboundCommunity and outboundCommunity are BGP communities like 50000:50001", Severity: Error},
		{ID: "external-static", Doc: "a static external has no communities and at least one prefix; its prefixes are valid and do not overlap", Severity: Error},
	},

	vpcMetaRules("externalattachment", "external attachment"),
	[]Rule{
		{ID: "externalattachment-external", Doc: "spec.external is set", Severity: Error},
		{ID: "externalattachment-connection", Doc: "spec.connection is set", Severity: Error},
		{ID: "externalattachment-unknown-external", Doc: "spec.external names an external of the fabric", Severity: Error},
		{ID: "externalattachment-unknown-connection", Doc: "spec.connection names a connection of the fabric", Severity: Error},
		{ID: "externalattachment-bgp", Doc: "a BGP attachment has switch.ip (IP/length), switch.vlan 0-4094, neighbor.asn and neighbor.ip", Severity: Error},
		{ID: "externalattachment-static", Doc: "a static attachment has no switch or neighbor fields, a static.remoteIP, and either static.ip (IP/length) or static.proxy", Severity: Error},
		{ID: "externalattachment-vlan", Doc: "the attachments of one connection use distinct VLANs", Severity: Error},
		{ID: "externalattachment-acl", Doc: "inboundACL statements: distinct seq of at least 10, known action and protocol, prefixes, and filters, ICMP and ports only with their protocol", Severity: Error},
	},

	vpcMetaRules("externalpeering", "external peering"),
	[]Rule{
		{ID: "externalpeering-vpc", Doc: "spec.permit.vpc.name is set", Severity: Error},
		{ID: "externalpeering-external", Doc: "spec.permit.external.name is set", Severity: Error},
		{ID: "externalpeering-prefix", Doc: "each spec.permit.external.prefixes entry has a prefix", Severity: Error},
		{ID: "externalpeering-prefix-format", Doc: "each external prefix is a CIDR prefix (Hedgehog's webhook does not check this; the switch does)", Severity: Warning},
		{ID: "externalpeering-unknown-vpc", Doc: "spec.permit.vpc names a VPC of the fabric, and its subnets that VPC's subnets", Severity: Error},
		{ID: "externalpeering-unknown-external", Doc: "spec.permit.external names an external of the fabric", Severity: Error},
	},
)

// vpcMetaRules are the metadata rules Hedgehog applies to every kind: the
// name is a lowercase RFC 1123 subdomain and the namespace is "default".
func vpcMetaRules(prefix, noun string) []Rule {
	return []Rule{
		{ID: prefix + "-name-format", Doc: "a " + noun + " name is a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.')", Severity: Error},
		{ID: prefix + "-namespace", Doc: "a " + noun + " is in the default namespace (the only one Hedgehog supports)", Severity: Error},
	}
}

// vpcKindChecks are the checks of the vpc.githedgehog.com kinds.
var vpcKindChecks = map[string]kindCheck{
	"VPC":                vpcKind("vpc", vpcCheckVPC),
	"VPCAttachment":      vpcKind("vpcattachment", vpcCheckAttachment),
	"VPCPeering":         vpcKind("vpcpeering", vpcCheckPeering),
	"IPv4Namespace":      vpcKind("ipv4namespace", vpcCheckIPv4Namespace),
	"External":           vpcKind("external", vpcCheckExternal),
	"ExternalAttachment": vpcKind("externalattachment", vpcCheckExternalAttachment),
	"ExternalPeering":    vpcKind("externalpeering", vpcCheckExternalPeering),
}

// The API group and the one version whose rules are known here.
const (
	vpcGroup   = "vpc.githedgehog.com"
	vpcVersion = "v1beta1"
)

// vpcKind makes the kindCheck of a vpc kind from its check. A document of
// the kind in another API group is not one of ours and is left alone. One
// of another version of the group is only warned about: its problems are
// not reported and it claims nothing, but what it offers (a VPC's subnet
// names, an IPv4Namespace's subnets) is kept so references to it resolve.
func vpcKind(prefix string, check func(k *vpcChecker)) kindCheck {
	return func(c *docCtx) {
		if c.d.Group != vpcGroup {
			return
		}
		k := newVPCChecker(c, prefix)
		if c.d.Version != vpcVersion {
			k.report("vpc-api-version", Get(k.root, "apiVersion"), "apiVersion %s is not checked against Hedgehog's rules: fabsync knows them for %s/%s only", c.d.APIVersion, vpcGroup, vpcVersion)
			k.quiet = true
			check(k)
			c.res.dropFacts()
			return
		}
		check(k)
	}
}

// vpcChecker checks one document of a vpc kind: it prefixes every message
// with the object ("VPC vpc-1: ") and reads fields, reporting those of the
// wrong type.
type vpcChecker struct {
	c      *docCtx
	root   *yaml.Node
	prefix string // rule ID prefix: "vpc", "vpcattachment", ...
	name   string
	quiet  bool // report nothing (a version whose rules are not known)
}

// newVPCChecker starts checking c's document; prefix is the rule ID prefix.
func newVPCChecker(c *docCtx, prefix string) *vpcChecker {
	name := c.d.Name
	if name == "" {
		name = "(no name)"
	}
	return &vpcChecker{c: c, root: c.d.Root, prefix: prefix, name: name}
}

// report records a problem of rule at n, the message prefixed with the
// object's kind and name.
func (k *vpcChecker) report(rule string, n *yaml.Node, format string, args ...any) {
	if k.quiet {
		return
	}
	k.c.report(rule, n, "%s %s: %s", noun(k.c.d.Kind), k.name, fmt.Sprintf(format, args...))
}

// meta applies Hedgehog's metadata rules and, when maxLen > 0, its name
// length limit.
func (k *vpcChecker) meta(maxLen int) {
	name := k.c.d.Name
	nameNode := Get(k.root, "metadata", "name")
	switch {
	case name == "":
		k.report(k.prefix+"-name-format", nil, "metadata.name is missing")
	case len(name) > 253 || !Subdomain(name):
		k.report(k.prefix+"-name-format", nameNode, "name is not a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)")
	}
	if maxLen > 0 && len(name) > maxLen {
		k.report(k.prefix+"-name-length", nameNode, "name is %d characters, at most %d are allowed", len(name), maxLen)
	}
	if ns := k.c.d.Namespace; ns != "" && ns != vpcDefaultNamespace {
		k.report(k.prefix+"-namespace", Get(k.root, "metadata", "namespace"), "namespace %s is not supported: Hedgehog accepts only the default namespace", ns)
	}
}

// text reads the string field key of parent: "" when it is missing, null
// or not a scalar (reported under rule as the field label).
func (k *vpcChecker) text(rule string, parent *yaml.Node, key, label string) (string, *yaml.Node) {
	n := Get(parent, key)
	if isNull(n) {
		return "", n
	}
	if n.Kind != yaml.ScalarNode {
		k.report(rule, n, "%s must be a string, not %s", label, vpcShape(n))
		return "", n
	}
	return n.Value, n
}

// flag reads the boolean field key of parent: false when it is missing or
// null; anything else than true or false is reported under rule.
func (k *vpcChecker) flag(rule string, parent *yaml.Node, key, label string) bool {
	n := Get(parent, key)
	if isNull(n) {
		return false
	}
	b, ok := boolOf(n)
	if !ok {
		k.report(rule, n, "%s must be true or false, not %s", label, vpcShow(n))
	}
	return b
}

// number reads the integer field key of parent; set is false when it is
// missing or null, and when it is not a whole number (reported under rule).
func (k *vpcChecker) number(rule string, parent *yaml.Node, key, label string) (v int, n *yaml.Node, set bool) {
	n = Get(parent, key)
	if isNull(n) {
		return 0, n, false
	}
	v, ok := intOf(n)
	if !ok {
		k.report(rule, n, "%s must be a whole number, not %s", label, vpcShow(n))
		return 0, n, false
	}
	return v, n, true
}

// list reads the sequence field key of parent; a field present but not a
// list is reported under rule.
func (k *vpcChecker) list(rule string, parent *yaml.Node, key, label string) []*yaml.Node {
	n := Get(parent, key)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		k.report(rule, n, "%s must be a list, not %s", label, vpcShow(n))
		return nil
	}
	return n.Content
}

// object reads the mapping field key of parent; a field present but not a
// mapping is reported under rule and read as missing.
func (k *vpcChecker) object(rule string, parent *yaml.Node, key, label string) *yaml.Node {
	n := Get(parent, key)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		k.report(rule, n, "%s must be a mapping, not %s", label, vpcShow(n))
		return nil
	}
	return n
}

// vpcBadType reports whether n is there but not a scalar: a field the
// readers above have reported as of the wrong type.
func vpcBadType(n *yaml.Node) bool {
	return !isNull(n) && n.Kind != yaml.ScalarNode
}

// vpcCount is "1 subnet", "3 subnets".
func vpcCount(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// vpcShape names a node's shape for messages.
func vpcShape(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// vpcShow shows a node's value for messages: a scalar as written, other
// shapes by name.
func vpcShow(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return vpcShape(n)
}

// vpcParseAddr parses an IP address as Hedgehog does (no zone).
func vpcParseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// vpcParsePrefix parses a CIDR prefix as Hedgehog does (host bits allowed).
func vpcParsePrefix(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return p, true
}

// vpcParseIPNet parses an "address/length" interface address the way Go's
// net.ParseCIDR accepts it.
func vpcParseIPNet(s string) bool {
	_, _, err := net.ParseCIDR(s)
	return err == nil
}

// vpcLastAddr is the last address of p (its broadcast address for IPv4).
func vpcLastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	for i := range b {
		switch host := (i+1)*8 - p.Bits(); {
		case host >= 8:
			b[i] = 0xff
		case host > 0:
			b[i] |= byte(1<<host - 1)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ---------------------------------------------------------------- VPC

// vpcSubnet is what the VPC check knows of one subnet.
type vpcSubnet struct {
	name    string
	key     *yaml.Node // the subnet's name in spec.subnets
	node    *yaml.Node // its mapping
	prefix  netip.Prefix
	usable  bool // prefix valid and at most /30: the checks inside it apply
	gateway netip.Addr
	hostBGP bool
}

// vpcCheckVPC checks a VPC: name, mode, namespaces (default "default"),
// each subnet (defaulted as Hedgehog does), permit lists and static routes;
// it records the namespace references, each subnet's prefix and VLAN claims
// and ranges, and offers the subnet names as the VPC's parts.
func vpcCheckVPC(k *vpcChecker) {
	c := k.c
	k.meta(vpcMaxNameLen)
	if strings.HasPrefix(c.d.Name, vpcExtNamePrefix) {
		k.report("vpc-name-prefix", nil, "name must not start with %q: that prefix is reserved for externals", vpcExtNamePrefix)
	}
	spec := Get(k.root, "spec")

	switch mode, n := k.text("vpc-mode", spec, "mode", "mode"); mode {
	case "", "l3vni":
	case "l3flat":
		k.report("vpc-mode", n, "mode l3flat is not supported yet (use l3vni, or leave mode out for L2VNI)")
	default:
		k.report("vpc-mode", n, "mode %s is not a VPC mode (l3vni, or leave mode out for L2VNI)", mode)
	}

	ipv4ns, ipv4Node := k.text("vpc-unknown-ipv4namespace", spec, "ipv4Namespace", "ipv4Namespace")
	if ipv4ns == "" {
		ipv4ns = vpcDefaultNamespace
	}
	vlanns, vlanNode := k.text("vpc-unknown-vlannamespace", spec, "vlanNamespace", "vlanNamespace")
	if vlanns == "" {
		vlanns = vpcDefaultNamespace
	}
	c.ref("vpc-unknown-ipv4namespace", "IPv4Namespace", ipv4ns, "", ipv4Node)
	c.ref("vpc-unknown-vlannamespace", "VLANNamespace", vlanns, "", vlanNode)

	var subnets []*vpcSubnet
	subsNode := Get(spec, "subnets")
	switch {
	case isNull(subsNode) || (subsNode.Kind == yaml.MappingNode && len(subsNode.Content) == 0):
		k.report("vpc-subnet-count", firstNode(keyNode(spec, "subnets"), keyNode(k.root, "spec")), "at least one subnet is required (spec.subnets)")
	case subsNode.Kind != yaml.MappingNode:
		k.report("vpc-subnet-count", subsNode, "spec.subnets must be a mapping of subnet names to subnets, not %s", vpcShape(subsNode))
	default:
		if n := len(subsNode.Content) / 2; n > vpcMaxSubnets {
			k.report("vpc-subnet-count", keyNode(spec, "subnets"), "%d subnets, at most %d are allowed", n, vpcMaxSubnets)
		}
	}
	pairs(subsNode, func(kn, vn *yaml.Node) {
		s := &vpcSubnet{name: kn.Value, key: kn, node: vn}
		c.res.Parts = append(c.res.Parts, s.name)
		subnets = append(subnets, s)
		k.subnet(s, ipv4ns, vlanns)
	})

	k.permit(spec, subnets)
	k.staticRoutes(spec)
}

// subnet checks one VPC subnet and records its cross-document facts.
func (k *vpcChecker) subnet(s *vpcSubnet, ipv4ns, vlanns string) {
	c := k.c
	if s.node.Kind != yaml.MappingNode {
		k.report("vpc-subnet-prefix", s.key, "subnet %s: must be a mapping with subnet, gateway, vlan, ..., not %s", s.name, vpcShow(s.node))
		return
	}
	s.hostBGP = k.flag("vpc-subnet-hostbgp", s.node, "hostBGP", "subnet "+s.name+": hostBGP")

	// The prefix.
	cidr, cidrNode := k.text("vpc-subnet-prefix", s.node, "subnet", "subnet "+s.name+": subnet")
	switch p, ok := vpcParsePrefix(cidr); {
	case cidr == "" && vpcBadType(cidrNode):
		// wrong type, reported
	case cidr == "":
		k.report("vpc-subnet-prefix", s.key, "subnet %s: subnet (its CIDR prefix, e.g. 10.0.1.0/24) is required", s.name)
	case !ok:
		k.report("vpc-subnet-prefix", cidrNode, "subnet %s: subnet %s is not a CIDR prefix like 10.0.1.0/24", s.name, cidr)
	default:
		s.prefix = p
		if p.Bits() > vpcMaxPrefixBits {
			k.report("vpc-subnet-prefix", cidrNode, "subnet %s: prefix %s is /%d, at most /%d is allowed", s.name, cidr, p.Bits(), vpcMaxPrefixBits)
		} else {
			s.usable = true
		}
		show := fmt.Sprintf("subnet %s %s", s.name, p.Masked())
		c.claimPrefix("vpc-subnet-overlap", "ipv4ns/"+ipv4ns, p, show, cidrNode)
		c.within("vpc-subnet-ipv4namespace", "IPv4Namespace", ipv4ns, 0, p.Masked(), show, cidrNode)
	}

	// The gateway, defaulted to the subnet's first address.
	if !s.hostBGP {
		gw, gwNode := k.text("vpc-subnet-gateway", s.node, "gateway", "subnet "+s.name+": gateway")
		switch a, ok := vpcParseAddr(gw); {
		case gw == "":
			if s.prefix.IsValid() && !vpcBadType(gwNode) {
				s.gateway = s.prefix.Masked().Addr().Next()
			}
		case !ok:
			k.report("vpc-subnet-gateway", gwNode, "subnet %s: gateway %s is not a valid IP address", s.name, gw)
		default:
			s.gateway = a
			if s.prefix.IsValid() && !s.prefix.Contains(a) {
				k.report("vpc-subnet-gateway", gwNode, "subnet %s: gateway %s is not inside %s", s.name, gw, s.prefix)
			}
		}
	}

	// The VLAN.
	vlan, vlanNode, set := k.number("vpc-subnet-vlan", s.node, "vlan", "subnet "+s.name+": vlan")
	switch {
	case !set && !isNull(vlanNode):
		// wrong type, reported
	case (!set || vlan == 0) && !s.hostBGP:
		k.report("vpc-subnet-vlan", firstNode(vlanNode, s.key), "subnet %s: vlan is required", s.name)
	case vlan < 0 || vlan > vpcMaxVLAN:
		k.report("vpc-subnet-vlan", vlanNode, "subnet %s: vlan %d is not a VLAN ID (1-%d)", s.name, vlan, vpcMaxVLAN)
	case vlan > 0:
		c.claim("vpc-subnet-vlan-unique", "vlan/"+vlanns, strconv.Itoa(vlan), fmt.Sprintf("VLAN %d (subnet %s)", vlan, s.name), vlanNode)
		if !s.hostBGP {
			c.within("vpc-subnet-vlan-namespace", "VLANNamespace", vlanns, vlan, netip.Prefix{}, fmt.Sprintf("subnet %s: VLAN %d", s.name, vlan), vlanNode)
		}
	}

	k.dhcp(s)
}

// dhcp checks a subnet's dhcp block, after Hedgehog's defaulting.
func (k *vpcChecker) dhcp(s *vpcSubnet) {
	dn := k.object("vpc-dhcp-range", s.node, "dhcp", "subnet "+s.name+": dhcp")
	if dn == nil {
		return
	}
	dhcpKey := keyNode(s.node, "dhcp")
	field := func(f string) string { return "subnet " + s.name + ": dhcp." + f }
	enable := k.flag("vpc-dhcp-range", dn, "enable", field("enable"))
	if s.hostBGP && enable {
		k.report("vpc-subnet-hostbgp", Get(dn, "enable"), "subnet %s: DHCP must not be enabled on a hostBGP subnet", s.name)
	}

	relay, relayNode := k.text("vpc-dhcp-relay", dn, "relay", field("relay"))
	relayVPC, relayVPCNode := k.text("vpc-dhcp-relay", dn, "relayVPC", field("relayVPC"))
	switch {
	case relay != "" && enable:
		k.report("vpc-dhcp-relay", relayNode, "subnet %s: dhcp.relay and dhcp.enable cannot both be set: either relay to another DHCP server or enable Hedgehog's", s.name)
	case relay != "":
		if _, ok := vpcParsePrefix(relay); !ok {
			k.report("vpc-dhcp-relay", relayNode, "subnet %s: dhcp.relay %s is not in address/length form (e.g. 10.99.0.10/32)", s.name, relay)
		}
	case relayVPC != "":
		k.report("vpc-dhcp-relay", relayVPCNode, "subnet %s: dhcp.relayVPC is set but dhcp.relay is not", s.name)
	}
	k.c.ref("vpc-dhcp-relay-vpc", "VPC", relayVPC, "", relayVPCNode)

	static := Get(dn, "static")
	hasStatic := !isNull(static) && (static.Kind != yaml.MappingNode || len(static.Content) > 0)
	if !enable {
		// Hedgehog drops range and options of a disabled DHCP server (when
		// the prefix is usable; otherwise the prefix is the problem).
		if s.usable {
			for _, f := range []string{"range", "options"} {
				if n := Get(dn, f); !isNull(n) {
					k.report("vpc-dhcp-ignored", keyNode(dn, f), "subnet %s: dhcp.%s is ignored because DHCP is not enabled (dhcp.enable)", s.name, f)
				}
			}
		}
		if hasStatic {
			k.report("vpc-dhcp-static", keyNode(dn, "static"), "subnet %s: static leases need DHCP enabled (dhcp.enable)", s.name)
		}
		return
	}
	if !s.usable {
		return // the prefix is reported; nothing inside it can be checked
	}
	k.dhcpRange(s, dn, firstNode(keyNode(dn, "enable"), dhcpKey))
	k.dhcpOptions(s, dn)
	k.dhcpStatic(s, static)
}

// dhcpRange checks an enabled DHCP server's range; Hedgehog defaults its
// start to the subnet's third address and its end to the last one.
func (k *vpcChecker) dhcpRange(s *vpcSubnet, dn, at *yaml.Node) {
	rn := k.object("vpc-dhcp-range", dn, "range", "subnet "+s.name+": dhcp.range")
	network := s.prefix.Masked().Addr()
	ends := []struct {
		key string
		def netip.Addr
		got netip.Addr
	}{
		{key: "start", def: network.Next().Next()},
		{key: "end", def: vpcLastAddr(s.prefix)},
	}
	for i := range ends {
		e := &ends[i]
		v, vn := k.text("vpc-dhcp-range", rn, e.key, "subnet "+s.name+": dhcp range "+e.key)
		if v == "" {
			if vpcBadType(vn) {
				return // wrong type, reported
			}
			e.got = e.def
			where := firstNode(keyNode(dn, "range"), at)
			if !k.rangeEnd(s, e.key, e.got.String()+" (the default)", e.got, where) {
				return
			}
			continue
		}
		a, ok := vpcParseAddr(v)
		if !ok {
			k.report("vpc-dhcp-range", vn, "subnet %s: dhcp range %s %s is not a valid IP address", s.name, e.key, v)
			return
		}
		e.got = a
		if !k.rangeEnd(s, e.key, v, a, vn) {
			return
		}
	}
	if !ends[0].got.Less(ends[1].got) {
		k.report("vpc-dhcp-range", firstNode(Get(rn, "end"), keyNode(dn, "range"), at), "subnet %s: dhcp range start %s does not come before its end %s", s.name, ends[0].got, ends[1].got)
	}
}

// rangeEnd checks one end of a DHCP range; false when it is reported.
func (k *vpcChecker) rangeEnd(s *vpcSubnet, end, show string, a netip.Addr, at *yaml.Node) bool {
	switch {
	case !s.prefix.Contains(a):
		k.report("vpc-dhcp-range", at, "subnet %s: dhcp range %s %s is not inside %s%s", s.name, end, show, s.prefix, vpcRangeHint(show, end))
	case a == s.prefix.Masked().Addr():
		k.report("vpc-dhcp-range", at, "subnet %s: dhcp range %s %s is the subnet's own address%s", s.name, end, show, vpcRangeHint(show, end))
	case s.gateway.IsValid() && a == s.gateway:
		k.report("vpc-dhcp-range", at, "subnet %s: dhcp range %s %s is the gateway%s", s.name, end, show, vpcRangeHint(show, end))
	default:
		return true
	}
	return false
}

// vpcRangeHint tells how to fix a defaulted DHCP range end.
func vpcRangeHint(show, end string) string {
	if strings.HasSuffix(show, "(the default)") {
		return ": set dhcp.range." + end
	}
	return ""
}

// dhcpOptions checks an enabled DHCP server's options, after Hedgehog's
// defaults (interfaceMTU 9036, leaseTimeSeconds 3600).
func (k *vpcChecker) dhcpOptions(s *vpcSubnet, dn *yaml.Node) {
	on := k.object("vpc-dhcp-options", dn, "options", "subnet "+s.name+": dhcp.options")
	if on == nil || len(on.Content) == 0 {
		return
	}
	field := func(f string) string { return "subnet " + s.name + ": dhcp.options." + f }
	for _, key := range []string{"dnsServers", "timeServers"} {
		for _, n := range k.list("vpc-dhcp-options", on, key, field(key)) {
			v, ok := str(n)
			if _, valid := vpcParseAddr(v); !ok || !valid {
				k.report("vpc-dhcp-options", n, "subnet %s: dhcp.options.%s: %s is not an IP address", s.name, key, vpcShow(n))
			}
		}
	}
	if mtu, n, set := k.number("vpc-dhcp-options", on, "interfaceMTU", field("interfaceMTU")); set && mtu != 0 && (mtu < vpcMinMTU || mtu > vpcDefaultMTU) {
		k.report("vpc-dhcp-options", n, "subnet %s: dhcp.options.interfaceMTU %d is outside %d-%d", s.name, mtu, vpcMinMTU, vpcDefaultMTU)
	}
	if lease, n, set := k.number("vpc-dhcp-options", on, "leaseTimeSeconds", field("leaseTimeSeconds")); set && (lease < 0 || lease > 1<<32-1) {
		k.report("vpc-dhcp-options", n, "subnet %s: dhcp.options.leaseTimeSeconds %d is not a number of seconds (leave it out for %d)", s.name, lease, vpcDefaultLeaseTime)
	}
	k.flag("vpc-dhcp-options", on, "disableDefaultRoute", field("disableDefaultRoute"))

	for i, rn := range k.list("vpc-dhcp-routes", on, "advertisedRoutes", field("advertisedRoutes")) {
		what := fmt.Sprintf("subnet %s: advertised route %d", s.name, i+1)
		if rn.Kind != yaml.MappingNode {
			k.report("vpc-dhcp-routes", rn, "%s must be a mapping with destination and gateway, not %s", what, vpcShow(rn))
			continue
		}
		dst, dstNode := k.text("vpc-dhcp-routes", rn, "destination", what+": destination")
		gw, gwNode := k.text("vpc-dhcp-routes", rn, "gateway", what+": gateway")
		switch _, ok := vpcParsePrefix(dst); {
		case dst == "" && !vpcBadType(dstNode):
			k.report("vpc-dhcp-routes", rn, "%s: destination is required", what)
		case dst != "" && !ok:
			k.report("vpc-dhcp-routes", dstNode, "%s: destination %s is not a CIDR prefix", what, dst)
		}
		switch a, ok := vpcParseAddr(gw); {
		case gw == "" && !vpcBadType(gwNode):
			k.report("vpc-dhcp-routes", rn, "%s: gateway is required", what)
		case gw == "":
		case !ok:
			k.report("vpc-dhcp-routes", gwNode, "%s: gateway %s is not a valid IP address", what, gw)
		case !s.prefix.Contains(a):
			k.report("vpc-dhcp-routes", gwNode, "%s: gateway %s is not inside %s", what, gw, s.prefix)
		}
	}
}

// dhcpStatic checks an enabled DHCP server's static leases.
func (k *vpcChecker) dhcpStatic(s *vpcSubnet, sn *yaml.Node) {
	if isNull(sn) {
		return
	}
	if sn.Kind != yaml.MappingNode {
		k.report("vpc-dhcp-static", sn, "subnet %s: dhcp.static must be a mapping of MAC addresses to {ip: ...}, not %s", s.name, vpcShow(sn))
		return
	}
	network, broadcast := s.prefix.Masked().Addr(), vpcLastAddr(s.prefix)
	seen := map[netip.Addr]string{}
	pairs(sn, func(kn, vn *yaml.Node) {
		mac := kn.Value
		ipStr, ipNode := k.text("vpc-dhcp-static", vn, "ip", "subnet "+s.name+": static lease "+mac+": ip")
		if _, err := net.ParseMAC(mac); err != nil {
			k.report("vpc-dhcp-static", kn, "subnet %s: static lease: %q is not a MAC address", s.name, mac)
		}
		if ipStr == "" {
			if !vpcBadType(ipNode) {
				k.report("vpc-dhcp-static", kn, "subnet %s: static lease for %s has no ip", s.name, mac)
			}
			return
		}
		ip, ok := vpcParseAddr(ipStr)
		var bad string
		switch {
		case !ok:
			bad = "is not a valid IP address"
		case !s.prefix.Contains(ip):
			bad = "is not inside " + s.prefix.String()
		case ip == network:
			bad = "is the subnet's own address"
		case s.gateway.IsValid() && ip == s.gateway:
			bad = "is the gateway"
		case ip == broadcast:
			bad = "is the subnet's broadcast address"
		case seen[ip] != "":
			bad = "is already leased to " + seen[ip]
		}
		if bad != "" {
			k.report("vpc-dhcp-static", ipNode, "subnet %s: static IP %s for %s %s", s.name, ipStr, mac, bad)
			return
		}
		seen[ip] = mac
	})
}

// permit checks the VPC's spec.permit lists of subnets.
func (k *vpcChecker) permit(spec *yaml.Node, subnets []*vpcSubnet) {
	names := make([]string, len(subnets))
	known := make(map[string]bool, len(subnets))
	for i, s := range subnets {
		names[i] = s.name
		known[s.name] = true
	}
	for i, pn := range k.list("vpc-permit", spec, "permit", "spec.permit") {
		if pn.Kind != yaml.SequenceNode {
			k.report("vpc-permit", pn, "permit entry %d must be a list of subnet names, not %s", i+1, vpcShow(pn))
			continue
		}
		if len(pn.Content) < 2 {
			k.report("vpc-permit", pn, "permit entry %d lists %s, at least 2 are needed", i+1, vpcCount(len(pn.Content), "subnet"))
		}
		seen := map[string]bool{}
		for _, n := range pn.Content {
			name, ok := str(n)
			switch {
			case !ok:
				k.report("vpc-permit", n, "permit entry %d: %s is not a subnet name", i+1, vpcShow(n))
			case !known[name]:
				k.report("vpc-permit", n, "permit entry %d: subnet %s does not exist (subnets: %s)", i+1, name, listOrNone(names))
			case seen[name]:
				k.report("vpc-permit", n, "permit entry %d: subnet %s is listed twice", i+1, name)
			}
			seen[name] = true
		}
	}
}

// staticRoutes checks the VPC's spec.staticRoutes.
func (k *vpcChecker) staticRoutes(spec *yaml.Node) {
	for i, rn := range k.list("vpc-static-route", spec, "staticRoutes", "spec.staticRoutes") {
		what := fmt.Sprintf("static route %d", i+1)
		if rn.Kind != yaml.MappingNode {
			k.report("vpc-static-route", rn, "%s must be a mapping with prefix and nextHops, not %s", what, vpcShow(rn))
			continue
		}
		pfx, pn := k.text("vpc-static-route", rn, "prefix", what+": prefix")
		switch p, ok := vpcParsePrefix(pfx); {
		case pfx == "" && !vpcBadType(pn):
			k.report("vpc-static-route", rn, "%s: prefix is required", what)
		case pfx == "":
		case !ok:
			k.report("vpc-static-route", pn, "%s: prefix %s is not a CIDR prefix like 10.42.0.0/24", what, pfx)
		case p != p.Masked():
			k.report("vpc-static-route", pn, "%s: prefix %s has host bits set (the prefix is %s)", what, pfx, p.Masked())
		}
		hopsNode := Get(rn, "nextHops")
		if hops := k.list("vpc-static-route", rn, "nextHops", what+": nextHops"); len(hops) == 0 && !vpcBadType(hopsNode) {
			k.report("vpc-static-route", firstNode(hopsNode, rn), "%s: at least one next hop is required (nextHops)", what)
		}
	}
}

// ---------------------------------------------------------- VPCAttachment

// vpcCheckAttachment checks a VPCAttachment ("vpc" alone means
// "vpc/default", as Hedgehog defaults it) and records its references and
// its claims on the connection.
func vpcCheckAttachment(k *vpcChecker) {
	c := k.c
	k.meta(0)
	spec := Get(k.root, "spec")
	specAt := keyNode(k.root, "spec")

	subnet, subnetNode := k.text("vpcattachment-subnet", spec, "subnet", "spec.subnet")
	full := ""
	if subnet == "" {
		if !vpcBadType(subnetNode) {
			k.report("vpcattachment-subnet", specAt, "spec.subnet is required (<vpc>/<subnet>)")
		}
	} else {
		vpc, sub, hasSlash := strings.Cut(subnet, "/")
		if !hasSlash {
			sub = "default" // Hedgehog's default
		}
		switch {
		case vpc == "":
			k.report("vpcattachment-subnet", subnetNode, "spec.subnet %s names no VPC: write <vpc>/<subnet>", subnet)
		case sub == "":
			k.report("vpcattachment-subnet", subnetNode, "spec.subnet %s names no subnet: write <vpc>/<subnet>, or <vpc> for its subnet default", subnet)
		default:
			full = vpc + "/" + sub
			c.ref("vpcattachment-unknown-subnet", "VPC", vpc, sub, subnetNode)
		}
	}

	conn, connNode := k.text("vpcattachment-connection", spec, "connection", "spec.connection")
	if conn == "" && !vpcBadType(connNode) {
		k.report("vpcattachment-connection", specAt, "spec.connection is required")
	}
	c.ref("vpcattachment-unknown-connection", "Connection", conn, "", connNode)
	native := k.flag("vpcattachment-native-vlan", spec, "nativeVLAN", "spec.nativeVLAN")
	if conn != "" && full != "" {
		c.claim("vpcattachment-duplicate", "vpcattachment/"+conn, full, fmt.Sprintf("connection %s on subnet %s", conn, full), subnetNode)
	}
	if conn != "" && native {
		c.claim("vpcattachment-native-vlan", "vpcattachment-native/"+conn, conn, "the native VLAN of connection "+conn, Get(spec, "nativeVLAN"))
	}

	if an := Get(k.root, "metadata", "annotations"); an != nil {
		if n := Get(an, vpcP2PLinkAnnotation); n != nil {
			v, _ := str(n)
			if p, ok := vpcParsePrefix(v); !ok || !p.Addr().Is4() || p.Bits() != 31 {
				k.report("vpcattachment-p2p-link", n, "annotation %s %s is not an IPv4 /31 prefix (e.g. 10.254.0.0/31)", vpcP2PLinkAnnotation, vpcShow(n))
			}
		}
	}
}

// ------------------------------------------------------------- VPCPeering

// vpcCheckPeering checks a VPCPeering: exactly 2 VPCs, each permit entry
// naming both, and records references to them and their named subnets.
func vpcCheckPeering(k *vpcChecker) {
	c := k.c
	k.meta(0)
	spec := Get(k.root, "spec")
	if remote, n := k.text("vpcpeering-remote", spec, "remote", "spec.remote"); remote != "" {
		k.report("vpcpeering-remote", n, "spec.remote is deprecated and no longer supported: remove it")
	}

	type vpcRefs struct {
		at      *yaml.Node
		subnets []string
		nodes   []*yaml.Node
		seen    map[string]bool
	}
	var order []string
	vpcs := map[string]*vpcRefs{}
	entryBad := false // an entry is reported: the whole is not
	entries := k.list("vpcpeering-permit", spec, "permit", "spec.permit")
	for i, en := range entries {
		if en.Kind != yaml.MappingNode {
			k.report("vpcpeering-permit", en, "permit entry %d must be a mapping of 2 VPC names to {subnets: [...]}, not %s", i+1, vpcShow(en))
			continue
		}
		if n := len(en.Content) / 2; n != 2 {
			k.report("vpcpeering-permit", en, "permit entry %d names %s, exactly 2 are needed", i+1, vpcCount(n, "VPC"))
			entryBad = true
		}
		pairs(en, func(kn, vn *yaml.Node) {
			r := vpcs[kn.Value]
			if r == nil {
				r = &vpcRefs{at: kn, seen: map[string]bool{}}
				vpcs[kn.Value] = r
				order = append(order, kn.Value)
			}
			label := fmt.Sprintf("permit entry %d: %s", i+1, kn.Value)
			if vn.Kind != yaml.MappingNode && !isNull(vn) {
				k.report("vpcpeering-permit", vn, "%s must be a mapping like {subnets: [...]}, not %s", label, vpcShow(vn))
				return
			}
			for _, sn := range k.list("vpcpeering-permit", vn, "subnets", label+": subnets") {
				s, ok := str(sn)
				if !ok || s == "" {
					k.report("vpcpeering-permit", sn, "%s: %s is not a subnet name", label, vpcShow(sn))
					continue
				}
				if !r.seen[s] {
					r.seen[s] = true
					r.subnets = append(r.subnets, s)
					r.nodes = append(r.nodes, sn)
				}
			}
		})
	}
	switch {
	case len(entries) == 0:
		k.report("vpcpeering-permit", firstNode(keyNode(spec, "permit"), keyNode(k.root, "spec")), "spec.permit is required: it names the 2 VPCs to peer")
	case len(order) != 2 && len(order) > 0 && !entryBad:
		k.report("vpcpeering-permit", keyNode(spec, "permit"), "the permit entries name %s (%s), a peering is between exactly 2", vpcCount(len(order), "VPC"), strings.Join(order, ", "))
	}
	for _, name := range order {
		r := vpcs[name]
		if len(r.subnets) == 0 {
			c.ref("vpcpeering-unknown-vpc", "VPC", name, "", r.at)
		}
		for i, s := range r.subnets {
			c.ref("vpcpeering-unknown-vpc", "VPC", name, s, r.nodes[i])
		}
	}
}

// ---------------------------------------------------------- IPv4Namespace

// vpcCheckIPv4Namespace checks an IPv4Namespace's subnets and offers them.
func vpcCheckIPv4Namespace(k *vpcChecker) {
	c := k.c
	k.meta(vpcMaxNameLen)
	spec := Get(k.root, "spec")
	list := k.list("ipv4namespace-subnet", spec, "subnets", "spec.subnets")
	if len(list) > vpcMaxIPv4NSSubnets {
		k.report("ipv4namespace-subnet-count", keyNode(spec, "subnets"), "%d subnets, at most %d are allowed", len(list), vpcMaxIPv4NSSubnets)
	}
	var got []vpcListedPrefix
	for _, n := range list {
		s, ok := str(n)
		p, valid := vpcParsePrefix(s)
		if !ok || !valid {
			k.report("ipv4namespace-subnet", n, "subnet %s is not a CIDR prefix like 10.0.0.0/16", vpcShow(n))
			continue
		}
		got = append(got, vpcListedPrefix{p.Masked(), s, n})
		c.res.Subnets = append(c.res.Subnets, p.Masked())
	}
	vpcOverlaps(got, func(later, earlier vpcListedPrefix) {
		k.report("ipv4namespace-subnet-overlap", later.node, "subnet %s overlaps subnet %s", later.text, earlier.text)
	})
}

// --------------------------------------------------------------- External

// vpcCheckExternal checks an External: communities, or static prefixes,
// and its IPv4Namespace (default "default").
func vpcCheckExternal(k *vpcChecker) {
	c := k.c
	k.meta(vpcMaxNameLen)
	spec := Get(k.root, "spec")
	ns, nsNode := k.text("external-unknown-ipv4namespace", spec, "ipv4Namespace", "spec.ipv4Namespace")
	if ns == "" {
		ns = vpcDefaultNamespace
	}
	c.ref("external-unknown-ipv4namespace", "IPv4Namespace", ns, "", nsNode)

	in, inNode := k.text("external-community", spec, "inboundCommunity", "spec.inboundCommunity")
	out, outNode := k.text("external-community", spec, "outboundCommunity", "spec.outboundCommunity")
	static := Get(spec, "static")
	if isNull(static) {
		for _, cm := range []struct {
			field, v string
			n        *yaml.Node
		}{{"inboundCommunity", in, inNode}, {"outboundCommunity", out, outNode}} {
			if cm.v != "" && !vpcIsCommunity(cm.v) {
				k.report("external-community", cm.n, "%s %s is not a BGP community like 50000:50001 (two numbers 0-65535)", cm.field, cm.v)
			}
		}
		return
	}
	if static.Kind != yaml.MappingNode {
		k.report("external-static", static, "spec.static must be a mapping with prefixes, not %s", vpcShow(static))
		return
	}
	if in != "" || out != "" {
		k.report("external-static", firstNode(keyNode(spec, "inboundCommunity"), keyNode(spec, "outboundCommunity")), "a static external has no communities: remove inboundCommunity and outboundCommunity, or spec.static")
	}
	list := k.list("external-static", static, "prefixes", "spec.static.prefixes")
	if len(list) == 0 {
		k.report("external-static", keyNode(spec, "static"), "a static external needs at least one prefix (spec.static.prefixes)")
	}
	var got []vpcListedPrefix
	for _, n := range list {
		s, ok := str(n)
		p, valid := vpcParsePrefix(s)
		if !ok || !valid {
			k.report("external-static", n, "static prefix %s is not a CIDR prefix like 10.0.0.0/16", vpcShow(n))
			continue
		}
		got = append(got, vpcListedPrefix{p.Masked(), s, n})
	}
	vpcOverlaps(got, func(later, earlier vpcListedPrefix) {
		k.report("external-static", later.node, "static prefix %s overlaps static prefix %s", later.text, earlier.text)
	})
}

// vpcListedPrefix is a prefix of a list in a document.
type vpcListedPrefix struct {
	p    netip.Prefix // masked
	text string       // as written
	node *yaml.Node
}

// vpcOverlaps calls f, in list order, for prefixes of ps that overlap one
// listed before them (with that one): at least once whenever two overlap.
// CIDR prefixes nest or are disjoint, so sorted by address (wider first)
// each is compared only with the widest one still open: n log n, not n².
func vpcOverlaps(ps []vpcListedPrefix, f func(later, earlier vpcListedPrefix)) {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := ps[a].p.Addr().Compare(ps[b].p.Addr()); c != 0 {
			return c
		}
		return ps[a].p.Bits() - ps[b].p.Bits()
	})
	clash := map[int]int{} // later -> the earliest earlier one found
	open := -1
	for _, i := range idx {
		if open < 0 || !ps[open].p.Contains(ps[i].p.Addr()) {
			open = i
			continue
		}
		later, earlier := max(i, open), min(i, open)
		if j, ok := clash[later]; !ok || earlier < j {
			clash[later] = earlier
		}
	}
	for i := range ps {
		if j, ok := clash[i]; ok {
			f(ps[i], ps[j])
		}
	}
}

// vpcIsCommunity reports whether s is a standard BGP community "a:b", each
// a decimal 0-65535 without leading zeros.
func vpcIsCommunity(s string) bool {
	a, b, ok := strings.Cut(s, ":")
	return ok && vpcIsCommunityNumber(a) && vpcIsCommunityNumber(b)
}

// vpcIsCommunityNumber reports whether s is one half of a community.
func vpcIsCommunityNumber(s string) bool {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	v, err := strconv.Atoi(s)
	return err == nil && v <= vpcMaxCommunityNumber
}

// ----------------------------------------------------- ExternalAttachment

// vpcCheckExternalAttachment checks an ExternalAttachment, BGP or static,
// and its inbound ACL, and records its references and VLAN claim.
func vpcCheckExternalAttachment(k *vpcChecker) {
	c := k.c
	k.meta(0)
	spec := Get(k.root, "spec")
	specAt := keyNode(k.root, "spec")

	ext, extNode := k.text("externalattachment-external", spec, "external", "spec.external")
	if ext == "" && !vpcBadType(extNode) {
		k.report("externalattachment-external", specAt, "spec.external is required")
	}
	c.ref("externalattachment-unknown-external", "External", ext, "", extNode)
	conn, connNode := k.text("externalattachment-connection", spec, "connection", "spec.connection")
	if conn == "" && !vpcBadType(connNode) {
		k.report("externalattachment-connection", specAt, "spec.connection is required")
	}
	c.ref("externalattachment-unknown-connection", "Connection", conn, "", connNode)

	sw := k.object("externalattachment-bgp", spec, "switch", "spec.switch")
	nb := k.object("externalattachment-bgp", spec, "neighbor", "spec.neighbor")
	swIP, swIPNode := k.text("externalattachment-bgp", sw, "ip", "spec.switch.ip")
	swVLAN, swVLANNode, swVLANSet := k.number("externalattachment-bgp", sw, "vlan", "spec.switch.vlan")
	asn, asnNode, asnSet := k.number("externalattachment-bgp", nb, "asn", "spec.neighbor.asn")
	nbIP, nbIPNode := k.text("externalattachment-bgp", nb, "ip", "spec.neighbor.ip")

	vlan, vlanNode := swVLAN, swVLANNode
	static := Get(spec, "static")
	if isNull(static) {
		switch {
		case swIP == "" && !vpcBadType(swIPNode):
			k.report("externalattachment-bgp", firstNode(keyNode(spec, "switch"), specAt), "spec.switch.ip is required (the switch's address/length on the link, e.g. 100.2.100.2/24)")
		case swIP != "" && !vpcParseIPNet(swIP):
			k.report("externalattachment-bgp", swIPNode, "spec.switch.ip %s is not an address/length like 100.2.100.2/24", swIP)
		}
		if swVLANSet && (swVLAN < 0 || swVLAN > vpcMaxVLAN) {
			k.report("externalattachment-bgp", swVLANNode, "spec.switch.vlan %d is not a VLAN ID (0 for untagged, or 1-%d)", swVLAN, vpcMaxVLAN)
		}
		switch {
		case !asnSet && isNull(asnNode), asnSet && asn == 0:
			k.report("externalattachment-bgp", firstNode(asnNode, keyNode(spec, "neighbor"), specAt), "spec.neighbor.asn is required")
		case asnSet && (asn < 0 || asn > vpcMaxASN):
			k.report("externalattachment-bgp", asnNode, "spec.neighbor.asn %d is not an ASN (1-%d)", asn, vpcMaxASN)
		}
		switch _, ok := vpcParseAddr(nbIP); {
		case nbIP == "" && !vpcBadType(nbIPNode):
			k.report("externalattachment-bgp", firstNode(keyNode(spec, "neighbor"), specAt), "spec.neighbor.ip is required")
		case nbIP != "" && !ok:
			k.report("externalattachment-bgp", nbIPNode, "spec.neighbor.ip %s is not an IP address", nbIP)
		}
	} else if static.Kind != yaml.MappingNode {
		k.report("externalattachment-static", static, "spec.static must be a mapping, not %s", vpcShow(static))
		return
	} else {
		if swIP != "" || swVLAN != 0 {
			k.report("externalattachment-static", keyNode(spec, "switch"), "a static attachment has no switch fields: remove spec.switch.ip and spec.switch.vlan")
		}
		if asn != 0 || nbIP != "" {
			k.report("externalattachment-static", keyNode(spec, "neighbor"), "a static attachment has no neighbor: remove spec.neighbor")
		}
		staticKey := keyNode(spec, "static")
		switch remote, n := k.text("externalattachment-static", static, "remoteIP", "spec.static.remoteIP"); {
		case remote == "" && !vpcBadType(n):
			k.report("externalattachment-static", staticKey, "spec.static.remoteIP is required")
		case remote != "":
			if _, ok := vpcParseAddr(remote); !ok {
				k.report("externalattachment-static", n, "spec.static.remoteIP %s is not an IP address", remote)
			}
		}
		ip, ipNode := k.text("externalattachment-static", static, "ip", "spec.static.ip")
		proxy := k.flag("externalattachment-static", static, "proxy", "spec.static.proxy")
		switch {
		case ip == "" && !proxy && !vpcBadType(ipNode):
			k.report("externalattachment-static", staticKey, "a static attachment needs either static.ip or static.proxy: true")
		case ip != "" && proxy:
			k.report("externalattachment-static", ipNode, "a static attachment has either static.ip or static.proxy: true, not both")
		case ip != "" && !vpcParseIPNet(ip):
			k.report("externalattachment-static", ipNode, "spec.static.ip %s is not an address/length like 100.2.100.2/24", ip)
		}
		var set bool
		vlan, vlanNode, set = k.number("externalattachment-static", static, "vlan", "spec.static.vlan")
		if set && (vlan < 0 || vlan > vpcMaxVLAN) {
			k.report("externalattachment-static", vlanNode, "spec.static.vlan %d is not a VLAN ID (0 for untagged, or 1-%d)", vlan, vpcMaxVLAN)
		}
	}
	if conn != "" && vlan >= 0 && vlan <= vpcMaxVLAN {
		show := fmt.Sprintf("VLAN %d on connection %s", vlan, conn)
		if vlan == 0 {
			show = "untagged (VLAN 0) on connection " + conn
		}
		c.claim("externalattachment-vlan", "externalattachment-vlan/"+conn, strconv.Itoa(vlan), show, firstNode(vlanNode, connNode))
	}
	k.acl(spec)
}

// acl checks an external attachment's inboundACL statements.
func (k *vpcChecker) acl(spec *yaml.Node) {
	const rule = "externalattachment-acl"
	an := k.object(rule, spec, "inboundACL", "spec.inboundACL")
	seqs := map[int]bool{}
	for i, st := range k.list(rule, an, "statements", "spec.inboundACL.statements") {
		what := fmt.Sprintf("inboundACL statement %d", i+1)
		if st.Kind != yaml.MappingNode {
			k.report(rule, st, "%s must be a mapping, not %s", what, vpcShow(st))
			continue
		}
		seq, seqNode, set := k.number(rule, st, "seq", what+": seq")
		if set || isNull(seqNode) {
			what = fmt.Sprintf("inboundACL statement seq %d", seq)
			switch {
			case seq < vpcACLUserMinSeq:
				k.report(rule, firstNode(seqNode, st), "%s: sequence numbers below %d are reserved for Hedgehog's security rules", what, vpcACLUserMinSeq)
			case seq > vpcMaxPort:
				k.report(rule, seqNode, "%s: sequence numbers go up to %d", what, vpcMaxPort)
			case seqs[seq]:
				k.report(rule, seqNode, "%s: sequence number %d is used twice", what, seq)
			}
			seqs[seq] = true
		}
		action, actionNode := k.text(rule, st, "action", what+": action")
		if !slices.Contains([]string{"deny", "discard", "permit", "transit"}, action) && !vpcBadType(actionNode) {
			k.report(rule, firstNode(actionNode, st), "%s: action %q is not one of deny, discard, permit, transit", what, action)
		}
		proto, protoNode := k.text(rule, st, "protocol", what+": protocol")
		if !slices.Contains([]string{"ip", "tcp", "udp", "icmp"}, proto) && !vpcBadType(protoNode) {
			k.report(rule, firstNode(protoNode, st), "%s: protocol %q is not one of ip, tcp, udp, icmp", what, proto)
		}
		for _, f := range []string{"srcPrefix", "dstPrefix"} {
			v, n := k.text(rule, st, f, what+": "+f)
			switch {
			case v == "" && !vpcBadType(n):
				k.report(rule, st, "%s: %s is required (a prefix, or any)", what, f)
			case v != "" && v != "any" && !vpcParseIPNet(v):
				k.report(rule, n, "%s: %s %s is not a prefix like 10.0.0.0/8, or any", what, f, v)
			}
		}
		if tf := k.object(rule, st, "tcpFilters", what+": tcpFilters"); tf != nil {
			if proto != "tcp" {
				k.report(rule, keyNode(st, "tcpFilters"), "%s: tcpFilters need protocol tcp", what)
			}
			set := map[string]bool{}
			pairs(tf, func(kn, _ *yaml.Node) { set[kn.Value] = k.flag(rule, tf, kn.Value, what+": tcpFilters."+kn.Value) })
			flags := []string{"fin", "syn", "rst", "psh", "ack", "urg"}
			if set["established"] {
				for _, f := range flags {
					if set[f] || set["not"+strings.ToUpper(f[:1])+f[1:]] {
						k.report(rule, keyNode(tf, "established"), "%s: tcpFilters.established excludes the individual TCP flags", what)
						break
					}
				}
			}
			for _, f := range flags {
				if neg := "not" + strings.ToUpper(f[:1]) + f[1:]; set[f] && set[neg] {
					k.report(rule, keyNode(tf, neg), "%s: tcpFilters %s and %s contradict each other", what, f, neg)
				}
			}
		}
		for _, f := range []string{"icmpType", "icmpCode"} {
			v, n, set := k.number(rule, st, f, what+": "+f)
			switch {
			case !set:
			case proto != "icmp":
				k.report(rule, n, "%s: %s needs protocol icmp", what, f)
			case v < 0 || v > 255:
				k.report(rule, n, "%s: %s %d is outside 0-255", what, f, v)
			}
		}
		begin, beginNode, _ := k.number(rule, st, "portRangeBegin", what+": portRangeBegin")
		end, endNode, _ := k.number(rule, st, "portRangeEnd", what+": portRangeEnd")
		if begin != 0 || end != 0 {
			at := firstNode(beginNode, endNode)
			switch {
			case proto != "tcp" && proto != "udp":
				k.report(rule, at, "%s: a port range needs protocol tcp or udp", what)
			case begin < 1 || begin > vpcMaxPort:
				k.report(rule, at, "%s: portRangeBegin must be 1-%d", what, vpcMaxPort)
			case end > vpcMaxPort:
				k.report(rule, endNode, "%s: portRangeEnd must be at most %d", what, vpcMaxPort)
			case begin > end:
				k.report(rule, at, "%s: portRangeBegin %d comes after portRangeEnd %d", what, begin, end)
			}
		}
	}
}

// -------------------------------------------------------- ExternalPeering

// vpcCheckExternalPeering checks an ExternalPeering and records its
// references to the VPC (with its subnets) and the External.
func vpcCheckExternalPeering(k *vpcChecker) {
	c := k.c
	k.meta(0)
	permit := k.object("externalpeering-vpc", Get(k.root, "spec"), "permit", "spec.permit")
	permitAt := firstNode(keyNode(Get(k.root, "spec"), "permit"), keyNode(k.root, "spec"))

	vn := k.object("externalpeering-vpc", permit, "vpc", "spec.permit.vpc")
	vpc, vpcNode := k.text("externalpeering-vpc", vn, "name", "spec.permit.vpc.name")
	if vpc == "" && !vpcBadType(vpcNode) {
		k.report("externalpeering-vpc", firstNode(keyNode(permit, "vpc"), permitAt), "spec.permit.vpc.name is required")
	}
	var subnets []string
	seen := map[string]bool{}
	for _, sn := range k.list("externalpeering-unknown-vpc", vn, "subnets", "spec.permit.vpc.subnets") {
		s, ok := str(sn)
		if !ok || s == "" {
			k.report("externalpeering-unknown-vpc", sn, "spec.permit.vpc.subnets: %s is not a subnet name", vpcShow(sn))
			continue
		}
		if !seen[s] {
			seen[s] = true
			subnets = append(subnets, s)
			c.ref("externalpeering-unknown-vpc", "VPC", vpc, s, sn)
		}
	}
	if len(subnets) == 0 {
		c.ref("externalpeering-unknown-vpc", "VPC", vpc, "", vpcNode)
	}

	en := k.object("externalpeering-external", permit, "external", "spec.permit.external")
	ext, extNode := k.text("externalpeering-external", en, "name", "spec.permit.external.name")
	if ext == "" && !vpcBadType(extNode) {
		k.report("externalpeering-external", firstNode(keyNode(permit, "external"), permitAt), "spec.permit.external.name is required")
	}
	c.ref("externalpeering-unknown-external", "External", ext, "", extNode)
	for i, pn := range k.list("externalpeering-prefix", en, "prefixes", "spec.permit.external.prefixes") {
		if pn.Kind != yaml.MappingNode {
			k.report("externalpeering-prefix", pn, "external prefix %d must be a mapping like {prefix: 0.0.0.0/0}, not %s", i+1, vpcShow(pn))
			continue
		}
		p, n := k.text("externalpeering-prefix", pn, "prefix", fmt.Sprintf("external prefix %d: prefix", i+1))
		switch _, ok := vpcParsePrefix(p); {
		case p == "" && !vpcBadType(n):
			k.report("externalpeering-prefix", firstNode(n, pn), "external prefix %d: prefix is required", i+1)
		case p != "" && !ok:
			k.report("externalpeering-prefix-format", n, "external prefix %s is not a CIDR prefix like 0.0.0.0/0", p)
		}
	}
}
