package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// lines yields YAML-looking lines forever, different for each seed, so that
// a test can stream a file of any size without holding it.
type lines struct {
	seed, i int
	buf     []byte
}

func (l *lines) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(l.buf) == 0 {
			l.buf = fmt.Appendf(l.buf[:0], "- name: item-%d-%09d\n  value: %x\n", l.seed, l.i, uint64(l.i)*0x9E3779B97F4A7C15)
			l.i++
		}
		c := copy(p[n:], l.buf)
		l.buf, n = l.buf[c:], n+c
	}
	return n, nil
}

func bigContent(seed int, size int64) io.Reader { return io.LimitReader(&lines{seed: seed}, size) }

// TestSyncMaxFileSize: a raw file over Config.MaxFileSize is left out of the
// working tree and fails the fabric's Sync at once, permanently, naming the
// file, its size and the limit; a file
// over it outside the fabric folder is not checked out (nor read) and is
// kept as it is in what the clone pushes; elsewhere in the fabric folder it
// is checked out.
func TestSyncMaxFileSize(t *testing.T) {
	needGit(t)
	const limit = 1 << 20
	const size = 3<<20 + 12345
	srv := gittest.NewServer(t)
	ctx := context.Background()
	url := srv.NewRepo(t, "fabric", fabricFiles(3, 10))
	bare := srv.RepoDir("fabric")
	big := gittest.WriteBlob(t, bare, bigContent(1, size))
	gittest.CommitTree(t, bare, map[string]string{"other/docs/big.bin": big, "fab/docs/big.pdf": big}, "big files")

	c := newClient(t, gitops.Config{URL: url, Path: "fab", MaxFileSize: limit, Depth: gitops.RecommendedDepth})
	sync(t, c)
	assertMirror(t, c, bare, "other/docs/big.bin")
	writeFile(t, c.Dir(), "fab/managed/new.yaml", "new: 1\n")
	if _, ok, err := c.Commit(ctx, "fab", "ingest"); err != nil || !ok {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	if got := treeFiles(t, bare, "main")["other/docs/big.bin"]; got != "100644 "+big {
		t.Errorf("after our push, other/raw/big.yaml = %q; want it kept (%s)", got, big)
	}
	sync(t, c)

	// Over the limit in raw/: refused, the rest checked out.
	huge := gittest.WriteBlob(t, bare, bigContent(2, size))
	bad := gittest.CommitTree(t, bare, map[string]string{"fab/raw/huge.yaml": huge, "fab/raw/r0000.yaml": ""}, "a huge raw file")
	_, err := c.Sync(ctx, nil)
	var te *gitops.TreeError
	if !errors.Is(err, gitops.ErrFileTooLarge) || !gitops.IsPermanent(err) || !errors.As(err, &te) {
		t.Fatalf("Sync = %v; want a permanent ErrFileTooLarge in a *TreeError", err)
	}
	if want := (gitops.TreeError{Commit: bad, Path: "fab/raw/huge.yaml", Size: size, Limit: limit, Err: gitops.ErrFileTooLarge}); *te != want {
		t.Errorf("TreeError = %+v; want %+v", *te, want)
	}
	if msg := err.Error(); !strings.Contains(msg, `"fab/raw/huge.yaml" is 3.0 MiB, over the limit of 1 MiB`) {
		t.Errorf("error %q does not say which file, how large and the limit", msg)
	}
	t.Logf("error: %v", err)
	assertMirror(t, c, bare, "other/docs/big.bin", "fab/raw/huge.yaml")
	if _, err := c.Sync(ctx, nil); !errors.As(err, &te) || te.Path != "fab/raw/huge.yaml" {
		t.Errorf("Sync with nothing new = %v; want the same TreeError", err)
	}
	// Another fabric's clone is not blocked by it, and without a limit
	// everything is checked out.
	other := newClient(t, gitops.Config{URL: url, Path: "other", MaxFileSize: limit})
	sync(t, other)
	assertMirror(t, other, bare, "fab/raw/huge.yaml", "fab/docs/big.pdf")
	all := newClient(t, gitops.Config{URL: url, Path: "fab"})
	sync(t, all)
	assertMirror(t, all, bare)

	// Once the file is gone, the fabric syncs again.
	gittest.CommitTree(t, bare, map[string]string{"fab/raw/huge.yaml": ""}, "remove it")
	sync(t, c)
	assertMirror(t, c, bare, "other/docs/big.bin")
}

// BenchmarkSyncLargeBlob: peak memory of Sync with a 200 MB file in the
// repository (Config.MaxFileSize 8 MiB, as the worker sets it), by where the
// file is: in the fabric's raw/ folder (Sync fails), outside the fabric
// folder (not checked out), elsewhere in the fabric folder (checked out),
// and outside with no limit. Reported: clone-rss-MiB, the peak RSS of the
// process during the first clone (VmHWM after resetting it), and
// checkout-rss-MiB, the peak while a Sync checks the file out again from the
// local object store (the fabric folder deleted, then Sync), without
// downloading it. heap-MiB are the Go heap peaks of the same.
func BenchmarkSyncLargeBlob(b *testing.B) {
	needGit(b)
	size := int64(200 << 20)
	if s := os.Getenv("FABSYNC_BENCH_BLOB_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatal(err)
		}
		size = int64(n) << 20
	}
	srv := gittest.NewServer(b)
	url := srv.NewRepo(b, "fabric", fabricFiles(3, 10))
	bare := srv.RepoDir("fabric")
	big := gittest.WriteBlob(b, bare, bigContent(1, size))
	base := remoteHead(b, bare)
	for _, tc := range []struct {
		name  string
		path  string
		limit int64
	}{
		{"raw", "fab/raw/big.yaml", 8 << 20},
		{"outside", "other/big.yaml", 8 << 20},
		{"fabric", "fab/docs/big.yaml", 8 << 20},
		{"outside-nolimit", "other/big.yaml", 0},
	} {
		b.Run(tc.name, func(b *testing.B) {
			gittest.Git(b, bare, "update-ref", "refs/heads/main", base)
			gittest.CommitTree(b, bare, map[string]string{tc.path: big}, "a big file")
			for i := 0; i < b.N; i++ {
				c := newClient(b, gitops.Config{URL: url, Path: "fab", MaxFileSize: tc.limit, Dir: filepath.Join(cloneDir(b), "clone")})
				rss, heap := peakOf(b, func() {
					_, err := c.Sync(context.Background(), nil)
					if tc.name == "raw" && !errors.Is(err, gitops.ErrFileTooLarge) {
						b.Errorf("Sync = %v; want ErrFileTooLarge", err)
					}
					if tc.name != "raw" && err != nil {
						b.Fatal(err)
					}
				})
				b.ReportMetric(rss, "clone-rss-MiB")
				b.ReportMetric(heap, "clone-heap-MiB")
				if tc.name == "raw" {
					continue
				}
				remove(b, c.Dir(), "fab", "other")
				rss, heap = peakOf(b, func() { sync(b, c) })
				b.ReportMetric(rss, "checkout-rss-MiB")
				b.ReportMetric(heap, "checkout-heap-MiB")
			}
		})
	}
}

// peakOf runs f and returns the peak resident set size of the process while
// it ran (VmHWM, reset first through /proc/self/clear_refs; 0 where that is
// not possible) and the peak of the Go heap above its level before, in MiB.
func peakOf(b *testing.B, f func()) (rss, heap float64) {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	stop := heapPeak()
	f()
	heap = float64(stop()) / (1 << 20)
	if !reset {
		return 0, heap
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, heap
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, heap
		}
	}
	return 0, heap
}
