package server

import (
	"crypto/subtle"
	_ "embed"
	"net/http"
	"net/url"
	"strings"

	"github.com/hibiken/asynq/x/metrics"
	"github.com/hibiken/asynqmon"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

const webhookPath = "/api/v1/webhooks/github"

//go:embed openapi.yaml
var openAPI []byte

// routes lists every route in one place. /api/openapi.yaml documents all but the UI and Asynqmon.
func (s *server) routes(e *echo.Echo, cfg Config) {
	// The token guard is per route: echo's Group.Use would add catch-all routes that turn 405s
	// into 404s.
	auth := requireToken(cfg.Token, false)
	browserAuth := requireToken(cfg.Token, true) // pages a browser navigates to: the cookie counts too

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/api/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openAPI) })

	e.GET("/api/v1/fabrics", s.listFabrics, auth)
	e.POST("/api/v1/fabrics/:fabric/sync", s.triggerSync, auth)
	e.GET("/api/v1/fabrics/:fabric/jobs", s.listJobs, auth)
	e.GET("/api/v1/jobs/:id", s.getJob, auth)
	e.POST("/api/v1/jobs/:id/cancel", s.cancelJob, auth)
	e.POST(webhookPath, s.githubWebhook(cfg.WebhookSecret)) // authenticated by its HMAC signature

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		metrics.NewQueueMetricsCollector(cfg.Service.Inspector()),
		cfg.Service.Collector(),
		newConfigCollector(cfg.Fabrics),
	)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})), browserAuth)

	mon := echo.WrapHandler(asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: sharedRedis{cfg.Redis}}))
	e.Any("/monitoring", mon, browserAuth)
	e.Any("/monitoring/*", mon, browserAuth)

	if cfg.UI != nil {
		e.StaticFS("/", cfg.UI)
	}
}

// sharedRedis hands Asynqmon the server's Redis client instead of a second pool.
type sharedRedis struct{ c redis.UniversalClient }

func (r sharedRedis) MakeRedisClient() any { return r.c }

// tokenCookie lets a browser reach /monitoring/ after the UI was given the token: page
// navigation cannot send an Authorization header.
const tokenCookie = "fabsync-token"

// requireToken guards a route with a bearer token (constant-time compare); an empty token
// leaves it open. With cookie, the UI's token cookie is accepted too (only for pages a browser
// navigates to: the JSON API wants the header, so a cookie can never trigger a sync).
func requireToken(token string, cookie bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if token == "" {
			return next
		}
		return func(c echo.Context) error {
			got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			if !ok && cookie {
				if ck, err := c.Cookie(tokenCookie); err == nil {
					if v, err := url.QueryUnescape(ck.Value); err == nil {
						got, ok = v, true
					}
				}
			}
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="fabsync"`)
				return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid API token is required (Authorization: Bearer <token>)"}
			}
			return next(c)
		}
	}
}
