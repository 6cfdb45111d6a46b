package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// previewJob is the part of a job this file reads that tasks.Job may not have yet: the dry
// run flag and its plan (issue 12), decoded from the API's JSON.
type previewJob struct {
	ID      string        `json:"id"`
	State   string        `json:"state"`
	Reason  string        `json:"reason"`
	DryRun  *bool         `json:"dry_run"`
	Plan    *previewPlan  `json:"plan"`
	Ingest  tasks.Ingest  `json:"ingest"`
	GitSync tasks.GitSync `json:"git_sync"`
}

type previewPlan struct {
	Files []struct {
		Path    string `json:"path"`
		Action  string `json:"action"`
		Diff    string `json:"diff"`
		Added   int    `json:"added"`
		Removed int    `json:"removed"`
	} `json:"files"`
	Summary   string `json:"summary"`
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Deleted   int    `json:"deleted"`
	Unchanged int    `json:"unchanged"`
	Truncated bool   `json:"truncated"`
}

// previewGetJob fetches a job as raw JSON and decodes what the preview tests need.
func previewGetJob(t *testing.T, sys *system, id string) (previewJob, string) {
	t.Helper()
	r := sys.do("GET", "/api/v1/jobs/"+id, "")
	if r.status != 200 {
		t.Fatalf("GET job %s = %d %s", id, r.status, r.body)
	}
	var j previewJob
	r.decode(t, &j)
	return j, string(r.body)
}

// remoteHead is the commit the repository's main branch is at.
func remoteHead(t *testing.T, gs *gittest.Server, repo string) string {
	t.Helper()
	return gittest.Git(t, gs.RepoDir(repo), "rev-parse", "refs/heads/main")
}

// missingServerSide is added to the failures that mean the server does not do dry runs yet.
const missingServerSide = "the server side of issue 12 part 1 (POST /api/v1/fabrics/{fabric}/sync with " +
	`{"dry_run": true}, a job's "dry_run" and "plan" fields) is missing or broken`

// TestPreviewUI previews a sync of a fabric whose raw/ holds a valid wiring file, through the
// UI: the Preview button starts a dry run, whose progress shows like a sync's; then the plan
// lists the files it would create, each with its diff, coloured line by line, and nothing was
// pushed. Sync now on the plan runs the real sync, whose pushed commit the card shows and the
// remote has. With FABSYNC_UPDATE_SCREENSHOT=1 it writes the plan to docs/img/preview.png.
func TestPreviewUI(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{"fab/raw/wiring.yaml": readTestdata(t, "wiring.yaml")})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{})
	before := remoteHead(t, gs, "gitops")
	p := newPage(t, sys)

	p.do("wait for the fabrics", chromedp.WaitEnabled(chromedp.CSS("#preview-fab")))
	if got := p.text("#preview-fab"); got != "Preview" {
		t.Errorf("button = %q; want Preview", got)
	}
	if got := eval[string](p, `document.querySelector("#fabric-fab td.action").innerText.replace(/\s+/g, " ").trim()`); got != "Preview Sync from Git" {
		t.Errorf("actions = %q; want Preview beside Sync from Git", got)
	}

	// The preview ends with a plan, or the page says why not (an error banner, a job without
	// a plan): whichever comes first.
	p.do("preview and wait for the plan or an error",
		chromedp.Click(chromedp.CSS("#preview-fab"), chromedp.NodeEnabled),
		chromedp.Poll[chromedp.Void](`(() => {
			const b = document.getElementById("banner");
			if (!b.hidden && b.textContent) return true;
			if (document.querySelector("#job-fab .plan")) return true;
			const c = document.querySelector("#job-fab .card");
			return c && ["succeeded", "partial_sync", "failed", "canceled"].includes(c.dataset.state);
		})()`, chromedp.WithPollingTimeout(browserTimeout)),
	)
	if msg := eval[string](p, `(b => b.hidden ? "" : b.textContent)(document.getElementById("banner"))`); msg != "" {
		t.Fatalf("the preview did not start; the page says %q: %s", msg, missingServerSide)
	}
	id := eval[string](p, `document.querySelector("#job-fab .card").dataset.job`)
	dry, raw := previewGetJob(t, sys, id)
	if dry.DryRun == nil || !*dry.DryRun {
		t.Fatalf("Preview started job %s, which is not a dry run (its JSON: %s): %s", id, raw, missingServerSide)
	}
	if dry.State != string(tasks.StateSucceeded) {
		t.Fatalf("dry run %s = %s (%s); want succeeded for a valid wiring file", id, dry.State, dry.Reason)
	}
	if dry.Plan == nil {
		t.Fatalf("dry run %s succeeded without a plan (its JSON: %s): %s", id, raw, missingServerSide)
	}
	if got := remoteHead(t, gs, "gitops"); got != before {
		t.Fatalf("the remote moved from %s to %s during a dry run; a dry run must never push", before, got)
	}
	p.do("wait for the plan", chromedp.WaitVisible(chromedp.CSS(`#job-fab .plan`)))
	if got := p.text("#job-fab .card-title"); !strings.Contains(got, id) || !strings.Contains(got, "dry run") {
		t.Errorf("card title = %q; want the dry run %s, marked as one", got, id)
	}

	// The plan as the API has it, against what the page shows.
	pl := dry.Plan
	if pl.Created == 0 {
		t.Fatalf("plan = %+v; want files created for a fabric never synced", *pl)
	}
	if pl.Summary == "" {
		t.Errorf("plan %+v has no summary", *pl)
	} else {
		if got := p.text("#job-fab .plan-summary"); got != pl.Summary {
			t.Errorf("summary line = %q; want the plan's %q", got, pl.Summary)
		}
	}
	counts := p.text("#job-fab .plan-counts")
	for _, want := range []string{
		fmt.Sprintf("%d created", pl.Created), fmt.Sprintf("%d updated", pl.Updated),
		fmt.Sprintf("%d deleted", pl.Deleted), fmt.Sprintf("%d unchanged", pl.Unchanged),
	} {
		if !strings.Contains(counts, want) {
			t.Errorf("counts = %q; want %q", counts, want)
		}
	}
	created := -1
	for i, f := range pl.Files {
		if f.Action == "created" && f.Diff != "" {
			created = i
			break
		}
	}
	if created < 0 {
		t.Fatalf("plan lists no created file with a diff: %+v", pl.Files)
	}
	cf := pl.Files[created]
	item := fmt.Sprintf(`#job-fab li.plan-file[data-path=%q]`, cf.Path)
	if got := p.text(item + " .act"); got != "created" {
		t.Errorf("action badge of %s = %q; want created", cf.Path, got)
	}
	if got := p.text(item + " code.path"); got != cf.Path {
		t.Errorf("path shown = %q; want %q", got, cf.Path)
	}
	colour := func(sel, prop string) string {
		return eval[string](p, `getComputedStyle(document.querySelector(`+strconv.Quote(sel)+`)).`+prop)
	}
	if got := colour(item+" .act", "color"); got != "rgb(21, 128, 61)" {
		t.Errorf("created badge colour = %s; want the green of --ok", got)
	}
	// The diff is open, its lines as in the API's diff, each coloured by its first characters.
	var added []string
	for l := range strings.SplitSeq(strings.TrimRight(cf.Diff, "\n"), "\n") {
		if strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "+++ ") {
			added = append(added, l)
		}
	}
	if len(added) == 0 {
		t.Fatalf("diff of the created file %s has no added line:\n%s", cf.Path, cf.Diff)
	}
	if got := p.text(item + " pre.diff span.add"); got != added[0] {
		t.Errorf("first added line shown = %q; want %q", got, added[0])
	}
	if n := eval[int](p, `document.querySelectorAll(`+strconv.Quote(item+" pre.diff span.add")+`).length`); n != len(added) {
		t.Errorf("%d added lines shown; the diff has %d", n, len(added))
	}
	if got := colour(item+" pre.diff span.add", "color"); got != "rgb(22, 101, 52)" {
		t.Errorf("added line colour = %s; want green", got)
	}
	if got := colour(item+" pre.diff span.add", "backgroundColor"); got != "rgb(220, 252, 231)" {
		t.Errorf("added line background = %s; want light green", got)
	}
	if strings.Contains(cf.Diff, "\n@@") {
		if got := colour(item+" pre.diff span.hunk", "color"); got != "rgb(29, 78, 216)" {
			t.Errorf("hunk header colour = %s; want the blue of --accent", got)
		}
	}
	if got := eval[bool](p, `document.querySelector(`+strconv.Quote(item+" details.diff")+`).open`); !got {
		t.Errorf("the diff of %s is folded; want a small plan's diffs open", cf.Path)
	}
	p.do("fold the diff", chromedp.Click(chromedp.CSS(item+" details.diff summary")))
	if eval[bool](p, `document.querySelector(`+strconv.Quote(item+" details.diff")+`).open`) {
		t.Errorf("a click on the file's line did not fold its diff")
	}
	p.do("unfold the diff", chromedp.Click(chromedp.CSS(item+" details.diff summary")))

	if os.Getenv("FABSYNC_UPDATE_SCREENSHOT") == "1" {
		png, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS(`section[aria-labelledby="fabrics-title"]`)))
		if err != nil {
			p.fail("screenshot of the plan", err)
		}
		docs := filepath.Join("..", "..", "docs", "img", "preview.png")
		if err := os.MkdirAll(filepath.Dir(docs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docs, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", docs)
	} else {
		p.shot("preview")
	}

	// Sync now runs the real sync, shown on the card as usual, with its pushed commit.
	p.do("sync now and wait for the real job",
		chromedp.Click(chromedp.CSS("#job-fab button.syncnow"), chromedp.NodeVisible),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => {
			const c = document.querySelector("#job-fab .card");
			return c && c.dataset.job !== %q && ["succeeded", "partial_sync", "failed", "canceled"].includes(c.dataset.state);
		})()`, id), chromedp.WithPollingTimeout(browserTimeout)),
	)
	real := sys.latestJob("fab")
	if real.ID == id {
		t.Fatalf("the latest job is still the dry run %s after Sync now", id)
	}
	rj, raw := previewGetJob(t, sys, real.ID)
	if rj.DryRun != nil && *rj.DryRun {
		t.Fatalf("Sync now started job %s as a dry run: %s", real.ID, raw)
	}
	if real.State != tasks.StateSucceeded || real.Ingest.Commit == "" {
		t.Fatalf("real sync %s = %s (%s), commit %q; want succeeded with a pushed commit", real.ID, real.State, real.Reason, real.Ingest.Commit)
	}
	if got := eval[string](p, `document.querySelector("#job-fab .card").dataset.job`); got != real.ID {
		t.Errorf("card shows job %s; want the real sync %s", got, real.ID)
	}
	if got := eval[string](p, `(c => c ? c.title : "")(document.querySelector("#job-fab .result code.commit"))`); got != real.Ingest.Commit {
		t.Errorf("card's pushed commit = %q; want %s", got, real.Ingest.Commit)
	}
	if got := p.text("#job-fab .result"); !strings.Contains(got, "Pushed commit "+real.Ingest.Commit[:10]) {
		t.Errorf("card = %q; want it to say Pushed commit %s", got, real.Ingest.Commit[:10])
	}
	after := remoteHead(t, gs, "gitops")
	if after == before || after != real.Ingest.Commit {
		t.Errorf("remote main = %s (was %s); want the real sync's commit %s", after, before, real.Ingest.Commit)
	}
	// What the preview said would be created is what was pushed.
	if !pl.Truncated {
		var lines []string
		for _, l := range added {
			lines = append(lines, strings.TrimPrefix(l, "+"))
		}
		got := strings.TrimRight(gittest.Git(t, gs.RepoDir("gitops"), "show", after+":fab/"+cf.Path), "\n")
		if want := strings.Join(lines, "\n"); got != want {
			t.Errorf("pushed fab/%s =\n%s\nthe preview's diff said\n%s", cf.Path, got, want)
		}
	}
	if got := p.text("#preview-fab"); got != "Preview" || eval[bool](p, `document.getElementById("preview-fab").disabled`) {
		t.Errorf("Preview button after the jobs = %q (disabled: true); want Preview, enabled", got)
	}
}

// TestPreviewUIRendering renders made-up dry runs on a fabric's card: badges and diff lines
// get their colours, what the diff holds is shown as text, a truncated plan says how many
// files it leaves out; and the plan's Sync now starts a real sync.
func TestPreviewUIRendering(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	// No worker: the real sync Sync now starts stays queued, so what the card shows is certain.
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{workers: -1})
	p := newPage(t, sys)
	p.do("wait for the fabrics", chromedp.WaitEnabled(chromedp.CSS("#preview-fab")))

	const xss = `<img src=x onerror=window.__xss=1>`
	got := eval[map[string]any](p, `(() => {
		const xss = `+strconv.Quote(xss)+`;
		const job = {id: "20260301T100000Z-dryrun0001", fabric: "fab", trigger: "manual", state: "succeeded", dry_run: true,
			created_at: "2026-03-01T10:00:00Z", started_at: "2026-03-01T10:00:01Z", finished_at: "2026-03-01T10:00:03Z",
			updated_at: "2026-03-01T10:00:03Z",
			git_sync: {commit: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"}, ingest: {files: 1, warnings: []},
			plan: {summary: "adds Switch leaf-03 " + xss, created: 3, updated: 1, deleted: 1, unchanged: 2, truncated: true, files: [
				{path: "managed/switches/leaf-03.yaml", action: "created", added: 2, removed: 0,
				 diff: "--- /dev/null\n+++ b/managed/switches/leaf-03.yaml\n@@ -0,0 +1,2 @@\n+kind: Switch\n+name: " + xss + "\n"},
				{path: "managed/vpcs/" + xss + ".yaml", action: "updated", added: 1, removed: 1,
				 diff: "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n name: v\n-vlan: 1001\n+vlan: 1002\n"},
				{path: "managed/connections/old.yaml", action: "deleted", added: 0, removed: 3, diff: ""},
				{path: "managed/switches/leaf-01.yaml", action: "unchanged", diff: ""}]}};
		const f = state.fabrics.find(x => x.name === "fab");
		f.latest_job = job;
		renderFabrics();
		const card = document.querySelector("#job-fab .card");
		const col = (sel, prop = "color") => getComputedStyle(card.querySelector(sel))[prop];
		return {
			title: card.querySelector(".card-title").textContent.replace(/\s+/g, " ").trim(),
			summary: card.querySelector(".plan-summary").textContent,
			counts: card.querySelector(".plan-counts").textContent,
			files: [...card.querySelectorAll("li.plan-file")].map(li => li.querySelector(".act").textContent + " " + li.querySelector("code.path").textContent),
			created: col("li.plan-file.created .act"), updated: col("li.plan-file.updated .act"),
			deleted: col("li.plan-file.deleted .act"), unchanged: col("li.plan-file.unchanged .act"),
			add: col("li.plan-file.updated span.add"), del: col("li.plan-file.updated span.del"),
			hunk: col("li.plan-file.updated span.hunk"), ctx: col("li.plan-file.updated span.ctx"),
			lines: [...card.querySelectorAll("li.plan-file.updated pre.diff > span")].map(s => s.className + ":" + s.textContent),
			xssLine: card.querySelector("li.plan-file.created span.add:last-child").textContent,
			details: card.querySelectorAll("details.diff").length,
			noDiff: card.querySelector("li.plan-file.deleted").textContent.includes("diff not shown"),
			truncated: card.querySelector(".plan-truncated").textContent,
			syncNow: card.querySelector("button.syncnow").textContent,
			img: document.querySelector("main img") !== null || window.__xss === 1,
		};
	})()`)
	want := map[string]any{
		"title":     "Preview 20260301T100000Z-dryrun0001 succeeded dry run manual",
		"summary":   "adds Switch leaf-03 " + xss,
		"counts":    "A sync would change 5 files: 3 created 1 updated 1 deleted 2 unchanged",
		"files":     []any{"created managed/switches/leaf-03.yaml", "updated managed/vpcs/" + xss + ".yaml", "deleted managed/connections/old.yaml", "unchanged managed/switches/leaf-01.yaml"},
		"created":   "rgb(21, 128, 61)",
		"updated":   "rgb(146, 64, 14)",
		"deleted":   "rgb(185, 28, 28)",
		"unchanged": "rgb(55, 65, 81)",
		"add":       "rgb(22, 101, 52)",
		"del":       "rgb(153, 27, 27)",
		"hunk":      "rgb(29, 78, 216)",
		"ctx":       "rgb(29, 36, 48)",
		"lines":     []any{"hdr:--- a/x", "hdr:+++ b/x", "hunk:@@ -1,2 +1,2 @@", "ctx: name: v", "del:-vlan: 1001", "add:+vlan: 1002"},
		"xssLine":   "+name: " + xss,
		"details":   float64(2),
		"noDiff":    true,
		"truncated": "diffs truncated: 3 files not shown",
		"syncNow":   "Sync now",
		"img":       false,
	}
	for k, w := range want {
		if g := fmt.Sprint(got[k]); !strings.HasPrefix(g, fmt.Sprint(w)) {
			t.Errorf("%s = %q; want %q", k, g, fmt.Sprint(w))
		}
	}

	// Sync now starts a real sync (no body), which the card then follows.
	p.do("sync now",
		chromedp.Click(chromedp.CSS("#job-fab button.syncnow"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="queued"] .bar`)),
	)
	j := sys.latestJob("fab")
	if j.Trigger != tasks.TriggerManual || j.State != tasks.StateQueued {
		t.Errorf("Sync now made job %s, %s %s; want a queued manual sync", j.ID, j.Trigger, j.State)
	}
	if _, raw := previewGetJob(t, sys, j.ID); strings.Contains(raw, `"dry_run":true`) {
		t.Errorf("Sync now started a dry run: %s", raw)
	}
	if got := eval[string](p, `document.querySelector("#job-fab .card").dataset.job`); got != j.ID {
		t.Errorf("card shows %s; want the new job %s", got, j.ID)
	}
	if got := p.text("#sync-fab"); got != "Queued…" {
		t.Errorf("Sync button = %q; want Queued… while the sync waits", got)
	}
	if !eval[bool](p, `document.getElementById("preview-fab").disabled`) {
		t.Error("Preview is enabled while a sync of the fabric is queued")
	}
}

// TestDriftBadge renders made-up fabrics (GET /api/v1/fabrics and GET …/drift answered in the
// page): a fabric with drift_files > 0 gets a badge with the count, whose title, once hovered
// or clicked, lists what GET …/drift says; a click also shows the list. A fabric without drift
// has no badge. What the answer holds is shown as text.
func TestDriftBadge(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n  - {name: lab, repo: %q, path: lab}\n", url, url), options{workers: -1})
	p := newPage(t, sys)
	p.do("wait for the fabrics", chromedp.WaitEnabled(chromedp.CSS("#sync-lab")))

	const xss = `<img src=x onerror=window.__xss=1>`
	fabrics := map[string]any{"fabrics": []map[string]any{
		{"name": "fab", "repo": url, "branch": "main", "path": "fab", "resync": "", "latest_job": nil, "drift_files": 3},
		{"name": "lab", "repo": url, "branch": "main", "path": "lab", "resync": "", "latest_job": nil, "drift_files": 0},
	}, "config": map[string]any{"ok": true}}
	drift := map[string]any{"fabric": "fab", "checked_at": time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), "job_id": "20260301T100000Z-0a1b2c3d4e", "mode": "report",
		"files": []map[string]string{
			{"path": "managed/switches/leaf-01.yaml", "kind": "edited", "action": "reported"},
			{"path": "managed/vpcs/" + xss + ".yaml", "kind": "added", "action": "reported"},
			{"path": "managed/connections/c-1.yaml", "kind": "removed", "action": "reported"},
		}}
	fj, err := json.Marshal(fabrics)
	if err != nil {
		t.Fatal(err)
	}
	dj, err := json.Marshal(drift)
	if err != nil {
		t.Fatal(err)
	}
	eval[chromedp.Void](p, `(() => {
		const answers = {"/api/v1/fabrics": `+strconv.Quote(string(fj))+`, "/api/v1/fabrics/fab/drift": `+strconv.Quote(string(dj))+`};
		const real = window.fetch;
		window.__driftCalls = 0;
		window.fetch = (u, o) => {
			const path = new URL(u, location.href).pathname;
			if (path.endsWith("/drift")) window.__driftCalls++;
			if (!(path in answers)) return real(u, o);
			return Promise.resolve(new Response(answers[path], {status: 200, headers: {"Content-Type": "application/json"}}));
		};
	})()`)
	p.do("render the made-up fabrics",
		chromedp.Evaluate[chromedp.Void](`refresh()`, chromedp.EvalAwaitPromise),
		chromedp.WaitVisible(chromedp.CSS("#fabric-fab button.drift")),
	)
	if got := p.text("#fabric-fab button.drift"); got != "3 files drifted" {
		t.Errorf("badge = %q; want 3 files drifted", got)
	}
	if n := eval[int](p, `document.querySelectorAll("#fabric-lab button.drift").length`); n != 0 {
		t.Errorf("lab, with drift_files 0, has %d badges; want none", n)
	}
	if got := eval[string](p, `document.querySelector("#fabric-fab button.drift").title`); !strings.HasPrefix(got, "3 files of managed/ in fab changed by hand") {
		t.Errorf("badge title before asking = %q", got)
	}
	if got := eval[string](p, `getComputedStyle(document.querySelector("#fabric-fab button.drift")).color`); got != "rgb(146, 64, 14)" {
		t.Errorf("badge colour = %s; want the amber of --warn", got)
	}
	p.do("open the drift list",
		chromedp.Click(chromedp.CSS("#fabric-fab button.drift")),
		chromedp.WaitVisible(chromedp.CSS("#fabric-fab .drift-pop")),
	)
	title := eval[string](p, `document.querySelector("#fabric-fab button.drift").title`)
	for _, want := range []string{
		"mode report):\n",
		"managed/switches/leaf-01.yaml: edited, reported\n",
		"managed/vpcs/" + xss + ".yaml: added, reported\n",
		"managed/connections/c-1.yaml: removed, reported",
	} {
		if !strings.Contains(title, want) {
			t.Errorf("badge title = %q; want it to hold %q", title, want)
		}
	}
	items := eval[[]string](p, `[...document.querySelectorAll("#fabric-fab .drift-files li")].map(li => li.textContent)`)
	wantItems := []string{"managed/switches/leaf-01.yaml edited reported", "managed/vpcs/" + xss + ".yaml added reported", "managed/connections/c-1.yaml removed reported"}
	if fmt.Sprint(items) != fmt.Sprint(wantItems) {
		t.Errorf("drift list = %q; want %q", items, wantItems)
	}
	if got := eval[bool](p, `document.querySelector("#fabric-fab button.drift").getAttribute("aria-expanded") === "true"`); !got {
		t.Error("badge aria-expanded is not true with the list shown")
	}
	if eval[bool](p, `document.querySelector("main img") !== null || window.__xss === 1`) {
		t.Error("a drifted file's path was inserted as HTML")
	}
	p.do("close the drift list",
		chromedp.Click(chromedp.CSS("#fabric-fab button.drift")),
		chromedp.WaitNotPresent(chromedp.CSS("#fabric-fab .drift-pop")),
	)
	if n := eval[int](p, `window.__driftCalls`); n < 1 || n > 2 {
		t.Errorf("GET …/drift was called %d times; want once or twice (it is asked at most every 10 s)", n)
	}
	// The name still opens the history, as before.
	p.do("open the history", chromedp.Click(chromedp.CSS("#fabric-fab button.link")), chromedp.WaitVisible(chromedp.CSS("#detail")))
	if got := p.text("#detail-name"); got != "fab" {
		t.Errorf("history of %q; want fab", got)
	}
}
