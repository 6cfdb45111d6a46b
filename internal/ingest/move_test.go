package ingest

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestArchiveByMove: with a Writer that can move files (Renamer), every case of the corpus
// ends as it does with one that cannot: the same Result, the same error, the same files with
// the same bytes, each raw file moved to its archive (also when it is checked there in pieces);
// when every move fails, each raw file is archived by a copy instead, to the same end. A raw
// file whose bytes changed since they were validated fails the ingest as changed, naming it,
// and is moved back to raw/ as it is now.
func TestArchiveByMove(t *testing.T) {
	opts := Options{JobID: "job-1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for name, tree := range corpusTrees(t) {
		t.Run(name, func(t *testing.T) {
			copied := &treeWriter{fs: maps.Clone(tree)}
			want, wantErr := Ingest(t.Context(), copied.fs, opts, copied)
			for _, tc := range []struct {
				name   string
				w      *treeWriter
				pieces bool // the moved file checked in pieces
				moves  bool // every raw file moved
			}{
				{"moved", &treeWriter{}, false, true},
				{"moved, checked in pieces", &treeWriter{}, true, true},
				{"every move failing", &treeWriter{moveErr: errors.New("cross-device link")}, false, false},
			} {
				tc.w.fs = maps.Clone(tree)
				if tc.pieces {
					wholeFileMax = -1
				}
				got, gotErr := Ingest(t.Context(), tc.w.fs, opts, renamingWriter{tc.w})
				wholeFileMax = 1 << 20
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
					t.Fatalf("%s: %+v, %v\ncopied: %+v, %v", tc.name, got, gotErr, want, wantErr)
				}
				if diff := treeDiff(tc.w.fs, copied.fs); diff != "" {
					t.Fatalf("%s: the tree differs from the copying ingest's: %s", tc.name, diff)
				}
				if wantErr == nil && (tc.w.moved == want.Files) != tc.moves {
					t.Fatalf("%s: moved %d of %d raw files", tc.name, tc.w.moved, want.Files)
				}
			}
		})
	}

	raw := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
	for _, pieces := range []bool{false, true} {
		w := &treeWriter{fs: fstest.MapFS{"raw/a.yaml": {Data: []byte(raw)}}, changeOnMove: []byte(raw + "data:\n  k: v\n")}
		if pieces {
			wholeFileMax = -1
		}
		_, err := Ingest(t.Context(), w.fs, opts, renamingWriter{w})
		wholeFileMax = 1 << 20
		if !errors.Is(err, errChanged) || !strings.Contains(err.Error(), "raw/a.yaml") {
			t.Fatalf("raw file changed before its move (in pieces: %v): err = %v; want %v naming raw/a.yaml", pieces, err, errChanged)
		}
		if f := w.fs["raw/a.yaml"]; f == nil || !bytes.Equal(f.Data, w.changeOnMove) || w.fs[archiveDir+"/job-1/a.yaml.archived"] != nil {
			t.Fatalf("raw file changed before its move (in pieces: %v): not moved back to raw/ as changed", pieces)
		}
	}
}

// treeWriter applies an ingest's writes to fs, which the ingest reads, so that what it reads
// back (a moved raw file, in its archive) is what it wrote. renamingWriter makes it a Renamer.
type treeWriter struct {
	fs           fstest.MapFS
	moveErr      error  // every Rename fails with it, moving nothing
	changeOnMove []byte // the moved file's new bytes (a raw file changed after validation)
	moved        int
}

func (w *treeWriter) WriteFile(name string, data []byte) error {
	w.fs[name] = &fstest.MapFile{Data: bytes.Clone(data), Mode: 0o644}
	return nil
}

func (w *treeWriter) Remove(name string) error {
	if _, ok := w.fs[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(w.fs, name)
	return nil
}

type renamingWriter struct{ *treeWriter }

func (w renamingWriter) Rename(from, to string) error {
	if w.moveErr != nil {
		return w.moveErr
	}
	f, ok := w.fs[from]
	if !ok {
		return &fs.PathError{Op: "rename", Path: from, Err: fs.ErrNotExist}
	}
	if w.changeOnMove != nil {
		f = &fstest.MapFile{Data: w.changeOnMove}
	}
	delete(w.fs, from)
	w.fs[to] = f
	w.moved++
	return nil
}

// treeDiff describes how the files of a and b differ ("" when they hold the same files with
// the same bytes).
func treeDiff(a, b fstest.MapFS) string {
	var out []string
	for name, f := range a {
		if g, ok := b[name]; !ok {
			out = append(out, "only in the first: "+name)
		} else if !bytes.Equal(f.Data, g.Data) {
			out = append(out, "different bytes: "+name)
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			out = append(out, "only in the second: "+name)
		}
	}
	return strings.Join(out, "; ")
}
