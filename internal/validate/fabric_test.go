package validate

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestCheckFabricDeleted: a Deleted Resource takes its resource out of the
// fabric; references that stay are one error at the delete, naming every
// referrer, and the deleted resource holds no claims.
func TestCheckFabricDeleted(t *testing.T) {
	const conns = `apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-01--unbundled--leaf-01
spec:
  unbundled:
    link:
      server: {port: server-01/eth0}
      switch: {port: leaf-01/E1/1}
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-02--unbundled--leaf-01
spec:
  unbundled:
    link:
      server: {port: server-02/eth0}
      switch: {port: leaf-01/E1/2}
`
	del := NewDeleted("Switch", "", "leaf-01", Pos{File: "raw/delete.yaml", Document: 1, Line: 4, Column: 9}, true)
	v := Default()
	fabric := func(extra ...*Resource) []string {
		var rs []*Resource
		for _, d := range parseDocs(t, "managed.yaml", conns+wiringBase, false) {
			if _, r := v.Check(d); r != nil {
				rs = append(rs, r)
			}
		}
		var out []string
		all := append(rs, extra...)
		var f Facts
		f.chunk = 128
		f.SetSpill(&memSpill{})
		for _, r := range all {
			f.Add(r)
		}
		if direct, viaFacts := v.CheckFabric(all), v.CheckFacts(&f); !reflect.DeepEqual(direct, viaFacts) {
			t.Errorf("CheckFacts differs from CheckFabric:\n%v\n%v", viaFacts, direct)
		}
		for _, p := range v.CheckFabric(all) {
			out = append(out, p.String())
		}
		return out
	}
	if got := fabric(); len(got) != 0 {
		t.Fatalf("the fabric without deletes has problems:\n%s", strings.Join(got, "\n"))
	}

	want := []string{"raw/delete.yaml:4:9 document 1: deleting switch leaf-01 leaves connections server-01--unbundled--leaf-01, server-02--unbundled--leaf-01 referring to it [error delete-leaves-references]"}
	if got := fabric(del); !slices.Equal(got, want) {
		t.Errorf("delete with referrers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Deleting the referrers too leaves nothing dangling.
	delConns := []*Resource{
		del,
		NewDeleted("Connection", "default", "server-01--unbundled--leaf-01", Pos{File: "raw/delete.yaml", Document: 2}, true),
		NewDeleted("Connection", "", "server-02--unbundled--leaf-01", Pos{File: "raw/delete.yaml", Document: 3}, true),
	}
	if got := fabric(delConns...); len(got) != 0 {
		t.Errorf("delete with its referrers: %s; want no problems", strings.Join(got, "\n"))
	}

	// A delete of an old resource (New false) is a warning, like all old debt.
	old := *del
	old.New = false
	if got := fabric(&old); len(got) != 1 || !strings.HasSuffix(got[0], "[warning delete-leaves-references]") {
		t.Errorf("old delete: %v; want one warning", got)
	}

	// A deleted resource holds no claims: a new connection may take the
	// port of a deleted one.
	c1 := &Resource{Kind: "Connection", Namespace: "default", Name: "c1", New: true,
		Claims: []Claim{{Space: "port", Key: "leaf-01/E1/1/1", Show: "port leaf-01/E1/1", Rule: "connection-port-reused"}}}
	c1del := NewDeleted("Connection", "", "server-01--unbundled--leaf-01", Pos{File: "raw/delete.yaml", Document: 2}, true)
	if got := fabric(c1, c1del); len(got) != 0 {
		t.Errorf("new claim of a deleted resource's port: %v; want no problems", got)
	}
	if got := fabric(c1); len(got) != 1 || !strings.Contains(got[0], "port leaf-01/E1/1 is already used by connection server-01--unbundled--leaf-01") {
		t.Errorf("new claim of a kept resource's port: %v; want connection-port-reused", got)
	}

	// Several kinds of referrers, and a disabled rule.
	vpcAtt := &Resource{Kind: "VPCAttachment", Namespace: "default", Name: "att-1", New: false,
		Refs: []Ref{{Kind: "Switch", Name: "leaf-01", Rule: "connection-unknown-switch"}}}
	want = []string{"raw/delete.yaml:4:9 document 1: deleting switch leaf-01 leaves connections server-01--unbundled--leaf-01, server-02--unbundled--leaf-01 and VPC attachment att-1 referring to it [error delete-leaves-references]"}
	if got := fabric(del, vpcAtt); !slices.Equal(got, want) {
		t.Errorf("two kinds of referrers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
