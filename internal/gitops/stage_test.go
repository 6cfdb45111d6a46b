package gitops_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestCommitPaths: CommitPaths commits what the working tree holds at the
// named paths and nothing else: files written, changed or removed elsewhere
// stay out of the commit, with Commit's rules for modes, links (never
// followed), ignore files, folders and what Sync left out.
func TestCommitPaths(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	link := func(target, name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		dir   string // the folder paths are relative to ["fab"]
		prep  []func(t *testing.T, dir string)
		paths []string
		// set: path → content the commit must hold (prefix "link:" for a
		// symbolic link, "exec:" for an executable); del: paths (files or
		// folders) it must not hold. Everything else is as before.
		set map[string]string
		del []string
	}{{
		name: "only the named files",
		prep: []func(*testing.T, string){
			write("fab/managed/new.yaml", "n\n"), write("fab/managed/x.yaml", "x: 2\n"),
			write("fab/managed/stray.yaml", "not named\n"), write("fab/managed/y.yaml", "y: changed, not named\n"),
		},
		paths: []string{"managed/new.yaml", "managed/x.yaml"},
		set:   map[string]string{"fab/managed/new.yaml": "n\n", "fab/managed/x.yaml": "x: 2\n"},
	}, {
		name: "a removed file and a removed folder",
		prep: []func(*testing.T, string){
			rm("fab/managed/x.yaml"), rm("fab/managed/gone"), rm("fab/raw/a.yaml"),
		},
		paths: []string{"managed/x.yaml", "managed/gone"},
		del:   []string{"fab/managed/x.yaml", "fab/managed/gone"},
	}, {
		name: "a new folder, whole, with its ignore rules",
		prep: []func(*testing.T, string){
			write("fab/docs/a.md", "a\n"), write("fab/docs/b.tmp", "ignored at the top\n"),
			write("fab/docs/.gitignore", "skip*\n"), write("fab/docs/skip.yaml", "ignored here\n"),
			write("fab/docs/sub/c.md", "c\n"),
		},
		paths: []string{"docs/"},
		set:   map[string]string{"fab/docs/a.md": "a\n", "fab/docs/.gitignore": "skip*\n", "fab/docs/sub/c.md": "c\n"},
	}, {
		name: "new ignored files stay out, a tracked ignored file goes in",
		prep: []func(*testing.T, string){
			write("fab/new.tmp", "new\n"), write("fab/keep.tmp", "edited\n"), write("fab/local/cache.yaml", "c\n"),
		},
		paths: []string{"new.tmp", "keep.tmp", "local/cache.yaml"},
		set:   map[string]string{"fab/keep.tmp": "edited\n"},
	}, {
		name: "links are staged, never followed",
		prep: []func(*testing.T, string){
			link("managed/x.yaml", "fab/link"), link("../other", "fab/lnk"),
		},
		paths: []string{"link", "lnk/keep.txt", "lnk/new.txt"},
		set:   map[string]string{"fab/link": "link:managed/x.yaml"},
	}, {
		name: "a tracked folder replaced by a link",
		prep: []func(*testing.T, string){
			rm("fab/managed/gone"), link("../raw", "fab/managed/gone"),
		},
		paths: []string{"managed/gone/g"},
		del:   []string{"fab/managed/gone"},
	}, {
		name: "a file becomes a folder",
		prep: []func(*testing.T, string){
			rm("fab/managed/x.yaml"), write("fab/managed/x.yaml/inner", "i\n"),
		},
		paths: []string{"managed/x.yaml/inner"},
		del:   []string{"fab/managed/x.yaml"},
		set:   map[string]string{"fab/managed/x.yaml/inner": "i\n"},
	}, {
		name:  "executable bit",
		prep:  []func(*testing.T, string){chmod("fab/raw/a.yaml", 0o755)},
		paths: []string{"raw/a.yaml"},
		set:   map[string]string{"fab/raw/a.yaml": "exec:a: 1\n"},
	}, {
		name: "a named folder covers the paths under it",
		prep: []func(*testing.T, string){
			write("fab/managed/x.yaml", "x: 3\n"), write("fab/managed/stray.yaml", "s\n"), write("fab/raw/b.yaml", "not named\n"),
		},
		paths: []string{"managed/x.yaml", "managed", "managed/x.yaml"},
		set:   map[string]string{"fab/managed/x.yaml": "x: 3\n", "fab/managed/stray.yaml": "s\n"},
	}, {
		name:  "the whole tree keeps what Sync left out",
		dir:   ".",
		prep:  []func(*testing.T, string){write("other/keep.txt", "edited\n"), write("other/new.txt", "not named\n")},
		paths: []string{"other/big.bin", "other/keep.txt"},
		set:   map[string]string{"other/keep.txt": "edited\n"},
	}, {
		name:  "the whole fabric folder removed",
		prep:  []func(*testing.T, string){rm("fab")},
		paths: []string{"managed", "raw", ".gitignore", "keep.tmp"},
		del:   []string{"fab"},
	}, {
		name:  "nothing named changed",
		prep:  []func(*testing.T, string){write("fab/managed/y.yaml", "changed, not named\n")},
		paths: []string{"managed/x.yaml", "managed/none.yaml", "none/deeper.yaml"},
	}, {
		name: "no paths",
		prep: []func(*testing.T, string){write("fab/managed/y.yaml", "changed, not named\n")},
	}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("paths%d", i)
			url := srv.NewRepo(t, name, map[string]string{
				".gitignore":         "*.tmp\n",
				"fab/.gitignore":     "local/\n",
				"fab/raw/a.yaml":     "a: 1\n",
				"fab/managed/x.yaml": "x: 1\n",
				"fab/managed/y.yaml": "y: 1\n",
				"fab/managed/gone/g": "g\n",
				"other/keep.txt":     "keep\n",
			})
			bare := srv.RepoDir(name)
			gittest.CommitTree(t, bare, map[string]string{
				"fab/keep.tmp":  gittest.WriteBlob(t, bare, strings.NewReader("tracked though ignored\n")),
				"other/big.bin": gittest.WriteBlob(t, bare, bigContent(3, 2<<20)),
			}, "a tracked ignored file, a file Sync leaves out for fab")
			c := newClient(t, gitops.Config{URL: url, Path: "fab", MaxFileSize: 1 << 20, Depth: gitops.RecommendedDepth})
			sync(t, c)
			before := treeFiles(t, bare, "main")
			for _, f := range tt.prep {
				f(t, c.Dir())
			}
			dir := tt.dir
			if dir == "" {
				dir = "fab"
			}
			job := "job-" + name
			sha, changed, err := c.CommitPaths(context.Background(), dir, "ingest\n\nFabsync-Job: "+job+"\n", tt.paths)
			if err != nil {
				t.Fatalf("CommitPaths(%q) = %v", tt.paths, err)
			}
			if want := len(tt.set)+len(tt.del) > 0; changed != want {
				t.Fatalf("CommitPaths(%q) changed = %v; want %v", tt.paths, changed, want)
			}
			if !changed {
				if sha != "" {
					t.Errorf("CommitPaths(%q) = %q with nothing changed; want no hash", tt.paths, sha)
				}
				if got := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); got != remoteHead(t, bare) {
					t.Errorf("HEAD = %s after no change; want the remote head", got)
				}
				return
			}
			if err := c.Push(context.Background(), nil); err != nil {
				t.Fatalf("Push: %v", err)
			}
			want := map[string]string{}
			for p, v := range before {
				gone := false
				for _, d := range tt.del {
					gone = gone || p == d || strings.HasPrefix(p, d+"/")
				}
				if !gone {
					want[p] = v
				}
			}
			for p, v := range tt.set {
				mode := "100644"
				if s, ok := strings.CutPrefix(v, "link:"); ok {
					mode, v = "120000", s
				} else if s, ok := strings.CutPrefix(v, "exec:"); ok {
					mode, v = "100755", s
				}
				want[p] = mode + " " + gittest.WriteBlob(t, bare, strings.NewReader(v))
			}
			if diff := cmpDiff(want, treeFiles(t, bare, "main")); diff != "" {
				t.Errorf("pushed tree (-want +got):\n%s", diff)
			}
			if out := gittest.Git(t, bare, "fsck", "--no-dangling"); out != "" {
				t.Logf("git fsck: %s", out)
			}
			// What was committed is clean in the index; the rest is still
			// the working tree's own change.
			status := gittest.Git(t, c.Dir(), "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
			for p := range tt.set {
				if strings.Contains(status, p) {
					t.Errorf("git status after CommitPaths lists %s, which it committed:\n%s", p, status)
				}
			}
			if got, ok, err := c.FindTrailer("Fabsync-Job", job, gitops.RecommendedDepth); err != nil || !ok || got != sha {
				t.Errorf("FindTrailer(%s) = %s, %v, %v; want %s", job, got, ok, err, sha)
			}
		})
	}
}

// TestCommitPathsBadPath: a path CommitPaths cannot stage safely fails with
// ErrInvalidConfig before anything is committed.
func TestCommitPathsBadPath(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "bad", map[string]string{"fab/managed/x.yaml": "x: 1\n", "other/keep.txt": "keep\n"})
	bare := srv.RepoDir("bad")
	c := newClient(t, gitops.Config{URL: url, Path: "fab", Depth: gitops.RecommendedDepth})
	sync(t, c)
	writeFile(t, c.Dir(), "fab/managed/x.yaml", "x: 2\n")
	writeFile(t, c.Dir(), "other/keep.txt", "edited\n")
	for _, p := range []string{
		"", "/etc/passwd", "../other/keep.txt", "managed/../../other/keep.txt", `managed\x.yaml`,
		".git/config", "managed/.GIT/config", "managed//x.yaml", "./managed/x.yaml", "managed/x\x01.yaml",
	} {
		t.Run(p, func(t *testing.T) {
			_, changed, err := c.CommitPaths(context.Background(), "fab", "bad\n", []string{"managed/x.yaml", p})
			if !errors.Is(err, gitops.ErrInvalidConfig) || changed {
				t.Fatalf("CommitPaths(%q) = %v, %v; want ErrInvalidConfig", p, changed, err)
			}
			if strings.Contains(err.Error(), c.Dir()) {
				t.Errorf("error %q names the clone directory", err)
			}
			if got := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); got != remoteHead(t, bare) {
				t.Errorf("HEAD = %s after a refused CommitPaths; want the remote head", got)
			}
		})
	}
}

func write(name, content string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) { writeFile(t, dir, name, content) }
}

func rm(name string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) { remove(t, dir, name) }
}

func chmod(name string, mode os.FileMode) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		if err := os.Chmod(filepath.Join(dir, filepath.FromSlash(name)), mode); err != nil {
			t.Fatal(err)
		}
	}
}
