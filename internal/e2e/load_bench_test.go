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

// loadResult summarizes one load run, or several merged.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int64

	lat     []time.Duration // every call's latency
	elapsed time.Duration
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
	r := loadResult{elapsed: time.Since(begin), errors: errs.Load()}
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	return r.summarize()
}

// merge adds the calls of o to r.
func (r loadResult) merge(o loadResult) loadResult {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
	r.errors += o.errors
	return r.summarize()
}

func (r loadResult) summarize() loadResult {
	if len(r.lat) == 0 {
		return r
	}
	sort.Slice(r.lat, func(a, b int) bool { return r.lat[a] < r.lat[b] })
	r.rps = float64(len(r.lat)) / r.elapsed.Seconds()
	r.p50, r.p99 = r.lat[len(r.lat)/2], r.lat[len(r.lat)*99/100]
	return r
}

func (r loadResult) report(b *testing.B) {
	b.ReportMetric(r.rps, "req/s")
	b.ReportMetric(ms(r.p50), "p50-ms")
	b.ReportMetric(ms(r.p99), "p99-ms")
	b.ReportMetric(float64(r.errors), "errors")
	b.ReportMetric(0, "ns/op") // the load run's own figures above are what count
}

// BenchmarkAPILoad drives the API's status and trigger endpoints on loopback over 50 keep-alive
// connections and, in the same run and against the same Redis, the bare operations underneath
// them over 50 Redis connections: an HGET (and an HGETALL) of the job record a status read
// returns, and asynq's Client.Enqueue. Each runs for 5 s (the triggers once per fabric, about
// 3 s). The status sub-benchmark reports the API's throughput as a percentage of the bare
// HGET's (api/hget-%), the three measured in turns. Run with -benchtime 1x.
func BenchmarkAPILoad(b *testing.B) {
	const conc, dur, fabrics = 50, 5 * time.Second, 50000
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
	opt, _ := redis.ParseURL(sys.redisURL)
	opt.PoolSize = conc // one Redis connection per load goroutine, as the HTTP side has
	rdb := redis.NewClient(opt)
	defer func() {
		if err := rdb.Close(); err != nil {
			b.Error(err)
		}
	}()
	j := finishedJob(b, rdb)
	aq := asynq.NewClientFromRedisClient(rdb)
	ctx := context.Background()

	b.Run("status", func(b *testing.B) {
		// The three take turns, 1 s each, five times over: the machine is shared, and load
		// that comes and goes then weighs on all three alike.
		key := "fabsync:job:" + j.ID
		var api, hget, hgetall loadResult
		for range int(dur / time.Second) {
			api = api.merge(runLoad(conc, time.Second, func(int64) error { return do("GET", "/api/v1/jobs/"+j.ID) }))
			hget = hget.merge(runLoad(conc, time.Second, func(int64) error { return rdb.HGet(ctx, key, "data").Err() }))
			hgetall = hgetall.merge(runLoad(conc, time.Second, func(int64) error { return rdb.HGetAll(ctx, key).Err() }))
		}
		b.ReportMetric(api.rps, "api-req/s")
		b.ReportMetric(ms(api.p50), "api-p50-ms")
		b.ReportMetric(ms(api.p99), "api-p99-ms")
		b.ReportMetric(hget.rps, "hget-req/s")
		b.ReportMetric(ms(hget.p99), "hget-p99-ms")
		b.ReportMetric(hgetall.rps, "hgetall-req/s")
		b.ReportMetric(100*api.rps/hget.rps, "api/hget-%")
		b.ReportMetric(float64(api.errors+hget.errors+hgetall.errors), "errors")
		b.ReportMetric(0, "ns/op") // the load run's own figures above are what count
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

// finishedJob runs one job of a small fabric (10 raw files) to its end on a system of its own,
// copies its record into rdb and returns it: what a status read returns most of the time.
func finishedJob(b *testing.B, rdb *redis.Client) tasks.Job {
	b.Helper()
	gs := gittest.NewServer(b)
	url := gs.NewRepo(b, "gitops", nil)
	doc := readTestdata(b, "wiring.yaml")
	files := map[string]string{}
	for k := 0; k < 10; k++ {
		prefix := fmt.Sprintf("r%d-", k)
		files[fmt.Sprintf("fab/raw/r%d.yaml", k)] = strings.NewReplacer("leaf-01", prefix+"leaf-01", "server-01", prefix+"server-01",
			"asn: 65101", fmt.Sprintf("asn: %d", 64512+k)).Replace(doc)
	}
	gittest.Commit(b, url, files, "drop wiring")
	w := start(b, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{})
	defer w.stop()
	j, _ := w.trigger("fab")
	j = w.wait(j.ID)
	if j.State != tasks.StateSucceeded {
		b.Fatalf("job = %s (%s)", j.State, j.Reason)
	}
	opt, _ := redis.ParseURL(w.redisURL)
	src := redis.NewClient(opt)
	defer func() { _ = src.Close() }()
	ctx := context.Background()
	rec, err := src.HGetAll(ctx, "fabsync:job:"+j.ID).Result()
	if err != nil || len(rec) == 0 {
		b.Fatalf("read the job record: %v", err)
	}
	if err := rdb.HSet(ctx, "fabsync:job:"+j.ID, rec).Err(); err != nil {
		b.Fatal(err)
	}
	b.Logf("status reads of a succeeded job: %d bytes of JSON, %d log lines", len(rec["data"]), len(j.Log))
	return j
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkClickToSucceeded measures, for a small fabric (10 raw files pushed before each
// click), the time from the trigger request to the job's "succeeded", over smart HTTP, with the
// worker's production poll intervals. Run with -benchtime 20x.
func BenchmarkClickToSucceeded(b *testing.B) {
	gs := gittest.NewServer(b)
	url := gs.NewRepo(b, "gitops", nil)
	sys := start(b, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{poll: -1})
	doc := readTestdata(b, "wiring.yaml")
	var lat []time.Duration
	phase := map[string][]time.Duration{}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		gittest.Commit(b, url, roundFiles(doc, i, 10, 0), "drop wiring")
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
		// Where the time goes, read off the job log: the waits (from the job's creation until
		// its first task started, the worker's idle poll; from the end of its git sync until its
		// ingest started) and the work between them.
		phase["pickup"] = append(phase["pickup"], j.StartedAt.Sub(j.CreatedAt))
		at := map[string]time.Time{}
		for _, l := range j.Log {
			for _, p := range []string{"git sync attempt 1 started", "git sync done", "ingest attempt 1 started", "ingested ", "pushing ", "pushed "} {
				if _, seen := at[p]; !seen && strings.HasPrefix(l.Message, p) {
					at[p] = l.Time
				}
			}
		}
		for _, p := range [][3]string{
			{"git-sync", "git sync attempt 1 started", "git sync done"},
			{"sync-to-ingest", "git sync done", "ingest attempt 1 started"},
			{"ingest", "ingest attempt 1 started", "ingested "},
			{"commit", "ingested ", "pushing "},
			{"push", "pushing ", "pushed "},
		} {
			if from, to := at[p[1]], at[p[2]]; !from.IsZero() && !to.IsZero() {
				phase[p[0]] = append(phase[p[0]], to.Sub(from))
			}
		}
	}
	b.ReportMetric(ms(quantile(lat, 0.5)), "p50-ms")
	b.ReportMetric(ms(quantile(lat, 0.9)), "p90-ms")
	for name, d := range phase {
		b.ReportMetric(ms(quantile(d, 0.5)), name+"-p50-ms")
	}
}

// roundFiles returns n raw files for round of a benchmark, each a copy of the wiring doc with
// names and an ASN of its own (offset shifts the ASNs, for fabrics of one round), so that every
// round creates resources and they validate: the connection's references are renamed with the
// switch and server.
func roundFiles(doc string, round, n, offset int) map[string]string {
	files := map[string]string{}
	for k := 0; k < n; k++ {
		prefix := fmt.Sprintf("r%d-%d-", round, k)
		files[fmt.Sprintf("fab/raw/r%d-%d.yaml", round, k)] = strings.NewReplacer(
			"leaf-01", prefix+"leaf-01", "server-01", prefix+"server-01",
			"asn: 65101", fmt.Sprintf("asn: %d", 64512+(round*10+k+offset)%1000)).Replace(doc)
	}
	return files
}

// quantile returns the q quantile of d (sorting it), 0 for none.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(a, c int) bool { return d[a] < d[c] })
	return d[int(float64(len(d))*q)]
}
