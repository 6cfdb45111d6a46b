package gitops

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

const remoteName = "origin"

// Client is one fabric's clone: one remote branch mirrored in one local
// directory.
//
// A Client is not safe for concurrent use, and neither is a clone directory:
// callers serialize every operation on one Dir (one Client per Dir, one
// operation at a time). A Client starts no goroutines that outlive a call.
type Client struct {
	cfg       Config
	ep        *transport.Endpoint // credential-free
	branch    plumbing.ReferenceName
	tracking  plumbing.ReferenceName // refs/remotes/origin/<branch>
	fetchSpec string
	secrets   []string           // scrubbed from every error
	held      *heldAdvertisement // RemoteHead's look over HTTP, for the next SyncAt (held.go)
	own       ownObjects         // what our commits wrote, until the push that sends it (ownpack.go)
	sentKept  int                // objects the last push sent from own (for tests)
}

// New validates cfg and returns a Client for it. It does no I/O beyond cheap
// checks (reading the SSH key file). A bad cfg gives an error wrapping
// ErrInvalidConfig.
func New(cfg Config) (*Client, error) {
	cfg, ep, err := normalize(cfg)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	branch := plumbing.NewBranchReferenceName(cfg.Branch)
	tracking := plumbing.NewRemoteReferenceName(remoteName, cfg.Branch)
	return &Client{
		cfg:       cfg,
		ep:        ep,
		branch:    branch,
		tracking:  tracking,
		fetchSpec: fmt.Sprintf("+%s:%s", branch, tracking),
		secrets:   secrets(cfg.Auth),
	}, nil
}

// secrets lists what must never appear in an error: the password or token,
// the key passphrase, and a user name that is really a token.
func secrets(a Auth) []string {
	s := []string{a.Password, a.SSHKeyPassphrase}
	if looksLikeToken(a.Username) {
		s = append(s, a.Username)
	}
	return s
}

// keepSecret adds a minted token to what errors are scrubbed of.
func (c *Client) keepSecret(s string) {
	if s != "" && !slices.Contains(c.secrets, s) {
		c.secrets = append(c.secrets, s)
	}
}

// Dir returns the clone's working tree directory (absolute).
func (c *Client) Dir() string { return c.cfg.Dir }

// URL returns the remote URL as the clone records it: credentials removed,
// local paths made absolute. It is safe to print.
func (c *Client) URL() string { return Redact(c.cfg.URL) }

// Branch returns the branch the client mirrors.
func (c *Client) Branch() string { return c.cfg.Branch }

// opContext bounds one network operation by the configured Timeout.
func (c *Client) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.cfg.Timeout)
}

func (c *Client) signature() *object.Signature {
	return &object.Signature{Name: c.cfg.Author.Name, Email: c.cfg.Author.Email, When: time.Now()}
}

// streamThreshold is the blob size above which this package streams a blob
// between the object store and the disk instead of reading it whole, so that
// a large file costs a buffer, not its size, in memory.
const streamThreshold = 1 << 20

// objectCacheSize bounds go-git's cache of decoded objects (its default is
// 96 MiB). A checkout reads each tree once and streams large blobs, so a
// small cache costs little time and keeps a clone's memory bounded.
const objectCacheSize = 8 * cache.MiByte

// openRepo opens the clone in Dir with our storage options: blobs over
// streamThreshold are read as streams, pack files stay open for the many
// size look-ups of a checkout, and fetched packs are indexed by pack.go.
// The caller calls close when done.
func (c *Client) openRepo() (repo *git.Repository, close func(), err error) {
	dot := osfs.New(filepath.Join(c.cfg.Dir, git.GitDirName))
	if _, err := dot.Stat(""); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, git.ErrRepositoryNotExists
		}
		return nil, nil, err
	}
	st := filesystem.NewStorageWithOptions(idxFS{dot}, cache.NewObjectLRU(objectCacheSize), filesystem.Options{
		LargeObjectThreshold: streamThreshold,
		KeepDescriptors:      true,
	})
	repo, err = git.Open(packStorage{st, c.cfg.MaxObjects}, osfs.New(c.cfg.Dir))
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	// Closing releases file descriptors only; there is nothing to flush.
	return repo, func() { _ = st.Close() }, nil
}

// open opens the clone in Dir and checks that it is one of ours, for the
// configured remote and branch, and readable. It returns nil when Dir holds no
// usable clone (missing, corrupt, or for another URL or branch); otherwise the
// caller calls close when done.
func (c *Client) open() (repo *git.Repository, close func()) {
	repo, closeRepo, err := c.openRepo()
	if err != nil {
		return nil, nil
	}
	if !c.usable(repo) {
		closeRepo()
		return nil, nil
	}
	return repo, closeRepo
}

func (c *Client) usable(repo *git.Repository) bool {
	rc, err := repo.Remote(remoteName)
	if err != nil {
		return false
	}
	conf := rc.Config()
	if len(conf.URLs) != 1 || conf.URLs[0] != c.cfg.URL ||
		len(conf.Fetch) != 1 || conf.Fetch[0].String() != c.fetchSpec {
		return false
	}
	// HEAD must be readable; it is re-pointed at the branch on reset.
	if _, err := repo.Storer.Reference(plumbing.HEAD); err != nil {
		return false
	}
	ref, err := repo.Storer.Reference(c.branch)
	if err != nil {
		return false
	}
	commit, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return false
	}
	if _, err := commit.Tree(); err != nil {
		return false
	}
	return indexIntact(filepath.Join(c.cfg.Dir, git.GitDirName, "index"))
}

// idxFS is a clone's .git folder whose pack index files read through a
// buffer. go-git decodes every index file of the clone when it first looks
// an object up, with reads of 4 bytes each straight from the file (256 for
// the fan-out table alone): a system call each, a fifth of a Sync's time
// after 30 fetches had left 31 packs.
type idxFS struct{ billy.Filesystem }

// Open opens name, through a buffer when it is a pack index.
func (fs idxFS) Open(name string) (billy.File, error) {
	f, err := fs.Filesystem.Open(name)
	if err != nil || !strings.HasSuffix(name, ".idx") {
		return f, err
	}
	return &bufferedFile{File: f, r: bufio.NewReaderSize(f, 32<<10), stat: func() (os.FileInfo, error) { return fs.Stat(name) }}, nil
}

// bufferedFile is a file read in sequence through a buffer.
type bufferedFile struct {
	billy.File
	r    *bufio.Reader
	stat func() (os.FileInfo, error)
}

func (f *bufferedFile) Read(p []byte) (int, error) { return f.r.Read(p) }

// Stat is what go-git's index decoder asks of a file to check its size.
func (f *bufferedFile) Stat() (os.FileInfo, error) { return f.stat() }

// indexIntact checks the index file's signature and trailing SHA-1 checksum,
// a fraction of the cost of decoding its entries. A clone may have no index
// (a checkout of an empty tree).
func indexIntact(name string) bool {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil || len(b) < 12+sha1.Size || string(b[:4]) != "DIRC" {
		return false
	}
	sum := sha1.Sum(b[:len(b)-sha1.Size])
	return bytes.Equal(sum[:], b[len(b)-sha1.Size:])
}
