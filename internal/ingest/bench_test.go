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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/validate"
)

// genDoc returns a realistic Hedgehog document of about 1 KB: a
// Server, a Connection to it or a VPC, cycling, with unique names per (file, i),
// valid under Hedgehog's rules: VPC names fit in 11 characters, VPC
// subnets do not overlap (three /26 in a /24 of 10.0.0.0/8 each), and each VPC has
// a VLAN namespace of its own (one namespace holds only 4094 VLANs).
func genDoc(file, i int) string {
	id := fmt.Sprintf("%03d-%05d", file, i)
	switch i % 3 {
	case 1:
		// The server is the one the document before defines.
		return fmt.Sprintf(`apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-%[2]s--eslag--leaf-%[1]s-a--leaf-%[1]s-b
  labels:
    fabric.githedgehog.com/connection-type: eslag
    server.fabric.githedgehog.com/server-%[2]s: "true"
    switch.fabric.githedgehog.com/leaf-%[1]s-a: "true"
    switch.fabric.githedgehog.com/leaf-%[1]s-b: "true"
spec:
  eslag:
    links:
    - server:
        port: server-%[2]s/enp2s1
      switch:
        port: leaf-%[1]s-a/E1/1
    - server:
        port: server-%[2]s/enp2s2
      switch:
        port: leaf-%[1]s-b/E1/1
    - server:
        port: server-%[2]s/enp2s3
      switch:
        port: leaf-%[1]s-a/E1/2
    - server:
        port: server-%[2]s/enp2s4
      switch:
        port: leaf-%[1]s-b/E1/2
    mtu: 9036 # jumbo frames
`, id, fmt.Sprintf("%03d-%05d", file, i-1))
	case 0:
		return fmt.Sprintf(`#
# Server server-%[1]s
#
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-%[1]s
  namespace: default
  annotations:
    type.hhfab.githedgehog.com: hw
    serial.hhfab.githedgehog.com: ssh://192.168.90.10:8901
    power.hhfab.githedgehog.com/psu1_psu2: http://192.168.90.142/outlet/3
    link.hhfab.githedgehog.com/enp2s1: pci@0000:4d:00.0
    link.hhfab.githedgehog.com/enp2s2: pci@0000:4d:00.1
    link.hhfab.githedgehog.com/enp2s3: pci@0000:4f:00.0
    link.hhfab.githedgehog.com/enp2s4: pci@0000:4f:00.1
spec:
  description: S-%[1]s MCLAG leaf-%[1]s-a leaf-%[1]s-b, rack 12, row 3, slot 7, 2x25G + 2x25G
  profile: default
  boot:
    mac: 0c:20:12:fe:00:01
`, id)
	default:
		// v numbers the VPCs (files of up to 1,002 documents, or file 0
		// of any size), each with the /24 10.a.b.0 out of 65,536.
		v := file*334 + i/3
		a, b := v>>8&0xff, v&0xff
		return fmt.Sprintf(`apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-%[2]s
  namespace: default
spec:
  ipv4Namespace: default
  vlanNamespace: vlans-%[2]s
  subnets:
    subnet-1:
      subnet: 10.%[3]d.%[4]d.0/26
      gateway: 10.%[3]d.%[4]d.1
      vlan: 1001
      dhcp:
        enable: true
        range:
          start: 10.%[3]d.%[4]d.10
          end: 10.%[3]d.%[4]d.49
    subnet-2:
      subnet: 10.%[3]d.%[4]d.64/26
      gateway: 10.%[3]d.%[4]d.65
      vlan: 1002
      dhcp:
        enable: true
    subnet-3:
      subnet: 10.%[3]d.%[4]d.128/26
      vlan: 1003
      isolated: true
      restricted: true
  permit:
    - [subnet-1, subnet-2]
    - [subnet-2, subnet-3]
`, id, strconv.FormatInt(int64(v), 36), a, b)
	}
}

// genFile returns a raw file of n generated documents.
func genFile(file, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString("---\n")
		b.WriteString(genDoc(file, i))
	}
	return b.Bytes()
}

// genFS is a fabric folder whose raw files are generated when opened, so
// that the input is not held in memory and peak memory measures ingest.
type genFS struct {
	files, docs int
	static      map[string][]byte // instead of generated files, if set
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
	return genFile(i, g.docs), true
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
