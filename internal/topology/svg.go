package topology

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Options are the settings of a drawing. The zero value is a drawing 1800
// pixels wide at most, without problem markers.
type Options struct {
	// MaxWidth bounds the drawing's width in pixels: rows of nodes wrap to
	// stay within it. Zero means 1800; less than 320 is taken as 320.
	MaxWidth int
	// Problems counts the problems found per node name; a node with a
	// count above zero gets a red marker with the count. A connection's
	// name marks the lines of its links.
	Problems map[string]int
}

// Caps on the lists in hover titles, which keep the drawing of a large
// fabric a reasonable size.
const (
	maxTitleConns = 40 // connections listed in a node's title
	maxTitlePorts = 8  // ports listed per connection
	maxTitleLinks = 12 // links listed in a line's title
)

// style is the drawing's stylesheet: a class per role and per connection
// type.
const style = `.summary{font-size:13px;fill:#333}
.node rect{fill:#fff;stroke:#444;stroke-width:1}
.node text{text-anchor:middle;fill:#111}
.node.spine rect{fill:#cfe2ff}
.node.server-leaf rect{fill:#d1e7dd}
.node.border-leaf rect{fill:#fff3cd}
.node.mixed-leaf rect{fill:#e2d9f3}
.node.virtual-edge rect{fill:#f8d7da}
.node.server rect{fill:#f1f3f5}
.node.gateway rect{fill:#ffe5d0}
.node.undefined rect{fill:#fff;stroke-dasharray:4 3}
.node.problem rect{stroke:#d00;stroke-width:2}
.marker circle{fill:#d00}
.marker text{fill:#fff;font-size:10px;font-weight:bold}
.group rect{fill:#f6f8fa;stroke:#6c757d;stroke-dasharray:5 3}
.group text{font-size:10px;fill:#555}
.group.mclag rect{stroke:#6610f2}
.group.eslag rect{stroke:#198754}
.link{fill:none;stroke:#999;stroke-width:1}
.link.multi{stroke-width:2.5}
.link.fabric{stroke:#0d6efd}
.link.mesh{stroke:#0dcaf0}
.link.mclagDomain{stroke:#6610f2;stroke-width:3}
.link.mclag{stroke:#8c68cd}
.link.eslag{stroke:#198754}
.link.bundled{stroke:#555}
.link.gateway{stroke:#fd7e14}
.link.far{stroke-opacity:.3}
.link.problem{stroke:#d00;stroke-opacity:1}
.count{font-size:10px;text-anchor:middle;fill:#222;stroke:#fff;stroke-width:3px;paint-order:stroke}
`

// SVG draws g: a standalone SVG document (UTF-8). Spines are on top, leaves
// below them with the switches of a redundancy group side by side in a
// dashed box, and the servers and gateways below their leaves; rows wrap
// at opts.MaxWidth. Each node is a <g id="node-NAME" class="node KIND ROLE">
// (NAME with every character but A-Z, a-z, 0-9, '.', '_' and '-' replaced
// by '_', and "-2", "-3" added where that makes two the same), with a
// <title> shown on hover that lists its connections. The links between two
// nodes of one connection type are one line; several links make it thicker
// and labelled with their count; a line that crosses a band of other nodes
// is drawn faint. One-ended (external) and loopback links have no line and
// are listed in their node's title. The output depends only on g and opts.
func (g *Graph) SVG(opts Options) []byte {
	maxWidth := opts.MaxWidth
	if maxWidth == 0 {
		maxWidth = defaultWidth
	}
	lo := g.layout(maxWidth)
	w := &svgWriter{ids: map[string]bool{}}
	w.buf.Grow(256*len(g.Nodes) + 128*len(g.Links) + 4096)
	fmt.Fprintf(&w.buf, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace" font-size="12">
<title>fabric topology</title>
<style>
%s</style>
`, lo.width, lo.height, lo.width, lo.height, style)
	w.summary(g)

	w.buf.WriteString("<g class=\"groups\">\n")
	for _, gb := range lo.groups {
		w.group(gb)
	}
	w.buf.WriteString("</g>\n<g class=\"links\">\n")
	for _, e := range edges(g) {
		w.edge(e, lo, opts.Problems)
	}
	w.buf.WriteString("</g>\n<g class=\"nodes\">\n")
	conns := nodeConns(g)
	for i := range g.Nodes {
		n := &g.Nodes[i]
		w.node(n, lo.boxes[n.Name], conns[n.Name], opts.Problems[n.Name])
	}
	w.buf.WriteString("</g>\n</svg>\n")
	return w.buf.Bytes()
}

// svgWriter accumulates the document and hands out unique ids.
type svgWriter struct {
	buf bytes.Buffer
	ids map[string]bool
}

// text writes s escaped for XML text or a quoted attribute value;
// characters XML cannot hold become U+FFFD.
func (w *svgWriter) text(s string) {
	_ = xml.EscapeText(&w.buf, []byte(s)) // a bytes.Buffer does not fail
}

// id returns prefix+name made a unique XML id (see SVG).
func (w *svgWriter) id(prefix, name string) string {
	base := prefix + token(name)
	id := base
	for i := 2; w.ids[id]; i++ {
		id = base + "-" + strconv.Itoa(i)
	}
	w.ids[id] = true
	return id
}

// token is s with every character but A-Z, a-z, 0-9, '.', '_' and '-'
// replaced by '_': safe as an id or a class name.
func token(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	return string(b)
}

// summary writes the line of counts above the drawing.
func (w *svgWriter) summary(g *Graph) {
	var spines, leaves, servers, gateways int
	for _, n := range g.Nodes {
		switch {
		case n.Kind == KindSwitch && n.Role == "spine":
			spines++
		case n.Kind == KindSwitch:
			leaves++
		case n.Kind == KindGateway:
			gateways++
		default:
			servers++
		}
	}
	parts := []string{countOf(spines, "spine"), countOf(leaves, "leaf"), countOf(servers, "server")}
	if gateways > 0 {
		parts = append(parts, countOf(gateways, "gateway"))
	}
	parts = append(parts, countOf(len(g.Links), "link"))
	if len(g.Skipped) > 0 {
		parts = append(parts, countOf(len(g.Skipped), "document")+" skipped")
	}
	fmt.Fprintf(&w.buf, "<text class=\"summary\" x=\"%d\" y=\"%d\">%s</text>\n", margin, margin+10, strings.Join(parts, " · "))
}

// countOf is "1 leaf", "2 leaves".
func countOf(n int, one string) string {
	many := one + "s"
	if one == "leaf" {
		many = "leaves"
	}
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// group writes the box of a redundancy group.
func (w *svgWriter) group(gb groupBox) {
	fmt.Fprintf(&w.buf, "<g id=\"%s\" class=\"group %s\"><title>", w.id("group-", gb.name), token(gb.typ))
	if gb.typ != "" {
		w.text(gb.typ + " ")
	}
	w.text("group " + gb.name + ": " + strings.Join(gb.members, ", "))
	fmt.Fprintf(&w.buf, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\"/><text x=\"%d\" y=\"%d\">",
		gb.x, gb.y, gb.w, gb.h, gb.x+groupPad, gb.y+13)
	w.text(label(gb.name, max(4, (gb.w-2*groupPad)/6))) // 10px monospace: 6px a character
	w.buf.WriteString("</text></g>\n")
}

// label is s cut to n characters, with an ellipsis where it was cut.
func label(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// node writes one node with its title, box, name and problem marker.
func (w *svgWriter) node(n *Node, b box, conns []*nodeConn, problems int) {
	class := "node " + strings.ToLower(n.Kind)
	if n.Role != "" {
		class += " " + token(n.Role)
	}
	if !n.Defined {
		class += " undefined"
	}
	if problems > 0 {
		class += " problem"
	}
	fmt.Fprintf(&w.buf, "<g id=\"%s\" class=\"%s\"><title>", w.id("node-", n.Name), class)
	w.text(nodeTitle(n, conns, problems))
	fmt.Fprintf(&w.buf, "</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"4\"/><text x=\"%d\" y=\"%d\">",
		b.x, b.y, b.w, b.h, b.cx(), b.cy()+4)
	w.text(label(n.Name, maxLabel))
	w.buf.WriteString("</text>")
	if problems > 0 {
		count := strconv.Itoa(problems)
		if problems > 99 {
			count = "99+"
		}
		fmt.Fprintf(&w.buf, "<g class=\"marker\"><circle cx=\"%d\" cy=\"%d\" r=\"9\"/><text x=\"%d\" y=\"%d\">%s</text></g>",
			b.x+b.w-2, b.y+2, b.x+b.w-2, b.y+6, count)
	}
	w.buf.WriteString("</g>\n")
}

// nodeTitle is the hover text of n.
func nodeTitle(n *Node, conns []*nodeConn, problems int) string {
	var sb strings.Builder
	sb.WriteString(n.Name + "\n" + strings.ToLower(n.Kind))
	if n.Role != "" {
		sb.WriteString(", " + n.Role)
	}
	if n.Group != "" {
		sb.WriteString(", " + strings.TrimSpace(n.Redundancy+" group ") + " " + n.Group)
	}
	if !n.Defined {
		sb.WriteString(" (no document defines it)")
	}
	if problems > 0 {
		sb.WriteString("\n" + countOf(problems, "problem"))
	}
	if len(conns) == 0 {
		sb.WriteString("\nno connections")
		return sb.String()
	}
	sb.WriteString("\n" + countOf(len(conns), "connection") + ":")
	for i, c := range conns {
		if i == maxTitleConns {
			fmt.Fprintf(&sb, "\n… and %d more", len(conns)-i)
			break
		}
		ports := c.ports
		more := ""
		if len(ports) > maxTitlePorts {
			ports, more = ports[:maxTitlePorts], fmt.Sprintf(", … (%d more)", len(c.ports)-maxTitlePorts)
		}
		fmt.Fprintf(&sb, "\n%s (%s): %s%s", c.conn, c.typ, strings.Join(ports, ", "), more)
	}
	return sb.String()
}

// nodeConn is one connection of a node, with its ends on the node.
type nodeConn struct {
	conn, typ string
	ports     []string // "E1/1 → server-01/enp2s1"
}

// nodeConns lists the connections of every node, in connection order.
func nodeConns(g *Graph) map[string][]*nodeConn {
	m := map[string][]*nodeConn{}
	add := func(dev, conn, typ, port string) {
		cs := m[dev]
		if len(cs) == 0 || cs[len(cs)-1].conn != conn || cs[len(cs)-1].typ != typ {
			cs = append(cs, &nodeConn{conn: conn, typ: typ})
			m[dev] = cs
		}
		c := cs[len(cs)-1]
		c.ports = append(c.ports, port)
	}
	for _, l := range g.Links {
		switch {
		case l.B.Device == "":
			add(l.A.Device, l.Connection, l.Type, l.A.Port)
		case l.A.Device == l.B.Device:
			add(l.A.Device, l.Connection, l.Type, l.A.Port+" ↔ "+l.B.Port)
		default:
			add(l.A.Device, l.Connection, l.Type, l.A.Port+" → "+l.B.Device+"/"+l.B.Port)
			add(l.B.Device, l.Connection, l.Type, l.B.Port+" → "+l.A.Device+"/"+l.A.Port)
		}
	}
	return m
}

// edge is the links of one type between two nodes, drawn as one line.
type edge struct {
	a, b, typ string // a < b
	links     []Link
}

// edges gathers g's links between two distinct nodes into edges, sorted.
func edges(g *Graph) []*edge {
	type key struct{ a, b, typ string }
	m := map[key]*edge{}
	var out []*edge
	for _, l := range g.Links {
		a, b := l.A.Device, l.B.Device
		if b == "" || a == b {
			continue // one-ended and loopback links are listed in their node's title
		}
		if b < a {
			a, b = b, a
		}
		k := key{a, b, l.Type}
		e := m[k]
		if e == nil {
			e = &edge{a: a, b: b, typ: l.Type}
			m[k] = e
			out = append(out, e)
		}
		e.links = append(e.links, l)
	}
	slices.SortFunc(out, func(p, q *edge) int {
		if c := strings.Compare(p.a, q.a); c != 0 {
			return c
		}
		if c := strings.Compare(p.b, q.b); c != 0 {
			return c
		}
		return strings.Compare(p.typ, q.typ)
	})
	return out
}

// edge writes the line of e with its title and, for several links, their
// count.
func (w *svgWriter) edge(e *edge, lo *layout, problems map[string]int) {
	pa, pb := lo.boxes[e.a], lo.boxes[e.b]
	class := "link " + token(e.typ)
	if len(e.links) > 1 {
		class += " multi"
	}
	if d := lo.band[e.a] - lo.band[e.b]; d > 1 || d < -1 {
		class += " far" // it crosses a band of other nodes: drawn faint
	}
	for _, l := range e.links {
		if problems[l.Connection] > 0 {
			class += " problem"
			break
		}
	}
	w.buf.WriteString("<g class=\"edge\"><title>")
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s – %s: %s (%s)", e.a, e.b, countOf(len(e.links), "link"), e.typ)
	for i, l := range e.links {
		if i == maxTitleLinks {
			fmt.Fprintf(&sb, "\n… and %d more", len(e.links)-i)
			break
		}
		fmt.Fprintf(&sb, "\n%s: %s/%s – %s/%s", l.Connection, l.A.Device, l.A.Port, l.B.Device, l.B.Port)
	}
	w.text(sb.String())
	w.buf.WriteString("</title>")

	// Endpoints: between facing edges of boxes in different rows; in one
	// row, straight between neighbours, else an arc above the row.
	var mx, my int
	if pa.y == pb.y {
		left, right := pa, pb
		if right.x < left.x {
			left, right = right, left
		}
		if right.x-(left.x+left.w) < minNodeW {
			fmt.Fprintf(&w.buf, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", class, left.x+left.w, left.cy(), right.x, right.cy())
			mx, my = (left.x+left.w+right.x)/2, left.cy()-6
		} else {
			lift := min(70, (right.cx()-left.cx())/4) + 12
			fmt.Fprintf(&w.buf, "<path class=\"%s\" d=\"M%d %dQ%d %d %d %d\"/>", class, left.cx(), left.y, (left.cx()+right.cx())/2, left.y-2*lift, right.cx(), right.y)
			mx, my = (left.cx()+right.cx())/2, left.y-lift
		}
	} else {
		top, low := pa, pb
		if low.y < top.y {
			top, low = low, top
		}
		fmt.Fprintf(&w.buf, "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", class, top.cx(), top.bottom(), low.cx(), low.y)
		// The count sits three quarters down, where the lines that meet
		// at the upper node have spread apart.
		mx, my = (top.cx()+3*low.cx())/4, (top.bottom()+3*low.y)/4
	}
	if len(e.links) > 1 {
		fmt.Fprintf(&w.buf, "<text class=\"count\" x=\"%d\" y=\"%d\">×%d</text>", mx, my+4, len(e.links))
	}
	w.buf.WriteString("</g>\n")
}
