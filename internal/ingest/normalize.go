package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrEmpty is returned (wrapped) by Normalize for a document with no
// content: only blank lines, comments, markers or an explicit null.
var ErrEmpty = errors.New("empty document")

// Normalize normalizes one YAML document per docs/SYNC.md: one document, UTF-8,
// LF line ends, 2-space block style (flow collections become block ones),
// a trailing newline; top-level keys ordered apiVersion, kind, metadata,
// spec, then the rest in their original order; metadata keys ordered name,
// namespace, labels, annotations, then the rest; nested keys keep their
// order; comments are kept. Server-populated fields are dropped: status,
// metadata.uid, resourceVersion, generation, creationTimestamp,
// managedFields, selfLink and the
// kubectl.kubernetes.io/last-applied-configuration annotation (and
// annotations itself if that leaves it empty). Aliases are expanded, within
// the default alias-expansion limit, and anchors dropped.
//
// The document need not be a resource (Ingest checks that); any single
// document is accepted. A leading UTF-8 BOM and CRLF line ends are accepted.
// Normalize(Normalize(x)) == Normalize(x) byte for byte. In the rare cases
// where the YAML library does not reproduce the comments of a document
// stably, the comments are dropped rather than break that promise.
//
// It returns an error wrapping ErrEmpty for an empty document, and an error
// for invalid YAML or more than one document. It is safe for concurrent use.
func Normalize(doc []byte) ([]byte, error) {
	sp := newSplitter(doc)
	var one []byte
	for d, ok := sp.Next(); ok; d, ok = sp.Next() {
		if d.Empty {
			continue
		}
		if one != nil {
			return nil, fmt.Errorf("line %d: %w", d.Line, errManyDocuments)
		}
		one = d.Data
	}
	if one == nil {
		return nil, ErrEmpty
	}
	n, err := parseDoc(one)
	if err != nil {
		return nil, err
	}
	if isEmptyDoc(n) {
		return nil, ErrEmpty
	}
	if _, err := expandAliases(n, defaultMaxAliasExpansion); err != nil {
		return nil, err
	}
	out, _, err := normalizeNode(n)
	return out, err
}

var errManyDocuments = errors.New("more than one document; Normalize takes one")

// syntaxError is a YAML parse error located, as far as is known, at the
// offending token, relative to the parsed text.
type syntaxError struct {
	Line   int // 1-based; 0 if unknown
	Column int // 1-based, counted in characters; 0 if unknown
	Msg    string
}

// parserProblems are the messages of libyaml's parser (as opposed to its
// scanner) errors. yaml.v3 reports their line 0-based, and leaves the
// line out when it is the first.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

var unknownAnchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

func (e *syntaxError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parseDoc parses exactly one YAML document. A panic in the YAML library is
// turned into an error.
func parseDoc(data []byte) (n *yaml.Node, err error) { return parseDocIn(data, nil) }

// parseDocIn is parseDoc with quickParse cutting the tree from a (see
// quickParseIn): it lives until a's next use.
func parseDocIn(data []byte, a *nodeArena) (n *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, &syntaxError{Msg: fmt.Sprintf("YAML parser failed on this document: %v", r)}
		}
	}()
	if n, ok := quickParseIn(data, a); ok {
		return n, nil
	}
	var doc yaml.Node
	if !hasExoticBreak(data) {
		// The splitter cut data at every document marker, so it holds one
		// document: parse it straight from memory.
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, toSyntaxError(err, data)
		}
		if doc.Kind == 0 {
			doc.Kind = yaml.DocumentNode
		}
		return &doc, nil
	}
	// NEL, LS and PS are line breaks to libyaml but not to the splitter
	// (nor to YAML 1.2), so a marker may hide behind one: look for a
	// second document.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &yaml.Node{Kind: yaml.DocumentNode}, nil
		}
		return nil, toSyntaxError(err, data)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, toSyntaxError(err, data)
	default:
		return nil, &syntaxError{Line: extra.Line, Msg: "a second document starts here; separate documents with a line holding only ---"}
	}
	return &doc, nil
}

// hasExoticBreak reports whether data holds a character libyaml takes for
// a line break besides LF and CR: NEL (U+0085), LS (U+2028) or PS (U+2029).
func hasExoticBreak(data []byte) bool {
	return bytes.Contains(data, []byte("\u0085")) || bytes.Contains(data, []byte("\u2028")) || bytes.Contains(data, []byte("\u2029"))
}

// toSyntaxError turns a yaml.v3 parse error about data, one document,
// into a syntaxError located at the offending token: yaml.v3 gives the
// line, often the line where the enclosing collection starts, and no
// column, so the few errors whose place can be found in data are located
// here and the others by a second parser (see relocate). It runs only on
// the error path.
func toSyntaxError(err error, data []byte) *syntaxError {
	msg := err.Error()
	line, col := 0, 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = msg[len(m[0]):]
	}
	// contextLine: libyaml reported where the collection it was parsing
	// starts, not where it gave up.
	contextLine := false
	switch {
	case msg == "found incompatible YAML document":
		line, col = directivePos(data, "%YAML")
	case line > 0 && parserProblems[msg]:
		line++
		contextLine = true
	case line > 0:
	case msg == "control characters are not allowed":
		line, col = controlCharPos(data)
	case unknownAnchorRE.MatchString(msg):
		line, col = aliasPos(data, unknownAnchorRE.FindStringSubmatch(msg)[1])
	case parserProblems[msg]:
		// libyaml leaves out the line when it is the first one.
		line, contextLine = 1, true
	default:
		line = 1
	}
	if msg == "found incompatible YAML document" {
		msg = "unsupported %YAML directive (only %YAML 1.1 is understood); remove the %YAML line"
	}
	se := &syntaxError{Line: line, Column: col, Msg: msg}
	if col == 0 {
		relocate(se, data, contextLine)
	}
	return se
}

// controlCharPos returns the 1-based line and character column of the
// first character YAML does not allow in data, or 0, 0.
func controlCharPos(data []byte) (line, col int) {
	line, col = 1, 0
	for _, r := range string(data) {
		col++
		switch {
		case r == '\n':
			line, col = line+1, 0
		case r == '\t' || r == '\r':
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r <= 0x9F && r != 0x85) || r == 0xFFFE || r == 0xFFFF:
			return line, col
		}
	}
	return 0, 0
}

// aliasPos returns the 1-based line and character column of the first
// alias *name in data that stands on its own (not part of a longer word)
// and is not in a comment; or the line of the first occurrence of *name
// at all, column 0; or 0, 0.
func aliasPos(data []byte, name string) (line, col int) {
	alias := []byte("*" + name)
	first := -1
	for off := 0; ; {
		i := bytes.Index(data[off:], alias)
		if i < 0 {
			break
		}
		i += off
		if first < 0 {
			first = i
		}
		end := i + len(alias)
		before := i == 0 || bytes.IndexByte([]byte(" \t\n[{,:-"), data[i-1]) >= 0
		after := end == len(data) || bytes.IndexByte([]byte(" \t\n]},"), data[end]) >= 0
		ls := bytes.LastIndexByte(data[:i], '\n') + 1
		if before && after && !inComment(data[ls:i]) {
			return position(data, i)
		}
		off = i + 1
	}
	if first < 0 {
		return 0, 0
	}
	line, _ = position(data, first)
	return line, 0
}

// inComment reports whether what follows prefix, the start of a line, is
// in a comment: prefix holds a '#' at its start or after a blank.
func inComment(prefix []byte) bool {
	for i, c := range prefix {
		if c == '#' && (i == 0 || prefix[i-1] == ' ' || prefix[i-1] == '\t') {
			return true
		}
	}
	return false
}

// directivePos returns the 1-based line of the first line of data starting
// with directive (such as "%YAML"), and column 1; or line 1, column 0.
func directivePos(data []byte, directive string) (line, col int) {
	for i, l := range splitLines(data) {
		if bytes.HasPrefix(l, []byte(directive)) {
			return i + 1, 1
		}
	}
	return 1, 0
}

// isEmptyDoc reports whether a parsed document holds nothing to ingest.
func isEmptyDoc(doc *yaml.Node) bool {
	if doc == nil || len(doc.Content) == 0 {
		return true
	}
	r := doc.Content[0]
	return r.Kind == yaml.ScalarNode && r.ShortTag() == "!!null"
}

// aliasError reports an alias that cannot be expanded.
type aliasError struct {
	Node *yaml.Node
	Msg  string
}

func (e *aliasError) Error() string { return e.Msg }

// expandAliases replaces every alias in the tree under n by a copy of the
// node it refers to and drops all anchors. It fails, changing nothing, when
// the copies would add more than max nodes or an alias refers to a node
// that contains it. It returns the number of nodes added.
func expandAliases(n *yaml.Node, max int) (int, error) {
	if !hasAlias(n) {
		clearAnchors(n)
		return 0, nil
	}
	// Pass 1: count, with memoized sizes so that nested aliases cost linear
	// time however far they would expand.
	sizes := map[*yaml.Node]int{}
	added := 0
	var hasAlias bool
	var size func(x *yaml.Node) (int, error)
	const inProgress = -1
	size = func(x *yaml.Node) (int, error) {
		if x.Kind == yaml.AliasNode {
			hasAlias = true
			if x.Alias == nil {
				return 0, &aliasError{x, fmt.Sprintf("alias *%s refers to no anchor", x.Value)}
			}
			s, err := size(x.Alias)
			if err != nil {
				return 0, err
			}
			return s, nil
		}
		if s, ok := sizes[x]; ok {
			if s == inProgress {
				return 0, &aliasError{x, fmt.Sprintf("anchor &%s contains an alias to itself", x.Anchor)}
			}
			return s, nil
		}
		sizes[x] = inProgress
		total := 1
		for _, c := range x.Content {
			s, err := size(c)
			if err != nil {
				return 0, err
			}
			if c.Kind == yaml.AliasNode {
				added += s
				if added > max {
					return 0, &aliasError{c, fmt.Sprintf("aliases expand to more than %d nodes (the limit); write the content out instead of using anchors and aliases", max)}
				}
			}
			total += s
			if total > 1<<40 {
				total = 1 << 40
			}
		}
		sizes[x] = total
		return total, nil
	}
	if _, err := size(n); err != nil {
		return 0, err
	}
	if !hasAlias {
		clearAnchors(n)
		return 0, nil
	}
	// Pass 2: replace aliases by deep copies.
	var expand func(x *yaml.Node)
	expand = func(x *yaml.Node) {
		for i, c := range x.Content {
			if c.Kind == yaml.AliasNode {
				cp := deepCopy(c.Alias)
				// The alias's own place and comments win over the anchor's.
				cp.Line, cp.Column = c.Line, c.Column
				cp.HeadComment, cp.LineComment, cp.FootComment = c.HeadComment, c.LineComment, c.FootComment
				x.Content[i] = cp
				continue
			}
			expand(c)
		}
	}
	expand(n)
	clearAnchors(n)
	return added, nil
}

// hasAlias reports whether the tree under n holds an alias.
func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

func deepCopy(x *yaml.Node) *yaml.Node {
	if x.Kind == yaml.AliasNode {
		return deepCopy(x.Alias)
	}
	cp := *x
	cp.Anchor = ""
	if len(x.Content) > 0 {
		cp.Content = make([]*yaml.Node, len(x.Content))
		for i, c := range x.Content {
			cp.Content[i] = deepCopy(c)
		}
	}
	return &cp
}

func clearAnchors(x *yaml.Node) {
	x.Anchor = ""
	for _, c := range x.Content {
		clearAnchors(c)
	}
}

// Server-populated fields dropped by normalization.
var (
	droppedTop      = map[string]bool{"status": true}
	droppedMetadata = map[string]bool{
		"uid": true, "resourceVersion": true, "generation": true,
		"creationTimestamp": true, "managedFields": true, "selfLink": true,
	}
	topOrder      = []string{"apiVersion", "kind", "metadata", "spec"}
	metadataOrder = []string{"name", "namespace", "labels", "annotations"}
)

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// normalizeNode normalizes a parsed, alias-free document and encodes it.
// It checks that the result is a fixed point (normalizing it again changes
// nothing); stable reports whether the first encoding already was one.
func normalizeNode(doc *yaml.Node) (out []byte, stable bool, err error) {
	transform(doc)
	return normalizeTransformed(doc)
}

// normalizeTransformed is normalizeNode for a document transform has been applied to.
func normalizeTransformed(doc *yaml.Node) (out []byte, stable bool, err error) {
	out, err = encode(doc)
	if err != nil {
		return nil, false, err
	}
	// The encoder is a function of the node tree alone (kinds, tags,
	// styles, values, anchors, comments; not positions), so if the output
	// parses back to the same tree, normalizing it again gives the same
	// bytes, and one encoding is enough to know it.
	if again, err := parseDoc(out); err == nil && !isEmptyDoc(again) {
		if _, err := expandAliases(again, defaultMaxAliasExpansion); err == nil {
			transform(again)
			if sameTree(doc, again) {
				return out, true, nil
			}
		}
	}
	// The YAML library moves some comments on a round trip; iterate a few
	// times to a fixed point, and as a last resort drop the comments.
	cur := out
	for range 4 {
		next, err := renormalize(cur)
		if err != nil {
			break
		}
		if bytes.Equal(next, cur) {
			return cur, false, nil
		}
		cur = next
	}
	stripComments(doc)
	out, err = encode(doc)
	if err != nil {
		return nil, false, err
	}
	next, err := renormalize(out)
	if err == nil && bytes.Equal(next, out) {
		return out, false, nil
	}
	return nil, false, errors.New("the YAML library cannot write this document back stably")
}

// sameTree reports whether a and b are equal in everything the encoder
// looks at.
func sameTree(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value ||
		a.Anchor != b.Anchor || a.HeadComment != b.HeadComment || a.LineComment != b.LineComment ||
		a.FootComment != b.FootComment || len(a.Content) != len(b.Content) || (a.Alias == nil) != (b.Alias == nil) {
		return false
	}
	for i := range a.Content {
		if !sameTree(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// normalizeOnce normalizes a parsed, alias-free document and encodes it once, as ingest does
// for every document: the fixed-point check of normalizeNode (parse the output back and
// compare) runs only where it matters, for documents with comments (yaml.v3 moves some
// comments on a round trip) and for the shapes ingest's own writer leaves to yaml.v3. A
// document of block mappings and sequences of single-line scalars without comments, as
// appendDoc writes it, parses back to a tree that writes the same bytes; FuzzNormalize and
// FuzzIngest check that on their corpora.
//
// sizeHint is the expected length of the output (the raw document's, say), so that the output
// buffer is allocated once.
func normalizeOnce(doc *yaml.Node, sizeHint int) ([]byte, error) {
	transform(doc)
	if out, ok := appendDoc(make([]byte, 0, sizeHint+sizeHint/8+16), doc); ok && stableComments(doc) {
		return out, nil
	}
	out, _, err := normalizeTransformed(doc)
	return out, err
}

// stableComments reports whether the comments under n, a tree appendDoc writes, are of the
// kinds yaml.v3's parser reads back onto the same nodes: comments above the document, keys
// and sequence items and below the last pair of a nested mapping (the foot comments appendDoc
// takes) with no blank line in them, and comments after scalar values. A blank line splits a
// comment in two when it is read again, the part above becoming the foot comment of what
// precedes it.
func stableComments(n *yaml.Node) bool {
	if !unbroken(n.HeadComment) || !unbroken(n.FootComment) {
		return false
	}
	for _, c := range n.Content {
		if !stableComments(c) {
			return false
		}
	}
	return true
}

// unbroken reports whether the comment c has no blank line in it, before it or after it.
func unbroken(c string) bool {
	return c == "" || !strings.Contains(c, "\n\n") && c[0] != '\n' && c[len(c)-1] != '\n'
}

// renormalize runs one normalization pass over encoded output.
func renormalize(b []byte) ([]byte, error) {
	n, err := parseDoc(b)
	if err != nil {
		return nil, err
	}
	if isEmptyDoc(n) {
		return nil, ErrEmpty
	}
	if _, err := expandAliases(n, defaultMaxAliasExpansion); err != nil {
		return nil, err
	}
	transform(n)
	return encode(n)
}

// encode writes doc as yaml.v3's Encoder with SetIndent(2) does: with ingest's own writer
// (appendDoc) where it can, else with yaml.v3.
func encode(doc *yaml.Node) (out []byte, err error) {
	if out, ok := appendDoc(nil, doc); ok {
		return out, nil
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("YAML encoder failed: %v", r)
		}
	}()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// transform applies the normalization rules to a document in place.
func transform(doc *yaml.Node) {
	blockStyle(doc)
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return
	}
	dropKeys(root, droppedTop)
	if md := lookup(root, "metadata"); md != nil && md.Kind == yaml.MappingNode {
		dropKeys(md, droppedMetadata)
		if ann := lookup(md, "annotations"); ann != nil && ann.Kind == yaml.MappingNode {
			if dropKeys(ann, map[string]bool{lastApplied: true}) && len(ann.Content) == 0 {
				dropKeys(md, map[string]bool{"annotations": true})
			}
		}
		reorder(md, metadataOrder)
	}
	// A comment above the first key is the document's header: it stays on
	// top when the keys move.
	if len(root.Content) > 0 {
		first := root.Content[0]
		reorder(root, topOrder)
		if now := root.Content[0]; now != first && first.HeadComment != "" && now.HeadComment == "" {
			now.HeadComment, first.HeadComment = first.HeadComment, ""
		}
	}
}

// blockStyle turns flow collections into block ones.
func blockStyle(n *yaml.Node) {
	n.Style &^= yaml.FlowStyle
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// lookup returns the value of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// dropKeys removes the pairs of mapping m whose keys are in drop and
// reports whether it removed any.
func dropKeys(m *yaml.Node, drop map[string]bool) bool {
	kept := m.Content[:0]
	dropped := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind == yaml.ScalarNode && drop[k.Value] {
			dropped = true
			continue
		}
		kept = append(kept, k, m.Content[i+1])
	}
	m.Content = kept
	return dropped
}

// reorder moves the keys of mapping m named in first to the front, in that
// order; the others keep their order.
func reorder(m *yaml.Node, first []string) {
	n := len(m.Content) / 2
	if n < 2 {
		return
	}
	out := make([]*yaml.Node, 0, len(m.Content))
	taken := make([]bool, n)
	for _, key := range first {
		for i := 0; i < n; i++ {
			if k := m.Content[2*i]; !taken[i] && k.Kind == yaml.ScalarNode && k.Value == key {
				out = append(out, k, m.Content[2*i+1])
				taken[i] = true
				break
			}
		}
	}
	for i := 0; i < n; i++ {
		if !taken[i] {
			out = append(out, m.Content[2*i], m.Content[2*i+1])
		}
	}
	copy(m.Content, out)
}

func stripComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		stripComments(c)
	}
}
