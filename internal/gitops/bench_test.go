package gitops_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// The benchmarks compare our Client (go-git) with the git CLI on a generated
// repository of benchCommits commits over benchFiles YAML files, over file://
// and smart HTTP, in one run. See docs/benchmarks-gitops.md for the figures
// and the command.
const (
	benchVersion = "v1" // bump when the generator changes: it keys the cache
	benchCommits = 5000
	benchFiles   = 2000
	benchDepth   = gitops.RecommendedDepth
)

var benchKinds = []string{"vpcs", "vpcattachments", "vpcpeerings", "externals", "externalattachments",
	"externalpeerings", "ipv4namespaces", "vlannamespaces", "connections", "servers", "switches", "switchgroups"}

func benchFile(i int) string {
	return fmt.Sprintf("fabric-1/managed/%s/obj-%04d.yaml", benchKinds[i%len(benchKinds)], i)
}

func benchContent(i, rev int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: vpc.githedgehog.com/v1beta1\nkind: Thing\nmetadata:\n  name: obj-%04d\n  namespace: default\nspec:\n", i)
	fmt.Fprintf(&b, "  revision: %d\n  subnets:\n", rev)
	for s := 0; s < 6; s++ {
		fmt.Fprintf(&b, "    subnet-%d:\n      subnet: 10.%d.%d.0/24\n      vlan: %d\n", s, i%250, (rev+s)%250, 1000+s+rev%100)
	}
	return b.String()
}

// benchRepo returns a bare repository with the generated history, built once
// with git fast-import and cached under os.TempDir() by benchVersion.
func benchRepo(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "fabsync-gitops-bench-"+benchVersion, "origin.git")
	if _, err := os.Stat(filepath.Join(dir, "fabsync-complete")); err == nil {
		return dir
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Dir(dir)), "fabsync-gitops-bench-gen-")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			b.Error(err)
		}
	}()
	bare := filepath.Join(tmp, "origin.git")
	gittest.Git(b, tmp, "init", "-q", "--bare", "-b", "main", bare)
	fastImport(b, bare, func(w *bufio.Writer) {
		when := int64(1_700_000_000)
		for c := 0; c < benchCommits; c++ {
			fmt.Fprintf(w, "commit refs/heads/main\ncommitter Gen <gen@example.com> %d +0000\n", when+int64(c)*60)
			msg := fmt.Sprintf("change %d\n\nFabsync-Job: gen-%d\n", c, c)
			fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
			if c == 0 {
				for i := 0; i < benchFiles; i++ {
					writeInline(w, benchFile(i), benchContent(i, 0))
				}
				continue
			}
			for k := 0; k < 2; k++ {
				i := (c*7919 + k*104729) % benchFiles
				writeInline(w, benchFile(i), benchContent(i, c))
			}
		}
	})
	gittest.Git(b, bare, "repack", "-a", "-d", "-q")
	if err := os.WriteFile(filepath.Join(bare, "fabsync-complete"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(bare, dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(filepath.Join(dir, "fabsync-complete")); statErr != nil {
			b.Fatal(err) // not a concurrent generator winning the race
		}
	}
	b.Logf("generated %d commits × %d files in %v: %s", benchCommits, benchFiles, time.Since(start).Round(time.Millisecond), dir)
	return dir
}

func writeInline(w *bufio.Writer, path, content string) {
	fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
}

// fastImport feeds the stream written by gen to git fast-import in bare. gen
// writes to a bufio.Writer, which keeps its first error for Flush to return.
func fastImport(b *testing.B, bare string, gen func(*bufio.Writer)) {
	b.Helper()
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = bare
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("git fast-import: %v (install git)", err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	gen(w)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := in.Close(); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, stderr.String())
	}
}

// addCommits appends n commits (one file changed each) to main in bare.
func addCommits(b *testing.B, bare string, n int) {
	b.Helper()
	head := gittest.Git(b, bare, "rev-parse", "refs/heads/main")
	seq := time.Now().UnixNano()
	fastImport(b, bare, func(w *bufio.Writer) {
		for c := 0; c < n; c++ {
			fmt.Fprintf(w, "commit refs/heads/main\ncommitter Other <other@example.com> %d +0000\n", time.Now().Unix())
			msg := fmt.Sprintf("new %d-%d\n", seq, c)
			fmt.Fprintf(w, "data %d\n%s\n", len(msg), msg)
			if c == 0 {
				fmt.Fprintf(w, "from %s\n", head)
			}
			i := int(seq+int64(c)) % benchFiles
			if i < 0 {
				i = -i
			}
			writeInline(w, benchFile(i), benchContent(i, int(seq%1_000_000)+c))
		}
	})
}

// benchRemote is the generated repository served one way.
type benchRemote struct {
	name string // "file" or "http"
	url  string
	bare string // its directory, for adding commits
}

// benchRemotes copies the cached repository (so that added commits stay out
// of the cache) and serves the copy over file:// and smart HTTP.
func benchRemotes(b *testing.B) []benchRemote {
	b.Helper()
	if testing.Short() {
		b.Skip("benchmarks need git and a generated repository; skipped with -short")
	}
	src := benchRepo(b)
	srv := gittest.NewServer(b)
	bare := srv.RepoDir("bench")
	if out, err := exec.Command("cp", "-a", src, bare).CombinedOutput(); err != nil {
		b.Fatalf("copy bench repo: %v\n%s", err, out)
	}
	return []benchRemote{
		{"file", "file://" + bare, bare},
		{"http", srv.URL + "/bench.git", bare},
	}
}

// cli runs the git CLI in dir. With measure, it runs git under
// /usr/bin/time and returns the maximum resident set size of the largest
// process of git's tree, in bytes (0 without /usr/bin/time). The rusage of a
// child of this test process cannot serve: a forked child's maxrss starts
// from the parent's RSS at fork time, which here is the benchmark's own heap.
func cli(b *testing.B, measure bool, dir string, args ...string) int64 {
	b.Helper()
	name := "git"
	if _, err := os.Stat("/usr/bin/time"); measure && err == nil {
		name, args = "/usr/bin/time", append([]string{"-f", "maxrss=%M", "git"}, args...)
	} else {
		measure = false
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	if !measure {
		return 0
	}
	_, kib, ok := strings.Cut(stderr.String(), "maxrss=")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(kib), 10, 64)
	return n * 1024
}

// benchDir is where clones go; tmpfs (/dev/shm) takes the disk out of the
// figures.
var benchDir = flag.String("benchdir", "", "directory for benchmark clones (default os.TempDir())")

func cloneDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp(*benchDir, "fabsync-gitops-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			b.Error(err)
		}
	})
	return dir
}

// heapPeak samples the Go heap (live and not yet swept objects) while it
// runs; stop returns the peak in bytes above the level at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		if v := read(); v > peak.Load() {
			peak.Store(v)
		}
		if p := peak.Load(); p > base {
			return p - base
		}
		return 0
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// pairs collects paired measurements: each iteration runs go-git and the
// CLI back to back (alternating which goes first), so that the ratio of each
// pair cancels the drift of a shared, noisy machine. Reported metrics:
// gogit-ms and cli-ms (medians), ratio (median of the per-pair ratios
// go-git/CLI) and any medians added with extra. ns/op also counts set-up
// work and is not the figure to read.
type pairs struct {
	gogit, cli, ratio []float64
	extra             map[string][]float64
}

func (p *pairs) add(gogit, cli time.Duration) {
	p.gogit = append(p.gogit, float64(gogit)/1e6)
	p.cli = append(p.cli, float64(cli)/1e6)
	p.ratio = append(p.ratio, float64(gogit)/float64(cli))
}

func (p *pairs) addExtra(unit string, v float64) {
	if p.extra == nil {
		p.extra = map[string][]float64{}
	}
	p.extra[unit] = append(p.extra[unit], v)
}

func (p *pairs) report(b *testing.B) {
	b.ReportMetric(median(p.gogit), "gogit-ms")
	b.ReportMetric(median(p.cli), "cli-ms")
	b.ReportMetric(median(p.ratio), "ratio")
	for unit, vs := range p.extra {
		b.ReportMetric(median(vs), unit)
	}
}

// timed runs the steps in order, alternating, and returns how long a and b
// took.
func timed(i int, a, b func()) (time.Duration, time.Duration) {
	var da, db time.Duration
	run := func(f func(), d *time.Duration) {
		start := time.Now()
		f()
		*d = time.Since(start)
	}
	if i%2 == 0 {
		run(a, &da)
		run(b, &db)
	} else {
		run(b, &db)
		run(a, &da)
	}
	return da, db
}

// BenchmarkClone: first clone, shallow (RecommendedDepth) and full, our
// Client (go-git) against `git clone --single-branch --no-tags [--depth N]`.
// Memory: peak-heap-MiB is the Go heap peak during the go-git clone,
// peak-rss-MiB the peak resident set of the whole benchmark process during
// it (VmHWM, reset first; the test binary's own baseline included, git's
// server processes not); cli-maxrss-MiB the largest RSS in git's process
// tree.
func BenchmarkClone(b *testing.B) {
	for _, r := range benchRemotes(b) {
		for _, depth := range []int{benchDepth, 0} {
			b.Run(fmt.Sprintf("%s/depth=%d", r.name, depth), func(b *testing.B) {
				var p pairs
				for i := 0; i < b.N; i++ {
					dir := cloneDir(b)
					c, err := gitops.New(gitops.Config{URL: r.url, Dir: filepath.Join(dir, "gogit"), Depth: depth})
					if err != nil {
						b.Fatal(err)
					}
					args := []string{"clone", "-q", "--single-branch", "--branch", "main", "--no-tags"}
					if depth > 0 {
						args = append(args, "--depth", fmt.Sprint(depth))
					}
					var rss int64
					var dg time.Duration // the Sync alone, not the GC before it that measuring memory needs
					_, dc := timed(i, func() {
						rssMiB, heapMiB := peakOf(b, func() {
							start := time.Now()
							if _, err := c.Sync(context.Background(), nil); err != nil {
								b.Fatal(err)
							}
							dg = time.Since(start)
						})
						p.addExtra("peak-heap-MiB", heapMiB)
						p.addExtra("peak-rss-MiB", rssMiB)
					}, func() {
						rss = cli(b, true, dir, append(args, r.url, "cli")...)
					})
					p.add(dg, dc)
					p.addExtra("cli-maxrss-MiB", float64(rss)/(1<<20))
					if err := os.RemoveAll(dir); err != nil {
						b.Fatal(err)
					}
				}
				p.report(b)
			})
		}
	}
}

// BenchmarkSyncNoop: a resync that finds nothing new. go-git: Sync (one ref
// listing; no reset, thanks to the tree fingerprint). CLI: `git fetch`
// (ratio) and `git fetch` + `git reset --hard` (fetch+reset-ms).
func BenchmarkSyncNoop(b *testing.B) {
	for _, r := range benchRemotes(b) {
		b.Run(r.name, func(b *testing.B) {
			c, work := clonedPair(b, r.url)
			var p pairs
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dg, dc := timed(i, func() { sync(b, c) }, func() { cli(b, false, work, "fetch", "-q", "origin") })
				p.add(dg, dc)
				start := time.Now()
				cli(b, false, work, "fetch", "-q", "origin")
				cli(b, false, work, "reset", "-q", "--hard", "origin/main")
				p.addExtra("cli-fetch+reset-ms", float64(time.Since(start))/1e6)
			}
			p.report(b)
		})
	}
}

// BenchmarkSync10: a resync after someone pushed 10 commits. go-git: Sync
// (list, fetch, hard reset, clean). CLI: `git fetch` + `git reset --hard`.
func BenchmarkSync10(b *testing.B) {
	for _, r := range benchRemotes(b) {
		b.Run(r.name, func(b *testing.B) {
			c, work := clonedPair(b, r.url)
			var p pairs
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				addCommits(b, r.bare, 10)
				dg, dc := timed(i, func() { sync(b, c) }, func() {
					cli(b, false, work, "fetch", "-q", "origin")
					cli(b, false, work, "reset", "-q", "--hard", "origin/main")
				})
				p.add(dg, dc)
			}
			p.report(b)
		})
	}
}

// clonedPair clones url twice, with our Client and with the git CLI, at benchDepth, and returns
// the client and the CLI's working tree.
func clonedPair(b *testing.B, url string) (*gitops.Client, string) {
	dir := cloneDir(b)
	c := newClient(b, gitops.Config{URL: url, Depth: benchDepth, Dir: filepath.Join(dir, "gogit")})
	sync(b, c)
	cli(b, false, dir, "clone", "-q", "--single-branch", "--branch", "main", "--no-tags", "--depth", fmt.Sprint(benchDepth), url, "cli")
	return c, filepath.Join(dir, "cli")
}

// BenchmarkCommitPush1000: an ingest's commit of 1,000 new files in the
// fabric folder, pushed. go-git: CommitPaths naming the 1,000 files
// (mode=paths) or Commit of the whole folder (mode=folder), then Push. CLI:
// `git add -A fabric-1 && git commit && git push`. Each side pushes to its
// own copy of the repository, so that neither is rejected. Besides the pair
// (ratio), the commit and the push of each side are reported on their own.
func BenchmarkCommitPush1000(b *testing.B) {
	const n = 1000
	for _, r := range benchRemotes(b) {
		for _, mode := range []string{"paths", "folder"} {
			b.Run(r.name+"/mode="+mode, func(b *testing.B) {
				cliURL := secondRemote(b, r)
				gittest.Git(b, r.bare, "config", "http.receivepack", "true")
				dir := cloneDir(b)
				c := newClient(b, gitops.Config{URL: r.url, Depth: benchDepth, Dir: filepath.Join(dir, "gogit"), Path: "fabric-1"})
				sync(b, c)
				cli(b, false, dir, "clone", "-q", "--single-branch", "--branch", "main", "--no-tags", "--depth", fmt.Sprint(benchDepth), cliURL, "cli")
				work := filepath.Join(dir, "cli")
				var p pairs
				b.ResetTimer()
				seq := time.Now().UnixNano() // earlier runs pushed to the same remote
				for i := 0; i < b.N; i++ {
					paths := make([]string, n)
					for j := range paths {
						paths[j] = fmt.Sprintf("managed/batch-%d-%d/obj-%04d.yaml", seq, i, j)
						// New content every run: the file and http cases push to the same
						// repository, and a blob the remote has already is not pushed again.
						content := benchContent(j, 1_000_000+i) + fmt.Sprintf("# batch %d\n", seq)
						writeFile(b, c.Dir(), "fabric-1/"+paths[j], content)
						writeFile(b, work, "fabric-1/"+paths[j], content)
					}
					msg := fmt.Sprintf("ingest %d\n\nFabsync-Job: bench-%d\n", i, i)
					dg, dc := timed(i, func() {
						var changed bool
						var err error
						start := time.Now()
						if mode == "paths" {
							_, changed, err = c.CommitPaths(context.Background(), "fabric-1", msg, paths)
						} else {
							_, changed, err = c.Commit(context.Background(), "fabric-1", msg)
						}
						if err != nil || !changed {
							b.Fatalf("commit = %v, %v", changed, err)
						}
						p.addExtra("gogit-commit-ms", float64(time.Since(start))/1e6)
						start = time.Now()
						if err := c.Push(context.Background(), nil); err != nil {
							b.Fatal(err)
						}
						p.addExtra("gogit-push-ms", float64(time.Since(start))/1e6)
					}, func() {
						start := time.Now()
						cli(b, false, work, "add", "-A", "fabric-1")
						cli(b, false, work, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", msg)
						p.addExtra("cli-commit-ms", float64(time.Since(start))/1e6)
						start = time.Now()
						cli(b, false, work, "push", "-q", "origin", "main")
						p.addExtra("cli-push-ms", float64(time.Since(start))/1e6)
					})
					p.add(dg, dc)
				}
				p.report(b)
			})
		}
	}
}

// secondRemote serves another copy of r's repository the same way as r and
// returns its URL.
func secondRemote(b *testing.B, r benchRemote) string {
	b.Helper()
	bare := strings.TrimSuffix(r.bare, ".git") + "-cli.git"
	if _, err := os.Stat(bare); err == nil {
		if err := os.RemoveAll(bare); err != nil {
			b.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-a", benchRepo(b), bare).CombinedOutput(); err != nil {
		b.Fatalf("copy bench repo: %v\n%s", err, out)
	}
	gittest.Git(b, bare, "config", "http.receivepack", "true")
	if r.name == "file" {
		return "file://" + bare
	}
	return strings.TrimSuffix(r.url, "bench.git") + filepath.Base(bare)
}
