package gitops_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// treeFiles lists the files of rev in the repository at dir: slash path →
// "mode hash", as `git ls-tree -r` prints them.
func treeFiles(t testing.TB, dir, rev string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rec := range strings.Split(gittest.Git(t, dir, "ls-tree", "-r", "-z", "--full-tree", rev), "\x00") {
		if rec == "" {
			continue
		}
		meta, name, _ := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		out[name] = f[0] + " " + f[2]
	}
	return out
}

// diskFiles lists the working tree at dir (not .git) the way treeFiles lists
// a tree, hashing contents in Go. An empty folder is listed as "<path>/".
func diskFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel := filepath.ToSlash(p[len(dir)+1:])
		if rel == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var mode string
		var content []byte
		switch {
		case d.IsDir():
			if ents, err := os.ReadDir(p); err == nil && len(ents) == 0 {
				out[rel+"/"] = "empty folder"
			}
			return nil
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			mode, content = "120000", []byte(target)
		case info.Mode().IsRegular():
			mode = "100644"
			if info.Mode()&0o111 != 0 {
				mode = "100755"
			}
			if content, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			out[rel] = "unexpected " + info.Mode().String()
			return nil
		}
		h := sha1.New()
		h.Write(fmt.Appendf(nil, "blob %d\x00", len(content)))
		h.Write(content)
		out[rel] = mode + " " + hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// assertMirror checks that the clone of c is the remote head of the bare
// repository, to the byte: HEAD, every file, no other file, and an index that
// the git CLI finds clean. Paths in absent are in the tree but must not be in
// the working tree (Sync leaves them out).
func assertMirror(t testing.TB, c *gitops.Client, bare string, absent ...string) {
	t.Helper()
	head := remoteHead(t, bare)
	if got := gittest.Git(t, c.Dir(), "rev-parse", "HEAD"); got != head {
		t.Errorf("clone HEAD = %s; want the remote head %s", got, head)
	}
	if got := gittest.Git(t, c.Dir(), "symbolic-ref", "HEAD"); got != "refs/heads/"+c.Branch() {
		t.Errorf("clone HEAD -> %s; want refs/heads/%s", got, c.Branch())
	}
	want := treeFiles(t, bare, head)
	for _, p := range absent {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is not in the remote tree", p)
		}
		delete(want, p)
	}
	if diff := cmp.Diff(want, diskFiles(t, c.Dir())); diff != "" {
		t.Errorf("working tree differs from the remote head (-remote +clone):\n%s", diff)
	}
	if st := gittest.Git(t, c.Dir(), "--no-optional-locks", "status", "--porcelain", "--ignored", "--untracked-files=all"); st != "" {
		t.Errorf("git status in the clone:\n%s\nwant nothing", st)
	}
}

func cmpDiff(want, got any) string { return cmp.Diff(want, got) }
