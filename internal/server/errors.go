package server

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fabsync/fabsync/internal/tasks"
)

// apiError is an error with the status and code the client sees.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// handleError is the one place errors become HTTP responses (and 5xx are logged).
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	var he *echo.HTTPError
	var ne *net.OpError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &ne):
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", "the job store (Redis) does not answer; try again shortly"}
	case errors.Is(err, tasks.ErrJobNotFound):
		ae = &apiError{http.StatusNotFound, "job_not_found", "no job with that ID"}
	case errors.Is(err, tasks.ErrJobEnded):
		ae = &apiError{http.StatusConflict, "job_ended", err.Error()}
	case errors.As(err, &he):
		ae = &apiError{Status: he.Code, Code: codeFor(he.Code), Message: strings.ToLower(http.StatusText(he.Code))}
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			ae.Message = m
		}
	default:
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error; see the server log (request " +
			c.Response().Header().Get(echo.HeaderXRequestID) + ")"}
	}
	// Log server faults once, here; a 503 we chose (Redis said no) is logged with its cause.
	if serverFault := ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable; serverFault || ne != nil {
		s.log.ErrorContext(c.Request().Context(), "request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Code, body.Error.Message = ae.Code, ae.Message
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(ae.Status)
		return
	}
	_ = c.JSON(ae.Status, body)
}

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "body_too_large"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}
