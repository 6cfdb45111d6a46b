package server

import (
	_ "embed"
	"net/http"

	"github.com/hibiken/asynq/x/metrics"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

const (
	webhookPath    = webhookPrefix + "github"
	monitoringPath = "/monitoring" // Asynqmon's root
)

//go:embed openapi.yaml
var openAPI []byte

// routes lists every route in one place. /api/openapi.yaml documents all but the UI and Asynqmon
// (mon, nil when Config.Monitoring is off).
func (s *server) routes(e *echo.Echo, cfg Config, mon http.Handler) {
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
	e.GET("/api/v1/fabrics/:fabric/drift", s.getDrift, auth)
	e.GET("/api/v1/fabrics/:fabric/resources", s.listResources, auth)
	e.GET("/api/v1/fabrics/:fabric/file", s.getFile, auth)
	e.GET("/api/v1/fabrics/:fabric/topology.svg", s.getTopology, auth)
	e.GET("/api/v1/jobs/:id", s.getJob, auth)
	e.POST("/api/v1/jobs/:id/cancel", s.cancelJob, auth)
	// The webhooks are authenticated by their forge's signature or token (webhook.go), each
	// with a secret of its own; an empty secret disables the route.
	e.POST(webhookPath, s.webhook(githubForge, cfg.WebhookSecret))
	e.POST(webhookPrefix+"gitlab", s.webhook(gitlabForge, cfg.GitLabWebhookToken))
	e.POST(webhookPrefix+"gitea", s.webhook(giteaForge, cfg.GiteaWebhookSecret)) // and Forgejo
	e.POST(webhookPrefix+"bitbucket", s.webhook(bitbucketForge, cfg.BitbucketWebhookSecret))
	e.POST(webhookPrefix+"generic", s.webhook(genericForge, cfg.GenericWebhookSecret))

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		metrics.NewQueueMetricsCollector(cfg.Service.Inspector()),
		cfg.Service.Collector(),
		newConfigCollector(cfg.Fabrics),
	)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})), browserAuth)

	if mon != nil {
		guards := []echo.MiddlewareFunc{browserAuth}
		if cfg.Monitoring == MonitoringReadOnly {
			guards = append(guards, readOnly)
		}
		e.Any(monitoringPath, echo.WrapHandler(mon), guards...)
		e.Any(monitoringPath+"/*", echo.WrapHandler(mon), guards...)
	}

	if cfg.UI != nil {
		e.StaticFS("/", cfg.UI)
	}
}

// sharedRedis hands Asynqmon the server's Redis client instead of a second pool.
type sharedRedis struct{ c redis.UniversalClient }

func (r sharedRedis) MakeRedisClient() any { return r.c }

// readOnly refuses every request that would change something: Asynqmon's own read-only mode
// guards its API, this guards the rest of the route too, with a JSON error like the API's.
func readOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if changesState(c.Request().Method) {
			c.Response().Header().Set("Allow", "GET, HEAD")
			return &apiError{Status: http.StatusMethodNotAllowed, Code: "monitoring_read_only",
				Message: "the task dashboard is read-only (FABSYNC_MONITORING=readonly); use readwrite to change tasks from it"}
		}
		return next(c)
	}
}
