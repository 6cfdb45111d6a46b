// Package goldentest compares what a test renders with a golden file, the way cmd/go's and
// gofmt's tests do: the test writes what it checks as text, Check fails it with a diff unless the
// file holds exactly that text, and with the package's update flag set Check rewrites the file
// instead (review the diff like code).
package goldentest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Check fails t unless the file at path holds exactly got. With update set it writes got to
// path (creating its folder) instead. flag names the test flag that sets update, for the hint
// in the failure ("go test -update").
func Check(t testing.TB, path string, got []byte, update bool, flag string) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -%s writes it)", err, flag)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the output (-want +got; go test -%s rewrites it):\n%s", path, flag, diff)
	}
}
