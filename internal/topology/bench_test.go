package topology_test

import (
	"testing"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/topology"
)

// BenchmarkSVGLarge builds and draws the generated fabric of 2 spines, 32
// leaves (16 ESLAG and MCLAG pairs) and 500 servers from parsed documents.
func BenchmarkSVGLarge(b *testing.B) {
	rs := parse(b, benchdata.Fabric(2, 16, 500))
	b.ReportAllocs()
	var size int
	for b.Loop() {
		g, err := topology.Build(rs)
		if err != nil {
			b.Fatal(err)
		}
		size = len(g.SVG(topology.Options{Problems: map[string]int{"leaf-07": 2}}))
	}
	b.ReportMetric(float64(size), "bytes/svg")
}
