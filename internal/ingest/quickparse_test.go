package ingest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/sharedtest"
)

// checkQuick checks quickParse against yaml.v3 on one document: when it
// says ok, its tree must be yaml.Unmarshal's, node for node, and so must the
// tree it cuts from testArena, which held the document checked before (what
// processDoc does from one document to the next). It reports whether
// quickParse took the document.
func checkQuick(t *testing.T, data []byte) bool {
	t.Helper()
	got, ok := quickParse(data)
	testArena.Lock()
	inArena, okInArena := quickParseIn(data, &testArena.a)
	defer testArena.Unlock()
	if okInArena != ok {
		t.Fatalf("quickParse(%q): ok = %v, in an arena %v", data, ok, okInArena)
	}
	if !ok {
		return false
	}
	var want yaml.Node
	if err := yaml.Unmarshal(data, &want); err != nil {
		t.Fatalf("quickParse(%q) took a document yaml.v3 refuses: %v", data, err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Fatalf("quickParse(%q):\n got %s\nwant %s", data, dumpNode(got), dumpNode(&want))
	}
	if !reflect.DeepEqual(inArena, &want) {
		t.Fatalf("quickParse(%q) in an arena:\n got %s\nwant %s", data, dumpNode(inArena), dumpNode(&want))
	}
	return true
}

// testArena is checkQuick's, shared by the tests (some run in parallel).
var testArena struct {
	sync.Mutex
	a nodeArena
}

// dumpNode prints a node tree with everything reflect.DeepEqual compares.
func dumpNode(n *yaml.Node) string {
	var b strings.Builder
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		fmt.Fprintf(&b, "\n%s%d:%d kind=%d style=%d tag=%q value=%q anchor=%q head=%q line=%q foot=%q",
			strings.Repeat("  ", depth), n.Line, n.Column, n.Kind, n.Style, n.Tag, n.Value, n.Anchor, n.HeadComment, n.LineComment, n.FootComment)
		if n.Content == nil {
			b.WriteString(" content=nil")
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

func TestQuickParse(t *testing.T) {
	long := strings.Repeat("k", 1001)
	tests := []struct {
		name string
		doc  string
		ok   bool // quickParse takes it
	}{
		{"resource", "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-1\nspec:\n  role: server-leaf\n  asn: 65101\n", true},
		{"explicit start", "---\na: b\n", true},
		{"blank lines first", "\n\n  \na: b\n", true},
		{"blank lines between", "a: b\n\n\nc: d\n", true},
		{"no final newline", "a: b", true},
		{"indented root", "  a: b\n  c: d\n", true},
		{"nested", "a:\n  b:\n    c: d\n  e: f\ng: h\n", true},
		{"sequence", "a:\n  - x\n  - y\n", true},
		{"sequence at the key's indentation", "a:\n- x\n- y\nb: c\n", true},
		{"compact mappings", "a:\n  - name: x\n    port: 1\n  - name: y\n", true},
		{"compact mapping, wide", "a:\n  -   name: x\n      port: 1\n", true},
		{"nested sequences", "- - a\n  - b\n- c\n", true},
		{"item below its dash", "-\n  a: b\n-\n  - c\n", true},
		{"sequence at the key's indentation in an item", "- a:\n  - b\n  c: d\n", true},
		{"flow sequences", "a: [x, y ,z]\nb: [ 1 ]\nd: [ ]\nc:\n  - [default]\n", true},
		{"header", "#\n# VPC 1\n#\na: b\n", true},
		{"header after the start", "---\n###\n### x\n###\na: b\nc: d\n", true},
		{"header before the start", "\n\n#\n# c\n#\n---\na: b\n", true},
		{"document comment", "###\n### x\n###\n\napiVersion: v1\n", true},
		{"document comment, blank lines around", "\n\n# c\n\n\n  a: b\n", true},
		{"document comment after the start", "---\n# c\n\na: b\n", false},
		{"document comment before the start", "# c\n\n---\na: b\n", false},
		{"document and key comments", "# c\n\n# k\na: b\n", false},
		{"document comment above a sequence", "# c\n\n- a\n", false},
		{"empty values", "a:\n  b:\nc: 1\nd:", true},
		{"empty items", "- a\n-\n-\n- b\n-", true},
		{"empty flow", "a: {}\nb: []\nc:\n  - {}\n  - []\n", true},
		{"quoted", "a: \"true\"\nb: 'x y'\nc: \"\"\nd: ''\n", true},
		{"tags", "a: true\nb: FALSE\nc: ~\nd: null\ne: 0\nf: 123456789012345678\ng: Null\n", true},
		{"strings that start like numbers", "a: 10.20.0.0/16\nb: 192.168.90.10\nc: 4x10G\nd: 1/2\ne: 0w\n", true},
		{"strings that start like keywords", "a: yes\nb: no\nc: on\nd: <undefined>\ne: nil\nf: .x/\n", true},
		{"colons and flow indicators inside", "a: pci@0000:4d:00.0\nb: http://x:1/y\nc: a,b[c]{d}\n", true},
		{"keys", "a b: 1\n1000: x\ntrue: y\nlink.hhfab.githedgehog.com/E1_1_2: z\n", true},

		{"header over an indented root", "# c\n  a: b\n  c: d\n", true},
		{"odd keys and values", "a:: b\nc: d:e\nf: 1:2\ng: 1.2.3\nh: ~x\ni: <j\n", true},
		{"dash items", "- -\n-  -  a\n", true},
		{"spaced flow sequence", "a: [ a , b ]\nb: [a,b]\n", true},
		{"line comments", "a: b # c\nd:  e   #  f\ng:\n  - h # i\n  - j: k # l\nm: [n] # o\np: {} # q\nr: 's' # t\n", true},
		{"comment after a key", "a: # c\n  b: 1\n", false},
		{"comment after a dash", "- # c\n  b: 1\n", false},
		{"comment in quotes", "a: \"b #c\"\n", false},
		{"comment in a flow sequence", "a: [b, #c\n  d]\n", false},
		{"comment without a space", "a: b #c\n", true},
		{"comment line", "a: b\n# c\nd: e\n", true},
		{"comment lines above a nested key", "a:\n  b: 1\n  # c\n  # d\n  e: 2\n", true},
		{"comment line after a nested mapping", "a:\n  b:\n    c: 1\n  # x\n  d: 2\n", true},
		{"comment line after a nested sequence", "a:\n  b:\n  - c\n  # x\n  d: 2\n", true},
		{"comment line after a null", "a:\n# c\nb: 1\n", true},
		{"comment line and line comment", "a:\n  b: 1 # lc\n  # c\n  d: 2\n", true},
		{"foot comment", "a:\n  b: 1\n  # c\ne: 3\n", true},
		{"foot comment after a line comment", "a:\n  b: 1 # lc\n  # c\nd: 2\n", true},
		{"foot comments", "a:\n  b:\n    c: 1\n    # x\n  d: 2\n  # y\ne: 3\n", true},
		{"foot comment of a null", "a:\n  b:\n  # c\nd: 1\n", false},
		{"foot comment of a null at the end", "a:\n  b:\n  # c\n", false},
		{"foot comment of a flow value", "a:\n  b: []\n  # c\nd: 1\n", false},
		{"foot comment of an item's mapping", "- a: 1\n  # c\n- b\n", false},
		{"foot comment at the end", "a:\n  b: 1\n  # c\n", true},
		{"foot comment deep at the end", "a:\n  b:\n    c: 1\n    # x\n", true},
		{"comment line left of the end", "a:\n  b:\n    c: 1\n  # x\n", false},
		{"comment line after a sequence at the end", "- a\n# c\n", false},
		{"foot comment of the root", "a: 1\n# c\n", false},
		{"comment line left of a mapping's end", "a:\n  b:\n    c: 1\n  # x\nd: 1\n", false},
		{"comment line above a first key", "a:\n  # c\n  b: 1\n", false},
		{"comment line in a sequence", "a:\n  - b\n  # c\n  - d\n", false},
		{"comment line after a sequence", "a:\n- b\n# c\nd: 1\n", true},
		{"comment line after a blank line", "a: 1\n\n# c\nb: 2\n", false},
		{"blank line after a comment line", "a: 1\n# c\n\nb: 2\n", false},
		{"comment lines out of line", "a:\n  b: 1\n  # c\n # d\n  e: 2\n", false},
		{"comment line deeper than the keys", "a:\n  b: 1\n    # c\n  e: 2\n", false},
		{"comment line with a trailing space", "a: 1\n# c \nb: 2\n", false},
		{"comment line at the end", "a: 1\nb: 2\n# c\n", false},
		{"indented header", "  # c\na: b\n", false},
		{"header, blank line", "# c\n\na: b\n", true},
		{"header, blank line after the start", "---\n\na: b\n", false},
		{"comments on both sides of the start", "# a\n---\n# b\nc: d\n", false},
		{"header over a sequence", "# a\n- b\n", false},
		{"footer", "a: b\n# c\n", false},
		{"hash in a value", "a: b#c\n", false},
		{"tab", "a:\tb\n", false},
		{"CRLF", "a: b\r\n", false},
		{"non-ASCII", "a: é\n", false},
		{"trailing space", "a: b \n", false},
		{"empty", "\n\n", false},
		{"start only", "---\n", false},
		{"start with content", "--- a: b\n", false},
		{"second start", "a: b\n---\nc: d\n", false},
		{"end marker", "---\n...\n", false},
		{"end marker, not first", "a: b\n...\n", false},
		{"root scalar", "a\n", false},
		{"empty value", "a:\nb: c\n", true},
		{"empty value last", "a: b\nc:\n", true},
		{"empty item", "- a\n-\n- b\n", true},
		{"multi-line plain", "a: b\n  c\n", false},
		{"multi-line plain item", "- b\n  c\n", false},
		{"anchor and alias", "a: &x b\nc: *x\n", false},
		{"tag", "a: !!str 1\n", false},
		{"block scalar", "a: |\n  b\n", false},
		{"folded scalar", "a: >\n  b\n", false},
		{"flow with content", "a: {b: c}\n", false},
		{"flow sequence of mappings", "a: [b: c]\n", false},
		{"flow sequence, trailing comma", "a: [b, ]\n", false},
		{"flow sequence, empty item", "a: [b, , c]\n", false},
		{"flow sequence, nested", "a: [[b]]\n", false},
		{"flow sequence, quoted", "a: [\"b\"]\n", false},
		{"flow sequence with content", "a: [b]\n", true},
		{"escape", "a: \"b\\nc\"\n", false},
		{"quote in single quotes", "a: 'it''s'\n", false},
		{"text after a quote", "a: \"b\" c\n", false},
		{"quoted key", "\"a\": b\n", false},
		{"key with a space before the colon", "a : b\n", false},
		{"key too long", long + ": b\n", false},
		{"mapping in a value", "a: b: c\n", false},
		{"value ends in a colon", "a: b:\n", false},
		{"dash value", "a: -1\n", false},
		{"float", "a: 1.5\n", false},
		{"uuid", "a: 81c9671f-0b80-5a45-b946-686de0b9aaa9\n", true},
		{"range", "a: 1-2\n", true},
		{"signed exponent", "a: 1e-5\n", false},
		{"underscore before an exponent's sign", "a: 1e_-5\n", false},
		{"binary with a sign", "a: 0b-1\n", false},
		{"octal with two signs", "a: -0o-7\n", false},
		{"hex with a sign", "a: 0x-1\n", true},
		{"leading zero", "a: 0755\n", false},
		{"underscores", "a: 1_000\n", false},
		{"timestamp", "a: 2001-12-14\n", false},
		{"big int", "a: 1234567890123456789\n", false},
		{"merge key", "<<: a\n", false},
		{"dedent to nowhere", "a:\n    b: c\n  d: e\n", false},
		{"indented after a value", "a: b\n  c: d\n", false},
		{"key where an item was", "- a\nb: c\n", false},
		{"item where a key was", "a: b\n- c\n", false},
		{"directive", "%YAML 1.2\n---\na: b\n", false},
		{"complex key", "? a\n: b\n", false},
		{"empty key", ":\n", false},
		{"value starting with a colon", "a: :b\n", false},
		{"flow sequence of numbers and keywords", "a: [1, true, ~]\n", false},
		{"comment between the start and the header", "#c\n---\n#d\na: b\n", false},
		{"indented comment line", "a: b\n  # c\n", false},
		{"deep", strings.Repeat("- ", 1000) + "a\n", true},
		{"more nodes than an arena keeps", manyKeys(maxArenaNodes), true},
		{"more nodes than lines", "a: [b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u]\n", true},
		{"too deep", strings.Repeat("- ", 1001) + "a\n", false},
		{"deeper than yaml.v3 takes", strings.Repeat("- ", 10001) + "a\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkQuick(t, []byte(tt.doc)); got != tt.ok {
				t.Errorf("quickParse(%q): ok = %v; want %v", tt.doc, got, tt.ok)
			}
		})
	}
}

// manyKeys is a mapping of n keys.
func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "k%d: v\n", i)
	}
	return b.String()
}

// TestQuickParseCorpus holds quickParse to yaml.v3 on every document of the
// real wiring files, this package's test data and fuzz corpora, and the
// benchmarks' generated files, and checks that it takes most real wiring
// documents (where its speed matters).
func TestQuickParseCorpus(t *testing.T) {
	sources := map[string][]byte{"benchdata": benchdata.File(3, 300)}
	for _, pattern := range []string{"testdata/*.yaml", "testdata/*.txtar", "testdata/*/*.txtar"} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			sources[f] = readFile(t, f)
		}
	}
	for _, dir := range []string{"FuzzIngest", "FuzzNormalize"} {
		files, _ := filepath.Glob(filepath.Join("testdata/fuzz", dir, "*"))
		for _, f := range files {
			data, err := readCorpusEntry(f)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			sources[f] = data
		}
	}
	real := filepath.Join(sharedtest.Dir(t, "hedgehog"), "*.yaml")
	files, _ := filepath.Glob(real)
	if len(files) == 0 {
		t.Fatalf("no %s", real)
	}
	took, docs := 0, 0
	for _, f := range files {
		sp := newSplitter(readFile(t, f))
		for d, ok := sp.Next(); ok; d, ok = sp.Next() {
			if checkQuick(t, d.Data) {
				took++
			}
			if !d.Empty {
				docs++
			}
		}
	}
	t.Logf("quickParse took %d of %d real wiring documents", took, docs)
	if took*10 < docs*8 {
		t.Errorf("quickParse took %d of %d real wiring documents; want at least 80%%", took, docs)
	}
	for name, data := range sources {
		sp := newSplitter(data)
		for d, ok := sp.Next(); ok; d, ok = sp.Next() {
			if !bytes.Contains(d.Data, []byte("\n-- ")) { // a txtar file marker is no YAML
				t.Run(name, func(t *testing.T) { checkQuick(t, d.Data) })
			}
		}
	}
}

// TestQuickParseEdits holds quickParse to yaml.v3 on every one-character
// edit of documents it takes: each character deleted, and each of the
// characters YAML gives a meaning to put in its place or inserted before
// it. Random fuzzing seldom gets this close to the subset's edges.
func TestQuickParseEdits(t *testing.T) {
	docs := []string{
		"---\n#\n# c\n#\napiVersion: v1\nkind: Switch\nmetadata:\n  name: leaf-1\n  labels:\n    a/b: \"1\"\n" +
			"spec:\n  asn: 65101 # ours\n  ip: 10.0.0.1/24\n  mac: 0c:20:12:ff:00:00\n  ports:\n  - name: E1/1\n    speed: 4x10G\n" +
			"  -   x: 'y'\n  - - true\n    - ~\n  ecmp: {}\n  subnets: [a, b]\n  empty:\n  list:\n    -\n    - []\n",
		benchdata.Doc(2, 7),
	}
	const marks = " -:#\n'\"[]{},&*!|>?%@`.0a~<\t"
	for _, doc := range docs {
		if !checkQuick(t, []byte(doc)) {
			t.Fatalf("quickParse does not take %q", doc)
		}
		took := 0
		for i := range len(doc) + 1 {
			edits := []string{}
			if i < len(doc) {
				edits = append(edits, doc[:i]+doc[i+1:])
			}
			for _, c := range marks {
				edits = append(edits, doc[:i]+string(c)+doc[i:])
				if i < len(doc) {
					edits = append(edits, doc[:i]+string(c)+doc[i+1:])
				}
			}
			for _, e := range edits {
				if checkQuick(t, []byte(e)) {
					took++
				}
			}
		}
		t.Logf("quickParse took %d edits", took)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// FuzzQuickParse holds quickParse to yaml.v3 on any input. The seed
// corpus is in testdata/fuzz/FuzzQuickParse.
func FuzzQuickParse(f *testing.F) {
	f.Add([]byte("a:\n- b: c\n  d: 1\n- - e\n  - 'f'\ng: {}\n"))
	f.Add([]byte("---\n  a: 10.0.0.1/24\n  b:\n    c: \"true\"\n"))
	f.Add([]byte(benchdata.Doc(1, 2)))
	f.Add([]byte("#\n# h\n#\n---\na:\n  b: [c, 1, true]\n  d:\n  -\n  - ''\n  - \"x\"\n  - 0c:20:12:ff:00:00\n"))
	f.Add([]byte("# doc\n\na:\n  b: 1\n  # head of c\n  c:\n    d: x # d\n    # foot of d\n  # head of e\n  e: 2\n  # foot of e\nf:\n- g\n# head of h\nh: 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkQuick(t, data)
	})
}

// BenchmarkParseDoc parses generated documents (a Server with a header
// comment, a Connection with an end-of-line comment, a VPC with flow lists)
// with quickParse and with yaml.Unmarshal, as parseDoc would without it.
func BenchmarkParseDoc(b *testing.B) {
	var docs [][]byte
	sp := newSplitter(benchdata.File(1, 300))
	for d, ok := sp.Next(); ok; d, ok = sp.Next() {
		docs = append(docs, d.Data)
	}
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	b.Run("quick", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range docs {
				if _, ok := quickParse(d); !ok {
					b.Fatalf("quickParse does not take %q", d)
				}
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range docs {
				var n yaml.Node
				if err := yaml.Unmarshal(d, &n); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
