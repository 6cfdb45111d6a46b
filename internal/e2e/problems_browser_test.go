package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// badIndent is a Switch whose metadata.labels is indented one space too little: YAML that does
// not parse, which ingest reports as a yaml-syntax error with an excerpt.
const badIndent = `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-9
 labels: {}
spec: {}
`

// TestProblemsUI syncs a fabric whose raw/ holds a YAML syntax error, through the UI, and opens
// the job: its problems are shown grouped by file, each with its line:col, severity badge,
// rule and the excerpt of the file with the caret line. With FABSYNC_UPDATE_SCREENSHOT=1 it
// writes a screenshot of that to docs/img/problems.png.
func TestProblemsUI(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{
		"fab/raw/wiring.yaml":   readTestdata(t, "wiring.yaml"),
		"fab/raw/switches.yaml": badIndent,
	})
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{})
	p := newPage(t, sys)

	p.do("sync and wait for the result",
		chromedp.Click(chromedp.CSS("#sync-fab"), chromedp.NodeEnabled),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="partial_sync"] .result`)),
	)
	j := sys.latestJob("fab")
	if j.State != tasks.StatePartialSync {
		t.Fatalf("job = %s (%s); want partial_sync for the syntax error", j.State, j.Reason)
	}
	if len(j.Ingest.Problems) == 0 {
		t.Fatalf("job %s has no ingest.problems (its ingest.errors: %+v): the server does not fill "+
			"ingest.problems yet, so the UI has no rules, severities or excerpts to show", j.ID, j.Ingest.Errors)
	}
	var syn *tasks.DocError
	for i, pr := range j.Ingest.Problems {
		if pr.File == "raw/switches.yaml" && pr.Rule == "yaml-syntax" {
			syn = &j.Ingest.Problems[i]
			break
		}
	}
	if syn == nil {
		t.Fatalf("ingest.problems = %+v; want a yaml-syntax problem in raw/switches.yaml", j.Ingest.Problems)
	}
	if syn.Severity != "error" || syn.Line == 0 || syn.Excerpt == "" {
		t.Fatalf("yaml-syntax problem = %+v; want severity error, a line and an excerpt", *syn)
	}

	p.do("open the job from its card",
		chromedp.Click(chromedp.CSS(`#job-fab button.showjob`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#jobdetail .problem-file[data-file="raw/switches.yaml"]`)),
		chromedp.WaitVisible(chromedp.CSS("#joblog")),
	)
	if got := p.text("#jobdetail .card-title"); !strings.Contains(got, j.ID) || !strings.Contains(got, "partial sync") {
		t.Errorf("detail title = %q; want the job %s and its state", got, j.ID)
	}
	file := `#jobdetail .problem-file[data-file="raw/switches.yaml"]`
	nerr, nwarn := 0, 0
	for _, pr := range j.Ingest.Problems {
		if pr.File != "raw/switches.yaml" {
			continue
		}
		if pr.Severity == "warning" {
			nwarn++
		} else {
			nerr++
		}
	}
	wantHead := "raw/switches.yaml " + counts(nerr, nwarn)
	if got := p.text(file + " h4"); got != wantHead {
		t.Errorf("file heading = %q; want %q", got, wantHead)
	}
	item := file + " li.problem.error"
	where := strconv.Itoa(syn.Line)
	if syn.Column > 0 {
		where += ":" + strconv.Itoa(syn.Column)
	} else {
		where = "line " + where
	}
	if got := p.text(item + " .where"); got != where {
		t.Errorf("place = %q; want %q", got, where)
	}
	if got := p.text(item + " .sev.error"); !strings.EqualFold(got, "error") {
		t.Errorf("severity badge = %q; want error", got)
	}
	if got := eval[string](p, `getComputedStyle(document.querySelector(`+strconv.Quote(item+" .sev")+`)).color`); got != "rgb(185, 28, 28)" {
		t.Errorf("error badge colour = %s; want the red of --bad", got)
	}
	if got := p.text(item + " code.rule"); got != "yaml-syntax" {
		t.Errorf("rule tag = %q; want yaml-syntax", got)
	}
	if got := eval[string](p, `getComputedStyle(document.querySelector(`+strconv.Quote(item+" code.rule")+`)).fontFamily`); !strings.Contains(got, "monospace") {
		t.Errorf("rule tag font = %q; want monospace", got)
	}
	if got := p.text(item + " .msg"); got != syn.Message {
		t.Errorf("message = %q; want %q", got, syn.Message)
	}
	excerpt := p.text(item + " pre.excerpt")
	if excerpt != strings.TrimRight(syn.Excerpt, "\n") {
		t.Errorf("excerpt shows\n%s\nwant\n%s", excerpt, syn.Excerpt)
	}
	caret := p.text(item + " pre.excerpt .caret")
	if strings.TrimSpace(caret) != "| ^" && !strings.HasSuffix(strings.TrimSpace(caret), "^") {
		t.Errorf("caret line = %q; want the | ... ^ line of the excerpt", caret)
	}
	if !strings.Contains(excerpt, strconv.Itoa(syn.Line)+" | ") || !strings.Contains(excerpt, " labels: {}") {
		t.Errorf("excerpt = %q; want line %d of the file, with the misindented labels", excerpt, syn.Line)
	}
	// The caret sits under the column: as many characters in as the column, after "| ".
	if syn.Column > 0 {
		for l := range strings.SplitSeq(excerpt, "\n") {
			if _, after, ok := strings.Cut(l, "| "); ok && strings.TrimSpace(after) == "^" && strings.Index(after, "^") != syn.Column-1 {
				t.Errorf("caret at %d in %q; want under column %d", strings.Index(after, "^")+1, l, syn.Column)
			}
		}
	}
	// What the card showed before stays: its list of errors.
	if got := p.text("#job-fab .result"); !strings.Contains(got, "raw/switches.yaml:") {
		t.Errorf("card = %q; want it to list the error as before", got)
	}

	p.do("show the detail", chromedp.ScrollIntoView(chromedp.CSS("#jobdetail")))
	png, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS("#detail")))
	if err != nil {
		p.fail("screenshot of the job detail", err)
	}
	if os.Getenv("FABSYNC_UPDATE_SCREENSHOT") != "1" {
		return
	}
	docs := filepath.Join("..", "..", "docs", "img", "problems.png")
	if err := os.MkdirAll(filepath.Dir(docs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docs, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", docs)
}

// counts is the UI's "2 errors, 1 warning".
func counts(errors, warnings int) string {
	word := func(n int, w string) string {
		if n == 1 {
			return "1 " + w
		}
		return strconv.Itoa(n) + " " + w + "s"
	}
	var parts []string
	if errors > 0 || warnings == 0 {
		parts = append(parts, word(errors, "error"))
	}
	if warnings > 0 {
		parts = append(parts, word(warnings, "warning"))
	}
	return strings.Join(parts, ", ")
}

// TestProblemsUIRendering renders made-up jobs in the page: what a file may hold is shown as
// text, many warnings are folded, a succeeded job's warnings are shown, and a record older than
// ingest.problems shows its errors grouped by file.
func TestProblemsUIRendering(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{workers: -1})
	p := newPage(t, sys)
	p.do("wait for the fabrics", chromedp.WaitVisible(chromedp.CSS("#sync-fab")))

	const xss = `<img src=x onerror=window.__xss=1>`
	warn := func(n int) string {
		return fmt.Sprintf(`{file: "raw/a.yaml", document: %d, line: %d, column: 3, rule: "switch-unconnected", severity: "warning", message: "w%d", excerpt: "%d | x\n  |   ^"}`, n, n, n, n)
	}
	var warns []string
	for i := 1; i <= 7; i++ {
		warns = append(warns, warn(i))
	}
	got := eval[map[string]any](p, `(() => {
		const xss = `+strconv.Quote(xss)+`;
		const base = {id: "j1", fabric: "fab", trigger: "manual", state: "succeeded", created_at: "2026-03-01T10:00:00Z",
			ingest: {files: 2, documents: 9, warnings: ["raw/gw.yaml document 1: kind Gateway is not a fabric kind", "raw/a.yaml document 1: w1"], errors: []}};
		const newJob = Object.assign({}, base, {ingest: Object.assign({}, base.ingest, {problems: [
			{file: "raw/b.yaml", document: 1, line: 2, column: 5, rule: xss, severity: "warning", message: xss,
			 excerpt: "1 | a:\n2 |   " + xss + "\n  |     ^"},
			`+strings.Join(warns, ",\n")+`]})});
		renderDetail(newJob);
		const d = document.getElementById("jobdetail");
		const r = {
			files: [...d.querySelectorAll(".problem-file h4")].map(h => h.textContent),
			folded: [...d.querySelectorAll("details.more-warnings")].map(x => x.open + " " + x.querySelector("summary").textContent),
			rule: d.querySelector('.problem-file[data-file="raw/b.yaml"] code.rule').textContent,
			excerpt: d.querySelector('.problem-file[data-file="raw/b.yaml"] pre.excerpt').textContent,
			other: [...d.querySelectorAll(".warnings li")].map(x => x.textContent),
			total: d.querySelector(".problems-total").textContent,
			img: document.querySelector("main img") !== null || window.__xss === 1,
		};
		const old = Object.assign({}, base, {state: "partial_sync", ingest: {files: 2, warnings: [], errors: [
			{file: "raw/v.yaml", document: 1, line: 1, column: 1, message: "kind is missing"},
			{file: "raw/w.yaml", document: 2, line: 0, column: 0, message: "bad"}]}});
		renderDetail(old);
		r.oldFiles = [...d.querySelectorAll(".problem-file h4")].map(h => h.textContent);
		r.oldItems = [...d.querySelectorAll("li.problem")].map(li => li.textContent);
		r.oldRules = d.querySelectorAll("code.rule").length;
		return r;
	})()`)
	want := map[string]any{
		"files":    []any{"raw/b.yaml 1 warning", "raw/a.yaml 7 warnings"}, // the server's order
		"folded":   []any{"false 7 warnings"},
		"rule":     xss,
		"excerpt":  "1 | a:\n2 |   " + xss + "\n  |     ^",
		"other":    []any{"raw/gw.yaml document 1: kind Gateway is not a fabric kind"},
		"total":    "8 warnings in 2 files:",
		"img":      false,
		"oldFiles": []any{"raw/v.yaml 1 error", "raw/w.yaml 1 error"},
		"oldItems": []any{"1:1 error kind is missing", "document 2 error bad"},
		"oldRules": float64(0),
	}
	for k, w := range want {
		if g := fmt.Sprint(got[k]); g != fmt.Sprint(w) {
			t.Errorf("%s = %q; want %q", k, g, fmt.Sprint(w))
		}
	}
}
