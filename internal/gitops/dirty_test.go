package gitops_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// fabricFiles is a fabric repository as ingest leaves it: raw files waiting,
// managed files, fabsync's .hnp folder, and another team's folder beside the
// fabric folder fab/.
func fabricFiles(raw, managed int) map[string]string {
	files := map[string]string{
		".gitignore":             "*.tmp\n",
		"fab/.hnp/manifest.yaml": "manifest: 1\n",
		"other/keep.txt":         "keep\n",
		"other/sub/x.txt":        "x\n",
	}
	for i := range raw {
		files[fmt.Sprintf("fab/raw/r%04d.yaml", i)] = fmt.Sprintf("kind: VPC\nname: raw-%d\n", i)
	}
	for i := range managed {
		files[managedFile(i)] = fmt.Sprintf("kind: VPC\nmetadata:\n  name: vpc-%04d\nspec: {}\n", i)
	}
	return files
}

func managedFile(i int) string { return fmt.Sprintf("fab/managed/vpcs/v%04d.yaml", i) }

// ingestLeftovers writes what an interrupted ingest leaves behind: n new
// managed files and n archived raw files, the raw files removed.
func ingestLeftovers(t testing.TB, dir string, n int) {
	t.Helper()
	for i := range n {
		writeFile(t, dir, fmt.Sprintf("fab/managed/vpcs/new-%05d.yaml", i), fmt.Sprintf("kind: VPC\nname: new-%d\n", i))
		writeFile(t, dir, fmt.Sprintf("fab/.hnp/archive/job-1/raw/r%05d.yaml", i), fmt.Sprintf("name: raw-%d\n", i))
	}
	if err := os.RemoveAll(filepath.Join(dir, "fab", "raw")); err != nil {
		t.Fatal(err)
	}
}

func remove(t testing.TB, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(n))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSyncAfterInterruptedIngest: whatever an interrupted or failed ingest
// left in the clone (files written, files removed, a local commit that was
// never pushed, or worse), the next Sync makes the clone the remote head
// again, to the byte, with an index the git CLI finds clean; and so does
// Discard, without the network.
func TestSyncAfterInterruptedIngest(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	ctx := context.Background()
	outside := filepath.Join(t.TempDir(), "victim.txt")
	tests := []struct {
		name      string
		interrupt func(t *testing.T, c *gitops.Client, url string)
		discard   bool // Discard instead of Sync
	}{
		{"untracked files", func(t *testing.T, c *gitops.Client, _ string) {
			ingestLeftovers(t, c.Dir(), 300)
			writeFile(t, c.Dir(), "junk.tmp", "ignored\n")
			writeFile(t, c.Dir(), "fab/managed/newkind/deep/x.yaml", "x\n")
			if err := os.MkdirAll(filepath.Join(c.Dir(), "fab/empty/folder"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"tracked files deleted", func(t *testing.T, c *gitops.Client, _ string) {
			remove(t, c.Dir(), "fab/raw", "other/sub", "fab/.hnp")
			for i := range 150 {
				remove(t, c.Dir(), managedFile(i))
			}
		}, false},
		{"tracked files modified", func(t *testing.T, c *gitops.Client, _ string) {
			for i := range 50 {
				// Same size, other content: only the content (or the
				// time stamps) can tell.
				old := readFile(t, c.Dir(), managedFile(i))
				writeFile(t, c.Dir(), managedFile(i), strings.ToUpper(old))
			}
			writeFile(t, c.Dir(), managedFile(60), "")
			if err := os.Chmod(filepath.Join(c.Dir(), filepath.FromSlash(managedFile(61))), 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"local commit", func(t *testing.T, c *gitops.Client, _ string) {
			ingestLeftovers(t, c.Dir(), 100)
			remove(t, c.Dir(), managedFile(3))
			if _, ok, err := c.Commit(ctx, "fab", "ingest\n\nFabsync-Job: j1\n"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
		}, false},
		{"local commit then more changes", func(t *testing.T, c *gitops.Client, _ string) {
			ingestLeftovers(t, c.Dir(), 100)
			if _, ok, err := c.Commit(ctx, "fab", "ingest\n\nFabsync-Job: j1\n"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			writeFile(t, c.Dir(), "fab/managed/vpcs/later.yaml", "later\n")
			remove(t, c.Dir(), managedFile(7), "fab/managed/vpcs/new-00001.yaml")
			writeFile(t, c.Dir(), managedFile(8), "edited\n")
		}, false},
		{"remote moved meanwhile", func(t *testing.T, c *gitops.Client, url string) {
			ingestLeftovers(t, c.Dir(), 100)
			gittest.Commit(t, url, map[string]string{
				"fab/raw/r0000.yaml": "", "fab/raw/new.yaml": "kind: VPC\n", "other/keep.txt": "changed\n",
				managedFile(9): "", "fab/managed/vpcs/new-00002.yaml": "theirs\n",
			}, "someone else")
		}, false},
		{"types swapped and symlinks planted", func(t *testing.T, c *gitops.Client, _ string) {
			if err := os.WriteFile(outside, []byte("victim\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			// A tracked file became a folder, a tracked folder a file.
			remove(t, c.Dir(), managedFile(1), "other/sub")
			writeFile(t, c.Dir(), managedFile(1)+"/inside.yaml", "x\n")
			writeFile(t, c.Dir(), "other/sub", "now a file\n")
			// A tracked file and a tracked folder became symlinks that
			// lead out of the clone or into another folder: Sync must
			// replace them, never write through them.
			remove(t, c.Dir(), managedFile(2), "fab/raw")
			if err := os.Symlink(outside, filepath.Join(c.Dir(), filepath.FromSlash(managedFile(2)))); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(c.Dir(), "other"), filepath.Join(c.Dir(), "fab", "raw")); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"fabric folder removed", func(t *testing.T, c *gitops.Client, _ string) {
			remove(t, c.Dir(), "fab")
		}, false},
		{"discard after a local commit and more changes", func(t *testing.T, c *gitops.Client, _ string) {
			ingestLeftovers(t, c.Dir(), 100)
			if _, ok, err := c.Commit(ctx, "fab", "ingest\n\nFabsync-Job: j1\n"); err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			writeFile(t, c.Dir(), "fab/managed/vpcs/later.yaml", "later\n")
			remove(t, c.Dir(), managedFile(7), "other")
		}, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("fabric%d", i)
			url := srv.NewRepo(t, name, fabricFiles(20, 200))
			bare := srv.RepoDir(name)
			c := newClient(t, gitops.Config{URL: url, Depth: gitops.RecommendedDepth, Path: "fab"})
			sync(t, c)
			assertMirror(t, c, bare)

			tt.interrupt(t, c, url)
			if tt.discard {
				if err := c.Discard(ctx); err != nil {
					t.Fatalf("Discard: %v", err)
				}
			} else {
				sync(t, c)
			}
			assertMirror(t, c, bare)
			if b, err := os.ReadFile(outside); err == nil && string(b) != "victim\n" {
				t.Errorf("a file outside the clone was written through a symlink: %q", b)
			}

			// The clone is as good as new: the next Sync is a no-op (no
			// reset: the index is not rewritten), and a commit pushes.
			idx := filepath.Join(c.Dir(), ".git", "index")
			before := modTime(t, idx)
			sync(t, c)
			if after := modTime(t, idx); !after.Equal(before) {
				t.Errorf("the Sync after recovering reset again (index rewritten %v → %v)", before, after)
			}
			writeFile(t, c.Dir(), "fab/managed/vpcs/ours.yaml", "ours\n")
			h, ok, err := c.Commit(ctx, "fab", "ours\n\nFabsync-Job: j2\n")
			if err != nil || !ok {
				t.Fatalf("Commit = %v, %v", ok, err)
			}
			if err := c.Push(ctx, nil); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if got := remoteHead(t, bare); got != h {
				t.Errorf("remote head = %s; want %s", got, h)
			}
			assertMirror(t, c, bare)
		})
	}
}

// BenchmarkSyncAfterInterruptedIngest: the Sync after an ingest that was
// cut off after writing 10,000 files into the clone (and removing raw
// files; or deleting 4,000 tracked ones; or committing without pushing),
// against a no-op Sync of the same clone and against the git CLI doing the
// same clean-up (`git reset --hard origin/main && git clean -ffdx`) in its
// own clone with the same leftovers. Reported: sync-ms (the Sync after the
// interruption), noop-ms (a no-op Sync right after), extra-ms (the
// difference: the target is ≤ 3,000), cli-ms, and reclone-ms (a fresh
// depth-50 clone of the same repository, the alternative not chosen).
func BenchmarkSyncAfterInterruptedIngest(b *testing.B) {
	needGit(b)
	srv := gittest.NewServer(b)
	url := srv.NewRepo(b, "fabric", fabricFiles(20, 4000))
	ctx := context.Background()
	cases := []struct {
		name      string
		interrupt func(b *testing.B, c *gitops.Client, dir string)
	}{
		{"untracked=10000", func(b *testing.B, _ *gitops.Client, dir string) {
			ingestLeftovers(b, dir, 5000)
		}},
		{"deleted=4000+untracked=6000", func(b *testing.B, _ *gitops.Client, dir string) {
			ingestLeftovers(b, dir, 3000)
			remove(b, dir, "fab/managed/vpcs")
			for i := range 3000 {
				writeFile(b, dir, fmt.Sprintf("fab/managed/vpcs/new-%05d.yaml", i), "new\n")
			}
		}},
		{"committed=10000", func(b *testing.B, c *gitops.Client, dir string) {
			ingestLeftovers(b, dir, 5000)
			if c == nil {
				cli(b, false, dir, "add", "-A")
				cli(b, false, dir, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "ingest")
				return
			}
			start := time.Now()
			if _, ok, err := c.Commit(ctx, "fab", "ingest\n\nFabsync-Job: j1\n"); err != nil || !ok {
				b.Fatalf("Commit = %v, %v", ok, err)
			}
			b.ReportMetric(float64(time.Since(start))/1e6, "commit-ms")
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			dir := cloneDir(b)
			c := newClient(b, gitops.Config{URL: url, Depth: benchDepth, Path: "fab", Dir: filepath.Join(dir, "gogit")})
			sync(b, c)
			cli(b, false, dir, "clone", "-q", "--single-branch", "--branch", "main", "--no-tags", "--depth", fmt.Sprint(benchDepth), url, "cli")
			work := filepath.Join(dir, "cli")
			var p pairs
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tc.interrupt(b, c, c.Dir())
				tc.interrupt(b, nil, work)
				dg, dc := timed(i, func() { sync(b, c) }, func() {
					cli(b, false, work, "reset", "-q", "--hard", "origin/main")
					cli(b, false, work, "clean", "-q", "-ffdx")
				})
				p.add(dg, dc)
				start := time.Now()
				sync(b, c)
				noop := time.Since(start)
				p.addExtra("sync-ms", float64(dg)/1e6)
				p.addExtra("noop-ms", float64(noop)/1e6)
				p.addExtra("extra-ms", float64(dg-noop)/1e6)

				fresh := newClient(b, gitops.Config{URL: url, Depth: benchDepth, Path: "fab", Dir: filepath.Join(cloneDir(b), "fresh")})
				start = time.Now()
				sync(b, fresh)
				p.addExtra("reclone-ms", float64(time.Since(start))/1e6)
			}
			p.report(b)
		})
	}
}

// TestSyncRewritesOnlyWhatDiffers: a Sync rewrites the files that differ
// from the remote head and leaves every other file alone (same inode, same
// modification time), the index telling it which are which, as in git.
func TestSyncRewritesOnlyWhatDiffers(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", fabricFiles(5, 200))
	c := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
	sync(t, c)
	before := map[string]os.FileInfo{}
	for p := range diskFiles(t, c.Dir()) {
		fi, err := os.Lstat(filepath.Join(c.Dir(), filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		before[p] = fi
	}
	writeFile(t, c.Dir(), managedFile(5), "edited\n")
	remove(t, c.Dir(), managedFile(6))
	writeFile(t, c.Dir(), "fab/managed/vpcs/untracked.yaml", "u\n")
	gittest.Commit(t, url, map[string]string{managedFile(7): "theirs\n"}, "theirs")
	sync(t, c)
	assertMirror(t, c, srv.RepoDir("fabric"))
	changed := map[string]bool{managedFile(5): true, managedFile(6): true, managedFile(7): true}
	for p, old := range before {
		fi, err := os.Lstat(filepath.Join(c.Dir(), filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		if rewritten := !os.SameFile(old, fi) || !fi.ModTime().Equal(old.ModTime()); rewritten != changed[p] {
			t.Errorf("%s rewritten = %v; want %v", p, rewritten, changed[p])
		}
	}
}
