package validate

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/goldentest"
	"github.com/fabsync/fabsync/internal/sharedtest"
)

// updateWiring rewrites the golden files of TestWiringGolden.
var updateWiring = flag.Bool("update-wiring", false, "rewrite testdata/wiring/*.golden from the current output")

// wiringBase is a small valid fabric appended after each case's documents
// (so that the case's lines count from 1): what the cases refer to.
const wiringBase = `---
apiVersion: wiring.githedgehog.com/v1beta1
kind: SwitchGroup
metadata:
  name: eslag-1
spec: {}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: VLANNamespace
metadata:
  name: default
spec:
  ranges:
  - from: 1000
    to: 2999
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
spec:
  role: server-leaf
  profile: vs
  boot:
    mac: 0c:20:12:ff:00:00
  redundancy:
    group: eslag-1
    type: eslag
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-02
spec:
  role: server-leaf
  profile: vs
  boot:
    mac: 0c:20:12:ff:01:00
  redundancy:
    group: eslag-1
    type: eslag
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: spine-01
spec:
  role: spine
  profile: vs
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-01
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-02
`

// wiringHead is the start of a wiring document of kind.
func wiringHead(kind, name string) string {
	return "apiVersion: wiring.githedgehog.com/v1beta1\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n"
}

// showWiring renders problems as the cases write them.
func showWiring(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("%d:%d %s %s: %s", p.Line, p.Column, p.Severity, p.Rule, p.Message)
	}
	return out
}

// wiringCase is one fabric (the case's documents, then wiringBase) and
// every problem it must give, in order: per document first, then fabric.
type wiringCase struct {
	name   string
	src    string
	noBase bool        // src is the whole fabric
	extra  []*Resource // resources of kinds checked elsewhere (a VPC)
	want   []string
}

var wiringCases = []wiringCase{
	// The base and a document of each kind with everything set: no problem.
	{name: "valid", src: wiringHead("Switch", "leaf-03") + `spec:
  role: border-leaf
  profile: dell-s5248f-on
  description: border
  groups: [eslag-1]
  vlanNamespaces: [default]
  asn: 65101
  ip: 172.30.0.8/21
  protocolIP: 172.30.8.2/32
  vtepIP: 172.30.12.0/32
  boot:
    serial: SN0001
    mac: 0c:20:12:ff:03:00
  portFECs:
    E1/1: rs
  linkFlapErrDisable:
    flapThreshold: 50
    samplingInterval: 1
    recoveryInterval: 0
---
` + wiringHead("Connection", "server-01--unbundled--leaf-01") + `spec:
  unbundled:
    link:
      server:
        port: server-01/enp2s1
      switch:
        port: leaf-01/E1/1
---
` + wiringHead("Connection", "server-02--eslag--leaf-01--leaf-02") + `spec:
  eslag:
    links:
    - server: {port: server-02/enp2s1}
      switch: {port: leaf-01/E1/2}
    - server: {port: server-02/enp2s2}
      switch: {port: leaf-02/E1/2}
---
` + wiringHead("Connection", "spine-01--fabric--leaf-01") + `spec:
  fabric:
    links:
    - spine: {port: spine-01/E1/1, ip: 172.30.128.0/31}
      leaf: {port: leaf-01/E1/8, ip: 172.30.128.1/31}
---
` + wiringHead("Connection", "leaf-01--mesh--leaf-02") + `spec:
  mesh:
    links:
    - leaf1: {port: leaf-01/E1/9, ip: 172.30.129.0/31}
      leaf2: {port: leaf-02/E1/9, ip: 172.30.129.1/31}
---
` + wiringHead("Connection", "spine-01--gateway--gateway-1") + `spec:
  gateway:
    links:
    - switch: {port: spine-01/E1/20/1, ip: 172.30.130.0/31}
      gateway: {port: gateway-1/enp2s1, ip: 172.30.130.1/31}
---
` + wiringHead("Connection", "leaf-01--vpc-loopback") + `spec:
  vpcLoopback:
    links:
    - switch1: {port: leaf-01/E1/10}
      switch2: {port: leaf-01/E1/11}
---
` + wiringHead("Connection", "leaf-02--external") + `spec:
  external:
    link:
      switch: {port: leaf-02/E1/12}
---
` + wiringHead("Connection", "leaf-02--static-external") + `spec:
  staticExternal:
    link:
      switch:
        port: leaf-02/E1/13
        ip: 172.31.0.1/24
        nextHop: 172.31.0.254
        subnets: [10.10.0.0/16, 10.11.0.0/16]
        vlan: 100
---
` + wiringHead("Connection", "server-01--bundled--leaf-02") + `spec:
  bundled:
    links:
    - server: {port: server-01/enp3s1}
      switch: {port: leaf-02/E1/4}
    - server: {port: server-01/enp3s2}
      switch: {port: leaf-02/E1/5/1}
---
` + wiringHead("VLANNamespace", "other") + `spec:
  ranges:
  - from: 1
    to: 999
  - from: 3000
  - from: 3001
    to: 4094
`},

	{name: "metadata", src: `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: Leaf_01
  namespace: fabric
spec: {role: spine, profile: vs}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  namespace: default
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-9
  namespace: kube-system
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: SwitchGroup
metadata:
  name: g1
  namespace: kube-system
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: c1
  namespace: kube-system
spec:
  external: {link: {switch: {port: spine-01/E1/31}}}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: VLANNamespace
metadata:
  name: VLANs
spec:
  ranges: [{from: 11}]
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: SwitchGroup
metadata:
  name: ` + strings.Repeat("g", 254) + `
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: VLANNamespace
metadata:
  name: v.1
  namespace: other
spec:
  ranges: [{from: 10}]
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: -conn
spec:
  external: {link: {switch: {port: spine-01/E1/30}}}
`, want: []string{
		`4:9 error switch-name: switch "Leaf_01": metadata.name must be a lower-case RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a letter or digit)`,
		`5:14 error switch-namespace: switch Leaf_01: metadata.namespace is "fabric", but Hedgehog supports only the default namespace`,
		`10:1 error server-name: server (no name): metadata.name is missing`,
		`17:14 error server-namespace: server server-9: metadata.namespace is "kube-system", but Hedgehog supports only the default namespace`,
		`23:14 error switchgroup-namespace: switch group g1: metadata.namespace is "kube-system", but Hedgehog supports only the default namespace`,
		`29:14 error connection-namespace: connection c1: metadata.namespace is "kube-system", but Hedgehog supports only the default namespace`,
		`36:9 error vlannamespace-name: VLANNamespace "VLANs": metadata.name must be a lower-case RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a letter or digit)`,
		`43:9 error switchgroup-name: switch group: metadata.name is 254 characters long, at most 253 are allowed`,
		`49:14 error vlannamespace-namespace: VLANNamespace v.1: metadata.namespace is "other", but Hedgehog supports only the default namespace`,
		`56:9 error connection-name: connection "-conn": metadata.name must be a lower-case RFC 1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a letter or digit)`,
		`4:9 error switch-unknown-vlannamespace: switch Leaf_01: VLANNamespace default does not exist (there are no VLANNamespaces)`,
		`31:36 error connection-unknown-switch: connection c1: switch spine-01 does not exist (there are no switches)`,
	}},

	{name: "old api version", src: `apiVersion: wiring.githedgehog.com/v1alpha2
kind: Connection
metadata:
  name: control-1--mgmt--switch-1
spec:
  management: {}
`, want: []string{
		`1:13 warning wiring-api-version: connection control-1--mgmt--switch-1: apiVersion wiring.githedgehog.com/v1alpha2 is not checked against Hedgehog's rules: fabsync knows them for wiring.githedgehog.com/v1beta1 only`,
	}},

	{name: "switch role and profile", src: wiringHead("Switch", "s1") + `spec:
  role: leaf
---
` + wiringHead("Switch", "s2") + `spec:
  profile: vs
---
` + wiringHead("Switch", "s3") + `spec:
  role: virtual-edge
  profile: ""
`, want: []string{
		`5:1 error switch-profile: switch s1: spec.profile is missing: name the SwitchProfile of the switch's model (vs for a virtual switch)`,
		`6:9 error switch-role: switch s1: spec.role "leaf" is not a switch role (roles: spine, server-leaf, border-leaf, mixed-leaf)`,
		`12:1 error switch-role: switch s2: spec.role is missing (roles: spine, server-leaf, border-leaf, mixed-leaf)`,
		`20:9 error switch-role: switch s3: spec.role virtual-edge is in Hedgehog's CRD but its fabric no longer handles it (roles: spine, server-leaf, border-leaf, mixed-leaf)`,
		`21:12 error switch-profile: switch s3: spec.profile is missing: name the SwitchProfile of the switch's model (vs for a virtual switch)`,
	}},

	{name: "switch redundancy", src: wiringHead("Switch", "s1") + `spec:
  role: server-leaf
  profile: vs
  redundancy: {group: eslag-1, type: mlag}
---
` + wiringHead("Switch", "s2") + `spec:
  role: server-leaf
  profile: vs
  redundancy: {group: eslag-1}
---
` + wiringHead("Switch", "s3") + `spec:
  role: server-leaf
  profile: vs
  redundancy: {type: eslag}
---
` + wiringHead("Switch", "s4") + `spec:
  role: server-leaf
  profile: vs
  redundancy: {group: eslag-1, type: mclag}
`, want: []string{
		`8:38 error switch-redundancy-type: switch s1: spec.redundancy.type "mlag" is not a redundancy type (eslag, or the deprecated mclag)`,
		`17:23 error switch-redundancy-type: switch s2: spec.redundancy.group eslag-1 is set without spec.redundancy.type (eslag)`,
		`26:22 error switch-redundancy-type: switch s3: spec.redundancy.type eslag is set without spec.redundancy.group (the SwitchGroup of the redundancy pair)`,
		`35:38 warning switch-mclag-deprecated: switch s4: spec.redundancy.type mclag is deprecated and no longer supported by Hedgehog: use eslag`,
	}},

	{name: "switch groups and VLAN namespaces", src: wiringHead("Switch", "s1") + `spec:
  role: server-leaf
  profile: vs
  groups: [eslag-1, eslag-9, ""]
  redundancy: {group: mclag-1, type: eslag}
  vlanNamespaces: [default, other, ""]
`, want: []string{
		`8:30 error switch-unknown-group: switch s1: spec.groups[2] is "": name a switch group`,
		`10:36 error switch-unknown-vlannamespace: switch s1: spec.vlanNamespaces[2] is "": name a VLAN namespace`,
		`8:21 error switch-unknown-group: switch s1: switch group eslag-9 does not exist (switch groups: eslag-1)`,
		`9:23 error switch-unknown-group: switch s1: switch group mclag-1 does not exist (switch groups: eslag-1)`,
		`10:29 error switch-unknown-vlannamespace: switch s1: VLANNamespace other does not exist (VLANNamespaces: default)`,
	}},

	{name: "switch default VLAN namespace missing", src: wiringHead("VLANNamespace", "other") + `spec:
  ranges: [{from: 3000, to: 3100}]
---
` + wiringHead("Switch", "s1") + `spec: {role: spine, profile: vs, vlanNamespaces: [other]}
` + strings.Replace(wiringBase, "name: default", "name: unused", 1), noBase: true, want: []string{
		// leaf-01, leaf-02 and spine-01 of the base have no
		// spec.vlanNamespaces: Hedgehog gives them "default".
		`32:9 error switch-unknown-vlannamespace: switch leaf-01: VLANNamespace default does not exist (VLANNamespaces: other, unused)`,
		`45:9 error switch-unknown-vlannamespace: switch leaf-02: VLANNamespace default does not exist (VLANNamespaces: other, unused)`,
		`58:9 error switch-unknown-vlannamespace: switch spine-01: VLANNamespace default does not exist (VLANNamespaces: other, unused)`,
	}},

	{name: "switch hydrated fields", src: wiringHead("Switch", "s1") + `spec:
  role: spine
  profile: vs
  asn: "65100"
  ip: 172.30.0.300/21
  protocolIP: 172.30.8.1/24
  vtepIP: 172.30.12.1/32
---
` + wiringHead("Switch", "s2") + `spec:
  role: server-leaf
  profile: vs
  asn: 4294967296
  ip: 172.30.0.9
  protocolIP: 172.30.8.2
  vtepIP: 172.30.12.0/31
`, want: []string{
		`8:8 error switch-asn: switch s1: spec.asn "65100" is not an ASN (a number from 1 to 4294967295)`,
		`9:7 error switch-ip: switch s1: spec.ip "172.30.0.300/21" is not an address with its prefix length, such as 172.30.0.8/21`,
		`10:15 error switch-protocol-ip: switch s1: spec.protocolIP 172.30.8.1/24 must be an IPv4 /32`,
		`11:11 error switch-vtep-ip: switch s1: spec.vtepIP is set, but spine switches have no VTEP IP`,
		`20:8 error switch-asn: switch s2: spec.asn "4294967296" is not an ASN (a number from 1 to 4294967295)`,
		`21:7 error switch-ip: switch s2: spec.ip "172.30.0.9" is not an address with its prefix length, such as 172.30.0.8/21`,
		`22:15 error switch-protocol-ip: switch s2: spec.protocolIP "172.30.8.2" is not an IPv4 /32, such as 172.30.8.2/32`,
		`23:11 error switch-vtep-ip: switch s2: spec.vtepIP 172.30.12.0/31 must be an IPv4 /32`,
	}},

	{name: "switch duplicates", src: wiringHead("Switch", "s1") + `spec:
  role: server-leaf
  profile: vs
  asn: 65101
  ip: 172.30.0.8/21
  protocolIP: 172.30.8.2/32
  vtepIP: 172.30.12.0/32
  boot: {serial: SN1}
---
` + wiringHead("Switch", "s2") + `spec:
  role: mixed-leaf
  profile: vs
  asn: 65101
  ip: 172.30.0.8/24
  protocolIP: 172.30.8.2/32
  vtepIP: 172.30.12.0/32
  boot: {serial: SN1, mac: 0C-20-12-FF-00-00}
---
` + wiringHead("Switch", "s3") + `spec:
  role: spine
  profile: vs
  asn: 65101
---
` + wiringHead("Switch", "s4") + `spec:
  role: server-leaf
  profile: vs
  asn: 65101
  vtepIP: 172.30.12.0/32
  redundancy: {group: eslag-1, type: mclag}
`, want: []string{
		// A spine shares the spine ASN; an MCLAG pair shares its ASN
		// and VTEP IP: Hedgehog lets them.
		`45:38 warning switch-mclag-deprecated: switch s4: spec.redundancy.type mclag is deprecated and no longer supported by Hedgehog: use eslag`,
		`21:8 error switch-duplicate-asn: leaf ASN 65101 is already used by switch s1`,
		`22:7 error switch-duplicate-ip: management IP 172.30.0.8 is already used by switch s1`,
		`23:15 error switch-duplicate-protocol-ip: protocol IP 172.30.8.2 is already used by switch s1`,
		`24:11 error switch-duplicate-vtep-ip: VTEP IP 172.30.12.0 is already used by switch s1`,
		`25:18 error switch-duplicate-boot: boot serial SN1 is already used by switch s1`,
		`70:10 error switch-duplicate-boot: boot MAC 0c:20:12:ff:00:00 is already used by switch s2`,
	}},

	{name: "switch boot, FEC and link flap", src: wiringHead("Switch", "s1") + `spec:
  role: spine
  profile: vs
  boot: {mac: 0c:20:12:ff:00}
  portFECs: {E1/1: auto, E1/2: rs-fec}
  linkFlapErrDisable: {flapThreshold: 0, samplingInterval: 65536, recoveryInterval: 65535}
---
` + wiringHead("Switch", "s2") + `spec:
  role: spine
  profile: vs
  linkFlapErrDisable: {}
`, want: []string{
		`8:15 error switch-boot-mac: switch s1: spec.boot.mac "0c:20:12:ff:00" is not a MAC address (such as 0c:20:12:ff:00:00)`,
		`9:32 error switch-port-fec: switch s1: spec.portFECs[E1/2] "rs-fec" is not a FEC mode (rs, fc, auto, disabled)`,
		`10:39 error switch-link-flap: switch s1: spec.linkFlapErrDisable.flapThreshold "0" must be a number from 1 to 50`,
		`10:60 error switch-link-flap: switch s1: spec.linkFlapErrDisable.samplingInterval "65536" must be a number from 1 to 65535`,
		`10:85 error switch-link-flap: switch s1: spec.linkFlapErrDisable.recoveryInterval "65535" must be a number from 0 to 65534`,
	}},

	{name: "VLAN namespace ranges", src: wiringHead("VLANNamespace", "v1") + `spec:
  ranges:
  - from: 0
    to: 10
  - from: 100
    to: 4095
  - from: 300
    to: 200
  - to: 5
  - from: ten
---
` + wiringHead("VLANNamespace", "v2") + `spec:
  ranges: []
---
` + wiringHead("VLANNamespace", "v3") + `spec: {}
`, want: []string{
		`7:11 error vlannamespace-range: VLANNamespace v1: spec.ranges[0].from "0" is not a VLAN ID (1 to 4094)`,
		`10:9 error vlannamespace-range: VLANNamespace v1: spec.ranges[1].to "4095" is not a VLAN ID (1 to 4094)`,
		`11:5 error vlannamespace-range: VLANNamespace v1: spec.ranges[2] is from 300 to 200: from must not be greater than to`,
		`13:5 error vlannamespace-range: VLANNamespace v1: spec.ranges[3].from missing is not a VLAN ID (1 to 4094)`,
		`14:11 error vlannamespace-range: VLANNamespace v1: spec.ranges[4].from "ten" is not a VLAN ID (1 to 4094)`,
		`21:11 error vlannamespace-range: VLANNamespace v2: spec.ranges is empty: a VLAN namespace needs at least one range of VLAN IDs (1 to 4094)`,
		`27:1 error vlannamespace-range: VLANNamespace v3: spec.ranges is empty: a VLAN namespace needs at least one range of VLAN IDs (1 to 4094)`,
	}},

	{name: "VLAN namespace too many ranges", src: wiringHead("VLANNamespace", "v1") + "spec:\n  ranges:\n" + func() string {
		var b strings.Builder
		for i := 1; i <= 21; i++ {
			fmt.Fprintf(&b, "  - from: %d\n", i*10)
		}
		return b.String()
	}(), want: []string{
		`27:5 error vlannamespace-range: VLANNamespace v1: spec.ranges has 21 ranges, at most 20 are allowed`,
	}},

	{name: "VLAN namespace overlap", src: wiringHead("VLANNamespace", "v1") + `spec:
  ranges:
  - from: 1000
    to: 2999
  - from: 3000
  - from: 2000
    to: 2100
  - from: 2999
    to: 3000
`, want: []string{
		`10:5 error vlannamespace-range-overlap: VLANNamespace v1: spec.ranges[2] 2000-2100 overlaps spec.ranges[0] 1000-2999 (Hedgehog then rejects the switches in this namespace)`,
		`12:5 error vlannamespace-range-overlap: VLANNamespace v1: spec.ranges[3] 2999-3000 overlaps spec.ranges[0] 1000-2999 (Hedgehog then rejects the switches in this namespace)`,
		`12:5 error vlannamespace-range-overlap: VLANNamespace v1: spec.ranges[3] 2999-3000 overlaps spec.ranges[1] 3000-3000 (Hedgehog then rejects the switches in this namespace)`,
	}},

	{name: "connection type", src: wiringHead("Connection", "c1") + `spec:
  management: {}
---
` + wiringHead("Connection", "c2") + `spec:
  unbundled:
    link: {server: {port: server-01/eth0}, switch: {port: leaf-01/E1/20}}
  external:
    link: {switch: {port: leaf-01/E1/21}}
---
` + wiringHead("Connection", "c3") + `spec:
  bundled: null
`, want: []string{
		`5:1 error connection-type: connection c1: no connection type is set (spec has management, which is not a connection type): set exactly one of spec.unbundled, spec.bundled, spec.mclag, spec.eslag, spec.mclagDomain, spec.fabric, spec.mesh, spec.gateway, spec.vpcLoopback, spec.external, spec.staticExternal`,
		`15:3 error connection-type: connection c2: spec.unbundled and spec.external are both set: a connection has exactly one type`,
		`22:1 error connection-type: connection c3: no connection type is set: set exactly one of spec.unbundled, spec.bundled, spec.mclag, spec.eslag, spec.mclagDomain, spec.fabric, spec.mesh, spec.gateway, spec.vpcLoopback, spec.external, spec.staticExternal`,
	}},

	{name: "connection MCLAG", src: wiringHead("Connection", "c1") + `spec:
  mclag:
    links:
    - server: {port: server-01/eth0}
      switch: {port: leaf-01/E1/20}
    - server: {port: server-01/eth1}
      switch: {port: leaf-02/E1/20}
---
` + wiringHead("Connection", "c2") + `spec:
  mclagDomain:
    peerLinks:
    - switch1: {port: leaf-01/E1/21}
      switch2: {port: leaf-02/E1/21}
    sessionLinks: []
`, want: []string{
		`6:3 warning connection-mclag-deprecated: connection c1: spec.mclag: MCLAG is deprecated and no longer supported by Hedgehog: use eslag`,
		`18:3 warning connection-mclag-deprecated: connection c2: spec.mclagDomain: MCLAG is deprecated and no longer supported by Hedgehog: use eslag`,
		`22:5 error connection-links: connection c2: spec.mclagDomain.sessionLinks has 0, a mclagDomain connection needs at least 1 link`,
	}},

	{name: "connection links", src: wiringHead("Connection", "c1") + `spec:
  bundled: {links: []}
---
` + wiringHead("Connection", "c2") + `spec:
  eslag:
    links:
    - server: {port: server-01/eth0}
      switch: {port: leaf-01/E1/20}
---
` + wiringHead("Connection", "c3") + `spec:
  fabric: {}
`, want: []string{
		`6:13 error connection-links: connection c1: spec.bundled.links has 0, a bundled connection needs at least 1 link`,
		`14:5 error connection-links: connection c2: spec.eslag.links has 1, a eslag connection needs at least 2 links`,
		`23:3 error connection-links: connection c3: spec.fabric.links has 0, a fabric connection needs at least 1 link`,
	}},

	{name: "connection port names", src: wiringHead("Connection", "c1") + `spec:
  unbundled:
    link:
      server: {port: server-01}
      switch: {port: /E1/1}
---
` + wiringHead("Connection", "c2") + `spec:
  external:
    link:
      switch: {}
---
` + wiringHead("Connection", "c3") + `spec:
  unbundled: {}
`, want: []string{
		`8:22 error connection-port-name: connection c1: spec.unbundled.link.server.port "server-01" is not "<device>/<port>", such as server-01/enp2s1`,
		`9:22 error connection-port-name: connection c1: spec.unbundled.link.switch.port "/E1/1" is not "<device>/<port>", such as leaf-01/E1/1`,
		`18:7 error connection-port-name: connection c2: spec.external.link.switch.port is missing: name the switch port as "<device>/<port>"`,
		`25:3 error connection-port-name: connection c3: spec.unbundled.link.server.port is missing: name the server port as "<device>/<port>"`,
		`25:3 error connection-port-name: connection c3: spec.unbundled.link.switch.port is missing: name the switch port as "<device>/<port>"`,
	}},

	{name: "connection devices", src: wiringHead("Connection", "c1") + `spec:
  bundled:
    links:
    - server: {port: server-01/eth0}
      switch: {port: leaf-01/E1/20}
    - server: {port: server-02/eth0}
      switch: {port: leaf-02/E1/20}
---
` + wiringHead("Connection", "c2") + `spec:
  fabric:
    links:
    - spine: {port: leaf-01/E1/21}
      leaf: {port: leaf-01/E1/22}
---
` + wiringHead("Connection", "c3") + `spec:
  vpcLoopback:
    links:
    - switch1: {port: leaf-01/E1/23}
      switch2: {port: leaf-02/E1/23}
`, want: []string{
		`10:22 error connection-devices: connection c1: spec.bundled.links[1].server.port is on server server-02, but a bundled connection reaches exactly one server (server-01)`,
		`11:22 error connection-devices: connection c1: spec.bundled.links[1].switch.port is on switch leaf-02, but a bundled connection reaches exactly 1 switch (leaf-01)`,
		`18:3 error connection-devices: connection c2: a fabric connection reaches 2 switches, but its links reach only 1 switch (leaf-01)`,
		`31:23 error connection-devices: connection c3: spec.vpcLoopback.links[0].switch2.port is on switch leaf-02, but a vpcLoopback connection reaches exactly 1 switch (leaf-01)`,
	}},

	{name: "connection unknown devices", src: wiringHead("Connection", "server-03--unbundled--leaf-99") + `spec:
  unbundled:
    link:
      server: {port: server-03/eth0}
      switch: {port: leaf-99/E1/1}
`, want: []string{
		`8:22 error connection-unknown-server: connection server-03--unbundled--leaf-99: server server-03 does not exist (servers: server-01, server-02)`,
		`9:22 error connection-unknown-switch: connection server-03--unbundled--leaf-99: switch leaf-99 does not exist (switches: leaf-01, leaf-02, spine-01)`,
	}},

	{name: "connection port reused", src: wiringHead("Connection", "server-01--unbundled--leaf-01") + `spec:
  unbundled:
    link:
      server: {port: server-01/eth0}
      switch: {port: leaf-01/E1/1}
---
` + wiringHead("Connection", "server-02--unbundled--leaf-01") + `spec:
  unbundled:
    link:
      server: {port: server-02/eth0}
      switch: {port: leaf-01/E1/1}
---
` + wiringHead("Connection", "server-02--bundled--leaf-02") + `spec:
  bundled:
    links:
    - server: {port: server-02/eth1}
      switch: {port: leaf-02/E1/4}
    - server: {port: server-02/eth1}
      switch: {port: leaf-02/E1/4/1}
`, want: []string{
		`19:22 error connection-port-reused: port leaf-01/E1/1 is already used by connection server-01--unbundled--leaf-01`,
		`30:22 error connection-port-reused: connection server-02--bundled--leaf-02: port server-02/eth1 is used twice`,
		`31:22 error connection-port-reused: connection server-02--bundled--leaf-02: port leaf-02/E1/4/1 is used twice`,
	}},

	{name: "connection link IPs", src: wiringHead("Connection", "c1") + `spec:
  fabric:
    links:
    - spine: {port: spine-01/E1/1, ip: 172.30.128.0/30}
      leaf: {port: leaf-01/E1/8, ip: 172.30.128.1}
    - spine: {port: spine-01/E1/2, ip: 172.30.128.2/31}
      leaf: {port: leaf-01/E1/9, ip: 172.30.128.5/31}
---
` + wiringHead("Connection", "c2") + `spec:
  mesh:
    links:
    - leaf1: {port: leaf-01/E1/10, ip: 172.30.128.2/31}
      leaf2: {port: leaf-02/E1/10, ip: 172.30.128.3/31}
`, want: []string{
		`8:40 error connection-link-ip: connection c1: spec.fabric.links[0].spine.ip 172.30.128.0/30 is a /30: the ends of a fabric link are a /31`,
		`9:38 error connection-link-ip: connection c1: spec.fabric.links[0].leaf.ip "172.30.128.1" is not an IPv4 address with its prefix length (a /31, such as 172.30.128.0/31)`,
		`11:38 error connection-link-ip: connection c1: spec.fabric.links[1].leaf.ip 172.30.128.5/31 is not in the /31 of spec.fabric.links[1].spine.ip 172.30.128.2/31`,
		`20:40 error connection-duplicate-link-ip: link IP 172.30.128.2 is already used by connection c1`,
	}},

	{name: "connection static external", src: wiringHead("Connection", "c1") + `spec:
  staticExternal:
    withinVPC: vpc-9
    link:
      switch:
        port: leaf-01/E1/30
        ip: 172.31.0.1/24
        nextHop: 172.31.1.1
        subnets: [0.0.0.0/0, 10.1.0.1/16, 10.0.0.0/8, 10.2.0.0/16, bad]
        vlan: 4095
---
` + wiringHead("Connection", "c2") + `spec:
  staticExternal:
    link:
      switch:
        port: leaf-01/E1/31
        ip: 172.31.0.1
        nextHop: fe80::1
---
` + wiringHead("Connection", "c3") + `spec:
  staticExternal:
    link:
      switch: {port: leaf-01/E1/32}
`, extra: []*Resource{{Kind: "VPC", Namespace: "default", Name: "vpc-1", New: true}}, want: []string{
		`12:18 error connection-static-external: connection c1: spec.staticExternal.link.switch.nextHop 172.31.1.1 is not in spec.staticExternal.link.switch.ip's network 172.31.0.0/24`,
		`13:19 error connection-static-external: connection c1: spec.staticExternal.link.switch.subnets[0] is the default route 0.0.0.0/0, which must be the only subnet`,
		`13:30 error connection-static-external: connection c1: spec.staticExternal.link.switch.subnets[1] 10.1.0.1/16 has host bits set: the network is 10.1.0.0/16`,
		`13:55 error connection-static-external: connection c1: spec.staticExternal.link.switch.subnets[3] 10.2.0.0/16 overlaps spec.staticExternal.link.switch.subnets[2] 10.0.0.0/8`,
		`13:68 error connection-static-external: connection c1: spec.staticExternal.link.switch.subnets[4] "bad" is not a network prefix (such as 10.10.0.0/16)`,
		`14:15 error connection-static-external: connection c1: spec.staticExternal.link.switch.vlan "4095" is not a VLAN ID (1 to 4094; 0 or none for untagged)`,
		`25:13 error connection-static-external: connection c2: spec.staticExternal.link.switch.ip "172.31.0.1" is not an IPv4 address with its prefix length (such as 172.31.0.1/24)`,
		`26:18 error connection-static-external: connection c2: spec.staticExternal.link.switch.nextHop "fe80::1" is not an IPv4 address`,
		`35:7 error connection-static-external: connection c3: spec.staticExternal.link.switch.ip is missing: the switch port's address with its prefix length (such as 172.31.0.1/24)`,
		`35:7 error connection-static-external: connection c3: spec.staticExternal.link.switch.nextHop is missing: the address of the external device the static routes go through`,
		`7:16 error connection-unknown-vpc: connection c1: VPC vpc-9 does not exist (VPCs: vpc-1)`,
	}},
}

// TestWiringRules runs every case and compares all its problems.
func TestWiringRules(t *testing.T) {
	v := Default()
	for _, tc := range wiringCases {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			if !strings.HasSuffix(src, "\n") {
				src += "\n"
			}
			if !tc.noBase {
				src += wiringBase
			}
			var ps []Problem
			rs := slices.Clone(tc.extra)
			for _, d := range parseDocs(t, "wiring.yaml", src, true) {
				p, r := v.Check(d)
				ps = append(ps, p...)
				if r != nil {
					rs = append(rs, r)
				}
			}
			got := showWiring(append(ps, v.CheckFabric(rs)...))
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestWiringRulesCovered: every rule has a failing case, and the valid
// case (which sets every field a rule looks at) passes them all.
func TestWiringRulesCovered(t *testing.T) {
	failing := map[string]bool{}
	for _, tc := range wiringCases {
		for _, w := range tc.want {
			_, rest, _ := strings.Cut(w, " ")
			_, rest, _ = strings.Cut(rest, " ")
			id, _, _ := strings.Cut(rest, ":")
			failing[id] = true
		}
	}
	for _, r := range wiringRules {
		if !failing[r.ID] {
			t.Errorf("rule %s has no failing case", r.ID)
		}
		if _, ok := ruleByID[r.ID]; !ok || r.Doc == "" || r.Severity == 0 || strings.ToLower(r.ID) != r.ID {
			t.Errorf("rule %s: not registered, or no doc or severity, or not lower-case", r.ID)
		}
	}
}

// TestWiringOldDebt: a problem in a document this sync does not bring is a
// warning, and a rule can be disabled.
func TestWiringOldDebt(t *testing.T) {
	src := wiringHead("Switch", "s1") + "spec: {role: leaf, profile: vs}\n"
	ps := checkAll(Default(), parseDocs(t, "old.yaml", src, false))
	if got := showWiring(ps); !slices.Equal(got, []string{`5:14 warning switch-role: switch s1: spec.role "leaf" is not a switch role (roles: spine, server-leaf, border-leaf, mixed-leaf)`}) {
		t.Errorf("old debt: %q", got)
	}
	v, err := New(Config{Disable: []string{"switch-role"}})
	if err != nil {
		t.Fatal(err)
	}
	if ps := checkAll(v, parseDocs(t, "new.yaml", src, true)); len(ps) != 0 {
		t.Errorf("disabled: %q", showWiring(ps))
	}
}

// wiringRealFiles reads the real public Hedgehog files (in place).
func wiringRealFiles(t testing.TB) map[string]string {
	dir := sharedtest.Dir(t, "hedgehog")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no real wiring files in %s (%v)", dir, err)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(b)
	}
	return out
}

// TestWiringRealFiles: each real file, as one fabric, gives no error.
//
// What they give (warnings): gitops-test-1_prepop.yaml uses MCLAG (two
// switches with redundancy type mclag, an mclagDomain and two mclag
// connections), which Hedgehog deprecated: switch-mclag-deprecated and
// connection-mclag-deprecated. fabric_collapsedcore.vlab.gen.v1alpha2.yaml
// is of the old v1alpha2 API (its "management" and "nat" connection types
// are gone from v1beta1): wiring-api-version on each wiring document, and no
// other rule. The lab-ci files give nothing, also taken together (their
// gateway connections name the switches of wiring.yaml).
func TestWiringRealFiles(t *testing.T) {
	files := wiringRealFiles(t)
	wantWarnings := map[string]map[string]int{
		"gitops-test-1_prepop.yaml":                   {"switch-mclag-deprecated": 2, "connection-mclag-deprecated": 3},
		"fabric_collapsedcore.vlab.gen.v1alpha2.yaml": {"wiring-api-version": 16},
	}
	check := func(name, src string, want map[string]int) {
		t.Run(name, func(t *testing.T) {
			docs := parseDocs(t, name, src, true)
			got := map[string]int{}
			for _, p := range checkAll(Default(), docs) {
				if p.Severity == Error && wiringRuleID(p.Rule) {
					t.Errorf("%s", p)
				}
				if wiringRuleID(p.Rule) {
					got[p.Rule]++
				}
			}
			if want == nil {
				want = map[string]int{}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("wiring problems by rule: %v, want %v", got, want)
			}
		})
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		check(n, files[n], wantWarnings[n])
	}
	if a, b := files["lab-ci_env-ci-1_wiring.yaml"], files["lab-ci_env-ci-1_wiring-gateway.yaml"]; a != "" && b != "" {
		check("lab-ci together", a+"\n---\n"+b, nil)
	}
}

// wiringRuleID reports whether id is one of this file's rules (the real
// files also hold VPC kinds, whose rules are checked elsewhere).
func wiringRuleID(id string) bool {
	return slices.ContainsFunc(wiringRules, func(r Rule) bool { return r.ID == id })
}

// TestWiringGolden pins the message format on a small broken fabric
// (testdata/wiring/broken.yaml); -update-wiring rewrites the golden file.
func TestWiringGolden(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "wiring", "broken.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs := parseDocs(t, "raw/broken.yaml", string(src), true)
	var b strings.Builder
	for _, p := range checkAll(Default(), docs) {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	goldentest.Check(t, filepath.Join("testdata", "wiring", "broken.golden"), []byte(b.String()), *updateWiring, "update-wiring")
}

// wiringFuzzKinds are the kinds a fuzz input's documents are checked as.
var wiringFuzzKinds = []string{"Switch", "Server", "Connection", "SwitchGroup", "VLANNamespace"}

// FuzzWiringChecks: Check and CheckFabric never panic (Check would turn a
// panic into an internal problem) on arbitrary YAML, checked as each of
// the wiring kinds.
func FuzzWiringChecks(f *testing.F) {
	for _, tc := range wiringCases {
		f.Add([]byte(tc.src), uint8(0))
	}
	f.Add([]byte(wiringBase), uint8(5))
	f.Add([]byte("spec: {ranges: [{from: 1, to: 1}, {from: 1}], unbundled: {link: {server: {port: a/b/c}}}}"), uint8(2))
	f.Add([]byte("spec: [1, 2]\nmetadata: x"), uint8(4))
	v := Default()
	f.Fuzz(func(t *testing.T, src []byte, kind uint8) {
		docs := fuzzDocs(src, "fuzz.yaml", 49, func(int) bool { return true })
		var rs []*Resource
		for i, d := range docs {
			if k := (int(kind) + i) % (len(wiringFuzzKinds) + 1); k < len(wiringFuzzKinds) {
				d.Group, d.Version, d.Kind = wiringGroup, wiringVersion, wiringFuzzKinds[k]
			}
			ps, r := v.Check(d)
			for _, p := range ps {
				if p.Rule == RuleInternal {
					t.Fatalf("%s: %s", d.Kind, p)
				}
			}
			rs = append(rs, r)
		}
		for _, p := range v.CheckFabric(rs) {
			if p.Rule == RuleInternal {
				t.Fatalf("fabric: %s", p)
			}
		}
	})
}

// BenchmarkWiringChecks runs Check on every document of the real files and
// CheckFabric on each file's resources.
func BenchmarkWiringChecks(b *testing.B) {
	files := wiringRealFiles(b)
	var fabrics [][]*Doc
	n := 0
	for name, src := range files {
		docs := parseDocs(b, name, src, true)
		fabrics = append(fabrics, docs)
		n += len(docs)
	}
	v := Default()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for _, docs := range fabrics {
			rs := make([]*Resource, 0, len(docs))
			for _, d := range docs {
				_, r := v.Check(d)
				rs = append(rs, r)
			}
			v.CheckFabric(rs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/doc")
}
