package validate

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema rule IDs.
const (
	RuleSchema             = "schema"               // the document does not match its CRD's schema
	RuleSchemaUnknownField = "schema-unknown-field" // a field the CRD's schema does not declare
	RuleSchemaVersion      = "schema-version"       // an apiVersion the CRD does not serve
)

// schemaRules are the rules of the CRD schema check.
var schemaRules = []Rule{
	{ID: RuleSchema, Doc: "the document matches the openAPIV3Schema of its CRD (types, enums, ranges, patterns, required fields)", Severity: Error},
	{ID: RuleSchemaUnknownField, Doc: "every field is one the CRD's schema declares (Kubernetes silently drops the others, typos included)", Severity: Warning, Strict: true},
	{ID: RuleSchemaVersion, Doc: "the document's apiVersion is one its CRD serves (otherwise the document is not schema-checked)", Severity: Warning, Strict: true},
}

// check checks c's document against the schema of its CRD, if there is
// one for its group and kind. Like Kubernetes, it first drops what the
// schema does not declare (reporting each unknown field) and nulls the
// schema does not allow (defaulting them when the schema has a default),
// then validates what is left; status is not checked, ingest drops it.
func (s *schemaSet) check(c *docCtx) {
	e := s.crds[groupKind{c.d.Group, c.d.Kind}]
	if e == nil {
		return
	}
	ver := e.versions[c.d.Version]
	if ver == nil || !ver.served {
		served := "none"
		if len(e.served) > 0 {
			served = strings.Join(e.served, ", ")
		}
		at := Get(c.d.Root, "apiVersion")
		if at == nil {
			at = c.d.Root
		}
		c.report(RuleSchemaVersion, at, "%s/%s is not served by the CRD for %s (served: %s); the document is not schema-checked", c.d.Group, c.d.Version, e.kind, served)
		return
	}
	w := pruneWalker{c: c}
	value := w.mapping(c.d.Root, ver.shape, true)
	err := ver.schema.Validate(value)
	if err == nil {
		return
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		c.report(RuleSchema, nil, "cannot check the document against the CRD for %s: %v", e.kind, err)
		return
	}
	var found []schemaProblem
	for _, l := range leafErrors(ve) {
		found = append(found, describeLeaf(c.d.Root, l)...)
	}
	slices.SortFunc(found, func(a, b schemaProblem) int {
		if a.at.Line != b.at.Line {
			return a.at.Line - b.at.Line
		}
		if a.at.Column != b.at.Column {
			return a.at.Column - b.at.Column
		}
		return strings.Compare(a.msg, b.msg)
	})
	found = slices.CompactFunc(found, func(a, b schemaProblem) bool { return a.at == b.at && a.msg == b.msg })
	for _, p := range found {
		c.report(RuleSchema, p.at, "%s", p.msg)
	}
}

// schemaProblem is one schema error, located at a node of the document.
type schemaProblem struct {
	at  *yaml.Node
	msg string
}

// pathElem is one step of a field path: a key, or an index when isIndex.
type pathElem struct {
	key     string
	index   int
	isIndex bool
}

// pruneWalker converts a document to the value the validator takes, the way
// Kubernetes prunes it, reporting unknown fields as it goes.
type pruneWalker struct {
	c    *docCtx
	path []pathElem
}

// value converts n, whose schema declares sh. ok is false when n is a
// value JSON cannot carry (reported); the caller drops it.
func (w *pruneWalker) value(n *yaml.Node, sh *fieldShape) (v any, ok bool) {
	n = derefAlias(n)
	if n == nil {
		return nil, true
	}
	switch n.Kind {
	case yaml.MappingNode:
		if sh == nil || !sh.object {
			return plainValue(n), true
		}
		return w.mapping(n, sh, false), true
	case yaml.SequenceNode:
		if sh == nil || sh.items == nil {
			return plainValue(n), true
		}
		a := make([]any, len(n.Content))
		for i, it := range n.Content {
			w.path = append(w.path, pathElem{index: i, isIndex: true})
			a[i], _ = w.value(it, sh.items)
			w.path = w.path[:len(w.path)-1]
		}
		return a, true
	case yaml.ScalarNode:
		v, ok := scalarValue(n)
		if !ok {
			w.c.report(RuleSchema, n, "%s", prefixed(pathString(w.path), "must be a finite number, got "+n.Value))
		}
		return v, ok
	}
	return nil, true
}

// mapping converts the mapping n, whose schema declares the object sh:
// undeclared keys are reported and dropped, nulls the schema does not
// allow are dropped or defaulted. At the root, status is dropped.
func (w *pruneWalker) mapping(n *yaml.Node, sh *fieldShape, root bool) map[string]any {
	m := make(map[string]any, len(n.Content)/2)
	eachPair(n, func(k, v *yaml.Node) {
		name := k.Value
		if root && name == "status" {
			return
		}
		child, declared := sh.props[name]
		if !declared {
			switch {
			case sh.additional != nil:
				child = sh.additional
			case sh.anyKey || sh.closed:
				m[name] = plainValue(v)
				return
			default:
				w.unknown(k, name, sh)
				delete(m, name) // a merged key of the same name
				return
			}
		}
		if child != nil && !child.nullable && isNull(derefAlias(v)) {
			if child.hasDefault {
				m[name] = child.def
			} else {
				delete(m, name)
			}
			return
		}
		w.path = append(w.path, pathElem{key: name})
		val, ok := w.value(v, child)
		w.path = w.path[:len(w.path)-1]
		if ok {
			m[name] = val
		} else {
			delete(m, name)
		}
	})
	return m
}

// unknown reports the undeclared key k (name) of an object of shape sh.
func (w *pruneWalker) unknown(k *yaml.Node, name string, sh *fieldShape) {
	p := pathString(append(w.path, pathElem{key: name}))
	if s := suggestField(name, sh.known); s != "" {
		w.c.report(RuleSchemaUnknownField, k, "unknown field %s (did you mean %s?)", p, s)
		return
	}
	w.c.report(RuleSchemaUnknownField, k, "unknown field %s", p)
}

// derefAlias follows alias nodes.
func derefAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pathString renders a field path in dotted form: spec.links[0].spine.
// Keys that are not plain words are quoted: metadata.annotations["a/b"].
func pathString(path []pathElem) string {
	var b strings.Builder
	for _, e := range path {
		switch {
		case e.isIndex:
			fmt.Fprintf(&b, "[%d]", e.index)
		case isPlainKey(e.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		default:
			fmt.Fprintf(&b, "[%q]", e.key)
		}
	}
	return b.String()
}

// isPlainKey reports whether a key can stand in a dotted path unquoted.
func isPlainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		plain := r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !plain {
			return false
		}
	}
	return true
}

// prefixed is "path: msg", or msg alone for the document itself.
func prefixed(path, msg string) string {
	if path == "" {
		return msg
	}
	return path + ": " + msg
}

// suggestField returns the name in known closest to name by edit distance,
// when it is close enough to be a likely typo; "" otherwise.
func suggestField(name string, known []string) string {
	best, bestD := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	if bestD < 0 {
		return ""
	}
	n := len([]rune(name))
	if bestD == 0 || bestD <= 2 && bestD*3 <= n {
		return best
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b,
// in runes: insertions, deletions, substitutions and transpositions of
// neighbours ("anme" for "name") cost 1 each.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// leafErrors flattens a validation error to the errors that say what is
// wrong: groups, references and failed combinators give their causes.
// Where null was translated in as an alternative (nullable with
// combinators), the "must be null" branch is left out.
func leafErrors(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	var out []*jsonschema.ValidationError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, e)
			return
		}
		causes := e.Causes
		if _, ok := e.ErrorKind.(*kind.AnyOf); ok && len(causes) > 1 {
			causes = slices.DeleteFunc(slices.Clone(causes), func(c *jsonschema.ValidationError) bool {
				t, ok := c.ErrorKind.(*kind.Type)
				return ok && len(c.Causes) == 0 && len(t.Want) == 1 && t.Want[0] == "null"
			})
		}
		for _, c := range causes {
			walk(c)
		}
	}
	walk(e)
	return out
}

// describeLeaf turns a leaf error into the problems a person reads, each at
// the node to look at: the value for a scalar, the key for a block
// mapping or list, the parent mapping for a missing field.
func describeLeaf(root *yaml.Node, e *jsonschema.ValidationError) []schemaProblem {
	key, val, path := locateInstance(root, e.InstanceLocation)
	at := val
	if val != nil && (val.Kind == yaml.MappingNode || val.Kind == yaml.SequenceNode) && val.Style&yaml.FlowStyle == 0 && key != nil {
		at = key
	}
	if at == nil {
		at = root
	}
	p := pathString(path)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		out := make([]schemaProblem, 0, len(k.Missing))
		for _, f := range k.Missing {
			out = append(out, schemaProblem{at, prefixed(pathString(append(path, pathElem{key: f})), "required field is missing")})
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]schemaProblem, 0, len(k.Properties))
		for _, f := range k.Properties {
			fk, _, fp := locateInstance(root, append(slices.Clone(e.InstanceLocation), f))
			if fk == nil {
				fk = at
			}
			out = append(out, schemaProblem{fk, prefixed(pathString(fp), "field is not allowed here")})
		}
		return out
	case *kind.Dependency:
		return []schemaProblem{{at, prefixed(p, fmt.Sprintf("%s required when %s is set", strings.Join(k.Missing, ", "), k.Prop))}}
	case *kind.DependentRequired:
		return []schemaProblem{{at, prefixed(p, fmt.Sprintf("%s required when %s is set", strings.Join(k.Missing, ", "), k.Prop))}}
	}
	return []schemaProblem{{at, prefixed(p, describeValue(e.ErrorKind, val))}}
}

// locateInstance finds the nodes of an instance location (JSON pointer tokens):
// the key node (nil for a list item or the root), the value node, and the
// path as far as it resolved.
func locateInstance(root *yaml.Node, tokens []string) (key, val *yaml.Node, path []pathElem) {
	val = root
	for _, tok := range tokens {
		n := derefAlias(val)
		if n == nil {
			break
		}
		var nk, nv *yaml.Node
		var elem pathElem
		switch n.Kind {
		case yaml.MappingNode:
			eachPair(n, func(k, v *yaml.Node) {
				if k.Value == tok {
					nk, nv = k, v
				}
			})
			elem = pathElem{key: tok}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err == nil && i >= 0 && i < len(n.Content) {
				nv = n.Content[i]
			}
			elem = pathElem{index: i, isIndex: true}
		}
		if nv == nil {
			break
		}
		key, val = nk, derefAlias(nv)
		path = append(path, elem)
	}
	return key, val, path
}

// schemaPrinter localizes the library's own messages, for the kinds this file
// does not word itself.
var schemaPrinter = message.NewPrinter(language.English)

// schemaTypeNames words JSON Schema types for people who write YAML.
var schemaTypeNames = map[string]string{
	"object":  "a mapping",
	"array":   "a list",
	"string":  "a string",
	"integer": "an integer",
	"number":  "a number",
	"boolean": "true or false",
	"null":    "null",
}

// describeValue words a problem with a value, n its node (nil when
// unknown: the library's own account of the value is used).
func describeValue(k jsonschema.ErrorKind, n *yaml.Node) string {
	got := func(v any) string {
		if n != nil {
			return showNode(n)
		}
		return showValue(v)
	}
	switch k := k.(type) {
	case *kind.Type:
		var want []string
		null := false
		for _, t := range k.Want {
			switch {
			case t == "null":
				null = true // last: "a string or null"
			case schemaTypeNames[t] != "":
				want = append(want, schemaTypeNames[t])
			default:
				want = append(want, t)
			}
		}
		if null {
			want = append(want, "null")
		}
		msg := "must be " + strings.Join(want, " or ") + ", got "
		if n != nil {
			msg += showNode(n)
			if n.Kind == yaml.ScalarNode && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && n.ShortTag() == "!!str" {
				var probe yaml.Node
				if yaml.Unmarshal([]byte(n.Value), &probe) == nil && len(probe.Content) == 1 && probe.Content[0].Kind == yaml.ScalarNode {
					t := probe.Content[0].ShortTag()
					if t == "!!int" && (slices.Contains(k.Want, "integer") || slices.Contains(k.Want, "number")) ||
						t == "!!float" && slices.Contains(k.Want, "number") ||
						t == "!!bool" && slices.Contains(k.Want, "boolean") {
						msg += " (remove the quotes)"
					}
				}
			}
			return msg
		}
		return msg + k.Got
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, v := range k.Want {
			want[i] = showEnum(v)
		}
		if len(want) == 1 {
			return "must be " + want[0] + ", got " + got(k.Got)
		}
		return "must be one of " + strings.Join(want, ", ") + ", got " + got(k.Got)
	case *kind.Const:
		return "must be " + showEnum(k.Want) + ", got " + got(k.Got)
	case *kind.Minimum:
		return "must be at least " + showRat(k.Want) + ", got " + showRat(k.Got)
	case *kind.Maximum:
		return "must be at most " + showRat(k.Want) + ", got " + showRat(k.Got)
	case *kind.ExclusiveMinimum:
		return "must be greater than " + showRat(k.Want) + ", got " + showRat(k.Got)
	case *kind.ExclusiveMaximum:
		return "must be less than " + showRat(k.Want) + ", got " + showRat(k.Got)
	case *kind.MultipleOf:
		return "must be a multiple of " + showRat(k.Want) + ", got " + showRat(k.Got)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %s long, got %d", schemaCount(k.Want, "character"), k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %s long, got %d", schemaCount(k.Want, "character"), k.Got)
	case *kind.Pattern:
		return fmt.Sprintf("must match the pattern %s, got %q", k.Want, k.Got)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %s, got %d", schemaCount(k.Want, "item"), k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %s, got %d", schemaCount(k.Want, "item"), k.Got)
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %s, got %d", schemaCount(k.Want, "field"), k.Got)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %s, got %d", schemaCount(k.Want, "field"), k.Got)
	case *kind.UniqueItems:
		return fmt.Sprintf("must not hold the same item twice: [%d] and [%d] are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.PropertyNames:
		return fmt.Sprintf("field name %q is not allowed", k.Property)
	case *kind.Format:
		return fmt.Sprintf("must be a valid %s, got %s", k.Want, got(k.Got))
	case *kind.FalseSchema:
		return "is not allowed here"
	case *kind.Not:
		return `must not match the schema's "not" condition`
	case *kind.OneOf:
		if len(k.Subschemas) > 1 {
			return fmt.Sprintf("must match exactly one of the schema's alternatives, matches %d and %d", k.Subschemas[0], k.Subschemas[1])
		}
		return "matches none of the schema's alternatives"
	case *kind.AnyOf, *kind.AllOf:
		return "matches none of the schema's alternatives"
	}
	return describeKind(k)
}

// describeKind is the library's own wording of an error kind.
func describeKind(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Required:
		return "missing required field(s) " + strings.Join(k.Missing, ", ")
	case *kind.AdditionalProperties:
		return "field(s) not allowed: " + strings.Join(k.Properties, ", ")
	case *kind.Type, *kind.Enum, *kind.Const:
		return describeValue(k, nil)
	}
	return k.LocalizedString(schemaPrinter)
}

// schemaCount is "1 item", "2 items".
func schemaCount(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// showRat shows a number: integers exactly, others as floats.
func showRat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// showEnum shows an allowed value: strings bare, null as null.
func showEnum(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// showValue shows a value: strings quoted.
func showValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "null"
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// showNode shows a node as the person wrote it: strings quoted, other
// scalars as written, collections by their kind.
func showNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str", "!!timestamp", "!!binary":
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "a value"
}
