package ingest

import (
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/goldentest"
)

// updateSyntax makes TestSyntaxErrors rewrite its golden files.
var updateSyntax = flag.Bool("update-syntax", false, "rewrite the golden files in testdata/syntax/")

// discard is a Writer that keeps nothing and counts its calls.
type discard struct{ calls int }

func (w *discard) WriteFile(string, []byte) error { w.calls++; return nil }
func (w *discard) Remove(string) error            { w.calls++; return nil }

// syntaxProblem ingests src as raw/a.yaml and returns the one problem
// Ingest reports.
func syntaxProblem(t *testing.T, src string) Problem {
	t.Helper()
	w := &discard{}
	opts := Options{JobID: "job-1", Commit: strings.Repeat("0", 40), Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	_, err := Ingest(t.Context(), fstest.MapFS{"raw/a.yaml": &fstest.MapFile{Data: []byte(src)}}, opts, w)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Ingest() = %v; want *ValidationError", err)
	}
	if w.calls != 0 {
		t.Errorf("Ingest() made %d Writer calls with invalid input; want none", w.calls)
	}
	if len(ve.Problems) != 1 {
		t.Fatalf("Ingest() problems = %v; want exactly one", ve.Problems)
	}
	return ve.Problems[0]
}

// connection is a valid Connection of 14 lines, the last one indented.
const connection = `apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: leaf-1--spine-1
  namespace: default
spec:
  fabric:
    links:
    - leaf:
        port: leaf-1/E1/1
      spine:
        port: spine-1/E1/1
    - leaf:
        port: leaf-1/E1/2
`

// TestSyntaxErrors checks that a YAML syntax error is reported, through
// Ingest, at the line and column of the offending token, with the rule
// and severity of a syntax error, and that its excerpt is as in
// testdata/syntax/<name>.golden (go test -run SyntaxErrors -update-syntax
// rewrites them).
func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string
	}{
		{
			// The key at line 15 is indented one space too little: 5
			// spaces where its sibling "leaf" has 6.
			name: "misindented-key",
			src:  connection + "     spine:\n        port: spine-1/E1/2\n",
			line: 15, col: 6,
			msg: "did not find expected key",
		},
		{
			name: "misindented-key-nested",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    app: x\n   tier: y\n",
			line: 7, col: 4,
			msg: "did not find expected key",
		},
		{
			name: "dedented-key",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n namespace: x\n",
			line: 5, col: 2,
			msg: "did not find expected key",
		},
		{
			name: "tab-indentation",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n",
			line: 4, col: 1,
			msg: "found a tab character, which cannot start any token: indent with spaces, not tabs",
		},
		{
			name: "unclosed-double-quote",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"a\n  namespace: x\n",
			line: 4, col: 9,
			msg: "found unexpected end of stream: the double-quoted string that starts here is not closed",
		},
		{
			name: "unclosed-single-quote",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'é\n",
			line: 4, col: 9,
			msg: "found unexpected end of stream: the single-quoted string that starts here is not closed",
		},
		{
			name: "unclosed-flow-sequence",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: [1, 2\n  b: 3\n",
			line: 7, col: 3,
			msg: "did not find expected ',' or ']'",
		},
		{
			name: "unclosed-flow-sequence-first-line",
			src:  "[apiVersion, v1\n",
			line: 1, col: 1,
			msg: "did not find expected ',' or ']'",
		},
		{
			name: "unclosed-flow-mapping",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: b\ndata: {}\n",
			line: 4, col: 1,
			msg: "did not find expected ',' or '}'",
		},
		{
			name: "bad-block-sequence",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  items:\n    - 1\n  - 2\n",
			line: 8, col: 3,
			msg: "did not find expected key",
		},
		{
			name: "key-after-sequence",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  finalizers:\n    - x\n    y: z\n",
			line: 7, col: 5,
			msg: "did not find expected '-' indicator",
		},
		{
			name: "missing-colon",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata\n  name: a\n",
			line: 3, col: 1,
			msg: "could not find expected ':'",
		},
		{
			name: "nested-mapping-on-one-line",
			src:  "apiVersion: v1\nkind: a: b\nmetadata:\n  name: a\n",
			line: 2, col: 7,
			msg: "mapping values are not allowed in this context",
		},
		{
			// goccy blames the start of the plain scalar on line 1; yaml.v3
			// the colon on line 2: they disagree, so only the line is known.
			name: "value-continued-as-key",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: x\n    app: y\n",
			line: 6, col: 0,
			msg: "mapping values are not allowed in this context",
		},
		{
			name: "unknown-alias",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  # not *base\ndata: [x, *base]\n",
			line: 6, col: 11,
			msg: "unknown anchor 'base' referenced",
		},
		{
			name: "alias-before-anchor",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  a: *x\n  b: &x 1\n",
			line: 6, col: 6,
			msg: "unknown anchor 'x' referenced",
		},
		{
			name: "stray-content",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nthis line is stray\n",
			line: 5, col: 1,
			msg: "could not find expected ':'",
		},
		{
			name: "stray-sequence-entry",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n- b\n",
			line: 5, col: 1,
			msg: "did not find expected key",
		},
		{
			name: "text-after-quoted-value",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 'a' b\n",
			line: 4, col: 13,
			msg: "did not find expected key",
		},
		{
			name: "reserved-character",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: @a\n",
			line: 4, col: 9,
			msg: "found character @ that cannot start any token: it is reserved; quote the value",
		},
		{
			// goccy accepts the BEL character; its place is found in the
			// text.
			name: "control-character",
			src:  "apiVersion: v1\nkind: Config\x07Map\nmetadata:\n  name: a\n",
			line: 2, col: 13,
			msg: "control characters are not allowed",
		},
		{
			name: "yaml-1.2-directive",
			src:  "# wiring\n%YAML 1.2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
			line: 2, col: 1,
			msg: "unsupported %YAML directive (only %YAML 1.1 is understood); remove the %YAML line",
		},
		{
			// The broken document is the third of the file: the line is
			// the file's, not the document's.
			name: "third-document",
			src: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n" +
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\n" +
				"# the third\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    a: b\n   c: d\n",
			line: 18, col: 4,
			msg: "did not find expected key",
		},
		{
			name: "crlf-and-bom",
			src:  "\uFEFFapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n labels: {}\r\n",
			line: 5, col: 2,
			msg: "did not find expected key",
		},
		{
			name: "after-tab-and-wide-characters",
			src:  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k:\t\"日本語\" x\n",
			line: 6, col: 12,
			msg: "did not find expected key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := syntaxProblem(t, tt.src)
			want := Problem{File: "raw/a.yaml", Document: p.Document, Line: tt.line, Column: tt.col,
				Message: "YAML syntax error: " + tt.msg, Rule: RuleSyntax, Severity: SeverityError, Excerpt: p.Excerpt}
			if p != want {
				t.Errorf("Ingest() problem =\n%#v\nwant\n%#v", p, want)
			}
			if strings.ContainsAny(p.Message, "\n\x1b") {
				t.Errorf("message %q holds a line break or an escape sequence", p.Message)
			}
			got := p.String() + "\n" + excerpt([]byte(tt.src), p.Line, p.Column) + "\n"
			goldentest.Check(t, filepath.Join("testdata", "syntax", tt.name+".golden"), []byte(got), *updateSyntax, "update-syntax")
		})
	}
}

// TestSyntaxValidStaysValid checks that a document yaml.v3 accepts is not
// refused because the second parser would refuse it.
func TestSyntaxValidStaysValid(t *testing.T) {
	// goccy/go-yaml refuses "? " complex keys in block mappings the way
	// they are written here; yaml.v3 accepts them.
	for _, doc := range []string{
		"a: &x 1\nb: &x 2\n",
		"ports:\n  - 1\n  - 2\n   - 3\n",
		"? a\n? b\n: c\n",
	} {
		if _, err := parseDoc([]byte(doc)); err != nil {
			t.Errorf("parseDoc(%q) = %v; want no error", doc, err)
		}
	}
}

// TestSyntaxBounded checks that deeply nested or large broken documents
// are located without the second parser, which has no depth limit, and
// that Ingest neither hangs nor crashes on them.
func TestSyntaxBounded(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		msg       string
	}{
		{"deep flow nesting after an error goccy accepts", "kind: X\x07\n" + strings.Repeat("[", 20000), 1, 8, "control characters are not allowed"},
		{"deeper than yaml.v3 allows", "a: " + strings.Repeat("[", 10001), 1, 0, "exceeded max depth of 10000"},
		{"deep block nesting", "a: b: c\n" + strings.Repeat("- ", 10001) + "x\n", 1, 0, "mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := toSyntaxError(yamlErr(t, tt.src), []byte(tt.src))
			if want := (syntaxError{Line: tt.line, Column: tt.col, Msg: tt.msg}); *se != want {
				t.Errorf("toSyntaxError() = %+v; want %+v", *se, want)
			}
		})
	}
}

// yamlErr returns yaml.v3's error for src, which must be invalid.
func yamlErr(t *testing.T, src string) error {
	t.Helper()
	var n yaml.Node
	err := yaml.Unmarshal([]byte(src), &n)
	if err == nil {
		t.Fatalf("yaml.Unmarshal(%.40q) succeeded; want an error", src)
	}
	return err
}

// TestSyntaxErrorString checks how a located syntaxError reads.
func TestSyntaxErrorString(t *testing.T) {
	_, err := Normalize([]byte("a:\n  b: 1\n c: 2\n"))
	if got, want := err.Error(), "line 3, column 2: did not find expected key"; got != want {
		t.Errorf("Normalize() error = %q; want %q", got, want)
	}
}

// TestExcerpt checks the excerpt of a file around a line and column.
func TestExcerpt(t *testing.T) {
	long := strings.Repeat("abcdefghij", 30) // 300 characters
	tests := []struct {
		name      string
		data      string
		line, col int
		want      string
	}{
		{"middle", "a: 1\nb: 2\nc: 3\n", 2, 4, "1 | a: 1\n2 | b: 2\n  |    ^\n3 | c: 3"},
		{"first line", "a: 1\nb: 2\n", 1, 1, "1 | a: 1\n  | ^\n2 | b: 2"},
		{"last line without newline", "a: 1\nb: 2", 2, 5, "1 | a: 1\n2 | b: 2\n  |     ^"},
		{"only line", "x", 1, 1, "1 | x\n  | ^"},
		{"no column", "a: 1\nb: 2\nc: 3\n", 2, 0, "1 | a: 1\n2 | b: 2\n3 | c: 3"},
		{"line 0", "a: 1\n", 0, 1, ""},
		{"beyond the file", "a: 1\nb: 2\n", 3, 1, ""},
		{"empty file", "", 1, 1, ""},
		{"column past the end", "a: 1\n", 1, 40, "1 | a: 1\n  |     ^"},
		{"blank neighbour", "\nab\n\n", 2, 2, "1 |\n2 | ab\n  |  ^\n3 |"},
		{"number widths", strings.Repeat("x\n", 9) + "yz\n" + "w\n", 10, 2, " 9 | x\n10 | yz\n   |  ^\n11 | w"},
		{"tab before column", "a:\n\tb:\t[c\n", 2, 6, "1 | a:\n2 | \tb:\t[c\n  | \t  \t ^"},
		{"characters not bytes", "é: ü\nx\n", 1, 4, "1 | é: ü\n  |    ^\n2 | x"},
		{"control characters", "a\x07b\x1b[31mc\u202ed\x7f\n", 1, 3, "1 | a␇b␛[31mc\uFFFDd␡\n  |   ^"},
		{"invalid UTF-8", "a\xffb\n", 1, 3, "1 | a\uFFFDb\n  |   ^"},
		{"CRLF and lone CR", "a\r\nb\rc\r\n", 2, 1, "1 | a\n2 | b\n  | ^\n3 | c"},
		{"BOM", "\uFEFFa: 1\n", 1, 1, "1 | a: 1\n  | ^"},
		{"long line, column in the middle", "k\n" + long + "\n", 2, 151,
			"1 | …\n2 | …" + long[90:210] + "…\n  |  " + strings.Repeat(" ", 60) + "^"},
		{"long line, column near the start", long + "\n", 1, 3, "1 | " + long[:120] + "…\n  |   ^"},
		{"long line, column at the end", long + "\n", 1, 301, "1 | …" + long[181:] + "\n  |  " + strings.Repeat(" ", 119) + "^"},
		{"long neighbours, short line", long + "\nab\n" + long + "\n", 2, 2, "1 | " + long[:120] + "…\n2 | ab\n  |  ^\n3 | " + long[:120] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := excerpt([]byte(tt.data), tt.line, tt.col); got != tt.want {
				t.Errorf("excerpt(%q, %d, %d) =\n%s\nwant\n%s", tt.data, tt.line, tt.col, got, tt.want)
			}
		})
	}
}
