package tasks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/plan"
)

// Pull request delivery (deliver: pull_request, docs/DELIVERY.md): the ingest round commits as
// for a push, then pushes the commit to the branch fabsync/<fabric> instead of the fabric's
// branch, forced with a lease, and has the fabric's Forge open or update the one pull request
// from that branch.

// ErrForgePermanent is what a Forge wraps into an error no retry can fix: the forge refused
// the token (401, 403 for want of a permission), the repository or a branch is not there
// (404), or it refused the request as invalid (422). A job whose pull request fails so ends
// failed at once; any other error of EnsurePullRequest is retried. An error with a method
// Permanent() bool that reports true, or one wrapping asynq.SkipRetry, counts as permanent too.
var ErrForgePermanent = errors.New("the forge refused the request")

// forgePermanent reports whether an error of a Forge is one no retry can fix.
func forgePermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.Is(err, ErrForgePermanent) || errors.Is(err, ErrNoForge) || errors.Is(err, asynq.SkipRetry) ||
		IsPermanent(err) || (errors.As(err, &p) && p.Permanent())
}

// delivery is the pull request delivery of one ingest stage.
type delivery struct {
	forge  Forge
	name   string // the forge, for messages: forge.type, else the repository's host
	branch string // fabsync/<fabric>

	// What readBranch found at the start of the round: the branch's head on the remote
	// ("" when there is none), that commit, and whether it is this job's (an earlier attempt
	// pushed it).
	head string
	info gitops.CommitInfo
	ours bool
}

// newDelivery returns the delivery of a fabric with deliver: pull_request, or nil for one
// that pushes. No forge is a permanent error, before anything is ingested or pushed.
func (h *Handler) newDelivery(ctx context.Context, f config.Fabric, fa ForgeAuth) (*delivery, error) {
	if !f.DeliversPullRequest() {
		return nil, nil
	}
	fg, err := h.forge(ctx, f, fa)
	if err != nil {
		return nil, err
	}
	return &delivery{forge: fg, name: forgeName(f), branch: f.PullRequestBranch()}, nil
}

// readBranch reads where the pull request's branch is on the remote and, when it exists,
// brings its head into the clone: one ls-remote round trip, and a fetch only when the clone
// lacks the commit (another worker pushed it).
func (h *Handler) readBranch(ctx context.Context, c *gitops.Client, d *delivery, id string) error {
	d.head, d.info, d.ours = "", gitops.CommitInfo{}, false
	head, found, err := c.BranchHead(ctx, d.branch)
	if err != nil || !found {
		return err
	}
	if err := c.FetchBranch(ctx, d.branch, head); err != nil {
		return err
	}
	ci, err := c.ReadCommit(head)
	if err != nil {
		return err
	}
	d.head, d.info, d.ours = head, ci, ci.HasTrailer(TrailerKey, id)
	return nil
}

// deliverPullRequest delivers sha, the round's commit on top of base (the fabric's branch as
// synced), by pull request, and ends the job. It pushes sha to the branch unless the branch
// holds the same change already: the same tree, or, when the branch's commit was made on the
// same base, the same tree apart from the fabric's .hnp/ (the archive, the archive log and the
// manifest's sources name the job that wrote them, so another job's ingest of the same raw
// files differs there only). A push that finds the branch moved since readBranch returns
// gitops.ErrLeaseLost: the stage starts the round over. Then the forge opens or updates the
// pull request; a transient forge error is returned (the task is retried, and the re-run
// finds the branch holding the change: it pushes nothing and updates the same pull request),
// a permanent one, or one on the last attempt, ends the job failed, the branch pushed.
func (h *Handler) deliverPullRequest(ctx context.Context, c *gitops.Client, a *attempt, d *delivery, base, sha string, res *ingest.Result, changes *plan.Plan) (bool, error) {
	id := a.p.JobID
	commit, pushed := sha, false
	if d.head != "" {
		var ignore []string
		if len(d.info.Parents) == 1 && d.info.Parents[0] == base {
			ignore = []string{path.Join(a.fab.Path, ".hnp")}
		}
		same, err := c.SameTree(sha, d.head, ignore...)
		if err != nil {
			return false, err
		}
		if same {
			commit, pushed = d.head, d.ours
		}
	}
	if commit == sha {
		h.note(ctx, id, 90, "pushing "+short(sha)+" to "+d.branch)
		if _, err := h.timed(ctx, "push", func() (string, error) { return "", c.PushTo(ctx, d.branch, d.head) }); err != nil {
			return false, fmt.Errorf("push: %w", err)
		}
		pushed = true
		h.note(ctx, id, 93, fmt.Sprintf("pushed %s to %s; opening the pull request", short(sha), d.branch))
	} else {
		h.note(ctx, id, 93, fmt.Sprintf("%s already holds this change (%s): nothing pushed; updating the pull request", d.branch, short(commit)))
	}
	spec := PullRequestSpec{
		Head: d.branch, Base: a.fab.Branch,
		Title:  prTitle(res, changes),
		Body:   prBody(a.fab, id, h.jobURL(id), res, changes),
		Reopen: pushed,
	}
	pr, err := d.forge.EnsurePullRequest(ctx, spec)
	if err != nil {
		err = fmt.Errorf("pull request %s → %s on %s: %w", d.branch, a.fab.Branch, d.name, err)
		if forgePermanent(err) || a.final {
			return true, h.failDelivery(ctx, a, d, commit, err)
		}
		return false, err
	}
	if pr.State == "merged" {
		// Every change this function delivers is one the fabric's branch does not have yet (it
		// was committed on top of it), so a merged pull request cannot hold it: the forge
		// returned an old one instead of opening a new one. Saying so beats a job that
		// succeeds with a change nobody will ever see.
		err := fmt.Errorf("pull request %s → %s on %s: the forge returned #%d, merged already, for a change %s does not have: %w",
			d.branch, a.fab.Branch, d.name, pr.Number, a.fab.Branch, ErrForgePermanent)
		return true, h.failDelivery(ctx, a, d, commit, err)
	}
	verb := "updated"
	if pr.Created {
		verb = "opened"
	}
	msg := fmt.Sprintf("pull request %s (%s, %s): %s", verb, pr.State, d.name, pr.URL)
	if pushed && commit == sha {
		msg = "pushed " + short(sha) + " to " + d.branch + "; " + msg
	}
	return true, h.succeedWith(ctx, id, commit, msg, func(j *Job) {
		j.Changes = changes
		j.PullRequest = pr
	})
}

// failDelivery ends the job failed after the branch was pushed but the pull request could not
// be opened or updated: the reason names the forge, the error and where the commit is.
func (h *Handler) failDelivery(ctx context.Context, a *attempt, d *delivery, commit string, err error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	next := "not retried: the forge's answer is permanent"
	if !forgePermanent(err) {
		next = "no retries left"
	}
	msg := err.Error()
	reason := fmt.Sprintf("the pull request could not be opened on %s: %s; the branch %s holds the change (%s), and the next sync tries again",
		d.name, msg, d.branch, short(commit))
	_, _, endErr := h.svc.end(ctx, a.p.JobID, func(j *Job, now time.Time) error {
		if err := j.retry(StageIngest, a.number, msg, next, now); err != nil {
			return err
		}
		j.Ingest.Commit = commit
		return j.fail(reason, now)
	})
	if endErr != nil && !errors.Is(endErr, ErrTransition) {
		return endErr
	}
	h.log.WarnContext(ctx, "pull request failed", "fabric", a.fab.Name, "job_id", a.p.JobID, "forge", d.name, "err", msg)
	return nil
}

// forgeName names the fabric's forge in messages: forge.type, else the repository's host.
func forgeName(f config.Fabric) string {
	if f.Forge.Type != "" {
		return f.Forge.Type
	}
	repo := f.RedactedRepo()
	if u, err := url.Parse(repo); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if _, rest, ok := strings.Cut(repo, "@"); ok {
		if host, _, ok := strings.Cut(rest, ":"); ok {
			return host
		}
	}
	return "the forge"
}

// Bounds of a pull request's body.
const (
	prMaxChanges  = 50
	prMaxWarnings = 20
	prMaxTitle    = 200
)

// prTitle is "fabsync: <summary of the change>".
func prTitle(res *ingest.Result, changes *plan.Plan) string {
	summary := ""
	if changes != nil {
		summary = changes.Summary
	}
	if summary == "" {
		summary = ingestSummary(res)
	}
	t := "fabsync: " + summary
	if len(t) > prMaxTitle {
		t = t[:prMaxTitle-3] + "..."
	}
	return t
}

// ingestSummary says what an ingest did, for a change with no resource file changed (drift
// adopted in the manifest only, say).
func ingestSummary(res *ingest.Result) string {
	if res.Files == 0 {
		return "record hand edits"
	}
	return fmt.Sprintf("ingest %s (%d documents)", plural(res.Files, "raw file"), res.Documents)
}

// prBody is the pull request's description: the summary, the resource files changed (at most
// prMaxChanges, then a count), the warnings (at most prMaxWarnings) and a link to the job.
func prBody(f config.Fabric, id, jobURL string, res *ingest.Result, changes *plan.Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fabsync ingested %s of fabric **%s** (%d documents): %d created, %d updated, %d unchanged",
		plural(res.Files, "raw file"), f.Name, res.Documents, res.Created, res.Updated, res.Unchanged)
	if changes != nil && changes.Summary != "" {
		fmt.Fprintf(&b, ".\n\n**%s**\n", changes.Summary)
	} else {
		b.WriteString(".\n")
	}
	if changes != nil && len(changes.Files) > 0 {
		b.WriteString("\n### Resource files\n\n")
		for i, c := range changes.Files {
			if i == prMaxChanges {
				fmt.Fprintf(&b, "- and %d more\n", len(changes.Files)-prMaxChanges)
				break
			}
			fmt.Fprintf(&b, "- %s `%s`\n", c.Action, c.Path)
		}
		if more := changes.Created + changes.Updated + changes.Deleted - len(changes.Files); more > 0 {
			fmt.Fprintf(&b, "- (%d more not listed)\n", more)
		}
	}
	if len(res.Warnings) > 0 {
		fmt.Fprintf(&b, "\n### Warnings (%d)\n\n", len(res.Warnings))
		for i, w := range res.Warnings {
			if i == prMaxWarnings {
				fmt.Fprintf(&b, "- and %d more\n", len(res.Warnings)-prMaxWarnings)
				break
			}
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(w, "\n", " "))
		}
	}
	b.WriteString("\n---\n")
	if jobURL != "" {
		fmt.Fprintf(&b, "Job [%s](%s). ", id, jobURL)
	} else {
		fmt.Fprintf(&b, "Job %s. ", id)
	}
	fmt.Fprintf(&b, "Merging this pull request applies the change to `%s`. While it is open, each sync of the fabric "+
		"updates it (and its branch `%s`, only when the change differs); edits pushed to that branch are replaced.\n",
		f.Branch, f.PullRequestBranch())
	return b.String()
}
