package validate

// Hedgehog's rules for Connection (wiring.githedgehog.com/v1beta1): what
// ConnectionSpec.Endpoints and Connection.Validate check, restated.

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// connectionRules are the rules of the Connection kind.
var connectionRules = []Rule{
	{ID: "connection-type", Doc: "a connection's spec sets exactly one connection type (unbundled, bundled, eslag, fabric, mesh, gateway, vpcLoopback, external, staticExternal, or the deprecated mclag, mclagDomain)", Severity: Error},
	{ID: "connection-mclag-deprecated", Doc: "a connection is of type mclag or mclagDomain, which Hedgehog deprecated and no longer supports", Severity: Warning},
	{ID: "connection-links", Doc: "a connection has the links its type needs (at least 1; eslag and mclag at least 2; mclagDomain at least one peer and one session link)", Severity: Error},
	{ID: "connection-port-name", Doc: "every port a connection names is \"<device>/<port>\", such as leaf-01/E1/1", Severity: Error},
	{ID: "connection-devices", Doc: "a connection's links reach as many switches and servers as its type allows (bundled: one server, one switch; eslag: one server, 1-4 switches; fabric and mesh: 2 switches; ...)", Severity: Error},
	{ID: "connection-unknown-switch", Doc: "every switch a connection's ports name exists", Severity: Error},
	{ID: "connection-unknown-server", Doc: "every server a connection's ports name exists", Severity: Error},
	{ID: "connection-port-reused", Doc: "no port is used twice, by two connections or two links of one (leaf-01/E1/4 counts as leaf-01/E1/4/1)", Severity: Error},
	{ID: "connection-link-ip", Doc: "a fabric, mesh or gateway link's ips, when set, are IPv4 /31s, both ends in the same /31", Severity: Error},
	{ID: "connection-duplicate-link-ip", Doc: "no address is used by two ends of fabric, mesh or gateway links", Severity: Error},
	{ID: "connection-static-external", Doc: "a static external connection's switch has an ip (IPv4 CIDR), a nextHop inside it, subnets that are distinct, non-overlapping network prefixes (0.0.0.0/0 alone) and a vlan from 1 to 4094 when set", Severity: Error},
	{ID: "connection-unknown-vpc", Doc: "the VPC a static external connection is within (spec.staticExternal.withinVPC) exists", Severity: Error},
}

// connectionTypes are the keys of ConnectionSpec, in Hedgehog's order.
var connectionTypes = []string{"unbundled", "bundled", "mclag", "eslag", "mclagDomain", "fabric", "mesh", "gateway", "vpcLoopback", "external", "staticExternal"}

// connSide is one end of a link: its key ("switch") and the kind of the
// device its port is on ("Switch", "Server"; "Gateway" is not a fabric kind
// here and is neither referenced nor counted).
type connSide struct{ key, kind string }

// connShape is what a connection type's links look like and reach.
type connShape struct {
	single      bool     // one "link" rather than lists of links
	lists       []string // the lists of links ("links"; mclagDomain: "peerLinks", "sessionLinks")
	minLinks    int      // in each list
	sides       []connSide
	ips         bool // each side may carry an ip (a /31)
	switchesMin int  // how many switches the links must reach ...
	switchesMax int  // ... and may
	servers     bool // the links reach exactly one server
	deprecated  bool // mclag, mclagDomain
}

// The server and switch ends of a server-facing link.
var (
	sideServer = connSide{"server", "Server"}
	sideSwitch = connSide{"switch", "Switch"}
)

// connShapes are Hedgehog's connection types. MCLAG ones keep the rules
// Hedgehog had for them before deprecating them (it now skips them).
var connShapes = map[string]connShape{
	"unbundled":      {single: true, sides: []connSide{sideServer, sideSwitch}, switchesMin: 1, switchesMax: 1, servers: true},
	"bundled":        {lists: []string{"links"}, minLinks: 1, sides: []connSide{sideServer, sideSwitch}, switchesMin: 1, switchesMax: 1, servers: true},
	"mclag":          {lists: []string{"links"}, minLinks: 2, sides: []connSide{sideServer, sideSwitch}, switchesMin: 1, switchesMax: 2, servers: true, deprecated: true},
	"eslag":          {lists: []string{"links"}, minLinks: 2, sides: []connSide{sideServer, sideSwitch}, switchesMin: 1, switchesMax: 4, servers: true},
	"mclagDomain":    {lists: []string{"peerLinks", "sessionLinks"}, minLinks: 1, sides: []connSide{{"switch1", "Switch"}, {"switch2", "Switch"}}, switchesMin: 2, switchesMax: 2, deprecated: true},
	"fabric":         {lists: []string{"links"}, minLinks: 1, sides: []connSide{{"spine", "Switch"}, {"leaf", "Switch"}}, ips: true, switchesMin: 2, switchesMax: 2},
	"mesh":           {lists: []string{"links"}, minLinks: 1, sides: []connSide{{"leaf1", "Switch"}, {"leaf2", "Switch"}}, ips: true, switchesMin: 2, switchesMax: 2},
	"gateway":        {lists: []string{"links"}, minLinks: 1, sides: []connSide{sideSwitch, {"gateway", "Gateway"}}, ips: true, switchesMin: 1, switchesMax: 1},
	"vpcLoopback":    {lists: []string{"links"}, minLinks: 1, sides: []connSide{{"switch1", "Switch"}, {"switch2", "Switch"}}, switchesMin: 1, switchesMax: 1},
	"external":       {single: true, sides: []connSide{sideSwitch}, switchesMin: 1, switchesMax: 1},
	"staticExternal": {single: true, sides: []connSide{sideSwitch}, switchesMin: 1, switchesMax: 1},
}

// connDevice is a device a connection's links reach, where first named.
type connDevice struct {
	name string
	at   *yaml.Node
	path string
}

// connCtx is the state of checking one connection.
type connCtx struct {
	c        *docCtx
	who      string
	typ      string
	shape    connShape
	switches []connDevice
	servers  []connDevice
	badPorts bool // a port name is not "<device>/<port>": device counts are not checked
}

// checkConnection checks a Connection: one type, the links it needs,
// port names, the devices reached, link addresses; it references the
// switches and servers and claims every port.
func checkConnection(c *docCtx) {
	if !wiringDoc(c, "connection") {
		return
	}
	root := c.d.Root
	spec := Get(root, "spec")
	who := wiringSubject(c)

	// Exactly one type.
	var typ string
	var typN, typK *yaml.Node
	pairs(spec, func(k, v *yaml.Node) {
		if !slices.Contains(connectionTypes, k.Value) || isNull(v) {
			return
		}
		if typ != "" {
			c.report("connection-type", k, "%s: spec.%s and spec.%s are both set: a connection has exactly one type", who, typ, k.Value)
			return
		}
		typ, typN, typK = k.Value, v, k
	})
	if typ == "" {
		var other []string
		pairs(spec, func(k, _ *yaml.Node) {
			if !slices.Contains(connectionTypes, k.Value) {
				other = append(other, k.Value)
			}
		})
		found := ""
		if len(other) > 0 {
			found = fmt.Sprintf(" (spec has %s, which is not a connection type)", strings.Join(other, ", "))
		}
		c.report("connection-type", firstNode(keyNode(root, "spec")), "%s: no connection type is set%s: set exactly one of spec.%s", who, found, strings.Join(connectionTypes, ", spec."))
		return
	}
	cc := &connCtx{c: c, who: who, typ: typ, shape: connShapes[typ]}
	if cc.shape.deprecated {
		c.report("connection-mclag-deprecated", typK, "%s: spec.%s: MCLAG is deprecated and no longer supported by Hedgehog: use eslag", who, typ)
	}

	base := "spec." + typ
	if cc.shape.single {
		cc.link(Get(typN, "link"), base+".link", firstNode(keyNode(typN, "link"), typK))
	} else {
		for _, list := range cc.shape.lists {
			listN := Get(typN, list)
			links := items(listN)
			if len(links) < cc.shape.minLinks {
				what := "link"
				if cc.shape.minLinks > 1 {
					what = "links"
				}
				c.report("connection-links", firstNode(keyNode(typN, list), typK), "%s: %s.%s has %d, a %s connection needs at least %d %s",
					who, base, list, len(links), typ, cc.shape.minLinks, what)
			}
			for i, l := range links {
				cc.link(l, fmt.Sprintf("%s.%s[%d]", base, list, i), l)
			}
		}
	}
	cc.countDevices(typK)
	if typ == "staticExternal" {
		cc.staticExternal(typN, typK)
	}
}

// link checks one link at path; at locates a problem with a missing side.
func (cc *connCtx) link(l *yaml.Node, path string, at *yaml.Node) {
	c := cc.c
	var ips [2]netip.Prefix
	var ipNodes [2]*yaml.Node
	for si, side := range cc.shape.sides {
		sideN := Get(l, side.key)
		portN := Get(sideN, "port")
		port, _ := str(portN)
		dev, local, ok := strings.Cut(port, "/")
		if !ok || dev == "" || local == "" {
			cc.badPorts = true
			if isNull(portN) {
				c.report("connection-port-name", firstNode(keyNode(l, side.key), at), "%s: %s.%s.port is missing: name the %s port as \"<device>/<port>\"", cc.who, path, side.key, strings.ToLower(side.kind))
			} else {
				c.report("connection-port-name", portN, "%s: %s.%s.port %s is not \"<device>/<port>\", such as %s", cc.who, path, side.key, wiringShow(portN), portExample(side.kind))
			}
		} else {
			key := port
			if strings.Count(port, "/") == 2 {
				key = port + "/1" // E1/4 is E1/4/1 when the port is broken out
			}
			c.claim("connection-port-reused", "port", key, "port "+port, portN)
			switch side.kind {
			case "Switch":
				cc.switches = addDevice(cc.switches, dev, portN, path+"."+side.key+".port")
				c.ref("connection-unknown-switch", "Switch", dev, "", portN)
			case "Server":
				cc.servers = addDevice(cc.servers, dev, portN, path+"."+side.key+".port")
				c.ref("connection-unknown-server", "Server", dev, "", portN)
			}
		}
		if cc.shape.ips && si < 2 {
			ips[si], ipNodes[si] = cc.linkIP(sideN, path+"."+side.key+".ip")
		}
	}
	if ips[0].IsValid() && ips[1].IsValid() && ips[0].Masked() != ips[1].Masked() {
		s := cc.shape.sides
		c.report("connection-link-ip", ipNodes[1], "%s: %s.%s.ip %s is not in the /31 of %s.%s.ip %s", cc.who, path, s[1].key, ips[1], path, s[0].key, ips[0])
	}
}

// portExample is a port name of a device of kind, for messages.
func portExample(kind string) string {
	switch kind {
	case "Server":
		return "server-01/enp2s1"
	case "Gateway":
		return "gateway-1/enp2s1"
	}
	return "leaf-01/E1/1"
}

// addDevice adds name to ds unless it is there.
func addDevice(ds []connDevice, name string, at *yaml.Node, path string) []connDevice {
	for _, d := range ds {
		if d.name == name {
			return ds
		}
	}
	return append(ds, connDevice{name, at, path})
}

// linkIP checks the optional ip of a fabric, mesh or gateway link end at
// path; it returns it when it is a valid /31.
func (cc *connCtx) linkIP(sideN *yaml.Node, path string) (netip.Prefix, *yaml.Node) {
	c := cc.c
	n := Get(sideN, "ip")
	s, _ := str(n)
	if isNull(n) || (s == "" && n.Kind == yaml.ScalarNode) {
		return netip.Prefix{}, n
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		c.report("connection-link-ip", n, "%s: %s %s is not an IPv4 address with its prefix length (a /31, such as 172.30.128.0/31)", cc.who, path, wiringShow(n))
		return netip.Prefix{}, n
	}
	c.claim("connection-duplicate-link-ip", "link-ip", p.Addr().String(), "link IP "+p.Addr().String(), n)
	if p.Bits() != 31 {
		c.report("connection-link-ip", n, "%s: %s %s is a /%d: the ends of a %s link are a /31", cc.who, path, p, p.Bits(), cc.typ)
		return netip.Prefix{}, n
	}
	return p, n
}

// countDevices checks the number of switches and servers the links reach.
func (cc *connCtx) countDevices(typK *yaml.Node) {
	if cc.badPorts {
		return
	}
	c, sh := cc.c, cc.shape
	exactly := "at most"
	if sh.switchesMin == sh.switchesMax {
		exactly = "exactly"
	}
	if len(cc.switches) > sh.switchesMax {
		d := cc.switches[sh.switchesMax]
		c.report("connection-devices", d.at, "%s: %s is on switch %s, but a %s connection reaches %s %s (%s)",
			cc.who, d.path, d.name, cc.typ, exactly, countOf(sh.switchesMax, "switch", "switches"), deviceNames(cc.switches[:sh.switchesMax]))
	}
	if n := len(cc.switches); n > 0 && n < sh.switchesMin {
		c.report("connection-devices", typK, "%s: a %s connection reaches %s, but its links reach only %s (%s)",
			cc.who, cc.typ, countOf(sh.switchesMin, "switch", "switches"), countOf(n, "switch", "switches"), deviceNames(cc.switches))
	}
	if sh.servers && len(cc.servers) > 1 {
		d := cc.servers[1]
		c.report("connection-devices", d.at, "%s: %s is on server %s, but a %s connection reaches exactly one server (%s)",
			cc.who, d.path, d.name, cc.typ, cc.servers[0].name)
	}
}

// countOf is "1 switch" or "2 switches".
func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// deviceNames lists the names of ds, comma-separated.
func deviceNames(ds []connDevice) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.name
	}
	return strings.Join(names, ", ")
}

// staticExternal checks what Validate checks of a static external
// connection, and references its VPC.
func (cc *connCtx) staticExternal(typN, typK *yaml.Node) {
	c := cc.c
	const rule = "connection-static-external"
	link := Get(typN, "link")
	sw := Get(link, "switch")
	swAt := firstNode(keyNode(link, "switch"), keyNode(typN, "link"), typK)
	base := "spec.staticExternal.link.switch"

	var ipNet *net.IPNet
	ipN := Get(sw, "ip")
	if ipS, _ := str(ipN); ipS == "" {
		c.report(rule, firstNode(ipN, swAt), "%s: %s.ip is missing: the switch port's address with its prefix length (such as 172.31.0.1/24)", cc.who, base)
	} else if ip, n, err := net.ParseCIDR(ipS); err != nil || ip.To4() == nil {
		c.report(rule, ipN, "%s: %s.ip %s is not an IPv4 address with its prefix length (such as 172.31.0.1/24)", cc.who, base, wiringShow(ipN))
	} else {
		ipNet = n
	}
	nhN := Get(sw, "nextHop")
	if nhS, _ := str(nhN); nhS == "" {
		c.report(rule, firstNode(nhN, swAt), "%s: %s.nextHop is missing: the address of the external device the static routes go through", cc.who, base)
	} else if nh := net.ParseIP(nhS); nh == nil || nh.To4() == nil {
		c.report(rule, nhN, "%s: %s.nextHop %s is not an IPv4 address", cc.who, base, wiringShow(nhN))
	} else if ipNet != nil && !ipNet.Contains(nh) {
		c.report(rule, nhN, "%s: %s.nextHop %s is not in %s.ip's network %s", cc.who, base, nhS, base, ipNet)
	}

	type subnetAt struct {
		p netip.Prefix
		i int
		n *yaml.Node
	}
	subs := items(Get(sw, "subnets"))
	var valid []subnetAt
	for i, n := range subs {
		s, _ := str(n)
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			c.report(rule, n, "%s: %s.subnets[%d] %s is not a network prefix (such as 10.10.0.0/16)", cc.who, base, i, wiringShow(n))
		case s == "0.0.0.0/0":
			if len(subs) > 1 {
				c.report(rule, n, "%s: %s.subnets[%d] is the default route 0.0.0.0/0, which must be the only subnet", cc.who, base, i)
			}
		case p.Addr() != p.Masked().Addr():
			c.report(rule, n, "%s: %s.subnets[%d] %s has host bits set: the network is %s", cc.who, base, i, s, p.Masked())
		default:
			valid = append(valid, subnetAt{p, i, n})
		}
	}
	slices.SortStableFunc(valid, func(a, b subnetAt) int {
		return cmp.Or(a.p.Addr().Compare(b.p.Addr()), cmp.Compare(a.p.Bits(), b.p.Bits()))
	})
	var open *subnetAt
	for k := range valid {
		cur := &valid[k]
		if open != nil && open.p.Contains(cur.p.Addr()) {
			at, other := cur, open
			if other.i > at.i {
				at, other = other, at
			}
			c.report(rule, at.n, "%s: %s.subnets[%d] %s overlaps %s.subnets[%d] %s", cc.who, base, at.i, at.p, base, other.i, other.p)
			continue
		}
		open = cur
	}

	if n := Get(sw, "vlan"); !isNull(n) {
		if v, ok := intOf(n); !ok || v < 0 || v > 4094 {
			c.report(rule, n, "%s: %s.vlan %s is not a VLAN ID (1 to 4094; 0 or none for untagged)", cc.who, base, wiringShow(n))
		}
	}

	if vpc, n := getStr(typN, "withinVPC"); vpc != "" {
		c.ref("connection-unknown-vpc", "VPC", vpc, "", n)
	}
}
