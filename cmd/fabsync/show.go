package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func jobsFlags(fs *flag.FlagSet) runner {
	limit := fs.Int("limit", 20, "")
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, c *cli, args []string) int {
		if *limit < 1 {
			return c.usageError("jobs", "--limit must be at least 1")
		}
		return c.jobs(ctx, args[0], *limit, *asJSON)
	}
}

// jobs runs `fabsync jobs FABRIC`.
func (c *cli) jobs(ctx context.Context, fabricName string, limit int, asJSON bool) int {
	var resp struct {
		Jobs []job `json:"jobs"`
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	_, body, err := c.client.getJSON(ctx, http.MethodGet, "/api/v1/fabrics/"+url.PathEscape(fabricName)+"/jobs", q, &resp)
	if err != nil {
		return c.fail(err)
	}
	if asJSON {
		return c.printJSON(body)
	}
	if len(resp.Jobs) == 0 {
		fmt.Fprintf(c.stdout, "No jobs for %s yet. Start one with: %s\n", fabricName, c.hint("sync", fabricName))
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTRIGGER\tSTATE\tSTARTED\tDURATION\tATTEMPTS (GIT/INGEST)")
	for _, j := range resp.Jobs {
		trigger := j.Trigger
		if j.DryRun {
			trigger += " (dry run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\n", j.ID, trigger, j.State, c.timeOrDash(j.StartedAt),
			c.duration(&j), j.GitSync.Attempts, j.Ingest.Attempts)
	}
	if err := tw.Flush(); err != nil {
		return c.fail(err)
	}
	return exitOK
}

func statusFlags(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, c *cli, args []string) int {
		return c.status(ctx, args[0], *asJSON)
	}
}

// status runs `fabsync status JOB`.
func (c *cli) status(ctx context.Context, id string, asJSON bool) int {
	j, body, err := c.client.getJob(ctx, id)
	if err != nil {
		return c.fail(err)
	}
	if asJSON {
		return c.printJSON(body)
	}
	w := c.stdout
	fmt.Fprintf(w, "Job %s\n", j.ID)
	fmt.Fprintf(w, "  Fabric:    %s (trigger: %s)\n", j.Fabric, j.Trigger)
	fmt.Fprintf(w, "  State:     %s\n", j.State)
	if j.DryRun {
		fmt.Fprintln(w, "  Dry run:   yes; it shows what a sync would change and pushes nothing")
	}
	fmt.Fprintf(w, "  Created:   %s\n", c.longTime(j.CreatedAt))
	if j.StartedAt != nil {
		fmt.Fprintf(w, "  Started:   %s\n", c.longTime(*j.StartedAt))
	}
	if j.FinishedAt != nil {
		fmt.Fprintf(w, "  Finished:  %s (took %s)\n", c.longTime(*j.FinishedAt), c.duration(j))
	}
	fmt.Fprintf(w, "  Git sync:  %s\n", stageSummary(j.GitSync.State, j.GitSync.Attempts, j.GitSync.Commit))
	fmt.Fprintf(w, "  Ingest:    %s\n", stageSummary(j.Ingest.State, j.Ingest.Attempts, ""))
	fmt.Fprintln(w)
	if ended(j.State) {
		c.writeOutcome(w, j, j.Ingest.Problems)
	} else {
		fmt.Fprintf(w, "In progress: %s\n", progressBar(j))
		if j.State == stateQueued {
			fmt.Fprintln(w, "It is waiting for a worker (or for the fabric's running job to end).")
		}
	}
	if len(j.Log) > 0 {
		fmt.Fprintln(w, "\nLog:")
		for _, l := range j.Log {
			fmt.Fprintf(w, "  %s  %s\n", l.Time.In(c.loc).Format("2006-01-02 15:04:05"), l.Message)
		}
	}
	return exitOK
}

// stageSummary describes one stage, e.g. "succeeded after 2 attempts, at commit 1a2b3c".
func stageSummary(state string, attempts int, commit string) string {
	s := state
	switch attempts {
	case 0:
	case 1:
		s += " after 1 attempt"
	default:
		s += fmt.Sprintf(" after %d attempts", attempts)
	}
	if commit != "" {
		s += ", at commit " + commit
	}
	return s
}

// writeOutcome says in plain words how an ended job turned out: counts and the pushed commit,
// or every problem found in the raw files, or the reason it failed; then any warnings. probs is
// the job's ingest.problems (see jobProblems); records older than that field list their errors
// in ingest.errors alone, which are shown as before.
func (c *cli) writeOutcome(w io.Writer, j *job, probs []problem) {
	in := j.Ingest
	shown := false // probs were written
	kind := "Sync"
	if j.DryRun {
		kind = "Dry run"
	}
	switch j.State {
	case stateSucceeded:
		if j.DryRun {
			c.writePlan(w, j)
			break
		}
		fmt.Fprintf(w, "Sync of %s succeeded (job %s).\n", j.Fabric, j.ID)
		if in.Files == 0 {
			fmt.Fprintln(w, "Nothing to ingest: raw/ has no YAML files. No commit needed.")
			break
		}
		fmt.Fprintf(w, "Ingested %s, %s: %d created, %d updated, %d unchanged.\n",
			plural(in.Files, "file"), plural(in.Documents, "document"), in.Created, in.Updated, in.Unchanged)
		fmt.Fprintf(w, "Archived %s.\n", plural(in.Archived, "raw file"))
		if in.Commit != "" {
			fmt.Fprintf(w, "Pushed commit %s.\n", in.Commit)
		} else {
			fmt.Fprintln(w, "No commit needed: the repository already matched.")
		}
	case statePartialSync:
		again := "Fix them in raw/, push, and sync again: " + c.hint("sync", j.Fabric, "--wait")
		if j.DryRun {
			again = "Fix them in raw/, push, and preview again: " + c.hint("sync", j.Fabric, "--dry-run", "--wait")
			fmt.Fprintf(w, "Dry run of %s ended in partial_sync (job %s): git sync worked, ingestion found problems, so a sync would fail; nothing was pushed.\n", j.Fabric, j.ID)
		} else {
			fmt.Fprintf(w, "Sync of %s ended in partial_sync (job %s): git sync worked, ingestion failed; nothing was changed in the repository.\n", j.Fabric, j.ID)
		}
		if len(probs) > 0 {
			c.writeProblems(w, probs)
			fmt.Fprintln(w, again)
			shown = true
			break
		}
		if len(in.Errors) > 0 {
			fmt.Fprintf(w, "%s in raw files:\n", plural(len(in.Errors), "problem"))
			for _, e := range in.Errors {
				fmt.Fprintln(w, e.String())
			}
			fmt.Fprintln(w, again)
			break
		}
		fmt.Fprintf(w, "Reason: %s\n", firstNonEmpty(in.Error, j.Reason, "none recorded"))
		writeAttempts(w, in.AttemptErrors)
	case stateFailed:
		fmt.Fprintf(w, "%s of %s failed (job %s): %s\n", kind, j.Fabric, j.ID,
			firstNonEmpty(j.Reason, j.GitSync.Error, j.Ingest.Error, "no reason recorded"))
		writeAttempts(w, slices.Concat(j.GitSync.AttemptErrors, j.Ingest.AttemptErrors))
	case stateCanceled:
		fmt.Fprintf(w, "%s of %s was canceled (job %s): %s\n", kind, j.Fabric, j.ID, firstNonEmpty(j.Reason, "canceled"))
	default:
		fmt.Fprintf(w, "%s of %s ended in state %s (job %s).\n", kind, j.Fabric, j.State, j.ID)
		if j.Reason != "" {
			fmt.Fprintf(w, "Reason: %s\n", j.Reason)
		}
	}
	if len(probs) > 0 && !shown {
		// The warnings of a successful job, or what the last attempt of another one found.
		c.writeProblems(w, probs)
	}
	// ingest.warnings repeats the located warnings as text; list only the others.
	warnings, title := in.Warnings, "warning"
	if rest := unlocatedWarnings(in.Warnings, probs); len(rest) < len(in.Warnings) {
		warnings, title = rest, "other warning"
	}
	if len(warnings) > 0 {
		fmt.Fprintf(w, "%s:\n", plural(len(warnings), title))
		for _, msg := range warnings {
			fmt.Fprintf(w, "  - %s\n", msg)
		}
	}
	if j.DryRun && j.State == stateSucceeded && j.Plan != nil && j.Plan.changes() > 0 {
		fmt.Fprintf(w, "\nTo make these changes: %s\n", c.hint("sync", j.Fabric, "--wait"))
	}
}

// writePlan says what a succeeded dry run found a sync would do: the summary, the counts, then
// each changed file with its diff, e.g.
//
//	Dry run of fabric-1 succeeded (job 2026…): nothing was pushed.
//	adds Switch leaf-03 and 4 Connections
//	A sync would change 1 file: 1 created, 0 updated, 0 deleted; 3 unchanged.
//
//	created managed/switches/leaf-03.yaml (+7 -0)
//	--- /dev/null
//	+++ b/managed/switches/leaf-03.yaml
//	@@ -0,0 +1,7 @@
//	+apiVersion: wiring.githedgehog.com/v1beta1
//
// The diffs come from the repository: they are made printable first, and coloured (+ green,
// - red, @@ cyan) only when stdout is a terminal.
func (c *cli) writePlan(w io.Writer, j *job) {
	fmt.Fprintf(w, "Dry run of %s succeeded (job %s): nothing was pushed.\n", j.Fabric, j.ID)
	p := j.Plan
	if p == nil {
		fmt.Fprintln(w, "The server recorded no plan for it.")
		return
	}
	if p.Summary != "" && p.changes() > 0 { // with no change the server's summary says just that
		fmt.Fprintln(w, printable(p.Summary))
	}
	if p.changes() == 0 {
		if j.Ingest.Files == 0 {
			fmt.Fprintln(w, "Nothing would change: raw/ has no YAML files to ingest.")
		} else {
			fmt.Fprintf(w, "Nothing would change: managed/ already matches raw/ (%s unchanged).\n", plural(p.Unchanged, "file"))
		}
		return
	}
	fmt.Fprintf(w, "A sync would change %s: %d created, %d updated, %d deleted; %d unchanged.\n",
		plural(p.changes(), "file"), p.Created, p.Updated, p.Deleted, p.Unchanged)
	col := c.colors()
	shown := 0 // changed files whose diff is printed
	for _, f := range p.Files {
		if f.Action == actionUnchanged {
			continue
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "%s %s (+%d -%d)\n", col.paint(printable(f.Action), actionColour(f.Action)),
			col.paint(printable(f.Path), ansiBold), f.Added, f.Removed)
		diff := strings.TrimRight(f.Diff, "\n")
		if diff == "" {
			continue
		}
		shown++
		for l := range strings.SplitSeq(diff, "\n") {
			l = printable(strings.TrimRight(l, "\r"))
			fmt.Fprintln(w, col.paint(l, diffColour(l)))
		}
	}
	if p.Truncated {
		fmt.Fprintf(w, "\n%s not shown (over the 256 KiB bound).\n", plural(max(0, p.changes()-shown), "diff"))
	}
}

// actionColour is the colour of a plan file's action.
func actionColour(action string) string {
	switch action {
	case actionCreated:
		return ansiGreen
	case actionUpdated:
		return ansiYellow
	case actionDeleted:
		return ansiRed
	}
	return ""
}

// diffColour is the colour of a line of a unified diff, by its first characters: the file
// headers bold, hunk headers cyan, added lines green, removed lines red, context none.
func diffColour(l string) string {
	switch {
	case strings.HasPrefix(l, "+++ "), strings.HasPrefix(l, "--- "):
		return ansiBold
	case strings.HasPrefix(l, "@@"):
		return ansiCyan
	case strings.HasPrefix(l, "+"):
		return ansiGreen
	case strings.HasPrefix(l, "-"):
		return ansiRed
	}
	return ""
}

// writeAttempts lists each attempt's error when there was more than one attempt; a single one
// is already the reason.
func writeAttempts(w io.Writer, errs []string) {
	if len(errs) < 2 {
		return
	}
	fmt.Fprintln(w, "Attempts:")
	for _, e := range errs {
		fmt.Fprintf(w, "  - %s\n", e)
	}
}

// String formats a problem as "file:line:col document N: message", the form editors and
// terminals link to, leaving out the parts that are unknown.
func (e docError) String() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	if e.Document > 0 {
		b.WriteString(" document " + strconv.Itoa(e.Document))
	}
	b.WriteString(": " + e.Message)
	return b.String()
}

// problemFile is the problems of one file, errors before warnings.
type problemFile struct {
	name             string
	errors, warnings int
	problems         []problem
}

// groupProblems groups problems by file, keeping the server's order (by file, document,
// line) within errors and within warnings; files with errors come first.
func groupProblems(probs []problem) []*problemFile {
	var files []*problemFile
	byName := map[string]*problemFile{}
	for _, p := range probs {
		f := byName[p.File]
		if f == nil {
			f = &problemFile{name: p.File}
			byName[p.File] = f
			files = append(files, f)
		}
		if p.isWarning() {
			f.warnings++
		} else {
			f.errors++
		}
		f.problems = append(f.problems, p)
	}
	for _, f := range files {
		slices.SortStableFunc(f.problems, func(a, b problem) int { return cmpBool(a.isWarning(), b.isWarning()) })
	}
	slices.SortStableFunc(files, func(a, b *problemFile) int { return cmpBool(a.errors == 0, b.errors == 0) })
	return files
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// problemCounts says "2 errors, 1 warning", leaving out a zero count (but not both).
func problemCounts(errors, warnings int) string {
	var parts []string
	if errors > 0 || warnings == 0 {
		parts = append(parts, plural(errors, "error"))
	}
	if warnings > 0 {
		parts = append(parts, plural(warnings, "warning"))
	}
	return strings.Join(parts, ", ")
}

// location is where a problem is in its file: "15:6", "15", "document 2", or "-".
func (p problem) location() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
	case p.Line > 0:
		return strconv.Itoa(p.Line)
	case p.Document > 0:
		return "document " + strconv.Itoa(p.Document)
	}
	return "-"
}

// writeProblems writes problems grouped by file, one line each with aligned columns (where,
// severity, rule, message) and the excerpt below it, then the counts:
//
//	raw/wiring.yaml (1 error)
//	  15:6  error  schema-unknown-field  unknown field spec.gatway (did you mean gateway?)
//	        14 |   spec:
//	        15 |      gatway: 10.0.1.1
//	           |      ^
//
//	1 error in 1 file.
//
// Everything that comes from the raw files is made printable first: a YAML file must not be
// able to send escape sequences to the terminal. Colour only when stdout is a terminal.
func (c *cli) writeProblems(w io.Writer, probs []problem) {
	files := groupProblems(probs)
	var locW, ruleW, errors, warnings int
	for _, f := range files {
		errors += f.errors
		warnings += f.warnings
		for _, p := range f.problems {
			locW = max(locW, len(p.location()))
			ruleW = max(ruleW, len([]rune(printable(firstNonEmpty(p.Rule, "-")))))
		}
	}
	sevW := len("error")
	if warnings > 0 {
		sevW = len(severityWarning)
	}
	col := c.colors()
	for _, f := range files {
		fmt.Fprintln(w)
		name := printable(firstNonEmpty(f.name, "(no file)"))
		fmt.Fprintf(w, "%s (%s)\n", col.paint(name, ansiBold), problemCounts(f.errors, f.warnings))
		for _, p := range f.problems {
			sev, paint := "error", ansiRed
			if p.isWarning() {
				sev, paint = severityWarning, ansiYellow
			}
			rule := printable(firstNonEmpty(p.Rule, "-"))
			fmt.Fprintf(w, "  %-*s  %s  %s  %s\n", locW, p.location(),
				col.paint(pad(sev, sevW), paint), pad(rule, ruleW), printable(p.Message))
			excerpt := strings.TrimRight(p.Excerpt, "\n")
			if excerpt == "" {
				continue
			}
			indent := strings.Repeat(" ", 2+locW+2)
			for l := range strings.SplitSeq(excerpt, "\n") {
				l = printable(strings.TrimRight(l, "\r"))
				if isCaretLine(l) {
					l = col.paint(l, paint)
				}
				fmt.Fprintf(w, "%s%s\n", indent, strings.TrimRight(l, " "))
			}
		}
	}
	fmt.Fprintf(w, "\n%s in %s.\n", problemCounts(errors, warnings), plural(len(files), "file"))
}

// pad right-pads s with spaces to n runes.
func pad(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-len([]rune(s))))
}

// isCaretLine reports whether an excerpt line is the one marking the column ("   |      ^").
func isCaretLine(l string) bool {
	before, after, ok := strings.Cut(l, "| ")
	return ok && strings.TrimSpace(before) == "" && strings.TrimSpace(after) == "^"
}

// printable replaces control characters (escape sequences, carriage returns, C1 controls) with
// Go escapes, so that text from a raw file cannot move the cursor or recolour the terminal.
// Tabs stay.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r != '\t' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}

// unlocatedWarnings returns the warnings that are not one of the located warnings in probs
// (ingest.warnings repeats those as "file:line:col document N: message").
func unlocatedWarnings(warnings []string, probs []problem) []string {
	var out []string
	for _, msg := range warnings {
		located := slices.ContainsFunc(probs, func(p problem) bool {
			return p.isWarning() && p.Message != "" && strings.Contains(msg, p.Message) && strings.HasPrefix(msg, p.File)
		})
		if !located {
			out = append(out, msg)
		}
	}
	return out
}

// ANSI SGR codes for colours.
const (
	ansiBold   = "1"
	ansiRed    = "31"
	ansiGreen  = "32"
	ansiYellow = "33"
	ansiCyan   = "36"
)

// colors paints text when enabled.
type colors struct{ on bool }

// colors returns whether stdout gets colour: only when it is a terminal, TERM is not "dumb"
// and NO_COLOR (https://no-color.org) is unset or empty.
func (c *cli) colors() colors {
	return colors{on: isTerminal(c.stdout) && c.getenv("TERM") != "dumb" && c.getenv("NO_COLOR") == ""}
}

func (c colors) paint(s, code string) string {
	if !c.on || s == "" || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func fabricsFlags(fs *flag.FlagSet) runner {
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, c *cli, _ []string) int {
		return c.fabrics(ctx, *asJSON)
	}
}

// fabrics runs `fabsync fabrics`.
func (c *cli) fabrics(ctx context.Context, asJSON bool) int {
	var resp struct {
		Fabrics []fabric `json:"fabrics"`
	}
	_, body, err := c.client.getJSON(ctx, http.MethodGet, "/api/v1/fabrics", nil, &resp)
	if err != nil {
		return c.fail(err)
	}
	if asJSON {
		return c.printJSON(body)
	}
	if len(resp.Fabrics) == 0 {
		fmt.Fprintln(c.stdout, "No fabrics are configured on this server (see FABSYNC_CONFIG on the server).")
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREPO\tBRANCH\tPATH\tRESYNC\tLAST JOB")
	for _, f := range resp.Fabrics {
		last := "never synced"
		if j := f.LatestJob; j != nil {
			at := j.CreatedAt
			if j.FinishedAt != nil {
				at = *j.FinishedAt
			}
			last = j.State + ", " + c.shortTime(at)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Repo, f.Branch, f.Path, firstNonEmpty(f.Resync, "off"), last)
	}
	if err := tw.Flush(); err != nil {
		return c.fail(err)
	}
	return exitOK
}

// runCancel runs `fabsync cancel JOB`.
func runCancel(ctx context.Context, c *cli, args []string) int {
	var j job
	_, _, err := c.client.getJSON(ctx, http.MethodPost, "/api/v1/jobs/"+url.PathEscape(args[0])+"/cancel", nil, &j)
	if err != nil {
		return c.fail(err)
	}
	if j.State == stateCanceled {
		fmt.Fprintf(c.stdout, "Job %s (%s) is canceled.\n", j.ID, j.Fabric)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "Cancel requested: job %s (%s) is %s and stops at its next check.\nCheck it with: %s\n",
		j.ID, j.Fabric, j.State, c.hint("status", j.ID))
	return exitOK
}

// duration is how long a job ran: start to finish, or start to now while it runs.
func (c *cli) duration(j *job) string {
	if j.StartedAt == nil {
		return "-"
	}
	if j.FinishedAt != nil {
		return roundDuration(j.FinishedAt.Sub(*j.StartedAt))
	}
	return roundDuration(c.now().Sub(*j.StartedAt)) + " so far"
}

func roundDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func (c *cli) timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return c.shortTime(*t)
}

func (c *cli) shortTime(t time.Time) string { return t.In(c.loc).Format("2006-01-02 15:04:05") }

func (c *cli) longTime(t time.Time) string { return t.In(c.loc).Format("2006-01-02 15:04:05 MST") }

// plural returns "1 file", "3 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// printJSON prints an API answer as it came, for --json.
func (c *cli) printJSON(body []byte) int {
	if err := writeJSON(c.stdout, body); err != nil {
		return c.fail(err)
	}
	return exitOK
}
