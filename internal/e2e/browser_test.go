package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// The browser tests drive the real web UI (web/dist) in headless Chromium against the
// in-process system of harness_test.go. Each test gets its own browser, its own Redis and its
// own git server, and must finish in well under a minute: every browser action runs under
// browserTimeout.

const browserTimeout = 40 * time.Second

// page is one browser tab on the UI of a running system.
type page struct {
	t   *testing.T
	tab context.Context // the tab, with no deadline: for screenshots after a failure
	ctx context.Context // the tab under browserTimeout: for the test's actions
	dir string          // where screenshots go

	mu         sync.Mutex
	exceptions []string // uncaught JavaScript exceptions and security errors (CSP) seen in the page
}

// newPage starts headless Chromium and opens the UI of sys in it. It skips the test when no
// Chromium is installed, except when CI is set (STYLE.md §9): then it fails.
func newPage(t *testing.T, sys *system) *page {
	t.Helper()
	if testing.Short() {
		t.Skip("browser: needs Chromium")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		const msg = "browser tests need Chromium: install the Debian package chromium (apt-get install chromium)"
		if os.Getenv("CI") != "" {
			t.Fatalf("CI: %s: %v", msg, err)
		}
		t.Skip(msg)
	}
	// The test network is closed: every flag that stops Chromium from calling home keeps it
	// from waiting on connections that are refused.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	p := &page{t: t, tab: tab, dir: t.TempDir()}

	// Start the browser with no deadline (a deadline on the first run would bound the
	// browser's whole life), but give up if it does not come up in time.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(tab) }()
	select {
	case err = <-started:
	case <-time.After(browserTimeout):
		err = errors.New("timed out")
	}
	if err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start %s: %v", path, err)
	}

	messages := chromedp.Console(tab)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return // the tab is closing
			}
			// A Content-Security-Policy violation is a log entry of source "security".
			if m.IsException() || m.Source == "security" {
				p.mu.Lock()
				p.exceptions = append(p.exceptions, fmt.Sprintf("%s:%d: %s", m.URL, m.Line+1, m.Text))
				p.mu.Unlock()
			}
		}
	}()

	ctx, cancelCtx := context.WithTimeout(tab, browserTimeout)
	p.ctx = ctx
	// Registered after start's cleanup, so it runs first: the browser goes away before the
	// system it talks to.
	t.Cleanup(func() {
		cancelCtx()
		cancelTab()
		cancelAlloc()
		wg.Wait()
		for _, e := range p.exceptions {
			t.Errorf("JavaScript exception or security error in the UI: %s", e)
		}
	})
	if err := chromedp.Do(p.ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(sys.base+"/")); err != nil {
		t.Fatalf("open %s: %v", sys.base, err)
	}
	return p
}

// do runs the actions and fails the test, with a screenshot and the page text, if one fails.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// fail ends the test, logging what the page showed.
func (p *page) fail(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.tab, 5*time.Second)
	defer cancel()
	if text, terr := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`)); terr == nil {
		p.t.Logf("the page shows:\n%s", text)
	}
	if b, serr := chromedp.Run(ctx, chromedp.CaptureScreenshot()); serr == nil {
		name := filepath.Join(p.dir, "failure.png")
		if os.WriteFile(name, b, 0o644) == nil {
			p.t.Logf("screenshot: %s", name)
		}
	}
	p.t.Fatalf("%s: %v", what, err)
}

// text returns the visible text of the first element that matches the CSS selector.
func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		p.fail("text of "+sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression in the page and decodes its value into T.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// shot saves a screenshot of the viewport as a test artifact and returns its bytes.
func (p *page) shot(name string) []byte {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fail("screenshot "+name, err)
	}
	path := filepath.Join(p.dir, name+".png")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot: %s", path)
	return b
}

// latestJob returns the fabric's newest job as the API reports it.
func (s *system) latestJob(fabric string) tasks.Job {
	s.t.Helper()
	r := s.do("GET", "/api/v1/fabrics/"+fabric+"/jobs?limit=1", "")
	var list struct{ Jobs []tasks.Job }
	r.decode(s.t, &list)
	if r.status != 200 || len(list.Jobs) != 1 {
		s.t.Fatalf("GET jobs of %s = %d %s", fabric, r.status, r.body)
	}
	return list.Jobs[0]
}

// buttonWatch is what watchSyncButton saw while a job ran.
type buttonWatch struct {
	SawBar        bool     `json:"sawBar"`        // a progress bar was shown for the fabric
	SawDisabled   bool     `json:"sawDisabled"`   // the Sync button was disabled at some point
	Labels        []string `json:"labels"`        // the labels of the disabled button
	EnabledDuring []string `json:"enabledDuring"` // progress texts shown while the button was enabled
}

// watchSyncButton installs a MutationObserver that checks, after every change of the page, that
// the fabric's Sync button is disabled whenever its job card shows a progress bar.
func watchSyncButton(p *page, fabric string) {
	p.t.Helper()
	eval[chromedp.Void](p, fmt.Sprintf(`(() => {
		const fabric = %q;
		const w = window.__buttonWatch = {sawBar: false, sawDisabled: false, labels: [], enabledDuring: []};
		const check = () => {
			const btn = document.getElementById("sync-" + fabric);
			if (!btn) return;
			const bar = document.querySelector("#job-" + fabric + " .bar");
			if (btn.disabled) {
				w.sawDisabled = true;
				if (!w.labels.includes(btn.textContent)) w.labels.push(btn.textContent);
			}
			if (bar) {
				w.sawBar = true;
				if (!btn.disabled) w.enabledDuring.push(document.querySelector("#job-" + fabric + " .progress-text").textContent);
			}
		};
		new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
	})()`, fabric))
}

func TestBrowserSync(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", map[string]string{
		"fab/raw/wiring.yaml":  readTestdata(t, "wiring.yaml"),
		"fab/raw/sub/vpcs.yml": readTestdata(t, "vpcs.yaml"),
		"lab/raw/.gitkeep":     "",
	})
	sys := start(t, fmt.Sprintf(`fabrics:
  - {name: fab, repo: %q, path: fab, resync: 10m}
  - {name: lab, repo: %q, path: lab, branch: main}
`, url, url), options{})
	p := newPage(t, sys)

	p.do("wait for the fabrics", chromedp.WaitEnabled(chromedp.CSS("#sync-fab")))
	if got := p.text("#fabric-fab"); !strings.Contains(got, url) || !strings.Contains(got, "every 10m") || !strings.Contains(got, "never") {
		t.Errorf("fabric row = %q; want the repo %s, the resync interval and no job yet", got, url)
	}
	if got := p.text("#sync-fab"); got != "Sync from Git" {
		t.Errorf("button = %q; want Sync from Git", got)
	}
	if href := eval[string](p, `document.getElementById("monitoring-link").getAttribute("href")`); href != "/monitoring/" {
		t.Errorf("Asynqmon link = %q; want /monitoring/", href)
	}

	watchSyncButton(p, "fab")
	p.do("sync and wait for the result",
		chromedp.Click(chromedp.CSS("#sync-fab")),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="succeeded"] .result`)),
	)
	j := sys.latestJob("fab")
	if j.State != tasks.StateSucceeded || j.Trigger != tasks.TriggerManual || j.Ingest.Commit == "" {
		t.Fatalf("job = %s, trigger %s, commit %q; want a succeeded manual job with a commit", j.State, j.Trigger, j.Ingest.Commit)
	}
	want := fmt.Sprintf("Synced 2 raw files with 6 documents: 6 created, 0 updated, 0 unchanged; 2 files archived. Pushed commit %s.", j.Ingest.Commit[:10])
	if got := p.text("#job-fab .result"); !strings.Contains(got, want) {
		t.Errorf("summary = %q; want it to say %q", got, want)
	}
	if got := p.text("#job-fab .card-title"); !strings.Contains(got, j.ID) || !strings.Contains(got, "succeeded") {
		t.Errorf("card title = %q; want the job id %s and succeeded", got, j.ID)
	}
	if got := p.text("#fabric-fab .last"); !strings.HasPrefix(got, "succeeded") {
		t.Errorf("last job cell = %q; want succeeded with its time", got)
	}
	if got := p.text("#sync-fab"); got != "Sync from Git" || eval[bool](p, `document.getElementById("sync-fab").disabled`) {
		t.Errorf("button after the job = %q (disabled: true); want Sync from Git, enabled", got)
	}

	// What is guaranteed: the click disables the button before the POST is sent, and the POST
	// answers with the queued job, which the UI shows with a progress bar; so the observer
	// sees both, whatever the speed of the worker. The invariant checked on every change is
	// that the button is never enabled while a progress bar is shown. Whether the page also
	// catches the job in its syncing or ingesting state ("Sync running…") depends on how fast
	// the worker is compared with the UI's 500 ms poll, so that is only logged.
	w := eval[buttonWatch](p, `window.__buttonWatch`)
	if !w.SawBar || !w.SawDisabled {
		t.Errorf("while the job ran: progress bar shown %v, button disabled %v; want both", w.SawBar, w.SawDisabled)
	}
	if len(w.EnabledDuring) > 0 {
		t.Errorf("the Sync button was enabled while the progress bar showed %q", w.EnabledDuring)
	}
	t.Logf("labels of the disabled button: %q", w.Labels)

	// History and log.
	p.do("open the history",
		chromedp.Click(chromedp.CSS("#fabric-fab button.link")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#history tr[data-job=%q]`, j.ID))),
	)
	if got := p.text("#detail-name"); got != "fab" {
		t.Errorf("history of %q; want fab", got)
	}
	row := p.text(fmt.Sprintf(`#history tr[data-job=%q]`, j.ID))
	for _, s := range []string{j.ID, "manual", "succeeded", " s", "1 / 1"} {
		if !strings.Contains(row, s) {
			t.Errorf("history row = %q; want it to show %q", row, s)
		}
	}
	p.do("show the log",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#history button.showlog[data-job=%q]`, j.ID))),
		chromedp.WaitVisible(chromedp.CSS("#joblog")),
	)
	log := p.text("#joblog")
	if !strings.HasPrefix(log, "Log of job "+j.ID+" (succeeded)") {
		t.Errorf("log starts %q; want its job and state", strings.SplitN(log, "\n", 2)[0])
	}
	if lines := strings.Count(log, "\n"); lines != len(j.Log) || len(j.Log) < 4 {
		t.Errorf("log shows %d lines; the job has %d (want at least 4)", lines, len(j.Log))
	}
	for _, l := range j.Log {
		if !strings.Contains(log, l.Message) {
			t.Errorf("log lacks %q", l.Message)
		}
	}

	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	png := p.shot("succeeded")
	if os.Getenv("FABSYNC_UPDATE_SCREENSHOT") == "1" {
		docs := filepath.Join("..", "..", "docs", "ui.png")
		if err := os.MkdirAll(filepath.Dir(docs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docs, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", docs)
	}
}

func TestBrowserPartialSync(t *testing.T) {
	gs := gittest.NewServer(t)
	// xss.yaml's name reaches the page inside an API error message: the UI must show it as text.
	const xss = `<img src=x onerror=window.__xss=1>`
	url := gs.NewRepo(t, "gitops", map[string]string{
		"fab/raw/good.yaml":    readTestdata(t, "wiring.yaml"),
		"fab/raw/invalid.yaml": readTestdata(t, "invalid.yaml"),
		"fab/raw/xss.yaml":     "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: '" + xss + "'\n",
	})
	sys := start(t, fmt.Sprintf(`fabrics:
  - {name: fab, repo: %q, path: fab}
  - {name: gone, repo: %q, path: fab}
`, url, gs.URL+"/nope.git"), options{})
	p := newPage(t, sys)

	p.do("sync and wait for the result",
		chromedp.Click(chromedp.CSS("#sync-fab"), chromedp.NodeEnabled),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="partial_sync"] .result`)),
	)
	j := sys.latestJob("fab")
	if j.State != tasks.StatePartialSync || len(j.Ingest.Errors) != 2 {
		t.Fatalf("job = %s with errors %+v; want partial_sync with two errors", j.State, j.Ingest.Errors)
	}
	got := p.text("#job-fab .result")
	// testdata/invalid.yaml's second document starts on line 7; its bad name is at line 10, column 9.
	want := []string{"Nothing was changed in the repository.", "2 problems in the raw files", "raw/invalid.yaml:10:9 document 2: "}
	for _, e := range j.Ingest.Errors {
		want = append(want, fmt.Sprintf("%s:%d:%d document %d: %s", e.File, e.Line, e.Column, e.Document, e.Message))
	}
	for _, s := range want {
		if !strings.Contains(got, s) {
			t.Errorf("summary = %q; want it to say %q", got, s)
		}
	}
	if !strings.Contains(got, xss) {
		t.Errorf("summary = %q; want the bad name %s shown as text", got, xss)
	}
	if n := eval[int](p, `document.querySelectorAll("#job-fab ul.errors li").length`); n != 2 {
		t.Errorf("%d error lines; want 2", n)
	}
	if eval[bool](p, `document.querySelector("main img") !== null || window.__xss === 1`) {
		t.Error("an API error message was inserted as HTML")
	}
	if got := p.text("#fabric-fab .last"); !strings.HasPrefix(got, "partial sync") {
		t.Errorf("last job cell = %q; want partial sync", got)
	}
	p.do("wait for the button", chromedp.WaitEnabled(chromedp.CSS("#sync-fab")))
	p.shot("partial_sync")

	// A failed job says why.
	p.do("sync a missing repository",
		chromedp.Click(chromedp.CSS("#sync-gone"), chromedp.NodeEnabled),
		chromedp.WaitVisible(chromedp.CSS(`#job-gone .card[data-state="failed"] .result`)),
	)
	jg := sys.latestJob("gone")
	if got := p.text("#job-gone .result"); jg.Reason == "" || !strings.HasPrefix(got, "Failed: "+jg.Reason) {
		t.Errorf("summary = %q; want Failed: and the reason %q", got, jg.Reason)
	}
	p.shot("failed")
}

func TestBrowserToken(t *testing.T) {
	const token = "tok-ui-7f3a"
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{token: token})
	p := newPage(t, sys)

	p.do("wait for the token form", chromedp.WaitVisible(chromedp.CSS("#token-form")))
	if got := p.text("#fabrics tbody"); !strings.Contains(got, "Enter the API token") {
		t.Errorf("fabrics table = %q; want it to ask for the token", got)
	}
	p.shot("token_form")

	p.do("enter a wrong token",
		chromedp.SendKeys(chromedp.CSS("#token-input"), "wrong-token"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("token-error")?.textContent.includes("refused")`, chromedp.WithPollingTimeout(browserTimeout)),
	)
	// The refused form is a new one, with an empty field.
	p.do("enter the token",
		chromedp.SendKeys(chromedp.CSS("#token-input"), token),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitEnabled(chromedp.CSS("#sync-fab")),
		chromedp.WaitNotPresent(chromedp.CSS("#token-form")),
	)
	if got := p.text("#fabric-fab"); !strings.Contains(got, url) {
		t.Errorf("fabric row = %q; want the repo %s", got, url)
	}
	if got := eval[string](p, `sessionStorage.getItem("fabsync-token")`); got != token {
		t.Errorf("sessionStorage holds %q; want the token", got)
	}
	// A link cannot send an Authorization header: the UI keeps the token in a session cookie
	// that the server accepts for the Asynqmon link.
	status, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`fetch("/monitoring/", {headers: {"Accept": "text/html"}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != 200 {
		t.Errorf("GET /monitoring/ from the page = %d, %v; want 200 with the UI's token cookie", status, err)
	}
	status, err = chromedp.Run(p.ctx, chromedp.Evaluate[int](`fetch("/monitoring/", {credentials: "omit"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != 401 {
		t.Errorf("GET /monitoring/ without the cookie = %d, %v; want 401", status, err)
	}
	// The token works for the rest of the API too.
	p.do("sync with the token",
		chromedp.Click(chromedp.CSS("#sync-fab")),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="succeeded"] .result`)),
	)
	if got := p.text("#job-fab .result"); !strings.Contains(got, "Nothing to ingest") {
		t.Errorf("summary = %q; want nothing to ingest (the repo is empty)", got)
	}
	// Asynqmon's page works under its own Content-Security-Policy (newPage fails the test on a
	// violation): it shows our queues.
	p.do("open the dashboard",
		chromedp.Navigate(sys.base+"/monitoring/"),
		chromedp.Poll[chromedp.Void](`document.body.innerText.includes("ingest") && document.body.innerText.includes("sync")`, chromedp.WithPollingTimeout(browserTimeout)),
	)
}

func TestBrowserCancel(t *testing.T) {
	gs := gittest.NewServer(t)
	url := gs.NewRepo(t, "gitops", nil)
	// No worker: the job stays queued until it is canceled, so the busy state is certain.
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", url), options{workers: -1})
	p := newPage(t, sys)

	p.do("sync",
		chromedp.Click(chromedp.CSS("#sync-fab"), chromedp.NodeEnabled),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="queued"] .bar`)),
	)
	if got := p.text("#sync-fab"); got != "Queued…" || !eval[bool](p, `document.getElementById("sync-fab").disabled`) {
		t.Errorf("button while queued = %q (disabled: false); want Queued…, disabled", got)
	}
	if got := p.text("#job-fab .progress-text"); got != "Queued · 0% · waiting for a worker" {
		t.Errorf("progress = %q", got)
	}
	if got := eval[string](p, `document.querySelector("#job-fab .bar").getAttribute("aria-valuenow")`); got != "0" {
		t.Errorf("aria-valuenow = %q; want 0", got)
	}
	p.shot("queued")
	// A cancel asked for (cancel_requested) that has not ended the job yet shows a disabled
	// "Canceling…", on a card drawn anew and on one updated in place (off the page, from this
	// queued job, which a cancel ends at once).
	if got := eval[string](p, `(() => {
		const j = state.fabrics[0].latest_job, asked = Object.assign({}, j, {cancel_requested: true});
		const label = d => { const b = d.querySelector("button.cancel"); return b.textContent + (b.disabled ? " (disabled)" : ""); };
		const fresh = document.createElement("div"), updated = document.createElement("div");
		fresh.innerHTML = jobCard(asked);
		updated.innerHTML = jobCard(j);
		showCancel(updated.querySelector(".card"), asked);
		return label(fresh) + ", " + label(updated);
	})()`); got != "Canceling… (disabled), Canceling… (disabled)" {
		t.Errorf("Cancel button of a job with cancel_requested = %q; want Canceling… (disabled) twice", got)
	}
	p.do("cancel",
		chromedp.Click(chromedp.CSS("#job-fab button.cancel")),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="canceled"] .result`)),
		chromedp.WaitEnabled(chromedp.CSS("#sync-fab")),
	)
	if got := p.text("#job-fab .result"); !strings.Contains(got, "canceled") {
		t.Errorf("summary = %q; want it to say the job was canceled", got)
	}
	if j := sys.latestJob("fab"); j.State != tasks.StateCanceled {
		t.Errorf("job = %s; want canceled", j.State)
	}
}
