package benchdata

import (
	"fmt"
	"strings"
)

// Fabric returns the wiring of a spine-leaf fabric as one YAML stream: spines switches
// (spine-01, …), pairs redundancy pairs of server leaves (leaf-01, …; ESLAG and MCLAG in turn,
// each leaf with a fabric Connection to every spine, each MCLAG pair with its domain
// Connection) and servers servers (server-001, …), each wired to one pair: unbundled, bundled or
// dual-homed (ESLAG/MCLAG) in turn. Fabric(2, 16, 500) is the large fabric the topology picture
// is measured with.
func Fabric(spines, pairs, servers int) []byte {
	var b strings.Builder
	doc := func(format string, args ...any) {
		b.WriteString("---\n")
		fmt.Fprintf(&b, format, args...)
	}
	leaf := func(i int) string { return fmt.Sprintf("leaf-%02d", i+1) }
	for s := range spines {
		doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: spine-%02d\nspec:\n  role: spine\n  profile: vs\n", s+1)
	}
	for p := range pairs {
		typ := "eslag"
		if p%2 == 1 {
			typ = "mclag"
		}
		for _, l := range []int{2 * p, 2*p + 1} {
			doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: %s\nspec:\n  role: server-leaf\n  profile: vs\n  redundancy:\n    group: %s-%02d\n    type: %s\n", leaf(l), typ, p+1, typ)
			for s := range spines {
				doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: spine-%02[1]d--fabric--%[2]s\nspec:\n  fabric:\n    links:\n    - spine:\n        port: spine-%02[1]d/E1/%[3]d\n      leaf:\n        port: %[2]s/E1/%[5]d\n    - spine:\n        port: spine-%02[1]d/E1/%[4]d\n      leaf:\n        port: %[2]s/E1/%[6]d\n", s+1, leaf(l), 2*l+1, 2*l+2, 49+2*s, 50+2*s)
			}
		}
		if typ == "mclag" {
			doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: %[1]s--mclag-domain--%[2]s\nspec:\n  mclagDomain:\n    peerLinks:\n    - switch1:\n        port: %[1]s/E1/63\n      switch2:\n        port: %[2]s/E1/63\n    sessionLinks:\n    - switch1:\n        port: %[1]s/E1/64\n      switch2:\n        port: %[2]s/E1/64\n", leaf(2*p), leaf(2*p+1))
		}
	}
	for i := range servers {
		srv := fmt.Sprintf("server-%03d", i+1)
		doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: %s\n", srv)
		p := i % max(pairs, 1)
		a, c := leaf(2*p), leaf(2*p+1)
		port := i/max(pairs, 1) + 1
		switch {
		case i%5 == 0:
			doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: %[1]s--unbundled--%[2]s\nspec:\n  unbundled:\n    link:\n      server:\n        port: %[1]s/enp2s1\n      switch:\n        port: %[2]s/E1/%[3]d\n", srv, a, port)
		case i%7 == 0:
			doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: %[1]s--bundled--%[2]s\nspec:\n  bundled:\n    links:\n    - server:\n        port: %[1]s/enp2s1\n      switch:\n        port: %[2]s/E1/%[3]d\n    - server:\n        port: %[1]s/enp2s2\n      switch:\n        port: %[2]s/E1/%[3]d/2\n", srv, c, port)
		default:
			typ := "eslag"
			if p%2 == 1 {
				typ = "mclag"
			}
			doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: %[1]s--%[4]s--%[2]s--%[3]s\nspec:\n  %[4]s:\n    links:\n    - server:\n        port: %[1]s/enp2s1\n      switch:\n        port: %[2]s/E1/%[5]d\n    - server:\n        port: %[1]s/enp2s2\n      switch:\n        port: %[3]s/E1/%[5]d\n", srv, a, c, typ, port)
		}
	}
	return []byte(b.String())
}
