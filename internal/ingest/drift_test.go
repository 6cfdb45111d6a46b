package ingest_test

import (
	"bytes"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/validate"
)

// TestDrift runs the cases in testdata/drift: resource files changed by
// hand, in each Options.Drift mode.
func TestDrift(t *testing.T) { runCases(t, "drift") }

// TestDriftModes follows each mode over two syncs with nothing in raw/:
// adopt and revert leave no drift behind, report keeps reporting it.
func TestDriftModes(t *testing.T) {
	const (
		edited  = "managed/switches/leaf-02.yaml"
		removed = "managed/servers/server-02.yaml"
		added   = "managed/servers/server-03.yaml"
	)
	for _, tt := range []struct {
		mode      string
		wantAfter int // drift left for the second sync
	}{
		{ingest.DriftAdopt, 0},
		{"", 0}, // adopt
		{ingest.DriftReport, 3},
		{ingest.DriftRevert, 1}, // the added file, which revert cannot undo
	} {
		t.Run(tt.mode, func(t *testing.T) {
			fsys := baseFabric(t)
			orig := fsys[edited].Data
			origRemoved := fsys[removed].Data
			fsys[edited] = &fstest.MapFile{Data: append(bytes.Clone(orig), "# a comment\n"...)}
			delete(fsys, removed)
			fsys[added] = &fstest.MapFile{Data: []byte("apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: server-03\n")}
			oldManifest := fsys[ingest.ManifestPath].Data

			opts := testOpts
			opts.Drift = tt.mode
			opts.Validator = validate.Default()
			w := newMemWriter()
			res, err := ingest.Ingest(t.Context(), fsys, opts, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Drift) != 3 || len(res.Problems) != 3 || len(res.Warnings) != 3 {
				t.Fatalf("drift %v, problems %v; want 3 of each", res.Drift, res.Problems)
			}
			for _, p := range res.Problems {
				if p.Rule != ingest.RuleDrift || p.Severity != ingest.SeverityWarning || p.Document != 0 {
					t.Errorf("problem %+v; want a drift warning on a resource file", p)
				}
			}
			switch tt.mode {
			case ingest.DriftReport:
				if w.calls != 0 {
					t.Errorf("report with nothing in raw/ wrote %v", res.Written)
				}
			case ingest.DriftRevert:
				if !bytes.Equal(w.files[edited], orig) || !bytes.Equal(w.files[removed], origRemoved) {
					t.Errorf("revert wrote %s = %q, %s = %q; want them as ingested", edited, w.files[edited], removed, w.files[removed])
				}
				if _, ok := w.files[ingest.ManifestPath]; ok {
					t.Errorf("revert rewrote the manifest, which does not change")
				}
			default:
				if len(w.files) != 1 || len(w.removed) != 0 || w.files[ingest.ManifestPath] == nil {
					t.Errorf("adopt wrote %v; want only the manifest", res.Written)
				}
			}
			apply(fsys, w)
			if tt.mode == ingest.DriftReport && !bytes.Equal(fsys[ingest.ManifestPath].Data, oldManifest) {
				t.Error("report changed the manifest")
			}
			d, err := ingest.Drifted(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if len(d) != tt.wantAfter {
				t.Errorf("Drifted after the sync = %v; want %d", d, tt.wantAfter)
			}
			// A second sync does the same with what is left.
			w = newMemWriter()
			res, err = ingest.Ingest(t.Context(), fsys, opts, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Drift) != tt.wantAfter {
				t.Errorf("second sync: drift %v; want %d", res.Drift, tt.wantAfter)
			}
			if tt.wantAfter == 0 && w.calls != 0 {
				t.Errorf("second sync wrote %v; want nothing", res.Written)
			}
		})
	}
}

// TestDriftedNoManifest: without a manifest, or with one that cannot be
// read, there is nothing to compare with, and so no drift.
func TestDriftedNoManifest(t *testing.T) {
	fsys := baseFabric(t)
	fsys["managed/servers/server-03.yaml"] = &fstest.MapFile{Data: []byte("kind: Server\n")}
	for _, manifest := range []*fstest.MapFile{nil, {Data: []byte("{{{ not yaml")}} {
		if manifest == nil {
			delete(fsys, ingest.ManifestPath)
		} else {
			fsys[ingest.ManifestPath] = manifest
		}
		d, err := ingest.Drifted(fsys)
		if err != nil || len(d) != 0 {
			t.Errorf("Drifted = %v, %v; want none", d, err)
		}
		w := newMemWriter()
		res, err := ingest.Ingest(t.Context(), fsys, testOpts, w)
		if err != nil || len(res.Drift) != 0 || w.calls != 0 {
			t.Errorf("Ingest = %v, %v, %d Writer calls; want nothing done", res, err, w.calls)
		}
	}
}

// TestDriftBadOption: an unknown drift mode is an unusable option.
func TestDriftBadOption(t *testing.T) {
	opts := testOpts
	opts.Drift = "ignore"
	_, err := ingest.Ingest(t.Context(), fstest.MapFS{}, opts, newMemWriter())
	if !errors.Is(err, ingest.ErrInvalidOptions) {
		t.Errorf("Ingest(drift %q) = %v; want ErrInvalidOptions", opts.Drift, err)
	}
}

// TestDriftCleanManifest: with no drift, a sync that replaces one resource
// changes only that resource's manifest line, and a sync with nothing in
// raw/ writes nothing.
func TestDriftCleanManifest(t *testing.T) {
	for _, mode := range []string{ingest.DriftAdopt, ingest.DriftReport, ingest.DriftRevert} {
		fsys := baseFabric(t)
		old := fsys[ingest.ManifestPath].Data
		fsys["raw/again.yaml"] = &fstest.MapFile{Data: fsys["managed/servers/server-01.yaml"].Data}
		opts := testOpts
		opts.Drift = mode
		w := newMemWriter()
		res, err := ingest.Ingest(t.Context(), fsys, opts, w)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Drift) != 0 || len(res.Warnings) != 0 {
			t.Errorf("%s: drift %v, warnings %v; want none", mode, res.Drift, res.Warnings)
		}
		oldLines, newLines := bytes.Split(old, []byte("\n")), bytes.Split(w.files[ingest.ManifestPath], []byte("\n"))
		if len(oldLines) != len(newLines) {
			t.Fatalf("%s: manifest has %d lines, was %d", mode, len(newLines), len(oldLines))
		}
		for i := range oldLines {
			changed := !bytes.Equal(oldLines[i], newLines[i])
			if changed != bytes.Contains(oldLines[i], []byte("path: managed/servers/server-01.yaml,")) {
				t.Errorf("%s: manifest line %d: %q became %q", mode, i+1, oldLines[i], newLines[i])
			}
		}
		delete(fsys, "raw/again.yaml")
		w = newMemWriter()
		if res, err := ingest.Ingest(t.Context(), fsys, opts, w); err != nil || w.calls != 0 || res.Drift != nil || res.Problems != nil {
			t.Errorf("%s: with nothing in raw/: %+v, %v, %d Writer calls; want a zero Result", mode, res, err, w.calls)
		}
	}
}
