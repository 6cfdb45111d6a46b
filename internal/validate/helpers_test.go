package validate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// parseDocs splits src (a multi-document YAML file) into Docs the way
// ingest hands them over: positions in the file, identity filled in, New
// set as given. A test helper: it fails the test on YAML it cannot parse.
func parseDocs(t testing.TB, file, src string, isNew bool) []*Doc {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	var out []*Doc
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", file, i, err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		d := newTestDoc(file, i, n.Content[0], isNew)
		out = append(out, d)
	}
}

// checkAll runs Check on every document and CheckFabric on all of them,
// with extra (resources made by hand, stubs of what the fabric also holds)
// before theirs, and returns every problem, per-document ones first.
func checkAll(v *Validator, docs []*Doc, extra ...*Resource) []Problem {
	var ps []Problem
	rs := slices.Clone(extra)
	for _, d := range docs {
		p, r := v.Check(d)
		ps = append(ps, p...)
		if r != nil {
			rs = append(rs, r)
		}
	}
	// The fabric checks find the same problems with the facts in memory and with chunks of a
	// few records moved to a Spill, as ingest keeps them for a large fabric.
	var spilled Facts
	spilled.chunk = 256
	spilled.SetSpill(&memSpill{})
	for _, r := range rs {
		spilled.Add(r)
	}
	direct := v.CheckFabric(rs)
	if viaSpill := v.CheckFacts(&spilled); !reflect.DeepEqual(direct, viaSpill) {
		panic(fmt.Sprintf("CheckFacts through a Spill differs from CheckFacts in memory:\n%v\n%v", viaSpill, direct))
	}
	return append(ps, direct...)
}

// newTestDoc makes the Doc of document i of file, whose root mapping is
// root, as ingest would.
func newTestDoc(file string, i int, root *yaml.Node, isNew bool) *Doc {
	d := &Doc{File: file, Index: i, Line: 1, Root: root, New: isNew}
	d.APIVersion, _ = getStr(root, "apiVersion")
	d.Group, d.Version, _ = strings.Cut(d.APIVersion, "/")
	if !strings.Contains(d.APIVersion, "/") {
		d.Group, d.Version = "", d.APIVersion
	}
	d.Kind, _ = getStr(root, "kind")
	d.Name, _ = getStr(root, "metadata", "name")
	d.Namespace, _ = getStr(root, "metadata", "namespace")
	return d
}

// fuzzDocs is parseDocs for fuzzing: it reads at most max documents of
// arbitrary bytes and stops, without failing, at YAML it cannot parse (a
// panic of the YAML decoder gives nil). isNew says which documents are new.
func fuzzDocs(src []byte, file string, max int, isNew func(i int) bool) (docs []*Doc) {
	defer func() {
		if recover() != nil { // the YAML decoder's, not ours
			docs = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for i := 1; i <= max; i++ {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return docs
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		docs = append(docs, newTestDoc(file, i, n.Content[0], isNew(i)))
	}
	return docs
}

// memSpill is a Spill in memory.
type memSpill struct{ b []byte }

func (m *memSpill) Put(b []byte) (int64, error) {
	off := int64(len(m.b))
	m.b = append(m.b, b...)
	return off, nil
}

func (m *memSpill) Get(b []byte, off int64) error {
	if off < 0 || off+int64(len(b)) > int64(len(m.b)) {
		return fmt.Errorf("read %d bytes at %d of %d", len(b), off, len(m.b))
	}
	copy(b, m.b[off:])
	return nil
}
