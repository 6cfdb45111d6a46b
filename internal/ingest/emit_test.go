package ingest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/sharedtest"
)

// yamlEncode is what appendDoc must equal: yaml.v3's Encoder with SetIndent(2).
func yamlEncode(t testing.TB, doc *yaml.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		t.Fatalf("yaml.v3 Encode: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("yaml.v3 Close: %v", err)
	}
	return buf.Bytes()
}

// compareEmit parses every document of data as ingest does (aliases expanded, normalized)
// and, for each that appendDoc writes, checks its bytes against yaml.v3's. It returns how
// many documents appendDoc wrote and how many it declined.
func compareEmit(t *testing.T, name string, data []byte) (wrote, declined int) {
	t.Helper()
	sp := newSplitter(data)
	for d, ok := sp.Next(); ok; d, ok = sp.Next() {
		if d.Empty {
			continue
		}
		doc, err := parseDoc(d.Data)
		if err != nil || isEmptyDoc(doc) {
			continue
		}
		if _, err := expandAliases(doc, defaultMaxAliasExpansion); err != nil {
			continue
		}
		transform(doc)
		got, ok := appendDoc(nil, doc)
		if !ok {
			declined++
			continue
		}
		wrote++
		if want := yamlEncode(t, doc); !bytes.Equal(got, want) {
			t.Errorf("%s document %d: appendDoc differs from yaml.v3\ninput:\n%s\nyaml.v3:\n%s\nappendDoc:\n%s", name, d.Index, d.Data, want, got)
		}
	}
	return wrote, declined
}

// TestEmitMatchesYAML holds ingest's YAML writer to yaml.v3's bytes: on edge cases of
// quoting, comments and nesting, on every YAML file of the golden and fuzz corpora, on the
// generated benchmark documents and on the real wiring files. It also checks that the writer
// takes the documents it is for, so that the fast path is the one ingest runs.
func TestEmitMatchesYAML(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		writes bool // appendDoc must write it (not decline)
	}{
		{"plain", "a: b\nc: 1\nd: true\ne: 1.5\nf: null\ng: ~\nh:\n", true},
		{"quoted styles", "a: 'x'\nb: \"y\"\nc: \"it's\"\nd: 'say \"hi\"'\ne: \"\"\nf: ''\n", true},
		{"needs quotes", "a: ' lead'\nb: 'trail '\nc: '# no'\nd: 'x: y'\ne: '- x'\nf: '@at'\ng: '`tick'\nh: 'a #b'\ni: '---'\nj: '...x'\nk: '?'\nl: ': x'\n", true},
		{"not indicators", "a: x#y\nb: x:y\nc: -x\nd: ?x\ne: a-b\nf: 10.0.0.1/24\ng: 0c:20:12:fe:00:01\nh: E1/1\ni: http://x/y?z=1\n", true},
		{"escapes", "a: \"tab\\there\"\nb: \"nul\\0x\"\nc: \"bell\\a\"\nd: \"esc\\e\"\ne: \"nbsp\\_x\"\nf: \"back\\\\slash\"\ng: \"\\x7f\"\nh: \"\\uFEFFbom\"\ni: \"\\U0001F600\"\nj: \"\\uFFFE\"\n", true},
		{"unicode", "a: héllo wörld\nb: 日本語\nc: \"é\"\nd: 'ü'\n", true},
		{"keys", "'': empty key\n\"quoted key\": 1\n1: int key\ntrue: bool key\n'a b': 2\n", true},
		{"nesting", "a:\n  b:\n    c: d\n  e:\n  - f\n  - g: h\n    i: j\n  - - k\n    - l\n  - []\n  - {}\nm: []\nn: {}\n", true},
		{"sequence of mappings", "spec:\n  links:\n  - server:\n      port: s/e1\n    switch:\n      port: l/E1/1\n", true},
		{"comments", "# head\n# two\na: b # line\n# before c\nc:\n  # before d\n  d: e # after e\n  f:\n  # item\n  - g # g\n  - h\n", true},
		{"comment lines", "#\n# Server\n#\napiVersion: v1\n\n# spaced\n\n# again\nkind: X\n", true},
		{"comment at mapping item", "a:\n- # c\n  b: 1\n", true},
		{"foot comment", "a: b\n# foot\n\nc: d\n", false},
		{"document comment", "###\n### x\n###\n\na: b\n", true},
		{"document and key comments", "# doc\n\n# key\na: b\n", true},
		{"foot comment of a nested mapping", "a:\n  b: 1\n  # end of a\nc: 2\n", true},
		{"foot comments of nested mappings", "a:\n  b:\n    c: 1\n    # end of b\n  d:\n    e: 1 # e\n    # end of d\nf:\n  g: 1\n  # end of f\n", true},
		{"foot comment at the end of the document", "a:\n  b: 1\n  # end\n", true},
		{"foot comment of a null", "a:\n  b: 1\n  c:\n  # end\nd: 1\n", false},
		{"foot comment of a mapping's last key", "a: 1\nb: 2\n# end\n", false},
		{"foot comment inside a mapping", "a:\n  b: 1\n  # x\n\n  c: 2\n", false},
		{"foot comment left of its mapping", "a:\n  b:\n    c: 1\n  # x\nd: 1\n", true}, // yaml.v3 reads it as c's foot comment
		{"foot comment in a sequence item", "s:\n- a: 1\n  # x\n- b\n", false},
		{"comment on key of collection", "a: # c\n  b: 1\n", false},
		{"multi-line", "a: |\n  x\n  y\nb: >\n  z\n", false},
		{"plain with break", "a: x\n\n  y\n", false},
		{"tag", "a: !!str 1\nb: !custom x\n", false},
		{"long key", strings.Repeat("k", 129) + ": v\n", false},
		{"key of 128", strings.Repeat("k", 128) + ": v\n", true},
		{"merge", "a: &x\n  b: 1\nc:\n  <<: *x\n  d: 2\n", true},
		{"CR in value", "a: \"x\\ry\"\n", false},
		{"LS in value", "a: \"x\\Ly\"\n", false},
		{"NEL in value", "a: \"x\\Ny\"\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wrote, _ := compareEmit(t, tc.name, []byte(tc.in))
			if tc.writes && wrote != 1 {
				t.Errorf("appendDoc declined %q; it is of the shape it writes", tc.in)
			}
			if !tc.writes && wrote != 0 {
				t.Errorf("appendDoc wrote %q; want it to leave it to yaml.v3", tc.in)
			}
		})
	}

	t.Run("corpus", func(t *testing.T) {
		var files []string
		for _, glob := range []string{"testdata/*.yaml", "testdata/*/*.yaml", "testdata/*/*/*.yaml"} {
			m, err := filepath.Glob(glob)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, m...)
		}
		wrote := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := compareEmit(t, f, data)
			wrote += n
		}
		// The fuzz corpora hold Go's corpus encoding: each entry is one quoted []byte.
		for _, dir := range []string{"testdata/fuzz/FuzzNormalize", "testdata/fuzz/FuzzIngest"} {
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				data, err := readCorpusEntry(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatalf("%s: %v", e.Name(), err)
				}
				n, _ := compareEmit(t, e.Name(), data)
				wrote += n
			}
		}
		if wrote < 50 {
			t.Errorf("appendDoc wrote only %d documents of the corpus", wrote)
		}
	})

	t.Run("generated", func(t *testing.T) {
		wrote, declined := compareEmit(t, "generated", benchdata.File(1, 300))
		if declined != 0 || wrote != 300 {
			t.Errorf("appendDoc wrote %d and declined %d of 300 generated documents; want all written", wrote, declined)
		}
	})

	t.Run("hedgehog", func(t *testing.T) {
		dir := sharedtest.Dir(t, "hedgehog")
		files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		wrote, declined := 0, 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			w, d := compareEmit(t, filepath.Base(f), data)
			wrote, declined = wrote+w, declined+d
		}
		if wrote == 0 || declined > wrote/10 {
			t.Errorf("appendDoc wrote %d and declined %d real documents; want nearly all written", wrote, declined)
		}
	})
}

// readCorpusEntry reads a file of Go's fuzz corpus format holding one []byte value.
func readCorpusEntry(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitN(string(data), "\n", 2)
	if len(lines) < 2 {
		return nil, nil
	}
	v := strings.TrimSpace(lines[1])
	v = strings.TrimSuffix(strings.TrimPrefix(v, "[]byte("), ")")
	s, err := strconv.Unquote(v)
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// FuzzEmit checks that appendDoc, where it writes a document, writes yaml.v3's bytes. The
// seed corpus is FuzzNormalize's.
func FuzzEmit(f *testing.F) {
	f.Add([]byte("a: b # c\nd:\n- 'e'\n- f: \"g\"\n"))
	f.Add([]byte("a: ' x'\nb: \"\\t\"\n#c\ne: []\n"))
	f.Add([]byte("# doc\n\na:\n  b: 1\n  # end of a\nc:\n  d:\n    e: 1\n    # end of d\n"))
	ents, _ := os.ReadDir("testdata/fuzz/FuzzNormalize")
	for _, e := range ents {
		if data, err := readCorpusEntry(filepath.Join("testdata/fuzz/FuzzNormalize", e.Name())); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareEmit(t, "fuzz", data)
	})
}

// FuzzNormalizeOnce checks that the output of ingest's one-pass normalization, which skips
// the read-back check for the documents appendDoc writes with comments stableComments
// accepts, is a fixed point of normalization: normalizing it again gives the same bytes.
func FuzzNormalizeOnce(f *testing.F) {
	f.Add([]byte("#\n# Server\n#\napiVersion: v1\nkind: X # k\nmetadata:\n  # n\n  name: a\nspec:\n  - # i\n    b: 1\n  # c\n  - d\n"))
	f.Add([]byte("a: b\n# foot\n\n# head\nc: d\n"))
	f.Add([]byte("a:\n  b: 1\n  # end of a\nc: 2\n"))
	f.Add([]byte("###\n### doc\n###\n\na:\n  z: 1 # z\n  b:\n    c: 1\n    # end of b\n  # end of a\nd:\n  e: x\n  # end of d\n"))
	ents, _ := os.ReadDir("testdata/fuzz/FuzzNormalize")
	for _, e := range ents {
		if data, err := readCorpusEntry(filepath.Join("testdata/fuzz/FuzzNormalize", e.Name())); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := parseDoc(data)
		if err != nil || isEmptyDoc(doc) {
			return
		}
		if _, err := expandAliases(doc, defaultMaxAliasExpansion); err != nil {
			return
		}
		out, err := normalizeOnce(doc, len(data))
		if err != nil {
			return
		}
		again, err := renormalize(out)
		if err != nil {
			t.Fatalf("normalized output does not normalize again: %v\ninput:\n%s\noutput:\n%s", err, data, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point\ninput:\n%q\nfirst:\n%s\nsecond:\n%s", data, out, again)
		}
	})
}
