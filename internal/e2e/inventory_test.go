package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// inventoryPage is the answer of GET /api/v1/fabrics/{fabric}/resources.
type inventoryPage struct {
	tasks.Inventory
	Total, Matched, Page int
	PerPage              int `json:"per_page"`
}

// wiringFile is a real Hedgehog lab wiring file when the shared test data is there, else the
// repository's small one.
func wiringFile(t *testing.T) string {
	if d := sharedDir(t, "hedgehog"); d != "" {
		b, err := os.ReadFile(filepath.Join(d, "lab-ci_env-ci-1_wiring.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return readTestdata(t, "wiring.yaml")
}

// kindsOf counts the documents of a multi-document YAML file by kind, and lists the names of
// its Switches.
func kindsOf(t *testing.T, src string) (map[string]int, []string) {
	counts, switches := map[string]int{}, []string(nil)
	dec := yaml.NewDecoder(strings.NewReader(src))
	for {
		var d struct {
			Kind     string
			Metadata struct{ Name string }
		}
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.Kind != "" {
			counts[d.Kind]++
		}
		if d.Kind == "Switch" {
			switches = append(switches, d.Metadata.Name)
		}
	}
	return counts, switches
}

// TestInventoryAPI syncs a real wiring file and reads the fabric back through the API: the
// inventory (counts by kind, every resource with its file and the job that wrote it, filters
// and pages), each file's bytes as pushed, the topology picture with a node per switch, and the
// job's changes, whose sha256s are the inventory's.
func TestInventoryAPI(t *testing.T) {
	wiring := wiringFile(t)
	wantCounts, switches := kindsOf(t, wiring)
	gs := gittest.NewServer(t)
	repo := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/wiring.yaml": wiring})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab, drift: report}\n", repo), options{})

	// Before the first sync: an empty inventory, no picture.
	var page inventoryPage
	r := sys.do("GET", "/api/v1/fabrics/fab/resources", "")
	r.decode(t, &page)
	if r.status != 200 || page.Commit != "" || page.UpdatedAt != nil || len(page.Resources) != 0 || page.Total != 0 {
		t.Fatalf("inventory before a sync = %d %s; want an empty one", r.status, r.body)
	}
	if r := sys.do("GET", "/api/v1/fabrics/fab/topology.svg", ""); r.status != 404 || !bytes.Contains(r.body, []byte("no_topology")) {
		t.Fatalf("topology before a sync = %d %s; want 404 no_topology", r.status, r.body)
	}

	j, _ := sys.trigger("fab")
	j = sys.wait(j.ID)
	if j.State != tasks.StateSucceeded {
		t.Fatalf("job = %s (%s); want succeeded", j.State, j.Reason)
	}
	total := 0
	for _, n := range wantCounts {
		total += n
	}
	r = sys.do("GET", "/api/v1/fabrics/fab/resources?per_page=500", "")
	page = inventoryPage{}
	r.decode(t, &page)
	if r.status != 200 || page.Commit != j.Ingest.Commit || page.JobID != j.ID || page.Total != total || len(page.Resources) != min(total, 500) {
		t.Fatalf("inventory = %d, commit %s by %s, %d of %d resources; want commit %s by %s, %d resources",
			r.status, page.Commit, page.JobID, len(page.Resources), page.Total, j.Ingest.Commit, j.ID, total)
	}
	for k, n := range wantCounts {
		if page.Counts[k] != n {
			t.Errorf("counts[%s] = %d; want %d (counts %v)", k, page.Counts[k], n, page.Counts)
		}
	}
	sums := map[string]string{}
	for i, res := range page.Resources {
		if res.JobID != j.ID || !strings.HasPrefix(res.Path, "managed/") || len(res.SHA256) != 64 {
			t.Errorf("resource %+v; want a managed/ file written by %s with its sha256", res, j.ID)
		}
		if i > 0 && res.Kind < page.Resources[i-1].Kind {
			t.Errorf("resources not sorted by kind: %s after %s", res.Kind, page.Resources[i-1].Kind)
		}
		sums[res.Path] = res.SHA256
	}

	// Filters and pages.
	r = sys.do("GET", "/api/v1/fabrics/fab/resources?kind=Switch", "")
	page = inventoryPage{}
	r.decode(t, &page)
	if page.Matched != len(switches) || len(page.Resources) != min(len(switches), 50) || page.Total != total {
		t.Errorf("kind=Switch: matched %d of %d; want %d", page.Matched, page.Total, len(switches))
	}
	var swPath string
	for _, res := range page.Resources {
		if res.Kind != "Switch" {
			t.Errorf("kind=Switch lists a %s", res.Kind)
		}
		if res.Name == switches[0] {
			swPath = res.Path
		}
	}
	r = sys.do("GET", "/api/v1/fabrics/fab/resources?q="+url.QueryEscape(strings.ToUpper(switches[0])), "")
	page = inventoryPage{}
	r.decode(t, &page)
	if page.Matched == 0 || !slices.ContainsFunc(page.Resources, func(res tasks.Resource) bool { return res.Name == switches[0] }) {
		t.Errorf("q=%s (any case) does not find the switch: %s", switches[0], r.body)
	}
	if total >= 4 {
		r = sys.do("GET", "/api/v1/fabrics/fab/resources?per_page=2&page=2", "")
		page = inventoryPage{}
		r.decode(t, &page)
		if len(page.Resources) != 2 || page.Page != 2 || page.PerPage != 2 {
			t.Errorf("page 2 of 2 = %s", r.body)
		}
	}
	for _, bad := range []string{"page=0", "per_page=501", "page=x"} {
		if r := sys.do("GET", "/api/v1/fabrics/fab/resources?"+bad, ""); r.status != 400 {
			t.Errorf("resources?%s = %d %s; want 400", bad, r.status, r.body)
		}
	}
	if r := sys.do("GET", "/api/v1/fabrics/nope/resources", ""); r.status != 404 || !bytes.Contains(r.body, []byte("fabric_not_found")) {
		t.Errorf("unknown fabric = %d %s; want 404", r.status, r.body)
	}

	// A file, as pushed.
	var file struct {
		Path, SHA256, Commit, Content string
		Current                       bool
	}
	r = sys.do("GET", "/api/v1/fabrics/fab/file?path="+url.QueryEscape(swPath), "")
	r.decode(t, &file)
	pushed := gittest.Git(t, gs.RepoDir("gitops"), "show", j.Ingest.Commit+":fab/"+swPath) + "\n"
	if r.status != 200 || file.Content != pushed || !file.Current || file.SHA256 != sums[swPath] || file.Commit != j.Ingest.Commit {
		t.Errorf("file %s = %d %s\nwant the pushed bytes:\n%s", swPath, r.status, r.body, pushed)
	}
	for _, q := range []string{"path=managed/nope.yaml", "path=" + url.QueryEscape(swPath) + "&sha256=" + strings.Repeat("0", 64)} {
		if r := sys.do("GET", "/api/v1/fabrics/fab/file?"+q, ""); r.status != 404 || !bytes.Contains(r.body, []byte("file_not_found")) {
			t.Errorf("file?%s = %d %s; want 404 file_not_found", q, r.status, r.body)
		}
	}
	if r := sys.do("GET", "/api/v1/fabrics/fab/file", ""); r.status != 400 {
		t.Errorf("file without path = %d; want 400", r.status)
	}

	// The picture: a node per switch.
	r = sys.do("GET", "/api/v1/fabrics/fab/topology.svg?width=1200", "")
	if r.status != 200 || r.header.Get("Content-Type") != "image/svg+xml" || !bytes.Contains(r.body, []byte("<svg xmlns=")) {
		t.Fatalf("topology = %d %s %.200s", r.status, r.header.Get("Content-Type"), r.body)
	}
	for _, sw := range switches {
		if !bytes.Contains(r.body, []byte(`id="node-`+sw+`"`)) {
			t.Errorf("topology has no node for switch %s", sw)
		}
	}
	// The UI inlines the picture under a policy that drops its <style>: web/dist/style.css
	// carries each of its rules, scoped to .topology.
	css, err := os.ReadFile(filepath.Join("..", "..", "web", "dist", "style.css"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := bytes.Cut(r.body, []byte("<style>"))
	rules, _, _ := bytes.Cut(rest, []byte("</style>"))
	for _, rule := range strings.Split(strings.TrimSpace(string(rules)), "\n") {
		if rule != "" && !bytes.Contains(css, []byte(".topology "+rule)) {
			t.Errorf("web/dist/style.css lacks the topology rule %q as .topology %s", rule, rule)
		}
	}

	// The job's changes: every resource file created, with the inventory's sha256.
	if j.Changes == nil || j.Changes.Created != total || len(j.Changes.Files) != min(total, 1000) {
		t.Fatalf("job changes = %+v; want %d created files", j.Changes, total)
	}
	for _, f := range j.Changes.Files {
		if f.Action != "created" || f.SHA256 != sums[f.Path] {
			t.Errorf("change %s %s sha256 %s; want created with the inventory's %s", f.Action, f.Path, f.SHA256, sums[f.Path])
		}
	}

	// A hand edit of the switch's file is a drift warning of the next job, marked on its node.
	gittest.Commit(t, repo, map[string]string{"fab/" + swPath: pushed + "# edited by hand\n"}, "hand edit")
	j2, _ := sys.trigger("fab")
	if j2 = sys.wait(j2.ID); j2.State != tasks.StateSucceeded || len(j2.Ingest.Problems) == 0 {
		t.Fatalf("job after a hand edit = %s with problems %+v; want succeeded with a drift warning", j2.State, j2.Ingest.Problems)
	}
	r = sys.do("GET", "/api/v1/fabrics/fab/topology.svg", "")
	i := bytes.Index(r.body, []byte(`id="node-`+switches[0]+`"`))
	if i < 0 || !bytes.Contains(r.body[i:i+bytes.IndexByte(r.body[i:], '>')], []byte(" problem")) {
		t.Errorf("topology after the drift warning: node %s is not marked with a problem", switches[0])
	}
}

// BenchmarkTopologyLarge measures GET /api/v1/fabrics/{fabric}/topology.svg, as a browser
// calls it, for the generated fabric of 2 spines, 32 leaves and 500 servers synced through the
// whole system (target: under 200 ms). cold draws anew each time (each call asks for another
// width): it reads the inventory and the documents from Redis, parses them, lays the fabric out
// and draws it; cached is a page polling the picture, answered from the API's last drawings.
func BenchmarkTopologyLarge(b *testing.B) {
	gs := gittest.NewServer(b)
	repo := gs.NewRepo(b, "gitops", map[string]string{"fab/raw/wiring.yaml": string(benchdata.Fabric(2, 16, 500))})
	sys := start(b, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", repo), options{})
	j, _ := sys.trigger("fab")
	if j = sys.wait(j.ID); j.State != tasks.StateSucceeded {
		b.Fatalf("sync of the large fabric = %s (%s)", j.State, j.Reason)
	}
	get := func(b *testing.B, width int) int {
		r := sys.do("GET", fmt.Sprintf("/api/v1/fabrics/fab/topology.svg?width=%d", width), "")
		if r.status != 200 {
			b.Fatalf("topology = %d %s", r.status, r.body)
		}
		return len(r.body)
	}
	b.Run("cold", func(b *testing.B) {
		width, size := 1800, 0
		for b.Loop() {
			width++
			size = get(b, width)
		}
		b.ReportMetric(float64(size), "bytes/svg")
	})
	b.Run("cached", func(b *testing.B) {
		get(b, 1800)
		for b.Loop() {
			get(b, 1800)
		}
	})
}
