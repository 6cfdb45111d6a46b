package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/forge"
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
			PublicURL: s.PublicURL, Forge: Forge, AppTokens: appTokens,
		},
		Logger: log,
	}, nil
}

// Forge is the worker's tasks.ForgeFactory: package forge's client for the fabric's forge:
// its forge: block, or what its repository URL tells (github.com, gitlab.com, codeberg.org).
func Forge(_ context.Context, fab config.Fabric, a tasks.ForgeAuth) (tasks.Forge, error) {
	return forge.New(forge.Config{Type: fab.Forge.Type, APIURL: fab.Forge.APIURL, Repo: fab.Repo,
		Token: a.Token, TokenSource: a.TokenSource, Fabric: fab.Name})
}

// appTokens is the worker's HandlerConfig.AppTokens: package forge's GitHub App installation
// tokens, minted at apiURL (GitHub's when empty) with forge's default HTTP client.
func appTokens(appID, installationID int64, key []byte, apiURL string) (func(context.Context) (string, error), error) {
	return forge.NewAppTokenSource(appID, installationID, key, apiURL, nil)
}
