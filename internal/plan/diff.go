package plan

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// context is the number of unchanged lines shown around each change.
const context = 3

// Bounds of the line diff. Resource files are small; these only matter for
// a pathological file, which then gets a replacement hunk (every line
// between the common head and tail of the file removed and added again): a
// valid diff, just not a minimal one. Variables so tests can lower them.
var (
	// maxLines is the most lines either side may have, once the lines the
	// two versions share at their start and end are set aside, for a line
	// diff to be tried at all.
	maxLines = 1 << 16
	// fileWork bounds the steps of the line diff of one file.
	fileWork = 1 << 23
	// planWork bounds the steps of the line diffs of one Plan.
	planWork = 1 << 26
)

// differ computes the diffs of one Plan, sharing its work budget.
type differ struct {
	work int     // steps left for the whole plan
	v    []int32 // scratch of the Myers search
}

func newDiffer() *differ { return &differ{work: planWork} }

// diff returns the unified diff of one file and its added and removed line
// counts. The text is left out (ok false) when it would be longer than
// limit; a negative limit asks for the counts only.
func (d *differ) diff(path string, old, new []byte, limit int) (text string, added, removed int, ok bool) {
	a, b := splitLines(string(old)), splitLines(string(new))
	del, ins := d.edits(a, b)
	ops := script(a, b, del, ins)
	for _, o := range ops {
		switch o.kind {
		case '-':
			removed++
		case '+':
			added++
		}
	}
	if limit < 0 {
		return "", added, removed, false
	}
	text, ok = format(path, old == nil, new == nil, a, b, ops, limit)
	return text, added, removed, ok
}

// splitLines splits s after each newline; the last line lacks one when s
// does not end in a newline.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	n := strings.Count(s, "\n")
	if s[len(s)-1] != '\n' {
		n++
	}
	lines := make([]string, 0, n)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// edits marks the lines of a that are removed and those of b that are
// added, by a Myers diff of the part between the common head and tail,
// or by replacing that part whole when it is too large or too costly.
func (d *differ) edits(a, b []string) (del, ins []bool) {
	del, ins = make([]bool, len(a)), make([]bool, len(b))
	lo := 0
	for lo < len(a) && lo < len(b) && a[lo] == b[lo] {
		lo++
	}
	ha, hb := len(a), len(b)
	for ha > lo && hb > lo && a[ha-1] == b[hb-1] {
		ha--
		hb--
	}
	if ha-lo > maxLines || hb-lo > maxLines || d.work <= 0 {
		mark(del[lo:ha])
		mark(ins[lo:hb])
		return del, ins
	}
	// Lines as small integers, so the search compares ints.
	ids := make(map[string]int32, ha-lo)
	x, y := make([]int32, ha-lo), make([]int32, hb-lo)
	for i, l := range a[lo:ha] {
		id, seen := ids[l]
		if !seen {
			id = int32(len(ids))
			ids[l] = id
		}
		x[i] = id
	}
	for i, l := range b[lo:hb] {
		id, seen := ids[l]
		if !seen {
			id = int32(len(ids))
			ids[l] = id
		}
		y[i] = id
	}
	work := min(fileWork, d.work)
	m := myers{a: x, b: y, del: del[lo:ha], ins: ins[lo:hb], work: work, v: d.v}
	m.compare(0, len(x), 0, len(y))
	d.v = m.v
	d.work -= work - max(m.work, 0)
	return del, ins
}

func mark(bs []bool) {
	for i := range bs {
		bs[i] = true
	}
}

// myers is the linear-space Myers diff (E. Myers, "An O(ND) Difference
// Algorithm and Its Variations", 1986, section 4b), bounded by work: once
// the steps run out, what is left to compare is replaced whole.
type myers struct {
	a, b     []int32
	del, ins []bool
	work     int
	v        []int32
}

func (m *myers) compare(alo, ahi, blo, bhi int) {
	for alo < ahi && blo < bhi && m.a[alo] == m.b[blo] {
		alo++
		blo++
	}
	for ahi > alo && bhi > blo && m.a[ahi-1] == m.b[bhi-1] {
		ahi--
		bhi--
	}
	switch {
	case alo == ahi:
		mark(m.ins[blo:bhi])
		return
	case blo == bhi:
		mark(m.del[alo:ahi])
		return
	}
	x, y, ok := m.bisect(alo, ahi, blo, bhi)
	if !ok || (x == alo && y == blo) || (x == ahi && y == bhi) {
		mark(m.del[alo:ahi])
		mark(m.ins[blo:bhi])
		return
	}
	m.compare(alo, x, blo, y)
	m.compare(x, ahi, y, bhi)
}

// bisect finds where the forward and backward searches meet, a point on an
// optimal path, in absolute coordinates; not ok once work runs out.
func (m *myers) bisect(alo, ahi, blo, bhi int) (int, int, bool) {
	n, mm := ahi-alo, bhi-blo
	maxD := (n + mm + 1) / 2
	off := maxD + 1
	vlen := 2*maxD + 2
	if m.work <= vlen {
		return 0, 0, false
	}
	m.work -= vlen
	if cap(m.v) < 2*vlen {
		m.v = make([]int32, 2*vlen)
	}
	v1, v2 := m.v[:vlen], m.v[vlen:2*vlen]
	for i := range v1 {
		v1[i], v2[i] = -1, -1
	}
	v1[off+1], v2[off+1] = 0, 0
	delta := n - mm
	front := delta%2 != 0
	var k1start, k1end, k2start, k2end int
	for d := 0; d < maxD; d++ {
		if m.work <= 0 {
			return 0, 0, false
		}
		for k1 := -d + k1start; k1 <= d-k1end; k1 += 2 {
			m.work--
			k1o := off + k1
			var x1 int
			if k1 == -d || (k1 != d && v1[k1o-1] < v1[k1o+1]) {
				x1 = int(v1[k1o+1])
			} else {
				x1 = int(v1[k1o-1]) + 1
			}
			y1 := x1 - k1
			for x1 < n && y1 < mm && m.a[alo+x1] == m.b[blo+y1] {
				x1++
				y1++
				m.work--
			}
			v1[k1o] = int32(x1)
			switch {
			case x1 > n:
				k1end += 2
			case y1 > mm:
				k1start += 2
			case front:
				k2o := off + delta - k1
				if k2o >= 0 && k2o < vlen && v2[k2o] != -1 && x1 >= n-int(v2[k2o]) {
					return alo + x1, blo + y1, true
				}
			}
		}
		for k2 := -d + k2start; k2 <= d-k2end; k2 += 2 {
			m.work--
			k2o := off + k2
			var x2 int
			if k2 == -d || (k2 != d && v2[k2o-1] < v2[k2o+1]) {
				x2 = int(v2[k2o+1])
			} else {
				x2 = int(v2[k2o-1]) + 1
			}
			y2 := x2 - k2
			for x2 < n && y2 < mm && m.a[ahi-x2-1] == m.b[bhi-y2-1] {
				x2++
				y2++
				m.work--
			}
			v2[k2o] = int32(x2)
			switch {
			case x2 > n:
				k2end += 2
			case y2 > mm:
				k2start += 2
			case !front:
				k1o := off + delta - k2
				if k1o >= 0 && k1o < vlen && v1[k1o] != -1 {
					x1 := int(v1[k1o])
					y1 := x1 - (k1o - off)
					if x1 >= n-x2 {
						return alo + x1, blo + y1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// op is one line of the edit script: kind ' ', '-' or '+', and the
// positions in a and b (0-based) where it stands.
type op struct {
	kind byte
	a, b int
}

// script turns the marks into an edit script, removals before additions
// within each change.
func script(a, b []string, del, ins []bool) []op {
	ops := make([]op, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && (del[i] || j == len(b)):
			ops = append(ops, op{'-', i, j})
			i++
		case j < len(b) && (ins[j] || i == len(a)):
			ops = append(ops, op{'+', i, j})
			j++
		default:
			ops = append(ops, op{' ', i, j})
			i++
			j++
		}
	}
	return ops
}

// format writes the unified diff; not ok once it passes limit bytes.
func format(path string, created, deleted bool, a, b []string, ops []op, limit int) (string, bool) {
	var w strings.Builder
	if created {
		w.WriteString("--- /dev/null\n")
	} else {
		w.WriteString("--- " + quotePath("a/"+path) + "\n")
	}
	if deleted {
		w.WriteString("+++ /dev/null\n")
	} else {
		w.WriteString("+++ " + quotePath("b/"+path) + "\n")
	}
	for i := 0; i < len(ops); {
		for i < len(ops) && ops[i].kind == ' ' {
			i++
		}
		if i == len(ops) {
			break
		}
		start := max(0, i-context)
		end := i // past the last change of the hunk
		for {
			for end < len(ops) && ops[end].kind != ' ' {
				end++
			}
			k := end
			for k < len(ops) && ops[k].kind == ' ' {
				k++
			}
			if k < len(ops) && k-end <= 2*context {
				end = k
				continue
			}
			break
		}
		stop := min(len(ops), end+context)
		hunk := ops[start:stop]
		na, nb := 0, 0
		for _, o := range hunk {
			if o.kind != '+' {
				na++
			}
			if o.kind != '-' {
				nb++
			}
		}
		w.WriteString("@@ -")
		writeRange(&w, hunk[0].a, na)
		w.WriteString(" +")
		writeRange(&w, hunk[0].b, nb)
		w.WriteString(" @@\n")
		for _, o := range hunk {
			l := ""
			if o.kind == '+' {
				l = b[o.b]
			} else {
				l = a[o.a]
			}
			w.WriteByte(o.kind)
			w.WriteString(l)
			if !strings.HasSuffix(l, "\n") {
				w.WriteString("\n\\ No newline at end of file\n")
			}
			if w.Len() > limit {
				return "", false
			}
		}
		i = stop
	}
	if w.Len() > limit {
		return "", false
	}
	return w.String(), true
}

// writeRange writes a hunk range as diff and git do: "l,n", "l" when n is
// 1, and for an empty range the line before it.
func writeRange(w *strings.Builder, start, n int) {
	if n == 0 {
		w.WriteString(strconv.Itoa(start))
		w.WriteString(",0")
		return
	}
	w.WriteString(strconv.Itoa(start + 1))
	if n != 1 {
		w.WriteByte(',')
		w.WriteString(strconv.Itoa(n))
	}
}

// quotePath quotes a path in a diff header, as git does, when it holds
// control characters, quotes, backslashes or invalid UTF-8.
func quotePath(p string) string {
	if !utf8.ValidString(p) {
		return strconv.QuoteToASCII(p)
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return strconv.Quote(p)
		}
	}
	return p
}
