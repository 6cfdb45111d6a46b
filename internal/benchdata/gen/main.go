// Command gen writes a fabric folder for the whole-process ingest benchmarks (BENCHMARKS.md):
//
//	go run ./internal/benchdata/gen -out DIR -files 100 -docs 1000
//	go run ./internal/benchdata/gen -out DIR -samples FOLDER -copies 80
//
// The first form writes DIR/raw/file-NNN.yaml, generated documents that make one valid fabric.
// The second copies every *.yaml of FOLDER (real wiring files) COPIES times into DIR/raw/, copy k
// in its own subfolder with every resource moved to the namespace copy-k, so that the copies do
// not define the same resources twice.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fabsync/fabsync/internal/benchdata"
)

func main() {
	out := flag.String("out", "", "the fabric folder to write (raw/ is created in it)")
	files := flag.Int("files", 1, "generated raw files")
	docs := flag.Int("docs", 1000, "documents per generated raw file")
	samples := flag.String("samples", "", "a folder of real YAML files to copy instead of generating")
	copies := flag.Int("copies", 1, "how many times to copy the samples")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(64)
	}
	if err := run(*out, *files, *docs, *samples, *copies); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string, files, docs int, samples string, copies int) error {
	raw := filepath.Join(out, "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		return err
	}
	if samples == "" {
		for f := range files {
			if err := os.WriteFile(filepath.Join(raw, fmt.Sprintf("file-%03d.yaml", f)), benchdata.File(f, docs), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	names, err := filepath.Glob(filepath.Join(samples, "*.yaml"))
	if err != nil {
		return err
	}
	for k := range copies {
		dir := filepath.Join(raw, fmt.Sprintf("copy-%03d", k))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), benchdata.InNamespace(data, fmt.Sprintf("copy-%03d", k)), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
