// Command worker runs fabsync's sync jobs (docs/SYNC.md): the asynq server for both tasks and the
// reconciler. Any number of workers may share one Redis. SIGTERM lets running tasks finish
// (bounded by -shutdown-timeout) before it exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
	"github.com/fabsync/fabsync/internal/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "worker: %v\n", err)
		os.Exit(1)
	}
}

// run serves tasks until ctx ends, then shuts down gracefully; it returns nil after a clean
// shutdown, flag.ErrHelp for -h, or the startup error.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = config.Usage(fs, "Runs fabsync sync jobs from Redis. Any number of workers may share one Redis.")
	var s config.Settings
	s.Bind(fs, "redis-url", "config", "data-dir", "git-author", "concurrency", "shutdown-timeout")
	s.Bind(fs, "public-url") // links to jobs in notifications and commit statuses
	if err := s.Parse(fs, args, getenv); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	// Redis failures from go-redis, asynq and the standard log become one rate-limited
	// "redis unavailable" WARN line per 10 s (run is the one place that may set such globals).
	rlog := &tasks.RedisLog{Logger: log}
	defer rlog.Install()()
	cfg, err := worker.FromSettings(s, getenv, log)
	if err != nil {
		return err
	}
	defer func() { _ = cfg.Redis.Close() }() // after Run: nothing is left to use it
	cfg.RedisLog = rlog
	return worker.Run(ctx, cfg)
}
