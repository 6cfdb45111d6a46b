package topology_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/topology"
)

// parse decodes the YAML stream src into resources, one per document,
// the way a caller of Build has them.
func parse(tb testing.TB, src []byte) []topology.Resource {
	tb.Helper()
	rs, err := decode(src, -1)
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return rs
}

// decode decodes at most limit documents of src (all when limit < 0).
func decode(src []byte, limit int) ([]topology.Resource, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var rs []topology.Resource
	for limit < 0 || len(rs) < limit {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return rs, err
		}
		root := &doc
		if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
			root = doc.Content[0]
		}
		rs = append(rs, topology.Resource{Root: root})
	}
	return rs, nil
}

// checkXML fails tb unless svg is well-formed XML; it returns the id of
// every element that has one.
func checkXML(tb testing.TB, svg []byte) map[string]bool {
	tb.Helper()
	ids := map[string]bool{}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return ids
		}
		if err != nil {
			tb.Fatalf("SVG is not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "id" {
					if ids[a.Value] {
						tb.Fatalf("SVG has id %q twice", a.Value)
					}
					ids[a.Value] = true
				}
			}
		}
	}
}

// fabric generates the wiring of a fabric: spines, pairs of leaves
// (alternately ESLAG and MCLAG, with their mclagDomain), each spine wired
// to each leaf with two links, and servers spread over the pairs (ESLAG or
// MCLAG to both leaves of their pair, every fifth unbundled and every
// seventh bundled to one leaf).
func fabric(spines, pairs, servers int) []byte {
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
				doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: spine-%02[1]d--fabric--%[2]s\nspec:\n  fabric:\n    links:\n    - spine:\n        port: spine-%02[1]d/E1/%[3]d\n      leaf:\n        port: %[2]s/E1/49\n    - spine:\n        port: spine-%02[1]d/E1/%[4]d\n      leaf:\n        port: %[2]s/E1/50\n", s+1, leaf(l), 2*l+1, 2*l+2)
			}
		}
		if typ == "mclag" {
			doc("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: %[1]s--mclag-domain--%[2]s\nspec:\n  mclagDomain:\n    peerLinks:\n    - switch1:\n        port: %[1]s/E1/51\n      switch2:\n        port: %[2]s/E1/51\n    sessionLinks:\n    - switch1:\n        port: %[1]s/E1/52\n      switch2:\n        port: %[2]s/E1/52\n", leaf(2*p), leaf(2*p+1))
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

// svgSize is the width and height of the SVG document svg.
func svgSize(tb testing.TB, svg []byte) (width, height int) {
	tb.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := dec.Token()
		if err != nil {
			tb.Fatalf("SVG has no svg element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "width":
					width, err = strconv.Atoi(a.Value)
				case "height":
					height, err = strconv.Atoi(a.Value)
				}
				if err != nil {
					tb.Fatalf("svg %s=%q: %v", a.Name.Local, a.Value, err)
				}
			}
			return width, height
		}
	}
}
