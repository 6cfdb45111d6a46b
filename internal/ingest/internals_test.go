package ingest

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/validate"
)

// TestPlanList: entries come back by index, across the first block's growth and later blocks.
func TestPlanList(t *testing.T) {
	for _, n := range []int{0, 1, 16, 17, planBlock - 1, planBlock, planBlock + 1, 3*planBlock + 5} {
		var l planList
		for i := range n {
			l.add(planned{Line: int32(i)})
		}
		if l.len() != n {
			t.Fatalf("len = %d; want %d", l.len(), n)
		}
		for i := range n {
			if got := l.at(i).Line; got != int32(i) {
				t.Fatalf("n=%d: at(%d) = %d", n, i, got)
			}
		}
		if n > planBlock && len(l.blocks[0]) != planBlock {
			t.Errorf("n=%d: first block holds %d; want %d", n, len(l.blocks[0]), planBlock)
		}
	}
}

// TestParseManifestLine: every line appendManifestEntry writes is read back without YAML, to
// what YAML reads from it; lines written otherwise are left to YAML.
func TestParseManifestLine(t *testing.T) {
	files := []rawFile{{Path: "raw/a.yaml"}, {Path: "raw/sub dir/b.yaml"}}
	entries := []entry{
		{Path: "managed/switches/leaf-01.yaml", Kind: "Switch", APIVersion: "wiring.githedgehog.com/v1beta1", Name: "leaf-01", File: 0, Document: 3},
		{Path: "managed/vpcs/team-a/vpc-1.yaml", Kind: "VPC", APIVersion: "vpc.githedgehog.com/v1beta1", Namespace: "team-a", Name: "vpc-1", File: 1, Document: 12},
		{Path: "unmanaged/x/y/true.yaml", Kind: "X", APIVersion: "v1", Name: "true", File: -1, Source: &source{File: "raw/old.yaml", Commit: "0123abc", Job: "job-7"}},
		{Path: "unmanaged/x/y/1.yaml", Kind: "X", APIVersion: "v1", Name: "1.2", File: -1},
		{Path: "managed/weird/a, b: {c}.yaml", Kind: "X", APIVersion: "example.com/v1", Name: "a, b: {c}", File: -1, Source: &source{Document: 1}},
	}
	for i := range entries {
		entries[i].Sum[0], entries[i].Sum[31] = byte(i*37), byte(i*91)
	}
	for _, e := range entries {
		line := appendManifestEntry(nil, &e, files, "c0ffee", "job-1")
		line = line[:len(line)-1]
		var want manifestLine
		if _, err := safeUnmarshal(line[2:], &want); err != nil {
			t.Fatalf("YAML cannot read %s: %v", line, err)
		}
		got, ok := parseManifestLine(line)
		if !ok {
			t.Errorf("parseManifestLine(%s) left to YAML; it is a line as appendManifestEntry writes it", line)
		}
		if ok && got != want {
			t.Errorf("parseManifestLine(%s) = %+v; YAML reads %+v", line, got, want)
		}
	}
	for _, line := range []string{
		"- {path: managed/a.yaml, path: managed/b.yaml, source: {}}",
		"- {path: managed/a.yaml, name: 'x', source: {}}",
		"- {path: managed/a.yaml, name: \"x\\ty\", source: {}}",
		"- {path: managed/a.yaml, source: {document: 01}}",
		"- {path: managed/a.yaml, source: {document: 2}",
		"- {path: managed/a.yaml}",
	} {
		if e, ok := parseManifestLine([]byte(line)); ok {
			t.Errorf("parseManifestLine(%s) = %+v; want it left to YAML", line, e)
		}
	}
}

// TestMemoIsUsed: what a Memo holds for a file of that path, content and Validator is what the
// ingest reports for it, without checking the file again.
func TestMemoIsUsed(t *testing.T) {
	data := []byte("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-01\n")
	fsys := fstest.MapFS{
		"managed/switches/leaf-01.yaml": &fstest.MapFile{Data: data},
		"raw/a.yaml":                    &fstest.MapFile{Data: []byte("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s\n")},
	}
	v := validate.Default()
	var m Memo
	m.put(memoKey{v: v, path: "managed/switches/leaf-01.yaml", sum: sha256.Sum256(data)}, memoEntry{checks: []validate.Problem{{
		Pos: validate.Pos{File: "managed/switches/leaf-01.yaml", Document: 1, Line: 1, Column: 1}, Rule: "switch-role", Severity: validate.Warning, Message: "remembered"}}})
	res, err := Ingest(t.Context(), fsys, Options{JobID: "j", Validator: v, Memo: &m}, memoTestWriter{})
	if err != nil || len(res.Problems) != 1 || res.Problems[0].Message != "remembered" {
		t.Fatalf("Ingest = %v, %v; want the remembered warning", res, err)
	}
}

type memoTestWriter struct{}

func (memoTestWriter) WriteFile(string, []byte) error { return nil }
func (memoTestWriter) Remove(string) error            { return nil }

// TestPlanRecords: a planned document comes back from its compact record as
// it went in (path, name inside or outside the path, interned strings,
// output in memory or in scratch, flags, sums), and pathIndex finds every
// path across its growth.
func TestPlanRecords(t *testing.T) {
	var l planList
	x := &pathIndex{plan: &l}
	const n = 3*planBlock + 7
	for i := range n {
		name := fmt.Sprintf("res-%d", i)
		path := "managed/vpcs/" + name + ".yaml"
		if i%5 == 0 {
			path = fmt.Sprintf("unmanaged/things/short-%d.yaml", i) // a name not at the end of its path
		}
		p := planned{entry: entry{Path: path, Name: name, Kind: fmt.Sprintf("Kind%d", i%3), APIVersion: "v1", Namespace: []string{"", "team-a"}[i%2],
			File: int32(i % 7), Document: int32(i)}, Line: int32(2 * i), Size: int32(i), Managed: i%5 != 0, Delete: i%11 == 0}
		if i%2 == 0 {
			p.Out = []byte(name)
		} else {
			p.Spill = int64(100 * i)
		}
		if _, ok := x.get(path); ok {
			t.Fatalf("%s found before it was added", path)
		}
		if got := l.add(p); got != path {
			t.Fatalf("add returned %q; want %q", got, path)
		}
		x.add(i)
	}
	var changes []FileChange
	for i := range n {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		if i%3 == 0 {
			l.setSum(i, sum, -1)
		} else {
			l.setSum(i, sum, len(changes))
			changes = append(changes, FileChange{Sum: sum})
		}
	}
	for i := range n {
		p := l.at(i)
		name := fmt.Sprintf("res-%d", i)
		if p.Name != name || p.Kind != fmt.Sprintf("Kind%d", i%3) || p.APIVersion != "v1" || p.Namespace != []string{"", "team-a"}[i%2] ||
			p.File != int32(i%7) || p.Document != int32(i) || p.Line != int32(2*i) || p.Size != int32(i) || p.Managed != (i%5 != 0) || p.Delete != (i%11 == 0) || p.idx != i {
			t.Fatalf("document %d came back as %+v", i, p)
		}
		if i%2 == 0 && string(p.Out) != name || i%2 == 1 && (p.Out != nil || p.Spill != int64(100*i)) {
			t.Fatalf("document %d: output %q at %d", i, p.Out, p.Spill)
		}
		if j, ok := x.get(p.Path); !ok || int(j) != i {
			t.Fatalf("pathIndex.get(%s) = %d, %v; want %d", p.Path, j, ok, i)
		}
		var e entry
		l.entry(i, &e, changes)
		if want := sha256.Sum256([]byte{byte(i), byte(i >> 8)}); e.Sum != want || e.Path != p.Path {
			t.Fatalf("entry %d: %+v", i, e)
		}
		if l.deletes(i) != p.Delete || l.path(i) != p.Path {
			t.Fatalf("document %d: deletes/path disagree with at", i)
		}
	}
	l.release(0)
	if l.at(0).Out != nil {
		t.Error("release kept the output")
	}
	if _, ok := x.get("managed/vpcs/none.yaml"); ok {
		t.Error("found a path never added")
	}
}

// TestAppendScalar: a manifest scalar is plain when plainSafe says so and otherwise exactly
// what strconv.Quote writes (the quick path for printable ASCII included), and reads back as
// itself: for every one-byte string and for the shapes a manifest holds.
func TestAppendScalar(t *testing.T) {
	cases := []string{"", "vpc-1", "default", "0123abcdef", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"yes", "No", "NULL", "true", "False", "on", "off", "y", "n", "tru", "falsey",
		"raw/a b.yaml", `say "hi"`, `back\slash`, "tab\there", "line\nbreak", "ünïcode", "\x7f", "a: b", "-lead", ".hnp/x"}
	for c := 0; c < 256; c++ {
		cases = append(cases, string([]byte{byte(c)}))
	}
	for _, s := range cases {
		got := string(appendScalar(nil, s))
		want := strconv.Quote(s)
		if plainSafe(s) {
			want = s
		}
		if got != want {
			t.Errorf("appendScalar(%q) = %s; want %s", s, got, want)
		}
		var back string
		if err := yaml.Unmarshal([]byte("v: "+got), &struct {
			V *string `yaml:"v"`
		}{&back}); err != nil || back != s {
			if utf8.ValidString(s) {
				t.Errorf("appendScalar(%q) = %s reads back as %q, %v", s, got, back, err)
			}
		}
	}
}
