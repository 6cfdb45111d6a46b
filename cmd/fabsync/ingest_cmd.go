package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/fabsync/fabsync/internal/fabricdir"
	fabingest "github.com/fabsync/fabsync/internal/ingest" // "ingest" is the job stage type of client.go
	"github.com/fabsync/fabsync/internal/validate"
)

// This file is `fabsync ingest [DIR]`: what the worker does to a fabric folder, done by hand in
// the working tree, without git (nothing is committed) and without a server.

func ingestFlags(fs *flag.FlagSet) runner {
	var v validationFlags
	v.register(fs)
	limit := fs.Int("memory-limit", defaultMemoryLimit,
		"soft memory limit in `MiB`: the garbage collector works harder near it, an ingest never fails for it; 0: none; GOMEMLIMIT, when set, wins")
	return func(ctx context.Context, c *cli, args []string) int {
		if len(args) == 0 {
			args = []string{"."}
		}
		if *limit < 0 {
			return c.usageError("ingest", "-memory-limit must be 0 (none) or a number of MiB")
		}
		if *limit > 0 && os.Getenv("GOMEMLIMIT") == "" {
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(int64(*limit) << 20))
		}
		return c.ingestAll(ctx, args, v)
	}
}

// defaultMemoryLimit is the soft memory limit of `fabsync ingest`, in MiB. Ingest's live data
// at 100,000 resources stays under about 48 MB (BENCHMARKS.md); without a limit the collector's
// usual pacing lets the process grow to about twice that before it collects (82 MiB there,
// against 56 MiB with the limit, in the same time). A larger fabric's live data goes past it:
// then the collector runs more often, taking at most half the CPU, and the ingest goes on.
const defaultMemoryLimit = 48

// ingestAll runs `fabsync ingest DIR...`: every DIR must be a fabric folder before any is
// ingested; then each is ingested in turn, as its own fabric.
func (c *cli) ingestAll(ctx context.Context, dirs []string, v validationFlags) int {
	roots := make([]*os.Root, len(dirs))
	defer func() {
		for _, r := range roots {
			if r != nil {
				_ = r.Close()
			}
		}
	}()
	for i, dir := range dirs {
		root, msg := openFabricDir(dir)
		if msg != "" {
			return c.usageError("ingest", msg)
		}
		roots[i] = root
	}
	val, msg := v.validator()
	if msg != "" {
		return c.usageError("ingest", msg)
	}
	scratch, done, err := fabricdir.Scratch("")
	if err != nil {
		return c.fail(err)
	}
	defer done()
	code := exitOK
	for i, dir := range dirs {
		switch c.ingest(ctx, dir, roots[i], val, scratch) {
		case exitInterrupted:
			return exitInterrupted
		case exitError:
			code = exitError
		case exitPartial:
			if code == exitOK {
				code = exitPartial
			}
		}
	}
	return code
}

// ingest ingests the fabric folder dir, open as root.
func (c *cli) ingest(ctx context.Context, dir string, root *os.Root, val *validate.Validator, scratch fabingest.Scratch) int {
	if d, err := fabricdir.SymlinkedOutput(root); err != nil || d != "" {
		if err == nil {
			err = fmt.Errorf("%s/ is a symbolic link; fabsync does not follow it", d)
		}
		return c.fail(fmt.Errorf("ingest %s: %w", dir, err))
	}
	now := c.now().UTC()
	id, err := newJobID(now)
	if err != nil {
		return c.fail(err)
	}
	w := fabricdir.NewWriter(root)
	res, err := fabingest.Ingest(ctx, root.FS(), fabingest.Options{JobID: id, Time: now, Validator: val, Scratch: scratch}, w)
	if cerr := w.Close(); err == nil && cerr != nil {
		err = cerr
	}
	var ve *fabingest.ValidationError
	switch {
	case errors.As(err, &ve):
		probs := checkProblems(nil, ve)
		errs, warns := countProblems(probs)
		fmt.Fprintln(c.stdout, ingestFailed(dir, errs, warns))
		c.writeProblems(c.stdout, probs)
		return exitPartial
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(c.stderr, "fabsync: interrupted; %s may be partly ingested: restore it with git before you run ingest again\n", dir)
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(c.stderr, "fabsync: ingest %s: %v\n", dir, err)
		fmt.Fprintf(c.stderr, "%s may be partly ingested: restore it with git (git restore and git clean on it) before you run ingest again.\n", dir)
		return exitError
	}
	where := filepath.Clean(dir)
	if where == "." {
		where = "the current folder"
	}
	if res.Files == 0 {
		fmt.Fprintf(c.stdout, "Nothing to ingest in %s: raw/ has no YAML files.\n", where)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "Ingested %s, %s in %s: %d created, %d updated, %d unchanged; originals archived under .hnp/archive/%s/.\n",
		plural(res.Files, "raw file"), plural(res.Documents, "document"), where, res.Created, res.Updated, res.Unchanged, id)
	if probs := checkProblems(res, nil); len(probs) > 0 {
		c.writeProblems(c.stdout, probs)
	}
	fmt.Fprintln(c.stdout, "Nothing was committed: review the changes and commit them with git.")
	return exitOK
}

// ingestFailed is the first line of an ingest that found errors.
func ingestFailed(dir string, errs, warns int) string {
	return fmt.Sprintf("Did not ingest %s: %s; nothing was written.", filepath.Clean(dir), problemCounts(errs, warns))
}

// newJobID returns an ID like the worker's, which sorts by time: 20261126T060102Z-<10 random
// hex digits>. It names the archive folder and goes into the manifest and archive log.
func newJobID(now time.Time) (string, error) {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a job ID: %w", err)
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b), nil
}
