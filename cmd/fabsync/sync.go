package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// exitChanges is the exit code of sync --dry-run --wait --detailed-exitcode when the dry run
// found changes to make (terraform plan -detailed-exitcode's 2 is taken by partial_sync here).
const exitChanges = 3

// maxPollOutage is how long --wait keeps retrying while the server is unreachable or answers
// 5xx (a restart, a proxy hiccup) before it gives up.
const maxPollOutage = time.Minute

func syncFlags(fs *flag.FlagSet) runner {
	wait := fs.Bool("wait", false, "")
	asJSON := fs.Bool("json", false, "")
	dryRun := fs.Bool("dry-run", false, "")
	detailed := fs.Bool("detailed-exitcode", false, "")
	return func(ctx context.Context, c *cli, args []string) int {
		if *detailed && (!*dryRun || !*wait) {
			return c.usageError("sync", "--detailed-exitcode only works with --dry-run --wait: it tells what the dry run found")
		}
		return c.sync(ctx, args[0], syncOptions{wait: *wait, asJSON: *asJSON, dryRun: *dryRun, detailed: *detailed})
	}
}

// syncOptions are the flags of `fabsync sync`.
type syncOptions struct {
	wait, asJSON bool
	dryRun       bool // ask for a dry run: a plan of what the sync would change, nothing pushed
	detailed     bool // --detailed-exitcode: exit 0 no change, 3 changes, 2 problems
}

// dryRunBody is the request body of a dry run.
var dryRunBody = []byte(`{"dry_run":true}` + "\n")

// sync runs `fabsync sync FABRIC [--dry-run] [--wait] [--json] [--detailed-exitcode]`.
func (c *cli) sync(ctx context.Context, fabricName string, o syncOptions) int {
	var in []byte
	what := "sync"
	if o.dryRun {
		in, what = dryRunBody, "dry run"
	}
	var j job
	status, body, err := c.client.sendJSON(ctx, http.MethodPost, "/api/v1/fabrics/"+url.PathEscape(fabricName)+"/sync", nil, in, &j)
	if err != nil {
		return c.fail(err)
	}
	existing := status == http.StatusOK // 200: a job was already waiting; 202: a new one
	if o.dryRun && !j.DryRun {
		// A server that predates dry runs refuses the body (400); one that ignored it would
		// have started a real sync, which must not pass for a preview.
		if existing {
			return c.fail(fmt.Errorf("asked for a dry run of %s, but the server answered with job %s, a real sync that was already waiting, not a dry run",
				fabricName, j.ID))
		}
		return c.fail(fmt.Errorf("asked for a dry run of %s, but the server started job %s, which is not one: "+
			"this server does not support dry runs, and runs that job as a real sync (cancel it with: %s)",
			fabricName, j.ID, c.hint("cancel", j.ID)))
	}
	if !o.wait {
		if o.asJSON {
			return c.printJSON(body)
		}
		if existing {
			fmt.Fprintf(c.stdout, "A %s of %s was already waiting, so no new job was created: job %s is %s.\n", what, j.Fabric, j.ID, j.State)
		} else {
			fmt.Fprintf(c.stdout, "Started a %s of %s: job %s is %s.\n", what, j.Fabric, j.ID, j.State)
		}
		if o.dryRun {
			fmt.Fprintf(c.stdout, "See its plan, once it ended, with: %s\n", c.hint("status", j.ID))
		} else {
			fmt.Fprintf(c.stdout, "Follow it with: %s\n", c.hint("status", j.ID))
		}
		return exitOK
	}

	if existing {
		fmt.Fprintf(c.stderr, "A %s of %s was already waiting; following that job, %s.\n", what, j.Fabric, j.ID)
	} else {
		fmt.Fprintf(c.stderr, "Started a %s of %s: job %s.\n", what, j.Fabric, j.ID)
	}
	final, body, code := c.wait(ctx, &j, body)
	if final == nil {
		return code
	}
	if o.asJSON {
		if err := writeJSON(c.stdout, body); err != nil {
			return c.fail(err)
		}
	} else {
		c.writeOutcome(c.stdout, final, final.Ingest.Problems)
	}
	if o.detailed {
		return detailedExitFor(final)
	}
	return exitFor(final.State)
}

// exitFor is the exit code of sync --wait for a job that ended in state.
func exitFor(state string) int {
	switch state {
	case stateSucceeded:
		return exitOK
	case statePartialSync:
		return exitPartial
	}
	return exitError
}

// detailedExitFor is the exit code of sync --dry-run --wait --detailed-exitcode, as terraform
// plan -detailed-exitcode has it: 0 nothing would change, 3 changes would be made, 2 problems
// were found (partial_sync); a failed or canceled job keeps exitFor's code.
func detailedExitFor(j *job) int {
	if j.State == stateSucceeded && j.Plan != nil && j.Plan.changes() > 0 {
		return exitChanges
	}
	return exitFor(j.State)
}

// wait polls job j until it ends and returns the final job and its raw JSON. When it stops
// early (Ctrl-C, --timeout, the server lost) it says so on stderr and returns a nil job and the
// exit code. The job itself is never canceled here.
func (c *cli) wait(ctx context.Context, j *job, body []byte) (*job, []byte, int) {
	deadline := time.NewTimer(c.opts.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(c.opts.interval)
	defer tick.Stop()
	p := &progressView{w: c.stderr, terminal: c.terminal, width: c.termWidth}
	var failingSince time.Time
	for {
		p.show(j)
		if ended(j.State) {
			p.done()
			return j, body, exitOK
		}
		select {
		case <-ctx.Done():
			p.done()
			fmt.Fprintf(c.stderr, "Stopped waiting. Job %s was not canceled and keeps running.\nCheck it later with: %s\n",
				j.ID, c.hint("status", j.ID))
			return nil, nil, exitInterrupted
		case <-deadline.C:
			p.done()
			fmt.Fprintf(c.stderr, "fabsync: gave up waiting after %s: job %s is still %s\nCheck it later with: %s\n",
				c.opts.timeout, j.ID, j.State, c.hint("status", j.ID))
			return nil, nil, exitError
		case <-tick.C:
		}
		nj, nb, err := c.client.getJob(ctx, j.ID)
		switch {
		case err == nil:
			failingSince = time.Time{}
			j, body = nj, nb
		case ctx.Err() != nil:
			// Reported by the select above.
		case isTransient(err) && (failingSince.IsZero() || c.now().Sub(failingSince) < maxPollOutage):
			if failingSince.IsZero() {
				failingSince = c.now()
				p.note(fmt.Sprintf("fabsync: %v; still trying", err))
			}
		default:
			p.done()
			code := c.fail(fmt.Errorf("follow job %s: %w", j.ID, err))
			fmt.Fprintf(c.stderr, "The job may still be running. Check it later with: %s\n", c.hint("status", j.ID))
			return nil, nil, code
		}
	}
}

// progressView shows a job's progress on stderr while sync --wait polls: on a terminal one
// bar redrawn in place, elsewhere (a pipe, a CI log) one plain line per change of stage or
// message, never a carriage return.
type progressView struct {
	w        io.Writer
	terminal bool
	width    int

	last  string // what was shown last, to skip repeats
	drawn bool   // a bar is on the current terminal line
}

func (p *progressView) show(j *job) {
	if p.terminal {
		line := truncate(progressBar(j), p.width-1)
		if p.drawn && line == p.last {
			return
		}
		// \x1b[K clears what a longer previous line left behind.
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		p.last, p.drawn = line, true
		return
	}
	key := j.Progress.Stage + "\x00" + j.Progress.Message
	if key == p.last {
		return
	}
	p.last = key
	fmt.Fprintf(p.w, "[%3d%%] %s\n", clampPercent(j.Progress.Percent), progressText(j))
}

// done ends the bar's line, leaving the last state visible.
func (p *progressView) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

// note prints a line of its own; the bar is redrawn below it on the next show.
func (p *progressView) note(msg string) {
	p.done()
	fmt.Fprintln(p.w, msg)
	if p.terminal {
		p.last = ""
	}
}

// barWidth is the number of cells in the progress bar.
const barWidth = 20

// progressBar renders `[#########...........] 45% ingest: 3 files, 120 documents`.
func progressBar(j *job) string {
	pct := clampPercent(j.Progress.Percent)
	n := pct * barWidth / 100
	return fmt.Sprintf("[%s%s] %d%% %s", strings.Repeat("#", n), strings.Repeat(".", barWidth-n), pct, progressText(j))
}

// progressText is the stage and message, e.g. "git sync: receiving objects".
func progressText(j *job) string {
	stage := stageLabel(j.Progress.Stage)
	switch {
	case stage == "":
		return j.Progress.Message
	case j.Progress.Message == "":
		return stage
	}
	return stage + ": " + j.Progress.Message
}

func stageLabel(stage string) string {
	if stage == "git_sync" {
		return "git sync"
	}
	return stage
}

func clampPercent(p int) int {
	return max(0, min(p, 100))
}

// truncate shortens s to at most n runes, marking the cut with "…", so a redrawn line never
// wraps (a wrapped line cannot be redrawn with \r).
func truncate(s string, n int) string {
	r := []rune(s)
	if n < 1 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
