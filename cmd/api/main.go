// Command api serves fabsync's HTTP API and web UI (docs/API.md). It validates requests, records
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
	"time"

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

// run serves until ctx ends, then shuts down gracefully; it returns nil after a clean shutdown,
// flag.ErrHelp for -h, or the startup error.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = config.Usage(fs, "Serves the fabsync HTTP API and web UI. It records jobs in Redis; workers run them.")
	var s config.Settings
	s.Bind(fs, "redis-url", "config", "listen", "api-token", "webhook-secret", "gitlab-webhook-token", "gitea-webhook-secret", "bitbucket-webhook-secret", "generic-webhook-secret", "monitoring")
	if err := s.Parse(fs, args, getenv); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	// Redis failures from go-redis, asynq and the standard log become one rate-limited
	// "redis unavailable" WARN line per 10 s (run is the one place that may set such globals).
	rlog := &tasks.RedisLog{Logger: log}
	defer rlog.Install()()
	// Listen first, so a bind error surfaces at once; connections wait in the backlog until
	// the server serves.
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer func() { _ = ln.Close() }() // on a startup error; after Serve it is closed already
	fabrics, err := config.NewSource(s.ConfigPath, config.SourceConfig{Logger: log})
	if err != nil {
		return err
	}
	rdb, err := tasks.OpenRedis(s.RedisURL)
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }() // after the server stopped: nothing is left to use it
	svc := tasks.NewService(rdb)
	svc.SetLogger(log)
	svc.SetReplicaWait(tasks.ReplicaWait(s.RedisURL)) // with Sentinel, a 202 means a replica has the job
	svc.SetNotifies(tasks.NotifyWanted(fabrics))
	// Keys named before slot tags get their new names (docs/SCALING.md); the workers do it too.
	mctx, mcancel := context.WithTimeout(ctx, 5*time.Second) // Redis need not answer to serve
	n, err := svc.MigrateKeys(mctx)
	mcancel()
	if err != nil {
		log.WarnContext(ctx, "rename Redis keys to their slot-tagged names", "err", err)
	} else if n > 0 {
		log.InfoContext(ctx, "renamed Redis keys to their slot-tagged names", "keys", n)
	}
	e, err := server.New(server.Config{Service: svc, Redis: rdb, Fabrics: fabrics, Token: s.APIToken, WebhookSecret: s.WebhookSecret, GitLabWebhookToken: s.GitLabWebhookToken, GiteaWebhookSecret: s.GiteaWebhookSecret, BitbucketWebhookSecret: s.BitbucketWebhookSecret, GenericWebhookSecret: s.GenericWebhookSecret, Monitoring: s.Monitoring, Logger: log, UI: web.FS()})
	if err != nil {
		return err
	}
	ping := server.PingRedis(ctx, rdb) // Redis need not answer to serve: /readyz says whether it does
	errc, accepting := server.Start(ctx, ln, e)
	// http.Server calls Accept before anything else can stop it, so this waits for no failure.
	served := false
	select {
	case <-accepting:
		served = true
	case <-ctx.Done():
	}
	perr := <-ping // at most a second, while the server already serves
	if served {
		log.Info("api listening", append([]any{"addr", ln.Addr().String(), "fabrics", len(fabrics.Fabrics())},
			server.RedisAttrs(s.RedactedRedisURL(), perr)...)...)
	}
	return <-errc
}
