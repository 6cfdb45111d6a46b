package gitops_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
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

// TestSmallFetchesFold: the packs of small fetches are folded into one once there are 16 of
// them (the commits' pack, objpack.go, is left to the commits), so that a clone that has seen
// many small jobs keeps at most 16 small packs besides the commits' one, however many fetches
// and commits there were (40 here, which would leave 41 packs); the fetched files are checked
// out, no loose object or temporary file is left, git finds the clone whole, and a new client
// on it (a restarted worker) syncs. The pack of a fetch of foldLimit bytes or more, or whose
// objects are larger than that once whole (a small pack of a large, repetitive file), is left
// as it is.
func TestSmallFetchesFold(t *testing.T) {
	needGit(t)
	repetitive := strings.Repeat("spec: {}\n", 600_000) // 5.4 MB, a few KiB in a pack
	noise := make([]byte, 4<<20)                        // 5.6 MB in base64, more than foldLimit in a pack too
	_, _ = rand.NewChaCha8([32]byte{7}).Read(noise)     // never fails
	random := base64.StdEncoding.EncodeToString(noise)
	tests := []struct {
		name     string
		commit   bool   // and the clone commits and pushes after each fetch
		big      string // the content of a file pushed in the first round, besides the small files
		maxPacks int    // the most packs the clone may have at the end
	}{
		{"small fetches", false, "", 16},
		{"small fetches and commits", true, "", 17},
		{"a file large once whole", false, repetitive, 17},
		{"a large pack", true, random, 18},
	}
	const rounds = 40
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := gittest.NewServer(t)
			url := srv.NewRepo(t, "fabric", map[string]string{"fab/managed/seed.yaml": "seed: 1\n"})
			c := newClient(t, gitops.Config{URL: url, Path: "fab", MaxFileSize: 64 << 20})
			sync(t, c)
			objects := filepath.Join(c.Dir(), ".git", "objects")
			_, loose := countObjects(t, objects)
			var bigPacks []string // the packs the big file's fetch added
			for round := 0; round < rounds; round++ {
				files := map[string]string{}
				for k := 0; k < 10; k++ {
					files[fmt.Sprintf("fab/raw/r%d-%d.yaml", round, k)] = benchContent(k, round)
				}
				if round == 0 && tt.big != "" {
					files["fab/raw/big.yaml"] = tt.big
				}
				// Straight into the served repository: a push of the large file through the test
				// server's CGI would need a chunked request body.
				bare := srv.RepoDir("fabric")
				blobs := map[string]string{}
				for p, content := range files {
					blobs[p] = gittest.WriteBlob(t, bare, strings.NewReader(content))
				}
				gittest.CommitTree(t, bare, blobs, fmt.Sprintf("round %d", round))
				before := packNames(t, objects)
				sync(t, c)
				if round == 0 && tt.big != "" {
					for name := range packNames(t, objects) {
						if !before[name] {
							bigPacks = append(bigPacks, name)
						}
					}
				}
				for p, content := range files {
					got, err := os.ReadFile(filepath.Join(c.Dir(), filepath.FromSlash(p)))
					if err != nil || string(got) != content {
						t.Fatalf("round %d: %s checked out = %d bytes, %v; want %d bytes", round, p, len(got), err, len(content))
					}
				}
				if tt.commit {
					p := fmt.Sprintf("managed/r%d.yaml", round)
					writeFile(t, c.Dir(), "fab/"+p, benchContent(100, round))
					if _, ok, err := c.CommitPaths(context.Background(), "fab", fmt.Sprintf("ingest\n\nFabsync-Job: j%d", round), []string{p}); err != nil || !ok {
						t.Fatalf("CommitPaths = %v, %v", ok, err)
					}
					if err := c.Push(context.Background(), nil); err != nil {
						t.Fatalf("Push: %v", err)
					}
				}
			}
			p, l := countObjects(t, objects)
			if p > tt.maxPacks || l != loose {
				t.Errorf("%d packs, %d loose objects added; want at most %d packs and no loose object", p, l-loose, tt.maxPacks)
			}
			if tt.big != "" {
				end := packNames(t, objects)
				if len(bigPacks) != 1 || !end[bigPacks[0]] {
					t.Errorf("the big file's fetch added packs %v; want one, kept to the end (%d packs at the end)", bigPacks, len(end))
				}
			}
			if tmp, _ := filepath.Glob(filepath.Join(objects, "pack", "tmp_*")); len(tmp) != 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
			if out := gittest.Git(t, c.Dir(), "fsck", "--strict", "--no-dangling"); out != "" {
				t.Errorf("git fsck of the clone: %s", out)
			}
			c2 := newClient(t, gitops.Config{URL: url, Dir: c.Dir(), Path: "fab", MaxFileSize: 64 << 20})
			if h := sync(t, c2); h != remoteHead(t, srv.RepoDir("fabric")) {
				t.Errorf("sync after restart = %s; want the remote head", h)
			}
		})
	}
}

// packNames returns the names of the packs under the objects folder.
func packNames(t *testing.T, objects string) map[string]bool {
	t.Helper()
	p, err := filepath.Glob(filepath.Join(objects, "pack", "pack-*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, name := range p {
		names[filepath.Base(name)] = true
	}
	return names
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
