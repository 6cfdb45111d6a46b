package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestCommitWritesOnePack: a commit's new objects (blobs, trees, the commit) go into one pack
// with its index, no loose object and no temporary file left, and git finds the clone whole
// (fsck); a file over the streaming threshold is the exception, a loose object of its own. The
// next commit's pack takes in the previous one's objects and replaces it. A commit given up
// half way (canceled) or with nothing to commit leaves no pack behind; the pushed commits
// arrive whole.
func TestCommitWritesOnePack(t *testing.T) {
	needGit(t)
	tests := []struct {
		name   string
		files  map[string]string // written under fab/
		big    bool              // and one file over the streaming threshold
		ctx    func() context.Context
		rounds int // commits (and pushes) in a row
		packs  int // new packs
		loose  int // new loose objects
		commit bool
	}{
		{"a click's commit", clickFiles(), false, context.Background, 1, 1, 0, true},
		{"three commits in a row", clickFiles(), false, context.Background, 3, 1, 0, true},
		{"with a large file", clickFiles(), true, context.Background, 1, 1, 1, true},
		{"nothing changed", map[string]string{"managed/seed.yaml": "seed: 1\n"}, false, context.Background, 1, 0, 0, false},
		{"canceled half way", clickFiles(), false, func() context.Context { return newMidway(2) }, 1, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gittest.NewServer(t)
			url := srv.NewRepo(t, "fabric", map[string]string{"fab/managed/seed.yaml": "seed: 1\n"})
			c := newClient(t, gitops.Config{URL: url, Path: "fab"})
			sync(t, c)
			objects := filepath.Join(c.Dir(), ".git", "objects")
			packs, loose := countObjects(t, objects)
			for round := 0; round < tt.rounds; round++ {
				var paths []string
				files := map[string]string{}
				for p, content := range tt.files {
					if round > 0 {
						content += fmt.Sprintf("round: %d\n", round)
					}
					files[p] = content
					writeFile(t, c.Dir(), "fab/"+p, content)
					paths = append(paths, p)
				}
				if tt.big {
					f, err := os.Create(filepath.Join(c.Dir(), "fab/big.bin"))
					if err != nil {
						t.Fatal(err)
					}
					if _, err := f.ReadFrom(bigContent(1, 2<<20)); err != nil {
						t.Fatal(err)
					}
					if err := f.Close(); err != nil {
						t.Fatal(err)
					}
					paths = append(paths, "big.bin")
				}
				sha, ok, err := c.CommitPaths(tt.ctx(), "fab", fmt.Sprintf("ingest\n\nFabsync-Job: j%d", round), paths)
				if ok != tt.commit || (tt.commit && err != nil) {
					t.Fatalf("CommitPaths = %s, %v, %v; want committed %v", sha, ok, err, tt.commit)
				}
				if !tt.commit {
					break
				}
				if err := c.Push(context.Background(), nil); err != nil {
					t.Fatalf("Push: %v", err)
				}
				bare := srv.RepoDir("fabric")
				if got := remoteHead(t, bare); got != sha {
					t.Fatalf("remote head = %s; want %s", got, sha)
				}
				for p, content := range files {
					if got := gittest.Git(t, bare, "show", "main:fab/"+p); got != strings.TrimSuffix(content, "\n") {
						t.Errorf("remote %s = %q; want %q", p, got, content)
					}
				}
			}
			p, l := countObjects(t, objects)
			if p-packs != tt.packs || l-loose != tt.loose {
				t.Errorf("new packs %d, new loose objects %d; want %d and %d", p-packs, l-loose, tt.packs, tt.loose)
			}
			if tmp, _ := filepath.Glob(filepath.Join(objects, "pack", "tmp_*")); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			if out := gittest.Git(t, c.Dir(), "fsck", "--strict", "--no-dangling"); out != "" {
				t.Errorf("git fsck of the clone: %s", out)
			}
		})
	}
}

// clickFiles is what an ingest of a small click writes: resource files in a few folders and
// the manifest.
func clickFiles() map[string]string {
	files := map[string]string{".hnp/manifest.yaml": "files: [30]\n"}
	for k := 0; k < 30; k++ {
		files[fmt.Sprintf("managed/kind-%d/obj-%02d.yaml", k%3, k)] = benchContent(k, 1)
	}
	return files
}

// countObjects returns the number of packs and of loose objects under the objects folder.
func countObjects(t *testing.T, objects string) (packs, loose int) {
	t.Helper()
	p, err := filepath.Glob(filepath.Join(objects, "pack", "pack-*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := filepath.Glob(filepath.Join(objects, "[0-9a-f][0-9a-f]", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return len(p), len(l)
}
