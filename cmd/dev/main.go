// Command dev runs the whole of fabsync in one process for trying it out (SPEC §6, `make run`):
// an embedded Redis, the API and web UI, a worker, and a demo fabric backed by a local
// repository seeded with sample wiring files. It runs the same code paths as production; only
// the wiring differs. Set REDIS_URL or FABSYNC_CONFIG to use a real Redis or your own fabrics.
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

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: dev [flags]\n\nRuns fabsync in one process: embedded Redis, API + web UI, a worker and a demo fabric.\n"+
			"Without REDIS_URL/-redis-url it embeds Redis; without FABSYNC_CONFIG/-config it creates the demo fabric.\n\n")
		fs.PrintDefaults()
	}
	var s config.Settings
	s.Bind(fs, func(k string) string {
		if k == "FABSYNC_DATA_DIR" && getenv(k) == "" {
			return filepath.Join(config.DefaultDataDir, "dev")
		}
		return getenv(k)
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	builtin := gitops.UseBuiltinFileTransport()
	if builtin {
		log.Info("git is not installed: serving local repositories with go-git's built-in transport")
	}

	if !set["redis-url"] && getenv("REDIS_URL") == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return fmt.Errorf("embedded redis: %w", err)
		}
		defer mr.Close()
		s.RedisURL = "redis://" + mr.Addr() + "/0"
		log.Info("embedded Redis (miniredis) started", "addr", mr.Addr())
	}
	if !set["config"] && getenv("FABSYNC_CONFIG") == "" {
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
	defer wcfg.Redis.Close()
	wcfg.Concurrency = 2
	if builtin {
		wcfg.Handler.GitDepth = 0 // go-git's server cannot serve shallow clones
	}
	e, err := server.New(server.Config{Service: tasks.NewService(wcfg.Redis), Redis: wcfg.Redis, Fabrics: wcfg.Handler.Fabrics, Token: s.APIToken, WebhookSecret: s.WebhookSecret, Logger: log, UI: web.FS()})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	werr := make(chan error, 1)
	go func() { werr <- worker.Run(ctx, wcfg) }()
	fmt.Fprintf(stderr, "\n  fabsync dev mode: open http://%s and click \"Sync from Git\"\n  fabrics file: %s\n\n", ln.Addr(), s.ConfigPath)
	err = server.Serve(ctx, ln, e)
	cancel()
	return errors.Join(err, <-werr)
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
