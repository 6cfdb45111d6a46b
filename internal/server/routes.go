package server

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// routes lists every route in one place.
func (s *server) routes(e *echo.Echo, cfg Config) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)

	// The token guard is per route: echo's Group.Use would add catch-all routes that turn 405s into 404s.
	auth := requireToken(cfg.Token)
	api := e.Group("/api/v1")
	api.GET("/fabrics", s.listFabrics, auth)
	api.POST("/fabrics/:fabric/sync", s.triggerSync, auth)
	api.GET("/fabrics/:fabric/jobs", s.listJobs, auth)
	api.GET("/jobs/:id", s.getJob, auth)
	api.POST("/jobs/:id/cancel", s.cancelJob, auth)

	if cfg.UI != nil {
		e.StaticFS("/", cfg.UI)
	}
}

// requireToken guards a group with a bearer token (constant-time compare); an empty token
// leaves it open.
func requireToken(token string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if token == "" {
			return next
		}
		return func(c echo.Context) error {
			got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="fabsync"`)
				return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid API token is required (Authorization: Bearer <token>)"}
			}
			return next(c)
		}
	}
}
