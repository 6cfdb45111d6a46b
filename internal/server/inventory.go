package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/tasks"
	"github.com/fabsync/fabsync/internal/topology"
)

// The fabric's inventory, its files and its topology picture, as the worker published them at
// the fabric's last successful job (tasks/inventory.go).

// Paging of the resources list.
const (
	defaultPerPage = 50
	maxPerPage     = 500
)

// resourcePage is the answer of GET /api/v1/fabrics/{fabric}/resources.
type resourcePage struct {
	*tasks.Inventory
	Total   int `json:"total"`   // resources in the inventory
	Matched int `json:"matched"` // resources the filters match
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// listResources answers one page of the fabric's inventory, filtered by kind (exact) and q (a
// case-insensitive substring of kind, name, namespace or file).
func (s *server) listResources(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	page, err := intParam(c, "page", 1, 1, 1<<30)
	if err != nil {
		return err
	}
	perPage, err := intParam(c, "per_page", defaultPerPage, 1, maxPerPage)
	if err != nil {
		return err
	}
	inv, err := s.svc.Inventory(c.Request().Context(), f.Name)
	if err != nil {
		return err
	}
	kind, q := c.QueryParam("kind"), strings.ToLower(c.QueryParam("q"))
	out := resourcePage{Inventory: inv, Total: len(inv.Resources), Page: page, PerPage: perPage}
	matched := make([]tasks.Resource, 0, len(inv.Resources))
	for _, r := range inv.Resources {
		if (kind == "" || r.Kind == kind) && (q == "" || matches(r, q)) {
			matched = append(matched, r)
		}
	}
	out.Matched = len(matched)
	from := min((page-1)*perPage, len(matched))
	to := min(from+perPage, len(matched))
	page1 := *inv
	page1.Resources = matched[from:to]
	out.Inventory = &page1
	return c.JSON(http.StatusOK, out)
}

// matches reports whether q (lower case) is in r's kind, name, namespace or path.
func matches(r tasks.Resource, q string) bool {
	for _, s := range []string{r.Kind, r.Name, r.Namespace, r.Path} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// intParam reads the query parameter name as a whole number from lo to hi, def when absent.
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, &apiError{http.StatusBadRequest, "bad_request", name + " must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)}
	}
	return n, nil
}

// fileBody is the answer of GET /api/v1/fabrics/{fabric}/file.
type fileBody struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Current bool   `json:"current"` // the version of the inventory's commit
	Commit  string `json:"commit"`  // the inventory's commit
	Content string `json:"content"`
}

// getFile answers a resource file of the inventory: as it is at the inventory's commit, or the
// version with the given sha256 (one a recent job wrote).
func (s *server) getFile(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	path, sum := c.QueryParam("path"), strings.ToLower(c.QueryParam("sha256"))
	if path == "" {
		return &apiError{http.StatusBadRequest, "bad_request", "path is required: a resource file of the fabric, such as managed/switches/leaf-01.yaml"}
	}
	inv, err := s.svc.Inventory(ctx, f.Name)
	if err != nil {
		return err
	}
	out := fileBody{Path: path, SHA256: sum, Commit: inv.Commit}
	for _, r := range inv.Resources {
		if r.Path == path {
			if out.SHA256 == "" {
				out.SHA256 = r.SHA256
			}
			out.Current = out.SHA256 == r.SHA256
			break
		}
	}
	if out.SHA256 == "" {
		return &apiError{http.StatusNotFound, "file_not_found", "the fabric's inventory has no file " + strconv.Quote(path)}
	}
	got, err := s.svc.Contents(ctx, f.Name, []string{out.SHA256})
	if err != nil {
		return err
	}
	if got[0] == nil {
		msg := "that version of " + path + " is no longer kept; open the file without sha256 for the current one"
		if out.Current {
			msg = path + " is listed without its content (the fabric's files are over the store's budget); read it in git at commit " + inv.Commit
		}
		return &apiError{http.StatusNotFound, "file_not_found", msg}
	}
	out.Content = string(got[0])
	return c.JSON(http.StatusOK, out)
}

// drawnKinds are the kinds the topology picture is drawn from.
var drawnKinds = []string{"Switch", "Server", "Connection", "Gateway"}

// getTopology draws the fabric's wiring (package topology) from the inventory's Switches,
// Servers, Gateways and Connections, with the problems of the fabric's last finished job
// marked on the nodes and links they are about.
func (s *server) getTopology(c echo.Context) error {
	f, err := s.fabric(c)
	if err != nil {
		return err
	}
	width, err := intParam(c, "width", 0, 320, 10000)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	inv, err := s.svc.Inventory(ctx, f.Name)
	if err != nil {
		return err
	}
	problems, err := s.lastProblems(c, f.Name, inv)
	if err != nil {
		return err
	}
	key := topologyKey(f.Name, inv.Commit, width, problems)
	if svg, ok := s.topo.get(key); ok {
		return sendSVG(c, svg)
	}
	var sums []string
	for _, r := range inv.Resources {
		if slices.Contains(drawnKinds, r.Kind) {
			sums = append(sums, r.SHA256)
		}
	}
	if inv.Commit == "" || len(sums) == 0 {
		return &apiError{http.StatusNotFound, "no_topology", "fabric " + strconv.Quote(f.Name) + " has no switches, servers or connections to draw" + neverSynced(inv)}
	}
	contents, err := s.svc.Contents(ctx, f.Name, sums)
	if err != nil {
		return err
	}
	rs := make([]topology.Resource, 0, len(contents))
	for _, b := range contents {
		var doc yaml.Node
		if b == nil || yaml.Unmarshal(b, &doc) != nil {
			continue // not kept, or not YAML (edited by hand): left out of the picture
		}
		rs = append(rs, topology.Resource{Root: &doc})
	}
	g, err := topology.Build(rs)
	if err != nil {
		return &apiError{http.StatusNotFound, "no_topology", "fabric " + strconv.Quote(f.Name) + " has no switches, servers or connections to draw"}
	}
	svg := g.SVG(topology.Options{MaxWidth: width, Problems: problems})
	s.topo.put(key, svg)
	return sendSVG(c, svg)
}

func sendSVG(c echo.Context, svg []byte) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "image/svg+xml", svg)
}

// topologyKey names a drawing: the same fabric, commit, width and problems draw the same.
func topologyKey(fabric, commit string, width int, problems map[string]int) string {
	names := make([]string, 0, len(problems))
	for n := range problems {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(fabric + "\x00" + commit + "\x00" + strconv.Itoa(width))
	for _, n := range names {
		b.WriteString("\x00" + n + "=" + strconv.Itoa(problems[n]))
	}
	return b.String()
}

// svgCache keeps the last drawings, so that a page that polls the picture of a large fabric
// does not parse and lay out its documents each time. Drawings are keyed by what they are drawn
// from (topologyKey), so an entry is never stale; the oldest goes first.
type svgCache struct {
	mu    sync.Mutex
	keys  []string
	byKey map[string][]byte
}

// svgCacheSize bounds the drawings kept (each is up to a few hundred KiB).
const svgCacheSize = 16

func (c *svgCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.byKey[key]
	return b, ok
}

func (c *svgCache) put(key string, svg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string][]byte{}
	}
	if _, ok := c.byKey[key]; ok {
		return
	}
	if len(c.keys) == svgCacheSize {
		delete(c.byKey, c.keys[0])
		c.keys = c.keys[1:]
	}
	c.keys = append(c.keys, key)
	c.byKey[key] = svg
}

// neverSynced explains an empty inventory.
func neverSynced(inv *tasks.Inventory) string {
	if inv.Commit == "" {
		return " (it has not been synced yet)"
	}
	return ""
}

// lastProblems counts the problems of the fabric's last finished job per device or connection
// name: those in a raw document name its resource; those in a resource file, the file's.
func (s *server) lastProblems(c echo.Context, fabric string, inv *tasks.Inventory) (map[string]int, error) {
	jobs, err := s.svc.List(c.Request().Context(), fabric, 5)
	if err != nil {
		return nil, err
	}
	byPath := make(map[string]tasks.Resource, len(inv.Resources))
	for _, r := range inv.Resources {
		byPath[r.Path] = r
	}
	out := map[string]int{}
	for _, j := range jobs {
		if !j.State.Terminal() || j.DryRun {
			continue
		}
		for _, p := range j.Ingest.Problems {
			kind, name := p.Kind, p.Name
			if r, ok := byPath[p.File]; ok && name == "" {
				kind, name = r.Kind, r.Name
			}
			if name != "" && slices.Contains(drawnKinds, kind) {
				out[name]++
			}
		}
		break
	}
	return out, nil
}
