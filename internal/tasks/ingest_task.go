package tasks

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/fabricdir"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/plan"
	"github.com/fabsync/fabsync/internal/validate"
)

// HandleIngest runs a job's ingest stage: re-sync (cheap when this worker just synced), ingest
// raw/ (and adopt or revert hand edits, as the fabric's drift: says), commit with the job
// trailer and push; on a rejected push, start over on the new head, up to PushAttempts rounds.
// A dry run does all of that up to the commit, records what it would change (its Plan) and
// discards the clone instead. When the worker that ran the job's git sync ran the stage's first
// attempt in-process (handoff.go), the task's first delivery reports that attempt's outcome
// instead of running one.
func (h *Handler) HandleIngest(ctx context.Context, t *asynq.Task) error {
	if carried, err := h.takeOver(ctx, t); carried {
		return err
	}
	return h.run(ctx, t, StageIngest, h.ingestBody)
}

func (h *Handler) ingestBody(ctx context.Context, a *attempt) error {
	unlock := h.lock(a.fab)
	defer unlock()
	return h.ingestStage(ctx, a, "")
}

// ingestStage is the ingest stage, under the fabric's lock. head, when not "", is the remote
// head this process's clone was synced to under that same lock: the first round starts from it
// instead of fetching again.
func (h *Handler) ingestStage(ctx context.Context, a *attempt, head string) error {
	c, fa, err := h.clientAuth(ctx, a.fab)
	if err != nil {
		return err
	}
	var d *delivery // deliver: pull_request (deliver.go)
	if !a.dryRun {
		if d, err = h.newDelivery(ctx, a.fab, fa); err != nil {
			return err
		}
	}
	for round := 1; ; round++ {
		done, err := h.ingestRound(ctx, c, a, head, d)
		head = "" // a rejected push means the remote moved: fetch
		if errors.Is(err, gitops.ErrPushRejected) && round < h.cfg.PushAttempts {
			h.note(ctx, a.p.JobID, 90, fmt.Sprintf("push rejected: the remote moved; fetching and ingesting again (round %d of %d)", round+1, h.cfg.PushAttempts))
			continue
		}
		if errors.Is(err, gitops.ErrLeaseLost) && round < h.cfg.PushAttempts {
			h.note(ctx, a.p.JobID, 90, fmt.Sprintf("push rejected: the branch %s moved; reading it and ingesting again (round %d of %d)", d.branch, round+1, h.cfg.PushAttempts))
			continue
		}
		if err != nil {
			h.discard(ctx, c, a.p.JobID)
		}
		if err != nil || done {
			return err
		}
	}
}

// discardTimeout bounds the clean-up of a clone after a failed or canceled ingest.
const discardTimeout = 30 * time.Second

// discard puts the clone back to the remote head after an ingest round that failed or was
// canceled, so that nothing it wrote or committed stays behind and the next sync costs what a
// no-op sync costs. It runs even when ctx ended (that is when it is needed most). A failure to
// clean is not the task's failure: the next sync repairs the clone.
func (h *Handler) discard(ctx context.Context, c *gitops.Client, id string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	if err := c.Discard(dctx); err != nil {
		h.log.WarnContext(ctx, "clean the clone after a failed ingest", "job_id", id, "err", err)
	}
}

// ingestRound is one round of the ingest stage on the remote's current head (synced already
// to head, when not ""). It returns done when the job ended (or ErrPushRejected in its error
// when the remote moved meanwhile, ErrLeaseLost when the pull request's branch did). With d
// (deliver: pull_request) the commit goes to d's branch and a pull request (deliver.go).
func (h *Handler) ingestRound(ctx context.Context, c *gitops.Client, a *attempt, head string, d *delivery) (bool, error) {
	id := a.p.JobID
	if head == "" {
		var err error
		head, err = h.timed(ctx, "sync", func() (string, error) { return c.Sync(ctx, nil) })
		if err != nil {
			return false, fmt.Errorf("git sync before ingest: %w", err)
		}
	}
	if !a.dryRun { // a dry run never pushes: there is no commit of it to find
		if sha, found, err := c.FindTrailer(TrailerKey, id, trailerSearch); err != nil {
			return false, fmt.Errorf("look for this job's commit: %w", err)
		} else if found {
			h.publish(ctx, c, a, head, nil, false) // what came after this job's commit is not known to be clean
			return true, h.succeed(ctx, id, sha, "this job's commit "+short(sha)+" is already on the remote")
		}
	}
	if d != nil {
		// Where the pull request's branch is: the lease of this round's push, and whether an
		// earlier attempt of this job pushed it already (its trailer).
		if err := h.readBranch(ctx, c, d, id); err != nil {
			return false, fmt.Errorf("read the branch %s: %w", d.branch, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	v, err := h.validator(c.Dir(), a.fab.Validation)
	if err != nil {
		return false, err
	}
	h.note(ctx, id, 45, "ingesting raw files at "+short(head))
	// A dry run records every file for its plan; a real run only as much as its changes show
	// the diff of (changesKept), and lists the rest from ingest's Result.
	rec := &recorder{limit: changesKept}
	if a.dryRun {
		rec = &recorder{}
	}
	scratch, done, err := fabricdir.Scratch(h.cfg.DataDir)
	if err != nil {
		return false, err
	}
	defer done()
	res, err := runIngest(ctx, c.Dir(), a.fab.Path, ingest.Options{JobID: id, Commit: head, Time: h.svc.clock().UTC(),
		Limits: h.cfg.Limits, Validator: v, Progress: h.ingestProgress(ctx, id), Drift: a.fab.Drift, Scratch: scratch, Memo: &h.memo}, rec)
	if err != nil {
		return false, err
	}
	if err := h.recordIngest(ctx, id, res); err != nil {
		return false, err
	}
	if err := h.recordDrift(ctx, a, res.Drift); err != nil {
		return false, err
	}
	if a.dryRun {
		// Everything a real run does up to here, then nothing: the clone goes back to the remote
		// head, and nothing is committed or pushed.
		p, err := buildPlan(rec, res)
		h.discard(ctx, c, id)
		if err != nil {
			return true, err
		}
		return true, h.succeedDryRun(ctx, id, p)
	}
	if len(res.Written) == 0 {
		h.publish(ctx, c, a, head, res, res.Files == 0 && !reportedDrift(res.Drift))
		if res.Files == 0 {
			return true, h.succeed(ctx, id, "", "nothing to ingest: raw/ holds no YAML")
		}
		return true, h.succeed(ctx, id, "", "nothing to commit")
	}
	// Last point where a cancel can take effect: after the push the commit is public. From here
	// on a cancel no longer interrupts the attempt (a shutdown or the deadline still can: a re-run
	// then finds the commit by its trailer).
	if yes, err := h.svc.cancelRequested(ctx, id); err == nil && yes {
		return false, errUserCanceled
	}
	if err := a.pointOfNoReturn(ctx); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// Only what ingest wrote or removed is staged (res.Written, relative to the fabric folder):
	// a walk of the whole folder would cost an lstat per file of the fabric.
	sha, changed, err := c.CommitPaths(ctx, a.fab.Path, commitMessage(a.fab.Name, id, res), res.Written)
	if err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	if !changed {
		h.publish(ctx, c, a, head, res, false)
		return true, h.succeed(ctx, id, "", "nothing changed in the repository")
	}
	if d != nil {
		return h.deliverPullRequest(ctx, c, a, d, head, sha, res, buildChanges(rec, res))
	}
	h.note(ctx, id, 90, "pushing "+short(sha))
	if _, err := h.timed(ctx, "push", func() (string, error) { return "", c.Push(ctx, nil) }); err != nil {
		return false, fmt.Errorf("push: %w", err)
	}
	changes := buildChanges(rec, res)
	h.publish(ctx, c, a, sha, res, !reportedDrift(res.Drift))
	return true, h.succeedWith(ctx, id, sha, "pushed "+short(sha), func(j *Job) { j.Changes = changes })
}

// Bounds of a job's changes (Job.Changes): the bytes of old and new content recorded for
// their diffs, the diff text, and the files listed.
const (
	changesKept     = 512 << 10
	changesMaxDiff  = 64 << 10
	changesMaxFiles = 1000
)

// buildChanges is what a job that pushed changed: the resource files of res.Changes, with the
// diff of those rec recorded (within changesMaxDiff), at most changesMaxFiles of them listed.
// Nil when it changed no resource file. A panic of package plan leaves the changes out, never
// the job.
func buildChanges(rec *recorder, res *ingest.Result) (p *plan.Plan) {
	if len(res.Changes) == 0 {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			p = nil
		}
	}()
	p = plan.Build(rec.list(), changesMaxDiff)
	listed := make(map[string]bool, len(p.Files))
	files := p.Files[:0]
	for _, f := range p.Files {
		if f.Action != plan.Unchanged {
			listed[f.Path] = true
			files = append(files, f)
		}
	}
	p.Files = files
	p.Created, p.Updated, p.Deleted, p.Unchanged = 0, 0, 0, res.Unchanged
	for _, c := range res.Changes {
		switch c.Action {
		case ingest.ChangeCreated:
			p.Created++
		case ingest.ChangeUpdated:
			p.Updated++
		case ingest.ChangeDeleted:
			p.Deleted++
		}
		if listed[c.Path] {
			continue
		}
		f := plan.File{Path: c.Path, Action: c.Action}
		if c.Action != ingest.ChangeDeleted {
			f.SHA256 = hex.EncodeToString(c.Sum[:])
		}
		p.Files = append(p.Files, f)
		p.Truncated = true // listed without its diff
	}
	slices.SortFunc(p.Files, func(a, b plan.File) int { return strings.Compare(a.Path, b.Path) })
	if len(p.Files) > changesMaxFiles {
		p.Files, p.Truncated = p.Files[:changesMaxFiles], true
	}
	if rec.full || len(listed) < len(res.Changes) {
		// The summary of plan.Build saw only the recorded files.
		p.Summary = fmt.Sprintf("%s created, %d updated, %d deleted", plural(p.Created, "resource file"), p.Updated, p.Deleted)
	}
	return p
}

// publish publishes the fabric's inventory at commit (inventory.go); clean says that the
// fabric is settled at commit: nothing left in raw/ and no drift reported, so that a resync
// that finds the branch still there needs to do nothing (nothingNew). A failure is the
// inventory's, not the job's: it is logged and noted in the job, and the next job publishes.
func (h *Handler) publish(ctx context.Context, c *gitops.Client, a *attempt, commit string, res *ingest.Result, clean bool) {
	if err := h.publishInventory(ctx, c.Dir(), a, commit, res, clean); err != nil {
		h.log.WarnContext(ctx, "publish the inventory", "fabric", a.fab.Name, "job_id", a.p.JobID, "err", err)
		h.note(ctx, a.p.JobID, 95, "the fabric's inventory was not updated (the worker log says why); the next job updates it")
	}
}

// recordIngest records ingest's counts in the job.
func (h *Handler) recordIngest(ctx context.Context, id string, res *ingest.Result) error {
	_, err := h.svc.update(ctx, id, func(j *Job) error {
		in := &j.Ingest
		in.Files, in.Documents, in.Created, in.Updated = res.Files, res.Documents, res.Created, res.Updated
		in.Unchanged, in.Archived, in.Warnings = res.Unchanged, res.Archived, append([]string{}, res.Warnings...)
		in.Errors, in.Problems = []DocError{}, docErrors(res.Problems)
		j.setProgress(ProgressIngest, 80, fmt.Sprintf("%d files, %d documents ingested", res.Files, res.Documents))
		j.logf(h.svc.clock(), fmt.Sprintf("ingested %d raw files, %d documents: %d created, %d updated, %d unchanged, %d warnings",
			res.Files, res.Documents, res.Created, res.Updated, res.Unchanged, len(res.Warnings)))
		return nil
	})
	return err
}

func commitMessage(fabric, id string, r *ingest.Result) string {
	var acted []string // "adopt"/"revert" hand edits, each with its files
	byAction := map[string][]string{}
	for _, d := range r.Drift {
		verb := map[string]string{ingest.DriftAdopted: "adopt", ingest.DriftReverted: "revert"}[d.Action]
		if verb == "" {
			continue
		}
		if byAction[verb] == nil {
			acted = append(acted, verb)
		}
		byAction[verb] = append(byAction[verb], d.Path)
	}
	var drift strings.Builder
	for _, verb := range acted {
		fmt.Fprintf(&drift, "%s hand edits of %s:\n", verb, plural(len(byAction[verb]), "resource file"))
		for _, p := range byAction[verb] {
			fmt.Fprintf(&drift, "  %s\n", p)
		}
	}
	if r.Files == 0 && len(acted) > 0 {
		return fmt.Sprintf("fabsync: %s hand edits in %s\n\n%s\n%s: %s\n",
			strings.Join(acted, " and "), fabric, drift.String(), TrailerKey, id)
	}
	msg := fmt.Sprintf("fabsync: ingest %d raw files of %s (%d documents)\n\n"+
		"%d created, %d updated, %d unchanged; originals archived under .hnp/archive/%s/.\n\n",
		r.Files, fabric, r.Documents, r.Created, r.Updated, r.Unchanged, id)
	if drift.Len() > 0 {
		msg += "Also: " + drift.String() + "\n"
	}
	return msg + fmt.Sprintf("%s: %s\n", TrailerKey, id)
}

// buildPlan is the plan of a dry run: the resource files ingest wrote or removed, as rec
// recorded them. Ingest does not write a file whose bytes would not change and does not list
// them, so unchanged files are not in Files; their number, from ingest's count, is.
// A panic of package plan is the dry run's error, not the worker's crash.
func buildPlan(rec *recorder, res *ingest.Result) (p *plan.Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("build the plan: internal error: %v", r)
		}
	}()
	p = plan.Build(rec.list(), plan.DefaultMaxDiff)
	// Files ingest left as they are were never written, so the recorder did not see them.
	listed := make(map[string]bool, len(p.Files))
	for _, f := range p.Files {
		listed[f.Path] = true
	}
	for _, k := range res.Kept {
		if !listed[k] {
			p.Files = append(p.Files, plan.File{Path: k, Action: plan.Unchanged})
			p.Unchanged++
		}
	}
	slices.SortFunc(p.Files, func(a, b plan.File) int { return strings.Compare(a.Path, b.Path) })
	return p, nil
}

// validator returns the Validator for a fabric's validation settings, reading its CRD files
// from the clone dir (or the worker's disk) and compiling them only when their content changed.
// A CRD file that is missing or not a CRD is a permanent error: a configuration problem that a
// retry cannot fix.
func (h *Handler) validator(dir string, cfg config.Validation) (*validate.Validator, error) {
	crds, err := readCRDs(dir, cfg.CRDs)
	if err != nil {
		return nil, err
	}
	v, err := h.validators.Get(validate.Config{CRDs: crds, Strict: cfg.IsStrict(), Disable: cfg.Disable})
	if err != nil {
		return nil, permanent("%w", err)
	}
	return v, nil
}

// plural says "1 resource file", "2 resource files".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
