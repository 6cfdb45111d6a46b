package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/redistest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// BenchmarkIdlePoll measures what the worker's idle poll (Config.PollInterval, asynq's
// TaskCheckInterval) costs and buys, per interval: with no task at all for 5 s, the Redis
// commands per second and the CPU of redis-server and of this process (the worker) per second;
// then the time from the enqueue of a task into an idle worker's queue until a handler starts
// it (20 tasks, one at a time, at random moments of the poll). Run with -benchtime 1x.
func BenchmarkIdlePoll(b *testing.B) {
	if testing.Short() {
		b.Skip("needs redis-server")
	}
	for _, every := range []time.Duration{100 * time.Millisecond, 50 * time.Millisecond, 20 * time.Millisecond, 10 * time.Millisecond} {
		b.Run(every.String(), func(b *testing.B) {
			rdb, _ := redistest.Client(b)
			p := filepath.Join(b.TempDir(), "fabsync.yaml")
			if err := os.WriteFile(p, []byte("fabrics: []\n"), 0o644); err != nil {
				b.Fatal(err)
			}
			src, err := config.NewSource(p, config.SourceConfig{})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, Config{Redis: rdb, Handler: tasks.HandlerConfig{DataDir: b.TempDir(), Fabrics: src},
					Logger: slog.New(slog.DiscardHandler), PollInterval: every, NoScheduler: true,
					ReconcileEvery: time.Hour})
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			time.Sleep(time.Second) // started, first reconcile done

			const idle = 5 * time.Second
			calls0, cpu0 := redisLoad(b, rdb)
			self0 := selfCPU()
			time.Sleep(idle)
			calls1, cpu1 := redisLoad(b, rdb)
			self1 := selfCPU()
			b.ReportMetric(float64(calls1-calls0)/idle.Seconds(), "redis-cmds/s")
			b.ReportMetric((cpu1-cpu0)/idle.Seconds()*1000, "redis-cpu-ms/s")
			b.ReportMetric(float64((self1-self0).Microseconds())/1000/idle.Seconds(), "worker-cpu-ms/s")

			// Pickup: a sync task for a job that does not exist is started (and archived) at once.
			client := asynq.NewClientFromRedisClient(rdb)
			insp := asynq.NewInspectorFromRedisClient(rdb)
			var waits []time.Duration
			for i := 0; i < 20; i++ {
				time.Sleep(time.Duration(i%7) * every / 7) // land at different moments of the poll
				t0 := time.Now()
				info, err := client.Enqueue(asynq.NewTask(tasks.TypeRepoSync, []byte(`{"job_id":"none","fabric":"none"}`)),
					asynq.Queue(tasks.QueueSync), asynq.MaxRetry(0), asynq.TaskID(fmt.Sprintf("pickup-%d", i)))
				if err != nil {
					b.Fatal(err)
				}
				for {
					ti, err := insp.GetTaskInfo(tasks.QueueSync, info.ID)
					if err == nil && ti.State != asynq.TaskStatePending {
						break
					}
					time.Sleep(time.Millisecond)
				}
				waits = append(waits, time.Since(t0))
			}
			sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
			b.ReportMetric(float64(waits[len(waits)/2].Microseconds())/1000, "pickup-p50-ms")
			b.ReportMetric(float64(waits[len(waits)*9/10].Microseconds())/1000, "pickup-p90-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// redisLoad returns the commands Redis has processed and the CPU seconds it has used.
func redisLoad(b *testing.B, rdb *redis.Client) (int64, float64) {
	b.Helper()
	info, err := rdb.Info(context.Background(), "stats", "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var calls int64
	var cpu float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "total_commands_processed":
			calls, _ = strconv.ParseInt(v, 10, 64)
		case "used_cpu_sys", "used_cpu_user":
			f, _ := strconv.ParseFloat(v, 64)
			cpu += f
		}
	}
	return calls, cpu
}

// selfCPU is the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
