package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Drift modes for Options.Drift: what Ingest does with a resource file
// under managed/ or unmanaged/ that differs from .hnp/manifest.yaml (see
// Drift).
const (
	// DriftAdopt takes the hand edit into the manifest: an edited or
	// added file gets a line with its current sha256 and identity (an
	// edited one keeps its source), a removed file's line is dropped.
	DriftAdopt = "adopt"
	// DriftReport leaves the file and the manifest as they are, so the
	// warning repeats on every sync until someone acts.
	DriftReport = "report"
	// DriftRevert restores an edited or removed file from the manifest's
	// source: the archived raw file's document, normalized as ingest
	// does, which must give the manifest's sha256. When it cannot (no
	// archive, another checksum) the file is reported instead, and so is
	// every added file, which has no source.
	DriftRevert = "revert"
)

// Drift kinds.
const (
	DriftEdited  = "edited"  // the file's sha256 differs from its manifest line
	DriftAdded   = "added"   // the file has no manifest line
	DriftRemoved = "removed" // a manifest line's file is gone
)

// Drift actions: what Ingest did about a drifted file.
const (
	DriftAdopted  = "adopted"
	DriftReported = "reported"
	DriftReverted = "reverted"
)

// Drift is one resource file that differs from the manifest: changed by
// hand since the last ingest.
type Drift struct {
	Path   string `json:"path"`   // "managed/switches/leaf-01.yaml"
	Kind   string `json:"kind"`   // "edited" (sha256 differs from the manifest), "added" (no manifest line), "removed" (manifest line, no file)
	Action string `json:"action"` // "adopted", "reported" or "reverted"; "" from Drifted (nothing done)
}

// Drifted compares managed/ and unmanaged/ with .hnp/manifest.yaml and
// returns the drift it finds, sorted by path, with Action "" (nothing
// done). It only reads, so the worker can call it cheaply on every sync
// that has no raw files to ingest: it lists managed/ and unmanaged/, reads
// the manifest and hashes each resource file once. Without a manifest, or
// with one it cannot understand, there is nothing to compare with and it
// returns no drift. Like Ingest, it follows no symbolic links and reads
// only regular *.yaml/*.yml files whose names do not start with '.'.
func Drifted(fsys fs.FS) ([]Drift, error) {
	in := &ingester{fsys: fsys, t: newTree(fsys), lim: Limits{}.withDefaults(), opts: Options{Drift: DriftReport}}
	if err := in.scanDrift(context.Background(), nil, false); err != nil {
		return nil, err
	}
	out := make([]Drift, len(in.drift.found))
	for i, f := range in.drift.found {
		out[i] = Drift{Path: f.Path, Kind: f.Kind}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// validDrift reports whether mode is a value of Options.Drift.
func validDrift(mode string) bool {
	switch mode {
	case "", DriftAdopt, DriftReport, DriftRevert:
		return true
	}
	return false
}

// driftScan is what scanDrift found.
type driftScan struct {
	// others are the resource files in the tree that this ingest neither
	// writes nor deletes, sorted, with their sha256.
	others []string
	sums   map[string][32]byte
	// old is the whole old manifest, by path; nil when there is none or
	// it could not be read (badManifest), and then there is no drift.
	old         map[string]manifestLine
	badManifest bool
	found       []drifted // sorted by path
}

// drifted is one drifted file and what is done about it.
type drifted struct {
	Drift
	restore []byte // revert: the content to write back
}

// foundAt returns the drift of p, if any.
func (s *driftScan) foundAt(p string) *drifted {
	i, ok := slices.BinarySearchFunc(s.found, p, func(d drifted, p string) int { return strings.Compare(d.Path, p) })
	if !ok {
		return nil
	}
	return &s.found[i]
}

// resourceFile reports whether p can be a resource file Ingest writes: a
// clean path under managed/ or unmanaged/, no element hidden, a YAML name.
func resourceFile(p string) bool {
	if !safePath(p, "managed") && !safePath(p, "unmanaged") {
		return false
	}
	for el := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(el, ".") || len(el) > maxNameBytes {
			return false
		}
	}
	return yamlName(p[strings.LastIndexByte(p, '/')+1:])
}

// scanDrift lists the resource files that this ingest neither writes nor
// deletes (touched says which it does; nil means none), hashes them, reads
// the old manifest, and finds the drift between the two. With act set, it
// decides what is done about each drifted file (Options.Drift), prepares
// the content of each file to revert, and records one RuleDrift warning per
// file. It writes nothing.
func (in *ingester) scanDrift(ctx context.Context, touched func(p string) bool, act bool) error {
	s := &driftScan{sums: map[string][32]byte{}}
	in.drift = s
	skip := func(p string) bool { return touched != nil && touched(p) }
	for _, top := range []string{"managed", "unmanaged"} {
		mode, ok, err := in.t.typeOf(top)
		if err != nil {
			return err
		}
		if !ok || !mode.IsDir() {
			continue
		}
		err = in.t.walk(top, true, func(p string, mode fs.FileMode) error {
			if mode.IsRegular() && yamlName(p[strings.LastIndexByte(p, '/')+1:]) && !skip(p) {
				s.others = append(s.others, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	slices.Sort(s.others)
	if mode, ok, err := in.t.typeOf(ManifestPath); err != nil {
		return err
	} else if ok && mode.IsRegular() {
		data, err := fs.ReadFile(in.fsys, ManifestPath)
		if err != nil {
			return fmt.Errorf("read %s: %w", ManifestPath, err)
		}
		var good bool
		s.old, good = readManifest(data, resourceFile)
		if !good {
			s.old, s.badManifest = nil, true
		}
	}
	for _, p := range s.others {
		if sum, ok := in.sums[p]; ok {
			s.sums[p] = sum
			continue
		}
		if err := stopped(ctx, "read", p); err != nil {
			return err
		}
		data, err := fs.ReadFile(in.fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		s.sums[p] = sha256.Sum256(data)
	}
	in.sums = nil
	if s.old == nil {
		return nil
	}
	for _, p := range s.others {
		m, ok := s.old[p]
		sum := s.sums[p]
		switch {
		case !ok:
			s.found = append(s.found, drifted{Drift: Drift{Path: p, Kind: DriftAdded}})
		case m.SHA256 != hex.EncodeToString(sum[:]):
			s.found = append(s.found, drifted{Drift: Drift{Path: p, Kind: DriftEdited}})
		}
	}
	for p := range s.old {
		if _, ok := s.sums[p]; !ok && !skip(p) {
			s.found = append(s.found, drifted{Drift: Drift{Path: p, Kind: DriftRemoved}})
		}
	}
	slices.SortFunc(s.found, func(a, b drifted) int { return strings.Compare(a.Path, b.Path) })
	if !act {
		return nil
	}
	mode := in.opts.Drift
	if mode == "" {
		mode = DriftAdopt
	}
	for i := range s.found {
		d := &s.found[i]
		var msg string
		switch d.Kind {
		case DriftEdited:
			msg = "edited by hand: its sha256 differs from the manifest's"
		case DriftAdded:
			msg = "added by hand: the manifest has no line for it"
		default:
			msg = "removed by hand: the manifest lists it, but the file is gone"
		}
		const reported = "left as it is, and reported on every sync until the file matches the manifest or is ingested from raw/"
		switch mode {
		case DriftAdopt:
			d.Action = DriftAdopted
			switch d.Kind {
			case DriftEdited:
				msg += "; adopted (drift: adopt): the manifest now records the file as it is"
			case DriftAdded:
				msg += "; adopted (drift: adopt): the manifest now lists it"
			default:
				msg += "; adopted (drift: adopt): its manifest line is dropped"
			}
		case DriftReport:
			d.Action = DriftReported
			msg += "; " + reported + " (drift: report)"
		case DriftRevert:
			if d.Kind == DriftAdded {
				d.Action = DriftReported
				msg += "; not reverted (drift: revert): it was never ingested, so there is nothing to restore; " + reported + " (delete it, or move it to raw/)"
				break
			}
			if err := stopped(ctx, "revert", d.Path); err != nil {
				return err
			}
			m := s.old[d.Path]
			data, why, err := in.restoreContent(d.Path, m)
			if err != nil {
				return err
			}
			if why != "" {
				d.Action = DriftReported
				msg += "; not reverted (drift: revert): " + why + "; " + reported
				break
			}
			d.Action, d.restore = DriftReverted, data
			verb := "reverted"
			if d.Kind == DriftRemoved {
				verb = "restored"
			}
			msg += fmt.Sprintf("; %s (drift: revert) to what job %s ingested from %s document %d", verb, m.Source.Job, m.Source.File, m.Source.Document)
		}
		in.warnings = append(in.warnings, Problem{File: d.Path, Message: msg, Rule: RuleDrift, Severity: SeverityWarning})
	}
	return nil
}

// restoreContent returns the content resource file p had when it was
// ingested, as the manifest line m records it: document m.Source.Document
// of the archived raw file .hnp/archive/<m.Source.Job>/<m.Source.File
// under raw/>.archived, normalized as Ingest normalizes, which must have
// the sha256 m records. When it cannot, why says why (for a message).
func (in *ingester) restoreContent(p string, m manifestLine) (data []byte, why string, err error) {
	src := m.Source
	if src.File == "" || src.Job == "" || src.Document <= 0 {
		return nil, "the manifest records no source for it", nil
	}
	if !validJobID(src.Job) || !safePath(src.File, "raw") || longElement(src.File) != "" {
		return nil, fmt.Sprintf("its manifest source (job %s, file %s) cannot name an archive", quote(src.Job), quote(src.File)), nil
	}
	ap := archivePathFor(src.Job, src.File)
	mode, ok, err := in.t.typeOf(ap)
	if err != nil {
		return nil, "", err
	}
	if !ok || !mode.IsRegular() {
		return nil, fmt.Sprintf("its archive %s is missing", ap), nil
	}
	raw, err := in.readRaw(&rawFile{Path: ap})
	if err != nil {
		return nil, "", err
	}
	if raw == nil {
		return nil, fmt.Sprintf("its archive %s is larger than the limit of %s", ap, sizeString(in.lim.MaxFileBytes)), nil
	}
	if msg, _, _, ok := checkText(raw); !ok {
		return nil, fmt.Sprintf("its archive %s cannot be read: %s", ap, msg), nil
	}
	sp := newSplitter(raw)
	for {
		doc, ok := sp.Next()
		if !ok || doc.Index > src.Document {
			return nil, fmt.Sprintf("its archive %s has no document %d", ap, src.Document), nil
		}
		if doc.Index < src.Document {
			continue
		}
		r := processDoc(src.File, doc, in.lim, nil)
		switch {
		case r.Empty || r.Delete || len(r.Problems) > 0 || r.Out == nil:
			return nil, fmt.Sprintf("document %d of its archive %s is not a resource ingest can write", src.Document, ap), nil
		case r.Path != p:
			return nil, fmt.Sprintf("document %d of its archive %s is now written to %s", src.Document, ap, r.Path), nil
		}
		if sum := sha256.Sum256(r.Out); hex.EncodeToString(sum[:]) != m.SHA256 {
			return nil, fmt.Sprintf("document %d of its archive %s does not give the sha256 the manifest records", src.Document, ap), nil
		}
		if _, msg, err := in.t.writable(p); err != nil {
			return nil, "", err
		} else if msg != "" {
			return nil, msg, nil
		}
		return r.Out, "", nil
	}
}

// writeReverts writes back the files scanDrift decided to revert.
func (in *ingester) writeReverts(ctx context.Context) error {
	if in.drift == nil {
		return nil
	}
	for i := range in.drift.found {
		d := &in.drift.found[i]
		if d.restore == nil {
			continue
		}
		prefix, _, _ := strings.Cut(d.Path, "/")
		if err := in.write(ctx, d.Path, prefix, d.restore); err != nil {
			return err
		}
		c := FileChange{Path: d.Path, Action: ChangeUpdated, Sum: sha256.Sum256(d.restore)}
		if d.Kind == DriftRemoved {
			c.Action = ChangeCreated
		}
		in.res.Changes = append(in.res.Changes, c)
		d.restore = nil
	}
	return nil
}

// driftResult returns the drift for Result.Drift, nil when there is none.
func (in *ingester) driftResult() []Drift {
	if in.drift == nil || len(in.drift.found) == 0 {
		return nil
	}
	out := make([]Drift, len(in.drift.found))
	for i, d := range in.drift.found {
		out[i] = d.Drift
	}
	return out
}

// otherEntries returns the manifest entries of the resource files this
// ingest neither writes nor deletes, as Options.Drift says: a file that
// matches the manifest keeps its line; an adopted one gets its current
// sha256 and identity (keeping its source); a reported or reverted one
// keeps its old line, also when its file is gone; an added file that is
// not adopted gets none.
func (in *ingester) otherEntries(ctx context.Context) ([]entry, error) {
	s := in.drift
	var out []entry
	lineEntry := func(p string, m manifestLine, sum [32]byte) entry {
		e := entry{Path: p, Kind: m.Kind, APIVersion: m.APIVersion, Namespace: m.Namespace, Name: m.Name, Sum: sum, File: -1}
		if m.Source != (source{}) {
			src := m.Source
			e.Source = &src
		}
		return e
	}
	for _, p := range s.others {
		sum := s.sums[p]
		m, ok := s.old[p]
		d := s.foundAt(p)
		switch {
		case d != nil && d.Action != DriftAdopted && d.Kind == DriftAdded:
			continue
		case d != nil && d.Action != DriftAdopted:
			if old, err := hex.DecodeString(m.SHA256); err == nil && len(old) == len(sum) {
				sum = [32]byte(old)
			}
		case !ok || m.SHA256 != hex.EncodeToString(sum[:]):
			// Adopted, or no manifest to compare with.
			if err := stopped(ctx, "read", p); err != nil {
				return nil, err
			}
			data, err := fs.ReadFile(in.fsys, p)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
			id := identityOf(data)
			id.Source = m.Source
			m = id
		}
		out = append(out, lineEntry(p, m, sum))
	}
	for _, d := range s.found {
		if d.Kind != DriftRemoved || d.Action == DriftAdopted {
			continue
		}
		m := s.old[d.Path]
		var sum [32]byte
		if old, err := hex.DecodeString(m.SHA256); err == nil && len(old) == len(sum) {
			sum = [32]byte(old)
		} else {
			continue // a line Ingest cannot write again as it was
		}
		out = append(out, lineEntry(d.Path, m, sum))
	}
	return out, nil
}

// driftOnly is Ingest when raw/ holds nothing to ingest: it acts on the
// drift alone. With no drift it returns a zero Result and writes nothing;
// with DriftReport it writes nothing either, and returns the drift and its
// warnings; with DriftAdopt it writes the manifest, and with DriftRevert
// the restored files (and the manifest only if it changes).
func (in *ingester) driftOnly(ctx context.Context) (*Result, error) {
	if err := in.scanDrift(ctx, nil, true); err != nil {
		return nil, err
	}
	if len(in.drift.found) == 0 {
		return &Result{}, nil
	}
	var act bool
	for _, d := range in.drift.found {
		act = act || d.Action != DriftReported
	}
	if act {
		if bad, msg, err := in.t.writable(ManifestPath); err != nil {
			return nil, err
		} else if msg != "" {
			in.problem(Problem{File: bad, Message: msg})
			finishProblems(in.problems, SeverityError)
			finishProblems(in.warnings, SeverityWarning)
			return nil, &ValidationError{Problems: in.problems, Warnings: in.warnings}
		}
	}
	finishProblems(in.warnings, SeverityWarning)
	in.res.Problems = in.warnings
	for _, w := range in.warnings {
		in.res.Warnings = append(in.res.Warnings, w.String())
	}
	in.res.Drift = in.driftResult()
	if !act {
		res := in.res
		return &res, nil
	}
	if err := in.writeReverts(ctx); err != nil {
		return nil, err
	}
	buf, err := in.manifestBytes(ctx)
	if err != nil {
		return nil, err
	}
	old, err := fs.ReadFile(in.fsys, ManifestPath)
	if err != nil || !bytes.Equal(old, buf) {
		if err := in.write(ctx, ManifestPath, ".hnp", buf); err != nil {
			return nil, err
		}
	}
	slices.Sort(in.res.Written)
	sortChanges(in.res.Changes)
	res := in.res
	return &res, nil
}
