package topology_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/topology"
)

// FuzzTopology checks that Build and SVG never panic and that every drawing
// is well-formed XML, whatever YAML they are handed.
func FuzzTopology(f *testing.F) {
	if src, err := os.ReadFile(filepath.Join("testdata", "small.yaml")); err == nil {
		f.Add(src)
	}
	f.Add(benchdata.Fabric(1, 2, 5))
	f.Add([]byte("kind: Switch\nmetadata: {name: \"a\\x01<b\"}\nspec: {role: \"sp ine\", redundancy: {group: \"g g\", type: x}}\n"))
	f.Add([]byte("kind: Connection\nmetadata: {name: c}\nspec: {mclagDomain: {peerLinks: [{switch1: {port: a/1}, switch2: {port: b/1}}]}}\n---\nkind: Switch\nmetadata: {name: a}\n"))
	f.Add([]byte("kind: Connection\nmetadata: {name: c}\nspec: {x: {link: {a: {port: \"\\xff/\\x00\"}, b: {port: z/1}, c: {port: z/2}}}}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, _ := decode(src, 200) // whatever decoded before an error
		g, err := topology.Build(rs)
		if err != nil {
			return
		}
		for _, w := range []int{0, 1, 500} {
			checkXML(t, g.SVG(topology.Options{MaxWidth: w, Problems: map[string]int{g.Nodes[0].Name: 1}}))
		}
	})
}
