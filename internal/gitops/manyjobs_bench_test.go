package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// BenchmarkSyncAfterManyJobs times the git side of a small job on a clone that has seen
// FABSYNC_BENCH_JOBS (default 40) of them already: someone pushes 10 new raw files (not
// timed), then RemoteHead and SyncAt, a commit of 30 resource files (CommitPaths) and Push.
// Each earlier job left its fetch's pack in the clone unless the clone folds them
// (pack.go's foldSmallPacks); go-git decodes every pack index of a clone when it opens it and
// looks objects up in each in turn. It reports the medians of the sync (sync-ms) and of the
// whole job (job-ms), of its commit (commit-ms) and push (push-ms), and the clone's packs at
// the end. The server writes straight into the served repository (`git commit-tree`), so that
// its own cost is not in the figures; the remote is a file:// URL for the same reason. Run
// with -benchtime 20x.
func BenchmarkSyncAfterManyJobs(b *testing.B) {
	needGit(b)
	jobs := 40
	if s := os.Getenv("FABSYNC_BENCH_JOBS"); s != "" {
		if _, err := fmt.Sscan(s, &jobs); err != nil {
			b.Fatalf("FABSYNC_BENCH_JOBS=%q: %v", s, err)
		}
	}
	srv := gittest.NewServer(b)
	srv.NewRepo(b, "fabric", map[string]string{"fab/managed/seed.yaml": "seed: 1\n"})
	bare := srv.RepoDir("fabric")
	gittest.Git(b, bare, "config", "receive.denyCurrentBranch", "ignore")
	c := newClient(b, gitops.Config{URL: "file://" + bare, Path: "fab", Depth: gitops.RecommendedDepth})
	sync(b, c)
	ctx := context.Background()
	var commits, pushes []float64
	job := func(round int) (syncDur, all time.Duration) {
		blobs := map[string]string{}
		for k := 0; k < 10; k++ {
			blobs[fmt.Sprintf("fab/raw/r%d-%d.yaml", round, k)] = gittest.WriteBlob(b, bare, strings.NewReader(benchContent(k, round)))
		}
		gittest.CommitTree(b, bare, blobs, fmt.Sprintf("drop wiring %d", round))
		start := time.Now()
		head, err := c.RemoteHead(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.SyncAt(ctx, head, nil); err != nil {
			b.Fatal(err)
		}
		syncDur = time.Since(start)
		var paths []string
		for k := 0; k < 30; k++ {
			p := fmt.Sprintf("managed/r%d/obj-%02d.yaml", round, k)
			writeFile(b, c.Dir(), "fab/"+p, benchContent(100+k, round))
			paths = append(paths, p)
		}
		t0 := time.Now()
		if _, ok, err := c.CommitPaths(ctx, "fab", fmt.Sprintf("ingest %d\n\nFabsync-Job: bench-%d\n", round, round), paths); err != nil || !ok {
			b.Fatalf("CommitPaths = %v, %v", ok, err)
		}
		t1 := time.Now()
		if err := c.Push(ctx, nil); err != nil {
			b.Fatal(err)
		}
		commits, pushes = append(commits, float64(t1.Sub(t0))/1e6), append(pushes, float64(time.Since(t1))/1e6)
		return syncDur, time.Since(start)
	}
	for round := 0; round < jobs; round++ {
		job(round)
	}
	var syncs, alls []float64
	commits, pushes = nil, nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, a := job(jobs + i)
		syncs, alls = append(syncs, float64(s)/1e6), append(alls, float64(a)/1e6)
	}
	b.StopTimer()
	packs, _ := filepath.Glob(filepath.Join(c.Dir(), ".git", "objects", "pack", "pack-*.pack"))
	b.ReportMetric(median(syncs), "sync-ms")
	b.ReportMetric(median(alls), "job-ms")
	b.ReportMetric(median(commits), "commit-ms")
	b.ReportMetric(median(pushes), "push-ms")
	b.ReportMetric(float64(len(packs)), "packs")
}
