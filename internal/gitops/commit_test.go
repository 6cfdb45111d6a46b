package gitops_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// TestCommitWhatGitWould: Commit records what `git add -A <dir>` would:
// modes, symbolic links, large files, ignore rules for new files (not for
// tracked ones), deletions; and nothing outside dir, where what Sync left out
// of the working tree stays as it is even when dir is the whole tree.
func TestCommitWhatGitWould(t *testing.T) {
	needGit(t)
	srv := gittest.NewServer(t)
	ctx := context.Background()
	url := srv.NewRepo(t, "fabric", map[string]string{
		".gitignore":          "*.tmp\n",
		"fab/raw/a.yaml":      "a: 1\n",
		"fab/managed/x.yaml":  "x: 1\n",
		"fab/managed/gone/g":  "g\n",
		"other/keep.txt":      "keep\n",
		"other/sub/drop.txt":  "drop\n",
		"fab/.gitignore":      "local/\n",
		"fab/managed/ok.yaml": "ok\n",
	})
	bare := srv.RepoDir("fabric")
	tracked := gittest.WriteBlob(t, bare, strings.NewReader("tracked though ignored\n"))
	big := gittest.WriteBlob(t, bare, bigContent(3, 2<<20))
	bad := gittest.WriteBlob(t, bare, strings.NewReader("bad\n"))
	gittest.CommitTree(t, bare, map[string]string{
		"fab/keep.tmp":          tracked,
		"other/big.bin":         big,
		`other/..\bad.yaml`:     bad,
		"other/sub/.GIT/config": bad,
	}, "entries Sync leaves out for fab")
	c := newClient(t, gitops.Config{URL: url, Path: "fab", MaxFileSize: 1 << 20, Depth: gitops.RecommendedDepth})
	sync(t, c)
	assertMirror(t, c, bare, "other/big.bin", `other/..\bad.yaml`, "other/sub/.GIT/config")
	before := treeFiles(t, bare, "main")

	writeFile(t, c.Dir(), "fab/keep.tmp", "edited\n")    // tracked: committed although ignored
	writeFile(t, c.Dir(), "fab/new.tmp", "new\n")        // new and ignored: not committed
	writeFile(t, c.Dir(), "fab/local/cache.yaml", "c\n") // in an ignored folder: not committed
	writeFile(t, c.Dir(), "fab/managed/new.yaml", "n\n") // new
	writeFile(t, c.Dir(), "fab/run.sh", "#!/bin/sh\n")   // executable
	remove(t, c.Dir(), "fab/managed/x.yaml")             // a file becomes a folder
	writeFile(t, c.Dir(), "fab/managed/x.yaml/inner", "i\n")
	remove(t, c.Dir(), "fab/managed/gone", "fab/raw/a.yaml")
	if err := os.Chmod(filepath.Join(c.Dir(), "fab/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("managed/ok.yaml", filepath.Join(c.Dir(), "fab/link")); err != nil {
		t.Fatal(err)
	}
	var large bytes.Buffer
	if _, err := io.Copy(&large, bigContent(4, 3<<20)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, c.Dir(), "fab/docs/large.bin", large.String()) // streamed into the store
	writeFile(t, c.Dir(), "other/keep.txt", "outside: not committed\n")

	if _, ok, err := c.Commit(ctx, "fab", "ingest"); err != nil || !ok {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	got := treeFiles(t, bare, "main")
	blob := func(s string) string { return gittest.WriteBlob(t, bare, strings.NewReader(s)) }
	want := map[string]string{}
	for p, v := range before {
		if !strings.HasPrefix(p, "fab/") {
			want[p] = v
		}
	}
	for p, v := range map[string]string{
		"fab/.gitignore":           "100644 " + blob("local/\n"),
		"fab/keep.tmp":             "100644 " + blob("edited\n"),
		"fab/managed/ok.yaml":      "100644 " + blob("ok\n"),
		"fab/managed/new.yaml":     "100644 " + blob("n\n"),
		"fab/managed/x.yaml/inner": "100644 " + blob("i\n"),
		"fab/run.sh":               "100755 " + blob("#!/bin/sh\n"),
		"fab/link":                 "120000 " + blob("managed/ok.yaml"),
		"fab/docs/large.bin":       "100644 " + blob(large.String()),
	} {
		want[p] = v
	}
	if diff := cmpDiff(want, got); diff != "" {
		t.Errorf("pushed tree (-want +got):\n%s", diff)
	}
	if out := gittest.Git(t, bare, "fsck", "--no-dangling"); out != "" {
		t.Logf("git fsck: %s", out)
	}

	// The whole tree, with a folder gone that holds what Sync left out:
	// its files are deleted, what was left out stays.
	sync(t, c)
	remove(t, c.Dir(), "other")
	if _, ok, err := c.Commit(ctx, ".", "drop other"); err != nil || !ok {
		t.Fatalf("Commit = %v, %v", ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	var others []string
	for p := range treeFiles(t, bare, "main") {
		if strings.HasPrefix(p, "other/") {
			others = append(others, p)
		}
	}
	if diff := cmpDiff(map[string]bool{"other/big.bin": true, `other/..\bad.yaml`: true, "other/sub/.GIT/config": true}, set(others)); diff != "" {
		t.Errorf("other/ after committing its removal (-want +got):\n%s", diff)
	}
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}
