package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/config"
)

// TestREADMEFabricsFile parses the fabrics file the README shows: every key it documents
// exists, with values Parse accepts.
func TestREADMEFabricsFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "### Fabrics file")
	if !ok {
		t.Fatal("README.md has no Fabrics file section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the README's Fabrics file section has no yaml block")
	}
	f, err := config.Parse([]byte(example))
	if err != nil {
		t.Fatalf("the README's fabrics file does not parse: %v\n%s", err, example)
	}
	if len(f.Fabrics) != 1 {
		t.Fatalf("parsed %d fabrics; want the README's one", len(f.Fabrics))
	}
	if fab := f.Fabrics[0]; fab.Name != "fabric-1" || fab.Deliver != "push" || fab.Forge.Type != "github" || len(fab.Notify) != 2 || fab.SetsCommitStatus() {
		t.Errorf("the README's fabric parsed as %+v; want fabric-1 with deliver push, forge github, two notify targets, no commit status", fab)
	}
}
