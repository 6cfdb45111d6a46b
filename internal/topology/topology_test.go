package topology_test

import (
	stdcmp "cmp"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/goldentest"
	"github.com/fabsync/fabsync/internal/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSVGGolden draws each testdata/<input>.yaml and compares the drawing
// with testdata/<name>.svg.
func TestSVGGolden(t *testing.T) {
	tests := []struct {
		name, input string
		opts        topology.Options
	}{
		{name: "small", input: "small"},
		{name: "small-problems", input: "small", opts: topology.Options{Problems: map[string]int{
			"leaf-02": 3, "server-<&\">": 1, "server-02--bundled--leaf-02": 2, "no-such-node": 5,
		}}},
		{name: "small-narrow", input: "small", opts: topology.Options{MaxWidth: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tt.input+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			g, err := topology.Build(parse(t, src))
			if err != nil {
				t.Fatalf("Build = %v", err)
			}
			svg := g.SVG(tt.opts)
			checkXML(t, svg)
			if again := g.SVG(tt.opts); string(again) != string(svg) {
				t.Errorf("SVG differs between two calls on the same graph")
			}
			goldentest.Check(t, filepath.Join("testdata", tt.name+".svg"), svg, *update, "update")
		})
	}
}

// TestBuild checks what Build extracts from the small fabric.
func TestBuild(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := topology.Build(parse(t, src))
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	wantNodes := []topology.Node{
		{Name: "border-01", Kind: "Switch", Role: "border-leaf", Defined: true},
		{Name: "gateway-1", Kind: "Gateway", Defined: true},
		{Name: "leaf-01", Kind: "Switch", Role: "server-leaf", Group: "eslag-1", Redundancy: "eslag", Defined: true},
		{Name: "leaf-02", Kind: "Switch", Role: "server-leaf", Group: "eslag-1", Redundancy: "eslag", Defined: true},
		{Name: "server-01", Kind: "Server", Defined: true},
		{Name: "server-02", Kind: "Server", Defined: true},
		{Name: "server-99", Kind: "Server"},
		{Name: "server-<&\">", Kind: "Server", Defined: true},
		{Name: "spine-01", Kind: "Switch", Role: "spine", Defined: true},
		{Name: "spine-02", Kind: "Switch", Role: "spine", Defined: true},
	}
	if diff := cmp.Diff(wantNodes, g.Nodes); diff != "" {
		t.Errorf("Build nodes differ (-want +got):\n%s", diff)
	}
	if len(g.Links) != 15 {
		t.Errorf("Build has %d links; want 15: %+v", len(g.Links), g.Links)
	}
	want := topology.Link{Connection: "server-02--bundled--leaf-02", Type: "bundled",
		A: topology.End{Device: "server-02", Port: "enp2s2"}, B: topology.End{Device: "leaf-02", Port: "E1/3"}}
	found := false
	for _, l := range g.Links {
		found = found || l == want
	}
	if !found {
		t.Errorf("Build links = %+v; want one %+v", g.Links, want)
	}
	if len(g.Skipped) != 0 {
		t.Errorf("Build skipped %+v; want none", g.Skipped)
	}
}

// TestBuildSkipsBroken hands Build broken documents: each is skipped (or
// ignored) without a panic, and the good document beside it is drawn.
func TestBuildSkipsBroken(t *testing.T) {
	const good = "kind: Switch\nmetadata: {name: good-01}\nspec: {role: spine}\n"
	tests := []struct {
		name    string
		doc     string // YAML of the broken document; "" for a nil Root
		skipped string // part of the reason it is skipped; "" when it is ignored
		nodes   []string
	}{
		{name: "nil root", doc: "", nodes: []string{"good-01"}},
		{name: "scalar document", doc: "just a string", nodes: []string{"good-01"}},
		{name: "list document", doc: "[kind, Switch]", nodes: []string{"good-01"}},
		{name: "no name", doc: "kind: Switch\nspec: {role: spine}", skipped: "metadata.name", nodes: []string{"good-01"}},
		{name: "name is a mapping", doc: "kind: Server\nmetadata: {name: {a: b}}", skipped: "metadata.name", nodes: []string{"good-01"}},
		{name: "spec is a list", doc: "kind: Switch\nmetadata: {name: sw}\nspec: [role, spine]", skipped: "spec", nodes: []string{"good-01"}},
		{name: "role is a list", doc: "kind: Switch\nmetadata: {name: sw}\nspec: {role: [spine]}", nodes: []string{"good-01", "sw"}},
		{name: "duplicate", doc: good, skipped: "same name", nodes: []string{"good-01"}},
		{name: "other group", doc: "apiVersion: example.com/v1\nkind: Switch\nmetadata: {name: sw}", nodes: []string{"good-01"}},
		{name: "unknown kind", doc: "kind: Rack\nmetadata: {name: r}", nodes: []string{"good-01"}},
		{name: "connection without spec", doc: "kind: Connection\nmetadata: {name: c}", skipped: "port", nodes: []string{"good-01"}},
		{name: "connection port without slash", doc: "kind: Connection\nmetadata: {name: c}\nspec: {unbundled: {link: {server: {port: s1}, switch: {port: good-01/E1/1}}}}", nodes: []string{"good-01"}},
		{name: "connection ports empty", doc: "kind: Connection\nmetadata: {name: c}\nspec: {bundled: {links: [{server: {port: /x}, switch: {port: 'sw/'}}]}}", skipped: "port", nodes: []string{"good-01"}},
		{name: "connection links scalar", doc: "kind: Connection\nmetadata: {name: c}\nspec: {bundled: {links: 3}}", skipped: "port", nodes: []string{"good-01"}},
		{name: "connection links with aliases", doc: "kind: Connection\nmetadata: {name: c}\nspec: {bundled: {links: [&l {server: {port: s/1}, switch: {port: good-01/E1/1}}, *l]}}", nodes: []string{"good-01", "s"}},
		{name: "connection to unknown devices", doc: "kind: Connection\nmetadata: {name: c}\nspec: {fabric: {links: [{spine: {port: x/1}, leaf: {port: y/2}}]}}", nodes: []string{"good-01", "x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var broken topology.Resource
			if tt.doc != "" {
				broken = parse(t, []byte(tt.doc))[0]
			}
			rs := []topology.Resource{broken, parse(t, []byte(good))[0]}
			g, err := topology.Build(rs)
			if err != nil {
				t.Fatalf("Build = %v", err)
			}
			var names []string
			for _, n := range g.Nodes {
				names = append(names, n.Name)
			}
			if diff := cmp.Diff(tt.nodes, names); diff != "" {
				t.Errorf("Build nodes differ (-want +got):\n%s", diff)
			}
			switch {
			case tt.skipped == "" && len(g.Skipped) != 0:
				t.Errorf("Build skipped %+v; want none", g.Skipped)
			case tt.skipped != "" && (len(g.Skipped) != 1 || !strings.Contains(g.Skipped[0].Reason, tt.skipped)):
				t.Errorf("Build skipped %+v; want one for %q", g.Skipped, tt.skipped)
			}
			checkXML(t, g.SVG(topology.Options{}))
		})
	}
}

// TestBuildNoDevices checks that Build wraps ErrNoDevices when there is
// nothing to draw.
func TestBuildNoDevices(t *testing.T) {
	tests := []struct {
		name string
		rs   []topology.Resource
	}{
		{name: "none"},
		{name: "nil root", rs: []topology.Resource{{Kind: "Switch", Name: "x"}}},
		{name: "a VPC", rs: []topology.Resource{{Kind: "VPC", Name: "v", Root: &yaml.Node{Kind: yaml.MappingNode}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := topology.Build(tt.rs)
			if !errors.Is(err, topology.ErrNoDevices) {
				t.Errorf("Build = %v, %v; want ErrNoDevices", g, err)
			}
		})
	}
}

// TestSVGLarge draws the generated fabric of 2 spines, 32 leaves and 500
// servers: well-formed, every node in it, within the width, of a
// reasonable size.
func TestSVGLarge(t *testing.T) {
	g, err := topology.Build(parse(t, benchdata.Fabric(2, 16, 500)))
	if err != nil {
		t.Fatalf("Build = %v", err)
	}
	if len(g.Nodes) != 534 {
		t.Fatalf("Build has %d nodes; want 534", len(g.Nodes))
	}
	for _, maxWidth := range []int{0, 1200, 4000} {
		svg := g.SVG(topology.Options{MaxWidth: maxWidth, Problems: map[string]int{"leaf-07": 2, "server-123": 1}})
		ids := checkXML(t, svg)
		for _, n := range g.Nodes {
			if !ids["node-"+n.Name] {
				t.Errorf("SVG(MaxWidth %d) has no node-%s", maxWidth, n.Name)
			}
		}
		if len(svg) > 2<<20 {
			t.Errorf("SVG(MaxWidth %d) is %d bytes; want at most 2 MiB", maxWidth, len(svg))
		}
		width, height := svgSize(t, svg)
		if limit := stdcmp.Or(maxWidth, 1800); width > limit {
			t.Errorf("SVG(MaxWidth %d) is %d wide", maxWidth, width)
		}
		t.Logf("MaxWidth %d: %dx%d, %d bytes", maxWidth, width, height, len(svg))
	}
}
