package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// BenchmarkClickGit times the git part of a click on a small fabric (internal/e2e's
// BenchmarkClickToSucceeded) over smart HTTP through `git http-backend` (a CGI process per
// request, as in the e2e benchmark): our Client against the git CLI as whole processes, in
// turn, each against a remote of its own served by the same server, alternating which goes
// first. Before each round someone pushes 10 new raw files to both remotes (not timed). Then
// each side
//
//   - looks at the remote head: RemoteHead against `git ls-remote` (one ref advertisement,
//     *-lsremote-ms: about what one request through the server costs);
//   - fetches and checks out: SyncAt with that head (as the worker does after its nothing-new
//     check) against `git fetch` (*-fetch-ms) then `git reset --hard` (cli-reset-ms);
//   - writes 30 resource files and removes the raw ones (not timed), and commits them:
//     CommitPaths against `git add -A` and `git commit` (*-commit-ms);
//   - pushes: Push against `git push` (*-push-ms).
//
// gogit-ms and cli-ms are the medians of the sums, ratio the median of the per-round ratios.
// Run with -benchtime 20x.
func BenchmarkClickGit(b *testing.B) {
	needGit(b)
	srv := gittest.NewServer(b)
	seed := map[string]string{"fab/raw/.gitkeep": "", "fab/.hnp/manifest.yaml": "files: []\n"}
	for j := 0; j < 300; j++ { // a fabric that has seen some rounds already
		seed[fmt.Sprintf("fab/managed/seed/obj-%04d.yaml", j)] = benchContent(j, 0)
	}
	ours, theirs := srv.NewRepo(b, "ours", seed), srv.NewRepo(b, "theirs", seed)
	gittest.Git(b, srv.RepoDir("theirs"), "config", "http.receivepack", "true")
	dir := cloneDir(b)
	c := newClient(b, gitops.Config{URL: ours, Dir: filepath.Join(dir, "gogit"), Path: "fab", Depth: gitops.RecommendedDepth})
	sync(b, c)
	cli(b, false, dir, "clone", "-q", "--single-branch", "--branch", "main", "--no-tags", theirs, "cli")
	work := filepath.Join(dir, "cli")
	ctx := context.Background()
	var p pairs
	since := func(unit string, start time.Time) { p.addExtra(unit, float64(time.Since(start))/1e6) }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		raw := map[string]string{}
		for k := 0; k < 10; k++ {
			raw[fmt.Sprintf("fab/raw/r%d-%d.yaml", i, k)] = benchContent(k, 10_000+i)
		}
		gittest.Commit(b, ours, raw, "drop wiring")
		gittest.Commit(b, theirs, raw, "drop wiring")
		b.StartTimer()
		// What ingest does between the fetch and the commit: 30 resource files, the raw files
		// archived and removed, the manifest rewritten.
		ingest := func(root string) []string {
			var paths []string
			for k := 0; k < 30; k++ {
				p := fmt.Sprintf("managed/r%d/obj-%02d.yaml", i, k)
				writeFile(b, root, "fab/"+p, benchContent(100+k, i))
				paths = append(paths, p)
			}
			for name, content := range raw {
				rel := name[len("fab/"):]
				if err := os.Remove(filepath.Join(root, name)); err != nil {
					b.Fatal(err)
				}
				arch := fmt.Sprintf(".hnp/archive/job-%d/%s.archived", i, filepath.Base(rel))
				writeFile(b, root, "fab/"+arch, content)
				paths = append(paths, rel, arch)
			}
			writeFile(b, root, "fab/.hnp/manifest.yaml", fmt.Sprintf("files: [%d]\n", i))
			return append(paths, ".hnp/manifest.yaml")
		}
		msg := fmt.Sprintf("ingest %d\n\nFabsync-Job: bench-%d\n", i, i)
		dg, dc := timed(i, func() {
			start := time.Now()
			head, err := c.RemoteHead(ctx)
			if err != nil {
				b.Fatal(err)
			}
			since("gogit-lsremote-ms", start)
			start = time.Now()
			if _, err := c.SyncAt(ctx, head, nil); err != nil {
				b.Fatal(err)
			}
			since("gogit-fetch-ms", start)
			paths := ingest(c.Dir())
			start = time.Now()
			if _, ok, err := c.CommitPaths(ctx, "fab", msg, paths); err != nil || !ok {
				b.Fatalf("CommitPaths = %v, %v", ok, err)
			}
			since("gogit-commit-ms", start)
			start = time.Now()
			if err := c.Push(ctx, nil); err != nil {
				b.Fatal(err)
			}
			since("gogit-push-ms", start)
		}, func() {
			start := time.Now()
			cli(b, false, work, "ls-remote", "-q", "origin", "refs/heads/main")
			since("cli-lsremote-ms", start)
			start = time.Now()
			cli(b, false, work, "fetch", "-q", "--no-tags", "origin", "main")
			since("cli-fetch-ms", start)
			start = time.Now()
			cli(b, false, work, "reset", "-q", "--hard", "FETCH_HEAD")
			since("cli-reset-ms", start)
			ingest(work)
			start = time.Now()
			cli(b, false, work, "add", "-A", "fab")
			cli(b, false, work, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", msg)
			since("cli-commit-ms", start)
			start = time.Now()
			cli(b, false, work, "push", "-q", "origin", "main")
			since("cli-push-ms", start)
		})
		// The sums include the untimed ingest stand-in of each side; it is the same work.
		p.add(dg, dc)
	}
	p.report(b)
}
