package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/sharedtest"
)

// The ingests of several fabric folders in one process (several at once) print, write and exit
// exactly as the same folders ingested one process each, one after the other.

// manyFabrics makes the fabric folders of one `fabsync ingest DIR...` in a new temporary folder
// and returns it with the folders' names, in the order they are given: the fixtures and the
// real wiring files, three times each; a fabric over sharedRawBytes (ingested alone); one with
// nothing to ingest; and one that fails (its managed/ is a symbolic link). Two calls make the
// same folders.
func manyFabrics(t *testing.T) (string, []string) {
	t.Helper()
	base := t.TempDir()
	real := sharedtest.Dir(t, "hedgehog")
	wiring, err := filepath.Glob(filepath.Join(real, "*.yaml"))
	if err != nil || len(wiring) == 0 {
		t.Fatalf("no real wiring files in %s: %v", real, err)
	}
	var names []string
	for k := range 3 {
		for _, fx := range []string{"clean", "errors", "warnings", "unknown-field"} {
			name := fmt.Sprintf("%d-%s", k, fx)
			if err := os.CopyFS(filepath.Join(base, name), os.DirFS(filepath.Join("testdata", "check", fx))); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
		for _, f := range wiring {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%d-%s", k, strings.TrimSuffix(filepath.Base(f), ".yaml"))
			writeFile(t, filepath.Join(base, name, "raw", filepath.Base(f)), data)
			names = append(names, name)
		}
		if k == 1 {
			var big bytes.Buffer
			blob := strings.Repeat("x", 8000)
			for i := 0; big.Len() <= sharedRawBytes; i++ {
				fmt.Fprintf(&big, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\ndata:\n  blob: %s\n", i, blob)
			}
			writeFile(t, filepath.Join(base, "big", "raw", "big.yaml"), big.Bytes())
			if err := os.MkdirAll(filepath.Join(base, "empty", "raw"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(filepath.Join(base, "link"), os.DirFS(filepath.Join("testdata", "check", "clean"))); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(t.TempDir(), filepath.Join(base, "link", "managed")); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
			names = append(names, "big", "empty", "link")
		}
	}
	return base, names
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// jobIDs and times are what differs between two ingests of the same folder.
var (
	jobIDs = regexp.MustCompile(`[0-9]{8}T[0-9]{6}Z-[0-9a-f]{10}`)
	times  = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z`)
)

func maskRun(s string) string {
	return times.ReplaceAllString(jobIDs.ReplaceAllString(s, "JOB"), "TIME")
}

// maskedTree maps every file, folder and link under dir to its content with job IDs and times
// masked (folders to "dir", links to their target).
func maskedTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		key := maskRun(filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			out[key] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			out[key] = "link"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[key] = maskRun(string(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runWith runs the built fabsync in dir with args, as runBinary does, with GOMAXPROCS=4 so that
// several fabrics are ingested at once whatever the machine.
func runWith(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runBinaryEnv(t, dir, []string{"GOMAXPROCS=4"}, args...)
}

func TestIngestSeveralAtOnceAsOneByOne(t *testing.T) {
	flags := []string{"ingest", "--disable", "vpcpeering-unknown-vpc"}
	together, names := manyFabrics(t)
	got := runWith(t, together, append(flags, names...)...)

	apart, _ := manyFabrics(t)
	var want result
	for _, name := range names {
		r := runWith(t, apart, append(flags, name)...)
		want.stdout += r.stdout
		want.stderr += r.stderr
		want.code = combineIngestCodes(want.code, r.code)
	}
	if want.code != exitError || !strings.Contains(want.stdout, " documents in big: ") ||
		!strings.Contains(want.stderr, "fabsync: ingest link: managed/ is a symbolic link") {
		t.Fatalf("one by one: exit %d, stdout:\n%s\nstderr:\n%s\nwant 1, big ingested and link refused", want.code, want.stdout, want.stderr)
	}
	if got.code != want.code {
		t.Errorf("exit %d; one by one %d", got.code, want.code)
	}
	if diff := cmp.Diff(maskRun(want.stdout), maskRun(got.stdout)); diff != "" {
		t.Errorf("stdout (-one by one +together):\n%s", diff)
	}
	if diff := cmp.Diff(want.stderr, got.stderr); diff != "" {
		t.Errorf("stderr (-one by one +together):\n%s", diff)
	}
	if diff := cmp.Diff(maskedTree(t, apart), maskedTree(t, together)); diff != "" {
		t.Errorf("folders after ingest (-one by one +together):\n%s", diff)
	}
}

// cancelOnWrite cancels a context when it is first written to, as Ctrl-C while the first
// fabric's result is printed.
type cancelOnWrite struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cancel()
	return w.buf.Write(p)
}

// After Ctrl-C no further fabric starts, every fabric that had started is reported (ingested,
// or interrupted), and the exit code is 130.
func TestIngestInterrupted(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	base := t.TempDir()
	var dirs []string
	for i := range 20 {
		d := filepath.Join(base, fmt.Sprintf("f%02d", i))
		if err := os.CopyFS(d, os.DirFS(filepath.Join("testdata", "check", "clean"))); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	getenv := func(string) string { return "" }

	// Interrupted before it began: nothing is ingested.
	before := maskedTree(t, base)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, append([]string{"ingest"}, dirs...), getenv, &stdout, &stderr); code != exitInterrupted || stdout.Len() != 0 || stderr.String() != "fabsync: interrupted\n" {
		t.Errorf("ingest, interrupted at once = exit %d, stdout %q, stderr %q; want 130 and \"fabsync: interrupted\"", code, stdout.String(), stderr.String())
	}
	if diff := cmp.Diff(before, maskedTree(t, base)); diff != "" {
		t.Errorf("an ingest interrupted at once changed the folders (-before +after):\n%s", diff)
	}

	// Interrupted while the first result is printed.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOnWrite{cancel: cancel}
	stderr.Reset()
	code := run(ctx, append([]string{"ingest"}, dirs...), getenv, out, &stderr)
	if code != exitInterrupted {
		t.Errorf("ingest interrupted = exit %d; want 130", code)
	}
	ingested, interrupted, untouched := 0, 0, 0
	for _, d := range dirs {
		_, rawErr := os.Stat(filepath.Join(d, "raw", "vpcs.yaml"))
		_, hnpErr := os.Stat(filepath.Join(d, ".hnp"))
		switch {
		case strings.Contains(out.buf.String(), " in "+d+": "):
			ingested++
			if rawErr == nil {
				t.Errorf("%s reported ingested, but raw/vpcs.yaml is still there", d)
			}
		case strings.Contains(stderr.String(), "interrupted; "+d+" may be partly ingested"):
			interrupted++
		case rawErr == nil && errors.Is(hnpErr, fs.ErrNotExist):
			untouched++
			continue
		default:
			t.Errorf("%s was changed but not reported (raw/vpcs.yaml: %v, .hnp: %v)", d, rawErr, hnpErr)
		}
		if untouched > 0 {
			t.Errorf("%s was reported after a fabric that did not start: fabrics start in order", d)
		}
	}
	if ingested == 0 || untouched == 0 {
		t.Errorf("%d ingested, %d interrupted, %d untouched; want the first ingested and the last untouched\nstdout:\n%s\nstderr:\n%s",
			ingested, interrupted, untouched, out.buf.String(), stderr.String())
	}
}
