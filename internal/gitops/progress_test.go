package gitops_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

func TestSyncProgress(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	files := make(map[string]string, 300)
	for i := range 300 {
		files[fmt.Sprintf("raw/f%04d.yaml", i)] = fmt.Sprintf("kind: Thing\nmetadata:\n  name: thing-%d\nspec:\n  n: %d\n", i, i)
	}
	url := srv.NewRepo(t, "big", files)
	c := newClient(t, gitops.Config{URL: url})
	var got []gitops.Progress
	if _, err := c.Sync(context.Background(), func(p gitops.Progress) { got = append(got, p) }); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	withTotal := 0
	for _, p := range got {
		if p.Total > 0 {
			withTotal++
			if p.Done > p.Total || p.Phase == "" {
				t.Errorf("bad progress %+v", p)
			}
		}
	}
	if withTotal == 0 {
		t.Errorf("no Progress with Total > 0 among %d reports: %+v", len(got), got)
	}
	t.Logf("%d progress reports, first %+v, last %+v", len(got), got[0], got[len(got)-1])
}
