// Command worker runs fabsync's sync jobs (SPEC §3, §6): the asynq server for both tasks and the
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

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: worker [flags]\n\nRuns fabsync sync jobs from Redis. Every flag can also be set by its environment variable.\n\n")
		fs.PrintDefaults()
	}
	var s config.Settings
	s.Bind(fs, getenv)
	concurrency := fs.Int("concurrency", 4, "sync tasks run at once")
	shutdown := fs.Duration("shutdown-timeout", 0, "how long running tasks may finish after SIGTERM (default 30s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := worker.FromSettings(s, getenv, log)
	if err != nil {
		return err
	}
	cfg.Concurrency, cfg.ShutdownTimeout = *concurrency, *shutdown
	defer cfg.Redis.Close()
	return worker.Run(ctx, cfg)
}
