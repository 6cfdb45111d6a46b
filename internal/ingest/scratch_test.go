package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/validate"
)

// countingScratch is a Scratch in a temporary file that counts its calls.
type countingScratch struct {
	*os.File
	writes, reads int
	failWrite     bool
}

func (c *countingScratch) WriteAt(p []byte, off int64) (int, error) {
	c.writes++
	if c.failWrite {
		return 0, errors.New("disk full")
	}
	return c.File.WriteAt(p, off)
}

func (c *countingScratch) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.File.ReadAt(p, off)
}

// TestScratchIO: whatever the sizes put, get returns each at its offset, in order and out
// of order, with far fewer calls to the Scratch than puts and gets; a failed write is
// returned, by put or by the get that flushes it.
func TestScratchIO(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "scratch")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	cs := &countingScratch{File: f}
	x := scratchIO{s: cs}
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 300, scratchPiece - 1, scratchPiece, scratchPiece + 1, 3 * scratchPiece}
	for range 3000 {
		sizes = append(sizes, rng.IntN(900))
	}
	var want [][]byte
	var offs []int64
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte(i)}, n)
		off, err := x.put(b)
		if err != nil {
			t.Fatal(err)
		}
		want, offs = append(want, b), append(offs, off)
	}
	for i := range want {
		got := make([]byte, len(want[i]))
		if err := x.get(got, offs[i]); err != nil || !bytes.Equal(got, want[i]) {
			t.Fatalf("get of put %d (%d bytes at %d): %v, equal: %v", i, len(want[i]), offs[i], err, bytes.Equal(got, want[i]))
		}
	}
	if n := len(sizes); cs.writes > n/10 || cs.reads > n/10 {
		t.Errorf("%d puts and gets in order cost %d writes and %d reads; want far fewer", n, cs.writes, cs.reads)
	}
	for _, i := range rng.Perm(len(want))[:200] {
		got := make([]byte, len(want[i]))
		if err := x.get(got, offs[i]); err != nil || !bytes.Equal(got, want[i]) {
			t.Fatalf("out of order, get of put %d: %v", i, err)
		}
	}
	if err := x.get(make([]byte, 10), x.size); err == nil {
		t.Error("get past what was put: no error")
	}

	failing := scratchIO{s: &countingScratch{File: f, failWrite: true}}
	if _, err := failing.put(make([]byte, 10)); err != nil {
		t.Fatalf("a small put is only gathered: %v", err)
	}
	if err := failing.get(make([]byte, 10), 0); err == nil {
		t.Error("get after a failed flush: no error")
	}
	if _, err := failing.put(make([]byte, scratchPiece)); err == nil {
		t.Error("a large put that fails: no error")
	}
}

// TestIngestThroughScratch: an ingest whose output is over MemoryBudget, and whose
// validator's facts are over a chunk, keeps them in Options.Scratch and writes exactly what
// an ingest without one (all in memory) writes, with the same Result; in a few dozen calls
// to the Scratch, not a few per document.
func TestIngestThroughScratch(t *testing.T) {
	tree := fstest.MapFS{}
	for i := range 3 {
		tree[fmt.Sprintf("raw/wiring-%d.yaml", i)] = &fstest.MapFile{Data: benchdata.File(i, 1000)}
	}
	opts := Options{JobID: "job-1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Validator: validate.Default()}
	plain := &pieceRecorder{}
	want, err := Ingest(t.Context(), tree, opts, plain)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "scratch")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	cs := &countingScratch{File: f}
	opts.Scratch = cs
	got := &pieceRecorder{}
	res, err := Ingest(t.Context(), tree, opts, got)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 2*MemoryBudget {
		t.Fatalf("the scratch file holds %d bytes; want the output beyond %d bytes in it", st.Size(), MemoryBudget)
	}
	if !reflect.DeepEqual(res, want) || !slices.Equal(got.names, plain.names) || !maps.EqualFunc(got.files, plain.files, bytes.Equal) {
		t.Fatal("through the scratch file the ingest differs from one in memory")
	}
	if cs.writes+cs.reads > int(st.Size()/scratchPiece)*2+20 {
		t.Errorf("%d writes and %d reads for %d bytes of scratch; want about one a %d bytes", cs.writes, cs.reads, st.Size(), scratchPiece)
	}
}
