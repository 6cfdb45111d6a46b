package validate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/sharedtest"
)

// vpcDoc is one document of a vpc kind: the header takes lines 1-5, so the
// first line of spec is line 6 (of the document; later documents of a
// fabric continue the count after a "---" line).
func vpcDoc(kind, name, spec string) string {
	return "apiVersion: vpc.githedgehog.com/v1beta1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\nspec:\n" + spec
}

// vpcFabric joins documents into one file.
func vpcFabric(docs ...string) string { return strings.Join(docs, "---\n") }

// vpcStubs stand for what the wiring kinds' checks fill in: the VLAN
// namespace "default" (1000-2999) and the connections conn-1 and conn-2.
func vpcStubs() []*Resource {
	return []*Resource{
		{Kind: "VLANNamespace", Namespace: "default", Name: "default", VLANRanges: []VLANRange{{1000, 2999}}, New: true},
		{Kind: "Connection", Namespace: "default", Name: "conn-1", New: true},
		{Kind: "Connection", Namespace: "default", Name: "conn-2", New: true},
	}
}

// vpcRuleIDs are the IDs of the rules of this part.
var vpcRuleIDs = func() map[string]bool {
	m := map[string]bool{}
	for _, r := range vpcRules {
		m[r.ID] = true
	}
	return m
}()

// vpcShowProblems renders this part's problems as "rule severity
// line:column message", one a problem; other parts' rules are left out.
func vpcShowProblems(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		if vpcRuleIDs[p.Rule] || p.Rule == RuleInternal {
			out = append(out, fmt.Sprintf("%s %s %d:%d %s", p.Rule, p.Severity, p.Line, p.Column, p.Message))
		}
	}
	return out
}

// vpcGoodIPv4NS is an IPv4Namespace the VPCs of the cases live in.
var vpcGoodIPv4NS = vpcDoc("IPv4Namespace", "default", `  subnets:
    - 10.0.0.0/16
    - 10.10.0.0/16
`)

// vpcGoodFabric passes every rule: one of each kind, with most optional
// fields set.
var vpcGoodFabric = vpcFabric(
	vpcGoodIPv4NS,
	vpcDoc("VPC", "vpc-1", `  ipv4Namespace: default
  vlanNamespace: default
  mode: l3vni
  subnets:
    default:
      subnet: 10.0.1.0/24
      gateway: 10.0.1.1
      vlan: 1001
      dhcp:
        enable: true
        range:
          start: 10.0.1.10
          end: 10.0.1.99
        options:
          dnsServers: [10.0.0.53]
          timeServers: [10.0.0.123]
          interfaceMTU: 1500
          leaseTimeSeconds: 600
          advertisedRoutes:
            - destination: 10.10.0.0/16
              gateway: 10.0.1.1
        static:
          "0c:20:12:fe:00:01": {ip: 10.0.1.200}
    backend:
      subnet: 10.0.2.0/24
      vlan: 1002
      isolated: true
      dhcp:
        enable: true
    bgp:
      subnet: 10.0.3.0/24
      hostBGP: true
    relayed:
      subnet: 10.0.4.0/24
      vlan: 1004
      dhcp:
        relay: 10.10.0.10/32
        relayVPC: vpc-2
  permit:
    - [default, backend]
  staticRoutes:
    - prefix: 10.42.0.0/24
      nextHops: [10.0.1.254]
`),
	vpcDoc("VPC", "vpc-2", `  subnets:
    default:
      subnet: 10.10.1.0/24
      vlan: 1011
`),
	vpcDoc("VPCAttachment", "vpc-1--conn-1", `  subnet: vpc-1/default
  connection: conn-1
  nativeVLAN: true
`),
	vpcDoc("VPCAttachment", "vpc-2--conn-1", `  subnet: vpc-2
  connection: conn-1
`),
	vpcDoc("VPCPeering", "vpc-1--vpc-2", `  permit:
    - vpc-1:
        subnets: [default]
      vpc-2: {}
`),
	vpcDoc("External", "default", `  inboundCommunity: 65102:5000
  outboundCommunity: 5000:65102
`),
	vpcDoc("External", "static", `  static:
    prefixes: [192.168.0.0/24, 192.168.1.0/24]
`),
	vpcDoc("ExternalAttachment", "conn-2--default", `  external: default
  connection: conn-2
  switch:
    vlan: 100
    ip: 100.1.0.2/24
  neighbor:
    asn: 64102
    ip: 100.1.0.6
  inboundACL:
    statements:
      - seq: 10
        action: permit
        protocol: tcp
        srcPrefix: any
        dstPrefix: 10.0.1.0/24
        portRangeBegin: 80
        portRangeEnd: 443
        tcpFilters: {syn: true, notAck: true}
      - seq: 20
        action: deny
        protocol: icmp
        srcPrefix: 0.0.0.0/0
        dstPrefix: any
        icmpType: 8
`),
	vpcDoc("ExternalAttachment", "conn-2--static", `  external: static
  connection: conn-2
  static:
    remoteIP: 100.2.0.6
    vlan: 200
    proxy: true
`),
	vpcDoc("ExternalPeering", "vpc-1--default", `  permit:
    vpc:
      name: vpc-1
      subnets: [default, backend]
    external:
      name: default
      prefixes:
        - prefix: 0.0.0.0/0
`),
)

// vpcCases are the table of TestVPCRules, and the fuzz seeds.
var vpcCases = []struct {
	name string
	src  string
	want []string
}{
	{name: "good fabric", src: vpcGoodFabric},
	{name: "defaults: gateway, DHCP range, namespaces, L2VNI", src: vpcFabric(vpcGoodIPv4NS, vpcDoc("VPC", "vpc-1", `  subnets:
    default:
      subnet: 10.0.1.0/30
      vlan: 1001
      dhcp: {enable: true, options: {}}
`))},

	// VPC metadata.
	{name: "vpc-name-format", src: vpcDoc("VPC", "VPC_1", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"), want: []string{
		"vpc-name-format error 4:9 VPC VPC_1: name is not a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
	}},
	{name: "vpc-namespace", src: "apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\n  namespace: tenant-a\nspec:\n  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n", want: []string{
		"vpc-namespace error 5:14 VPC vpc-1: namespace tenant-a is not supported: Hedgehog accepts only the default namespace",
		"vpc-unknown-vlannamespace error 4:9 VPC vpc-1: VLANNamespace default does not exist (there are no VLANNamespaces)",
	}},
	{name: "vpc-name-length", src: vpcDoc("VPC", "vpc-with-long-name", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"), want: []string{
		"vpc-name-length error 4:9 VPC vpc-with-long-name: name is 18 characters, at most 11 are allowed",
	}},
	{name: "vpc-name-prefix", src: vpcDoc("VPC", "ext.vpc-1", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"), want: []string{
		"vpc-name-prefix error 4:9 VPC ext.vpc-1: name must not start with \"ext.\": that prefix is reserved for externals",
	}},
	{name: "vpc-mode", src: vpcFabric(
		vpcDoc("VPC", "vpc-1", "  mode: l3flat\n  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"),
		vpcDoc("VPC", "vpc-2", "  mode: l2vni\n  subnets: {default: {subnet: 10.0.2.0/24, vlan: 1002}}\n")), want: []string{
		"vpc-mode error 6:9 VPC vpc-1: mode l3flat is not supported yet (use l3vni, or leave mode out for L2VNI)",
		"vpc-mode error 14:9 VPC vpc-2: mode l2vni is not a VPC mode (l3vni, or leave mode out for L2VNI)",
	}},
	{name: "vpc-unknown-namespaces", src: vpcFabric(vpcGoodIPv4NS, vpcDoc("VPC", "vpc-1", `  ipv4Namespace: other
  vlanNamespace: tenant
  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}
`)), want: []string{
		"vpc-unknown-ipv4namespace error 15:18 VPC vpc-1: IPv4Namespace other does not exist (IPv4Namespaces: default)",
		"vpc-unknown-vlannamespace error 16:18 VPC vpc-1: VLANNamespace tenant does not exist (VLANNamespaces: default)",
	}},

	// VPC subnets.
	{name: "vpc-subnet-count none", src: vpcDoc("VPC", "vpc-1", "  mode: l3vni\n"), want: []string{
		"vpc-subnet-count error 5:1 VPC vpc-1: at least one subnet is required (spec.subnets)",
	}},
	{name: "vpc-subnet-count many", src: vpcDoc("VPC", "vpc-1", "  subnets:\n"+func() string {
		var b strings.Builder
		for i := 1; i <= 21; i++ {
			fmt.Fprintf(&b, "    s%d: {subnet: 10.0.%d.0/24, vlan: %d}\n", i, i, 1000+i)
		}
		return b.String()
	}()), want: []string{
		"vpc-subnet-count error 6:3 VPC vpc-1: 21 subnets, at most 20 are allowed",
	}},
	{name: "vpc-subnet-prefix", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a: {vlan: 1001}
    b: {subnet: 10.0.2.0, vlan: 1002}
    c: {subnet: 10.0.3.0/31, vlan: 1003}
    d: [10.0.4.0/24]
`), want: []string{
		"vpc-subnet-prefix error 7:5 VPC vpc-1: subnet a: subnet (its CIDR prefix, e.g. 10.0.1.0/24) is required",
		"vpc-subnet-prefix error 8:17 VPC vpc-1: subnet b: subnet 10.0.2.0 is not a CIDR prefix like 10.0.1.0/24",
		"vpc-subnet-prefix error 9:17 VPC vpc-1: subnet c: prefix 10.0.3.0/31 is /31, at most /30 is allowed",
		"vpc-subnet-prefix error 10:5 VPC vpc-1: subnet d: must be a mapping with subnet, gateway, vlan, ..., not a list",
	}},
	{name: "vpc-subnet-gateway", src: vpcDoc("VPC", "vpc-1", `  subnets:
    default:
      subnet: 10.0.1.0/24
      gateway: 10.0.2.1
      vlan: 1001
    other:
      subnet: 10.0.3.0/24
      gateway: 10.0.3.x
      vlan: 1003
`), want: []string{
		"vpc-subnet-gateway error 9:16 VPC vpc-1: subnet default: gateway 10.0.2.1 is not inside 10.0.1.0/24",
		"vpc-subnet-gateway error 13:16 VPC vpc-1: subnet other: gateway 10.0.3.x is not a valid IP address",
	}},
	{name: "vpc-subnet-vlan", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a: {subnet: 10.0.1.0/24}
    b: {subnet: 10.0.2.0/24, vlan: 5000}
    c: {subnet: 10.0.3.0/24, vlan: abc}
    d: {subnet: 10.0.4.0/24, vlan: 0}
`), want: []string{
		"vpc-subnet-vlan error 7:5 VPC vpc-1: subnet a: vlan is required",
		"vpc-subnet-vlan error 8:36 VPC vpc-1: subnet b: vlan 5000 is not a VLAN ID (1-4094)",
		"vpc-subnet-vlan error 9:36 VPC vpc-1: subnet c: vlan must be a whole number, not \"abc\"",
		"vpc-subnet-vlan error 10:36 VPC vpc-1: subnet d: vlan is required",
	}},
	{name: "vpc-subnet-hostbgp", src: vpcDoc("VPC", "vpc-1", `  subnets:
    bgp:
      subnet: 10.0.3.0/24
      hostBGP: true
      dhcp: {enable: true}
`), want: []string{
		"vpc-subnet-hostbgp error 10:22 VPC vpc-1: subnet bgp: DHCP must not be enabled on a hostBGP subnet",
	}},
	{name: "vpc-subnet-overlap", src: vpcFabric(vpcGoodIPv4NS,
		vpcDoc("VPC", "vpc-1", `  subnets:
    a: {subnet: 10.0.0.0/22, vlan: 1001}
    b: {subnet: 10.0.1.0/24, vlan: 1002}
`),
		vpcDoc("VPC", "vpc-2", `  subnets:
    c: {subnet: 10.0.2.128/25, vlan: 1003}
    d: {subnet: 10.0.8.0/24, vlan: 1004}
`)), want: []string{
		"vpc-subnet-overlap error 17:17 VPC vpc-1: subnet b 10.0.1.0/24 overlaps subnet a 10.0.0.0/22 of VPC vpc-1",
		"vpc-subnet-overlap error 25:17 VPC vpc-2: subnet c 10.0.2.128/25 overlaps subnet a 10.0.0.0/22 of VPC vpc-1",
	}},
	{name: "vpc-subnet-ipv4namespace", src: vpcFabric(vpcGoodIPv4NS, vpcDoc("VPC", "vpc-1", "  subnets: {default: {subnet: 192.168.1.0/24, vlan: 1001}}\n")), want: []string{
		"vpc-subnet-ipv4namespace error 15:31 VPC vpc-1: subnet default 192.168.1.0/24 is outside IPv4Namespace default (subnets 10.0.0.0/16, 10.10.0.0/16)",
	}},
	{name: "vpc-subnet-vlan-namespace and -unique", src: vpcFabric(
		vpcDoc("VPC", "vpc-1", "  subnets: {a: {subnet: 10.0.1.0/24, vlan: 3500}, b: {subnet: 10.0.2.0/24, vlan: 1001}}\n"),
		vpcDoc("VPC", "vpc-2", "  subnets: {c: {subnet: 10.0.3.0/24, vlan: 1001}}\n")), want: []string{
		"vpc-subnet-vlan-namespace error 6:44 VPC vpc-1: subnet a: VLAN 3500 is outside VLANNamespace default (ranges 1000-2999)",
		"vpc-subnet-vlan-unique error 13:44 VLAN 1001 (subnet c) is already used by VPC vpc-1",
	}},

	// VPC DHCP.
	{name: "vpc-dhcp-relay", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a: {subnet: 10.0.1.0/24, vlan: 1001, dhcp: {enable: true, relay: 10.10.0.10/32}}
    b: {subnet: 10.0.2.0/24, vlan: 1002, dhcp: {relay: 10.10.0.10}}
    c: {subnet: 10.0.3.0/24, vlan: 1003, dhcp: {relayVPC: vpc-1}}
`), want: []string{
		"vpc-dhcp-relay error 7:70 VPC vpc-1: subnet a: dhcp.relay and dhcp.enable cannot both be set: either relay to another DHCP server or enable Hedgehog's",
		"vpc-dhcp-relay error 8:56 VPC vpc-1: subnet b: dhcp.relay 10.10.0.10 is not in address/length form (e.g. 10.99.0.10/32)",
		"vpc-dhcp-relay error 9:59 VPC vpc-1: subnet c: dhcp.relayVPC is set but dhcp.relay is not",
	}},
	{name: "vpc-dhcp-relay-vpc", src: vpcDoc("VPC", "vpc-1", "  subnets: {a: {subnet: 10.0.1.0/24, vlan: 1001, dhcp: {relay: 10.10.0.10/32, relayVPC: vpc-9}}}\n"), want: []string{
		"vpc-dhcp-relay-vpc error 6:89 VPC vpc-1: VPC vpc-9 does not exist (VPCs: vpc-1)",
	}},
	{name: "vpc-dhcp-range", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp: {enable: true, range: {start: 10.0.2.10}}
    b:
      subnet: 10.0.2.0/24
      gateway: 10.0.2.2
      vlan: 1002
      dhcp: {enable: true}
    c:
      subnet: 10.0.3.0/24
      vlan: 1003
      dhcp: {enable: true, range: {start: 10.0.3.99, end: 10.0.3.10}}
    d:
      subnet: 10.0.4.0/24
      vlan: 1004
      dhcp: {enable: true, range: {start: 10.0.4.0, end: 10.0.4.1}}
`), want: []string{
		"vpc-dhcp-range error 10:43 VPC vpc-1: subnet a: dhcp range start 10.0.2.10 is not inside 10.0.1.0/24",
		"vpc-dhcp-range error 15:14 VPC vpc-1: subnet b: dhcp range start 10.0.2.2 (the default) is the gateway: set dhcp.range.start",
		"vpc-dhcp-range error 19:59 VPC vpc-1: subnet c: dhcp range start 10.0.3.99 does not come before its end 10.0.3.10",
		"vpc-dhcp-range error 23:43 VPC vpc-1: subnet d: dhcp range start 10.0.4.0 is the subnet's own address",
	}},
	{name: "vpc-dhcp-options", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp:
        enable: true
        options:
          dnsServers: [10.0.0.53, dns.example.com]
          interfaceMTU: 50
`), want: []string{
		"vpc-dhcp-options error 13:35 VPC vpc-1: subnet a: dhcp.options.dnsServers: \"dns.example.com\" is not an IP address",
		"vpc-dhcp-options error 14:25 VPC vpc-1: subnet a: dhcp.options.interfaceMTU 50 is outside 96-9036",
	}},
	{name: "vpc-dhcp-routes", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp:
        enable: true
        options:
          advertisedRoutes:
            - destination: 10.10.0.0/16
            - destination: 10.20.0.0/16
              gateway: 10.0.2.1
`), want: []string{
		"vpc-dhcp-routes error 14:15 VPC vpc-1: subnet a: advertised route 1: gateway is required",
		"vpc-dhcp-routes error 16:24 VPC vpc-1: subnet a: advertised route 2: gateway 10.0.2.1 is not inside 10.0.1.0/24",
	}},
	{name: "vpc-dhcp-static", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp:
        static: {"0c:20:12:fe:00:01": {ip: 10.0.1.200}}
    b:
      subnet: 10.0.2.0/24
      vlan: 1002
      dhcp:
        enable: true
        static:
          "not-a-mac": {ip: 10.0.2.200}
          "0c:20:12:fe:00:02": {ip: 10.0.2.1}
          "0c:20:12:fe:00:03": {ip: 10.0.2.201}
          "0c:20:12:fe:00:04": {ip: 10.0.2.201}
          "0c:20:12:fe:00:05": {ip: 10.0.2.255}
`), want: []string{
		"vpc-dhcp-static error 11:9 VPC vpc-1: subnet a: static leases need DHCP enabled (dhcp.enable)",
		"vpc-dhcp-static error 18:11 VPC vpc-1: subnet b: static lease: \"not-a-mac\" is not a MAC address",
		"vpc-dhcp-static error 19:37 VPC vpc-1: subnet b: static IP 10.0.2.1 for 0c:20:12:fe:00:02 is the gateway",
		"vpc-dhcp-static error 21:37 VPC vpc-1: subnet b: static IP 10.0.2.201 for 0c:20:12:fe:00:04 is already leased to 0c:20:12:fe:00:03",
		"vpc-dhcp-static error 22:37 VPC vpc-1: subnet b: static IP 10.0.2.255 for 0c:20:12:fe:00:05 is the subnet's broadcast address",
	}},
	{name: "vpc-dhcp-ignored", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a:
      subnet: 10.0.1.0/24
      vlan: 1001
      dhcp:
        range: {start: 10.0.1.10, end: 10.0.1.99}
`), want: []string{
		"vpc-dhcp-ignored warning 11:9 VPC vpc-1: subnet a: dhcp.range is ignored because DHCP is not enabled (dhcp.enable)",
	}},

	// VPC permit and static routes.
	{name: "vpc-permit", src: vpcDoc("VPC", "vpc-1", `  subnets:
    a: {subnet: 10.0.1.0/24, vlan: 1001}
    b: {subnet: 10.0.2.0/24, vlan: 1002}
  permit:
    - [a]
    - [a, c]
    - [a, b, a]
`), want: []string{
		"vpc-permit error 10:7 VPC vpc-1: permit entry 1 lists 1 subnet, at least 2 are needed",
		"vpc-permit error 11:11 VPC vpc-1: permit entry 2: subnet c does not exist (subnets: a, b)",
		"vpc-permit error 12:14 VPC vpc-1: permit entry 3: subnet a is listed twice",
	}},
	{name: "vpc-static-route", src: vpcDoc("VPC", "vpc-1", `  subnets: {a: {subnet: 10.0.1.0/24, vlan: 1001}}
  staticRoutes:
    - prefix: 10.42.0.1/24
      nextHops: [10.0.1.254]
    - prefix: 10.43.0.0/24
    - nextHops: [10.0.1.254]
`), want: []string{
		"vpc-static-route error 8:15 VPC vpc-1: static route 1: prefix 10.42.0.1/24 has host bits set (the prefix is 10.42.0.0/24)",
		"vpc-static-route error 10:7 VPC vpc-1: static route 2: at least one next hop is required (nextHops)",
		"vpc-static-route error 11:7 VPC vpc-1: static route 3: prefix is required",
	}},

	// VPCAttachment.
	{name: "vpcattachment fields", src: vpcFabric(
		vpcDoc("VPCAttachment", "att-1", "  subnet: /default\n  connection: conn-1\n"),
		vpcDoc("VPCAttachment", "att-2", "  nativeVLAN: true\n"),
		vpcDoc("VPCAttachment", "Att_3", "  subnet: vpc-1/\n  connection: conn-1\n")), want: []string{
		"vpcattachment-subnet error 6:11 VPC attachment att-1: spec.subnet /default names no VPC: write <vpc>/<subnet>",
		"vpcattachment-subnet error 13:1 VPC attachment att-2: spec.subnet is required (<vpc>/<subnet>)",
		"vpcattachment-connection error 13:1 VPC attachment att-2: spec.connection is required",
		"vpcattachment-name-format error 19:9 VPC attachment Att_3: name is not a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
		"vpcattachment-subnet error 21:11 VPC attachment Att_3: spec.subnet vpc-1/ names no subnet: write <vpc>/<subnet>, or <vpc> for its subnet default",
	}},
	{name: "vpcattachment refs", src: vpcFabric(
		vpcDoc("VPC", "vpc-1", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"),
		vpcDoc("VPCAttachment", "att-1", "  subnet: vpc-9/default\n  connection: conn-9\n"),
		vpcDoc("VPCAttachment", "att-2", "  subnet: vpc-1/nope\n  connection: conn-1\n"),
		vpcDoc("VPCAttachment", "att-3", "  subnet: vpc-1/default\n  connection: conn-2\n")), want: []string{
		"vpcattachment-unknown-subnet error 13:11 VPC attachment att-1: VPC vpc-9 does not exist (VPCs: vpc-1)",
		"vpcattachment-unknown-connection error 14:15 VPC attachment att-1: connection conn-9 does not exist (connections: conn-1, conn-2)",
		"vpcattachment-unknown-subnet error 21:11 VPC attachment att-2: VPC vpc-1 has no subnet nope (subnets: default)",
	}},
	{name: "vpcattachment twice", src: vpcFabric(
		vpcDoc("VPC", "vpc-1", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}, b: {subnet: 10.0.2.0/24, vlan: 1002}}\n"),
		vpcDoc("VPCAttachment", "att-1", "  subnet: vpc-1/default\n  connection: conn-1\n  nativeVLAN: true\n"),
		vpcDoc("VPCAttachment", "att-2", "  subnet: vpc-1\n  connection: conn-1\n"),
		vpcDoc("VPCAttachment", "att-3", "  subnet: vpc-1/b\n  connection: conn-1\n  nativeVLAN: true\n")), want: []string{
		"vpcattachment-duplicate error 22:11 connection conn-1 on subnet vpc-1/default is already used by VPC attachment att-1",
		"vpcattachment-native-vlan error 32:15 the native VLAN of connection conn-1 is already used by VPC attachment att-1",
	}},
	{name: "vpcattachment-p2p-link", src: vpcFabric(
		"apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n  name: att-1\n  annotations:\n    fabric.githedgehog.com/p2p-link: 10.254.0.0/31\nspec:\n  subnet: vpc-1/default\n  connection: conn-1\n",
		"apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPCAttachment\nmetadata:\n  name: att-2\n  annotations:\n    fabric.githedgehog.com/p2p-link: 10.254.0.0/30\nspec:\n  subnet: vpc-1/default\n  connection: conn-2\n"), want: []string{
		"vpcattachment-p2p-link error 16:38 VPC attachment att-2: annotation fabric.githedgehog.com/p2p-link \"10.254.0.0/30\" is not an IPv4 /31 prefix (e.g. 10.254.0.0/31)",
	}},

	// VPCPeering.
	{name: "vpcpeering", src: vpcFabric(
		vpcDoc("VPC", "vpc-1", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"),
		vpcDoc("VPCPeering", "p-1", `  remote: border
  permit:
    - vpc-1: {subnets: [default, nope]}
      vpc-2: {}
      vpc-3: {}
`),
		vpcDoc("VPCPeering", "p-2", "  permit:\n    - vpc-1: {}\n"),
		vpcDoc("VPCPeering", "p-3", "  permit: []\n"),
		vpcDoc("VPCPeering", "p-4", "  permit:\n    - {vpc-1: {}, vpc-2: {}}\n    - {vpc-1: {}, vpc-3: {}}\n")), want: []string{
		"vpcpeering-remote error 13:11 VPC peering p-1: spec.remote is deprecated and no longer supported: remove it",
		"vpcpeering-permit error 15:7 VPC peering p-1: permit entry 1 names 3 VPCs, exactly 2 are needed",
		"vpcpeering-permit error 25:7 VPC peering p-2: permit entry 1 names 1 VPC, exactly 2 are needed",
		"vpcpeering-permit error 32:3 VPC peering p-3: spec.permit is required: it names the 2 VPCs to peer",
		"vpcpeering-permit error 39:3 VPC peering p-4: the permit entries name 3 VPCs (vpc-1, vpc-2, vpc-3), a peering is between exactly 2",
		"vpcpeering-unknown-vpc error 15:34 VPC peering p-1: VPC vpc-1 has no subnet nope (subnets: default)",
		"vpcpeering-unknown-vpc error 16:7 VPC peering p-1: VPC vpc-2 does not exist (VPCs: vpc-1)",
		"vpcpeering-unknown-vpc error 17:7 VPC peering p-1: VPC vpc-3 does not exist (VPCs: vpc-1)",
		"vpcpeering-unknown-vpc error 40:19 VPC peering p-4: VPC vpc-2 does not exist (VPCs: vpc-1)",
		"vpcpeering-unknown-vpc error 41:19 VPC peering p-4: VPC vpc-3 does not exist (VPCs: vpc-1)",
	}},

	// IPv4Namespace.
	{name: "ipv4namespace", src: vpcFabric(
		vpcDoc("IPv4Namespace", "namespace-12", `  subnets:
    - 10.0.0.0/16
    - 10.0.1.0/24
    - 10.1.0.0
    - 10.2.0.0/16
    - 10.3.0.0/16
    - 10.4.0.0/16
    - 10.5.0.0/16
    - 10.6.0.0/16
    - 10.7.0.0/16
    - 10.8.0.0/16
    - 10.9.0.0/16
`)), want: []string{
		"ipv4namespace-name-length error 4:9 IPv4Namespace namespace-12: name is 12 characters, at most 11 are allowed",
		"ipv4namespace-subnet-count error 6:3 IPv4Namespace namespace-12: 11 subnets, at most 10 are allowed",
		"ipv4namespace-subnet-overlap error 8:7 IPv4Namespace namespace-12: subnet 10.0.1.0/24 overlaps subnet 10.0.0.0/16",
		"ipv4namespace-subnet error 9:7 IPv4Namespace namespace-12: subnet \"10.1.0.0\" is not a CIDR prefix like 10.0.0.0/16",
	}},

	{name: "ipv4namespace overlap, wider last", src: vpcDoc("IPv4Namespace", "ns-1", "  subnets: [10.0.1.0/24, 10.0.2.0/24, 10.1.0.0/16, 10.0.0.0/16]\n"), want: []string{
		"ipv4namespace-subnet-overlap error 6:52 IPv4Namespace ns-1: subnet 10.0.0.0/16 overlaps subnet 10.0.1.0/24",
	}},

	// External.
	{name: "external", src: vpcFabric(vpcGoodIPv4NS,
		vpcDoc("External", "external-one", "  ipv4Namespace: other\n  inboundCommunity: 65536:1\n  outboundCommunity: \"01:2\"\n"),
		vpcDoc("External", "static-1", "  inboundCommunity: 1:1\n  static: {}\n"),
		vpcDoc("External", "static-2", "  static: {prefixes: [192.168.0.0/16, 192.168.1.0/24, nope]}\n")), want: []string{
		"external-name-length error 13:9 external external-one: name is 12 characters, at most 11 are allowed",
		"external-community error 16:21 external external-one: inboundCommunity 65536:1 is not a BGP community like 50000:50001 (two numbers 0-65535)",
		"external-community error 17:22 external external-one: outboundCommunity 01:2 is not a BGP community like 50000:50001 (two numbers 0-65535)",
		"external-static error 24:3 external static-1: a static external has no communities: remove inboundCommunity and outboundCommunity, or spec.static",
		"external-static error 25:3 external static-1: a static external needs at least one prefix (spec.static.prefixes)",
		"external-static error 32:39 external static-2: static prefix 192.168.1.0/24 overlaps static prefix 192.168.0.0/16",
		"external-static error 32:55 external static-2: static prefix \"nope\" is not a CIDR prefix like 10.0.0.0/16",
		"external-unknown-ipv4namespace error 15:18 external external-one: IPv4Namespace other does not exist (IPv4Namespaces: default)",
	}},

	// ExternalAttachment.
	{name: "externalattachment bgp", src: vpcFabric(
		vpcDoc("External", "default", "  inboundCommunity: 1:1\n"),
		vpcDoc("ExternalAttachment", "ea-1", "  switch: {vlan: 100}\n  neighbor: {asn: 0, ip: 100.1.0.300}\n"),
		vpcDoc("ExternalAttachment", "ea-2", "  external: nope\n  connection: conn-9\n  switch: {vlan: 5000, ip: 100.1.0.2}\n  neighbor: {ip: 100.1.0.6}\n"),
		vpcDoc("ExternalAttachment", "ea-3", "  external: default\n  connection: conn-1\n  switch: {vlan: 100, ip: 100.1.0.2/24}\n  neighbor: {asn: 64102, ip: 100.1.0.6}\n"),
		vpcDoc("ExternalAttachment", "ea-4", "  external: default\n  connection: conn-1\n  switch: {vlan: 100, ip: 100.1.0.3/24}\n  neighbor: {asn: 64102, ip: 100.1.0.7}\n")), want: []string{
		"externalattachment-external error 12:1 external attachment ea-1: spec.external is required",
		"externalattachment-connection error 12:1 external attachment ea-1: spec.connection is required",
		"externalattachment-bgp error 13:3 external attachment ea-1: spec.switch.ip is required (the switch's address/length on the link, e.g. 100.2.100.2/24)",
		"externalattachment-bgp error 14:19 external attachment ea-1: spec.neighbor.asn is required",
		"externalattachment-bgp error 14:26 external attachment ea-1: spec.neighbor.ip 100.1.0.300 is not an IP address",
		"externalattachment-bgp error 23:18 external attachment ea-2: spec.switch.vlan 5000 is not a VLAN ID (0 for untagged, or 1-4094)",
		"externalattachment-bgp error 23:28 external attachment ea-2: spec.switch.ip 100.1.0.2 is not an address/length like 100.2.100.2/24",
		"externalattachment-bgp error 24:3 external attachment ea-2: spec.neighbor.asn is required",
		"externalattachment-unknown-external error 21:13 external attachment ea-2: external nope does not exist (externals: default)",
		"externalattachment-unknown-connection error 22:15 external attachment ea-2: connection conn-9 does not exist (connections: conn-1, conn-2)",
		"externalattachment-vlan error 43:18 VLAN 100 on connection conn-1 is already used by external attachment ea-3",
	}},
	{name: "externalattachment static", src: vpcFabric(
		vpcDoc("ExternalAttachment", "ea-1", "  external: static\n  connection: conn-1\n  switch: {ip: 100.1.0.2/24}\n  neighbor: {asn: 64102}\n  static: {vlan: 200}\n"),
		vpcDoc("ExternalAttachment", "ea-2", "  external: static\n  connection: conn-2\n  static: {remoteIP: 100.2.0.x, ip: 100.2.0.2/24, proxy: true}\n"),
		vpcDoc("ExternalAttachment", "ea-3", "  external: static\n  connection: conn-2\n  static: {remoteIP: 100.2.0.6, ip: 100.2.0.2, vlan: 300}\n")), want: []string{
		"externalattachment-static error 8:3 external attachment ea-1: a static attachment has no switch fields: remove spec.switch.ip and spec.switch.vlan",
		"externalattachment-static error 9:3 external attachment ea-1: a static attachment has no neighbor: remove spec.neighbor",
		"externalattachment-static error 10:3 external attachment ea-1: spec.static.remoteIP is required",
		"externalattachment-static error 10:3 external attachment ea-1: a static attachment needs either static.ip or static.proxy: true",
		"externalattachment-static error 19:22 external attachment ea-2: spec.static.remoteIP 100.2.0.x is not an IP address",
		"externalattachment-static error 19:37 external attachment ea-2: a static attachment has either static.ip or static.proxy: true, not both",
		"externalattachment-static error 28:37 external attachment ea-3: spec.static.ip 100.2.0.2 is not an address/length like 100.2.100.2/24",
	}},
	{name: "externalattachment-acl", src: vpcDoc("ExternalAttachment", "ea-1", `  external: default
  connection: conn-1
  switch: {ip: 100.1.0.2/24}
  neighbor: {asn: 64102, ip: 100.1.0.6}
  inboundACL:
    statements:
      - {seq: 5, action: permit, protocol: ip, srcPrefix: any, dstPrefix: any}
      - {seq: 10, action: allow, protocol: sctp, srcPrefix: 10.0.0.0, dstPrefix: any}
      - {seq: 10, action: deny, protocol: udp, dstPrefix: any, tcpFilters: {syn: true}}
      - {seq: 20, action: deny, protocol: tcp, srcPrefix: any, dstPrefix: any, tcpFilters: {established: true, ack: true, fin: true, notFin: true}}
      - {seq: 30, action: deny, protocol: ip, srcPrefix: any, dstPrefix: any, icmpType: 8, portRangeEnd: 80}
      - {seq: 40, action: deny, protocol: udp, srcPrefix: any, dstPrefix: any, portRangeBegin: 90, portRangeEnd: 80}
`), want: []string{
		"externalattachment-acl error 12:15 external attachment ea-1: inboundACL statement seq 5: sequence numbers below 10 are reserved for Hedgehog's security rules",
		"externalattachment-acl error 13:27 external attachment ea-1: inboundACL statement seq 10: action \"allow\" is not one of deny, discard, permit, transit",
		"externalattachment-acl error 13:44 external attachment ea-1: inboundACL statement seq 10: protocol \"sctp\" is not one of ip, tcp, udp, icmp",
		"externalattachment-acl error 13:61 external attachment ea-1: inboundACL statement seq 10: srcPrefix 10.0.0.0 is not a prefix like 10.0.0.0/8, or any",
		"externalattachment-acl error 14:9 external attachment ea-1: inboundACL statement seq 10: srcPrefix is required (a prefix, or any)",
		"externalattachment-acl error 14:15 external attachment ea-1: inboundACL statement seq 10: sequence number 10 is used twice",
		"externalattachment-acl error 14:64 external attachment ea-1: inboundACL statement seq 10: tcpFilters need protocol tcp",
		"externalattachment-acl error 15:93 external attachment ea-1: inboundACL statement seq 20: tcpFilters.established excludes the individual TCP flags",
		"externalattachment-acl error 15:134 external attachment ea-1: inboundACL statement seq 20: tcpFilters fin and notFin contradict each other",
		"externalattachment-acl error 16:89 external attachment ea-1: inboundACL statement seq 30: icmpType needs protocol icmp",
		"externalattachment-acl error 16:106 external attachment ea-1: inboundACL statement seq 30: a port range needs protocol tcp or udp",
		"externalattachment-acl error 17:96 external attachment ea-1: inboundACL statement seq 40: portRangeBegin 90 comes after portRangeEnd 80",
	}},

	// ExternalPeering.
	{name: "externalpeering", src: vpcFabric(
		vpcDoc("VPC", "vpc-1", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"),
		vpcDoc("External", "default", "  inboundCommunity: 1:1\n"),
		vpcDoc("ExternalPeering", "ep-1", "  permit:\n    vpc: {subnets: [default]}\n    external: {prefixes: [{prefix: 0.0.0.0/0}]}\n"),
		vpcDoc("ExternalPeering", "ep-2", `  permit:
    vpc: {name: vpc-1, subnets: [default, nope]}
    external:
      name: other
      prefixes: [{prefix: ""}, {prefix: 10.0.0.0}]
`),
		vpcDoc("ExternalPeering", "ep-3", "  permit:\n    vpc: {name: vpc-9}\n    external: {name: default}\n")), want: []string{
		"externalpeering-vpc error 21:5 external peering ep-1: spec.permit.vpc.name is required",
		"externalpeering-external error 22:5 external peering ep-1: spec.permit.external.name is required",
		"externalpeering-prefix error 33:27 external peering ep-2: external prefix 1: prefix is required",
		"externalpeering-prefix-format warning 33:41 external peering ep-2: external prefix 10.0.0.0 is not a CIDR prefix like 0.0.0.0/0",
		"externalpeering-unknown-vpc error 30:43 external peering ep-2: VPC vpc-1 has no subnet nope (subnets: default)",
		"externalpeering-unknown-external error 32:13 external peering ep-2: external other does not exist (externals: default)",
		"externalpeering-unknown-vpc error 41:17 external peering ep-3: VPC vpc-9 does not exist (VPCs: vpc-1)",
	}},

	// Another version of the group: a warning, nothing else.
	{name: "vpc-api-version", src: vpcFabric(
		"apiVersion: vpc.githedgehog.com/v1alpha2\nkind: VPC\nmetadata:\n  name: vpc-with-long-name\nspec:\n  subnets: {default: {subnet: 10.0.1.0/31}}\n",
		vpcDoc("VPCAttachment", "att-1", "  subnet: vpc-with-long-name/default\n  connection: conn-1\n")), want: []string{
		"vpc-api-version warning 1:13 VPC vpc-with-long-name: apiVersion vpc.githedgehog.com/v1alpha2 is not checked against Hedgehog's rules: fabsync knows them for vpc.githedgehog.com/v1beta1 only",
	}},
}

// TestVPCRules checks each case's problems from the rules of this part
// (other parts' rules are left out), exactly.
func TestVPCRules(t *testing.T) {
	print := os.Getenv("VPC_PRINT") != ""
	for _, tc := range vpcCases {
		t.Run(tc.name, func(t *testing.T) {
			docs := parseDocs(t, "raw/vpc.yaml", tc.src, true)
			got := vpcShowProblems(checkAll(Default(), docs, vpcStubs()...))
			if print {
				var b strings.Builder
				for _, g := range got {
					fmt.Fprintf(&b, "\t\t%q,\n", g)
				}
				t.Logf("\n%s", b.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(tc.want, "\n       "))
			}
		})
	}
}

// vpcRealFileErrors are the errors this part's rules find in the real
// Hedgehog files when each is checked as a fabric of its own; every other
// file gives none.
//
// demo-gitops_env-1_demo.yaml is Hedgehog's GitOps demo, but it is not a
// fabric on its own: its VPCPeering and ExternalPeering name demo-vpc-1 and
// demo-vpc-2, which the same repository defines in env-1/pre-demo.yaml
// (applied first). The rule is right (Hedgehog's Validate rejects a peering
// of a VPC that does not exist) and the file is incomplete, not wrong.
var vpcRealFileErrors = map[string][]string{
	"demo-gitops_env-1_demo.yaml": {
		"vpcpeering-unknown-vpc error 51:19 VPC peering demo-vpc-1--demo-vpc-2: VPC demo-vpc-1 does not exist (VPCs: demo-vpc-3)",
		"vpcpeering-unknown-vpc error 53:19 VPC peering demo-vpc-1--demo-vpc-2: VPC demo-vpc-2 does not exist (VPCs: demo-vpc-3)",
		"externalpeering-unknown-vpc error 73:11 external peering demo-vpc-1--default: VPC demo-vpc-1 does not exist (VPCs: demo-vpc-3)",
	},
}

// TestVPCRealFiles checks the real public Hedgehog files (read in place):
// each file as one fabric gives no errors from this part's rules but the
// known ones above.
func TestVPCRealFiles(t *testing.T) {
	dir := sharedtest.Dir(t, "hedgehog")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.yaml in %s (%v)", dir, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range vpcShowProblems(checkAll(Default(), parseDocs(t, name, string(b), true))) {
				if !strings.HasPrefix(p, "vpc-api-version ") && !strings.Contains(p, " warning ") {
					got = append(got, p)
				}
			}
			if want := vpcRealFileErrors[name]; !slices.Equal(got, want) {
				t.Errorf("errors:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
			}
		})
	}
}

// FuzzVPCChecks: Check and CheckFabric never fail (Check turns a panic
// into an internal problem, which fails the test) on arbitrary YAML, each
// document read both as it says and as each of the seven vpc kinds.
func FuzzVPCChecks(f *testing.F) {
	for _, tc := range vpcCases {
		f.Add([]byte(tc.src))
	}
	kinds := make([]string, 0, len(vpcKindChecks))
	for k := range vpcKindChecks {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		v := Default()
		var rs []*Resource
		check := func(d *Doc) {
			ps, r := v.Check(d)
			for _, p := range ps {
				if p.Rule == RuleInternal {
					t.Fatalf("%s %s: %s", d.Kind, d.Name, p.Message)
				}
			}
			if r != nil {
				rs = append(rs, r)
			}
		}
		for _, d := range fuzzDocs(data, "raw/fuzz.yaml", 16, func(i int) bool { return i%2 == 1 }) {
			check(d)
			for _, kind := range kinds {
				dd := *d
				dd.Group, dd.Version, dd.Kind = vpcGroup, vpcVersion, kind
				check(&dd)
			}
		}
		for _, p := range v.CheckFabric(append(rs, vpcStubs()...)) {
			if p.Rule == RuleInternal {
				t.Fatalf("CheckFabric: %s", p.Message)
			}
		}
	})
}

// TestVPCMetadata checks the metadata rules every vpc kind has, and that a
// good name in the default namespace passes them.
func TestVPCMetadata(t *testing.T) {
	for kind, prefix := range map[string]string{"VPC": "vpc", "VPCAttachment": "vpcattachment", "VPCPeering": "vpcpeering", "IPv4Namespace": "ipv4namespace", "External": "external", "ExternalAttachment": "externalattachment", "ExternalPeering": "externalpeering"} {
		t.Run(kind, func(t *testing.T) {
			src := vpcFabric(
				"apiVersion: vpc.githedgehog.com/v1beta1\nkind: "+kind+"\nmetadata:\n  name: Bad_Name\n  namespace: other\nspec: {}\n",
				"apiVersion: vpc.githedgehog.com/v1beta1\nkind: "+kind+"\nmetadata:\n  name: good.name-1\n  namespace: default\nspec: {}\n")
			var got []string
			for _, p := range vpcShowProblems(checkAll(Default(), parseDocs(t, "raw/vpc.yaml", src, true))) {
				if strings.HasPrefix(p, prefix+"-name-format ") || strings.HasPrefix(p, prefix+"-namespace ") {
					got = append(got, p)
				}
			}
			n := noun(kind)
			want := []string{
				prefix + "-name-format error 4:9 " + n + " Bad_Name: name is not a lowercase RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit)",
				prefix + "-namespace error 5:14 " + n + " Bad_Name: namespace other is not supported: Hedgehog accepts only the default namespace",
			}
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
			}
		})
	}
}

// TestVPCOldDebt: a problem in a document this sync does not bring is a
// warning, and so is a clash between two such documents.
func TestVPCOldDebt(t *testing.T) {
	src := vpcFabric(
		vpcDoc("VPC", "vpc-with-long-name", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"),
		vpcDoc("VPC", "vpc-2", "  subnets: {default: {subnet: 10.0.1.0/24, vlan: 1001}}\n"))
	got := vpcShowProblems(checkAll(Default(), parseDocs(t, "managed/vpc.yaml", src, false), vpcStubs()...))
	want := []string{
		"vpc-name-length warning 4:9 VPC vpc-with-long-name: name is 18 characters, at most 11 are allowed",
		"vpc-subnet-overlap warning 13:31 VPC vpc-2: subnet default 10.0.1.0/24 overlaps subnet default 10.0.1.0/24 of VPC vpc-with-long-name",
		"vpc-subnet-vlan-unique warning 13:50 VLAN 1001 (subnet default) is already used by VPC vpc-with-long-name",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(want, "\n       "))
	}
}
