// Package validate checks Hedgehog fabric resources before they land: each
// document against the openAPIV3Schema of its CustomResourceDefinition, each
// of the twelve fabric kinds against Hedgehog's own rules (after Hedgehog's
// defaulting), and the fabric as a whole (every reference resolves, nothing
// is used twice, ranges hold).
//
// The package is pure: it is handed parsed documents (yaml.v3 nodes, which
// keep their line and column) and CRD files as bytes, and returns problems.
// It does no I/O, reads no clock or environment and never logs.
//
// Use: New compiles a Config once (Cache does it once per content); Check
// runs on each document, on any goroutine, and returns its problems and a
// compact Resource; CheckFabric runs once on all the Resources of the fabric
// as it will be after the sync (new documents and the untouched ones).
// Facts keeps many Resources in pointer-free chunks until then (CheckFacts),
// and Record encodes one for a caller to keep across runs (AddRecord).
//
// Every problem names a rule (Rules lists them, with a one-line doc and a
// severity). A problem located in a document that this sync does not bring
// (Doc.New false) is always a warning: old debt never blocks a new sync.
package validate

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Severity says whether a problem stops a sync.
type Severity uint8

// Severities. The zero value is not a severity.
const (
	Error   Severity = iota + 1 // the sync stops; nothing is written
	Warning                     // listed in the job; the sync goes on
)

func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "unknown"
}

// Pos is a place in a file: 1-based line and column (in characters), 0 when
// unknown; Document is the 1-based document number in the file.
type Pos struct {
	File     string
	Document int
	Line     int
	Column   int
}

// Problem is one thing wrong, located, with the rule that found it.
type Problem struct {
	Pos
	Rule     string
	Severity Severity
	Message  string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	if p.Document > 0 {
		fmt.Fprintf(&b, " document %d", p.Document)
	}
	fmt.Fprintf(&b, ": %s [%s %s]", p.Message, p.Severity, p.Rule)
	return b.String()
}

// Doc is one resource document handed to Check.
type Doc struct {
	File  string     // slash path relative to the fabric root: "raw/wiring.yaml", "managed/switches/leaf-1.yaml"
	Index int        // 1-based document number in File
	Line  int        // 1-based line in File where the document's text starts: a node at line L is at file line Line+L-1
	Root  *yaml.Node // the document's root mapping, as parsed (aliases expanded); Check does not change it

	APIVersion string // "vpc.githedgehog.com/v1beta1"
	Group      string // "vpc.githedgehog.com"; "" for the core group
	Version    string // "v1beta1"
	Kind       string
	Namespace  string // "" means "default"
	Name       string

	// New is true for a document this sync brings (from raw/), false for a
	// resource file already in the repository that the sync does not
	// replace. Every problem located in a document with New false is a
	// warning.
	New bool
}

// At returns the position of n, a node of d.Root; nil gives the document's
// metadata.name, or the document itself.
func (d *Doc) At(n *yaml.Node) Pos {
	p := Pos{File: d.File, Document: d.Index}
	if n == nil {
		n = d.nameNode()
	}
	if n != nil && n.Line > 0 {
		p.Line, p.Column = d.Line+n.Line-1, n.Column
	}
	return p
}

func (d *Doc) nameNode() *yaml.Node {
	if md := Get(d.Root, "metadata"); md != nil {
		if n := Get(md, "name"); n != nil {
			return n
		}
	}
	return d.Root
}

// Get walks mapping keys from n: Get(root, "spec", "subnets") is the value
// node of spec.subnets, or nil when any step is missing or not a mapping.
func Get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if c := n.Content[i]; c.Kind == yaml.ScalarNode && c.Value == k {
				next = n.Content[i+1]
				break
			}
		}
		n = next
	}
	return n
}

// Config is what the fabrics file's validation: block says, with the CRD
// files already read.
type Config struct {
	CRDs    []CRDFile // CRD files; each may hold several YAML documents; other kinds in them are ignored
	Strict  bool      // unknown fields and versions the CRD does not serve are errors, not warnings
	Disable []string  // IDs of rules to skip
}

// CRDFile is one file of CustomResourceDefinitions.
type CRDFile struct {
	Name string // as the user wrote it, for messages: "crds/vpcs.yaml"
	Data []byte
}

// ConfigError reports a Config that cannot be used: a CRD file that is not
// a CRD, a schema that does not compile, an unknown rule ID in Disable.
type ConfigError struct {
	File string // the CRD file, "" when the problem is not in one
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.File != "" {
		return "validation: " + e.File + ": " + e.Msg
	}
	return "validation: " + e.Msg
}

// Validator checks documents. It is safe for concurrent use.
type Validator struct {
	strict   bool
	disabled map[string]bool
	schemas  *schemaSet // nil without CRDs
}

// New compiles cfg. It returns a *ConfigError for a bad CRD file or an
// unknown rule ID.
func New(cfg Config) (*Validator, error) {
	v := &Validator{strict: cfg.Strict, disabled: map[string]bool{}}
	for _, id := range cfg.Disable {
		if _, ok := ruleByID[id]; !ok {
			return nil, &ConfigError{Msg: fmt.Sprintf("disable: unknown rule %q (rules: %s)", id, strings.Join(ruleIDs(), ", "))}
		}
		v.disabled[id] = true
	}
	if len(cfg.CRDs) > 0 {
		s, err := compileSchemas(cfg.CRDs)
		if err != nil {
			return nil, err
		}
		v.schemas = s
	}
	return v, nil
}

// Default is a Validator with the built-in rules only: no CRDs, not strict.
func Default() *Validator {
	return &Validator{disabled: map[string]bool{}}
}

// docCtx collects what checking one document finds.
type docCtx struct {
	v        *Validator
	d        *Doc
	problems []Problem
	res      *Resource
	refs     [][4]string // rule, kind, name and part of each ref recorded, to record each once
}

// report records a problem of rule at n (nil: the document's name).
func (c *docCtx) report(rule string, n *yaml.Node, format string, args ...any) {
	c.reportAt(rule, c.d.At(n), format, args...)
}

func (c *docCtx) reportAt(rule string, at Pos, format string, args ...any) {
	if c.v.disabled[rule] {
		return
	}
	sev := c.v.severity(rule)
	if !c.d.New {
		sev = Warning
	}
	c.problems = append(c.problems, Problem{Pos: at, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
}

// severity is rule's severity under this Validator (strict turns the
// schema warnings into errors).
func (v *Validator) severity(rule string) Severity {
	r, ok := ruleByID[rule]
	if !ok {
		panic("validate: unregistered rule " + rule)
	}
	if v.strict && r.Strict {
		return Error
	}
	return r.Severity
}

// Check checks one document: against its CRD's schema when the Validator
// has one for its group and kind, and against the built-in rules when it
// is one of the twelve fabric kinds. It returns the problems, sorted by
// position, and the Resource CheckFabric needs (nil for a kind no fabric
// rule looks at). It never panics and does not change d.
func (v *Validator) Check(d *Doc) (problems []Problem, res *Resource) {
	c := &docCtx{v: v, d: d}
	defer func() {
		if r := recover(); r != nil {
			c.problems = append(c.problems[:0:0], Problem{Pos: d.At(nil), Rule: RuleInternal, Severity: Error, Message: fmt.Sprintf("internal error while validating this document: %v", r)})
			c.res = nil
			problems, res = c.problems, nil
		}
	}()
	if d.Root == nil || d.Root.Kind != yaml.MappingNode {
		return nil, nil
	}
	if v.schemas != nil {
		v.schemas.check(c)
	}
	if isFabricGroup(d.Group) {
		if check, ok := kindChecks[d.Kind]; ok {
			c.res = newResource(d)
			check(c)
		}
	}
	if c.res != nil && cap(c.res.packed) > len(c.res.packed) {
		c.res.packed = append([]byte(nil), c.res.packed...) // exactly as long as it is: it is kept until CheckFabric
	}
	sortProblems(c.problems)
	return c.problems, c.res
}

// isFabricGroup reports whether group is a Hedgehog API group.
func isFabricGroup(group string) bool {
	return group == "githedgehog.com" || strings.HasSuffix(group, ".githedgehog.com")
}

// kindCheck checks one document of a fabric kind: it reports per-document
// problems and fills c.res with what CheckFabric needs.
type kindCheck func(c *docCtx)

// kindChecks has the built-in checks of the twelve fabric kinds.
var kindChecks = func() map[string]kindCheck {
	m := map[string]kindCheck{}
	for _, part := range []map[string]kindCheck{vpcKindChecks, wiringKindChecks} {
		for k, f := range part {
			if _, dup := m[k]; dup {
				panic("validate: two checks for kind " + k)
			}
			m[k] = f
		}
	}
	return m
}()

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Document != b.Document {
			return a.Document - b.Document
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
}
