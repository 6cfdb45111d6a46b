package ingest

import (
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// quickParse parses data, one document, into the node tree yaml.Unmarshal
// gives for it, when data is written in the plain block style most
// resources are written in; ok is false for anything else, and the caller
// asks yaml.v3. It is an optimization only: parsing a document is most of
// what an ingest costs, and yaml.v3 spends most of that on tokens and events
// a plain document does not need. TestQuickParse and FuzzQuickParse hold it
// to yaml.v3's tree, Line, Column, Tag, Style and comments included,
// whenever it says ok.
//
// The subset: LF line ends, spaces, printable ASCII; a head of blank lines,
// an optional "---" line and one block of comment lines in column 1 right
// above the first key (the header real wiring files give each resource), or
// parted from it by blank lines (the document's comment); comments at the
// end of a line holding a scalar; blocks of comment lines in a mapping, in
// line with its keys and with no blank line next to them, between two keys
// or after the last pair of a nested mapping when its value is a scalar
// written out (see mapping), and no other comment (no other '#' at all);
// block mappings whose keys are plain one-line scalars; block sequences ("- ",
// compact "- key: value" and "- - x" items, and sequences at their key's
// indentation); values that are one-line plain scalars (tagged as yaml.v3
// tags them: only !!str, !!int, !!bool and !!null are told apart here,
// anything that might be a float or a timestamp is left to yaml.v3), quoted
// scalars with no escapes, flow sequences of such plain scalars, {} and [],
// and empty values (null).
// Anchors, aliases, tags, block and multi-line scalars, flow mappings with
// content, directives, and lines ending in a space are all left to yaml.v3.
func quickParse(data []byte) (doc *yaml.Node, ok bool) { return quickParseIn(data, nil) }

// quickParseIn is quickParse cutting the nodes from a's memory, when a is
// not nil: the tree it returns lives until a is handed to the next parse.
func quickParseIn(data []byte, a *nodeArena) (doc *yaml.Node, ok bool) {
	lines := 0
	for _, c := range data {
		if c == '\n' {
			lines++
		} else if c < ' ' || c >= 0x7f {
			return nil, false
		}
	}
	defer func() {
		if r := recover(); r != nil {
			if _, quick := r.(quickFail); !quick {
				panic(r)
			}
			doc, ok = nil, false
		}
	}()
	// A line holds two nodes, a key and its value, more often than not (1.9
	// on average in real wiring files).
	p := &quickParser{src: string(data), chunk: 2*lines + 2}
	a.lend(p)
	head, docHead, marker := p.header()
	p.advance()
	if !p.has {
		return nil, false
	}
	if marker == 0 {
		marker = p.cur.num
	}
	doc = p.node(yaml.DocumentNode, "", marker, 1)
	if marker == p.cur.num {
		doc.Column = p.cur.indent + 1
	}
	root := p.block(false)
	if p.has || p.pending != "" {
		return nil, false
	}
	if head != "" {
		if root.Kind != yaml.MappingNode {
			return nil, false
		}
		if docHead {
			doc.HeadComment = head
		} else {
			root.Content[0].HeadComment = head
		}
	}
	doc.Content = []*yaml.Node{root}
	return doc, true
}

// header reads the lines above the document's first line of content: blank
// lines, then a "---" line, a block of comment lines, both (in either
// order), or neither, with no blank line after them; or blank lines, a
// block of comment lines and blank lines. It returns the comments as
// yaml.v3 gives them: the first key's head comment, or the document's
// (docHead) when blank lines part them from the content; and the line of
// the "---", 0 if there is none.
func (p *quickParser) header() (head string, docHead bool, marker int) {
	const (
		blanks   = iota
		marked   // "---"
		comments // comments, no "---" yet
		both     // comments after "---", or "---" after comments
		spaced   // blank lines after comments with no "---"
	)
	state, headStart, headEnd := blanks, 0, 0
	for p.next < len(p.src) {
		start, end := p.next, p.lineEnd(p.next)
		switch line := p.src[start:end]; {
		case strings.TrimLeft(line, " ") == "":
			if state == comments {
				state = spaced
			} else if state != blanks && state != spaced {
				panic(quickFail{}) // a blank line after the header
			}
		case line == "---" && (state == blanks || state == comments):
			marker = p.line + 1
			state++ // blanks -> marked, comments -> both
		case line[0] == '#' && line[len(line)-1] != ' ':
			switch {
			case state == blanks || state == marked:
				headStart = start
				state += 2 // blanks -> comments, marked -> both
			case headEnd != start-1:
				panic(quickFail{}) // comments on both sides of the "---"
			}
			headEnd = end
		case line[0] == '#' || line == "---":
			panic(quickFail{}) // a second "---", or a comment with a trailing space
		default:
			p.inDoc = true
			return p.src[headStart:headEnd], state == spaced, marker
		}
		p.next, p.line = end+1, p.line+1
	}
	return "", false, marker
}

// quickParser is quickParse's state: the document and the line it is on.
type quickParser struct {
	src  string
	next int  // offset of the line after cur
	line int  // number of the line at next, minus one
	has  bool // cur is a line; false at the end of the document
	// inDoc is set once the header, where "---" may be, is behind.
	inDoc bool
	cur   quickLine
	// Nodes are cut from slab, and collections' Content from ptrs, a chunk
	// at a time (the first sized for the document, then chunk nodes);
	// stack holds the children of the collections being parsed.
	slab  []yaml.Node
	ptrs  []*yaml.Node
	stack []*yaml.Node
	chunk int
	depth int // collections open
	// pending is the block of comment lines read since the last line of
	// content, at column pendingIndent, for the mapping it belongs to to
	// take: as the head comment of its next key, or as the foot comment of
	// its last one.
	pending       string
	pendingIndent int
}

// quickLine is the part of a line the parser has yet to read: for "- a: b",
// once the "- " has been read, "a: b", at the column of the "a".
type quickLine struct {
	num    int // 1-based
	indent int // 0-based column of start
	start  int // offset of the first character to read
	end    int // offset of the end of what is to be read: the line's end or its comment's start
	// comment is the offset of the '#' of the comment that ends the line,
	// -1 if there is none, and lineEnd the line's end (its LF, or the end
	// of src). Only a scalar or an empty flow collection may have such a
	// comment (see value).
	comment, lineEnd int
}

// nodeArena is memory for the nodes of one document's tree at a time, reused
// from one document to the next: a document's nodes are most of the memory
// an ingest allocates (a third of it for real wiring files, each node 152
// bytes), and a tree is done with once its document is checked and
// normalized. The zero value is ready to use; a nil *nodeArena lends
// nothing.
type nodeArena struct {
	nodes []yaml.Node
	ptrs  []*yaml.Node
}

// maxArenaNodes bounds the nodes an arena keeps for the next document
// (about 600 KB): a larger document's nodes are allocated for it alone.
const maxArenaNodes = 4096

// nodeArenas holds the arenas of the documents not being parsed.
var nodeArenas = sync.Pool{New: func() any { return new(nodeArena) }}

// lend gives p the first chunks of its nodes and Content from a's memory,
// growing it to what p's document is expected to need, within
// maxArenaNodes. Every node p cuts is set whole (node), so what a held
// before does not show through.
func (a *nodeArena) lend(p *quickParser) {
	if a == nil || p.chunk > maxArenaNodes {
		return
	}
	if cap(a.nodes) < p.chunk {
		a.nodes = make([]yaml.Node, 0, max(p.chunk, 2*cap(a.nodes)))
		a.ptrs = make([]*yaml.Node, 0, cap(a.nodes))
	}
	p.slab, p.ptrs = a.nodes[:0], a.ptrs[:0]
	p.chunk = 16
}

// quickFail is a parse the quick parser does not take on.
type quickFail struct{}

// advance moves cur to the next line that is not blank or a comment line,
// adding the comment lines on the way to pending. It panics with quickFail at
// a line quickParse leaves to yaml.v3 whatever its context: a document
// marker, a trailing space, a comment line next to a blank line, or one
// not in line with those above it. quickParse recovers.
func (p *quickParser) advance() {
	p.has = false
	blank := false
	for p.next < len(p.src) {
		start, end := p.next, p.lineEnd(p.next)
		p.next, p.line = end+1, p.line+1
		i := start
		for i < end && p.src[i] == ' ' {
			i++
		}
		if i == end {
			if p.pending != "" {
				panic(quickFail{}) // a blank line after comment lines
			}
			blank = true
			continue
		}
		if p.src[end-1] == ' ' || i == start && p.inDoc && (strings.HasPrefix(p.src[i:], "---") || strings.HasPrefix(p.src[i:], "...")) {
			panic(quickFail{})
		}
		if p.src[i] == '#' { // a comment line
			switch {
			case blank:
				panic(quickFail{}) // after a blank line
			case p.pending == "":
				p.pending, p.pendingIndent = p.src[i:end], i-start
			case i-start != p.pendingIndent:
				panic(quickFail{})
			default:
				p.pending += "\n" + p.src[i:end]
			}
			continue
		}
		p.cur, p.has = quickLine{num: p.line, indent: i - start, start: i, end: end, comment: -1, lineEnd: end}, true
		if hash := strings.IndexByte(p.src[i:end], '#'); hash >= 0 {
			hash += i
			if p.src[hash-1] != ' ' {
				panic(quickFail{}) // a '#' a scalar might hold
			}
			p.cur.comment, p.cur.end = hash, len(strings.TrimRight(p.src[:hash], " "))
		}
		return
	}
}

// lineEnd is the offset of the end of the line that starts at start: its
// LF, or the end of src.
func (p *quickParser) lineEnd(start int) int {
	if end := strings.IndexByte(p.src[start:], '\n'); end >= 0 {
		return start + end
	}
	return len(p.src)
}

// rest is what is left to read of the current line.
func (p *quickParser) rest() string { return p.src[p.cur.start:p.cur.end] }

// node returns a new node, cut from the slab.
func (p *quickParser) node(kind yaml.Kind, tag string, line, col int) *yaml.Node {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]yaml.Node, 0, p.chunk)
		p.chunk = 16 // for the few documents that hold more
	}
	p.slab = p.slab[:len(p.slab)+1]
	n := &p.slab[len(p.slab)-1]
	*n = yaml.Node{Kind: kind, Tag: tag, Line: line, Column: col}
	return n
}

// children returns the nodes pushed on the stack since it held from, as a
// collection's Content (of its own capacity: appending to it copies), and
// pops them.
func (p *quickParser) children(from int) []*yaml.Node {
	kids := p.stack[from:]
	if len(kids) == 0 {
		return nil // as yaml.v3 leaves it
	}
	if len(p.ptrs)+len(kids) > cap(p.ptrs) {
		p.ptrs = make([]*yaml.Node, 0, max(len(kids), cap(p.slab)))
	}
	start := len(p.ptrs)
	p.ptrs = append(p.ptrs, kids...)
	p.stack = p.stack[:from]
	return p.ptrs[start:len(p.ptrs):len(p.ptrs)]
}

// block parses the block mapping or sequence that starts where cur is, the
// value of a mapping's key when keyValue is set.
func (p *quickParser) block(keyValue bool) *yaml.Node {
	if p.seqItem() {
		return p.sequence()
	}
	return p.mapping(keyValue)
}

// maxQuickDepth is how deep quickParse nests collections. yaml.v3 refuses
// documents nested deeper than 10,000; such depths are left to it.
const maxQuickDepth = 1000

// nest counts one more collection open.
func (p *quickParser) nest() {
	if p.depth++; p.depth > maxQuickDepth {
		panic(quickFail{})
	}
}

// seqItem reports whether cur starts with a block sequence's "-".
func (p *quickParser) seqItem() bool {
	r := p.rest()
	return r[0] == '-' && (len(r) == 1 || r[1] == ' ')
}

// sequence parses the block sequence whose first "-" is where cur is.
func (p *quickParser) sequence() *yaml.Node {
	col := p.cur.indent
	s := p.node(yaml.SequenceNode, "!!seq", p.cur.num, col+1)
	from := len(p.stack)
	p.nest()
	for p.has && p.cur.indent == col && p.seqItem() {
		if p.pending != "" {
			panic(quickFail{}) // comment lines in a sequence
		}
		i := p.cur.start + 1
		for i < p.cur.end && p.src[i] == ' ' {
			i++
		}
		var item *yaml.Node
		if i == p.cur.end { // "-" alone: the item is on the lines below, or empty
			if p.cur.comment >= 0 {
				panic(quickFail{})
			}
			line := p.cur.num
			p.advance()
			if p.has && p.cur.indent > col {
				item = p.block(false)
			} else {
				item = p.node(yaml.ScalarNode, "!!null", line, col+2)
			}
		} else {
			p.cur.indent += i - p.cur.start
			p.cur.start = i
			item = p.inline(col)
		}
		p.stack = append(p.stack, item)
	}
	s.Content = p.children(from) // comment lines below it are left for the mapping around it
	p.depth--
	return s
}

// inline parses the node that starts where cur is, inside a collection at
// column parent: a collection that starts on this line ("- a: b", "- - c")
// or a one-line scalar.
func (p *quickParser) inline(parent int) *yaml.Node {
	if p.seqItem() {
		return p.sequence()
	}
	if _, ok := p.keyEnd(); ok {
		return p.mapping(false)
	}
	return p.value(parent)
}

// keyEnd finds the ':' that ends the key cur starts with: the first one
// followed by a space or the line's end.
func (p *quickParser) keyEnd() (int, bool) {
	r := p.rest()
	for i := 0; i < len(r); i++ {
		if r[i] == ':' && (i+1 == len(r) || r[i+1] == ' ') {
			return p.cur.start + i, true
		}
	}
	return 0, false
}

// mapping parses the block mapping whose first key is where cur is, the
// value of a mapping's key when keyValue is set. Comment lines between its
// keys, at their column, are the head comment of the key below them (also
// after a nested collection); comment lines at their column after its last
// pair, when that pair's value is a scalar written out (not an empty null)
// and the mapping is a key's value, are the foot comment of its last key.
// yaml.v3 does both (after an empty value, it may make them the document's
// foot comment); anywhere else comment lines are left to it.
func (p *quickParser) mapping(keyValue bool) *yaml.Node {
	col := p.cur.indent
	m := p.node(yaml.MappingNode, "!!map", p.cur.num, col+1)
	from := len(p.stack)
	p.nest()
	for p.has && p.cur.indent == col {
		colon, ok := p.keyEnd()
		if !ok || p.seqItem() {
			panic(quickFail{})
		}
		k := p.src[p.cur.start:colon]
		if k == "" || len(k) > 1000 || k[len(k)-1] == ' ' || strings.IndexByte(plainIndicators, k[0]) >= 0 {
			panic(quickFail{})
		}
		tag := plainTag(k)
		if tag == "" {
			panic(quickFail{})
		}
		key := p.node(yaml.ScalarNode, tag, p.cur.num, col+1)
		key.Value = k
		if p.pending != "" {
			if len(p.stack) == from || p.pendingIndent != col {
				panic(quickFail{}) // above the first key, or not in line with the keys
			}
			key.HeadComment, p.pending = p.pending, ""
		}
		i := colon + 1
		for i < p.cur.end && p.src[i] == ' ' {
			i++
		}
		var v *yaml.Node
		if i == p.cur.end { // "key:": the value is on the lines below, or empty
			if p.cur.comment >= 0 {
				panic(quickFail{})
			}
			line, after := p.cur.num, p.cur.indent+colon-p.cur.start+2
			p.advance()
			switch {
			case p.has && p.cur.indent > col:
				v = p.block(true)
			case p.has && p.cur.indent == col && p.seqItem():
				v = p.sequence()
			default:
				v = p.node(yaml.ScalarNode, "!!null", line, after)
			}
		} else {
			p.cur.indent += i - p.cur.start
			p.cur.start = i
			v = p.value(col)
		}
		p.stack = append(p.stack, key, v)
	}
	// Other comment lines below it are left for a mapping around it to take
	// as a head comment; quickParse fails when none does.
	if last := len(p.stack) - 1; p.pending != "" && p.pendingIndent == col && keyValue && p.stack[last].Kind == yaml.ScalarNode && p.stack[last].Value != "" {
		p.stack[last-1].FootComment, p.pending = p.pending, ""
	}
	m.Content = p.children(from)
	p.depth--
	return m
}

// plainIndicators are the characters a plain scalar may not start with
// here: YAML's indicators, and '-', '?' and ':', which may start one only
// when no space follows (left to yaml.v3).
const plainIndicators = "-?:,[]{}#&*!|>'\"%@`"

// value parses the one-line scalar, flow sequence of plain scalars, {} or
// [] where cur is, with the comment that ends the line, inside a collection
// at column parent, and moves to the next line; the next line must not be
// indented past parent, where it would continue the scalar.
func (p *quickParser) value(parent int) *yaml.Node {
	r, line, col := p.rest(), p.cur.num, p.cur.indent+1
	var n *yaml.Node
	switch {
	case r == "{}":
		n = p.node(yaml.MappingNode, "!!map", line, col)
		n.Style = yaml.FlowStyle
	case r == "[]":
		n = p.node(yaml.SequenceNode, "!!seq", line, col)
		n.Style = yaml.FlowStyle
	case r[0] == '[' && r[len(r)-1] == ']':
		n = p.node(yaml.SequenceNode, "!!seq", line, col)
		n.Style = yaml.FlowStyle
		p.flowItems(n, r[1:len(r)-1], col+1)
	case r[0] == '"' || r[0] == '\'':
		// No escapes: no '\' in double quotes, no doubled quote in single ones.
		style, banned := yaml.DoubleQuotedStyle, `"\`
		if r[0] == '\'' {
			style, banned = yaml.SingleQuotedStyle, "'"
		}
		if len(r) < 2 || r[len(r)-1] != r[0] || strings.ContainsAny(r[1:len(r)-1], banned) {
			panic(quickFail{})
		}
		n = p.node(yaml.ScalarNode, "!!str", line, col)
		n.Value, n.Style = r[1:len(r)-1], style
	default:
		if strings.IndexByte(plainIndicators, r[0]) >= 0 || r[len(r)-1] == ':' || strings.Contains(r, ": ") {
			panic(quickFail{})
		}
		tag := plainTag(r)
		if tag == "" {
			panic(quickFail{})
		}
		n = p.node(yaml.ScalarNode, tag, line, col)
		n.Value = r
	}
	if p.cur.comment >= 0 {
		n.LineComment = p.src[p.cur.comment:p.cur.lineEnd]
	}
	p.advance()
	if p.has && p.cur.indent > parent {
		panic(quickFail{})
	}
	return n
}

// flowItems parses into n the items of the flow sequence of plain scalars
// (see flowPlain) whose text between the brackets is r, at column col.
func (p *quickParser) flowItems(n *yaml.Node, r string, col int) {
	from := len(p.stack)
	if strings.TrimLeft(r, " ") == "" {
		return // [ ]
	}
	for i := 0; i < len(r); {
		for i < len(r) && r[i] == ' ' {
			i++
		}
		j := i
		for j < len(r) && r[j] != ',' {
			j++
		}
		k := j
		for k > i && r[k-1] == ' ' {
			k--
		}
		v := r[i:k]
		if v == "" || !flowPlain(v) {
			panic(quickFail{})
		}
		tag := plainTag(v)
		if tag == "" {
			panic(quickFail{})
		}
		item := p.node(yaml.ScalarNode, tag, p.cur.num, col+i)
		item.Value = v
		p.stack = append(p.stack, item)
		if j == len(r)-1 {
			panic(quickFail{}) // a trailing comma
		}
		i = j + 1
	}
	n.Content = p.children(from)
}

// flowPlain reports whether v is a plain scalar made only of the
// characters of names, paths and addresses: letters, digits, and ".-_/"
// and spaces after the first.
func flowPlain(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || strings.IndexByte(".-_/ ", c) < 0) {
			return false
		}
	}
	return true
}

// plainTag is the tag yaml.v3 resolves the plain scalar v to (its
// resolve), or "" where quickParse leaves v to yaml.v3: "<<", and what
// might be a number other than a decimal integer, or a timestamp.
func plainTag(v string) string {
	switch c := v[0]; {
	case c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.':
		if len(v) >= 5 && v[4] == '-' && isDigits(v[:4]) {
			return "" // perhaps a timestamp: they all start with YYYY-
		}
		if isDigits(v) && len(v) <= 18 && (c != '0' || len(v) == 1) {
			return "!!int"
		}
		// Every other int and float yaml.v3 knows is made of these
		// characters alone, with at most one '.'.
		for i := 0; i < len(v); i++ {
			if !numberish[v[i]] {
				return "!!str"
			}
		}
		if strings.Count(v, ".") > 1 || innerSign(v) {
			return "!!str"
		}
		return ""
	case strings.IndexByte("yYnNtTfFoO~<", c) >= 0:
		switch v {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return "!!bool"
		case "~", "null", "Null", "NULL":
			return "!!null"
		case "<<":
			return ""
		}
	}
	return "!!str"
}

// innerSign reports whether v, made of numberish characters, has a '+' or
// '-' where no int or float yaml.v3 reads has one, as a UUID or a range
// like 1-2 does: anywhere but first, after an exponent's e, and after the
// 0b and 0o prefixes (yaml.v3 reads "0b-1" as -1). yaml.v3 drops '_' before
// it reads a number, so they are skipped.
func innerSign(v string) bool {
	plain := strings.ReplaceAll(v, "_", "")
	for i := 1; i < len(plain); i++ {
		if c := plain[i]; c != '+' && c != '-' {
			continue
		}
		switch prev := plain[i-1]; {
		case prev == 'e' || prev == 'E':
		case i == 2 && (plain[:2] == "0b" || plain[:2] == "0o"):
		case i == 3 && (plain[:3] == "-0b" || plain[:3] == "-0o"):
		default:
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// numberish marks the characters of the ints and floats yaml.v3 reads
// (strconv.ParseInt and ParseUint with base 0, its float pattern, 0b and 0o
// prefixes): digits, signs, '.', '_', the letters of the prefixes, hex
// digits and exponents.
var numberish = func() (t [256]bool) {
	for _, c := range "0123456789+-._xXoObBaAcCdDeEfF" {
		t[c] = true
	}
	return t
}()
