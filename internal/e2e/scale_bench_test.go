package e2e_test

import (
	"context"
	"fmt"
	"os"
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
