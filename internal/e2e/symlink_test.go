package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestSymlinkInFabricPath commits a symbolic link at each level of a fabric's path (and at its
// raw/, managed/ and .hnp/ folders), relative and absolute, pointing at a folder outside the
// clone that looks like a fabric. The real worker must refuse the fabric, name the link, and
// leave the outside folder exactly as it was.
func TestSymlinkInFabricPath(t *testing.T) {
	gs := gittest.NewServer(t)
	wiring := readTestdata(t, "wiring.yaml")
	tests := []struct {
		name     string
		link     string // the link's path in the repository
		relative bool
		target   string // the folder the link points at, inside the victim fabric folder
		wantLink string // what the error must name
	}{
		{"top folder, relative", "gitops", true, "", "gitops"},
		{"top folder, absolute", "gitops", false, "", "gitops"},
		{"fabric folder, relative", "gitops/fab", true, "", "gitops/fab"},
		{"fabric folder, absolute", "gitops/fab", false, "", "gitops/fab"},
		{"raw folder, relative", "gitops/fab/raw", true, "raw", "raw/"},
		{"raw folder, absolute", "gitops/fab/raw", false, "raw", "raw/"},
		{"managed folder, absolute", "gitops/fab/managed", false, "managed", "managed/"},
		{".hnp folder, relative", "gitops/fab/.hnp", true, ".hnp", ".hnp/"},
	}
	var cfg strings.Builder
	cfg.WriteString("fabrics:\n")
	type fabric struct{ victim, bare string }
	fabrics := make([]fabric, len(tests))
	for i, tt := range tests {
		// The victim: a folder outside every clone, holding what a fabric folder holds.
		parent := t.TempDir()
		victim := filepath.Join(parent, "fab")
		for _, f := range []string{"raw/a.yaml", "managed/keep.yaml", ".hnp/manifest.yaml"} {
			p := filepath.Join(victim, filepath.FromSlash(f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(wiring), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		name := fmt.Sprintf("repo%d", i)
		url := gs.NewRepo(t, name, map[string]string{"README.md": "x\n"})
		work := gittest.Clone(t, url)
		target := filepath.Join(victim, tt.target)
		if tt.link == "gitops" {
			target = parent // gitops/fab then is the victim
		}
		linkPath := filepath.Join(work, filepath.FromSlash(tt.link))
		if err := os.MkdirAll(filepath.Dir(linkPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if tt.link != "gitops/fab/raw" && strings.HasPrefix(tt.link, "gitops/fab/") {
			// a real raw/ file, so the job has something to ingest
			if err := os.MkdirAll(filepath.Join(work, "gitops", "fab", "raw"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(work, "gitops", "fab", "raw", "w.yaml"), []byte(wiring), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		dest := target
		if tt.relative {
			rel, err := filepath.Rel(filepath.Dir(linkPath), target)
			if err != nil {
				t.Fatal(err)
			}
			dest = rel
		}
		if err := os.Symlink(dest, linkPath); err != nil {
			t.Fatal(err)
		}
		gittest.Git(t, work, "add", "-A")
		gittest.Git(t, work, "commit", "-q", "-m", "a link")
		gittest.Git(t, work, "push", "-q", "origin", "HEAD")
		fabrics[i] = fabric{victim: victim, bare: gs.RepoDir(name)}
		fmt.Fprintf(&cfg, "  - {name: f%d, repo: %q, path: gitops/fab}\n", i, url)
	}
	sys := start(t, cfg.String(), options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, fabrics[i].victim)
			head := gittest.Git(t, fabrics[i].bare, "rev-parse", "main")
			j, _ := sys.trigger(fmt.Sprintf("f%d", i))
			j = sys.wait(j.ID)
			if j.State == tasks.StateSucceeded {
				t.Fatalf("job through a symlink succeeded: %+v", j.Ingest)
			}
			if !strings.Contains(j.Reason, tt.wantLink) || !strings.Contains(j.Reason, "symbolic link") {
				t.Errorf("reason %q; want it to name the link %s", j.Reason, tt.wantLink)
			}
			if attempts := j.GitSync.Attempts + j.Ingest.Attempts; attempts != 1 {
				t.Errorf("%d attempts; a link in the fabric path is permanent, want 1", attempts)
			}
			if strings.Contains(j.Reason, fabrics[i].victim) || strings.Contains(j.Reason, os.TempDir()) {
				t.Errorf("reason %q shows an absolute path", j.Reason)
			}
			if after := snapshot(t, fabrics[i].victim); after != before {
				t.Errorf("the folder outside the clone changed:\nbefore %s\nafter  %s", before, after)
			}
			if got := gittest.Git(t, fabrics[i].bare, "rev-parse", "main"); got != head {
				t.Errorf("remote moved %s -> %s", head, got)
			}
		})
	}
}

// snapshot lists every file under dir with its size.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s:%d ", rel, fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
