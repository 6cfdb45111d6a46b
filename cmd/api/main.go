// Command api serves fabsync's HTTP API and web UI (SPEC §4). It validates requests, records
// jobs in Redis and enqueues them for the workers; it never touches git.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/server"
	"github.com/fabsync/fabsync/internal/tasks"
	"github.com/fabsync/fabsync/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "api: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully; it returns nil after a clean shutdown.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: api [flags]\n\nServes the fabsync HTTP API and web UI. Every flag can also be set by its environment variable.\n\n")
		fs.PrintDefaults()
	}
	var s config.Settings
	s.Bind(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	fabrics, err := config.NewSource(s.ConfigPath)
	if err != nil {
		return err
	}
	rdb, err := tasks.OpenRedis(s.RedisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	e, err := server.New(server.Config{Service: tasks.NewService(rdb), Redis: rdb, Fabrics: fabrics, Token: s.APIToken, WebhookSecret: s.WebhookSecret, Logger: log, UI: web.FS()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("api listening", "addr", ln.Addr().String(), "fabrics", len(fabrics.Fabrics()))
	return server.Serve(ctx, ln, e)
}
