package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/validate"
)

// Default limits; see Limits.
const (
	DefaultMaxFileBytes      = 8 << 20 // 8 MiB
	DefaultMaxDocuments      = 10000
	DefaultMaxAliasExpansion = 10000
)

const defaultMaxAliasExpansion = DefaultMaxAliasExpansion

// Limits bounds what one ingest will read. Zero (or negative) fields take
// the defaults in brackets.
type Limits struct {
	MaxFileBytes int64 // per raw file [8 MiB]
	MaxDocuments int   // documents with content per raw file [10000]
	// MaxAliasExpansion bounds the nodes that expanding YAML aliases may
	// add to one document [10000]. Normalization writes aliases out in
	// full, so this is also the bound on that growth: a "billion laughs"
	// document is rejected, cheaply, before anything is expanded.
	MaxAliasExpansion int
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxDocuments <= 0 {
		l.MaxDocuments = DefaultMaxDocuments
	}
	if l.MaxAliasExpansion <= 0 {
		l.MaxAliasExpansion = DefaultMaxAliasExpansion
	}
	return l
}

// Options describe one ingest run.
type Options struct {
	JobID  string    // required; names the archive folder .hnp/archive/<JobID>/ and goes into manifest/archive log
	Commit string    // the commit the raw files were read at (recorded as provenance)
	Time   time.Time // recorded in the archive log (ingest reads no clock)
	Limits Limits

	// Workers bounds the goroutines that parse and normalize documents in
	// parallel: 0 means runtime.GOMAXPROCS(0), 1 means all work is done on
	// the calling goroutine. The output does not depend on it.
	Workers int

	// Validator checks every document (CRD schemas, Hedgehog's rules) and
	// the fabric as a whole before anything is written. Nil checks nothing
	// beyond ingest's own rules; the worker always sets one (at least
	// validate.Default(), Hedgehog's built-in rules).
	Validator *validate.Validator

	// Memo, when set, remembers across ingests what Validator found in the
	// resource files of managed/ that an ingest does not replace (see Memo).
	Memo *Memo

	// Drift says what to do with resource files under managed/ and
	// unmanaged/ that differ from the manifest (changed by hand):
	// DriftAdopt, DriftReport or DriftRevert; "" means DriftAdopt. Each
	// drifted file is a RuleDrift warning and an entry of Result.Drift.
	Drift string

	// Scratch, when set, holds the normalized documents beyond the first
	// MemoryBudget bytes between the two passes (validate everything, then
	// write), so that memory stays bounded however large raw/ is; a
	// temporary file, for instance. Without it every normalized document is
	// kept in memory until it is written. Each document is parsed and encoded
	// once either way.
	Scratch Scratch

	// Progress, when set, is called on the calling goroutine after each raw
	// file is done in each phase: PhaseValidate (every file is read and
	// checked before anything is written), then PhaseWrite.
	Progress func(phase string, done, total int)
}

// Scratch is where Ingest keeps normalized documents between its two passes
// when they are more than MemoryBudget: it writes each once, at increasing
// offsets from 0, and reads it back once. *os.File is one.
type Scratch interface {
	io.WriterAt
	io.ReaderAt
}

// MemoryBudget is how many bytes of normalized documents Ingest keeps in
// memory between its passes before it uses Options.Scratch.
const MemoryBudget = 1 << 20

// Phases reported to Options.Progress.
const (
	PhaseValidate = "validate"
	PhaseWrite    = "write"
)

func (o *Options) progress(phase string, done, total int) {
	if o.Progress != nil {
		o.Progress(phase, done, total)
	}
}

// ErrInvalidOptions is wrapped by the error Ingest returns for unusable
// Options (a missing or unsafe JobID).
var ErrInvalidOptions = errors.New("invalid ingest options")

// Writer receives the planned changes. Names are slash-separated paths
// relative to the fabric root (the root of the fs.FS handed to Ingest),
// e.g. "managed/vpcs/vpc-1.yaml". Remove is called for ingested raw files
// and for the resource files that delete documents remove (see
// DeleteAnnotation), so a dry run sees a delete as a Remove of a managed/
// or unmanaged/ path. Ingest calls it from one goroutine at a time.
type Writer interface {
	WriteFile(name string, data []byte) error
	Remove(name string) error
}

// StreamWriter is a Writer that can also take a file in pieces. Ingest writes the manifest
// (about 300 bytes per resource file, 30 MB for 100,000: the largest thing an ingest would
// hold) through CreateFile when its Writer has it, instead of building it in memory; the bytes
// are the same. CreateFile creates or truncates name; the file is complete once Close returned
// nil. A failed write leaves part of it, like a failed ingest leaves part of its output: the
// caller throws the working tree away.
type StreamWriter interface {
	CreateFile(name string) (io.WriteCloser, error)
}

// Renamer is a Writer that can also move a file within the folder, creating the folders of
// to. Ingest then archives a raw file by moving it to .hnp/archive/ (and reading it there once,
// to check that it is the content it validated) instead of writing a copy and removing the
// original: on ext4 each new file costs an inode allocation, about a millisecond under a busy
// disk's churn, and each removal feeds that churn. The archived file keeps the raw file's mode.
// When Rename fails, the raw file is archived by a copy, as without it.
type Renamer interface {
	Rename(from, to string) error
}

// Result counts what an ingest did.
type Result struct {
	Files     int      // raw YAML files ingested
	Documents int      // non-empty documents ingested that define a resource (delete documents are not counted)
	Created   int      // resource files that did not exist
	Updated   int      // resource files that existed with different bytes
	Unchanged int      // resource files that existed with identical bytes
	Archived  int      // raw files archived (== Files on success)
	Deleted   int      // resource files removed on purpose (delete documents, see DeleteAnnotation)
	Warnings  []string // e.g. unknown kinds carried to unmanaged/
	// Problems are the validator's warnings (Severity "warning"), located
	// and with their rules, sorted like ValidationError's problems. Each is
	// also in Warnings as its String().
	Problems []Problem
	Written  []string // every path written or removed, sorted (resource files, archive copies, raw removals, deleted and reverted resource files, manifest, archive log, raw/.gitkeep)
	Kept     []string // the resource files the raw files define that were left as they are (their bytes would not change), sorted
	// Drift lists the resource files that differed from the manifest
	// before this ingest (leaving out those it replaces or deletes), sorted
	// by path, with the Action taken (see Options.Drift). Each is also a
	// RuleDrift warning in Problems.
	Drift []Drift
	// Changes are the resource files this ingest created, updated or
	// deleted (raw files, archive copies and the manifest are not
	// resource files), sorted by path: one per file, also for a file it
	// reverted (see Options.Drift).
	Changes []FileChange
}

// Actions of a FileChange.
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// FileChange is one resource file an ingest created, updated or deleted.
type FileChange struct {
	Path   string
	Action string   // ChangeCreated, ChangeUpdated or ChangeDeleted
	Sum    [32]byte // sha256 of the bytes written; zero for ChangeDeleted
}

// sortChanges sorts Result.Changes by path.
func sortChanges(cs []FileChange) {
	slices.SortFunc(cs, func(a, b FileChange) int { return strings.Compare(a.Path, b.Path) })
}

var errPanic = errors.New("internal error")

// Ingest reads raw/ (every regular *.yaml/*.yml file at any depth, names
// starting with '.' skipped, in the order of their full paths as strings),
// plus the existing managed/, unmanaged/ and .hnp/ content of fsys,
// validates everything first, and only when every raw file is valid writes
// through w: the normalized resource files (a file whose bytes would not
// change is not written), the byte-exact archive copies
// .hnp/archive/<JobID>/<path relative to raw/>.archived, removal of each
// ingested raw file (or, when w is a Renamer, each raw file moved there and
// checked), raw/.gitkeep (empty, written if missing once raw files
// were removed), .hnp/manifest.yaml and an appended .hnp/archive-log.yaml.
// A resource or archive file name that would be over 255 bytes is shortened
// (see the package comment); the manifest and archive log keep the full
// names.
//
// Documents are numbered from 1 as a reader counts them in the file: every
// "---" starts one, and so does content at the top of the file or after a
// "..." end marker; empty and comment-only documents keep their number but
// are skipped. Symbolic links are never followed: one anywhere under raw/,
// or on the way to a path Ingest would write, is a problem.
//
// A raw document carrying DeleteAnnotation "true" removes the resource
// file it names (through Writer.Remove) and its manifest line instead of
// writing one; the archive log lists the removal under its raw file. A
// delete of a file that does not exist is a warning; deleting a resource
// that resources staying in the fabric still name, or deleting and
// defining the same resource in one sync, is an error.
//
// Before writing, Ingest compares the resource files it does not replace
// or delete with the old manifest, and does what Options.Drift says with
// each file that differs (see Drift, DriftAdopt, DriftReport,
// DriftRevert): each is a RuleDrift warning and an entry of Result.Drift.
//
// With nothing in raw/ to ingest and no drift it returns a zero Result and
// writes nothing. With drift alone it acts on that: DriftAdopt writes only
// the manifest, DriftRevert only the restored files (and the manifest if it
// changes), DriftReport nothing; the Result has the drift and its warnings.
// Invalid input returns *ValidationError, and no Writer method was called.
// Unusable options return an error wrapping ErrInvalidOptions. An error
// from fsys or w is returned wrapped (%w); by then some changes may have
// been written, and the caller should discard them.
//
// ctx bounds the run: the returned error wraps the context's error when
// ctx ends (errors.Is(err, context.Canceled) or
// context.DeadlineExceeded). Ingest checks ctx before it starts, before
// each raw file in both passes, every 64 documents while validating, and
// before each document it writes and each file it writes or removes, so it
// stops within milliseconds; only the reading of one raw file (at most
// Limits.MaxFileBytes) is not interrupted. If ctx ended before the write
// pass, no Writer method was called; otherwise, as after a Writer error,
// some changes may have been written, and the caller should discard them
// (restore its clone). Once every raw file has been validated, invalid
// input is reported as *ValidationError even if ctx has ended.
//
// Ingest never panics; it is safe for concurrent use with distinct
// arguments, and every goroutine it starts has exited when it returns.
func Ingest(ctx context.Context, fsys fs.FS, opts Options, w Writer) (res *Result, err error) {
	if !validJobID(opts.JobID) {
		return nil, fmt.Errorf("job id %q (want letters, digits, '.', '_', ':' or '-'): %w", opts.JobID, ErrInvalidOptions)
	}
	if !validDrift(opts.Drift) {
		return nil, fmt.Errorf("drift %q (want %s, %s or %s): %w", opts.Drift, DriftAdopt, DriftReport, DriftRevert, ErrInvalidOptions)
	}
	in := &ingester{
		fsys:    fsys,
		opts:    opts,
		lim:     opts.Limits.withDefaults(),
		w:       w,
		t:       newTree(fsys),
		workers: opts.Workers,
		v:       opts.Validator,
		scr:     scratchIO{s: opts.Scratch},
	}
	if in.workers <= 0 {
		in.workers = runtime.GOMAXPROCS(0)
	}
	defer func() {
		if r := recover(); r != nil {
			res = nil
			if in.wrote {
				err = fmt.Errorf("ingest: %w: %v", errPanic, r)
				return
			}
			err = &ValidationError{Problems: []Problem{{Message: fmt.Sprintf("internal error: %v", r)}}}
		}
	}()
	return in.run(ctx)
}

// checkEvery is how many documents the validation pass handles between
// two looks at its context: about 20 ms of work on one core.
const checkEvery = 64

// stopped returns an error wrapping ctx's error, naming what was not done
// ("validate raw/a.yaml"), once ctx has ended, and nil before.
func stopped(ctx context.Context, what, name string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", what, name, err)
	}
	return nil
}

type ingester struct {
	fsys    fs.FS
	opts    Options
	lim     Limits
	w       Writer
	t       *tree
	workers int
	wrote   bool

	files    []rawFile
	problems []Problem
	warnings []Problem // the validator's warnings
	v        *validate.Validator
	facts    validate.Facts // the Resources the validator found, for CheckFacts
	res      Result
	plan     planList  // the documents that define or delete a resource, in order
	inMemory int       // bytes of planned output held in memory
	scr      scratchIO // Options.Scratch: planned output beyond MemoryBudget, then facts
	logFiles []logFile
	docs     int                 // documents the first pass found
	deletes  map[string]deletion // resource file -> the delete document that removes it
	sums     map[string][32]byte // sha256 of the untouched resource files read so far (checkExisting)
	drift    *driftScan          // what scanDrift found
}

// rawFile is one raw YAML file to ingest.
type rawFile struct {
	Path string
	Size int64
	Sum  [32]byte // sha256 of the content read in the first pass
	// Plan is where the file's documents are in ingester.plan:
	// plan[Plan[0]:Plan[1]].
	Plan [2]int
}

// planned is what the first pass keeps of a document that defines or
// deletes a resource, for the second pass to write: its manifest entry
// (without the sum) and its normalized bytes. The plan stores it compactly
// (planRec); planList.at returns it as this struct.
type planned struct {
	entry
	Out     []byte // the normalized document; nil when it is in Options.Scratch (or a delete)
	Spill   int64  // where it is in Options.Scratch
	Size    int32  // its length
	Line    int32  // of metadata.name, in the raw file
	Managed bool
	Delete  bool
	idx     int // in the plan
}

// identity names p's resource for messages (see identityString).
func (p *planned) identity() string {
	group, _, _ := splitAPIVersion(p.APIVersion)
	return identityString(group, p.Kind, p.Namespace, p.Name)
}

// place is where p is in the raw files.
func (p *planned) place() docPlace {
	return docPlace{File: int(p.File), Doc: int(p.Document), Line: int(p.Line), Identity: p.identity()}
}

// keep stores out as p's normalized document: in memory within
// MemoryBudget, else in Options.Scratch when there is one.
func (in *ingester) keep(p *planned, out []byte) error {
	p.Size = int32(len(out))
	if in.opts.Scratch == nil || in.inMemory+len(out) <= MemoryBudget {
		in.inMemory += len(out)
		p.Out = out
		return nil
	}
	off, err := in.scr.put(out)
	if err != nil {
		return fmt.Errorf("keep normalized documents in scratch space: %w", err)
	}
	p.Spill = off
	return nil
}

// output returns p's normalized document and lets go of it.
func (in *ingester) output(p *planned) ([]byte, error) {
	if out := p.Out; out != nil {
		p.Out = nil
		in.plan.release(p.idx)
		return out, nil
	}
	out := make([]byte, p.Size)
	if err := in.scr.get(out, p.Spill); err != nil {
		return nil, fmt.Errorf("read normalized documents back from scratch space: %w", err)
	}
	return out, nil
}

func (in *ingester) problem(p Problem) { in.problems = append(in.problems, p) }

func (in *ingester) run(ctx context.Context) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("not started: %w", err)
	}
	if err := in.findRaw(); err != nil {
		return nil, err
	}
	if len(in.files) == 0 && len(in.problems) == 0 {
		return in.driftOnly(ctx)
	}
	if err := in.checkLayout(); err != nil {
		return nil, err
	}
	if err := in.validate(ctx); err != nil {
		return nil, err
	}
	if err := in.attachExcerpts(); err != nil {
		return nil, err
	}
	in.attachObjects()
	finishProblems(in.problems, SeverityError)
	finishProblems(in.warnings, SeverityWarning)
	if len(in.problems) > 0 {
		return nil, &ValidationError{Problems: in.problems, Warnings: in.warnings}
	}
	in.res.Problems = in.warnings
	for _, w := range in.warnings {
		in.res.Warnings = append(in.res.Warnings, w.String())
	}
	in.res.Drift = in.driftResult()

	// What the write pass adds to the Result, allocated once.
	in.res.Written = make([]string, 0, in.plan.len()+2*len(in.files)+3)
	in.res.Changes = make([]FileChange, 0, in.plan.len())
	for i := range in.files {
		if err := in.writeFile(ctx, i); err != nil {
			return nil, err
		}
		in.opts.progress(PhaseWrite, i+1, len(in.files))
	}
	if err := in.writeReverts(ctx); err != nil {
		return nil, err
	}
	if _, ok, err := in.t.typeOf(gitkeepPath); err != nil {
		return nil, err
	} else if !ok {
		if err := in.write(ctx, gitkeepPath, "raw", []byte{}); err != nil {
			return nil, err
		}
	}
	if err := in.writeManifest(ctx); err != nil {
		return nil, err
	}
	if err := in.writeArchiveLog(ctx); err != nil {
		return nil, err
	}
	slices.Sort(in.res.Written)
	slices.Sort(in.res.Kept)
	if len(in.res.Changes) == 0 {
		in.res.Changes = nil
	}
	sortChanges(in.res.Changes)
	res := in.res
	return &res, nil
}

// findRaw lists the raw files to ingest and the entries under raw/ that
// must not be there.
func (in *ingester) findRaw() error {
	mode, ok, err := in.t.typeOf("raw")
	if err != nil || !ok {
		return err
	}
	if !mode.IsDir() {
		in.problem(Problem{File: "raw", Message: fmt.Sprintf("raw is %s, not a folder; a repository must not make ingest read outside itself", describeMode(mode))})
		return nil
	}
	var sizes []string
	err = in.t.walk("raw", true, func(p string, mode fs.FileMode) error {
		if !mode.IsRegular() {
			in.problem(Problem{File: p, Message: fmt.Sprintf("%s is %s; only regular files may be in raw/ (a repository must not make ingest read outside itself)", p, describeMode(mode))})
			return nil
		}
		if !yamlName(p[strings.LastIndexByte(p, '/')+1:]) {
			return nil
		}
		if !safePath(p, "raw") {
			in.problem(Problem{File: p, Message: "file name cannot be used in a repository path (it contains a backslash); rename it"})
			return nil
		}
		if el := longElement(p); el != "" {
			// Only a file system other than the usual ones can hold it.
			in.problem(Problem{File: p, Message: fmt.Sprintf("path element %s is %d bytes, over the 255-byte limit of file systems; rename it", quote(el), len(el))})
			return nil
		}
		sizes = append(sizes, p)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(sizes)
	in.files = make([]rawFile, len(sizes))
	for i, p := range sizes {
		in.files[i] = rawFile{Path: p}
	}
	return nil
}

// checkLayout checks the paths outside managed/ and unmanaged/ that a
// successful ingest writes.
func (in *ingester) checkLayout() error {
	// raw/.gitkeep is written only when it does not exist, and raw/ is
	// checked by findRaw.
	paths := []string{ManifestPath, ArchiveLogPath}
	for _, f := range in.files {
		paths = append(paths, in.archivePath(f.Path))
	}
	reported := map[string]bool{}
	for _, p := range paths {
		bad, msg, err := in.t.writable(p)
		if err != nil {
			return err
		}
		if msg != "" && !reported[bad] {
			reported[bad] = true
			in.problem(Problem{File: bad, Message: msg})
		}
	}
	return nil
}

// archivePath returns where the raw file raw is archived:
// .hnp/archive/<job>/<path under raw/>.archived, its file name shortened by
// fitName if need be.
func (in *ingester) archivePath(raw string) string { return archivePathFor(in.opts.JobID, raw) }

// archivePathFor is where job archived the raw file raw.
func archivePathFor(job, raw string) string {
	i := strings.LastIndexByte(raw, '/')
	return archiveDir + "/" + job + "/" + raw[len("raw/"):i+1] + fitName(raw[i+1:], ".archived")
}

// readRaw reads a raw file within the size limit; a nil slice with a
// problem recorded means it is too large.
func (in *ingester) readRaw(f *rawFile) ([]byte, error) {
	fh, size, err := in.openRaw(f.Path)
	if err != nil {
		return nil, err
	}
	// Only read: closing cannot lose data, and the content read is
	// already checked (size, and the checksum in the second pass).
	defer func() { _ = fh.Close() }()
	return in.readOpen(fh, size, f.Path)
}

// readOpen reads the raw file fh, of size bytes (-1: not known), whole
// within the size limit; nil when it is over.
func (in *ingester) readOpen(fh fs.File, size int64, path string) ([]byte, error) {
	if size > in.lim.MaxFileBytes {
		return nil, nil
	}
	data, err := readAll(io.LimitReader(fh, in.lim.MaxFileBytes+1), size)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > in.lim.MaxFileBytes {
		return nil, nil
	}
	return data, nil
}

// readSame reads raw file f whole again; it fails as changed unless the
// content is what the first read saw.
func (in *ingester) readSame(f *rawFile) ([]byte, error) {
	data, err := in.readRaw(f)
	if err != nil {
		return nil, err
	}
	if data == nil || sha256.Sum256(data) != f.Sum {
		return nil, fmt.Errorf("read %s: %w", f.Path, errChanged)
	}
	return data, nil
}

// readAll is io.ReadAll reading into a buffer of the expected size, so
// that a large file is not copied while the buffer grows.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size < 0 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// docPlace is where a resource was first seen in this ingest.
type docPlace struct {
	File     int // index into files
	Doc      int
	Line     int
	Identity string
}

// validate is the first pass over every raw file. The resources seen so far
// are local to it, so that they are garbage before the second pass writes.
func (in *ingester) validate(ctx context.Context) error {
	seen := &pathIndex{plan: &in.plan}
	if in.v != nil && in.opts.Scratch != nil {
		in.facts.SetSpill(scratchSpill{in})
	}
	for i := range in.files {
		if err := stopped(ctx, "validate", in.files[i].Path); err != nil {
			return err
		}
		if err := in.validateFile(ctx, i, seen); err != nil {
			return err
		}
		in.opts.progress(PhaseValidate, i+1, len(in.files))
	}
	if in.v != nil {
		if err := in.checkExisting(ctx, seen); err != nil {
			return err
		}
		for _, c := range in.v.CheckFacts(&in.facts) {
			in.check(fromCheck(c))
		}
		if err := in.facts.Err(); err != nil {
			return fmt.Errorf("keep validation facts in scratch space: %w", err)
		}
		large := in.facts.Size() >= collectBefore
		in.facts = validate.Facts{}
		if large {
			// The fabric-wide checks' indexes (a few dozen bytes per resource) are
			// garbage now, but they set the collector's next goal: collected now,
			// the write pass starts from the live set alone.
			runtime.GC()
		}
	}
	if len(in.problems) > 0 {
		return nil // nothing is written, so there is no drift to act on
	}
	return in.scanDrift(ctx, func(p string) bool {
		_, written := seen.get(p)
		return written || in.deleted(p)
	}, true)
}

// scratchSpill keeps the validator's facts (validate.Facts) in Options.Scratch, after the
// normalized documents, until the fabric-wide checks read them back.
type scratchSpill struct{ in *ingester }

func (s scratchSpill) Put(b []byte) (int64, error) { return s.in.scr.put(b) }

func (s scratchSpill) Get(b []byte, off int64) error {
	return s.in.scr.get(b, off)
}

// check records a validator's problem as an error or a warning.
func (in *ingester) check(p Problem) {
	if p.Severity == SeverityError {
		in.problems = append(in.problems, p)
		return
	}
	in.warnings = append(in.warnings, p)
}

// checkExisting runs the validator on the resource files under managed/
// that this ingest does not replace, so that the fabric-wide checks see the
// fabric as it will be. Their own problems are warnings (old debt never
// blocks a sync). A file that does not parse is left to the user: it is
// not this sync's to judge, and ingest never reads it for anything else.
func (in *ingester) checkExisting(ctx context.Context, seen *pathIndex) error {
	mode, ok, err := in.t.typeOf("managed")
	if err != nil || !ok || !mode.IsDir() {
		return err
	}
	var paths []string
	err = in.t.walk("managed", true, func(p string, mode fs.FileMode) error {
		if _, replaced := seen.get(p); !replaced && !in.deleted(p) && mode.IsRegular() && yamlName(p[strings.LastIndexByte(p, '/')+1:]) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(paths)
	i := 0
	next := func() (string, bool) {
		if i == len(paths) {
			return "", false
		}
		i++
		return paths[i-1], true
	}
	type existing struct {
		path   string
		sum    [32]byte // of the file, for scanDrift
		checks []validate.Problem
		res    *validate.Resource
		record []byte // res as validate.Record encodes it, from the memo
		err    error
	}
	var werr error
	handled := 0
	ordered(in.workers, next, func(p string) existing {
		data, err := fs.ReadFile(in.fsys, p)
		if err != nil {
			return existing{err: fmt.Errorf("read %s: %w", p, err)}
		}
		e := existing{path: p, sum: sha256.Sum256(data)}
		if int64(len(data)) > in.lim.MaxFileBytes {
			return e
		}
		key := memoKey{v: in.v, path: p, sum: e.sum}
		if m, ok := in.opts.Memo.get(key); ok {
			e.checks, e.record = m.checks, m.record
			return e
		}
		arena := nodeArenas.Get().(*nodeArena) // the tree is done with on return: e holds none of it
		defer nodeArenas.Put(arena)
		doc, err := parseDocIn(data, arena)
		if err != nil || isEmptyDoc(doc) {
			return e
		}
		if _, err := expandAliases(doc, in.lim.MaxAliasExpansion); err != nil {
			return e
		}
		root := doc.Content[0]
		d := &validate.Doc{File: p, Index: 1, Line: 1, Root: root, New: false}
		d.APIVersion, _ = scalarString(lookup(root, "apiVersion"))
		d.Group, d.Version, _ = splitAPIVersion(d.APIVersion)
		d.Kind, _ = scalarString(lookup(root, "kind"))
		if md := lookup(root, "metadata"); md != nil {
			d.Name, _ = scalarString(lookup(md, "name"))
			d.Namespace, _ = scalarString(lookup(md, "namespace"))
		}
		e.checks, e.res = in.v.Check(d)
		if in.opts.Memo != nil {
			m := memoEntry{checks: e.checks}
			if e.res != nil {
				m.record = validate.Record(e.res)
				e.res, e.record = nil, m.record
			}
			in.opts.Memo.put(key, m)
		}
		return e
	}, func(e existing) bool {
		if handled++; handled%checkEvery == 0 {
			if werr = stopped(ctx, "validate", "managed/"); werr != nil {
				return false
			}
		}
		if e.err != nil {
			werr = e.err
			return false
		}
		if in.sums == nil {
			in.sums = map[string][32]byte{}
		}
		in.sums[e.path] = e.sum
		for _, c := range e.checks {
			in.check(fromCheck(c))
		}
		switch {
		case e.record != nil:
			in.facts.AddRecord(e.record)
		case e.res != nil:
			in.facts.Add(e.res)
		}
		return true
	})
	return werr
}

// scalarString returns the value of a string scalar node.
func scalarString(n *yaml.Node) (string, bool) {
	if n == nil || !isString(n) {
		return "", false
	}
	return n.Value, true
}

// validateFile is the first pass over one raw file: it records every
// problem, and the resources it defines in seen.
func (in *ingester) validateFile(ctx context.Context, fileIdx int, seen *pathIndex) (err error) {
	f := &in.files[fileIdx]
	f.Plan[0] = in.plan.len()
	defer func() { f.Plan[1] = in.plan.len() }()
	look, err := in.lookAt(f)
	if err != nil {
		return err
	}
	if look.tooLarge {
		in.problem(Problem{File: f.Path, Message: fmt.Sprintf("file is larger than the limit of %s; split it into smaller files", sizeString(in.lim.MaxFileBytes))})
		return nil
	}
	if look.notText {
		// Read whole to say where: such a file goes no further.
		if look.data, err = in.readSame(f); err != nil {
			return err
		}
	}
	var sp *splitter
	if look.data != nil {
		if msg, line, col, ok := checkText(look.data); !ok {
			in.problem(Problem{File: f.Path, Line: line, Column: col, Message: msg})
			return nil
		}
		sp = newSplitter(look.data)
	} else {
		s, serr := in.streamRaw(f)
		if serr != nil {
			return serr
		}
		sp = newStreamSplitter(s)
		defer func() { // err is validateFile's own: what the reading found goes in it
			var rerr error
			switch {
			case sp.Err() != nil:
				rerr = fmt.Errorf("read %s: %w", f.Path, sp.Err())
			case sp.finished: // else a problem stopped the reading
				rerr = s.done()
			}
			s.close()
			if err == nil {
				err = rerr
			}
		}()
	}
	count := 0
	next := func() (rawDoc, bool) {
		d, ok := sp.Next()
		if ok && !d.Empty {
			count++
			if count > in.lim.MaxDocuments {
				in.problem(Problem{File: f.Path, Line: d.Line, Message: fmt.Sprintf("file has more than %d documents (the limit); split it into smaller files", in.lim.MaxDocuments)})
				return rawDoc{}, false
			}
		}
		return d, ok
	}
	var werr error
	handled := 0
	ordered(in.workers, next, func(d rawDoc) docResult {
		return processDoc(f.Path, d, in.lim, in.v)
	}, func(r docResult) bool {
		if handled++; handled%checkEvery == 0 {
			if werr = stopped(ctx, "validate", f.Path); werr != nil {
				return false
			}
		}
		in.problems = append(in.problems, r.Problems...)
		for _, c := range r.Checks {
			in.check(c)
		}
		if r.Resource != nil {
			in.facts.Add(r.Resource)
		}
		if r.Empty || len(r.Problems) > 0 {
			return true
		}
		if r.Delete {
			werr = in.noteDelete(fileIdx, r, seen)
			return werr == nil
		}
		in.docs++
		if first, dup := seen.get(r.Path); dup {
			fp := in.plan.at(int(first))
			id := identityString(r.Group, r.Kind, r.Namespace, r.Name)
			where := fmt.Sprintf("%s document %d (line %d)", in.files[fp.File].Path, fp.Document, fp.Line)
			msg := fmt.Sprintf("duplicate resource %s: also defined in %s", id, where)
			if firstID := fp.identity(); firstID != id {
				msg = fmt.Sprintf("resource %s would be written to %s, like %s from %s", id, r.Path, firstID, where)
			}
			in.problem(Problem{File: f.Path, Document: r.Doc.Index, Line: r.NameLine, Column: r.NameCol, Message: msg})
			return true
		}
		if d, ok := in.deletes[r.Path]; ok {
			in.problem(Problem{File: f.Path, Document: r.Doc.Index, Line: r.NameLine, Column: r.NameCol,
				Message: fmt.Sprintf("%s is defined here and deleted in %s: a sync can create or delete a resource, not both; drop one of the two documents", identityString(r.Group, r.Kind, r.Namespace, r.Name), in.where(d.docPlace))})
			return true
		}
		p := in.planned(fileIdx, r)
		if len(in.problems) == 0 && r.Out != nil {
			// Once there is an error nothing is written: the output is not kept.
			if werr = in.keep(&p, r.Out); werr != nil {
				return false
			}
		}
		in.plan.add(p)
		seen.add(in.plan.len() - 1)
		_, msg, err := in.t.writable(r.Path)
		if err != nil {
			werr = err
			return false
		}
		if msg != "" {
			in.problem(Problem{File: f.Path, Document: r.Doc.Index, Line: r.NameLine, Column: r.NameCol, Message: msg})
		}
		return true
	})
	return werr
}

// identityString names a resource for messages: "Switch "leaf-1" (group
// wiring.githedgehog.com, namespace team-a)". No namespace and "default"
// are the same, as they are for a Kubernetes API server.
func identityString(group, kind, namespace, name string) string {
	s := kind + " " + quote(name)
	var extra []string
	if group != "" {
		extra = append(extra, "group "+group)
	}
	if namespace != "" && namespace != "default" {
		extra = append(extra, "namespace "+namespace)
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// planned returns what the second pass needs of r, a resource of raw file
// fileIdx, without its output.
func (in *ingester) planned(fileIdx int, r docResult) planned {
	name := r.Name
	if base := strings.TrimSuffix(r.Path, ".yaml"); strings.HasSuffix(base, name) {
		name = base[len(base)-len(name):] // no copy
	}
	return planned{
		entry: entry{
			Path:       r.Path,
			Kind:       r.Kind,
			APIVersion: r.APIVersion,
			Namespace:  r.Namespace,
			Name:       name, // in full, also when the file name is shortened
			File:       int32(fileIdx),
			Document:   int32(r.Doc.Index),
		},
		Line:    int32(r.NameLine),
		Managed: r.Managed,
		Delete:  r.Delete,
	}
}

func sizeString(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// write hands one file to the Writer after a last check that the path stays
// where it belongs.
func (in *ingester) write(ctx context.Context, name, prefix string, data []byte) error {
	if err := beforeWrite(ctx, name, prefix); err != nil {
		return err
	}
	in.wrote = true
	if err := in.w.WriteFile(name, data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	in.res.Written = append(in.res.Written, name)
	return nil
}

// beforeWrite is the last check before name is handed to the Writer: the
// path stays where it belongs (under prefix, each element within the file
// systems' limit), and ctx has not ended.
func beforeWrite(ctx context.Context, name, prefix string) error {
	if !safePath(name, prefix) {
		return fmt.Errorf("write %q: %w: unsafe path", name, errPanic)
	}
	if longElement(name) != "" {
		return fmt.Errorf("write %q: %w: file name over %d bytes", name, errPanic, maxNameBytes)
	}
	return stopped(ctx, "write", name)
}

// writeFile is the second pass over one raw file: it writes its resource
// files and archive copy, and removes it (or moves it to the archive).
func (in *ingester) writeFile(ctx context.Context, fileIdx int) error {
	f := &in.files[fileIdx]
	if err := stopped(ctx, "convert", f.Path); err != nil {
		return err
	}
	// A large file is not held: checked now, copied to the archive in pieces. A file moved to
	// the archive (Renamer) is checked there, once moved.
	rn, move := in.w.(Renamer)
	sw, stream := in.w.(StreamWriter)
	stream = stream && f.Size > wholeFileMax
	var data []byte
	switch {
	case move:
	case stream:
		if err := in.copyRaw(f, func([]byte) error { return nil }); err != nil {
			return err
		}
	default:
		var err error
		if data, err = in.readSame(f); err != nil {
			return err
		}
	}
	lf := logFile{Raw: f.Path, Archived: in.archivePath(f.Path), Resources: make([]string, 0, f.Plan[1]-f.Plan[0])}
	// Resource files are written by up to in.workers goroutines when the
	// Writer allows it; everything else, and all bookkeeping, in order here.
	workers := 1
	if _, ok := in.w.(ConcurrentWriter); ok {
		workers = in.workers
	}
	i := f.Plan[0]
	var werr error
	next := func() (resourceWrite, bool) {
		if i == f.Plan[1] || werr != nil {
			return resourceWrite{}, false
		}
		p := in.plan.at(i)
		i++
		if p.Delete {
			return resourceWrite{p: p}, true
		}
		rw, err := in.prepareWrite(ctx, p)
		if err != nil {
			werr = err
			return resourceWrite{}, false
		}
		return rw, true
	}
	ordered(workers, next, in.doWrite, func(rw resourceWrite) bool {
		if rw.p.Delete {
			werr = in.removeResource(ctx, fileIdx, rw.p, &lf)
			return werr == nil
		}
		if werr = in.finishWrite(rw); werr != nil {
			return false
		}
		lf.Resources = append(lf.Resources, rw.p.Path)
		return true
	})
	if werr != nil {
		return werr
	}
	moved := false
	if move {
		var err error
		if moved, err = in.moveRaw(ctx, rn, f, lf.Archived); err != nil {
			return err
		}
		if !moved && !stream { // archived by a copy after all
			if data, err = in.readSame(f); err != nil {
				return err
			}
		}
	}
	if !moved {
		archive := func(emit func([]byte) error) error { return in.copyRaw(f, emit) }
		if stream {
			if err := in.stream(ctx, sw, lf.Archived, archiveDir+"/"+in.opts.JobID, f.Size, archive); err != nil {
				return err
			}
		} else if err := in.write(ctx, lf.Archived, archiveDir+"/"+in.opts.JobID, data); err != nil {
			return err
		}
		if !safePath(f.Path, "raw") {
			return fmt.Errorf("remove %q: %w: unsafe path", f.Path, errPanic)
		}
		if err := stopped(ctx, "remove", f.Path); err != nil {
			return err
		}
		if err := in.w.Remove(f.Path); err != nil {
			return fmt.Errorf("remove %s: %w", f.Path, err)
		}
	}
	in.res.Archived++
	in.res.Written = append(in.res.Written, f.Path)
	in.res.Files++
	in.logFiles = append(in.logFiles, lf)
	return nil
}

// moveRaw archives raw file f by moving it to name (Renamer), then reads it there and fails as
// changed unless it is the content the first pass validated; a changed file is moved back to
// raw/, where whoever changed it expects it. It reports false, having changed nothing, when
// Rename fails: the caller archives a copy instead.
func (in *ingester) moveRaw(ctx context.Context, rn Renamer, f *rawFile, name string) (bool, error) {
	if !safePath(f.Path, "raw") {
		return false, fmt.Errorf("move %q: %w: unsafe path", f.Path, errPanic)
	}
	if err := beforeWrite(ctx, name, archiveDir+"/"+in.opts.JobID); err != nil {
		return false, err
	}
	in.wrote = true
	if err := rn.Rename(f.Path, name); err != nil {
		return false, nil
	}
	in.res.Written = append(in.res.Written, name)
	var err error
	if f.Size > wholeFileMax {
		archived := *f
		archived.Path = name
		err = in.copyRaw(&archived, func([]byte) error { return nil })
	} else {
		// Whole, through fs.ReadFile: a Writer that keeps folders open reads it in the
		// archive's folder it just moved it into (fabricdir.Writer.FS).
		var data []byte
		if data, err = fs.ReadFile(in.fsys, name); err != nil {
			err = fmt.Errorf("read %s: %w", name, err)
		} else if int64(len(data)) != f.Size || sha256.Sum256(data) != f.Sum {
			err = errChanged
		}
	}
	if errors.Is(err, errChanged) {
		_ = rn.Rename(name, f.Path) // best effort: the ingest fails either way
		return true, fmt.Errorf("read %s: %w", f.Path, errChanged)
	}
	return true, err
}

// resourceWrite is the writing of one resource file (or a delete): prepared
// in order (prepareWrite), done on any goroutine (doWrite), and accounted
// for in order (finishWrite).
type resourceWrite struct {
	p        *planned
	out      []byte
	exists   bool // a regular file is at p.Path
	outcome  int  // created, updated or unchanged
	err      error
	writerOK bool // the Writer was called and did not fail
}

// Outcomes of a resourceWrite.
const (
	outCreated = iota + 1
	outUpdated
	outUnchanged
)

// ConcurrentWriter is a Writer whose methods may be called from several
// goroutines at once, each on its own name. Ingest writes the resource
// files of such a Writer on up to Options.Workers goroutines; with any
// other Writer, from one goroutine at a time.
type ConcurrentWriter interface {
	Writer
	// ConcurrentWrites does nothing: it says the Writer is safe for
	// concurrent use.
	ConcurrentWrites()
}

// prepareWrite readies the writing of the resource file of p, a document
// of the first pass.
func (in *ingester) prepareWrite(ctx context.Context, p *planned) (resourceWrite, error) {
	rw := resourceWrite{p: p}
	// Also for the files that are not written because they would not change.
	if err := beforeWrite(ctx, p.Path, p.prefix()); err != nil {
		return rw, err
	}
	out, err := in.output(p)
	if err != nil {
		return rw, err
	}
	rw.out = out
	mode, exists, err := in.t.typeOf(p.Path)
	if err != nil {
		return rw, err
	}
	if exists && !mode.IsRegular() {
		return rw, fmt.Errorf("write %s: %w: not a regular file", p.Path, errPanic)
	}
	rw.exists = exists
	in.wrote = true // from here on a failure may leave changes behind
	return rw, nil
}

// doWrite writes rw's file unless its bytes would not change. It is safe
// on any goroutine for distinct files when the Writer is a
// ConcurrentWriter.
func (in *ingester) doWrite(rw resourceWrite) resourceWrite {
	p := rw.p
	if p.Delete {
		return rw
	}
	rw.outcome = outCreated
	if rw.exists {
		old, err := fs.ReadFile(in.fsys, p.Path)
		if err != nil {
			rw.err = fmt.Errorf("read %s: %w", p.Path, err)
			return rw
		}
		if bytes.Equal(old, rw.out) {
			rw.outcome = outUnchanged
		} else {
			rw.outcome = outUpdated
		}
	}
	if rw.outcome != outUnchanged {
		if err := in.w.WriteFile(p.Path, rw.out); err != nil {
			rw.err = fmt.Errorf("write %s: %w", p.Path, err)
			return rw
		}
		rw.writerOK = true
	}
	p.Sum = sha256.Sum256(rw.out) // p.entry is the manifest entry (see manifest)
	rw.out = nil
	return rw
}

// finishWrite accounts for a done resourceWrite, in the order of the plan.
func (in *ingester) finishWrite(rw resourceWrite) error {
	p := rw.p
	if rw.writerOK {
		in.res.Written = append(in.res.Written, p.Path)
	}
	if rw.err != nil {
		return rw.err
	}
	in.res.Documents++
	if !p.Managed {
		in.res.Warnings = append(in.res.Warnings, fmt.Sprintf("%s document %d: kind %s (apiVersion %s) is not a fabric kind; carried to %s", in.files[p.File].Path, p.Document, p.Kind, p.APIVersion, p.Path))
	}
	switch rw.outcome {
	case outUnchanged:
		in.res.Unchanged++
		in.res.Kept = append(in.res.Kept, p.Path)
		in.plan.setSum(p.idx, p.Sum, -1)
	case outUpdated:
		in.res.Updated++
		in.plan.setSum(p.idx, p.Sum, len(in.res.Changes))
		in.res.Changes = append(in.res.Changes, FileChange{Path: p.Path, Action: ChangeUpdated, Sum: p.Sum})
	default:
		in.res.Created++
		in.plan.setSum(p.idx, p.Sum, len(in.res.Changes))
		in.res.Changes = append(in.res.Changes, FileChange{Path: p.Path, Action: ChangeCreated, Sum: p.Sum})
	}
	return nil
}

// prefix is the top folder of p's resource file.
func (p *planned) prefix() string {
	if p.Managed {
		return "managed"
	}
	return "unmanaged"
}

// writeManifest writes .hnp/manifest.yaml: the entries of this run, plus
// one for every other resource file, carried over from the old manifest or
// made from the file as Options.Drift says (see otherEntries).
func (in *ingester) writeManifest(ctx context.Context) error {
	size, each, err := in.manifest(ctx)
	if err != nil {
		return err
	}
	if sw, ok := in.w.(StreamWriter); ok {
		return in.stream(ctx, sw, ManifestPath, ".hnp", int64(size), each)
	}
	buf := gather(size, each)
	err = in.write(ctx, ManifestPath, ".hnp", buf)
	if len(buf) >= collectBefore {
		runtime.GC() // see collectBefore; buf is not used after this
	}
	return err
}

// manifestBytes returns the manifest whole.
func (in *ingester) manifestBytes(ctx context.Context) ([]byte, error) {
	size, each, err := in.manifest(ctx)
	if err != nil {
		return nil, err
	}
	return gather(size, each), nil
}

// gather collects the size bytes each emits into one buffer, allocated on a freshly collected
// heap when it is large (see collectBefore).
func gather(size int, each func(emit func([]byte) error) error) []byte {
	if size >= collectBefore {
		runtime.GC()
	}
	buf := make([]byte, 0, size)
	_ = each(func(b []byte) error { buf = append(buf, b...); return nil }) // appending never fails
	return buf
}

// stream writes name through sw, its content, of about size bytes, handed
// to emit in pieces by each. Its buffer is the size, up to 64 KiB: a small
// fabric's manifest costs one write, and allocates no more than it holds.
func (in *ingester) stream(ctx context.Context, sw StreamWriter, name, prefix string, size int64, each func(emit func([]byte) error) error) error {
	if err := beforeWrite(ctx, name, prefix); err != nil {
		return err
	}
	in.wrote = true
	f, err := sw.CreateFile(name)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	bw := bufio.NewWriterSize(f, int(min(max(size, 512), 64<<10)))
	err = each(func(b []byte) error {
		_, err := bw.Write(b)
		return err
	})
	if err = errors.Join(err, bw.Flush(), f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	in.res.Written = append(in.res.Written, name)
	return nil
}

// collectBefore is the size from which the manifest buffer, when the Writer
// takes the manifest whole (no StreamWriter), is allocated on a freshly
// collected heap, and collected again once written. It is the largest
// single allocation of such an ingest (about 300 bytes per resource file,
// 30 MB for 100,000), made at the very end, when the garbage of the whole
// write pass waits for the next cycle: with the collector's usual pacing
// the peak would be that garbage plus the live set plus the buffer. One
// collection with a heap of mostly pointer-free records costs a few
// milliseconds; a small fabric never pays it.
const collectBefore = 8 << 20

// manifest returns the content of the new manifest.
func (in *ingester) manifest(ctx context.Context) (int, func(emit func([]byte) error) error, error) {
	if in.drift == nil {
		if err := in.scanDrift(ctx, nil, false); err != nil {
			return 0, nil, err
		}
	}
	if in.drift.badManifest && len(in.drift.others) > 0 {
		in.res.Warnings = append(in.res.Warnings, ManifestPath+" could not be read; the sources of resource files not ingested now are lost")
	}
	others, err := in.otherEntries(ctx)
	if err != nil {
		return 0, nil, err
	}
	// The entries of this run are in the plan, written by the second pass:
	// sorted as indices (others[i] is -1-i), made into entries one at a time.
	order := make([]int32, 0, in.plan.len()+len(others))
	for i := range in.plan.len() {
		if !in.plan.deletes(i) {
			order = append(order, int32(i))
		}
	}
	for i := range others {
		order = append(order, int32(-1-i))
	}
	pathOf := func(i int32) string {
		if i < 0 {
			return others[-1-i].Path
		}
		return in.plan.path(int(i))
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(pathOf(a), pathOf(b)) })
	var e entry
	entryOf := func(i int32) *entry {
		if i < 0 {
			return &others[-1-i]
		}
		in.plan.entry(int(i), &e, in.res.Changes)
		return &e
	}
	// The size, for a Writer that takes the manifest whole: a buffer of exactly that size.
	size := len(manifestHeader) + len("resources:\n")
	var scratch []byte
	for _, i := range order {
		scratch = appendManifestEntry(scratch[:0], entryOf(i), in.files, in.opts.Commit, in.opts.JobID)
		size += len(scratch)
	}
	each := func(emit func([]byte) error) error {
		if err := emit([]byte(manifestHeader + "resources:\n")); err != nil {
			return err
		}
		for _, i := range order {
			scratch = appendManifestEntry(scratch[:0], entryOf(i), in.files, in.opts.Commit, in.opts.JobID)
			if err := emit(scratch); err != nil {
				return err
			}
		}
		return nil
	}
	return size, each, nil
}

// writeArchiveLog appends this run's entry to .hnp/archive-log.yaml,
// keeping the old content byte for byte.
func (in *ingester) writeArchiveLog(ctx context.Context) error {
	var buf []byte
	if mode, ok, err := in.t.typeOf(ArchiveLogPath); err != nil {
		return err
	} else if ok && mode.IsRegular() {
		old, err := fs.ReadFile(in.fsys, ArchiveLogPath)
		if err != nil {
			return fmt.Errorf("read %s: %w", ArchiveLogPath, err)
		}
		buf = old
		if len(buf) > 0 && buf[len(buf)-1] != '\n' {
			buf = append(buf, '\n')
		}
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		buf = append(buf[:0], archiveLogHeader...)
	}
	// Size the buffer exactly: at 100,000 resources the entry is megabytes.
	scratch := appendLogEntry(nil, in.opts.JobID, in.opts.Commit, in.opts.Time, nil)
	size := len(buf) + len(scratch)
	head := len(appendLogEntry(scratch[:0], "", "", time.Time{}, nil))
	for _, f := range in.logFiles {
		scratch = appendLogEntry(scratch[:0], "", "", time.Time{}, []logFile{f})
		size += len(scratch) - head
	}
	buf = slices.Grow(buf, size-len(buf))
	buf = appendLogEntry(buf, in.opts.JobID, in.opts.Commit, in.opts.Time, in.logFiles)
	return in.write(ctx, ArchiveLogPath, ".hnp", buf)
}

// ordered runs fn over the items next yields on up to workers goroutines
// and hands the results to sink in the order of the items, on the calling
// goroutine, until sink returns false. At most 4*workers items are in
// flight. Every goroutine it starts has exited when it returns.
func ordered[T, R any](workers int, next func() (T, bool), fn func(T) R, sink func(R) bool) {
	if workers <= 1 {
		for {
			v, ok := next()
			if !ok || !sink(fn(v)) {
				return
			}
		}
	}
	type item struct {
		v   T
		out chan R
	}
	window := 4 * workers
	work := make(chan item, window)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				it.out <- fn(it.v)
			}
		}()
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	queue := make([]chan R, 0, window)
	for {
		if len(queue) == window {
			r := <-queue[0]
			queue = queue[1:]
			if !sink(r) {
				return
			}
		}
		v, ok := next()
		if !ok {
			break
		}
		ch := make(chan R, 1)
		work <- item{v, ch}
		queue = append(queue, ch)
	}
	for _, ch := range queue {
		if !sink(<-ch) {
			return
		}
	}
}

// Pending reports whether raw/ in fsys holds anything for Ingest to act on: a YAML file to
// ingest, or an entry Ingest would report as a problem (a symbolic link, say). It reads only
// directory entries, so a caller can skip a whole ingest cheaply when there is nothing to do.
func Pending(fsys fs.FS) (bool, error) {
	in := &ingester{fsys: fsys, t: newTree(fsys)}
	if err := in.findRaw(); err != nil {
		return false, err
	}
	return len(in.files) > 0 || len(in.problems) > 0, nil
}
