package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// BenchmarkCommitPathsSmall times CommitPaths alone for a click's commit on a small fabric of
// 300 resource files: 30 new resource files, 10 raw files removed and archived, the manifest
// rewritten (41 paths, 10 folders), without the push, so that the commit accumulates on the
// clone's branch as the rounds go.
func BenchmarkCommitPathsSmall(b *testing.B) {
	needGit(b)
	srv := gittest.NewServer(b)
	seed := map[string]string{"fab/.hnp/manifest.yaml": "files: []\n"}
	for j := 0; j < 300; j++ {
		seed[fmt.Sprintf("fab/managed/seed/obj-%04d.yaml", j)] = benchContent(j, 0)
	}
	for k := 0; k < 10; k++ {
		seed[fmt.Sprintf("fab/raw/r%d.yaml", k)] = benchContent(k, 1)
	}
	url := srv.NewRepo(b, "repo", seed)
	c := newClient(b, gitops.Config{URL: url, Dir: filepath.Join(cloneDir(b), "clone"), Path: "fab"})
	sync(b, c)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var paths []string
		for k := 0; k < 30; k++ {
			p := fmt.Sprintf("managed/r%d/obj-%02d.yaml", i, k)
			writeFile(b, c.Dir(), "fab/"+p, benchContent(100+k, i))
			paths = append(paths, p)
		}
		for k := 0; k < 10; k++ {
			arch := fmt.Sprintf(".hnp/archive/job-%d/r%d-%d.yaml.archived", i, k, i)
			writeFile(b, c.Dir(), "fab/"+arch, benchContent(k, 1000+i))
			paths = append(paths, fmt.Sprintf("raw/r%d.yaml", k), arch)
		}
		writeFile(b, c.Dir(), "fab/.hnp/manifest.yaml", fmt.Sprintf("files: [%d]\n", i))
		paths = append(paths, ".hnp/manifest.yaml")
		if i == 0 {
			for k := 0; k < 10; k++ {
				if err := os.Remove(filepath.Join(c.Dir(), fmt.Sprintf("fab/raw/r%d.yaml", k))); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
		if _, ok, err := c.CommitPaths(ctx, "fab", fmt.Sprintf("ingest %d\n\nFabsync-Job: bench-%d\n", i, i), paths); err != nil || !ok {
			b.Fatalf("CommitPaths = %v, %v", ok, err)
		}
	}
}
