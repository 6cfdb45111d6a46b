package ingest

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the input, located for a person to fix.
//
// File is normally a raw file. When the problem is the layout of the fabric
// folder itself (raw/ or .hnp/ being a symbolic link, say), File names that
// path instead.
type Problem struct {
	File     string // raw file path relative to the fabric root, e.g. "raw/wiring.yaml"; for a RuleDrift warning, the resource file
	Document int    // 1-based document index in that file; 0 when the problem is the file itself
	Line     int    // 1-based line in the file (not in the document); 0 if unknown
	Column   int    // 1-based, counted in characters; 0 if unknown
	Message  string // actionable, e.g. `metadata.name "Leaf_1" is not a valid DNS-1123 subdomain (...)`

	// Rule names the check that found it: a validate rule ID such as
	// "connection-unknown-switch", RuleSyntax for YAML that does not parse,
	// RuleDrift for a resource file changed by hand (File is that file), or
	// RuleIngest for ingest's own checks (file names, sizes, identity,
	// deletes).
	Rule string
	// Severity is SeverityError (the sync stops) or SeverityWarning.
	Severity string
	// Excerpt, for a problem located at a line of a raw file, is up to
	// three lines of that file (the line before, the line, the line after),
	// each prefixed with its number, and a caret under the column.
	Excerpt string
	// Kind and Name are the resource the document defines (or deletes),
	// for a problem in a raw document that has both; empty otherwise.
	Kind, Name string
}

// Rules of ingest's own problems (validate's rules have their own IDs).
const (
	RuleSyntax = "yaml-syntax" // the document is not valid YAML
	RuleIngest = "ingest"      // anything else ingest itself refuses: file names, sizes, identity, duplicates, deletes
	// RuleDrift is the warning for a resource file under managed/ or
	// unmanaged/ that differs from the manifest (see Drift); File is that
	// resource file.
	RuleDrift = "drift"
)

// Severities of a Problem.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// String formats p as "file:line:col document N: message", leaving out the
// parts that are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":" + strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteString(":" + strconv.Itoa(p.Column))
		}
	}
	if p.Document > 0 {
		b.WriteString(" document " + strconv.Itoa(p.Document))
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError lists every problem found in the raw files. When Ingest
// returns it, it called no Writer method. Problems are sorted by file,
// document, line and column.
type ValidationError struct {
	Problems []Problem // the errors
	Warnings []Problem // the validator's warnings, which alone would not have stopped the ingest
}

// maxErrorProblems bounds how many problems Error spells out.
const maxErrorProblems = 10

// Error returns a one-line summary such as
// "2 problems in raw files: raw/a.yaml:14:3 document 2: ...; raw/b.yaml: ...".
// At most ten problems are spelled out; the rest are counted.
func (e *ValidationError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	if n == 1 {
		b.WriteString("1 problem in raw files: ")
	} else {
		fmt.Fprintf(&b, "%d problems in raw files: ", n)
	}
	for i, p := range e.Problems {
		if i == maxErrorProblems {
			fmt.Fprintf(&b, "; and %d more", n-maxErrorProblems)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// attachObjects gives each problem in a raw document the kind and name of
// the resource that document defines, when it has both.
func (in *ingester) attachObjects() {
	if len(in.problems)+len(in.warnings) == 0 {
		return // the usual case: no index of every raw file for nothing
	}
	byPath := make(map[string]*rawFile, len(in.files))
	for i := range in.files {
		byPath[in.files[i].Path] = &in.files[i]
	}
	for _, ps := range [][]Problem{in.problems, in.warnings} {
		for i := range ps {
			p := &ps[i]
			f := byPath[p.File]
			if f == nil || p.Document <= 0 || p.Kind != "" {
				continue
			}
			for j := f.Plan[0]; j < f.Plan[1]; j++ {
				if d := in.plan.at(j); int(d.Document) == p.Document {
					p.Kind, p.Name = d.Kind, d.Name
					break
				}
			}
		}
	}
}

// maxExcerpts bounds the excerpts one ingest attaches, so that a file with
// thousands of problems does not hold thousands of copies of its lines.
const maxExcerpts = 1000

// attachExcerpts gives each problem located at a line of a raw file its
// excerpt, up to maxExcerpts per ingest, reading each such file once more.
func (in *ingester) attachExcerpts() error {
	byFile := map[string][]*Problem{}
	for _, ps := range [][]Problem{in.problems, in.warnings} {
		for i := range ps {
			if p := &ps[i]; p.Line > 0 && p.Excerpt == "" && len(byFile) < maxExcerpts {
				byFile[p.File] = append(byFile[p.File], p)
			}
		}
	}
	n := 0
	for i := range in.files {
		f := &in.files[i]
		ps := byFile[f.Path]
		if len(ps) == 0 || f.Size == 0 {
			continue
		}
		data, err := in.readRaw(f)
		if err != nil {
			return err
		}
		if data == nil || sha256.Sum256(data) != f.Sum {
			continue // changed meanwhile: no excerpt rather than a wrong one
		}
		lines := fileLines(data) // once for all of the file's problems
		for _, p := range ps {
			if n == maxExcerpts {
				return nil
			}
			p.Excerpt = excerptOf(lines, p.Line, p.Column)
			n++
		}
	}
	return nil
}

// finishProblems sorts ps and fills in the rule and severity of ingest's
// own problems.
func finishProblems(ps []Problem, severity string) {
	for i := range ps {
		if ps[i].Rule == "" {
			ps[i].Rule = RuleIngest
		}
		if ps[i].Severity == "" {
			ps[i].Severity = severity
		}
	}
	sortProblems(ps)
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			strings.Compare(a.File, b.File),
			cmp.Compare(a.Document, b.Document),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
}
