package topology

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrNoDevices is wrapped by Build when the documents define or name no
// switch, server or gateway, so there is nothing to draw.
var ErrNoDevices = errors.New("no switches, servers or gateways")

// The kinds of Node.
const (
	KindSwitch  = "Switch"
	KindServer  = "Server"
	KindGateway = "Gateway"
)

// Resource is one parsed document of a fabric.
type Resource struct {
	Kind string     // the document's kind ("Switch"); read from Root when empty
	Name string     // its metadata.name; read from Root when empty
	Root *yaml.Node // the document's mapping node (a document node holding one is accepted too)
}

// Node is a device of the fabric.
type Node struct {
	Name string
	Kind string // KindSwitch, KindServer or KindGateway
	// Role is a switch's spec.role ("spine", "server-leaf", "border-leaf",
	// "mixed-leaf", "virtual-edge"), or a server's spec.type ("control")
	// when set.
	Role       string
	Group      string // a switch's spec.redundancy.group
	Redundancy string // a switch's spec.redundancy.type: "mclag" or "eslag"
	// Defined is false for a device that no document defines but a
	// connection's ports name.
	Defined bool
}

// End is one end of a link: a port on a device.
type End struct {
	Device string // "leaf-01"
	Port   string // the port on it: "E1/1"
}

// Link is one link of a connection.
type Link struct {
	Connection string // the connection's name
	Type       string // its type, the key under spec: "bundled", "fabric", "mclagDomain", ...
	A, B       End    // in the order the link names them; B is zero for a one-ended link (external, staticExternal)
}

// Skip is a document Build left out of the graph, and why. Documents of
// kinds the drawing does not show (VPCs, SwitchGroups) are not listed.
type Skip struct {
	Index  int // position in the slice Build was given, from 0
	Kind   string
	Name   string
	Reason string
}

// Graph is a fabric's devices and the links between them. Build returns it
// fully formed; it is not modified afterwards, so it is safe for
// concurrent use by any number of SVG calls.
type Graph struct {
	Nodes   []Node // sorted by name
	Links   []Link // sorted by connection name, then as the connection lists them
	Skipped []Skip // in document order
}

// Build extracts the devices and links of rs: switches (with role and
// redundancy group), servers and gateways from their documents, and one
// Link per link of every Connection. A device a connection names but no
// document defines becomes a Node with Defined false. Broken documents (no
// name, a spec that is not a mapping, a connection without a single
// "<device>/<port>" port) and a second document of the same kind and name
// are skipped and listed in Graph.Skipped. Build wraps ErrNoDevices when
// there is no device at all.
func Build(rs []Resource) (*Graph, error) {
	g := &Graph{}
	nodes := map[string]*Node{}
	conns := map[string]bool{}
	hints := map[string]string{} // device named by a port -> kind its side suggests
	var hintOrder []string
	for i, r := range rs {
		root := r.Root
		if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		kind, name := r.Kind, r.Name
		if kind == "" {
			kind = scalar(get(root, "kind"))
		}
		if name == "" {
			name = scalar(get(get(root, "metadata"), "name"))
		}
		if !drawn(kind, root) {
			continue
		}
		skip := func(reason string) {
			g.Skipped = append(g.Skipped, Skip{Index: i, Kind: kind, Name: name, Reason: reason})
		}
		if root == nil || root.Kind != yaml.MappingNode {
			skip("the document is not a mapping")
			continue
		}
		if name == "" {
			skip("metadata.name is missing")
			continue
		}
		spec := get(root, "spec")
		if spec != nil && spec.Kind != yaml.MappingNode && !isNull(spec) {
			skip("spec is not a mapping")
			continue
		}
		if kind == "Connection" {
			if conns[name] {
				skip("a connection of the same name comes first")
				continue
			}
			links := connectionLinks(name, spec, func(dev, kind string) {
				if _, ok := hints[dev]; !ok {
					hints[dev] = kind
					hintOrder = append(hintOrder, dev)
				}
			})
			if len(links) == 0 {
				skip(`no link has a "<device>/<port>" port`)
				continue
			}
			conns[name] = true
			g.Links = append(g.Links, links...)
			continue
		}
		if n, ok := nodes[name]; ok {
			skip(fmt.Sprintf("a %s of the same name comes first", strings.ToLower(n.Kind)))
			continue
		}
		n := &Node{Name: name, Kind: kind, Defined: true}
		switch kind {
		case KindSwitch:
			n.Role = scalar(get(spec, "role"))
			red := get(spec, "redundancy")
			n.Group, n.Redundancy = scalar(get(red, "group")), scalar(get(red, "type"))
		case KindServer:
			n.Role = scalar(get(spec, "type"))
		}
		nodes[name] = n
	}
	for _, dev := range hintOrder {
		if _, ok := nodes[dev]; !ok {
			nodes[dev] = &Node{Name: dev, Kind: hints[dev]}
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("topology of %d documents: %w", len(rs), ErrNoDevices)
	}
	g.Nodes = make([]Node, 0, len(nodes))
	for _, n := range nodes {
		g.Nodes = append(g.Nodes, *n)
	}
	slices.SortFunc(g.Nodes, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	slices.SortStableFunc(g.Links, func(a, b Link) int { return strings.Compare(a.Connection, b.Connection) })
	return g, nil
}

// drawn reports whether a document of kind (and root's apiVersion) is one
// the drawing shows. A document with no apiVersion is taken at its kind.
func drawn(kind string, root *yaml.Node) bool {
	group := "wiring.githedgehog.com"
	switch kind {
	case KindSwitch, KindServer, "Connection":
	case KindGateway:
		group = "gateway.githedgehog.com"
	default:
		return false
	}
	av := scalar(get(root, "apiVersion"))
	return av == "" || strings.HasPrefix(av, group+"/")
}

// connectionLinks returns the links of the connection name with spec. Every
// mapping under spec is taken as a connection type (Hedgehog's spec holds
// exactly one; older versions have types such as management), its links are
// its "link" and the items of its lists (links, peerLinks, sessionLinks).
// named is called with every device a port names and the kind its side's
// key suggests.
func connectionLinks(name string, spec *yaml.Node, named func(dev, kind string)) []Link {
	var out []Link
	pairs(spec, func(typ string, v *yaml.Node) {
		if v.Kind != yaml.MappingNode {
			return
		}
		var links []*yaml.Node
		pairs(v, func(k string, lv *yaml.Node) {
			switch {
			case k == "link" && lv.Kind == yaml.MappingNode:
				links = append(links, lv)
			case lv.Kind == yaml.SequenceNode:
				for _, item := range lv.Content {
					if item.Kind == yaml.MappingNode {
						links = append(links, item)
					}
				}
			}
		})
		for _, l := range links {
			var ends []End
			pairs(l, func(side string, sv *yaml.Node) {
				dev, port, ok := strings.Cut(scalar(get(sv, "port")), "/")
				if !ok || dev == "" || port == "" {
					return
				}
				kind := KindSwitch
				switch side {
				case "server":
					kind = KindServer
				case "gateway":
					kind = KindGateway
				}
				named(dev, kind)
				ends = append(ends, End{Device: dev, Port: port})
			})
			switch len(ends) {
			case 0:
			case 1:
				out = append(out, Link{Connection: name, Type: typ, A: ends[0]})
			default:
				for _, e := range ends[1:] {
					out = append(out, Link{Connection: name, Type: typ, A: ends[0], B: e})
				}
			}
		}
	})
	return out
}

// get returns the value of key in the mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// pairs calls f with every key and value of the mapping n, in order.
func pairs(n *yaml.Node, f func(k string, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i+1] != nil {
			f(n.Content[i].Value, n.Content[i+1])
		}
	}
}

// scalar is n's value when n is a non-null scalar, else "".
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || isNull(n) {
		return ""
	}
	return n.Value
}

// isNull reports whether n is missing or a YAML null.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}
