// Command dev runs the whole of fabsync in one process for trying it out (`make run`):
// an embedded Redis, the API and web UI, a worker, and a demo fabric backed by a local
// repository seeded with sample wiring files. It runs the same code paths as production; only
// the wiring differs. Set REDIS_URL or FABSYNC_CONFIG to use a real Redis or your own fabrics.
// Its logs are JSON lines like the other commands'; the line to open the UI is plain text.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alicebob/miniredis/v2"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/server"
	"github.com/fabsync/fabsync/internal/tasks"
	"github.com/fabsync/fabsync/internal/worker"
	"github.com/fabsync/fabsync/web"
)

//go:embed demo
var demoFiles embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "dev: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down the server and the worker; it returns nil after a
// clean shutdown, flag.ErrHelp for -h, or the startup error.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = config.Usage(fs, "Runs the whole of fabsync in one process for trying it out: the API and web UI, a worker,\n"+
		"and unless told otherwise an embedded Redis and a demo fabric backed by a local repository.")
	var s config.Settings
	s.Bind(fs, "listen", "api-token", "webhook-secret", "gitlab-webhook-token", "gitea-webhook-secret", "bitbucket-webhook-secret", "generic-webhook-secret", "git-author", "monitoring")
	// Dev mode's defaults differ: nothing to set up, and its files stay apart from a real worker's.
	s.BindDefault(fs, "redis-url", "", "Redis `URL`: redis://, rediss:// or redis-sentinel://; empty: an embedded Redis (miniredis) in this process, emptied on exit")
	s.BindDefault(fs, "config", "", "fabrics `file`, re-read when it changes; empty: a demo fabric whose repository is created under -data-dir")
	s.BindDefault(fs, "data-dir", config.DefaultDataDir+"/dev", "")
	s.Bind(fs, "public-url") // links to jobs in notifications and commit statuses
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
	builtin := gitops.UseBuiltinFileTransport()
	if builtin {
		log.Info("git is not installed: serving local repositories with go-git's built-in transport")
	}

	if s.RedisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return fmt.Errorf("embedded redis: %w", err)
		}
		defer mr.Close()
		s.RedisURL = "redis://" + mr.Addr() + "/0"
		log.Info("embedded Redis (miniredis) started", "addr", mr.Addr())
	}
	if s.ConfigPath == "" {
		p, err := seedDemo(ctx, s.DataDir, log)
		if err != nil {
			return fmt.Errorf("demo fabric: %w", err)
		}
		s.ConfigPath = p
	}

	wcfg, err := worker.FromSettings(s, getenv, log)
	if err != nil {
		return err
	}
	defer func() { _ = wcfg.Redis.Close() }() // after the server and the worker stopped
	wcfg.Concurrency = 2
	wcfg.RedisLog = rlog
	if builtin {
		wcfg.Handler.GitDepth = 0 // go-git's server cannot serve shallow clones
	}
	apiSvc := tasks.NewService(wcfg.Redis)
	apiSvc.SetLogger(log)
	apiSvc.SetNotifies(tasks.NotifyWanted(wcfg.Handler.Fabrics))
	e, err := server.New(server.Config{Service: apiSvc, Redis: wcfg.Redis, Fabrics: wcfg.Handler.Fabrics, Token: s.APIToken, WebhookSecret: s.WebhookSecret, GitLabWebhookToken: s.GitLabWebhookToken, GiteaWebhookSecret: s.GiteaWebhookSecret, BitbucketWebhookSecret: s.BitbucketWebhookSecret, GenericWebhookSecret: s.GenericWebhookSecret, Monitoring: s.Monitoring, Logger: log, UI: web.FS()})
	if err != nil {
		return err
	}
	ping := server.PingRedis(ctx, wcfg.Redis) // Redis need not answer to serve: /readyz says whether it does

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- worker.Run(ctx, wcfg) }()
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
		log.Info("dev mode listening", append([]any{"addr", ln.Addr().String(), "fabrics_file", s.ConfigPath},
			server.RedisAttrs(s.RedactedRedisURL(), perr)...)...)
		fmt.Fprintf(stderr, "\n  fabsync dev mode: open http://%s and click \"Sync from Git\"\n  fabrics file: %s\n\n", ln.Addr(), s.ConfigPath)
	}
	// Whichever of the server and the worker stops first (ctx ended, or it failed) stops the other.
	var serr, wrkErr error
	select {
	case serr = <-errc:
		cancel()
		wrkErr = <-werr
	case wrkErr = <-werr:
		cancel()
		serr = <-errc
	}
	return errors.Join(serr, wrkErr)
}

// seedDemo makes sure the demo fabric's repository exists under dataDir and that its raw/
// folder has sample wiring files to ingest, and returns the fabrics file naming it.
func seedDemo(ctx context.Context, dataDir string, log *slog.Logger) (string, error) {
	root, err := filepath.Abs(filepath.Join(dataDir, "demo"))
	if err != nil {
		return "", err
	}
	remote := filepath.Join(root, "remote.git")
	const fabricPath = "fabrics/demo"
	files := map[string][]byte{}
	err = fs.WalkDir(demoFiles, "demo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := demoFiles.ReadFile(p)
		files[fabricPath+"/raw/"+filepath.Base(p)] = b
		return err
	})
	if err != nil {
		return "", err
	}
	author := gitops.Signature{Name: "fabsync demo", Email: "demo@fabsync.localhost"}
	dropped, err := gitops.Seed(ctx, remote, "main", fabricPath+"/raw", files, author)
	if err != nil {
		return "", err
	}
	if dropped {
		log.Info("demo fabric: sample wiring files dropped into raw/", "repo", remote)
	}
	cfg := filepath.Join(root, "fabsync.yaml")
	body := fmt.Sprintf("# Written by fabsync dev mode.\nfabrics:\n  - name: demo\n    repo: %q\n    branch: main\n    path: %s\n    resync: 0\n", remote, fabricPath)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return "", err
	}
	return cfg, nil
}
