// Package gittest serves real git repositories to tests: bare repositories on
// disk behind `git http-backend` (smart HTTP) on a loopback httptest server,
// plus helpers that drive the git CLI as "someone else" pushing to them.
//
// It needs the git binary. Every helper fails the test with a message that
// says to install git when it is missing; callers that must run without git
// skip on testing.Short before calling in.
package gittest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Server serves bare repositories over smart HTTP with `git http-backend`
// behind net/http/cgi and httptest.
type Server struct {
	URL  string // base URL, e.g. http://127.0.0.1:PORT
	Root string // directory holding the bare repos

	srv      *httptest.Server
	mu       sync.Mutex
	requests map[string]int // by service, see Requests
}

// Requests returns how many requests the server answered for service: "git-upload-pack" (a
// fetch or clone's pack), "git-receive-pack" (a push) or "info/refs" (a ref advertisement:
// every clone, fetch, push and ls-remote starts with one).
func (s *Server) Requests(service string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[service]
}

func (s *Server) count(r *http.Request) {
	service := "info/refs"
	switch {
	case strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		service = "git-upload-pack"
	case strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
		service = "git-receive-pack"
	case !strings.HasSuffix(r.URL.Path, "/info/refs"):
		return
	}
	s.mu.Lock()
	s.requests[service]++
	s.mu.Unlock()
}

type serverOptions struct {
	user, password string
	auth           bool
}

// Option configures a Server.
type Option func(*serverOptions)

// WithBasicAuth makes the server demand HTTP basic auth: requests without a
// matching user and password get 401 with a WWW-Authenticate header.
func WithBasicAuth(user, password string) Option {
	return func(o *serverOptions) {
		o.user, o.password, o.auth = user, password, true
	}
}

// NewServer starts a smart HTTP git server on a loopback port. It is stopped
// in t.Cleanup. It fails the test when git is not installed.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o serverOptions
	for _, opt := range opts {
		opt(&o)
	}
	gitBin := lookGit(t)
	root := t.TempDir()
	var h http.Handler = &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Dir:  root,
		// http-backend complains on stderr about every missing repository a
		// test asks for on purpose; the HTTP status says it all.
		Stderr: io.Discard,
		Env: append([]string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
		}, isolatedEnv(root)...),
	}
	if o.auth {
		h = basicAuth(o.user, o.password, h)
	}
	s := &Server{Root: root, requests: map[string]int{}}
	backend := h
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count(r)
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

func basicAuth(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok ||
			subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// NewRepo creates the bare repository <name>.git on branch main, with
// http.receivepack enabled and one initial commit holding files (slash
// separated path → content; a nil or empty map gives a commit with only a
// README.md). It returns the clone URL, without credentials.
func (s *Server) NewRepo(t testing.TB, name string, files map[string]string) string {
	t.Helper()
	bare := s.NewEmptyRepo(t, name)
	if len(files) == 0 {
		files = map[string]string{"README.md": "# " + name + "\n"}
	}
	work := t.TempDir()
	Git(t, work, "init", "-q", "-b", "main")
	writeFiles(t, work, files)
	Git(t, work, "add", "-A")
	Git(t, work, "commit", "-q", "-m", "Initial commit")
	Git(t, work, "push", "-q", s.RepoDir(name), "HEAD:refs/heads/main")
	return bare
}

// NewEmptyRepo creates the bare repository <name>.git with no commits (HEAD
// names main) and returns its clone URL.
func (s *Server) NewEmptyRepo(t testing.TB, name string) string {
	t.Helper()
	dir := s.RepoDir(name)
	Git(t, s.Root, "init", "-q", "--bare", "-b", "main", dir)
	Git(t, dir, "config", "http.receivepack", "true")
	return s.URL + "/" + name + ".git"
}

// RepoDir returns the directory of the bare repository <name>.git, for
// file:// tests and for inspection with Git.
func (s *Server) RepoDir(name string) string {
	return filepath.Join(s.Root, name+".git")
}

// Git runs the git CLI in dir with args and returns its trimmed stdout. The
// author and committer are fixed and no global or system configuration is
// read. It fails t, with git's stderr, when git fails.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return gitInput(t, dir, nil, args...)
}

// gitInput is Git with stdin.
func gitInput(t testing.TB, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	gitBin := lookGit(t)
	cmd := exec.Command(gitBin, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = append(os.Environ(), isolatedEnv("")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s (in %s): %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// Clone clones url with the git CLI into a new temporary directory and
// returns that directory.
func Clone(t testing.TB, url string) string {
	t.Helper()
	dir := t.TempDir()
	Git(t, dir, "clone", "-q", url, ".")
	return dir
}

// Commit acts as someone else: it clones url, applies files (path →
// content; content "" deletes the file), commits them with msg and pushes to
// the cloned branch (main for an empty repository). It returns the new
// commit hash.
func Commit(t testing.TB, url string, files map[string]string, msg string) string {
	t.Helper()
	dir := Clone(t, url)
	writeFiles(t, dir, files)
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	Git(t, dir, "push", "-q", "origin", "HEAD")
	return Git(t, dir, "rev-parse", "HEAD")
}

// writeFiles applies files to the working tree dir in path order; an empty
// content removes the file.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if files[p] == "" {
			if err := os.Remove(full); err != nil && !os.IsNotExist(err) {
				t.Fatalf("remove %s: %v", p, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatalf("mkdir for %s: %v", p, err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
	}
}

// isolatedEnv keeps the user's and the system's git configuration out of the
// helpers and fixes the identity of commits.
// An empty home keeps the caller's HOME.
func isolatedEnv(home string) []string {
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Someone Else",
		"GIT_AUTHOR_EMAIL=someone@example.com",
		"GIT_COMMITTER_NAME=Someone Else",
		"GIT_COMMITTER_EMAIL=someone@example.com",
	}
	if home != "" {
		env = append(env, "HOME="+home)
	}
	return env
}

func lookGit(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git not found in PATH: install git (apt-get install git) to run these tests: %v", err)
	}
	return p
}

// WriteBlob stores what content yields as a blob in the repository (bare or
// not) at dir, with `git hash-object -w --stdin`, and returns its hash.
// Content is streamed: a large blob costs the test process no memory.
func WriteBlob(t testing.TB, dir string, content io.Reader) string {
	t.Helper()
	return gitInput(t, dir, content, "hash-object", "-w", "--stdin")
}

// CommitTree commits, on top of branch main of the repository at dir (bare or
// not; its working tree is not touched), main's tree changed by files:
// slash-separated path → blob hash (from WriteBlob), or "<mode> <hash>" for
// another mode than 100644 ("120000 <hash>" makes a symbolic link to the
// blob's content), "" removing the path. It
// builds the trees with plumbing (`git mktree`), which checks nothing, so
// that a test can make what `git add` refuses: a component "..", ".git", or
// one holding backslashes or control characters. Paths are split at "/"
// only. It returns the new commit hash.
func CommitTree(t testing.TB, dir string, files map[string]string, msg string) string {
	t.Helper()
	parent := Git(t, dir, "rev-parse", "--verify", "-q", "refs/heads/main^{commit}")
	root := &treeNode{kids: map[string]*treeNode{}}
	listing := Git(t, dir, "ls-tree", "-r", "-z", "--full-tree", parent)
	for _, rec := range strings.Split(listing, "\x00") {
		if rec == "" {
			continue
		}
		meta, name, ok := strings.Cut(rec, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			t.Fatalf("ls-tree: unexpected line %q", rec)
		}
		root.put(t, strings.Split(name, "/"), f[0], f[1], f[2])
	}
	for p, h := range files {
		if h == "" {
			root.remove(strings.Split(p, "/"))
			continue
		}
		mode := "100644"
		if m, hash, ok := strings.Cut(h, " "); ok {
			mode, h = m, hash
		}
		root.put(t, strings.Split(p, "/"), mode, "blob", h)
	}
	tree := root.write(t, dir)
	if tree == "" {
		tree = gitInput(t, dir, strings.NewReader(""), "mktree", "-z")
	}
	commit := Git(t, dir, "commit-tree", tree, "-p", parent, "-m", msg)
	Git(t, dir, "update-ref", "refs/heads/main", commit, parent)
	return commit
}

// treeNode is a tree being built by CommitTree: a leaf (mode, type, hash) or
// a folder (kids).
type treeNode struct {
	mode, typ, hash string
	kids            map[string]*treeNode
}

func (n *treeNode) put(t testing.TB, parts []string, mode, typ, hash string) {
	t.Helper()
	for _, part := range parts[:len(parts)-1] {
		k := n.kids[part]
		if k == nil || k.kids == nil {
			k = &treeNode{kids: map[string]*treeNode{}}
			n.kids[part] = k
		}
		n = k
	}
	n.kids[parts[len(parts)-1]] = &treeNode{mode: mode, typ: typ, hash: hash}
}

func (n *treeNode) remove(parts []string) {
	for _, part := range parts[:len(parts)-1] {
		if n = n.kids[part]; n == nil || n.kids == nil {
			return
		}
	}
	delete(n.kids, parts[len(parts)-1])
}

// write stores the folder n with `git mktree -z` and returns its hash, or ""
// when n holds no file: git keeps no empty folders (the top one excepted).
func (n *treeNode) write(t testing.TB, dir string) string {
	t.Helper()
	names := make([]string, 0, len(n.kids))
	for name := range n.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	var in bytes.Buffer
	for _, name := range names {
		k := n.kids[name]
		if k.kids == nil {
			fmt.Fprintf(&in, "%s %s %s\t%s\x00", k.mode, k.typ, k.hash, name)
		} else if h := k.write(t, dir); h != "" {
			fmt.Fprintf(&in, "040000 tree %s\t%s\x00", h, name)
		}
	}
	if in.Len() == 0 {
		return ""
	}
	return gitInput(t, dir, &in, "mktree", "-z")
}
