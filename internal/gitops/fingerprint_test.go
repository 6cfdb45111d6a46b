package gitops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestCheckoutFingerprint: the fingerprint a checkout records from what it
// wrote is the one a walk of the tree takes, whatever the checkout did (a
// clone, an update that adds, changes and removes files and folders, a
// Discard), so that the next Sync with nothing new is a no-op.
func TestCheckoutFingerprint(t *testing.T) {
	if testing.Short() {
		t.Skip("needs git; skipped with -short")
	}
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fp", map[string]string{
		"a/b":         "in a folder\n",
		"a-c":         "sorts between a and a/b bytewise\n",
		"a.d/e":       "e\n",
		"fab/raw/x":   "x\n",
		"fab/run.sh":  "#!/bin/sh\n",
		"z/deep/er/f": "f\n",
	})
	bare := srv.RepoDir("fp")
	c, err := New(Config{URL: url, Dir: filepath.Join(t.TempDir(), "clone"), Path: "fab", Depth: RecommendedDepth, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"clone", func(t *testing.T) {}},
		{"update", func(t *testing.T) {
			bl := gittest.WriteBlob(t, bare, strings.NewReader("new\n"))
			gittest.CommitTree(t, bare, map[string]string{"a/b": "", "a/new": bl, "a-c": bl, "q/r/s": bl, "z/deep/er/f": ""}, "change")
		}},
		{"discard", func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(c.Dir(), "fab", "left.yaml"), []byte("l\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(filepath.Join(c.Dir(), "a")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.run(t)
			if st.name == "discard" {
				if err := c.Discard(ctx); err != nil {
					t.Fatal(err)
				}
			} else if _, err := c.Sync(ctx, nil); err != nil {
				t.Fatal(err)
			}
			head := plumbing.NewHash(gittest.Git(t, bare, "rev-parse", "main"))
			fp, err := fingerprint(c.Dir())
			if err != nil {
				t.Fatal(err)
			}
			saved, err := os.ReadFile(filepath.Join(c.Dir(), git.GitDirName, stateFile))
			if err != nil {
				t.Fatal(err)
			}
			if want := c.state(head, fp, nil); string(saved) != want {
				t.Errorf("recorded state = %q; a walk of the tree gives %q", saved, want)
			}
		})
	}
}
