package gitops

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// Defaults for the zero values of Config.
const (
	DefaultBranch      = "main"
	DefaultTimeout     = 2 * time.Minute
	DefaultAuthorName  = "fabsync"
	DefaultAuthorEmail = "fabsync@localhost"
	// DefaultMaxObjects is the Config.MaxObjects of a zero Config: with
	// ≈300 bytes of memory an object while a fetched pack is indexed and
	// the tree checked out (docs/benchmarks-gitops.md), 150,000 objects stay
	// under 64 MiB. A full-history clone of the benchmark repository (5,000
	// commits over 2,000 files) is 42,000 objects; a depth-50 clone of it,
	// 2,300.
	DefaultMaxObjects = 150_000
	// DefaultHTTPUser is the basic-auth user sent with a token when
	// Auth.Username is empty; GitHub accepts any user with a token.
	DefaultHTTPUser = "x-access-token"
)

// RecommendedDepth is the Config.Depth the worker should use. A shallow
// single-branch clone is the fastest first clone (a depth-50 clone of the
// 5,000-commit benchmark repository takes a third of the time of a full
// one, with 6 MiB of heap against 13-16 MiB; see docs/benchmarks-gitops.md),
// while 50 commits are plenty to push a commit on top and to find a job's
// trailer with FindTrailer(…, RecommendedDepth). Later fetches add the new
// commits to the local history, so it only grows from there.
const RecommendedDepth = 50

// Auth holds resolved credentials. The caller reads environment variables
// and secret files; gitops never reads the environment.
type Auth struct {
	Username string // HTTPS basic-auth user; with only Password set, defaults to "x-access-token" (works for GitHub tokens)
	Password string // HTTPS token or password

	SSHKeyFile            string // path to a private key for ssh:// and git@host:path remotes; required for them
	SSHKeyPassphrase      string // passphrase of SSHKeyFile, if it is encrypted
	KnownHostsFile        string // known_hosts file; required for SSH unless InsecureIgnoreHostKey
	InsecureIgnoreHostKey bool   // explicit opt-out of host key checking; the caller logs it

	// TokenSource, when set, mints the HTTPS password for each network
	// operation (a GitHub App installation token, say), sent with Username
	// or DefaultHTTPUser; it wins over Password. Its error fails the
	// operation, wrapped. Minted tokens are scrubbed from errors like
	// Password [nil: use Password].
	TokenSource func(ctx context.Context) (string, error)

	// SigningKey signs every commit the Client makes (an OpenPGP or SSH
	// signature in the gpgsig header; see SigningKey) [nil: unsigned].
	// Read it once with ReadSigningKey and share it between Clients.
	SigningKey *SigningKey
}

// Signature is a commit author.
type Signature struct{ Name, Email string }

// Config describes one clone. Zero values take the defaults in brackets.
type Config struct {
	// URL of the remote: https://, http://, ssh://, git@host:path, file://
	// or a local path. Credentials in an http(s) URL are moved into Auth
	// (unless Auth already has some) and never stored in the clone.
	URL    string
	Branch string // [main]
	Dir    string // local clone directory, created if missing; required
	Auth   Auth
	// Depth of history to fetch: 0 is the whole history of the branch, N > 0
	// a shallow clone of the last N commits. Use RecommendedDepth. Whatever
	// the depth, a clone or fetch of more than MaxObjects objects is
	// refused (ErrRepoTooLarge).
	Depth   int
	Author  Signature     // [fabsync <fabsync@localhost>]
	Timeout time.Duration // per network operation (clone, fetch, push) [2m]

	// Path is the fabric folder: the slash-separated folder of the
	// repository this client serves ["" or ".": the whole repository]. A
	// repository may hold many fabric folders; what is wrong outside Path
	// must not stop this one. So Sync checks out all it safely can, by
	// rules that depend on Paths and MaxFileSize only (so that every fabric
	// sharing the clone sees the same working tree), and fails only for the
	// problems it found inside Path:
	//   - an entry with a bad name (see ErrBadPath) inside one of Paths is
	//     left out of the working tree and recorded as a problem; outside
	//     every one of Paths it is left out silently. Either way it is kept
	//     unchanged, byte for byte, in every commit this client makes.
	//   - a file over MaxFileSize in the raw/ folder of one of Paths is
	//     left out and recorded as a problem (see ErrFileTooLarge); outside
	//     every one of Paths it is left out silently and its content is
	//     never read; elsewhere inside one of Paths it is checked out,
	//     streamed to disk, never held in memory whole.
	// A recorded problem inside Path fails this client's Sync (a
	// *TreeError); one inside another fabric's folder fails only that
	// fabric's Sync, even when it shares the clone and its Sync has nothing
	// new to check out (the problems are kept with the checkout's state).
	Path string
	// Paths are the fabric folders of every fabric that shares this clone
	// (Dir), one Client each, as slash-separated folders cleaned and checked
	// like Path; Path is added when missing [empty: just Path]. They decide
	// what Sync checks out (see Path): all the Clients of one clone must be
	// given the same Paths (and MaxFileSize), or each Sync of a Client
	// after another's checks the tree out again under its own rules. When
	// one folder is inside another ("." and "fab-1"), inside one of Paths
	// means inside any of them, and a raw/ folder is the raw/ folder of any
	// of them.
	Paths []string
	// MaxFileSize is the largest file, in bytes, Sync accepts in the raw/
	// folders of Paths and checks out outside Paths [0: no limit]. Pass the
	// limit of whatever reads raw/, so that an oversized file fails the job
	// at once, naming it, instead of being downloaded into the working tree
	// and rejected later.
	MaxFileSize int64
	// MaxObjects is the most objects one clone or fetch may bring
	// [DefaultMaxObjects]. A pack over it is refused from its header, before
	// it is downloaded, with an error wrapping ErrRepoTooLarge: a
	// full-history clone (Depth 0) of a large repository fails this way
	// instead of growing without bound. Memory grows with it, ≈300 bytes an
	// object.
	MaxObjects int
}

// normalize validates cfg and fills in its defaults. It returns the URL to
// hand to go-git (never with credentials in it).
func normalize(cfg Config) (Config, *transport.Endpoint, error) {
	bad := func(format string, args ...any) (Config, *transport.Endpoint, error) {
		return Config{}, nil, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
	cfg.URL = strings.TrimSpace(cfg.URL)
	if cfg.URL == "" {
		return bad("empty repository URL")
	}
	if cfg.Branch == "" {
		cfg.Branch = DefaultBranch
	}
	if err := plumbing.NewBranchReferenceName(cfg.Branch).Validate(); err != nil || strings.HasPrefix(cfg.Branch, "refs/") {
		return bad("bad branch name %q", cfg.Branch)
	}
	if cfg.Dir == "" {
		return bad("no clone directory")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return bad("clone directory %q: %v", cfg.Dir, err)
	}
	cfg.Dir = dir
	if cfg.Depth < 0 {
		return bad("negative depth %d", cfg.Depth)
	}
	if cfg.MaxObjects < 0 {
		return bad("negative MaxObjects %d", cfg.MaxObjects)
	}
	if cfg.MaxObjects == 0 {
		cfg.MaxObjects = DefaultMaxObjects
	}
	if cfg.MaxFileSize < 0 {
		return bad("negative MaxFileSize %d", cfg.MaxFileSize)
	}
	p, err := cleanPath(cfg.Path)
	if err != nil {
		return bad("fabric folder: %v", err)
	}
	cfg.Path = p
	paths := []string{p}
	for _, fp := range cfg.Paths {
		c, err := cleanPath(fp)
		if err != nil {
			return bad("fabric folder in Paths: %v", err)
		}
		paths = append(paths, c)
	}
	slices.Sort(paths)
	cfg.Paths = slices.Compact(paths)
	if cfg.Timeout < 0 {
		return bad("negative timeout %v", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Author.Name == "" {
		cfg.Author.Name = DefaultAuthorName
	}
	if cfg.Author.Email == "" {
		cfg.Author.Email = DefaultAuthorEmail
	}

	if strings.Contains(cfg.URL, "://") {
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return bad("repository URL %s: cannot parse", Redact(cfg.URL))
		}
		switch u.Scheme {
		case "http", "https":
			if u.User != nil {
				if cfg.Auth.Username == "" && cfg.Auth.Password == "" {
					cfg.Auth.Username = u.User.Username()
					cfg.Auth.Password, _ = u.User.Password()
				}
				u.User = nil
			}
		case "ssh":
			if _, ok := u.User.Password(); ok {
				u.User = url.User(u.User.Username())
			}
		case "file", "git":
		default:
			return bad("repository URL %s: unsupported scheme %q", Redact(cfg.URL), u.Scheme)
		}
		if u.Host == "" && u.Scheme != "file" {
			return bad("repository URL %s: no host", Redact(cfg.URL))
		}
		cfg.URL = u.String()
	}
	ep, err := transport.NewEndpoint(cfg.URL)
	if err != nil {
		return bad("repository URL %s: %v", Redact(cfg.URL), err)
	}
	if ep.Protocol == "file" && !strings.Contains(cfg.URL, "://") {
		abs, err := filepath.Abs(cfg.URL)
		if err != nil {
			return bad("repository path %s: %v", cfg.URL, err)
		}
		cfg.URL = abs
		if ep, err = transport.NewEndpoint(abs); err != nil {
			return bad("repository path %s: %v", cfg.URL, err)
		}
	}
	if ep.Protocol == "ssh" {
		if cfg.Auth.SSHKeyFile == "" {
			return bad("SSH remote %s needs an SSH key file", cfg.URL)
		}
		if cfg.Auth.KnownHostsFile == "" && !cfg.Auth.InsecureIgnoreHostKey {
			return bad("SSH remote %s needs a known_hosts file (or InsecureIgnoreHostKey)", cfg.URL)
		}
		if _, err := readSigner(cfg.Auth); err != nil {
			return Config{}, nil, err
		}
		if cfg.Auth.KnownHostsFile != "" {
			if _, err := os.Stat(cfg.Auth.KnownHostsFile); err != nil {
				return bad("known_hosts file: %v", err)
			}
		}
	}
	return cfg, ep, nil
}

// cleanPath validates Config.Path (or one of Paths) and returns it as a clean slash path, "."
// for the whole repository.
func cleanPath(p string) (string, error) {
	if p == "" || p == "." || p == "/" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) {
		return "", fmt.Errorf("%q must be a relative slash-separated path inside the repository", p)
	}
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("%q leaves the repository", p)
		}
	}
	c := path.Clean(p)
	for _, part := range strings.Split(c, "/") {
		if why := badName(part); why != "" && part != "." {
			return "", fmt.Errorf("%q: %s", p, why)
		}
	}
	return c, nil
}

// readSigner loads the SSH private key named by a.
func readSigner(a Auth) (ssh.Signer, error) {
	pem, err := os.ReadFile(a.SSHKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: SSH key file: %s", ErrInvalidConfig, opaque(err))
	}
	var signer ssh.Signer
	if a.SSHKeyPassphrase != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(a.SSHKeyPassphrase))
	} else {
		signer, err = ssh.ParsePrivateKey(pem)
	}
	if err != nil {
		// The parser's messages never include the key or the passphrase.
		return nil, fmt.Errorf("%w: SSH key file %s: %s", ErrInvalidConfig, a.SSHKeyFile, opaque(err))
	}
	return signer, nil
}

// sshAuth bounds the TCP connect of an SSH transport, which go-git does not
// tie to the operation's context, by the time the operation has left.
type sshAuth struct {
	*gitssh.PublicKeys
	timeout time.Duration
}

func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = a.timeout
	return cfg, nil
}

// authMethod builds the go-git credentials for one operation bounded by ctx.
// SSH keys and known_hosts are read again each time so that rotated files
// take effect.
func (c *Client) authMethod(ctx context.Context) (transport.AuthMethod, error) {
	a := c.cfg.Auth
	switch c.ep.Protocol {
	case "http", "https":
		password := a.Password
		if a.TokenSource != nil {
			tok, err := a.TokenSource(ctx)
			if err != nil {
				return nil, fmt.Errorf("mint a token: %w", err)
			}
			c.keepSecret(tok)
			password = tok
		}
		if a.Username == "" && password == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = DefaultHTTPUser
		}
		return &githttp.BasicAuth{Username: user, Password: password}, nil
	case "ssh":
		signer, err := readSigner(a)
		if err != nil {
			return nil, err
		}
		user := c.ep.User
		if user == "" {
			user = "git"
		}
		pk := &gitssh.PublicKeys{User: user, Signer: signer}
		timeout := c.cfg.Timeout
		if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
			timeout = max(time.Until(d), time.Millisecond)
		}
		if a.InsecureIgnoreHostKey {
			pk.HostKeyCallback = ssh.InsecureIgnoreHostKey() //nolint:gosec // explicit opt-out, logged by the caller
			return &sshAuth{pk, timeout}, nil
		}
		db, err := gitssh.NewKnownHostsDb(a.KnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("%w: known_hosts file: %s", ErrInvalidConfig, opaque(err))
		}
		pk.HostKeyCallback = db.HostKeyCallback()
		// Offer only the host key types known_hosts holds for this host, so
		// that a server preferring another type is not taken for a mismatch.
		pk.HostKeyAlgorithms = db.HostKeyAlgorithms(c.host())
		return &sshAuth{pk, timeout}, nil
	}
	return nil, nil
}

// host returns the remote's host:port for messages and known_hosts look-ups.
func (c *Client) host() string {
	port := c.ep.Port
	if port <= 0 {
		switch c.ep.Protocol {
		case "ssh":
			port = 22
		case "https":
			port = 443
		case "http":
			port = 80
		}
	}
	if port <= 0 {
		return c.ep.Host
	}
	return net.JoinHostPort(c.ep.Host, strconv.Itoa(port))
}
