// Package server is fabsync's HTTP API and web UI (SPEC §4) on echo. It validates requests,
// records and enqueues jobs through package tasks, and never touches git.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynqmon"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
)

// Config configures the HTTP server. Zero values take the defaults in brackets.
type Config struct {
	Service       *tasks.Service        // required
	Redis         redis.UniversalClient // required: Asynqmon and /metrics read the queues through it
	Fabrics       *config.Source        // required
	Token         string                // when set, /api/v1/*, /metrics and /monitoring/ require "Authorization: Bearer <Token>" (see requireToken)
	WebhookSecret string                // HMAC secret of the GitHub webhook (/api/v1/webhooks/github); empty disables that webhook
	Logger        *slog.Logger          // required
	UI            fs.FS                 // the web UI's files; nil serves none
	BodyLimit     string                // request body limit ["1M"]
	// Monitoring is what /monitoring/ (Asynqmon, the task queues' dashboard) allows: "readonly"
	// shows the queues and tasks but refuses every change, "readwrite" lets its users delete,
	// run, archive and cancel tasks and pause queues, and "off" serves no dashboard (404)
	// ["readonly"].
	Monitoring string

	// The secrets of the other forges' webhooks (/api/v1/webhooks/…, see webhook.go), one
	// per route; an empty one disables its route (401 webhook_disabled).
	GitLabWebhookToken     string // secret token of the GitLab webhook (…/gitlab)
	GiteaWebhookSecret     string // HMAC secret of the Gitea and Forgejo webhook (…/gitea)
	BitbucketWebhookSecret string // HMAC secret of the Bitbucket Cloud webhook (…/bitbucket)
	GenericWebhookSecret   string // HMAC secret of the generic webhook (…/generic)
}

// The values of Config.Monitoring.
const (
	MonitoringReadOnly  = "readonly"
	MonitoringReadWrite = "readwrite"
	MonitoringOff       = "off"
)

type server struct {
	svc     *tasks.Service
	fabrics *config.Source
	log     *slog.Logger
	topo    svgCache // the last topology drawings (inventory.go)
}

// New builds the whole HTTP server: middleware, routes and the error mapping.
func New(cfg Config) (*echo.Echo, error) {
	if cfg.Service == nil || cfg.Redis == nil || cfg.Fabrics == nil || cfg.Logger == nil {
		return nil, errors.New("server: Service, Redis, Fabrics and Logger are required")
	}
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	switch cfg.Monitoring {
	case "":
		cfg.Monitoring = MonitoringReadOnly
	case MonitoringReadOnly, MonitoringReadWrite, MonitoringOff:
	default:
		return nil, fmt.Errorf("server: monitoring mode %q: want %q, %q or %q", cfg.Monitoring, MonitoringReadOnly, MonitoringReadWrite, MonitoringOff)
	}
	var mon http.Handler // Asynqmon
	var monPolicy string
	if cfg.Monitoring != MonitoringOff {
		mon = asynqmon.New(asynqmon.Options{RootPath: monitoringPath, RedisConnOpt: sharedRedis{cfg.Redis},
			ReadOnly: cfg.Monitoring == MonitoringReadOnly})
		monPolicy = monitoringPolicy(mon)
	}
	s := &server{svc: cfg.Service, fabrics: cfg.Fabrics, log: cfg.Logger}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	// Before anything that can answer, so that every response carries the headers: errors of
	// the middleware below included.
	e.Use(securityHeaders(monPolicy))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}))
	e.Use(s.accessLog)
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit:   cfg.BodyLimit,
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Path(), webhookPrefix) }, // capped by their handler
	}))
	s.routes(e, cfg, mon)
	return e, nil
}

// Serve serves e on ln until ctx ends, then shuts down gracefully (bounded). It returns nil after
// a clean shutdown.
func Serve(ctx context.Context, ln net.Listener, e *echo.Echo) error {
	hs := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func (s *server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		r := c.Request()
		s.log.DebugContext(r.Context(), "request", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", r.Method, "path", r.URL.Path, "status", c.Response().Status, "duration", time.Since(start))
		return nil
	}
}
