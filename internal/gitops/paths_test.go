package gitops

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// TestConfigPaths: Config.Paths are cleaned, deduplicated and sorted, with
// Path among them.
func TestConfigPaths(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		paths []string
		want  []string
	}{
		{"no Paths", "fab", nil, []string{"fab"}},
		{"no Path, no Paths", "", nil, []string{"."}},
		{"Path added", "fab-c", []string{"fab-b", "fab-a"}, []string{"fab-a", "fab-b", "fab-c"}},
		{"cleaned and deduplicated", "fab-a/", []string{"fab-b/", "./fab-a", "fab-b", "x//y/"}, []string{"fab-a", "fab-b", "x/y"}},
		{"whole repository and a folder", "fab-1", []string{"", "/"}, []string{".", "fab-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{URL: "https://example.com/r.git", Dir: t.TempDir(), Path: tt.path, Paths: tt.paths})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.cfg.Paths, tt.want) {
				t.Errorf("Paths = %q; want %q", c.cfg.Paths, tt.want)
			}
		})
	}
}

// TestStateFile: the state a checkout records reads back with its problems,
// whatever bytes their paths hold, for every client of the same Paths and
// MaxFileSize whatever its Path; under other rules, another commit or
// fingerprint, or from a file of the old format or a damaged one, it does
// not match.
func TestStateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "clone")
	client := func(path string, paths []string, limit int64) *Client {
		c, err := New(Config{URL: "https://example.com/r.git", Dir: dir, Path: path, Paths: paths, MaxFileSize: limit})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	target := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	other := plumbing.NewHash("76543210fedcba9876543210fedcba9876543210")
	const fp = "f00d"
	a := client("fab-a", []string{"fab-b"}, 1024)
	problems := []TreeError{
		{Commit: target.String(), Path: `fab-b/raw/..\"x".yaml`, Reason: `has a backslash in a name (a folder separator on Windows)`, Err: ErrBadPath},
		{Commit: target.String(), Path: "fab-a/raw/\x01\n\xff\"", Reason: "has a control character in a name", Err: ErrBadPath},
		{Commit: target.String(), Path: "fab-b/raw/huge yaml", Size: 4096, Limit: 1024, Err: ErrFileTooLarge},
	}
	saved := a.state(target, fp, problems)
	oldFormat := target.String() + " " + fp + ` path="fab-a" max=1024` + "\n"
	tests := []struct {
		name   string
		c      *Client
		saved  string
		target plumbing.Hash
		fp     string
		want   []TreeError // nil: no match
	}{
		{"same client", a, saved, target, fp, problems},
		{"another Path, same Paths", client("fab-b", []string{"fab-a"}, 1024), saved, target, fp, problems},
		{"no problems", a, a.state(target, fp, nil), target, fp, []TreeError{}},
		{"other Paths", client("fab-a", nil, 1024), saved, target, fp, nil},
		{"other MaxFileSize", client("fab-a", []string{"fab-b"}, 0), saved, target, fp, nil},
		{"other commit", a, saved, other, fp, nil},
		{"other fingerprint", a, saved, target, "beef", nil},
		{"old format", client("fab-a", nil, 1024), oldFormat, target, fp, nil},
		{"truncated", a, saved[:len(saved)-10], target, fp, nil},
		{"a problem missing", a, saved[:strings.LastIndex(saved[:len(saved)-1], "\n")+1], target, fp, nil},
		{"a problem too many", a, saved + "bad \"x\" \"y\"\n", target, fp, nil},
		{"garbage", a, "garbage", target, fp, nil},
		{"empty", a, "", target, fp, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.c.parseState(tt.saved, tt.target, tt.fp)
			if ok != (tt.want != nil) {
				t.Fatalf("parseState matches = %v; want %v", ok, tt.want != nil)
			}
			if !slices.EqualFunc(got, tt.want, func(x, y TreeError) bool { return x == y }) {
				t.Errorf("parseState = %+v; want %+v", got, tt.want)
			}
		})
	}
	// What ownProblem makes of them: the first inside Path, More counting
	// the others there.
	for _, tt := range []struct {
		c    *Client
		want *TreeError
	}{
		{a, &problems[1]},
		{client("fab-b", []string{"fab-a"}, 1024), &TreeError{Commit: target.String(), Path: problems[0].Path, Reason: problems[0].Reason, More: 1, Err: ErrBadPath}},
		{client("fab-c", []string{"fab-a", "fab-b"}, 1024), nil},
		{client(".", []string{"fab-a", "fab-b"}, 1024), &TreeError{Commit: target.String(), Path: problems[0].Path, Reason: problems[0].Reason, More: 2, Err: ErrBadPath}},
	} {
		got := tt.c.ownProblem(problems)
		if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("ownProblem for Path %q = %+v; want %+v", tt.c.cfg.Path, got, tt.want)
		}
		if got != nil && !errors.Is(got, got.Err) {
			t.Errorf("ownProblem for Path %q does not unwrap to %v", tt.c.cfg.Path, got.Err)
		}
	}
}

// TestCouldBeUnchanged: update skips the tree's fingerprint only where unchanged could not
// pass whatever the tree holds: when the branch is not the commit the state file records (a
// commit of ours moved it on), not the caller's known head, or there is no state file. Where
// it says false, unchanged is false for every target update may check (the known head when
// there is one), whatever the fingerprint.
func TestCouldBeUnchanged(t *testing.T) {
	target := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	other := plumbing.NewHash("76543210fedcba9876543210fedcba9876543210")
	const fp = "f00d"
	tests := []struct {
		name   string
		branch plumbing.Hash // the branch's commit
		state  plumbing.Hash // the commit the state file records; zero: no state file
		known  plumbing.Hash
		want   bool
	}{
		{"the checkout is the branch", target, target, plumbing.ZeroHash, true},
		{"and the known head", target, target, target, true},
		{"a commit since", other, target, plumbing.ZeroHash, false},
		{"a commit since, known", other, target, other, false},
		{"another known head", target, target, other, false},
		{"no state file", target, plumbing.ZeroHash, plumbing.ZeroHash, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clone")
			repo, err := git.PlainInit(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(Config{URL: "https://example.com/r.git", Dir: dir, Path: "fab"})
			if err != nil {
				t.Fatal(err)
			}
			if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, c.branch)); err != nil {
				t.Fatal(err)
			}
			if err := repo.Storer.SetReference(plumbing.NewHashReference(c.branch, tt.branch)); err != nil {
				t.Fatal(err)
			}
			if !tt.state.IsZero() {
				if err := c.saveState(tt.state, fp, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.couldBeUnchanged(repo, tt.known); got != tt.want {
				t.Errorf("couldBeUnchanged = %v; want %v", got, tt.want)
			}
			if !tt.want {
				// The targets update may check: the known head, or any when there is none.
				targets := []plumbing.Hash{target, other}
				if !tt.known.IsZero() {
					targets = []plumbing.Hash{tt.known}
				}
				for _, h := range targets {
					if _, same := c.unchanged(repo, h, fp); same {
						t.Errorf("unchanged(%s) = true where couldBeUnchanged is false", h)
					}
				}
			}
		})
	}
}
