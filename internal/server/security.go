package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// uiPolicy is the Content-Security-Policy of the UI, and of every other response that is not
// the dashboard's: this server's own files only, no inline script or style, no frames. The
// favicon of index.html is a data: URL (so that browsers ask for no /favicon.ico).
const uiPolicy = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// monitoringPolicy returns the Content-Security-Policy of Asynqmon's pages (served by mon
// under monitoringPath). Asynqmon's page has two inline scripts (its settings and webpack's
// loader): they are allowed by their hashes, read from the page mon serves, so that no other
// inline script runs. Its styles are injected at run time (Material-UI), which needs
// 'unsafe-inline' for styles, and it loads the Roboto and Material Icons fonts from Google.
func monitoringPolicy(mon http.Handler) string {
	w := &pageWriter{header: http.Header{}}
	mon.ServeHTTP(w, &http.Request{Method: http.MethodGet, URL: &url.URL{Path: monitoringPath + "/"}, Header: http.Header{}})
	scripts := "'self'"
	for _, h := range inlineScriptHashes(w.body.String()) {
		scripts += " " + h
	}
	return "default-src 'self'; script-src " + scripts + "; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; " +
		"font-src 'self' https://fonts.gstatic.com; img-src 'self' data:; connect-src 'self'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
}

// pageWriter keeps a page that a handler writes, for monitoringPolicy.
type pageWriter struct {
	header http.Header
	body   bytes.Buffer
}

func (w *pageWriter) Header() http.Header         { return w.header }
func (w *pageWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *pageWriter) WriteHeader(int)             {}

// inlineScriptHashes returns the CSP source ('sha256-…') of each inline <script> of page.
func inlineScriptHashes(page string) []string {
	var out []string
	for {
		i := strings.Index(page, "<script")
		if i < 0 {
			return out
		}
		page = page[i+len("<script"):]
		end := strings.IndexByte(page, '>')
		if end < 0 {
			return out
		}
		attrs := page[:end]
		page = page[end+1:]
		close := strings.Index(page, "</script>")
		if close < 0 {
			return out
		}
		if !strings.Contains(attrs, "src=") {
			sum := sha256.Sum256([]byte(page[:close]))
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		page = page[close:]
	}
}

// securityHeaders sets on every response the headers that keep pages out of other sites'
// frames, stop MIME sniffing and keep URLs out of Referer headers, with the UI's
// Content-Security-Policy, or monitoring's under monitoringPath.
func securityHeaders(monitoring string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			p := c.Request().URL.Path
			if monitoring != "" && (p == monitoringPath || strings.HasPrefix(p, monitoringPath+"/")) {
				h.Set("Content-Security-Policy", monitoring)
			} else {
				h.Set("Content-Security-Policy", uiPolicy)
			}
			return next(c)
		}
	}
}

// tokenCookie lets a browser reach /monitoring/ after the UI was given the token: page
// navigation cannot send an Authorization header.
const tokenCookie = "fabsync-token"

// requireToken guards a route with a bearer token (constant-time compare). With cookie, the
// UI's token cookie is accepted too (only for pages a browser navigates to: the JSON API wants
// the header, so a cookie can never trigger a sync).
//
// A browser sends a cookie along whichever site's page made the request, so a request that
// changes state (any method but GET, HEAD and OPTIONS) and that only the cookie authorizes
// must prove it comes from this server's own pages (see requestOrigin); else it is refused with
// 403. The Authorization header needs no such proof: another site's page cannot set it.
//
// An empty token leaves the route open; a state-changing request that a browser marks as
// coming from another site is still refused, so that no page elsewhere can change anything
// here through a visitor's browser. Clients that are not browsers send no such marks and are
// let through.
func requireToken(token string, cookie bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			got, header := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if token == "" {
				if !header && changesState(r.Method) && requestOrigin(r) == originOther {
					return errCrossOrigin
				}
				return next(c)
			}
			byCookie := false
			if !header && cookie {
				if ck, err := c.Cookie(tokenCookie); err == nil {
					if v, err := url.QueryUnescape(ck.Value); err == nil {
						got, byCookie = v, true
					}
				}
			}
			if (!header && !byCookie) || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="fabsync"`)
				return &apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid API token is required (Authorization: Bearer <token>)"}
			}
			if byCookie && changesState(r.Method) && requestOrigin(r) != originSame {
				return errCrossOrigin
			}
			return next(c)
		}
	}
}

var errCrossOrigin = &apiError{Status: http.StatusForbidden, Code: "cross_origin",
	Message: "cross-origin request refused: a request that changes state must come from this server's own pages " +
		"(or carry Authorization: Bearer <token>)"}

func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// origin is what a request says about the page that made it.
type origin int

const (
	originUnknown origin = iota // no Sec-Fetch-Site and no Origin: not a browser, or a very old one
	originSame                  // this server's own page
	originOther                 // another site's page, or one that hides where it is from
)

// requestOrigin reads where a request comes from: Sec-Fetch-Site where the browser sends it (every
// current browser does, to https:// and to localhost), else the Origin header, compared with
// the request's Host.
func requestOrigin(r *http.Request) origin {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return originSame
	case "":
	default: // cross-site, same-site, none
		return originOther
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return originUnknown
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || !strings.EqualFold(withoutDefaultPort(u.Scheme, u.Host), withoutDefaultPort(u.Scheme, r.Host)) {
		return originOther // "null" included
	}
	return originSame
}

// withoutDefaultPort drops the port of host when it is scheme's default.
func withoutDefaultPort(scheme, host string) string {
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}
