package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Seed makes sure the bare repository bareDir exists with branch, and that the branch's folder
// inbox holds YAML: when it holds none, it commits files (slash-separated path → content) onto
// the branch, directly in the repository's storage (no transport, no git binary). It reports
// whether it committed. Dev mode uses it for its demo fabric; it is not for remotes in use.
func Seed(ctx context.Context, bareDir, branch, inbox string, files map[string][]byte, author Signature) (bool, error) {
	if _, err := os.Stat(bareDir); errors.Is(err, os.ErrNotExist) {
		r, err := git.PlainInit(bareDir, true)
		if err != nil {
			return false, fmt.Errorf("seed %s: %s", bareDir, opaque(err))
		}
		head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
		if err := r.Storer.SetReference(head); err != nil {
			return false, fmt.Errorf("seed %s: %s", bareDir, opaque(err))
		}
	}
	work, err := os.MkdirTemp("", "fabsync-seed-")
	if err != nil {
		return false, err
	}
	// A scratch checkout in the temp dir: one left behind harms nothing, and
	// the commit, if any, is made by then, so it is not worth an error.
	defer func() { _ = os.RemoveAll(work) }()
	st := filesystem.NewStorage(osfs.New(bareDir), cache.NewObjectLRUDefault())
	repo, err := git.Open(st, osfs.New(work))
	if err != nil {
		return false, fmt.Errorf("seed %s: %s", bareDir, opaque(err))
	}
	wt, err := repo.Worktree()
	if err != nil {
		return false, fmt.Errorf("seed %s: %s", bareDir, opaque(err))
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if head, err := repo.Reference(ref, true); err == nil {
		if err := wt.Checkout(&git.CheckoutOptions{Hash: head.Hash(), Force: true}); err != nil {
			return false, fmt.Errorf("seed %s: checkout: %s", bareDir, opaque(err))
		}
		if hasYAML(filepath.Join(work, filepath.FromSlash(inbox))) {
			return false, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for name, data := range files {
		p := filepath.Join(work, filepath.FromSlash(path.Clean(name)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return false, err
		}
		if _, err := wt.Add(path.Clean(name)); err != nil {
			return false, fmt.Errorf("seed %s: add %s: %s", bareDir, name, opaque(err))
		}
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	h, err := wt.Commit("Drop sample wiring files into "+inbox, &git.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return false, fmt.Errorf("seed %s: commit: %s", bareDir, opaque(err))
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		return false, fmt.Errorf("seed %s: %s", bareDir, opaque(err))
	}
	return true, nil
}

func hasYAML(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n := strings.ToLower(d.Name())
			if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
				found = true
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found
}
