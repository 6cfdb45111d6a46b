package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Sentinel errors callers branch on with errors.Is. Every error returned by
// this package is wrapped with a short operation prefix, as in
// "fetch main: authentication failed".
var (
	// ErrAuth reports that the remote rejected the credentials or needs
	// some, or that an SSH host key is unknown or does not match
	// known_hosts. It is permanent.
	ErrAuth = errors.New("authentication failed")
	// ErrRemoteNotFound reports that the repository does not exist (or is
	// hidden from these credentials). It is permanent.
	ErrRemoteNotFound = errors.New("repository not found")
	// ErrBranchNotFound reports that the remote has no such branch,
	// including a remote repository with no commits at all. It is
	// permanent.
	ErrBranchNotFound = errors.New("branch not found")
	// ErrPushRejected reports that the remote branch moved since the last
	// Sync (a non-fast-forward). The caller Syncs again, redoes its change,
	// commits and pushes again.
	ErrPushRejected = errors.New("push rejected: remote has new commits")
	// ErrInvalidConfig reports a bad Config: an unsupported URL, a missing or
	// unreadable key file, a bad branch name and such. It is permanent.
	ErrInvalidConfig = errors.New("invalid git configuration")
	// ErrBadPath reports an entry of the remote tree, inside the fabric
	// folder (Config.Path), whose name cannot be checked out safely: an
	// empty, "." or ".." component, a backslash (a folder separator on
	// Windows), a control character, a name git reserves (".git" in any
	// case or disguise: ".GIT", "git~1", ".git " ...), a name that appears
	// twice in one folder, an unknown file mode, or a symbolic link to a
	// name longer than 4096 bytes. It comes inside a *TreeError naming the
	// entry. It is permanent until someone pushes a commit that renames or
	// removes the entry.
	ErrBadPath = errors.New("bad path in the repository")
	// ErrFileTooLarge reports a file in the fabric folder's raw/ folder (or
	// in the raw/ folder of another of Config.Paths inside it) larger than
	// Config.MaxFileSize. It comes inside a *TreeError naming
	// the file, its size and the limit. It is permanent until someone
	// pushes a commit that removes or splits the file.
	ErrFileTooLarge = errors.New("file too large")
	// ErrRepoTooLarge reports a clone or fetch that would bring more
	// objects (commits, trees, files, each version counted) than
	// Config.MaxObjects, the bound that keeps the memory of indexing them
	// under 64 MiB. It comes before the download, from the pack's header. It
	// is permanent until the configuration changes: clone shallower
	// (Config.Depth, RecommendedDepth) or raise MaxObjects.
	ErrRepoTooLarge = errors.New("repository too large to fetch")
)

// IsPermanent reports whether err wraps one of the errors that no retry can
// fix: ErrAuth, ErrRemoteNotFound, ErrBranchNotFound, ErrInvalidConfig,
// ErrBadPath, ErrFileTooLarge or ErrRepoTooLarge. Anything else (network, timeout, server
// 5xx, I/O, ErrPushRejected) is transient.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrAuth) ||
		errors.Is(err, ErrRemoteNotFound) ||
		errors.Is(err, ErrBranchNotFound) ||
		errors.Is(err, ErrInvalidConfig) ||
		errors.Is(err, ErrBadPath) ||
		errors.Is(err, ErrFileTooLarge) ||
		errors.Is(err, ErrRepoTooLarge)
}

// TreeError reports what Sync refused to check out from the remote head
// inside the fabric folder (Config.Path): an entry with a bad name (Err is
// ErrBadPath) or a raw file over Config.MaxFileSize (Err is
// ErrFileTooLarge). Sync returns it at the first attempt, after checking out
// everything else, and again at every Sync until the head changes. It names
// the first such entry of the fabric folder in tree order and counts the
// others there.
type TreeError struct {
	Commit string // the remote head holding the entry (hex)
	Path   string // the entry's path as in the tree, slash-separated
	Reason string // for ErrBadPath: what is wrong with the name
	Size   int64  // for ErrFileTooLarge: the file's size in bytes
	Limit  int64  // for ErrFileTooLarge: Config.MaxFileSize
	More   int    // how many further entries of the fabric folder have one of these problems
	Err    error  // ErrBadPath or ErrFileTooLarge
}

func (e *TreeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v in commit %.10s: %s ", e.Err, e.Commit, quotePath(e.Path))
	if errors.Is(e.Err, ErrFileTooLarge) {
		fmt.Fprintf(&b, "is %s, over the limit of %s", humanSize(e.Size), humanSize(e.Limit))
	} else {
		b.WriteString(e.Reason)
	}
	switch {
	case e.More == 1:
		b.WriteString(" (and 1 more entry)")
	case e.More > 1:
		fmt.Fprintf(&b, " (and %d more entries)", e.More)
	}
	return b.String()
}

func (e *TreeError) Unwrap() error { return e.Err }

// quotePath quotes a path from a tree for a message: in plain double quotes
// when it is printable (backslashes stay single, as the user wrote them),
// with Go escapes otherwise.
func quotePath(p string) string {
	for _, r := range p {
		if r == utf8.RuneError || r == '"' || !unicode.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return `"` + p + `"`
}

// humanSize prints a byte count for people: "8 MiB", "200.2 MiB", "512 bytes".
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n)/unit, 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// opaque returns the message of err without its chain, for wrapping an error
// from go-git (or the file system under a clone) that is not part of this
// package's API: callers branch on the sentinels above, never on go-git's
// types, so those are deliberately kept out of errors.Is and errors.As
// (STYLE §5). Wrap a sentinel or a context error with %w instead.
func opaque(err error) string { return err.Error() }

// translate turns an error from go-git (or the network below it) into this
// package's vocabulary, prefixed with op. Known causes wrap a sentinel;
// context errors stay wrapped so that errors.Is(err, context.Canceled) works;
// everything else is flattened to scrubbed text, because go-git's types are
// not part of our API and its messages may carry URLs.
func (c *Client) translate(op string, err error) error {
	if err == nil {
		return nil
	}
	detail := c.scrub(err.Error())
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	var tooLarge *packLimitError
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%s: %w", op, tooLarge)
	case errors.As(err, &keyErr):
		if len(keyErr.Want) == 0 {
			return fmt.Errorf("%s: %w: host key of %s is not in known_hosts", op, ErrAuth, c.host())
		}
		return fmt.Errorf("%s: %w: host key of %s does not match known_hosts (possible man-in-the-middle)", op, ErrAuth, c.host())
	case errors.As(err, &revoked):
		return fmt.Errorf("%s: %w: host key of %s is revoked", op, ErrAuth, c.host())
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		strings.Contains(detail, "unable to authenticate"):
		return fmt.Errorf("%s: %w", op, ErrAuth)
	case errors.Is(err, transport.ErrInvalidAuthMethod):
		return fmt.Errorf("%s: %w: credentials do not suit this remote", op, ErrInvalidConfig)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s: %w", op, ErrRemoteNotFound)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%s: %w: remote repository is empty (no commits yet)", op, ErrBranchNotFound)
	case errors.Is(err, plumbing.ErrReferenceNotFound),
		errors.Is(err, git.NoMatchingRefSpecError{}),
		strings.Contains(detail, "couldn't find remote ref"):
		return fmt.Errorf("%s: %w", op, ErrBranchNotFound)
	case isRejection(detail):
		return fmt.Errorf("%s: %w", op, ErrPushRejected)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s: %s", op, detail)
}

// isRejection recognizes a ref update the remote (or go-git's own
// pre-check) refused because the branch moved. go-git reports these as
// plain text only.
func isRejection(msg string) bool {
	for _, s := range []string{
		"non-fast-forward",
		"fetch first",
		"required to be", // RequireRemoteRefs: the remote is not where we synced it
		"failed to update ref",
		"failed to lock",
		"cannot lock ref",
		"stale info",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// isNetwork reports whether err came from the transport rather than from
// the local repository, so that Sync keeps the clone for a network blip and
// re-clones only when the local side is broken.
func isNetwork(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	var unexpected *plumbing.UnexpectedError
	return errors.As(err, &netErr) ||
		errors.As(err, &urlErr) ||
		errors.As(err, &unexpected) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "ssh:")
}

// scrub removes every credential this client knows from s.
func (c *Client) scrub(s string) string {
	for _, secret := range c.secrets {
		if secret == "" {
			continue
		}
		s = strings.ReplaceAll(s, secret, "***")
		if esc := url.QueryEscape(secret); esc != secret {
			s = strings.ReplaceAll(s, esc, "***")
		}
		if esc := url.PathEscape(secret); esc != secret {
			s = strings.ReplaceAll(s, esc, "***")
		}
	}
	return s
}

// localError marks a failure of the local clone (as opposed to the remote
// or the network): Sync answers it by re-cloning.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }
