package e2e_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// BenchmarkResyncScale runs N fabrics on a 10 s periodic resync with nothing new, served by
// `workers` in-process workers (production poll intervals, concurrency 4 each), and measures
// over a 60 s window after warm-up: resyncs per minute sustained, CPU (this process and its git
// children), and Redis memory. Sizes come from FABSYNC_BENCH_FABRICS (default "100,1000") and
// FABSYNC_BENCH_WORKERS (default "2"); FABSYNC_BENCH_REPOS spreads the fabrics over that many
// repositories of the git server (default 1) and FABSYNC_BENCH_CONCURRENCY sets each worker's
// concurrency (default 4). Run with -benchtime 1x.
func BenchmarkResyncScale(b *testing.B) {
	sizes := envInts("FABSYNC_BENCH_FABRICS", []int{100, 1000})
	workerCounts := envInts("FABSYNC_BENCH_WORKERS", []int{2})
	repos := envInts("FABSYNC_BENCH_REPOS", []int{1})[0]             // the fabrics are spread over this many repositories
	concurrency := envInts("FABSYNC_BENCH_CONCURRENCY", []int{4})[0] // tasks per worker
	window := 60 * time.Second
	if v := os.Getenv("FABSYNC_BENCH_WINDOW"); v != "" {
		window, _ = time.ParseDuration(v)
	}
	for _, workers := range workerCounts {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("fabrics=%d/workers=%d", n, workers), func(b *testing.B) {
				gs := gittest.NewServer(b)
				urls := make([]string, max(repos, 1))
				for r := range urls {
					urls[r] = gs.NewRepo(b, fmt.Sprintf("gitops-%d", r), map[string]string{"README.md": "scale\n"})
				}
				var cfg strings.Builder
				cfg.WriteString("fabrics:\n")
				for i := 0; i < n; i++ {
					fmt.Fprintf(&cfg, "  - {name: f%d, repo: %q, path: f%d, resync: 10s}\n", i, urls[i%len(urls)], i)
				}
				sys := start(b, cfg.String(), options{workers: workers, poll: -1, concurrency: concurrency})
				opt, _ := redis.ParseURL(sys.redisURL)
				rdb := redis.NewClient(opt)
				defer func() {
					if err := rdb.Close(); err != nil {
						b.Error(err)
					}
				}()
				ctx := context.Background()
				finished := func() int64 {
					var total int64
					m, _ := rdb.HGetAll(ctx, "fabsync:metrics:jobs").Result()
					for _, v := range m {
						x, _ := strconv.ParseInt(v, 10, 64)
						total += x
					}
					return total
				}
				// Warm up: every fabric cloned once (first jobs), or 5 minutes.
				warm := time.Now().Add(5 * time.Minute)
				for finished() < int64(n) && time.Now().Before(warm) {
					time.Sleep(time.Second)
				}
				b.ReportMetric(float64(finished()), "warmup-jobs")
				// Then let the ticks queued during the warm-up drain (each fabric has at most one
				// queued, see tasks.ResyncProvider), so that the window sees the steady state.
				drain := time.Now()
				for time.Since(drain) < 3*time.Minute {
					q, err := sys.svc.Inspector().GetQueueInfo(tasks.QueueSync)
					if err == nil && q.Pending < n/50 {
						break
					}
					time.Sleep(time.Second)
				}
				b.ReportMetric(time.Since(drain).Seconds(), "drain-s")
				redisCPU := func() float64 {
					info, _ := rdb.Info(ctx, "cpu").Result()
					return infoField(info, "used_cpu_sys") + infoField(info, "used_cpu_user")
				}
				// Ticks: the scheduler's resync tasks (and the few sync tasks) the workers ran.
				processed := func() (int, int) {
					q, err := sys.svc.Inspector().GetQueueInfo(tasks.QueueSync)
					if err != nil {
						return 0, 0
					}
					return q.Processed, q.Failed
				}
				p0, f0 := processed()
				j0, cpu0, r0, t0 := finished(), cpuTime(b), redisCPU(), time.Now()
				time.Sleep(window)
				j1, cpu1, r1, el := finished(), cpuTime(b), redisCPU(), time.Since(t0)
				p1, f1 := processed()
				b.ReportMetric(float64(p1-p0)/el.Minutes(), "sync-queue-tasks/min")
				b.ReportMetric(float64(f1-f0)/el.Minutes(), "failed-tasks/min")
				b.ReportMetric((r1-r0)/el.Seconds(), "redis-cpu-cores")
				perMin := float64(j1-j0) / el.Minutes()
				b.ReportMetric(perMin, "resyncs/min")
				b.ReportMetric(float64(n)*6, "demanded/min")
				b.ReportMetric((cpu1-cpu0).Seconds()/el.Seconds(), "cpu-cores")
				mem, _ := rdb.Info(ctx, "memory").Result()
				b.ReportMetric(infoField(mem, "used_memory")/(1<<20), "redis-MiB")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func envInts(name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// cpuTime is the CPU time used by this process and its reaped children (the git processes).
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var self, kids syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &self); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids); err != nil {
		tb.Fatal(err)
	}
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func infoField(info, key string) float64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// BenchmarkSyncThroughput measures full sync jobs per minute (git sync, ingest and validation
// of new raw files, commit, push) with 1 and with 2 in-process workers (production poll
// intervals, concurrency 4 each). Each fabric has a repository of its own on the git server,
// so that the fabrics' pushes do not race each other. A round pushes 3 new raw files (9
// documents) to every fabric (not timed), triggers them all and times until every job
// succeeded; the two systems take turns, FABSYNC_BENCH_ROUNDS rounds each (default 3), and
// each system's figure is the median of its rounds. FABSYNC_BENCH_FABRICS sets the number of
// fabrics (default 100). Run with -benchtime 1x.
func BenchmarkSyncThroughput(b *testing.B) {
	n := envInts("FABSYNC_BENCH_FABRICS", []int{100})[0]
	rounds := envInts("FABSYNC_BENCH_ROUNDS", []int{3})[0]
	doc := readTestdata(b, "wiring.yaml")
	type bench struct {
		sys  *system
		urls []string
		rate []float64 // jobs/min of each round
		cpu  []float64 // cores used in each round (this process and its git children)
	}
	setup := func(workers int) *bench {
		gs := gittest.NewServer(b)
		be := &bench{}
		var cfg strings.Builder
		cfg.WriteString("fabrics:\n")
		for i := 0; i < n; i++ {
			u := gs.NewRepo(b, fmt.Sprintf("gitops-%d", i), nil)
			be.urls = append(be.urls, u)
			fmt.Fprintf(&cfg, "  - {name: f%d, repo: %q, path: fab}\n", i, u)
		}
		be.sys = start(b, cfg.String(), options{workers: workers, poll: -1, concurrency: 4})
		return be
	}
	systems := []*bench{setup(1), setup(2)}
	for r := 0; r < rounds; r++ {
		for _, be := range systems {
			for i, u := range be.urls {
				gittest.Commit(b, u, roundFiles(doc, r, 3, i), "drop wiring")
			}
			t0, c0 := time.Now(), cpuTime(b)
			ids := make([]string, n)
			for i := range ids {
				j, _ := be.sys.trigger(fmt.Sprintf("f%d", i))
				ids[i] = j.ID
			}
			for _, id := range ids {
				if j := be.sys.wait(id); j.State != tasks.StateSucceeded || j.Ingest.Files != 3 {
					b.Fatalf("job %s = %s, %d files (%s)", id, j.State, j.Ingest.Files, j.Reason)
				}
			}
			el := time.Since(t0)
			be.rate = append(be.rate, float64(n)/el.Minutes())
			be.cpu = append(be.cpu, (cpuTime(b)-c0).Seconds()/el.Seconds())
		}
	}
	med := func(x []float64) float64 {
		s := append([]float64(nil), x...)
		sort.Float64s(s)
		return s[len(s)/2]
	}
	var ratios []float64
	for r := 0; r < rounds; r++ {
		ratios = append(ratios, systems[1].rate[r]/systems[0].rate[r])
	}
	b.Logf("jobs/min, 1 worker %.0f, 2 workers %.0f; cores %.2f and %.2f", systems[0].rate, systems[1].rate, systems[0].cpu, systems[1].cpu)
	b.ReportMetric(med(systems[0].cpu), "cores-1worker")
	b.ReportMetric(med(systems[1].cpu), "cores-2workers")
	b.ReportMetric(med(systems[0].rate), "jobs/min-1worker")
	b.ReportMetric(med(systems[1].rate), "jobs/min-2workers")
	b.ReportMetric(med(ratios), "2-over-1")
	b.ReportMetric(0, "ns/op")
}
