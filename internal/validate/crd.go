package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// This file reads CustomResourceDefinition files and compiles their
// schemas; schema.go checks documents against them.

// crdAPIVersion is the only CRD API this package reads.
const crdAPIVersion = "apiextensions.k8s.io/v1"

// groupKind names a CRD: its API group and its kind.
type groupKind struct{ group, kind string }

// crdEntry is one CRD: its versions by name, and which of them it serves.
type crdEntry struct {
	group, kind string
	file        string                 // the CRD file, for messages
	versions    map[string]*crdVersion // by version name
	served      []string               // names of the served versions, in the CRD's order
}

// crdVersion is one version of a CRD, its schema compiled.
type crdVersion struct {
	name   string
	served bool
	schema *jsonschema.Schema // the translated openAPIV3Schema
	shape  *fieldShape        // what the schema declares, for pruning and unknown fields
}

// fieldShape is what a structural schema declares of a value, as Kubernetes
// uses it to prune unknown fields and non-nullable nulls before it
// validates. A nil *fieldShape declares nothing: anything goes below it.
type fieldShape struct {
	object     bool                   // the schema describes an object (type object, properties or additionalProperties)
	props      map[string]*fieldShape // declared properties
	additional *fieldShape            // additionalProperties as a schema: the shape of every other key
	anyKey     bool                   // other keys are kept as they are: additionalProperties true, x-kubernetes-preserve-unknown-fields
	closed     bool                   // additionalProperties false: other keys are kept for the schema to reject
	items      *fieldShape            // the shape of array items
	nullable   bool                   // null is a value here; otherwise a null property is dropped (or defaulted)
	hasDefault bool
	def        any      // the default, when hasDefault
	known      []string // declared property names, sorted, for suggestions
}

// schemaSet holds the compiled CRDs of a Config. It is immutable once
// built, so check is safe for concurrent use.
type schemaSet struct {
	crds map[groupKind]*crdEntry
}

// alwaysFails is the URL loader of every compiler: CRD schemas do not
// reference other documents, and the package does no I/O.
type alwaysFails struct{}

// Load refuses every URL.
func (alwaysFails) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas may not reference other documents (%s)", url)
}

// compileSchemas reads and compiles the CRD files. Any problem with a file
// is a *ConfigError naming it.
func compileSchemas(files []CRDFile) (*schemaSet, error) {
	s := &schemaSet{crds: map[groupKind]*crdEntry{}}
	for _, f := range files {
		if err := s.addFile(f); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// addFile reads one CRD file into s.
func (s *schemaSet) addFile(f CRDFile) (err error) {
	fail := func(format string, args ...any) error {
		return &ConfigError{File: f.Name, Msg: fmt.Sprintf(format, args...)}
	}
	defer func() {
		// Nothing here should panic; if it does, it is still the file's
		// problem to report, not a crash.
		if r := recover(); r != nil {
			err = fail("cannot read the CRDs: %v", r)
		}
	}()
	if len(bytes.TrimSpace(f.Data)) == 0 {
		return fail("the file is empty: it holds no %s CustomResourceDefinition", crdAPIVersion)
	}
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	found := 0
	var otherCRDAPIs []string
	for i := 1; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail("not valid YAML: %v", err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		apiVersion, _ := getStr(root, "apiVersion")
		kind, _ := getStr(root, "kind")
		if kind != "CustomResourceDefinition" {
			continue
		}
		if apiVersion != crdAPIVersion {
			otherCRDAPIs = append(otherCRDAPIs, apiVersion)
			continue
		}
		found++
		if err := s.addCRD(f.Name, i, root); err != nil {
			return fail("%v", err)
		}
	}
	if found == 0 {
		if len(otherCRDAPIs) > 0 {
			return fail("holds no %s CustomResourceDefinition (it holds one of %s, which is not supported)", crdAPIVersion, strings.Join(otherCRDAPIs, ", "))
		}
		return fail("holds no %s CustomResourceDefinition", crdAPIVersion)
	}
	return nil
}

// addCRD compiles the CRD document at root (document number doc of file).
func (s *schemaSet) addCRD(file string, doc int, root *yaml.Node) error {
	name, _ := getStr(root, "metadata", "name")
	what := fmt.Sprintf("document %d", doc)
	if name != "" {
		what += " (CRD " + name + ")"
	}
	group, _ := getStr(root, "spec", "group")
	if group == "" {
		return fmt.Errorf("%s: the CRD has no spec.group", what)
	}
	kind, _ := getStr(root, "spec", "names", "kind")
	if kind == "" {
		return fmt.Errorf("%s: the CRD has no spec.names.kind", what)
	}
	versions := items(Get(root, "spec", "versions"))
	if len(versions) == 0 {
		return fmt.Errorf("%s: the CRD has no spec.versions", what)
	}
	gk := groupKind{group, kind}
	if prev, dup := s.crds[gk]; dup {
		return fmt.Errorf("%s: a second CRD for %s (%s); the first is in %s", what, kind, group, prev.file)
	}
	e := &crdEntry{group: group, kind: kind, file: file, versions: map[string]*crdVersion{}}
	for i, vn := range versions {
		vname, _ := getStr(vn, "name")
		if vname == "" {
			return fmt.Errorf("%s: spec.versions[%d] has no name", what, i)
		}
		if _, dup := e.versions[vname]; dup {
			return fmt.Errorf("%s: version %s is listed twice", what, vname)
		}
		served, _ := boolOf(Get(vn, "served"))
		schemaNode := Get(vn, "schema", "openAPIV3Schema")
		if schemaNode == nil || schemaNode.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: version %s has no schema.openAPIV3Schema mapping", what, vname)
		}
		raw := plainValue(schemaNode)
		sch, err := compileOne("crd:///"+group+"/"+kind+"/"+vname, raw)
		if err != nil {
			return fmt.Errorf("%s: version %s: schema.openAPIV3Schema does not compile: %w", what, vname, err)
		}
		e.versions[vname] = &crdVersion{name: vname, served: served, schema: sch, shape: rootShape(raw)}
		if served {
			e.served = append(e.served, vname)
		}
	}
	s.crds[gk] = e
	return nil
}

// compileOne translates one openAPIV3Schema to JSON Schema 2020-12 and
// compiles it on a compiler of its own.
func compileOne(url string, raw any) (sch *jsonschema.Schema, err error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(alwaysFails{})
	// Formats are annotations only: Kubernetes' formats (int32, int64,
	// byte, its own date-time) are not the library's, and a format the
	// validator would check differently from Kubernetes is worse than none.
	if err := c.AddResource(url, translateSchema(raw)); err != nil {
		return nil, err
	}
	sch, err = c.Compile(url)
	if err != nil {
		return nil, describeCompileError(err)
	}
	return sch, nil
}

// describeCompileError makes a metaschema failure readable: each leaf
// problem with its place in the schema.
func describeCompileError(err error) error {
	var sve *jsonschema.SchemaValidationError
	if !errors.As(err, &sve) {
		return err
	}
	var ve *jsonschema.ValidationError
	if !errors.As(sve.Err, &ve) {
		return err
	}
	var msgs []string
	for _, l := range leafErrors(ve) {
		p := "openAPIV3Schema"
		for _, tok := range l.InstanceLocation {
			if _, err := strconv.Atoi(tok); err == nil {
				p += "[" + tok + "]"
			} else {
				p += "." + tok
			}
		}
		msgs = append(msgs, p+": "+describeKind(l.ErrorKind))
	}
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}

// plainValue converts a YAML node to the plain values JSON has
// (map[string]any, []any, string, bool, nil, int64 and float64), without
// any schema. Merge keys (<<) are applied.
func plainValue(n *yaml.Node) any {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return plainValue(n.Content[0])
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		eachPair(n, func(k, v *yaml.Node) { m[k.Value] = plainValue(v) })
		return m
	case yaml.SequenceNode:
		a := make([]any, len(n.Content))
		for i, c := range n.Content {
			a[i] = plainValue(c)
		}
		return a
	}
	v, _ := scalarValue(n)
	return v
}

// eachPair calls f for each key and value of mapping n, expanding merge
// keys: merged pairs come first, so that n's own keys win when the caller
// keeps the last value of a key.
func eachPair(n *yaml.Node, f func(k, v *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for v != nil && v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			switch {
			case v == nil:
			case v.Kind == yaml.MappingNode:
				eachPair(v, f)
			case v.Kind == yaml.SequenceNode:
				for _, m := range v.Content {
					for m != nil && m.Kind == yaml.AliasNode {
						m = m.Alias
					}
					if m != nil && m.Kind == yaml.MappingNode {
						eachPair(m, f)
					}
				}
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			continue
		}
		f(k, n.Content[i+1])
	}
}

// scalarValue converts a scalar node to its JSON value: YAML integers to
// int64 (uint64 past its range), floats to float64, booleans, null, and everything else (strings,
// timestamps, binary, custom tags) to its text. ok is false for a float
// JSON cannot carry (.inf, .nan).
func scalarValue(n *yaml.Node) (v any, ok bool) {
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b, true
		}
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
		return n.Value, true
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return i, true
		}
		var x any
		if err := n.Decode(&x); err == nil {
			switch x := x.(type) {
			case int:
				return int64(x), true
			case int64:
				return x, true
			case uint64:
				if x <= math.MaxInt64 {
					return int64(x), true
				}
				return x, true
			case float64:
				return x, !math.IsInf(x, 0) && !math.IsNaN(x)
			}
		}
		return n.Value, true
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, true
		}
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, !math.IsInf(f, 0) && !math.IsNaN(f)
		}
		return n.Value, true
	}
	return n.Value, true
}

// translateSchema returns a copy of an OpenAPI v3 structural schema (as plain
// values) as JSON Schema 2020-12:
//   - nullable: true allows null (in type and enum);
//   - x-kubernetes-int-or-string: true is type integer or string;
//   - exclusiveMinimum/exclusiveMaximum: true (OpenAPI's booleans) become
//     the 2020-12 numbers;
//   - x-kubernetes-* extensions are dropped (x-kubernetes-validations, the
//     CEL rules, are not checked here).
//
// Shapes it does not understand are left for the compiler to reject.
func translateSchema(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		switch {
		case strings.HasPrefix(k, "x-kubernetes-"), k == "nullable":
			// handled below or dropped
		case k == "properties", k == "patternProperties", k == "definitions", k == "$defs", k == "dependentSchemas":
			if sub, ok := val.(map[string]any); ok {
				t := make(map[string]any, len(sub))
				for name, s := range sub {
					t[name] = translateSchema(s)
				}
				out[k] = t
			} else {
				out[k] = val
			}
		case k == "additionalProperties", k == "items", k == "not", k == "additionalItems", k == "propertyNames", k == "contains":
			if list, ok := val.([]any); ok && k == "items" {
				// OpenAPI has no tuple items; 2020-12 calls them prefixItems
				t := make([]any, len(list))
				for i, s := range list {
					t[i] = translateSchema(s)
				}
				out["prefixItems"] = t
			} else {
				out[k] = translateSchema(val)
			}
		case k == "allOf", k == "anyOf", k == "oneOf":
			if list, ok := val.([]any); ok {
				t := make([]any, len(list))
				for i, s := range list {
					t[i] = translateSchema(s)
				}
				out[k] = t
			} else {
				out[k] = val
			}
		default:
			out[k] = val
		}
	}
	for _, ex := range [...]struct{ flag, bound string }{{"exclusiveMinimum", "minimum"}, {"exclusiveMaximum", "maximum"}} {
		if b, ok := out[ex.flag].(bool); ok {
			delete(out, ex.flag)
			if bound, has := out[ex.bound]; b && has {
				out[ex.flag] = bound
				delete(out, ex.bound)
			}
		}
	}
	if m["x-kubernetes-int-or-string"] == true {
		if _, has := out["type"]; !has {
			out["type"] = []any{"integer", "string"}
		}
	}
	if m["nullable"] == true {
		switch t := out["type"].(type) {
		case string:
			out["type"] = []any{t, "null"}
		case []any:
			if !slices.Contains(t, any("null")) {
				out["type"] = append(slices.Clip(t), "null")
			}
		}
		if e, ok := out["enum"].([]any); ok && !slices.Contains(e, nil) {
			out["enum"] = append(slices.Clip(e), nil)
		}
		_, all := out["allOf"]
		_, anyOf := out["anyOf"]
		_, one := out["oneOf"]
		_, not := out["not"]
		if all || anyOf || one || not {
			// null must pass the combinators too: null or the rest.
			return map[string]any{"anyOf": []any{map[string]any{"type": "null"}, out}}
		}
	}
	return out
}

// objectMetaFields are the fields of a Kubernetes ObjectMeta, which a CRD
// schema does not describe (its metadata is just "type: object").
var objectMetaFields = []string{
	"annotations", "creationTimestamp", "deletionGracePeriodSeconds", "deletionTimestamp",
	"finalizers", "generateName", "generation", "labels", "managedFields", "name",
	"namespace", "ownerReferences", "resourceVersion", "selfLink", "uid",
}

// rootShape is the shape of a resource whose schema is raw: the schema's,
// with apiVersion, kind and an ObjectMeta metadata always known, and
// status left out (ingest drops it).
func rootShape(raw any) *fieldShape {
	sh := shapeOf(raw)
	if sh == nil {
		sh = &fieldShape{}
	}
	embedObjectMeta(sh)
	return sh
}

// embedObjectMeta makes sh the shape of a Kubernetes object: apiVersion, kind and
// metadata are known whatever the schema says, metadata with the fields of
// ObjectMeta.
func embedObjectMeta(sh *fieldShape) {
	sh.object = true
	if sh.props == nil {
		sh.props = map[string]*fieldShape{}
	}
	for _, k := range []string{"apiVersion", "kind"} {
		if sh.props[k] == nil {
			sh.props[k] = &fieldShape{}
		}
	}
	md := sh.props["metadata"]
	if md == nil {
		md = &fieldShape{}
		sh.props["metadata"] = md
	}
	md.object = true
	if md.props == nil {
		md.props = map[string]*fieldShape{}
	}
	for _, f := range objectMetaFields {
		if md.props[f] == nil {
			md.props[f] = &fieldShape{anyKey: true}
		}
	}
	md.known = sortedKeys(md.props)
	sh.known = sortedKeys(sh.props)
	if !slices.Contains(sh.known, "status") {
		sh.known = append(sh.known, "status")
		sort.Strings(sh.known)
	}
}

// shapeOf builds the shape a raw (untranslated) schema declares. Properties
// declared under allOf, anyOf or oneOf count as declared too.
func shapeOf(v any) *fieldShape {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	sh := &fieldShape{}
	sh.nullable = m["nullable"] == true
	if d, ok := m["default"]; ok {
		sh.hasDefault, sh.def = true, d
	}
	if m["type"] == "object" {
		sh.object = true
	}
	if m["x-kubernetes-preserve-unknown-fields"] == true {
		sh.anyKey = true
	}
	addProps := func(m map[string]any) {
		if props, ok := m["properties"].(map[string]any); ok {
			sh.object = true
			if sh.props == nil {
				sh.props = make(map[string]*fieldShape, len(props))
			}
			for name, s := range props {
				if sh.props[name] == nil {
					sh.props[name] = shapeOf(s)
				}
			}
		}
	}
	addProps(m)
	for _, comb := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := m[comb].([]any); ok {
			for _, s := range list {
				if sm, ok := s.(map[string]any); ok {
					addProps(sm)
				}
			}
		}
	}
	switch ap := m["additionalProperties"].(type) {
	case bool:
		sh.object = true
		if ap {
			sh.anyKey = true
		} else {
			sh.closed = true
		}
	case map[string]any:
		sh.object = true
		sh.additional = shapeOf(ap)
		if sh.additional == nil {
			sh.anyKey = true
		}
	}
	if it, ok := m["items"].(map[string]any); ok {
		sh.items = shapeOf(it)
	}
	if m["x-kubernetes-embedded-resource"] == true {
		embedObjectMeta(sh)
	}
	if sh.known == nil && len(sh.props) > 0 {
		sh.known = sortedKeys(sh.props)
	}
	return sh
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string]*fieldShape) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
