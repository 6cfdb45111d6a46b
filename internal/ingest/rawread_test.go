package ingest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"time"

	"golang.org/x/tools/txtar"
)

// splitInputs are streams for the splitter's edge cases: line ends of every
// kind, markers, prologues and comment headers, a byte order mark, no final
// line end, and long lines and documents.
var splitInputs = []string{
	"",
	"a: 1",
	"a: 1\n",
	"\xEF\xBB\xBFa: 1\n---\nb: 2\n",
	"\xEF\xBB",
	"---\na: 1\n---\nb: 2\n...\n# after\n---\nc: 3",
	"a: 1\r\nb: 2\r\n---\r\nc: 3\r\n",
	"a: 1\rb: 2\r---\rc: 3\r",
	"a: 1\r\n\r\n\r",
	"# header\n%YAML 1.2\n---\na: 1\n# next one\n\n# still\n---\nb: 2\n  # indented\n---\n",
	"--- |\n  text\n--- x\n...\n...\n---",
	"a: " + strings.Repeat("x", 300) + "\n---\nb: " + strings.Repeat("y\n ", 200) + "\n",
	"---\n# only comments\n---\n\n\n",
	"----\n--- \n---\t# c\n.. .\n",
}

// splitAll returns every document of sp.
func splitAll(sp *splitter) []rawDoc {
	var docs []rawDoc
	for {
		d, ok := sp.Next()
		if !ok {
			return docs
		}
		docs = append(docs, d)
	}
}

// TestStreamSplitter: a splitter reading a stream in pieces, however small and however the
// reader cuts them, returns the documents of a splitter of the same bytes in memory, and each
// stays what it was after later windows are read.
func TestStreamSplitter(t *testing.T) {
	inputs := slices.Clone(splitInputs)
	for k := range 80 { // a header comment block across every window boundary
		inputs = append(inputs, "p: "+strings.Repeat("x", k)+"\n---\na: 1\n# header of b\n\n# more\n---\nb: 2\r\n")
	}
	for _, p := range corpusFiles(t) {
		inputs = append(inputs, string(p))
	}
	for i, in := range inputs {
		want := splitAll(newSplitter([]byte(in)))
		for _, piece := range []int{1, 2, 3, 7, 64, streamPiece} {
			for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in)), iotest.HalfReader(strings.NewReader(in))} {
				sp := newPieceSplitter(r, piece)
				got := splitAll(sp)
				if sp.Err() != nil {
					t.Fatalf("input %d, pieces of %d: Err() = %v", i, piece, sp.Err())
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("input %d %.40q, pieces of %d: %d documents differ from those in memory (%d)", i, in, piece, len(got), len(want))
				}
			}
		}
	}
	failing := newPieceSplitter(io.MultiReader(strings.NewReader("a: 1\n---\nb: 2\n"), iotest.ErrReader(errors.New("disk gone"))), 4)
	splitAll(failing)
	if failing.Err() == nil || failing.Err().Error() != "disk gone" {
		t.Fatalf("Err() after a failed read = %v; want it", failing.Err())
	}
}

// FuzzStreamSplitter: for any bytes, the stream splitter agrees with the one in memory.
func FuzzStreamSplitter(f *testing.F) {
	for _, in := range splitInputs {
		f.Add([]byte(in), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, piece uint8) {
		want := splitAll(newSplitter(in))
		got := splitAll(newPieceSplitter(iotest.HalfReader(bytes.NewReader(in)), int(piece)+1))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q in pieces of %d: the documents differ from those in memory", in, int(piece)+1)
		}
	})
}

// TestTextCheck: piece by piece, textCheck accepts what checkText accepts, wherever the pieces
// are cut (within a character too).
func TestTextCheck(t *testing.T) {
	inputs := []string{
		"", "a: 1\n", "name: é\n", "emoji: 😀 and 中文\n", "a: \xE9\n", "a: 1\x00\n",
		"\xFE\xFFa", "\xFF\xFEa", "tail: \xE2\x82", "tail: \xF0\x9F\x98", "\xC3", "\x80abc", "ok 😀",
		"a\xF0\x9F\x98\x80\xF0\x9F", "\xED\xA0\x80", // a cut character at the end; a surrogate
	}
	for _, in := range inputs {
		_, _, _, want := checkText([]byte(in))
		for cut := 0; cut <= len(in); cut++ {
			for cut2 := cut; cut2 <= len(in); cut2++ {
				var tc textCheck
				for _, p := range []string{in[:cut], in[cut:cut2], in[cut2:]} {
					_ = tc.add([]byte(p))
				}
				if tc.ok() != want {
					t.Fatalf("%q cut at %d and %d: ok = %v; checkText says %v", in, cut, cut2, tc.ok(), want)
				}
			}
		}
	}
}

// TestRawInPieces: an ingest that reads every raw file in pieces (as it reads those over
// wholeFileMax) writes the same files, in the same order, with the same Result and problems
// as one that reads them whole; for the golden cases, and for streams with problems.
func TestRawInPieces(t *testing.T) {
	trees := map[string]fstest.MapFS{}
	for name, data := range corpusTrees(t) {
		trees[name] = data
	}
	bad := map[string]string{
		"latin":     "a: 1\n---\n" + strings.Repeat("# filler\n", 10000) + "b: caf\xE9\n",
		"nul":       strings.Repeat("# filler\n", 10000) + "a: \x00\n",
		"cut-utf8":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: \xE2\x82",
		"syntax":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n",
		"crlf":      "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: x\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: y\r\n",
		"too-many":  strings.Repeat("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", 5),
		"too-large": strings.Repeat("# filler\n", 200),
	}
	for name, raw := range bad {
		trees["bad-"+name] = fstest.MapFS{"raw/" + name + ".yaml": {Data: []byte(raw)}}
	}
	opts := Options{JobID: "job-1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Limits: Limits{MaxDocuments: 4, MaxFileBytes: 1000}}
	for name, tree := range trees {
		t.Run(name, func(t *testing.T) {
			o := opts
			if !strings.HasPrefix(name, "bad-too-") {
				o.Limits = Limits{}
			}
			wantW, gotW := &pieceRecorder{}, &pieceRecorder{}
			want, wantErr := Ingest(t.Context(), tree, o, wantW)
			defer func(n int64) { wholeFileMax = n }(wholeFileMax)
			wholeFileMax = -1 // every file in pieces
			got, gotErr := Ingest(t.Context(), tree, o, gotW)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
				t.Fatalf("in pieces: %+v, %v\nwhole: %+v, %v", got, gotErr, want, wantErr)
			}
			if !slices.Equal(gotW.names, wantW.names) || !maps.EqualFunc(gotW.files, wantW.files, bytes.Equal) {
				t.Fatalf("in pieces the writes differ: %q\nwhole: %q", gotW.names, wantW.names)
			}
			if wantErr == nil && want.Files != countPrefix(gotW.streamed, archiveDir+"/") {
				t.Fatalf("streamed %q; want the archive copy of each of the %d raw files", gotW.streamed, want.Files)
			}
		})
	}
}

// TestRawChanged: a raw file read in pieces that reads differently at any one of its reads
// fails the ingest as changed, before anything of it is written or with its archive copy.
func TestRawChanged(t *testing.T) {
	defer func(n int64) { wholeFileMax = n }(wholeFileMax)
	wholeFileMax = -1
	raw := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
	for read := 2; read <= 4; read++ { // the first pass's splitting, the second's check, the archive copy
		fsys := &changingFS{MapFS: fstest.MapFS{"raw/a.yaml": {Data: []byte(raw)}}, name: "raw/a.yaml", after: read, data: []byte(raw + "data:\n  k: v\n")}
		w := &pieceRecorder{}
		_, err := Ingest(t.Context(), fsys, Options{JobID: "job-1"}, w)
		if !errors.Is(err, errChanged) || !strings.Contains(err.Error(), "raw/a.yaml") {
			t.Fatalf("file changed at read %d: err = %v; want %v naming the file", read, err, errChanged)
		}
		// Found by the first pass's second read, before anything is written; by the write
		// pass's check, before anything of the file is written; by the archive copy, last.
		if wrote := len(w.names) > 0; wrote != (read == 4) {
			t.Fatalf("file changed at read %d: wrote %q", read, w.names)
		}
	}
}

// changingFS serves data for name at its after-th Open, and the original at every other.
type changingFS struct {
	fstest.MapFS
	name  string
	after int
	opens int
	data  []byte
}

func (c *changingFS) Open(name string) (fs.File, error) {
	if name == c.name {
		if c.opens++; c.opens == c.after {
			return fstest.MapFS{name: {Data: c.data}}.Open(name)
		}
	}
	return c.MapFS.Open(name)
}

// pieceRecorder records the writes of an ingest; it takes files in pieces (StreamWriter).
type pieceRecorder struct {
	names    []string
	files    map[string][]byte
	streamed []string
}

func (r *pieceRecorder) WriteFile(name string, data []byte) error {
	if r.files == nil {
		r.files = map[string][]byte{}
	}
	r.names = append(r.names, name)
	r.files[name] = bytes.Clone(data)
	return nil
}

func (r *pieceRecorder) Remove(name string) error {
	r.names = append(r.names, "-"+name)
	return nil
}

func (r *pieceRecorder) CreateFile(name string) (io.WriteCloser, error) {
	r.streamed = append(r.streamed, name)
	return &recordedPieces{r: r, name: name}, nil
}

type recordedPieces struct {
	r    *pieceRecorder
	name string
	buf  bytes.Buffer
}

func (p *recordedPieces) Write(b []byte) (int, error) { return p.buf.Write(b) }
func (p *recordedPieces) Close() error                { return p.r.WriteFile(p.name, p.buf.Bytes()) }

// corpusTrees are the fabric folders of the golden cases in testdata/.
func corpusTrees(t *testing.T) map[string]fstest.MapFS {
	t.Helper()
	trees := map[string]fstest.MapFS{}
	cases, _ := filepath.Glob("testdata/*.yaml")
	archives, _ := filepath.Glob("testdata/*.txtar")
	for _, p := range archives {
		if strings.HasSuffix(p, ".golden.txtar") {
			continue
		}
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tree := fstest.MapFS{}
		for _, f := range ar.Files {
			tree[f.Name] = &fstest.MapFile{Data: f.Data}
		}
		trees[filepath.Base(p)] = tree
	}
	for _, p := range cases {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		trees[filepath.Base(p)] = fstest.MapFS{"raw/" + filepath.Base(p): {Data: data}}
	}
	if len(trees) < 5 {
		t.Fatalf("found %d golden cases in testdata/; want them all", len(trees))
	}
	return trees
}

// corpusFiles are the raw files of the golden cases.
func corpusFiles(t *testing.T) [][]byte {
	var files [][]byte
	for _, tree := range corpusTrees(t) {
		for name, f := range tree {
			if strings.HasPrefix(name, "raw/") {
				files = append(files, f.Data)
			}
		}
	}
	return files
}

func countPrefix(names []string, prefix string) int {
	n := 0
	for _, s := range names {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}
