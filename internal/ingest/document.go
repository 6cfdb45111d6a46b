package ingest

import (
	"errors"
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/validate"
)

// docResult is what processing one raw document found.
type docResult struct {
	Doc      rawDoc
	Problems []Problem
	Empty    bool

	APIVersion, Group, Kind, Namespace, Name string
	Path                                     string // e.g. "managed/vpcs/vpc-1.yaml"
	Managed                                  bool
	NameLine, NameCol                        int // where metadata.name is, in the file

	// Delete marks a delete document (DeleteAnnotation): Path is the
	// resource file it removes; it has no Out, Checks or Resource.
	Delete bool

	Out []byte // the normalized document

	// Checks are what the validator found (errors and warnings), and
	// Resource what it needs for the fabric-wide checks; both only when
	// processDoc was handed a validator.
	Checks   []Problem
	Resource *validate.Resource
}

// processDoc parses, validates and normalizes one document of file, parsing
// and encoding it once (see normalizeOnce). With v set, the document is also checked by v (schemas and
// Hedgehog's rules); a document with a validation error is not normalized.
// It never panics: a panic becomes a problem.
func processDoc(file string, d rawDoc, lim Limits, v *validate.Validator) (r docResult) {
	r.Doc = d
	if d.Empty {
		r.Empty = true
		return r
	}
	at := func(n *yaml.Node, format string, args ...any) {
		p := Problem{File: file, Document: d.Index, Message: fmt.Sprintf(format, args...)}
		if n != nil && n.Line > 0 {
			p.Line, p.Column = d.Line+n.Line-1, n.Column
		}
		r.Problems = append(r.Problems, p)
	}
	defer func() {
		if v := recover(); v != nil {
			r.Out = nil
			at(nil, "internal error while reading this document: %v", v)
		}
	}()

	// The tree is done with when processDoc returns: r holds none of it
	// (positions and strings only, and validate's Resource is packed).
	arena := nodeArenas.Get().(*nodeArena)
	defer nodeArenas.Put(arena)
	doc, err := parseDocIn(d.Data, arena)
	if err != nil {
		var se *syntaxError
		p := Problem{File: file, Document: d.Index, Message: "YAML syntax error: " + err.Error(),
			Rule: RuleSyntax, Severity: SeverityError}
		if errors.As(err, &se) {
			p.Message = "YAML syntax error: " + se.Msg
			if se.Line > 0 {
				// The document starts at the beginning of line d.Line.
				p.Line, p.Column = d.Line+se.Line-1, se.Column
			}
		}
		r.Problems = append(r.Problems, p)
		return r
	}
	if isEmptyDoc(doc) {
		r.Empty = true
		return r
	}
	if _, err := expandAliases(doc, lim.MaxAliasExpansion); err != nil {
		var ae *aliasError
		if errors.As(err, &ae) {
			at(ae.Node, "%s", ae.Msg)
		} else {
			at(nil, "%v", err)
		}
		return r
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		at(root, "document is %s, not a mapping: each document must be one resource with apiVersion, kind and metadata", describe(root))
		return r
	}
	checkDuplicateKeys(root, func(k *yaml.Node, first int) {
		at(k, "duplicate key %s (first at line %d)", quote(k.Value), d.Line+first-1)
	})

	// apiVersion and kind.
	av := lookup(root, "apiVersion")
	switch {
	case av == nil:
		at(root, "apiVersion is missing (e.g. apiVersion: wiring.githedgehog.com/v1beta1)")
	case !isString(av):
		at(av, "apiVersion must be a string of the form [group/]version, not %s", describe(av))
	default:
		group, _, ok := splitAPIVersion(av.Value)
		if !ok {
			at(av, "apiVersion %s is not of the form [group/]version (group a DNS subdomain, version like v1beta1)", quote(av.Value))
		}
		r.APIVersion, r.Group = av.Value, group
	}
	kind := lookup(root, "kind")
	switch {
	case kind == nil:
		at(root, "kind is missing (e.g. kind: Switch)")
	case !isString(kind):
		at(kind, "kind must be a string, not %s", describe(kind))
	case !validKind(kind.Value):
		at(kind, "kind %s is not valid (an ASCII letter, then letters and digits, at most 63)", quote(kind.Value))
	default:
		r.Kind = kind.Value
	}

	// metadata.name and metadata.namespace.
	md := lookup(root, "metadata")
	switch {
	case md == nil:
		at(root, "metadata is missing: every resource needs metadata.name")
	case md.Kind != yaml.MappingNode:
		at(md, "metadata must be a mapping with a name, not %s", describe(md))
	default:
		name := lookup(md, "name")
		switch {
		case name == nil:
			at(md, "metadata.name is missing")
		case !isString(name):
			at(name, "metadata.name must be a string, not %s", describe(name))
		case !ValidName(name.Value):
			at(name, "metadata.name %s is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253)", quote(name.Value))
		default:
			r.Name = name.Value
			r.NameLine, r.NameCol = d.Line+name.Line-1, name.Column
		}
		ns := lookup(md, "namespace")
		switch {
		case ns == nil, ns.Kind == yaml.ScalarNode && ns.ShortTag() == "!!null":
		case !isString(ns):
			at(ns, "metadata.namespace must be a string, not %s", describe(ns))
		case ns.Value == "":
		case !ValidNamespace(ns.Value):
			at(ns, "metadata.namespace %s is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63)", quote(ns.Value))
		default:
			r.Namespace = ns.Value
		}
	}
	if len(r.Problems) > 0 {
		return r
	}

	dir, managed := classifyKind(r.Group, r.Kind)
	r.Path, r.Managed = resourcePath(dir, r.Namespace, r.Name), managed
	top := "unmanaged"
	if managed {
		top = "managed"
	}
	if !safePath(r.Path, top) {
		at(root, "resource would be written to %s, outside %s/", quote(r.Path), top)
		return r
	}
	// A delete document names a resource; it is not one, so it is not
	// checked or normalized as one.
	if n, del, msg := deleteRequest(md); msg != "" {
		at(n, "%s", msg)
		return r
	} else if del {
		r.Delete = true
		return r
	}

	if v != nil {
		var version string
		_, version, _ = splitAPIVersion(r.APIVersion)
		checks, res := v.Check(&validate.Doc{File: file, Index: d.Index, Line: d.Line, Root: root,
			APIVersion: r.APIVersion, Group: r.Group, Version: version, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, New: true})
		r.Resource = res
		blocked := false
		for _, c := range checks {
			p := fromCheck(c)
			blocked = blocked || p.Severity == SeverityError
			r.Checks = append(r.Checks, p)
		}
		if blocked {
			return r
		}
	}

	r.Out, err = normalizeOnce(doc, len(d.Data))
	if err != nil {
		at(root, "document cannot be normalized: %v", err)
		r.Out = nil
	}
	return r
}

// isString reports whether n is a scalar that YAML reads as a string.
func isString(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str"
}

// describe names what n is, for messages: "a sequence", "the number 12".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "empty (null)"
		case "!!int", "!!float":
			return "the number " + clip(n.Value)
		case "!!bool":
			return "the boolean " + clip(n.Value)
		case "!!str":
			return "the string " + quote(n.Value)
		}
		return "the scalar " + quote(n.Value)
	}
	return "not a value"
}

// quote quotes s for a message, clipping long values.
func quote(s string) string { return strconv.Quote(clip(s)) }

func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}

// checkDuplicateKeys calls dup for every scalar key that repeats an earlier
// key of the same mapping, anywhere under n, with the earlier key's line.
func checkDuplicateKeys(n *yaml.Node, dup func(k *yaml.Node, firstLine int)) {
	if n.Kind == yaml.MappingNode {
		pairs := len(n.Content) / 2
		if pairs > 8 {
			seen := make(map[[2]string]int, pairs)
			for i := 0; i < pairs; i++ {
				k := n.Content[2*i]
				if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
					continue
				}
				key := [2]string{k.ShortTag(), k.Value}
				if first, ok := seen[key]; ok {
					dup(k, first)
					continue
				}
				seen[key] = k.Line
			}
		} else {
			for i := 1; i < pairs; i++ {
				k := n.Content[2*i]
				if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
					continue
				}
				for j := 0; j < i; j++ {
					e := n.Content[2*j]
					if e.Kind == yaml.ScalarNode && e.Value == k.Value && e.ShortTag() == k.ShortTag() {
						dup(k, e.Line)
						break
					}
				}
			}
		}
	}
	for _, c := range n.Content {
		checkDuplicateKeys(c, dup)
	}
}

// fromCheck turns a validator's problem into a Problem.
func fromCheck(c validate.Problem) Problem {
	return Problem{File: c.File, Document: c.Document, Line: c.Line, Column: c.Column, Message: c.Message,
		Rule: c.Rule, Severity: c.Severity.String()}
}
