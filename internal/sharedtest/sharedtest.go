// Package sharedtest finds the third-party test data shared by the team's
// repositories (real Hedgehog wiring files and CRDs), which tests read in
// place and never copy into this repository.
package sharedtest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the folder ../shared/testdata/<name> beside the repository
// root (the folder FABSYNC_SHARED_TESTDATA names instead, when set). Where
// it is missing the test is skipped with a message, except in CI (CI set),
// where nothing is skipped and the test fails.
func Dir(t testing.TB, name string) string {
	t.Helper()
	root := os.Getenv("FABSYNC_SHARED_TESTDATA")
	if root == "" {
		_, file, _, _ := runtime.Caller(0) // <repo>/internal/sharedtest/sharedtest.go
		root = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata")
	}
	dir := filepath.Join(root, name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if os.Getenv("CI") != "" {
			t.Fatalf("no shared test data folder %s (in CI nothing is skipped)", name)
		}
		t.Skipf("no shared test data folder %s: skipping (in CI this fails)", name)
	}
	return dir
}
