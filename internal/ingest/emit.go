package ingest

import (
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file is ingest's own YAML writer for the documents normalization produces: block
// mappings and sequences of single-line scalars, with comments above the document, keys and
// sequence items, after scalar values and below a nested mapping's last pair. It writes
// exactly the bytes yaml.v3's Encoder (SetIndent(2)) writes for such a tree, in one pass over
// the nodes into one buffer, where yaml.v3 builds an event for every node and keeps every
// event of a document in a queue that grows and is never reused (more than half of what an
// ingest allocated). The functions below follow yaml.v3's emitter
// (emitterc.go: write_indent, write_indicator, increase_indent, analyze_scalar,
// select_scalar_style and the scalar and comment writers) step by step, keeping the same state
// (indent, column, whitespace, indention), so the output is the same byte for byte;
// TestEmitMatchesYAML and FuzzEmit compare the two on every document they are given.
//
// Anything outside that shape makes appendDoc decline (ok false), and encode falls back to
// yaml.v3: tags written out (TaggedStyle), anchors and aliases, flow style, literal and folded
// scalars and any value with a line break, keys that are not simple (collections, over 128
// bytes), foot comments anywhere but after the last pair of a nested mapping, and comments
// on collections, at keys' line ends and at documents' ends, whose placement yaml.v3 moves
// around. It expects trees as yaml.v3's parser builds them (an untagged plain scalar's Tag is
// what its value resolves to), which is what ingest has.

// emitter is the state of yaml.v3's emitter that the output depends on, for a best indent of
// 2 and no line width.
type emitter struct {
	buf        []byte
	indent     int
	column     int  // in characters
	whitespace bool // the last character written was white space
	indention  bool // only indentation has been written on this line
}

// appendDoc appends the YAML of doc, a DocumentNode holding one block mapping, to buf as
// yaml.v3's Encoder with SetIndent(2) writes it. It reports false, with buf's content beyond
// its length undefined, when the tree is not of the shape it writes.
func appendDoc(buf []byte, doc *yaml.Node) ([]byte, bool) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || !commentOK(doc.HeadComment) ||
		doc.LineComment != "" || doc.FootComment != "" || doc.Anchor != "" || doc.Style != 0 {
		return buf, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || len(root.Content) == 0 || !emittable(root, atRoot) {
		return buf, false
	}
	e := emitter{buf: buf, indent: -1, whitespace: true, indention: true}
	if doc.HeadComment != "" {
		// emit_document_start: the comment, then a line break (a blank line).
		e.headComment(doc.HeadComment)
		e.putBreak()
	}
	e.mapping(root, false)
	// Document end: yaml.v3 writes an indent, which ends the last line.
	e.writeIndent()
	return e.buf, true
}

// Where a node is in the tree, for emittable: what comments appendDoc writes for it there.
const (
	atRoot    = iota // the document's mapping
	atKey            // a mapping's key: a head comment
	atLastKey        // the last key of a mapping that is a key's value, the key's own value a scalar, not empty: a head and a foot comment
	atValue          // a mapping's value: a line comment, if a scalar
	atItem           // a sequence item: a head comment, if a scalar, and a line comment
)

// emittable reports whether the tree under n, found at at, is of the shape appendDoc writes.
// Comments are allowed above scalar keys and scalar sequence items, after scalar values,
// and below the last pair of a nested mapping when its value is a scalar that is not empty
// (a foot comment of the key, which yaml.v3 reads back where it was; elsewhere it may read
// one back as the head comment of what follows, and after an empty value at the end as the
// document's foot comment).
func emittable(n *yaml.Node, at int) bool {
	if n.Anchor != "" || n.Style&(yaml.TaggedStyle|yaml.FlowStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 ||
		n.FootComment != "" && at != atLastKey ||
		!commentOK(n.HeadComment) || !commentOK(n.LineComment) || !commentOK(n.FootComment) {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.HeadComment != "" && at != atKey && at != atLastKey && at != atItem {
			return false
		}
		return singleLine(n.Value)
	case yaml.MappingNode:
		if n.HeadComment != "" || n.LineComment != "" || len(n.Content)%2 != 0 {
			return false
		}
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			keyAt := atKey
			if at == atValue && i+2 == len(n.Content) && v.Kind == yaml.ScalarNode && v.Value != "" {
				keyAt = atLastKey
			}
			// A simple key: a single-line scalar of at most 128 bytes, no comment after it.
			if k.Kind != yaml.ScalarNode || len(k.Value) > 128 || k.LineComment != "" || !emittable(k, keyAt) {
				return false
			}
			if v.Kind == yaml.ScalarNode && v.HeadComment != "" {
				return false
			}
			if !emittable(v, atValue) {
				return false
			}
		}
		return true
	case yaml.SequenceNode:
		if n.HeadComment != "" || n.LineComment != "" {
			return false
		}
		for _, c := range n.Content {
			if !emittable(c, atItem) {
				return false
			}
		}
		return true
	}
	return false
}

// singleLine reports whether s is valid UTF-8 with no line break of any kind (LF, CR, NEL,
// LS, PS): the scalars appendDoc writes on one line, as yaml.v3 does.
func singleLine(s string) bool { return noBreaks(s, false) }

// noBreaks reports whether s is valid UTF-8 without CR, NEL, LS and PS, and without LF unless
// lf is set.
func noBreaks(s string, lf bool) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\n':
			if !lf {
				return false
			}
		case c == '\r':
			return false
		case c < utf8.RuneSelf:
		default:
			r, w := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && w == 1 || r == 0x85 || r == 0x2028 || r == 0x2029 {
				return false
			}
			i += w - 1
		}
	}
	return true
}

// commentOK reports whether c is a comment appendDoc writes as yaml.v3 does: valid UTF-8 whose
// only line breaks are LF.
func commentOK(c string) bool { return noBreaks(c, true) }

// increaseIndent is yaml_emitter_increase_indent for a block collection (flow false,
// indentless false): seqItem says the collection is an item of a block sequence.
func (e *emitter) increaseIndent(seqItem bool) {
	switch {
	case e.indent < 0:
		e.indent = 0
	case seqItem:
		// The first indent inside a sequence skips the "- " indicator.
		e.indent += 2
	default:
		e.indent = 2 * ((e.indent + 2) / 2)
	}
}

// mapping writes a non-empty block mapping (emit_block_mapping_key and _value, simple keys).
func (e *emitter) mapping(n *yaml.Node, seqItem bool) {
	saved := e.indent
	e.increaseIndent(seqItem)
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		e.headComment(k.HeadComment)
		e.writeIndent()
		e.scalar(k, true)
		e.writeIndicator(":", false, false, false)
		e.value(v, false)
		e.lineComment(v.LineComment)
	}
	// yaml.v3's encoder hands a key's foot comment on with the next key, as a tail comment
	// written before its head comment; emittable lets only the last key of a nested mapping
	// have one, which comes with the end of the mapping, at the mapping's indent. (yaml.v3
	// then writes a blank line before the next line at that indent; the next line appendDoc
	// writes is always further left: no key of a mapping holding this one has a foot comment.)
	if k := n.Content[len(n.Content)-2]; k.FootComment != "" {
		e.writeIndent()
		e.writeComment(k.FootComment)
	}
	e.indent = saved
}

// sequence writes a non-empty block sequence (emit_block_sequence_item, not compact).
func (e *emitter) sequence(n *yaml.Node, seqItem bool) {
	saved := e.indent
	e.increaseIndent(seqItem)
	for _, c := range n.Content {
		e.headComment(c.HeadComment)
		e.writeIndent()
		e.writeIndicator("-", true, false, true)
		e.value(c, true)
		e.lineComment(c.LineComment)
	}
	e.indent = saved
}

// value writes the value of a mapping pair, or (seqItem) an item of a block sequence.
func (e *emitter) value(n *yaml.Node, seqItem bool) {
	switch {
	case n.Kind == yaml.ScalarNode:
		e.scalar(n, false)
	case len(n.Content) == 0 && n.Kind == yaml.MappingNode:
		// An empty collection is written in flow style.
		e.writeIndicator("{", true, true, false)
		e.writeIndicator("}", false, false, false)
	case len(n.Content) == 0:
		e.writeIndicator("[", true, true, false)
		e.writeIndicator("]", false, false, false)
	case n.Kind == yaml.MappingNode:
		e.mapping(n, seqItem)
	default:
		e.sequence(n, seqItem)
	}
}

// Scalar styles, as yaml_emitter_select_scalar_style chooses among them.
const (
	stylePlain = iota
	styleSingle
	styleDouble
)

// scalar writes a single-line scalar. The tag is never written: for the trees appendDoc takes
// it is implicit (yaml.v3's encoder drops it).
func (e *emitter) scalar(n *yaml.Node, simpleKey bool) {
	style := stylePlain
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		style = styleDouble
	case n.Style&yaml.SingleQuotedStyle != 0:
		style = styleSingle
	}
	a := analyzeScalar(n.Value)
	if style == stylePlain && (!a.blockPlain || n.Value == "" && simpleKey) {
		style = styleSingle
	}
	if style == styleSingle && !a.singleQuoted {
		style = styleDouble
	}
	switch style {
	case stylePlain:
		e.writePlain(n.Value)
	case styleSingle:
		e.writeSingleQuoted(n.Value)
	default:
		e.writeDoubleQuoted(n.Value)
	}
}

// scalarAnalysis is what yaml_emitter_analyze_scalar finds that matters in block context.
type scalarAnalysis struct {
	blockPlain   bool // may be written plain in a block collection
	singleQuoted bool // may be written single-quoted
}

// analyzeScalar is yaml_emitter_analyze_scalar for a single-line value (no line breaks) in an
// emitter that allows Unicode.
func analyzeScalar(v string) scalarAnalysis {
	if v == "" {
		return scalarAnalysis{blockPlain: true, singleQuoted: true}
	}
	blockIndicators := len(v) >= 3 && (v[0] == '-' && v[1] == '-' && v[2] == '-' || v[0] == '.' && v[1] == '.' && v[2] == '.')
	special, tabs := false, false
	leadingSpace, trailingSpace := false, false
	precededByWhitespace := true
	for i, w := 0, 0; i < len(v); i += w {
		w = charWidth(v[i])
		if w == 0 {
			w = 1
		}
		followedByWhitespace := i+w >= len(v) || v[i+w] == ' ' || v[i+w] == '\t'
		if i == 0 {
			switch v[i] {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				blockIndicators = true
			case '?', ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '-':
				if followedByWhitespace {
					blockIndicators = true
				}
			}
		} else {
			switch v[i] {
			case ':':
				if followedByWhitespace {
					blockIndicators = true
				}
			case '#':
				if precededByWhitespace {
					blockIndicators = true
				}
			}
		}
		if v[i] == '\t' {
			tabs = true
		} else if !printable(v, i) {
			special = true
		}
		if v[i] == ' ' {
			if i == 0 {
				leadingSpace = true
			}
			if i+1 == len(v) {
				trailingSpace = true
			}
		}
		precededByWhitespace = v[i] == ' ' || v[i] == '\t' || v[i] == 0
	}
	a := scalarAnalysis{blockPlain: true, singleQuoted: true}
	if leadingSpace || trailingSpace {
		a.blockPlain = false
	}
	if tabs || special {
		a.blockPlain, a.singleQuoted = false, false
	}
	if blockIndicators {
		a.blockPlain = false
	}
	return a
}

// charWidth is yaml.v3's width: the bytes of the UTF-8 sequence that b starts, 0 if b cannot
// start one.
func charWidth(b byte) int {
	switch {
	case b&0x80 == 0:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 0
}

// at returns v[i], or 0 past the end.
func at(v string, i int) byte {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// printable is yaml.v3's is_printable: whether the character at v[i] may be written as it is.
func printable(v string, i int) bool {
	b := v[i]
	return b == 0x0A ||
		b >= 0x20 && b <= 0x7E ||
		b == 0xC2 && at(v, i+1) >= 0xA0 ||
		b > 0xC2 && b < 0xED ||
		b == 0xED && at(v, i+1) < 0xA0 ||
		b == 0xEE ||
		b == 0xEF && (at(v, i+1) != 0xBB || at(v, i+2) != 0xBF) && (at(v, i+1) != 0xBF || at(v, i+2) != 0xBE && at(v, i+2) != 0xBF)
}

// put writes one ASCII byte.
func (e *emitter) put(b byte) {
	e.buf = append(e.buf, b)
	e.column++
}

// putBreak writes a line break.
func (e *emitter) putBreak() {
	e.buf = append(e.buf, '\n')
	e.column = 0
	e.indention = true
}

// writeString writes s, counting its characters.
func (e *emitter) writeString(s string) {
	e.buf = append(e.buf, s...)
	e.column += utf8.RuneCountInString(s)
}

// writeIndent is yaml_emitter_write_indent (no foot comments are written, so foot_indent is
// never the indent).
func (e *emitter) writeIndent() {
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || e.column == indent && !e.whitespace {
		e.putBreak()
	}
	for e.column < indent {
		e.put(' ')
	}
	e.whitespace = true
}

// writeIndicator is yaml_emitter_write_indicator.
func (e *emitter) writeIndicator(s string, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !e.whitespace {
		e.put(' ')
	}
	e.writeString(s)
	e.whitespace = isWhitespace
	e.indention = e.indention && isIndention
}

// writePlain is yaml_emitter_write_plain_scalar for a single-line value with no line width.
func (e *emitter) writePlain(s string) {
	if s != "" && !e.whitespace {
		e.put(' ')
	}
	e.writeString(s)
	if s != "" {
		e.whitespace = false
	}
	e.indention = false
}

// writeSingleQuoted is yaml_emitter_write_single_quoted_scalar for a single-line value.
func (e *emitter) writeSingleQuoted(s string) {
	e.writeIndicator("'", true, false, false)
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] != '\'' {
			j++
		}
		e.writeString(s[i:j])
		if j < len(s) {
			e.writeString("''")
			j++
		}
		i = j
	}
	e.writeIndicator("'", false, false, false)
	e.whitespace = false
	e.indention = false
}

// writeDoubleQuoted is yaml_emitter_write_double_quoted_scalar for a single-line value with
// no line width.
func (e *emitter) writeDoubleQuoted(v string) {
	e.writeIndicator("\"", true, false, false)
	// yaml.v3 looks for a byte order mark at the start of the value, not at each character:
	// a value that starts with one has every character escaped.
	bom := len(v) >= 3 && v[0] == 0xEF && v[1] == 0xBB && v[2] == 0xBF
	for i := 0; i < len(v); {
		c := v[i]
		if !printable(v, i) || bom || c == '\n' || c == '\r' || c == '"' || c == '\\' ||
			c == 0xC2 && at(v, i+1) == 0x85 || c == 0xE2 && at(v, i+1) == 0x80 && (at(v, i+2) == 0xA8 || at(v, i+2) == 0xA9) {
			r, w := utf8.DecodeRuneInString(v[i:])
			i += w
			e.put('\\')
			switch r {
			case 0x00:
				e.put('0')
			case 0x07:
				e.put('a')
			case 0x08:
				e.put('b')
			case 0x09:
				e.put('t')
			case 0x0A:
				e.put('n')
			case 0x0b:
				e.put('v')
			case 0x0c:
				e.put('f')
			case 0x0d:
				e.put('r')
			case 0x1b:
				e.put('e')
			case 0x22:
				e.put('"')
			case 0x5c:
				e.put('\\')
			case 0x85:
				e.put('N')
			case 0xA0:
				e.put('_')
			case 0x2028:
				e.put('L')
			case 0x2029:
				e.put('P')
			default:
				digits := 8
				switch {
				case r <= 0xFF:
					e.put('x')
					digits = 2
				case r <= 0xFFFF:
					e.put('u')
					digits = 4
				default:
					e.put('U')
				}
				for k := (digits - 1) * 4; k >= 0; k -= 4 {
					d := byte(r>>uint(k)) & 0x0F
					if d < 10 {
						e.put(d + '0')
					} else {
						e.put(d + 'A' - 10)
					}
				}
			}
			continue
		}
		w := max(charWidth(c), 1)
		e.buf = append(e.buf, v[i:i+w]...)
		e.column++
		i += w
	}
	e.writeIndicator("\"", false, false, false)
	e.whitespace = false
	e.indention = false
}

// headComment is yaml_emitter_process_head_comment with no tail comment.
func (e *emitter) headComment(c string) {
	if c == "" {
		return
	}
	e.writeIndent()
	e.writeComment(c)
}

// lineComment is yaml_emitter_process_line_comment.
func (e *emitter) lineComment(c string) {
	if c == "" {
		return
	}
	if !e.whitespace {
		e.put(' ')
	}
	e.writeComment(c)
}

// writeComment is yaml_emitter_write_comment for a comment whose only line breaks are LF
// (see commentOK): each line gets a "# " unless it starts with '#'.
func (e *emitter) writeComment(c string) {
	breaks, pound := false, false
	for i := 0; i < len(c); {
		if c[i] == '\n' {
			e.putBreak()
			i++
			breaks, pound = true, false
			continue
		}
		if breaks {
			e.writeIndent()
		}
		if !pound {
			if c[i] != '#' {
				e.put('#')
				e.put(' ')
			}
			pound = true
		}
		w := max(charWidth(c[i]), 1)
		e.buf = append(e.buf, c[i:min(i+w, len(c))]...)
		e.column++
		i += w
		e.indention = false
		breaks = false
	}
	if !breaks {
		e.putBreak()
	}
	e.whitespace = true
}
