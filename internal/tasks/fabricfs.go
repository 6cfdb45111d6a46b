package tasks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fabsync/fabsync/internal/ingest"
)

// This file is the only file-system access of the package: it hands package ingest (which does
// no I/O of its own) the fabric folder of a clone to read and a writer for its output.

// pending reports whether the fabric folder of the working tree dir has raw files to ingest.
func pending(dir, fabricPath string) (bool, error) {
	root := filepath.Join(dir, filepath.FromSlash(fabricPath))
	if _, err := os.Lstat(filepath.Join(root, "raw")); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	ok, err := ingest.Pending(os.DirFS(root))
	if err != nil {
		return false, fmt.Errorf("look into raw/: %w", err)
	}
	return ok, nil
}

// runIngest runs package ingest on the fabric folder of the working tree dir.
func runIngest(dir, fabricPath string, opts ingest.Options) (*ingest.Result, error) {
	root := filepath.Join(dir, filepath.FromSlash(fabricPath))
	if _, err := os.Lstat(filepath.Join(root, "raw")); errors.Is(err, os.ErrNotExist) {
		return &ingest.Result{}, nil // also when the fabric folder itself does not exist yet
	}
	res, err := ingest.Ingest(os.DirFS(root), opts, dirWriter{root: root})
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	return res, nil
}

// dirWriter writes ingest's output under root.
type dirWriter struct{ root string }

func (w dirWriter) path(name string) (string, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return "", fmt.Errorf("refusing to write %q outside the fabric folder", name)
	}
	return filepath.Join(w.root, filepath.FromSlash(name)), nil
}

// WriteFile writes data to name, creating its folders.
func (w dirWriter) WriteFile(name string, data []byte) error {
	p, err := w.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// Remove removes name.
func (w dirWriter) Remove(name string) error {
	p, err := w.path(name)
	if err != nil {
		return err
	}
	return os.Remove(p)
}

func docErrors(ve *ingest.ValidationError) []DocError {
	out := make([]DocError, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = DocError{File: p.File, Document: p.Document, Line: p.Line, Column: p.Column, Message: p.Message}
	}
	return out
}
