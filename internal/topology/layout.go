package topology

import (
	"slices"
	"unicode/utf8"
)

// Geometry of the drawing, in SVG user units (pixels).
const (
	margin       = 20
	headerH      = 24 // the summary line above the drawing
	nodeH        = 28
	nodeGap      = 14 // between the nodes of a row
	unitGap      = 30 // between the units (groups, single switches) of a row
	groupPad     = 6  // around the nodes of a redundancy group
	groupTop     = 18 // above them, room for the group's name
	rowGap       = 16 // between the wrapped rows of one layer
	layerGap     = 90 // between layers: room for the links
	charTenths   = 72 // tenths of a pixel per character of the 12px monospace font
	maxLabel     = 30 // characters of a name shown in its box; the title holds it whole
	minNodeW     = 56
	defaultWidth = 1800
	minWidth     = 320
)

// box is a rectangle: top-left corner, width and height.
type box struct{ x, y, w, h int }

func (b box) cx() int     { return b.x + b.w/2 }
func (b box) cy() int     { return b.y + b.h/2 }
func (b box) bottom() int { return b.y + b.h }

// groupBox is where a redundancy group (or a part of one too wide for a
// row) is drawn.
type groupBox struct {
	name, typ string
	members   []string
	box
}

// layout is where every node and group goes.
type layout struct {
	width, height int
	boxes         map[string]box
	band          map[string]int // -1 for spines, from 0 for the bands of leaves and their servers
	groups        []groupBox
}

// unit is what a row keeps together: the switches of a redundancy group,
// side by side, or a single node.
type unit struct {
	group, typ string
	nodes      []*Node
}

// width is u's width with nodes w wide.
func (u unit) width(w int) int {
	n := len(u.nodes)
	wd := n*w + (n-1)*nodeGap
	if u.group != "" {
		wd += 2 * groupPad
	}
	return wd
}

// layout places g's nodes within maxWidth: spines in rows on top, then
// the leaves in rows (bands), each leaf unit with the servers and gateways
// it serves in columns right below it. A server is served by the unit of
// its first leaf in drawing order; servers on no leaf come last, in rows.
// When the leaves fit one row this is the plain layered drawing; for wider
// fabrics the number of server rows per unit is the one that makes the
// drawing least tall, and servers stay next to their leaves.
func (g *Graph) layout(maxWidth int) *layout {
	byName := make(map[string]*Node, len(g.Nodes))
	var spines, leaves, ends []*Node
	for i := range g.Nodes {
		n := &g.Nodes[i]
		byName[n.Name] = n
		switch {
		case n.Kind == KindSwitch && n.Role == "spine":
			spines = append(spines, n)
		case n.Kind == KindSwitch:
			leaves = append(leaves, n)
		default:
			ends = append(ends, n)
		}
	}
	// Switches joined by an mclagDomain connection but naming no group
	// (older wiring) are drawn as the pair they are.
	inferred := map[string]string{}
	for _, l := range g.Links {
		if l.Type != "mclagDomain" || l.B.Device == "" || l.A.Device == l.B.Device {
			continue
		}
		a, b := byName[l.A.Device], byName[l.B.Device]
		if a == nil || b == nil || a.Kind != KindSwitch || b.Kind != KindSwitch || a.Group != "" || b.Group != "" {
			continue
		}
		if inferred[a.Name] == "" && inferred[b.Name] == "" {
			inferred[a.Name], inferred[b.Name] = l.Connection, l.Connection
		}
	}

	wSwitch := nodeWidth(slices.Concat(spines, leaves))
	wEnd := nodeWidth(ends)
	avail := max(maxWidth, minWidth) - 2*margin
	spineUnits := units(spines, inferred, wSwitch, avail)
	leafUnits := units(leaves, inferred, wSwitch, avail)

	// The servers and gateways a leaf unit serves: those whose first leaf
	// (in drawing order) is in it. The rest are drawn after the last band.
	var unitAt []int // leaf's sequence number -> its unit
	seqOf := map[string]int{}
	for i, u := range leafUnits {
		for _, n := range u.nodes {
			seqOf[n.Name] = len(unitAt)
			unitAt = append(unitAt, i)
		}
	}
	none := len(unitAt)
	first := make(map[string]int, len(ends))
	for _, n := range ends {
		first[n.Name] = none
	}
	for _, l := range g.Links {
		for _, p := range [][2]string{{l.A.Device, l.B.Device}, {l.B.Device, l.A.Device}} {
			f, isEnd := first[p[0]]
			s, isLeaf := seqOf[p[1]]
			if isEnd && isLeaf && s < f {
				first[p[0]] = s
			}
		}
	}
	served := make([][]*Node, len(leafUnits))
	var rest []*Node
	for _, n := range ends {
		if f := first[n.Name]; f < none {
			served[unitAt[f]] = append(served[unitAt[f]], n)
		} else {
			rest = append(rest, n)
		}
	}
	for _, ns := range served {
		slices.SortStableFunc(ns, func(p, q *Node) int { return first[p.Name] - first[q.Name] })
	}

	// A slot is a leaf unit with its servers in columns below it. The
	// drawing is as wide as it needs to be with every unit's servers in one
	// row, up to avail; then the number of server rows is chosen that makes
	// it least tall.
	endsW := func(c int) int { return max(c*(wEnd+nodeGap)-nodeGap, 0) }
	cols := func(n, rows, perRow int) int {
		if n == 0 {
			return 0
		}
		return max(1, min((n+rows-1)/rows, perRow))
	}
	slotWidths := func(rows, perRow int) []int {
		ws := make([]int, len(leafUnits))
		for i, u := range leafUnits {
			ws[i] = max(u.width(wSwitch), endsW(cols(len(served[i]), rows, perRow)))
		}
		return ws
	}
	unitWidths := func(us []unit) []int {
		ws := make([]int, len(us))
		for i, u := range us {
			ws[i] = u.width(wSwitch)
		}
		return ws
	}
	perAvail := max(1, (avail+nodeGap)/(wEnd+nodeGap))
	natural := max(rowWidth(unitWidths(spineUnits)), rowWidth(slotWidths(1, perAvail)), endsW(min(len(rest), perAvail)))
	inner := max(min(natural, avail), wEnd, wSwitch)
	perRow := max(1, (inner+nodeGap)/(wEnd+nodeGap))

	bestRows, bestH := 1, -1
	var bands [][2]int
	for rows := 1; rows <= max(1, maxLen(served)); rows++ {
		ws := slotWidths(rows, perRow)
		bs := pack(ws, inner)
		h := 0
		for _, b := range bs {
			h += groupTop + nodeH + groupPad + layerGap
			tallest := 0
			for i := b[0]; i < b[1]; i++ {
				if c := cols(len(served[i]), rows, perRow); c > 0 {
					tallest = max(tallest, (len(served[i])+c-1)/c)
				}
			}
			if tallest > 0 {
				h += tallest*(nodeH+rowGap) - rowGap + layerGap
			}
		}
		if bestH < 0 || h < bestH {
			bestRows, bestH, bands = rows, h, bs
		}
	}

	lo := &layout{width: inner + 2*margin, boxes: make(map[string]box, len(g.Nodes)), band: make(map[string]int, len(g.Nodes))}
	y := margin + headerH
	bottom := y
	// placeUnit draws u at x, y: its group box and its switches.
	placeUnit := func(u unit, x, band int) {
		if u.group != "" {
			gb := groupBox{name: u.group, typ: u.typ, box: box{x, y, u.width(wSwitch), groupTop + nodeH + groupPad}}
			for _, n := range u.nodes {
				gb.members = append(gb.members, n.Name)
			}
			lo.groups = append(lo.groups, gb)
			x += groupPad
		}
		for _, n := range u.nodes {
			lo.boxes[n.Name] = box{x, y + groupTop, wSwitch, nodeH}
			lo.band[n.Name] = band
			x += wSwitch + nodeGap
		}
		bottom = y + groupTop + nodeH + groupPad
	}
	spineWs := unitWidths(spineUnits)
	spineRows := pack(spineWs, inner)
	for i, r := range spineRows {
		x := margin + (inner-rowWidth(spineWs[r[0]:r[1]]))/2
		for k := r[0]; k < r[1]; k++ {
			placeUnit(spineUnits[k], x, -1)
			x += spineWs[k] + unitGap
		}
		y = bottom + rowGap
		if i == len(spineRows)-1 {
			y = bottom + layerGap
		}
	}

	ws := slotWidths(bestRows, perRow)
	for b, r := range bands {
		x := margin + (inner-rowWidth(ws[r[0]:r[1]]))/2
		top := y
		leafBottom, lowest := y, y
		for k := r[0]; k < r[1]; k++ {
			y = top
			placeUnit(leafUnits[k], x+(ws[k]-leafUnits[k].width(wSwitch))/2, b)
			leafBottom = bottom
			if c := cols(len(served[k]), bestRows, perRow); c > 0 {
				ex := x + (ws[k]-endsW(c))/2
				ey := leafBottom + layerGap
				for i, n := range served[k] {
					lo.boxes[n.Name] = box{ex + i%c*(wEnd+nodeGap), ey + i/c*(nodeH+rowGap), wEnd, nodeH}
					lo.band[n.Name] = b
				}
				lowest = max(lowest, ey+(len(served[k])-1)/c*(nodeH+rowGap)+nodeH)
			}
			x += ws[k] + unitGap
		}
		bottom = max(leafBottom, lowest)
		y = bottom + layerGap
	}
	for start := 0; start < len(rest); start += perRow {
		row := rest[start:min(start+perRow, len(rest))]
		x := margin + (inner-endsW(len(row)))/2
		for _, n := range row {
			lo.boxes[n.Name] = box{x, y, wEnd, nodeH}
			lo.band[n.Name] = len(bands)
			x += wEnd + nodeGap
		}
		bottom = y + nodeH
		y = bottom + rowGap
	}
	lo.height = bottom + margin
	return lo
}

// nodeWidth is the width of the boxes of ns: room for the longest label.
func nodeWidth(ns []*Node) int {
	longest := 0
	for _, n := range ns {
		longest = max(longest, min(utf8.RuneCountInString(n.Name), maxLabel))
	}
	return max(minNodeW, 16+(longest*charTenths+9)/10)
}

// units groups ns (sorted by name) into units, a redundancy group (or an
// inferred pair) to a unit, in the order of their first members. A group too
// wide for avail is split into units that fit.
func units(ns []*Node, inferred map[string]string, w, avail int) []unit {
	var us []unit
	at := map[string]int{}
	for _, n := range ns {
		group, typ := n.Group, n.Redundancy
		if group == "" && inferred[n.Name] != "" {
			group, typ = inferred[n.Name], "mclag"
		}
		if group == "" {
			us = append(us, unit{nodes: []*Node{n}})
			continue
		}
		if i, ok := at[group]; ok {
			us[i].nodes = append(us[i].nodes, n)
			continue
		}
		at[group] = len(us)
		us = append(us, unit{group: group, typ: typ, nodes: []*Node{n}})
	}
	fit := max(1, (avail-2*groupPad+nodeGap)/(w+nodeGap))
	var out []unit
	for _, u := range us {
		for len(u.nodes) > fit {
			out = append(out, unit{group: u.group, typ: u.typ, nodes: u.nodes[:fit]})
			u.nodes = u.nodes[fit:]
		}
		out = append(out, u)
	}
	return out
}

// rowWidth is the width of a row of items ws wide, unitGap apart.
func rowWidth(ws []int) int {
	if len(ws) == 0 {
		return 0
	}
	wd := (len(ws) - 1) * unitGap
	for _, w := range ws {
		wd += w
	}
	return wd
}

// pack splits items ws wide into rows no wider than inner, in order: it
// returns each row's first item and the item after its last.
func pack(ws []int, inner int) [][2]int {
	var rows [][2]int
	start, wd := 0, 0
	for i, w := range ws {
		if i > start && wd+unitGap+w > inner {
			rows = append(rows, [2]int{start, i})
			start, wd = i, 0
		}
		if i > start {
			wd += unitGap
		}
		wd += w
	}
	if start < len(ws) {
		rows = append(rows, [2]int{start, len(ws)})
	}
	return rows
}

// maxLen is the length of the longest of nss.
func maxLen(nss [][]*Node) int {
	m := 0
	for _, ns := range nss {
		m = max(m, len(ns))
	}
	return m
}
