package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// loadResult summarizes one load run.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64
}

// runLoad calls fn from conc goroutines for dur (or until max calls, when max > 0) and
// measures each call.
func runLoad(conc int, dur time.Duration, fn func(i int64) error) loadResult {
	return runLoadN(conc, dur, 0, fn)
}

func runLoadN(conc int, dur time.Duration, max int64, fn func(i int64) error) loadResult {
	var next, errs atomic.Int64
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	begin := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for time.Now().Before(stop) {
				i := next.Add(1)
				if max > 0 && i > max {
					return
				}
				t0 := time.Now()
				if err := fn(i); err != nil {
					errs.Add(1)
				}
				lat[g] = append(lat[g], time.Since(t0))
			}
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(begin)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	if len(all) == 0 {
		return loadResult{}
	}
	return loadResult{
		rps: float64(len(all)) / elapsed.Seconds(),
		p50: all[len(all)/2], p99: all[len(all)*99/100],
		errors: errs.Load(),
	}
}

func (r loadResult) report(b *testing.B) {
	b.ReportMetric(r.rps, "req/s")
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(r.errors), "errors")
	b.ReportMetric(0, "ns/op") // the load run's own figures above are what count
}

// BenchmarkAPILoad drives the API's status and trigger endpoints on loopback from 32
// goroutines for 5 s each, and, in the same run and against the same Redis, the two bare
// operations underneath them: asynq Client.Enqueue and a Redis HGETALL. Run with -benchtime 1x.
func BenchmarkAPILoad(b *testing.B) {
	const conc, dur, fabrics = 32, 5 * time.Second, 50000
	gs := gittest.NewServer(b)
	url := gs.NewRepo(b, "gitops", nil)
	var cfg strings.Builder
	cfg.WriteString("fabrics:\n")
	for i := 0; i < fabrics; i++ {
		fmt.Fprintf(&cfg, "  - {name: f%d, repo: %q}\n", i, url)
	}
	sys := start(b, cfg.String(), options{workers: -1}) // nothing consumes the queue: triggers stay queued
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	do := func(method, path string) error {
		req, _ := http.NewRequest(method, sys.base+path, nil)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		if cerr := res.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s %s: read response: %w", method, path, err)
		}
		if res.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d", method, path, res.StatusCode)
		}
		return nil
	}
	j, _ := sys.trigger("f0")
	opt, _ := redis.ParseURL(sys.redisURL)
	rdb := redis.NewClient(opt)
	defer func() {
		if err := rdb.Close(); err != nil {
			b.Error(err)
		}
	}()
	aq := asynq.NewClientFromRedisClient(rdb)
	ctx := context.Background()

	b.Run("status/api", func(b *testing.B) {
		runLoad(conc, dur, func(int64) error { return do("GET", "/api/v1/jobs/"+j.ID) }).report(b)
	})
	b.Run("status/bare-redis-hgetall", func(b *testing.B) {
		runLoad(conc, dur, func(int64) error { return rdb.HGetAll(ctx, "fabsync:job:"+j.ID).Err() }).report(b)
	})
	b.Run("trigger/api", func(b *testing.B) {
		// f1..f49999, each once: every call creates a job and enqueues its task.
		runLoadN(conc, dur, fabrics-1, func(i int64) error {
			return do("POST", fmt.Sprintf("/api/v1/fabrics/f%d/sync", i))
		}).report(b)
	})
	b.Run("trigger/bare-asynq-enqueue", func(b *testing.B) {
		run := time.Now().UnixNano() // task IDs unique across repeated runs of this sub-benchmark
		runLoad(conc, dur, func(i int64) error {
			_, err := aq.EnqueueContext(ctx, asynq.NewTask("bench:noop", []byte(`{"job_id":"x","fabric":"y"}`)),
				asynq.Queue("bench"), asynq.TaskID(fmt.Sprintf("bench:%d:%d", run, i)), asynq.MaxRetry(1))
			return err
		}).report(b)
	})
}

// BenchmarkClickToSucceeded measures, for a small fabric (10 raw files pushed before each
// click), the time from the trigger request to the job's "succeeded", over smart HTTP, with the
// worker's production poll intervals. Run with -benchtime 20x.
func BenchmarkClickToSucceeded(b *testing.B) {
	gs := gittest.NewServer(b)
	url := gs.NewRepo(b, "gitops", nil)
	sys := start(b, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{poll: -1})
	doc := readTestdata(b, "wiring.yaml")
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		files := map[string]string{}
		for k := 0; k < 10; k++ {
			// distinct names per round, so every round creates resources
			files[fmt.Sprintf("fab/raw/r%d-%d.yaml", i, k)] = strings.ReplaceAll(doc, "name: ", fmt.Sprintf("name: r%d-%d-", i, k))
		}
		gittest.Commit(b, url, files, "drop wiring")
		b.StartTimer()
		t0 := time.Now()
		j, _ := sys.trigger("fab")
		for !tasks.Terminal(j.State) {
			time.Sleep(5 * time.Millisecond)
			j = sys.getJob(j.ID)
		}
		lat = append(lat, time.Since(t0))
		if j.State != tasks.StateSucceeded || j.Ingest.Files != 10 {
			b.Fatalf("job = %s, %d files (%s)", j.State, j.Ingest.Files, j.Reason)
		}
	}
	sort.Slice(lat, func(a, c int) bool { return lat[a] < lat[c] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
}
