package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
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
	// DriftFiles is how many resource files the fabric's last drift check found changed by
	// hand (GET /fabrics/{fabric}/drift lists them); 0 when never checked.
	DriftFiles int `json:"drift_files"`
}

// newFabric shows f with its repository redacted: the fabrics file may not hold user info in
// a URL (config refuses it), and none leaves through the API if it does.
func newFabric(f config.Fabric, latest *tasks.Job, drift *tasks.DriftCheck) fabric {
	out := fabric{Name: f.Name, Repo: f.RedactedRepo(), Branch: f.Branch, Path: f.Path, Resync: f.Resync.String(), LatestJob: latest}
	if drift != nil {
		out.DriftFiles = len(drift.Files)
	}
	return out
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
	drifts, err := s.svc.Drifts(ctx, names)
	if err != nil {
		return err
	}
	out := fabricList{Fabrics: make([]fabric, 0, len(fabrics)), Config: newConfigStatus(st)}
	for _, f := range fabrics {
		out.Fabrics = append(out.Fabrics, newFabric(f, latest[f.Name], drifts[f.Name]))
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
type triggerRequest struct {
	// DryRun asks for a dry run: a job that syncs, ingests and validates like a real one, pushes
	// nothing and records its plan.
	DryRun bool `json:"dry_run"`
}

func (s *server) triggerSync(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	var req triggerRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	trigger := s.svc.Trigger
	if req.DryRun {
		trigger = s.svc.TriggerDryRun
	}
	j, slot, err := trigger(c.Request().Context(), f.Name, tasks.TriggerManual)
	if err != nil {
		return err
	}
	if slot == tasks.SlotExisting {
		return c.JSON(http.StatusOK, j)
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/jobs/"+j.ID)
	return c.JSON(http.StatusAccepted, j)
}

// decodeOptional decodes a JSON object body if there is one; an empty body is fine. A field v
// does not have is refused, naming it.
func decodeOptional(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // the body limit's error, mapped to 413
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &apiError{http.StatusBadRequest, "bad_request", "unknown field " + field + " in the request body; known fields: " + knownFields(v)}
		}
		return &apiError{http.StatusBadRequest, "bad_request", "request body must be a JSON object: " + err.Error()}
	}
	return nil
}

// knownFields lists the JSON fields of the struct v points to: "dry_run".
func knownFields(v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	if t.Kind() == reflect.Struct {
		for i := range t.NumField() {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
				names = append(names, name)
			}
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// getDrift answers the fabric's last drift check.
func (s *server) getDrift(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	d, err := s.svc.Drift(c.Request().Context(), f.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *server) listJobs(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 20, 1, 200)
	if err != nil {
		return err
	}
	jobs, err := s.svc.List(c.Request().Context(), f.Name, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"jobs": jobs})
}

// getJob answers a job as c.JSON would encode it, but sends the job record's stored JSON as it
// is (tasks.Service.JobJSON): a status read, polled by the UI and the CLI, costs one Redis
// round trip and no decoding or encoding of the record. ?pretty, echo's indented form, takes
// the long way.
func (s *server) getJob(c echo.Context) error {
	ctx := c.Request().Context()
	if c.QueryParams().Has("pretty") {
		j, err := s.svc.Get(ctx, c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, j)
	}
	b, err := s.svc.JobJSON(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	b = append(b, '\n') // as json.Encoder, behind c.JSON, ends it
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return c.JSONBlob(http.StatusOK, b)
}

func (s *server) cancelJob(c echo.Context) error {
	j, err := s.svc.Cancel(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, j)
}
