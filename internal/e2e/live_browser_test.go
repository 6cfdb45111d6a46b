package e2e_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// liveJob is the part of a job TestLiveUI reads: its progress with the fields that tell a
// stalled job, which tasks.Job may not have in every version.
type liveJob struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Progress struct {
		UpdatedAt string `json:"updated_at"`
		Timeout   int    `json:"timeout_seconds"`
	} `json:"progress"`
	Log []struct {
		Message string `json:"message"`
	} `json:"log"`
}

// TestLiveUI follows a job that hangs in its git fetch (the git server holds the request) on
// the fabric's card, its row and the history, opened with the History button: the history
// follows the job while it runs; with the UI's clock moved past the stage's timeout the job
// shows as stalled, with for how long; a cancel asked for shows as "canceling…"; Cancel in the
// history cancels it, and the log marks its "cancel requested" line; and Cancel on a job that
// has just ended (409 job_ended) says so plainly instead of showing an error.
func TestLiveUI(t *testing.T) {
	g := newGatedGit(t)
	g.NewRepo(t, "gitops", map[string]string{"fab/raw/wiring.yaml": readTestdata(t, "wiring.yaml")})
	release := make(chan struct{})
	var once sync.Once
	// Registered after newGatedGit's cleanup, so it runs before: the held request returns
	// before the git server closes.
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	g.set(func() int { <-release; return 0 }, nil)
	sys := start(t, fmt.Sprintf("fabrics:\n  - {name: fab, repo: %q, path: fab}\n", g.repoURL("gitops")), options{})
	p := newPage(t, sys)

	p.do("open the history with its button",
		chromedp.Click(chromedp.CSS(`#fabric-fab button.view[data-view="history"]`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`#history tbody td`)),
	)
	if got := p.text("#detail-title"); got != "History of fab" {
		t.Errorf("detail title = %q; want History of fab", got)
	}
	p.do("sync until the fetch hangs",
		chromedp.Click(chromedp.CSS("#sync-fab"), chromedp.NodeEnabled),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="syncing"]`)),
	)
	id := eval[string](p, `document.querySelector("#job-fab .card").dataset.job`)
	row := fmt.Sprintf(`#history tr[data-job=%q]`, id)
	// The history polls while a job of it is active (every second; the page's own refresh is
	// every 5 s): the row follows the job to syncing.
	p.do("wait for the history to show the job syncing",
		chromedp.Poll[chromedp.Void](`document.querySelector(`+strconv.Quote(row+" .state.syncing")+`) !== null`, chromedp.WithPollingTimeout(3*time.Second)),
	)
	if n := eval[int](p, `document.querySelectorAll(".live").length`); n != 0 {
		t.Errorf("%d live notes (canceling, stalled) on a job that runs normally; want none", n)
	}

	// Stalled: the test cannot wait out the stage's timeout, so it moves the UI's clock (now()
	// in app.js adds window.fabsyncClockOffsetMs) to 7.5 min past the timeout after the job's
	// last progress. The job and its progress are the server's own.
	var j liveJob
	apiGet(t, sys, "/api/v1/jobs/"+id, &j)
	at, err := time.Parse(time.RFC3339Nano, j.Progress.UpdatedAt)
	if j.State != "syncing" || err != nil || j.Progress.Timeout <= 0 {
		t.Fatalf("job %s is %s with progress.updated_at %q, timeout_seconds %d; want a syncing job with both (the server side is missing)",
			id, j.State, j.Progress.UpdatedAt, j.Progress.Timeout)
	}
	idle := time.Duration(j.Progress.Timeout)*time.Second + 450*time.Second
	want := fmt.Sprintf("stalled: no progress for %d min", int(idle/time.Minute))
	eval[chromedp.Void](p, fmt.Sprintf(`window.fabsyncClockOffsetMs = %d - Date.now()`, at.Add(idle).UnixMilli()))
	p.do("wait for stalled on the card and the row",
		chromedp.Poll[chromedp.Void](`(e => e && e.textContent === `+strconv.Quote(want)+`)(document.querySelector("#job-fab .live-note .live.stalled"))`,
			chromedp.WithPollingTimeout(3*time.Second)),
	)
	if got := p.text("#fabric-fab td.last .live.stalled"); got != want {
		t.Errorf("fabric row says %q; want %q", got, want)
	}
	p.do("wait for stalled in the history",
		chromedp.Poll[chromedp.Void](`(e => e && e.textContent === `+strconv.Quote(want)+`)(document.querySelector(`+strconv.Quote(row+" .live.stalled")+`))`,
			chromedp.WithPollingTimeout(3*time.Second)),
	)
	p.shot("stalled")
	eval[chromedp.Void](p, `window.fabsyncClockOffsetMs = 0`)
	poll(p, "wait for the stalled note to go", `document.querySelectorAll(".live.stalled").length === 0`)

	// Canceling: a cancel asked for ends this job at once (the worker aborts the held fetch), so
	// the page would show "canceling…" for some milliseconds only. The test makes the page see
	// the job as the API reports it between the cancel and its effect: it intercepts the page's
	// fetch and sets cancel_requested on this job's JSON, wherever the API returns it.
	eval[chromedp.Void](p, fmt.Sprintf(`(() => {
		const id = %q, real = window.fetch;
		window.__realFetch = real;
		const mark = j => { if (j && j.id === id && ["queued", "syncing", "ingesting"].includes(j.state)) j.cancel_requested = true; };
		window.fetch = async (...args) => {
			const r = await real(...args);
			if (!r.ok || !/\/api\/v1\/(jobs|fabrics)/.test(String(args[0]))) return r;
			const b = await r.clone().json().catch(() => null);
			if (!b) return r;
			mark(b);
			(b.jobs || []).forEach(mark);
			(b.fabrics || []).forEach(f => mark(f.latest_job));
			return new Response(JSON.stringify(b), {status: r.status, headers: r.headers});
		};
	})()`, id))
	p.do("wait for canceling on the card",
		chromedp.Poll[chromedp.Void](`(e => e && e.textContent === "canceling…")(document.querySelector("#job-fab .live-note .live.canceling"))`, chromedp.WithPollingTimeout(3*time.Second)),
	)
	if got := p.text("#job-fab button.cancel"); got != "Canceling…" || !eval[bool](p, `document.querySelector("#job-fab button.cancel").disabled`) {
		t.Errorf("card's Cancel button = %q (disabled: false); want Canceling…, disabled", got)
	}
	if got := p.text("#fabric-fab td.last .live.canceling"); got != "canceling…" {
		t.Errorf("fabric row says %q; want canceling…", got)
	}
	p.do("wait for canceling in the history",
		chromedp.Poll[chromedp.Void](`(e => e && e.textContent === "canceling…")(document.querySelector(`+strconv.Quote(row+" .live.canceling")+`))`, chromedp.WithPollingTimeout(3*time.Second)),
	)
	eval[chromedp.Void](p, `window.fetch = window.__realFetch`)

	// A real cancel, from the history; the log marks the line that says it was asked for.
	// The history row was drawn with a disabled "Canceling…" while the page saw the
	// cancel_requested; its next poll draws it anew, with Cancel enabled.
	p.do("cancel from the history",
		chromedp.Poll[chromedp.Void](`(b => b && !b.disabled)(document.querySelector(`+strconv.Quote(row+" button.cancel")+`))`, chromedp.WithPollingTimeout(3*time.Second)),
		chromedp.Click(chromedp.CSS(row+" button.cancel")),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="canceled"] .result`)),
		chromedp.WaitVisible(chromedp.CSS(row+" .state.canceled")),
	)
	if n := eval[int](p, `document.querySelectorAll("#job-fab button.cancel, .live").length`); n != 0 {
		t.Errorf("%d Cancel buttons or live notes after the job ended; want none", n)
	}
	p.do("show the log",
		chromedp.Click(chromedp.CSS(row+" button.showlog")),
		chromedp.WaitVisible(chromedp.CSS("#joblog .cancel-line")),
	)
	apiGet(t, sys, "/api/v1/jobs/"+id, &j)
	var line string
	for _, l := range j.Log {
		if l.Message == "cancel requested" {
			line = l.Message
		}
	}
	if line == "" {
		t.Fatalf("the job's log has no \"cancel requested\" line: %+v", j.Log)
	}
	if got := p.text("#joblog .cancel-line"); !strings.HasSuffix(got, "  "+line) {
		t.Errorf("marked log line = %q; want the %q line", got, line)
	}
	if !eval[bool](p, `(() => {
		const pre = document.getElementById("joblog"), l = pre.querySelector(".cancel-line");
		const a = pre.getBoundingClientRect(), b = l.getBoundingClientRect();
		return b.height > 0 && b.top >= a.top && b.bottom <= a.bottom && getComputedStyle(l).fontWeight >= 600;
	})()`) {
		t.Error("the cancel requested line is not in view in the log, or not marked")
	}

	// Cancel on a card that still shows the job running (the page had not polled since it
	// ended): the API answers 409 job_ended. The test draws that stale card itself and clicks
	// it in the same script, so that no poll can redraw it in between.
	eval[chromedp.Void](p, `(() => {
		const f = state.fabrics.find(x => x.name === "fab");
		setHTML(document.getElementById("job-fab"), jobCard(Object.assign({}, f.latest_job, {state: "syncing", cancel_requested: false, finished_at: null})));
		document.querySelector("#job-fab button.cancel").click();
	})()`)
	msg := fmt.Sprintf("job %s already ended (canceled); nothing to cancel", id)
	p.do("wait for the message",
		chromedp.Poll[chromedp.Void](`document.getElementById("banner").textContent === `+strconv.Quote(msg), chromedp.WithPollingTimeout(browserTimeout)),
		chromedp.WaitVisible(chromedp.CSS(`#job-fab .card[data-state="canceled"]`)),
	)
	if cls := eval[string](p, `document.getElementById("banner").className`); strings.Contains(cls, "action") || !strings.Contains(cls, "info") {
		t.Errorf("banner class = %q; want an info message, not an error", cls)
	}
	if n := eval[int](p, `document.querySelectorAll("#job-fab button.cancel").length`); n != 0 {
		t.Errorf("%d Cancel buttons still on the card of the ended job", n)
	}
}
