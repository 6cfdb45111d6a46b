package e2e_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// The tests of this file drive the views of a fabric that show what its repository holds: the
// inventory of its resources, the drawing of its wiring, and what each job changed. They sync a
// real Hedgehog wiring file (hhfab's VLAB wiring from ../shared/testdata/hedgehog, read in place)
// and compare what the page shows with the documents of that file and with the API's answers.

// wiringDoc is one document of a wiring file.
type wiringDoc struct {
	Kind, Name string
}

// hedgehogWiring returns a real wiring file, the shared VLAB wiring (46 documents: switches,
// servers, connections), or this package's small wiring file where the shared data is missing.
func hedgehogWiring(t *testing.T) string {
	t.Helper()
	if d := sharedDir(t, "hedgehog"); d != "" {
		b, err := os.ReadFile(filepath.Join(d, "gitops-test-1_prepop.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return readTestdata(t, "wiring.yaml")
}

// wiringDocs lists the kind and name of each document of a YAML stream.
func wiringDocs(t *testing.T, content string) []wiringDoc {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(content))
	var docs []wiringDoc
	for {
		var d struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("parse the wiring file: %v", err)
		}
		if d.Kind != "" {
			docs = append(docs, wiringDoc{d.Kind, d.Metadata.Name})
		}
	}
}

// namesOf returns the sorted names of the documents of a kind.
func namesOf(docs []wiringDoc, kind string) []string {
	var out []string
	for _, d := range docs {
		if d.Kind == kind {
			out = append(out, d.Name)
		}
	}
	slices.Sort(out)
	return out
}

// inventoryAnswer is GET /api/v1/fabrics/{fabric}/resources.
type inventoryAnswer struct {
	Fabric    string         `json:"fabric"`
	Commit    string         `json:"commit"`
	JobID     string         `json:"job_id"`
	Counts    map[string]int `json:"counts"`
	Total     int            `json:"total"`
	Matched   int            `json:"matched"`
	Resources []struct {
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Path      string `json:"path"`
		JobID     string `json:"job_id"`
		SHA256    string `json:"sha256"`
	} `json:"resources"`
}

// fileAnswer is GET /api/v1/fabrics/{fabric}/file.
type fileAnswer struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Current bool   `json:"current"`
	Content string `json:"content"`
}

// changesJob is the part of a job the changes test reads that tasks.Job may not have yet.
type changesJob struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Changes *struct {
		Files []struct {
			Path   string `json:"path"`
			Action string `json:"action"`
			Diff   string `json:"diff"`
			SHA256 string `json:"sha256"`
		} `json:"files"`
		Summary string `json:"summary"`
		Created int    `json:"created"`
		Updated int    `json:"updated"`
		Deleted int    `json:"deleted"`
	} `json:"changes"`
}

// apiGet GETs path and decodes its answer into v; a route still missing on the server fails
// the test saying so.
func apiGet(t *testing.T, sys *system, path string, v any) {
	t.Helper()
	r := sys.do("GET", path, "")
	if r.status != 200 {
		t.Fatalf("GET %s = %d %s: the server side of the inventory, topology and changes issue is missing or broken", path, r.status, r.body)
	}
	if v != nil {
		r.decode(t, v)
	}
}

// syncedFabric starts fabsync with two fabrics of one repository: fab, whose raw/ holds the
// wiring, synced once through the API, and lab, never synced.
func syncedFabric(t *testing.T, wiring string) (*system, tasks.Job, string) {
	t.Helper()
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/wiring.yaml": wiring, "lab/raw/.gitkeep": ""})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n  - {name: lab, repo: %q, path: lab}\n", url, url), options{})
	j, _ := sys.trigger("fab")
	j = sys.wait(j.ID)
	if j.State != tasks.StateSucceeded {
		t.Fatalf("sync of the wiring = %s (%s); want succeeded", j.State, j.Reason)
	}
	return sys, j, url
}

// docShot saves a screenshot of the element as a test artifact and, with
// FABSYNC_UPDATE_SCREENSHOT=1, as docs/img/<name>.png.
func docShot(t *testing.T, p *page, sel, name string) {
	t.Helper()
	p.do("show "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	png, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		p.fail("screenshot of "+sel, err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("FABSYNC_UPDATE_SCREENSHOT") != "1" {
		return
	}
	docs := filepath.Join("..", "..", "docs", "img", name+".png")
	if err := os.MkdirAll(filepath.Dir(docs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docs, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", docs)
}

// poll waits until the JavaScript expression is true.
func poll(p *page, what, expr string) {
	p.t.Helper()
	p.do(what, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(browserTimeout)))
}

// TestInventoryUI syncs a real wiring file and opens the fabric's inventory: the counts by kind
// are the file's, the Switch filter lists exactly its switches with the files they were written
// to and the job that wrote them, a search narrows the list, and a row opens the resource's
// normalized YAML. A fabric never synced says it has no inventory. With
// FABSYNC_UPDATE_SCREENSHOT=1 it writes docs/img/inventory.png.
func TestInventoryUI(t *testing.T) {
	wiring := hedgehogWiring(t)
	docs := wiringDocs(t, wiring)
	sys, j, _ := syncedFabric(t, wiring)
	var all inventoryAnswer
	apiGet(t, sys, "/api/v1/fabrics/fab/resources?per_page=500", &all)

	p := newPage(t, sys)
	p.do("open the inventory",
		chromedp.Click(chromedp.CSS(`#fabric-fab button.view[data-view="inventory"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#inventory tbody tr.res`)),
	)
	if got := p.text("#detail-title"); got != "Inventory of fab" {
		t.Errorf("detail title = %q; want Inventory of fab", got)
	}
	// The counts by kind are those of the wiring file.
	want := map[string]int{}
	for _, d := range docs {
		want[d.Kind]++
	}
	shown := eval[map[string]string](p, `Object.fromEntries([...document.querySelectorAll("#inv-counts button.kind[data-kind]")]
		.filter(b => b.dataset.kind).map(b => [b.dataset.kind, b.querySelector(".n").textContent]))`)
	for kind, n := range want {
		if shown[kind] != strconv.Itoa(n) {
			t.Errorf("count of %s shown = %q; the wiring file has %d (all counts shown: %v)", kind, shown[kind], n, shown)
		}
	}
	if got, n := p.text(`#inv-counts button.kind[data-kind=""] .n`), len(docs); got != strconv.Itoa(n) {
		t.Errorf("All = %s; the wiring file has %d documents", got, n)
	}
	if got := p.text("#inv-head"); !strings.Contains(got, all.Commit[:10]) || !strings.Contains(got, j.ID) {
		t.Errorf("inventory head = %q; want the commit %s and the job %s", got, all.Commit[:10], j.ID)
	}

	// The Switch filter lists the switches of the file, each with its file and last job.
	switches := namesOf(docs, "Switch")
	if len(switches) < 2 {
		t.Fatalf("the wiring file has %d switches; the test wants at least 2", len(switches))
	}
	p.do("filter on Switch", chromedp.Click(chromedp.CSS(`#inv-counts button.kind[data-kind="Switch"]`)))
	poll(p, "wait for the switches", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll("#inventory tbody tr.res")];
		return rows.length === %d && rows.every(r => r.querySelector("td.kind").textContent === "Switch");
	})()`, len(switches)))
	type row struct{ Kind, Name, File, Job string }
	rows := eval[[]row](p, `[...document.querySelectorAll("#inventory tbody tr.res")].map(r => ({
		Kind: r.querySelector("td.kind").textContent, Name: r.querySelector("td.resname").textContent,
		File: r.querySelector("td.file").textContent, Job: r.querySelector("td.lastjob").textContent}))`)
	paths := map[string]string{}
	for _, r := range all.Resources {
		if r.Kind == "Switch" {
			paths[r.Name] = r.Path
		}
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.Name)
		if r.File != paths[r.Name] || !strings.HasPrefix(r.File, "managed/") || !strings.HasSuffix(r.File, r.Name+".yaml") {
			t.Errorf("row %s: file %q; want the API's %q, under managed/, named after the switch", r.Name, r.File, paths[r.Name])
		}
		if r.Job != j.ID {
			t.Errorf("row %s: last job %q; want %s, which wrote it", r.Name, r.Job, j.ID)
		}
	}
	if !slices.Equal(names, switches) {
		t.Errorf("switches listed = %q; the wiring file has %q (sorted by name)", names, switches)
	}
	// No word of the table is broken: its file paths wrap at '/' only.
	if n := eval[int](p, `[...document.querySelectorAll("#inventory *")].filter(e => getComputedStyle(e).wordBreak === "break-all").length`); n != 0 {
		t.Errorf("%d elements of the inventory have word-break: break-all", n)
	}

	// A search narrows the list; a row opens the resource's normalized YAML.
	target := switches[len(switches)-1]
	p.do("search", chromedp.SendKeys(chromedp.CSS("#inv-q"), target))
	poll(p, "wait for the search", fmt.Sprintf(`(() => {
		const rows = [...document.querySelectorAll("#inventory tbody tr.res")];
		return rows.length >= 1 && rows.every(r => r.querySelector("td.resname").textContent.includes(%q));
	})()`, target))
	p.do("open the resource",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#inventory tbody tr.res[data-path=%q] td.kind`, paths[target]))),
		chromedp.WaitVisible(chromedp.CSS("#resource pre.yaml")),
	)
	var f fileAnswer
	apiGet(t, sys, "/api/v1/fabrics/fab/file?path="+paths[target], &f)
	yml := eval[string](p, `document.querySelector("#resource pre.yaml").textContent`)
	if yml != f.Content || !strings.Contains(yml, "kind: Switch") || !strings.Contains(yml, "name: "+target) {
		t.Errorf("YAML shown for %s:\n%s\nwant the API's content:\n%s", target, yml, f.Content)
	}
	if got := p.text("#resource .card-title"); !strings.Contains(got, paths[target]) || !strings.Contains(got, "current") {
		t.Errorf("resource title = %q; want its path and current", got)
	}
	p.do("clear the search",
		chromedp.Evaluate[chromedp.Void](`(i => { i.value = ""; i.dispatchEvent(new Event("input", {bubbles: true})); })(document.getElementById("inv-q"))`),
	)
	poll(p, "wait for all switches", fmt.Sprintf(`document.querySelectorAll("#inventory tbody tr.res").length === %d`, len(switches)))
	docShot(t, p, "#view-inventory", "inventory")

	// A fabric never synced has no inventory, and says so.
	p.do("open lab's inventory",
		chromedp.Click(chromedp.CSS(`#fabric-lab button.view[data-view="inventory"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("inv-head").textContent.includes("has not been synced")`, chromedp.WithPollingTimeout(browserTimeout)),
	)
	if n := eval[int](p, `document.querySelectorAll("#inventory tbody tr.res").length`); n != 0 {
		t.Errorf("lab's inventory lists %d resources; want none", n)
	}
}

// TestTopologyUI syncs a real wiring file and opens the fabric's topology: the server's SVG is
// in the page itself, with a node per switch, and a click on a switch lists its connections,
// those of its <title>, in the side panel. A fabric never synced shows the server's reason.
// With FABSYNC_UPDATE_SCREENSHOT=1 it writes docs/img/topology.png.
func TestTopologyUI(t *testing.T) {
	wiring := hedgehogWiring(t)
	docs := wiringDocs(t, wiring)
	sys, _, _ := syncedFabric(t, wiring)
	apiGet(t, sys, "/api/v1/fabrics/fab/topology.svg?width=1200", nil)

	p := newPage(t, sys)
	p.do("open the topology",
		chromedp.Click(chromedp.CSS(`#fabric-fab button.view[data-view="topology"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#topology svg g.node`)),
	)
	switches := namesOf(docs, "Switch")
	got := eval[[]string](p, `[...document.querySelectorAll("#topology svg g.node.switch")].map(g => g.id).sort()`)
	var want []string
	for _, s := range switches {
		want = append(want, "node-"+s) // the names of the file need no escaping
	}
	if !slices.Equal(got, want) {
		t.Errorf("switch nodes = %q; want one per switch of the file: %q", got, want)
	}
	if n, m := eval[int](p, `document.querySelectorAll("#topology svg g.node.server").length`), len(namesOf(docs, "Server")); n != m {
		t.Errorf("%d server nodes; the file has %d servers", n, m)
	}
	// Inline, not an <img>: the nodes are elements of the page. Its <style> is dropped (the CSP
	// refuses it; newPage fails the test on a violation) and style.css styles the drawing.
	if n := eval[int](p, `document.querySelectorAll("#topology img, #topology style, #topology script").length`); n != 0 {
		t.Errorf("the topology holds %d img, style or script elements; want an inline SVG without them", n)
	}
	if fill := eval[string](p, `getComputedStyle(document.querySelector("#topology g.node.spine rect, #topology g.node.switch rect")).fill`); fill == "rgb(0, 0, 0)" || fill == "" {
		t.Errorf("a switch box is filled %q; want the drawing's stylesheet applied", fill)
	}

	// What the page inserts is only drawing: a script, an event handler, a link or a style in
	// the SVG would be dropped before it reaches the page.
	if got := eval[string](p, `(() => {
		const svg = cleanSVG('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">' +
			'<style>.node{fill:red}</style><script>window.__svgxss = 1</script>' +
			'<g id="node-x" class="node switch" onclick="window.__svgxss = 1" style="fill:red"><title>x</title>' +
			'<a href="javascript:window.__svgxss = 1"><text>t</text></a><use xlink:href="#node-x"/><rect width="1" height="1"/></g></svg>');
		const box = document.createElement("div");
		box.appendChild(svg);
		document.body.appendChild(box);
		const g = box.querySelector("g.node");
		g.dispatchEvent(new MouseEvent("click", {bubbles: true}));
		const out = box.innerHTML;
		box.remove();
		return (window.__svgxss === 1 ? "ran " : "") + out;
	})()`); strings.Contains(got, "ran ") || strings.Contains(got, "script") || strings.Contains(got, "onclick") ||
		strings.Contains(got, "style") || strings.Contains(got, "href") || !strings.Contains(got, "<rect") {
		t.Errorf("cleanSVG of a hostile drawing gave %s; want its rect only, nothing that runs, links or styles", got)
	}

	// A click on a switch lists its connections.
	name := switches[0]
	var conns []string
	for _, d := range docs {
		if d.Kind == "Connection" && strings.Contains(d.Name, name) {
			conns = append(conns, d.Name)
		}
	}
	p.do("click the switch",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#node-%s rect`, name))),
		chromedp.WaitVisible(chromedp.CSS("#topo-panel .node-name")),
	)
	if got := p.text("#topo-panel .node-name"); got != name {
		t.Errorf("panel shows %q; want the clicked switch %s", got, name)
	}
	title := eval[string](p, fmt.Sprintf(`document.querySelector("#node-%s > title").textContent`, name))
	panel := p.text("#topo-panel")
	items := eval[int](p, `document.querySelectorAll("#topo-panel ul.node-conns li").length`)
	listed := 0
	for l := range strings.SplitSeq(title, "\n") {
		if strings.Contains(l, " → ") || strings.Contains(l, " ↔ ") {
			listed++
			conn, _, _ := strings.Cut(l, " (")
			if !strings.Contains(panel, conn) {
				t.Errorf("panel lacks the connection %q of the node's title", conn)
			}
		}
	}
	if items != listed || listed == 0 {
		t.Errorf("panel lists %d connections; the node's title %d (title:\n%s)", items, listed, title)
	}
	for _, c := range conns {
		if !strings.Contains(title, c) {
			continue // a connection of another switch whose name contains this one's
		}
		if !strings.Contains(panel, c) {
			t.Errorf("panel lacks the connection %s of the wiring file", c)
		}
	}
	if eval[int](p, `document.querySelectorAll("#topology g.node.selected").length`) != 1 {
		t.Error("the clicked node is not marked selected")
	}
	// A node can be reached with the keyboard too: Enter on a focused node selects it.
	other := switches[len(switches)-1]
	p.do("select a switch with the keyboard",
		chromedp.Focus(chromedp.CSS("#node-"+other)),
		chromedp.KeyEvent("\r"),
		chromedp.Poll[chromedp.Void](`document.querySelector("#topo-panel .node-name").textContent === `+strconv.Quote(other), chromedp.WithPollingTimeout(browserTimeout)),
	)
	p.do("select the first switch again", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#node-%s rect`, name))))
	p.do("scroll to the top of the drawing", chromedp.Evaluate[chromedp.Void](`document.getElementById("topology").scrollTo(0, 0)`))
	docShot(t, p, "#view-topology", "topology")

	// A fabric never synced has nothing to draw: the server's message is shown.
	r := sys.do("GET", "/api/v1/fabrics/lab/topology.svg", "")
	var e errorAnswer
	r.decode(t, &e)
	if r.status != 404 || e.Error.Code != "no_topology" {
		t.Fatalf("GET lab's topology = %d %s; want 404 no_topology", r.status, r.body)
	}
	p.do("open lab's topology",
		chromedp.Click(chromedp.CSS(`#fabric-lab button.view[data-view="topology"]`)),
		chromedp.WaitVisible(chromedp.CSS("#topo-panel .no-topology")),
	)
	if got := p.text("#topo-panel .no-topology"); got != e.Error.Message {
		t.Errorf("lab's topology says %q; want the server's %q", got, e.Error.Message)
	}
	if n := eval[int](p, `document.querySelectorAll("#topology svg").length`); n != 0 {
		t.Errorf("lab's topology shows %d drawings; want none", n)
	}
}

type errorAnswer struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// leaf09 is a switch added by the second commit of TestChangesUI.
const leaf09 = `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-09
spec:
  boot:
    mac: 0c:20:12:ff:09:00
  description: VS-09
  profile: vs
  role: server-leaf
`

// TestChangesUI syncs a wiring file, then a commit that adds a switch and changes a server, and
// opens the second job: it lists the files it created and updated with their diffs, and the
// created file opens, at the version the job wrote, in the inventory with the job's diff. With
// FABSYNC_UPDATE_SCREENSHOT=1 it writes docs/img/changes.png.
func TestChangesUI(t *testing.T) {
	wiring := hedgehogWiring(t)
	docs := wiringDocs(t, wiring)
	servers := namesOf(docs, "Server")
	if len(servers) == 0 {
		t.Fatal("the wiring file has no server")
	}
	sys, first, url := syncedFabric(t, wiring)
	server := "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: " + servers[0] +
		"\nspec:\n  description: changed by TestChangesUI\n"
	gittest.Commit(t, url, map[string]string{"fab/raw/more.yaml": leaf09 + "---\n" + server}, "add leaf-09, describe "+servers[0])

	p := newPage(t, sys)
	p.do("sync and wait for the result",
		chromedp.Click(chromedp.CSS("#sync-fab"), chromedp.NodeEnabled),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(c => c && c.dataset.job !== %q && c.dataset.state === "succeeded" && c.querySelector(".result"))(document.querySelector("#job-fab .card"))`, first.ID),
			chromedp.WithPollingTimeout(browserTimeout)),
	)
	id := eval[string](p, `document.querySelector("#job-fab .card").dataset.job`)
	var j changesJob
	apiGet(t, sys, "/api/v1/jobs/"+id, &j)
	if j.Changes == nil {
		t.Fatalf("job %s changed files but has no changes: the server side of the changes issue is missing", id)
	}
	if j.Changes.Created != 1 || j.Changes.Updated != 1 || len(j.Changes.Files) != 2 {
		t.Fatalf("changes = %+v; want leaf-09 created and %s updated", *j.Changes, servers[0])
	}
	var created, updated string
	for _, f := range j.Changes.Files {
		switch f.Action {
		case "created":
			created = f.Path
		case "updated":
			updated = f.Path
		}
	}
	if !strings.HasSuffix(created, "leaf-09.yaml") || !strings.HasSuffix(updated, servers[0]+".yaml") {
		t.Fatalf("changed files = %+v; want leaf-09 created and %s updated", j.Changes.Files, servers[0])
	}

	p.do("open the job's changes from its card",
		chromedp.Click(chromedp.CSS(`#job-fab .changes-link button.showjob`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#jobdetail .changes li.plan-file`)),
	)
	if got := p.text("#jobdetail .changes-counts"); !strings.Contains(got, "1 created") || !strings.Contains(got, "1 updated") || !strings.Contains(got, "0 deleted") {
		t.Errorf("counts = %q; want 1 created, 1 updated, 0 deleted", got)
	}
	if j.Changes.Summary != "" {
		if got := p.text("#jobdetail .changes-summary"); got != j.Changes.Summary {
			t.Errorf("summary = %q; want the job's %q", got, j.Changes.Summary)
		}
	}
	for _, f := range j.Changes.Files {
		item := fmt.Sprintf(`#jobdetail .changes li.plan-file[data-path=%q]`, f.Path)
		if got := p.text(item + " .act"); got != f.Action {
			t.Errorf("%s: badge %q; want %s", f.Path, got, f.Action)
		}
		var added []string
		for l := range strings.SplitSeq(f.Diff, "\n") {
			if strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++ ") {
				added = append(added, l)
			}
		}
		if shown := eval[[]string](p, `[...document.querySelectorAll(`+strconv.Quote(item+" pre.diff span.add")+`)].map(s => s.textContent)`); !slices.Equal(shown, added) {
			t.Errorf("%s: added lines shown %q; the diff has %q", f.Path, shown, added)
		}
		if got := eval[string](p, `(b => b ? b.dataset.sha : "")(document.querySelector(`+strconv.Quote(item+" button.openfile")+`))`); got != f.SHA256 {
			t.Errorf("%s: link to version %q; want the job's sha256 %q", f.Path, got, f.SHA256)
		}
	}
	if got := p.text(fmt.Sprintf(`#history tr[data-job=%q] td.jobchanges`, id)); got != "1 created 1 updated" {
		t.Errorf("history row's changes = %q; want 1 created 1 updated", got)
	}
	docShot(t, p, "#jobdetail", "changes")

	// The created file opens in the inventory, at the version the job wrote, with its diff.
	p.do("open the created file",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#jobdetail li.plan-file[data-path=%q] button.openfile`, created))),
		chromedp.WaitVisible(chromedp.CSS("#resource pre.yaml")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#inventory tbody tr.res[data-path=%q]`, created))),
	)
	if got := p.text("#detail-title"); got != "Inventory of fab" {
		t.Errorf("detail = %q; want the inventory of fab", got)
	}
	var sha string
	for _, f := range j.Changes.Files {
		if f.Path == created {
			sha = f.SHA256
		}
	}
	var f fileAnswer
	apiGet(t, sys, "/api/v1/fabrics/fab/file?path="+created+"&sha256="+sha, &f)
	if got := eval[string](p, `document.querySelector("#resource pre.yaml").textContent`); got != f.Content || !strings.Contains(got, "name: leaf-09") {
		t.Errorf("file shown:\n%s\nwant the version of the job:\n%s", got, f.Content)
	}
	if n := eval[int](p, `document.querySelectorAll("#resource .res-diff pre.diff span.add").length`); n == 0 {
		t.Error("the file opened from the job shows no diff")
	}
	if got := p.text(fmt.Sprintf(`#inventory tbody tr.res[data-path=%q] td.lastjob`, created)); got != id {
		t.Errorf("inventory row of %s: last job %q; want %s", created, got, id)
	}
}

// TestLayoutUI checks the layout at a 420 px wide window: the Sync button is in view and can be
// clicked without scrolling sideways, nothing is wider than the window, each fabric has a
// visible History button, and a long repository URL wraps at '/' only; at no width does an
// element break words anywhere (word-break: break-all).
func TestLayoutUI(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "hedgehog-lab-fabric-gitops-main", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: environments/lab-one/fabric, resync: 10m}\n", url), options{workers: -1})
	p := newPage(t, sys)
	p.do("wait for the fabrics", chromedp.WaitVisible(chromedp.CSS("#sync-fab")))
	if n := eval[int](p, `[...document.querySelectorAll("*")].filter(e => getComputedStyle(e).wordBreak === "break-all").length`); n != 0 {
		t.Errorf("%d elements have word-break: break-all at 1280 px", n)
	}
	if n := eval[int](p, `document.querySelectorAll("#fabric-fab td.repo wbr").length`); n != strings.Count(url, "/") {
		t.Errorf("repository cell has %d <wbr>; want one after each of the %d '/' of %s", n, strings.Count(url, "/"), url)
	}

	p.do("narrow the window", chromedp.EmulateViewport(420, 800))
	type box struct{ Left, Right, Top, Bottom, Width, Scroll, Inner float64 }
	b := eval[box](p, `(() => {
		const r = document.getElementById("sync-fab").getBoundingClientRect();
		return {Left: r.left, Right: r.right, Top: r.top, Bottom: r.bottom, Width: r.width,
			Scroll: document.documentElement.scrollWidth, Inner: window.innerWidth};
	})()`)
	if b.Left < 0 || b.Right > 420 || b.Width == 0 || b.Top < 0 || b.Bottom > 800 {
		t.Errorf("Sync button at %+v; want it inside the 420×800 window", b)
	}
	if b.Scroll > b.Inner {
		t.Errorf("the page is %v px wide in a %v px window: it scrolls sideways; too wide: %q", b.Scroll, b.Inner, tooWide(p))
	}
	// What is under the button's centre is the button.
	if !eval[bool](p, `(() => {
		const b = document.getElementById("sync-fab"), r = b.getBoundingClientRect();
		return b.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
	})()`) {
		t.Error("the Sync button is covered at 420 px")
	}
	hist := eval[box](p, `(r => ({Left: r.left, Right: r.right, Width: r.width}))(document.querySelector('#fabric-fab button.view[data-view="history"]').getBoundingClientRect())`)
	if hist.Width == 0 || hist.Left < 0 || hist.Right > 420 {
		t.Errorf("History button at %+v; want it visible in the window", hist)
	}
	if n := eval[int](p, `[...document.querySelectorAll("*")].filter(e => getComputedStyle(e).wordBreak === "break-all").length`); n != 0 {
		t.Errorf("%d elements have word-break: break-all at 420 px", n)
	}
	// The URL wraps, and only after a '/': each character that starts a new line follows one.
	breaks := eval[[]string](p, `(() => {
		const td = document.querySelector("#fabric-fab td.repo"), out = [];
		const chars = [];
		const walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
		for (let n; (n = walk.nextNode());) for (let i = 0; i < n.length; i++) chars.push([n, i]);
		let top = null, prev = "";
		for (const [n, i] of chars) {
			const r = document.createRange();
			r.setStart(n, i); r.setEnd(n, i + 1);
			const t = r.getBoundingClientRect().top;
			if (top !== null && t > top + 2) out.push(prev + "|" + n.data[i]);
			top = t; prev = n.data[i];
		}
		return out;
	})()`)
	if len(breaks) == 0 {
		t.Errorf("the repository URL %s does not wrap at 420 px; the test wants it to", url)
	}
	for _, br := range breaks {
		if !strings.HasPrefix(br, "/|") {
			t.Errorf("the repository URL breaks between %q; want breaks only after '/'", br)
		}
	}
	p.do("click Sync at 420 px",
		chromedp.Click(chromedp.CSS("#sync-fab")),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="queued"]`)),
	)
	p.do("open the history at 420 px",
		chromedp.Click(chromedp.CSS(`#fabric-fab button.view[data-view="history"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#history tbody tr[data-job]`)),
	)
	if w := eval[float64](p, `document.documentElement.scrollWidth`); w > 420 {
		t.Errorf("with the history open the page is %v px wide at 420 px; want its tables to scroll inside it; too wide: %q", w, tooWide(p))
	}
	p.shot("narrow")
}

// tooWide lists the outermost elements that reach past the window's right edge.
func tooWide(p *page) []string {
	return eval[[]string](p, `[...document.querySelectorAll("body *")].filter(e => {
		const right = e.getBoundingClientRect().right + window.scrollX;
		if (right <= window.innerWidth + 0.5) return false;
		for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
			const s = getComputedStyle(a).overflowX;
			if (s === "auto" || s === "scroll" || s === "hidden") return false; // it scrolls inside a box
		}
		return !e.parentElement || e.parentElement.getBoundingClientRect().right + window.scrollX <= window.innerWidth + 0.5;
	}).slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + [...e.classList].join(".") + " " +
		Math.round(e.getBoundingClientRect().right + window.scrollX))`)
}
