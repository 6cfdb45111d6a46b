package topology_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/sharedtest"
	"github.com/fabsync/fabsync/internal/topology"
)

// TestSVGRealWiring draws each real Hedgehog wiring file: the SVG is
// well-formed and has a node for every switch and server the file defines.
func TestSVGRealWiring(t *testing.T) {
	dir := sharedtest.Dir(t, "hedgehog")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no wiring files in %s: %v", dir, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rs := parse(t, src)
			var want []string
			for _, r := range rs {
				kind := scalarAt(r, "kind")
				if kind == "Switch" || kind == "Server" {
					want = append(want, scalarAt(r, "metadata", "name"))
				}
			}
			g, err := topology.Build(rs)
			if len(want) == 0 && errors.Is(err, topology.ErrNoDevices) {
				return // a file without wiring (a VPC)
			}
			if err != nil {
				t.Fatalf("Build = %v", err)
			}
			if len(g.Skipped) > 0 {
				t.Errorf("Build skipped %+v; want none in a real wiring file", g.Skipped)
			}
			svg := g.SVG(topology.Options{})
			ids := checkXML(t, svg)
			for _, name := range want {
				if !ids["node-"+name] {
					t.Errorf("SVG has no node-%s", name)
				}
				if !strings.Contains(string(svg), ">"+name+"</text>") {
					t.Errorf("SVG does not show the name %s", name)
				}
			}
			t.Logf("%d nodes, %d links, %d bytes", len(g.Nodes), len(g.Links), len(svg))
		})
	}
}

// scalarAt is the scalar at path in r's document, or "".
func scalarAt(r topology.Resource, path ...string) string {
	n := r.Root
	for _, key := range path {
		if n == nil || len(n.Content)%2 != 0 {
			return ""
		}
		var next = n
		n = nil
		for i := 0; i+1 < len(next.Content); i += 2 {
			if next.Content[i].Value == key {
				n = next.Content[i+1]
			}
		}
	}
	if n == nil {
		return ""
	}
	return n.Value
}
