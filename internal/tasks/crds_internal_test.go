package tasks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/ingest"
)

// TestReadCRDs checks how a fabric's validation.crds are read: a relative path in the clone (a
// folder gives its YAML files at any depth, in path order), an absolute one on the worker's
// disk; a missing path, a file over the limit and a link out of the clone are permanent errors
// naming the path, and nothing outside the clone is read through a relative path.
func TestReadCRDs(t *testing.T) {
	clone, outside := t.TempDir(), t.TempDir()
	write := func(dir, name, data string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(clone, "crds/b.yaml", "b")
	write(clone, "crds/sub/a.yml", "a")
	write(clone, "crds/README.md", "not a CRD file")
	write(outside, "secret.yaml", "secret")
	write(outside, "gateway.yaml", "gw")
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(clone, "escape.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "big.yaml"), make([]byte, maxCRDFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}

	got, err := readCRDs(clone, []string{"crds/", filepath.Join(outside, "gateway.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Name+"="+string(f.Data))
	}
	if want := "crds/b.yaml=b crds/sub/a.yml=a " + filepath.Join(outside, "gateway.yaml") + "=gw"; strings.Join(names, " ") != want {
		t.Errorf("readCRDs = %s; want %s", strings.Join(names, " "), want)
	}
	for _, tt := range []struct{ path, want string }{
		{"nope/", "validation.crds: nope/: not found in the repository"},
		{"escape.yaml", "validation.crds: escape.yaml"},
		{"big.yaml", "validation.crds: big.yaml: larger than 8 MiB"},
		{filepath.Join(outside, "nope.yaml"), "not found on the worker"},
	} {
		_, err := readCRDs(clone, []string{tt.path})
		var pe *permanentError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("readCRDs(%s) = %v; want a permanent error saying %q", tt.path, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("readCRDs(%s) = %v: it read outside the clone", tt.path, err)
		}
	}
}

// TestDriftModesAgree checks that the fabrics file accepts exactly ingest's drift modes, default
// first (config, a leaf package, spells them out).
func TestDriftModesAgree(t *testing.T) {
	want := []string{ingest.DriftAdopt, ingest.DriftReport, ingest.DriftRevert}
	if strings.Join(config.DriftModes, " ") != strings.Join(want, " ") {
		t.Errorf("config.DriftModes = %v; want %v", config.DriftModes, want)
	}
}
