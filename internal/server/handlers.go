package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/tasks"
)

func (s *server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Ping(ctx); err != nil {
		return &apiError{http.StatusServiceUnavailable, "redis_unavailable", "Redis does not answer"}
	}
	return c.JSON(http.StatusOK, readyBody{Status: "ready", Config: newConfigStatus(s.fabrics.Status())})
}

// readyBody is the answer of /readyz. An invalid fabrics file does not make the server unready:
// the last good one keeps running, and Config says so.
type readyBody struct {
	Status string       `json:"status"`
	Config configStatus `json:"config"`
}

// fabric is a fabric as the API shows it: no auth details, no user info in Repo.
type fabric struct {
	Name      string     `json:"name"`
	Repo      string     `json:"repo"`
	Branch    string     `json:"branch"`
	Path      string     `json:"path"`
	Resync    string     `json:"resync"`
	LatestJob *tasks.Job `json:"latest_job"`
}

// newFabric shows f with its repository redacted: the fabrics file may not hold user info in
// a URL (config refuses it), and none leaves through the API if it does.
func newFabric(f config.Fabric, latest *tasks.Job) fabric {
	return fabric{Name: f.Name, Repo: f.RedactedRepo(), Branch: f.Branch, Path: f.Path, Resync: f.Resync.String(), LatestJob: latest}
}

type fabricList struct {
	Fabrics []fabric     `json:"fabrics"`
	Config  configStatus `json:"config"` // whether the fabrics above come from the file on disk
}

func (s *server) listFabrics(c echo.Context) error {
	ctx := c.Request().Context()
	st := s.fabrics.Status()
	fabrics := s.fabrics.Fabrics()
	names := make([]string, len(fabrics))
	for i, f := range fabrics {
		names[i] = f.Name
	}
	latest, err := s.svc.Latest(ctx, names)
	if err != nil {
		return err
	}
	out := fabricList{Fabrics: make([]fabric, 0, len(fabrics)), Config: newConfigStatus(st)}
	for _, f := range fabrics {
		out.Fabrics = append(out.Fabrics, newFabric(f, latest[f.Name]))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) fabric(c echo.Context) (config.Fabric, error) {
	name := c.Param("fabric")
	f, ok := s.fabrics.Fabric(name)
	if !ok {
		return f, &apiError{http.StatusNotFound, "fabric_not_found", "no fabric named " + strconv.Quote(name)}
	}
	return f, nil
}

// triggerRequest is the optional body of POST /fabrics/{fabric}/sync.
type triggerRequest struct{}

func (s *server) triggerSync(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	if err := decodeOptional(c, &triggerRequest{}); err != nil {
		return err
	}
	j, slot, err := s.svc.Trigger(c.Request().Context(), f.Name, tasks.TriggerManual)
	if err != nil {
		return err
	}
	if slot == tasks.SlotExisting {
		return c.JSON(http.StatusOK, j)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/jobs/"+j.ID)
	return c.JSON(http.StatusAccepted, j)
}

// decodeOptional decodes a JSON object body if there is one; an empty body is fine.
func decodeOptional(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's error, mapped to 413
	}
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "bad_request", "request body must be a JSON object: " + err.Error()}
	}
	return nil
}

func (s *server) listJobs(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	limit := 20
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			return &apiError{http.StatusBadRequest, "bad_request", "limit must be a whole number from 1 to 200"}
		}
		limit = n
	}
	jobs, err := s.svc.List(c.Request().Context(), f.Name, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": jobs})
}

func (s *server) getJob(c echo.Context) error {
	j, err := s.svc.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, j)
}

func (s *server) cancelJob(c echo.Context) error {
	j, err := s.svc.Cancel(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, j)
}
