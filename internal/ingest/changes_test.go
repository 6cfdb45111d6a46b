package ingest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"testing"
	"testing/fstest"

	"github.com/fabsync/fabsync/internal/ingest"
)

// TestChanges checks Result.Changes: one entry per resource file created, updated, deleted or
// reverted, sorted by path, each with the sha256 of the bytes written.
func TestChanges(t *testing.T) {
	tree := fstest.MapFS{"raw/a.yaml": file(sw("a") + "---\n" + sw("b") + "---\n" + sw("c"))}
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), tree, testOpts, w)
	if err != nil {
		t.Fatal(err)
	}
	checkChanges(t, "first ingest", res, w, []ingest.FileChange{
		{Path: "managed/switches/a.yaml", Action: ingest.ChangeCreated},
		{Path: "managed/switches/b.yaml", Action: ingest.ChangeCreated},
		{Path: "managed/switches/c.yaml", Action: ingest.ChangeCreated},
	})
	apply(tree, w)

	// a changes, b is deleted, c was edited by hand and is reverted.
	tree["managed/switches/c.yaml"] = file(sw("c") + "spec: {role: spine}\n")
	tree["raw/b.yaml"] = file(sw("a") + "spec: {description: x}\n---\n" +
		"apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: b\n  annotations: {" + ingest.DeleteAnnotation + ": \"true\"}\n")
	opts := testOpts
	opts.JobID, opts.Drift = "job-2", ingest.DriftRevert
	w2 := newMemWriter()
	res, err = ingest.Ingest(t.Context(), tree, opts, w2)
	if err != nil {
		t.Fatal(err)
	}
	checkChanges(t, "second ingest", res, w2, []ingest.FileChange{
		{Path: "managed/switches/a.yaml", Action: ingest.ChangeUpdated},
		{Path: "managed/switches/b.yaml", Action: ingest.ChangeDeleted},
		{Path: "managed/switches/c.yaml", Action: ingest.ChangeUpdated},
	})

	// Nothing new: no changes.
	apply(tree, w2)
	again := fstest.MapFS{}
	maps.Copy(again, tree)
	opts.JobID = "job-3"
	res, err = ingest.Ingest(t.Context(), again, opts, newMemWriter())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 {
		t.Errorf("third ingest: Changes = %+v; want none", res.Changes)
	}
}

// checkChanges compares res.Changes with want (paths and actions), and each sum with the sha256
// of what w got.
func checkChanges(t *testing.T, what string, res *ingest.Result, w *memWriter, want []ingest.FileChange) {
	t.Helper()
	if len(res.Changes) != len(want) {
		t.Fatalf("%s: Changes = %+v; want %+v", what, res.Changes, want)
	}
	for i, c := range res.Changes {
		if c.Path != want[i].Path || c.Action != want[i].Action {
			t.Errorf("%s: Changes[%d] = %s %s; want %s %s", what, i, c.Action, c.Path, want[i].Action, want[i].Path)
		}
		var sum [32]byte
		if c.Action != ingest.ChangeDeleted {
			data, ok := w.files[c.Path]
			if !ok {
				t.Errorf("%s: %s is %s but was not written", what, c.Path, c.Action)
			}
			sum = sha256.Sum256(data)
		} else if !w.removed[c.Path] {
			t.Errorf("%s: %s is deleted but was not removed", what, c.Path)
		}
		if c.Sum != sum {
			t.Errorf("%s: Changes[%d].Sum = %x; want %x", what, i, c.Sum, sum)
		}
	}
}

// TestReadManifest reads back the manifest an ingest wrote: an entry per resource file, sorted
// by path, with its identity, the sha256 of its bytes and the job that wrote it.
func TestReadManifest(t *testing.T) {
	tree := fstest.MapFS{"raw/a.yaml": file(sw("b") + "---\n" + sw("a") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  namespace: ns\n")}
	w := newMemWriter()
	res, err := ingest.Ingest(t.Context(), tree, testOpts, w)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ingest.ReadManifest(w.files[ingest.ManifestPath])
	if err != nil {
		t.Fatal(err)
	}
	want := []ingest.ManifestEntry{
		{Path: "managed/switches/a.yaml", Kind: "Switch", APIVersion: "wiring.githedgehog.com/v1beta1", Name: "a"},
		{Path: "managed/switches/b.yaml", Kind: "Switch", APIVersion: "wiring.githedgehog.com/v1beta1", Name: "b"},
		{Path: "unmanaged/configmaps/ns_cm.yaml", Kind: "ConfigMap", APIVersion: "v1", Namespace: "ns", Name: "cm"},
	}
	if len(got) != len(want) || len(res.Changes) != len(want) {
		t.Fatalf("ReadManifest() = %+v; want %d entries", got, len(want))
	}
	for i, e := range got {
		w := want[i]
		w.SHA256, w.Job, w.Commit = hex.EncodeToString(res.Changes[i].Sum[:]), testOpts.JobID, testOpts.Commit
		if e != w {
			t.Errorf("entry %d = %+v\nwant %+v", i, e, w)
		}
	}
	for _, bad := range []string{"resources: [", "resources: {a: 1}\n- x"} {
		if _, err := ingest.ReadManifest([]byte(bad)); !errors.Is(err, ingest.ErrBadManifest) {
			t.Errorf("ReadManifest(%q) error = %v; want ErrBadManifest", bad, err)
		}
	}
}
