package worker

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/tasks"
)

// FromSettings builds a worker Config from the process settings: it reads the fabrics file,
// creates the data dir and opens Redis (the caller closes cfg.Redis). Settings the process did
// not bind are zero and take Config's defaults (dev mode binds no -concurrency).
func FromSettings(s config.Settings, getenv func(string) string, log *slog.Logger) (Config, error) {
	name, email, err := s.Author()
	if err != nil {
		return Config{}, err
	}
	fabrics, err := config.NewSource(s.ConfigPath, config.SourceConfig{Logger: log})
	if err != nil {
		return Config{}, err
	}
	// A fabric whose secret is missing would fail every job; say so now, naming the field.
	for _, f := range fabrics.Fabrics() {
		if _, err := tasks.ResolveAuth(f.Auth, getenv); err != nil {
			return Config{}, fmt.Errorf("fabric %s: %w", f.Name, err)
		}
	}
	if err := os.MkdirAll(s.DataDir, 0o755); err != nil {
		return Config{}, fmt.Errorf("data dir: %w", err)
	}
	rdb, err := tasks.OpenRedis(s.RedisURL)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Redis:           rdb,
		Concurrency:     s.Concurrency,
		ShutdownTimeout: s.ShutdownTimeout,
		Handler: tasks.HandlerConfig{
			DataDir: s.DataDir, Fabrics: fabrics, Getenv: getenv,
			Author: gitops.Signature{Name: name, Email: email}, GitDepth: gitops.RecommendedDepth,
		},
		Logger: log,
	}, nil
}
