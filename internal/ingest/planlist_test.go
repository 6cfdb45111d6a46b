package ingest

import "testing"

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
