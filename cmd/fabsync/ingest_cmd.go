package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
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

// limitedGCPercent is the GOGC of `fabsync ingest` while it ingests several fabrics at once
// under a memory limit (its own or GOMEMLIMIT) and GOGC is not set: the heap may grow to 5
// times the live data between collections, instead of 2, and never past the limit. Small
// fabrics have little live data (a few MB) and allocate a lot for it, so the default collected
// every few MB: a quarter of the CPU of 480 small fabrics (BENCHMARKS.md), at 17 MiB at the
// peak, against 28 MiB now. A large fabric, ingested alone, is held to the limit either way. One
// fabric keeps the default, and its lower peak (a single 7.1 MB file: 28 MiB, against 45 MiB).
const limitedGCPercent = 400

// ingestAll runs `fabsync ingest DIR...`: every DIR must be a fabric folder before any is
// ingested; then each is ingested as its own fabric. Several small fabrics are ingested at
// once (see ingestConcurrently); what each prints is printed in the order of dirs either way.
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
	if n := min(runtime.GOMAXPROCS(0), len(dirs)); n > 1 {
		return c.ingestConcurrently(ctx, dirs, roots, val, n)
	}
	scratch, done, err := fabricdir.Scratch("")
	if err != nil {
		return c.fail(err)
	}
	defer done()
	code := exitOK
	for i, dir := range dirs {
		r := c.ingest(ctx, dir, roots[i], val, scratch, 0)
		if r == exitInterrupted {
			return exitInterrupted
		}
		code = combineIngestCodes(code, r)
	}
	return code
}

// combineIngestCodes is the exit code of several ingests so far (code) and one more (r): 1 if
// any failed, else 2 if any had errors, else 0.
func combineIngestCodes(code, r int) int {
	switch {
	case r == exitError || code == exitError:
		return exitError
	case r == exitPartial || code == exitPartial:
		return exitPartial
	}
	return code
}

// sharedRawBytes bounds the raw/ bytes of the fabrics ingested at once by ingestConcurrently. A
// fabric's ingest holds several times its raw/ bytes at its peak (a 7.1 MB file: ~50 MiB as a
// whole process), so two fabrics of a few MiB each together stay near one such fabric, and a
// fabric of sharedRawBytes or more is ingested alone.
const sharedRawBytes = 4 << 20

// ingestConcurrently ingests the fabric folders dirs, open as roots, with up to n ingests at
// once, as long as their raw/ folders hold fewer than sharedRawBytes together; the fabrics start
// in the order of dirs. What each prints (on stdout and stderr, in the order it wrote them) is
// kept until every fabric before it is printed, so the output is that of ingesting them one
// after the other. A fabric that may share the CPU runs its ingest on one goroutine
// (Options.Workers = 1): small fabrics gain nothing from more, and two ingests at once use the
// cores already. After Ctrl-C no further fabric starts; every fabric that had started is
// reported (ingested, or interrupted and maybe partly ingested), and the exit code is 130.
func (c *cli) ingestConcurrently(ctx context.Context, dirs []string, roots []*os.Root, val *validate.Validator, n int) int {
	if os.Getenv("GOGC") == "" && debug.SetMemoryLimit(-1) != math.MaxInt64 {
		defer debug.SetGCPercent(debug.SetGCPercent(limitedGCPercent))
	}
	// One scratch file per ingest at once: ingest writes its own from offset 0.
	scratches := make(chan *fabricdir.ScratchFile, n)
	for range n {
		scratch, done, err := fabricdir.Scratch("")
		if err != nil {
			return c.fail(err)
		}
		defer done()
		scratches <- scratch
	}
	type fabric struct {
		out     fabricOutput
		code    int
		started bool
		done    chan struct{} // closed when code and out are final, or it was not started
	}
	fabrics := make([]fabric, len(dirs))
	for i := range fabrics {
		fabrics[i].done = make(chan struct{})
	}
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		running int
		rawUsed int64
	)
	// ahead bounds the fabrics done but not yet printed, so that their output held in memory
	// stays bounded behind a slow fabric.
	ahead := make(chan struct{}, 4*n)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // starts the fabrics, in order
		defer wg.Done()
		i := 0
		defer func() {
			for ; i < len(dirs); i++ {
				close(fabrics[i].done)
			}
		}()
		for ; i < len(dirs) && ctx.Err() == nil; i++ {
			weight := int64(sharedRawBytes)
			if size, err := fabricdir.RawBytes(roots[i]); err == nil {
				weight = min(size, sharedRawBytes) // an error is ingest's to report
			}
			select {
			case ahead <- struct{}{}:
			case <-ctx.Done():
				return
			}
			mu.Lock()
			for running == n || (running > 0 && rawUsed+weight > sharedRawBytes) {
				cond.Wait()
			}
			running++
			rawUsed += weight
			mu.Unlock()
			if ctx.Err() != nil {
				mu.Lock()
				running--
				rawUsed -= weight
				mu.Unlock()
				return
			}
			workers := 0 // the ingest's default: GOMAXPROCS
			if weight < sharedRawBytes {
				workers = 1
			}
			f, dir, root := &fabrics[i], dirs[i], roots[i]
			f.started = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				scratch := <-scratches
				fc := *c
				fc.stdout, fc.stderr = f.out.writer(false), f.out.writer(true)
				f.code = fc.ingest(ctx, dir, root, val, scratch, workers)
				scratches <- scratch
				mu.Lock()
				running--
				rawUsed -= weight
				cond.Broadcast()
				mu.Unlock()
				close(f.done)
			}()
		}
	}()
	defer wg.Wait()
	code, interrupted := exitOK, false
	for i := range fabrics {
		f := &fabrics[i]
		<-f.done
		if !f.started { // Ctrl-C came before it started
			if !interrupted {
				return c.fail(ctx.Err())
			}
			break
		}
		f.out.writeTo(c.stdout, c.stderr)
		f.out = fabricOutput{}
		<-ahead
		if f.code == exitInterrupted {
			interrupted = true
			continue
		}
		code = combineIngestCodes(code, f.code)
	}
	if interrupted {
		return exitInterrupted
	}
	return code
}

// fabricOutput is what one fabric's ingest printed, on stdout and stderr, in the order written.
type fabricOutput struct {
	chunks []outputChunk
}

type outputChunk struct {
	stderr bool
	b      []byte
}

// writer returns a writer of f's stdout, or of its stderr. Both are used by one goroutine.
func (f *fabricOutput) writer(stderr bool) io.Writer { return outputStream{f, stderr} }

type outputStream struct {
	f      *fabricOutput
	stderr bool
}

func (s outputStream) Write(p []byte) (int, error) {
	if n := len(s.f.chunks); n > 0 && s.f.chunks[n-1].stderr == s.stderr {
		s.f.chunks[n-1].b = append(s.f.chunks[n-1].b, p...)
	} else {
		s.f.chunks = append(s.f.chunks, outputChunk{s.stderr, append([]byte(nil), p...)})
	}
	return len(p), nil
}

// writeTo prints f: each chunk to the stream it was written to.
func (f *fabricOutput) writeTo(stdout, stderr io.Writer) {
	for _, ch := range f.chunks {
		w := stdout
		if ch.stderr {
			w = stderr
		}
		_, _ = w.Write(ch.b)
	}
}

// ingest ingests the fabric folder dir, open as root.
// workers is ingest's Options.Workers.
func (c *cli) ingest(ctx context.Context, dir string, root *os.Root, val *validate.Validator, scratch fabingest.Scratch, workers int) int {
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
	res, err := fabingest.Ingest(ctx, w.FS(), fabingest.Options{JobID: id, Time: now, Validator: val, Scratch: scratch, Workers: workers}, w)
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
