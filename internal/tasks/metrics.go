package tasks

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Metrics are recorded in Redis by whichever process observes them (workers, mostly) and read
// at scrape time by the API's /metrics, so that one scrape shows the whole cluster (keys in
// keys.go).

// durationBuckets are the histogram buckets, in seconds, of every duration fabsync records.
var durationBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900}

// Histogram names recorded in Redis.
const (
	histJobDuration   = "job_duration"  // labels: stage (git_sync|ingest|total), outcome
	histGitOperations = "git_operation" // labels: op (sync|push), outcome (ok|error)
)

// observe records one duration in a Redis-backed histogram series named by hist and labels.
func observe(ctx context.Context, rdb redis.UniversalClient, hist string, d time.Duration, labels ...string) {
	series := hist + ":" + strings.Join(labels, "|")
	key := metricHistKey(series)
	v := d.Seconds()
	pipe := rdb.Pipeline()
	for _, b := range durationBuckets {
		if v <= b {
			pipe.HIncrBy(ctx, key, strconv.FormatFloat(b, 'g', -1, 64), 1)
		}
	}
	pipe.HIncrBy(ctx, key, "count", 1)
	pipe.HIncrByFloat(ctx, key, "sum", v)
	pipe.SAdd(ctx, metricSeriesKey(), series)
	_, _ = pipe.Exec(ctx) // metrics are best effort: never fail a job for them
}

// recordJobEnd counts a finished job and its total duration.
// A dry run is not counted: it changed nothing, and an alert on partial_sync jobs must not fire
// for a dry run that found what it was asked to look for.
func recordJobEnd(ctx context.Context, rdb redis.UniversalClient, j *Job) {
	if j.DryRun {
		return
	}
	_ = rdb.HIncrBy(ctx, metricJobsKey(), j.Fabric+"|"+j.Trigger+"|"+string(j.State), 1).Err()
	if j.FinishedAt != nil {
		observe(ctx, rdb, histJobDuration, j.FinishedAt.Sub(j.CreatedAt), "total", string(j.State))
	}
	if j.State == StateSucceeded && j.Ingest.Documents > 0 {
		_ = rdb.HIncrBy(ctx, metricDocsKey(), j.Fabric, int64(j.Ingest.Documents)).Err()
	}
}

// Collector exposes fabsync's own metrics, read from Redis at scrape time:
//   - fabsync_jobs_total{fabric,trigger,state}: finished jobs
//   - fabsync_documents_ingested_total{fabric}
//   - fabsync_job_duration_seconds{stage,outcome}: histogram (stage git_sync, ingest or total)
//   - fabsync_git_operation_duration_seconds{op,outcome}: histogram (op sync or push)
//   - fabsync_drift_files{fabric}: gauge, the files the fabric's last drift check found
type Collector struct {
	rdb                     redis.UniversalClient
	jobs, docs, dur, gitDur *prometheus.Desc
	drift                   *prometheus.Desc
	scrapeErrors            *prometheus.Desc
}

// NewCollector returns a Collector reading rdb.
func NewCollector(rdb redis.UniversalClient) *Collector {
	return &Collector{
		rdb:          rdb,
		jobs:         prometheus.NewDesc("fabsync_jobs_total", "Finished sync jobs by fabric, trigger and final state.", []string{"fabric", "trigger", "state"}, nil),
		docs:         prometheus.NewDesc("fabsync_documents_ingested_total", "YAML documents ingested by succeeded jobs.", []string{"fabric"}, nil),
		dur:          prometheus.NewDesc("fabsync_job_duration_seconds", "Duration of job stages (git_sync, ingest) and whole jobs (total) by outcome.", []string{"stage", "outcome"}, nil),
		gitDur:       prometheus.NewDesc("fabsync_git_operation_duration_seconds", "Duration of git operations (sync = clone or fetch+reset, push).", []string{"op", "outcome"}, nil),
		drift:        prometheus.NewDesc("fabsync_drift_files", "Resource files the fabric's last drift check found changed by hand (adopted, reported or reverted by that sync).", []string{"fabric"}, nil),
		scrapeErrors: prometheus.NewDesc("fabsync_metrics_scrape_error", "1 when fabsync's metrics could not be read from Redis.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.docs
	ch <- c.dur
	ch <- c.gitDur
	ch <- c.drift
	ch <- c.scrapeErrors
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	failed := 0.0
	if m, err := c.rdb.HGetAll(ctx, metricJobsKey()).Result(); err == nil {
		for k, v := range m {
			l := strings.SplitN(k, "|", 3)
			n, _ := strconv.ParseFloat(v, 64)
			if len(l) == 3 {
				ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.CounterValue, n, l...)
			}
		}
	} else {
		failed = 1
	}
	if m, err := c.rdb.HGetAll(ctx, metricDocsKey()).Result(); err == nil {
		for fabric, v := range m {
			n, _ := strconv.ParseFloat(v, 64)
			ch <- prometheus.MustNewConstMetric(c.docs, prometheus.CounterValue, n, fabric)
		}
	} else {
		failed = 1
	}
	series, err := c.rdb.SMembers(ctx, metricSeriesKey()).Result()
	if err != nil {
		failed = 1
	}
	for _, s := range series {
		name, labels, _ := strings.Cut(s, ":")
		desc := c.dur
		if name == histGitOperations {
			desc = c.gitDur
		} else if name != histJobDuration {
			continue
		}
		l := strings.Split(labels, "|")
		if len(l) != 2 {
			continue
		}
		h, err := c.rdb.HGetAll(ctx, metricHistKey(s)).Result()
		if err != nil {
			failed = 1
			continue
		}
		count, _ := strconv.ParseUint(h["count"], 10, 64)
		sum, _ := strconv.ParseFloat(h["sum"], 64)
		buckets := make(map[float64]uint64, len(durationBuckets))
		for _, b := range durationBuckets {
			n, _ := strconv.ParseUint(h[strconv.FormatFloat(b, 'g', -1, 64)], 10, 64)
			buckets[b] = n
		}
		ch <- prometheus.MustNewConstHistogram(desc, count, sum, buckets, l...)
	}
	if fabrics, err := c.rdb.SMembers(ctx, fabricsKey()).Result(); err != nil {
		failed = 1
	} else if checks, err := (&store{rdb: c.rdb}).drifts(ctx, fabrics); err != nil {
		failed = 1
	} else {
		for fabric, d := range checks {
			if d.CheckedAt != nil {
				ch <- prometheus.MustNewConstMetric(c.drift, prometheus.GaugeValue, float64(len(d.Files)), fabric)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.GaugeValue, failed)
}
