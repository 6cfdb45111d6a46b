package ingest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/benchdata"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/validate"
)

// genFS is a fabric folder whose raw files are generated when opened, so
// that the input is not held in memory and peak memory measures ingest.
type genFS struct {
	files, docs int
	static      map[string][]byte // instead of generated files, if set

	// The file generated last, kept for the next Open of the same name: ingest reads a large
	// file several times in a row (rawread.go), and generating it anew for each read would
	// weigh on the figures as no real file system does.
	lastName string
	last     []byte
}

func (g *genFS) names() []string {
	if g.static != nil {
		return slices.Sorted(func(yield func(string) bool) {
			for n := range g.static {
				if !yield(n) {
					return
				}
			}
		})
	}
	var ns []string
	for i := range g.files {
		ns = append(ns, fmt.Sprintf("wiring-%03d.yaml", i))
	}
	return ns
}

func (g *genFS) content(name string) ([]byte, bool) {
	if g.static != nil {
		d, ok := g.static[name]
		return d, ok
	}
	var i int
	if _, err := fmt.Sscanf(name, "wiring-%03d.yaml", &i); err != nil || i >= g.files {
		return nil, false
	}
	if name != g.lastName {
		g.lastName, g.last = "", nil // garbage before the next is made
		g.lastName, g.last = name, benchdata.File(i, g.docs)
	}
	return g.last, true
}

func (g *genFS) Open(name string) (fs.File, error) {
	switch name {
	case ".":
		return &genDir{name: ".", ents: []fs.DirEntry{dirEnt{"raw", true, 0}}}, nil
	case "raw":
		var ents []fs.DirEntry
		for _, n := range g.names() {
			ents = append(ents, dirEnt{n, false, 0})
		}
		return &genDir{name: "raw", ents: ents}, nil
	}
	if rest, ok := strings.CutPrefix(name, "raw/"); ok {
		if d, ok := g.content(rest); ok {
			return &genFile_{name: rest, Reader: bytes.NewReader(d), size: int64(len(d))}, nil
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

type dirEnt struct {
	name string
	dir  bool
	size int64
}

func (d dirEnt) Name() string { return d.name }
func (d dirEnt) IsDir() bool  { return d.dir }
func (d dirEnt) Type() fs.FileMode {
	if d.dir {
		return fs.ModeDir
	}
	return 0
}
func (d dirEnt) Info() (fs.FileInfo, error) { return d, nil }
func (d dirEnt) Size() int64                { return d.size }
func (d dirEnt) Mode() fs.FileMode {
	if d.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (d dirEnt) ModTime() time.Time { return time.Time{} }
func (d dirEnt) Sys() any           { return nil }

type genDir struct {
	name string
	ents []fs.DirEntry
	read bool
}

func (d *genDir) Stat() (fs.FileInfo, error) { return dirEnt{d.name, true, 0}, nil }
func (d *genDir) Read([]byte) (int, error)   { return 0, io.EOF }
func (d *genDir) Close() error               { return nil }
func (d *genDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.read {
		if n > 0 {
			return nil, io.EOF
		}
		return nil, nil
	}
	d.read = true
	return d.ents, nil
}

type genFile_ struct {
	*bytes.Reader
	name string
	size int64
}

func (f *genFile_) Stat() (fs.FileInfo, error) { return dirEnt{f.name, false, f.size}, nil }
func (f *genFile_) Close() error               { return nil }

// discardWriter counts what it is given and keeps nothing.
type discardWriter struct{ n int64 }

func (w *discardWriter) WriteFile(_ string, data []byte) error { w.n += int64(len(data)); return nil }
func (w *discardWriter) Remove(string) error                   { return nil }

// peakHeap samples the heap in use (objects plus unused spans, like
// MemStats.HeapInuse) every 200µs until stop is called, and returns the
// peak in MiB.
func peakHeap() (stop func() float64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	var peak uint64
	read := func() {
		metrics.Read(samples)
		if v := samples[0].Value.Uint64() + samples[1].Value.Uint64(); v > peak {
			peak = v
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		read()
		return float64(peak) / (1 << 20)
	}
}

// baseline is the least any ingest must do: decode each document with the
// yaml.v3 Decoder, read kind and metadata.name, encode it again and "write"
// it.
func baseline(b *testing.B, fsys fs.FS, w ingest.Writer) int {
	ents, err := fs.ReadDir(fsys, "raw")
	if err != nil {
		b.Fatal(err)
	}
	docs := 0
	for _, e := range ents {
		data, err := fs.ReadFile(fsys, "raw/"+e.Name())
		if err != nil {
			b.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			var id struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if err := doc.Decode(&id); err != nil {
				b.Fatal(err)
			}
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				b.Fatal(err)
			}
			if err := enc.Close(); err != nil {
				b.Fatal(err)
			}
			if err := w.WriteFile("managed/"+id.Kind+"/"+id.Metadata.Name+".yaml", buf.Bytes()); err != nil {
				b.Fatal(err)
			}
			docs++
		}
	}
	return docs
}

// BenchmarkIngest measures Ingest and the baseline on generated input (one
// file of 10,000 documents; 100 files of 1,000) and on the real samples (see
// sharedtest.Dir for when those are skipped). See docs/benchmarks-ingest.md.
func BenchmarkIngest(b *testing.B) {
	type input struct {
		name    string
		fabrics func(testing.TB) []*genFS // each ingested on its own
		limits  ingest.Limits
	}
	generated := func(g ...*genFS) func(testing.TB) []*genFS {
		return func(testing.TB) []*genFS { return g }
	}
	inputs := []input{
		// 10,000 documents of ~1 KB are over the 8 MiB default file limit.
		{"1x10000docs", generated(&genFS{files: 1, docs: 10000}), ingest.Limits{MaxFileBytes: 64 << 20}},
		{"100x1000docs", generated(&genFS{files: 100, docs: 1000}), ingest.Limits{}},
		// Linearity: ten times the documents, in one file and in many, against the two above.
		{"1x100000docs", generated(&genFS{files: 1, docs: 100000}), ingest.Limits{MaxFileBytes: 256 << 20, MaxDocuments: 100000}},
		{"10x1000docs", generated(&genFS{files: 10, docs: 1000}), ingest.Limits{}},
		// The samples come from different fabrics and reuse names: each is
		// ingested as its own fabric folder.
		{"hedgehog", func(t testing.TB) []*genFS {
			var fabrics []*genFS
			for _, f := range hedgehogFiles(t) {
				d, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				fabrics = append(fabrics, &genFS{static: map[string][]byte{filepath.Base(f): d}})
			}
			return fabrics
		}, ingest.Limits{}},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			fabrics := in.fabrics(b)
			var size int64
			for _, fsys := range fabrics {
				for _, n := range fsys.names() {
					d, _ := fsys.content(n)
					size += int64(len(d))
				}
			}
			runtime.GC()
			// "ingest" is what the worker runs, validation included;
			// "unvalidated" the same without the validator, to measure
			// what validation costs.
			for _, variant := range []string{"ingest", "unvalidated"} {
				b.Run(variant, func(b *testing.B) {
					b.SetBytes(size)
					b.ReportAllocs()
					opts := testOpts
					opts.Limits = in.limits
					// As the worker and the CLI run it: normalized documents beyond the
					// memory budget wait in a scratch file between the passes.
					scratch, err := os.CreateTemp(b.TempDir(), "scratch")
					if err != nil {
						b.Fatal(err)
					}
					defer func() { _ = scratch.Close() }()
					opts.Scratch = scratch
					if variant == "ingest" {
						// The demo sample is a fragment of its repository (it peers VPCs another
						// file defines): the two rules that say so are off, as a user would set it.
						v, err := validate.New(validate.Config{Disable: []string{"vpcpeering-unknown-vpc", "externalpeering-unknown-vpc"}})
						if err != nil {
							b.Fatal(err)
						}
						opts.Validator = v
					}
					docs := 0
					runtime.GC()
					stop := peakHeap()
					for b.Loop() {
						for _, fsys := range fabrics {
							res, err := ingest.Ingest(b.Context(), fsys, opts, &discardWriter{})
							if err != nil {
								b.Fatal(err)
							}
							docs += res.Documents
						}
					}
					b.ReportMetric(stop(), "peak-MiB")
					b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
				})
				runtime.GC()
			}
			b.Run("baseline", func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				docs := 0
				runtime.GC()
				stop := peakHeap()
				for b.Loop() {
					for _, fsys := range fabrics {
						docs += baseline(b, fsys, &discardWriter{})
					}
				}
				b.ReportMetric(stop(), "peak-MiB")
				b.ReportMetric(float64(docs)/b.Elapsed().Seconds(), "docs/s")
			})
		})
	}
}
