package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/ingest"
)

// Drift is a resource file under managed/ or unmanaged/ changed by hand, not through raw/: its
// bytes differ from what the manifest records, or the manifest does not know it, or it is gone.
// Each sync looks for it (package ingest) and does what the fabric's drift: says — adopt, report
// or revert — and the job carries one warning (rule DriftRule) per file. The last check of each
// fabric is kept in Redis (keys.go) and served by the API.

// DriftRule is the rule of the warning a job carries for each drifted file.
const DriftRule = "drift"

// DriftCheck is a fabric's last drift check, as stored in Redis and returned by
// GET /api/v1/fabrics/{fabric}/drift. Fields may be added, never renamed.
type DriftCheck struct {
	Fabric string `json:"fabric"`
	// CheckedAt is when the check ran; nil when the fabric was never checked.
	CheckedAt *time.Time `json:"checked_at"`
	JobID     string     `json:"job_id,omitempty"` // the job that checked
	Mode      string     `json:"mode,omitempty"`   // the fabric's drift: then (adopt, report or revert)
	// Files are the drifted files with what the sync did with each; empty when none drifted.
	Files []ingest.Drift `json:"files"`
}

// driftMode is the fabric's drift: with its default.
func driftMode(mode string) string {
	if mode == "" {
		return ingest.DriftAdopt
	}
	return mode
}

// driftProblems turns drifted files into the job's warnings; mode is the fabric's drift:.
func driftProblems(files []ingest.Drift, mode string) []DocError {
	out := make([]DocError, 0, len(files))
	for _, d := range files {
		out = append(out, DocError{File: d.Path, Message: driftMessage(d, mode), Rule: DriftRule, Severity: ingest.SeverityWarning})
	}
	return out
}

// driftMessage says what happened to a drifted file, for the warnings of a sync that found it
// without running ingest (which words its own): "edited by hand, not through raw/; left as it
// is (drift: report), …".
func driftMessage(d ingest.Drift, mode string) string {
	what := d.Kind + " by hand, not through raw/"
	switch d.Action {
	case ingest.DriftAdopted:
		return what + "; the change was adopted into the manifest (drift: adopt)"
	case ingest.DriftReverted:
		return what + "; the file was restored as the manifest records it (drift: revert)"
	case ingest.DriftReported:
		const left = "left as it is, and reported on every sync until the file matches the manifest or is ingested from raw/"
		if mode == ingest.DriftRevert && d.Kind == ingest.DriftAdded {
			return what + "; not reverted (drift: revert): it was never ingested, so there is nothing to restore; " + left + " (delete it, or move it to raw/)"
		}
		return what + "; " + left + " (drift: " + mode + ")"
	}
	return what
}

// addDrift adds the drift warnings to the job's ingest record, leaving out any file ingest
// already reported under the rule.
func addDrift(in *Ingest, files []ingest.Drift, mode string) {
	seen := map[string]bool{}
	for _, p := range in.Problems {
		if p.Rule == DriftRule {
			seen[p.File] = true
		}
	}
	for _, p := range driftProblems(files, mode) {
		if seen[p.File] {
			continue
		}
		if len(in.Problems) < maxRecordedProblems {
			in.Problems = append(in.Problems, p)
		}
		in.Warnings = append(in.Warnings, "drift: "+p.File+": "+p.Message)
	}
}

// recordDrift records the fabric's drift check and adds its warnings to the job. A dry run's
// check is in its job only: the fabric's last check is what a real sync found and did.
func (h *Handler) recordDrift(ctx context.Context, a *attempt, files []ingest.Drift) error {
	if files == nil {
		files = []ingest.Drift{}
	}
	if len(files) > 0 {
		if _, err := h.svc.update(ctx, a.p.JobID, func(j *Job) error {
			addDrift(&j.Ingest, files, driftMode(a.fab.Drift))
			j.logf(h.svc.clock(), fmt.Sprintf("%d resource files changed by hand (drift: %s)", len(files), driftMode(a.fab.Drift)))
			return nil
		}); err != nil {
			return err
		}
	}
	if a.dryRun {
		return nil
	}
	now := h.svc.clock().UTC()
	return h.svc.store.setDrift(ctx, DriftCheck{Fabric: a.fab.Name, CheckedAt: &now, JobID: a.p.JobID,
		Mode: driftMode(a.fab.Drift), Files: files})
}

// setDrift records a fabric's last drift check.
func (s *store) setDrift(ctx context.Context, d DriftCheck) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode drift check: %w", err)
	}
	if err := s.rdb.Set(ctx, driftKey(d.Fabric), data, 0).Err(); err != nil {
		return fmt.Errorf("record drift check of %s: %w", d.Fabric, err)
	}
	return nil
}

// drifts returns the last drift check of each fabric, in one round trip; a fabric never checked
// has CheckedAt nil and no files.
func (s *store) drifts(ctx context.Context, fabrics []string) (map[string]*DriftCheck, error) {
	out := make(map[string]*DriftCheck, len(fabrics))
	if len(fabrics) == 0 {
		return out, nil
	}
	// A pipeline, not MGET: on a Redis Cluster the fabrics' keys are in different slots.
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(fabrics))
	for i, f := range fabrics {
		cmds[i] = pipe.Get(ctx, driftKey(f))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read drift checks: %w", err)
	}
	for i, f := range fabrics {
		d := &DriftCheck{Fabric: f, Files: []ingest.Drift{}}
		if i < len(cmds) {
			if v, err := cmds[i].Result(); err == nil {
				var got DriftCheck
				if json.Unmarshal([]byte(v), &got) == nil {
					d = &got
					d.Fabric = f
					if d.Files == nil {
						d.Files = []ingest.Drift{}
					}
				}
			}
		}
		out[f] = d
	}
	return out, nil
}

// Drift returns fabric's last drift check (CheckedAt nil and no files when it was never
// checked). The caller checks that the fabric exists.
func (s *Service) Drift(ctx context.Context, fabric string) (*DriftCheck, error) {
	m, err := s.store.drifts(ctx, []string{fabric})
	if err != nil {
		return nil, err
	}
	return m[fabric], nil
}

// Drifts returns the last drift check of each of fabrics, in one Redis round trip.
func (s *Service) Drifts(ctx context.Context, fabrics []string) (map[string]*DriftCheck, error) {
	return s.store.drifts(ctx, fabrics)
}
