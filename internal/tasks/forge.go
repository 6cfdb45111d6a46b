package tasks

import (
	"context"
	"errors"

	"github.com/fabsync/fabsync/internal/config"
)

// Forge is what a job needs of the forge that hosts one fabric's repository (GitHub, GitHub
// Enterprise, GitLab, Gitea, Forgejo): to open or update the fabric's one pull request, and to
// set a commit status. Package forge implements it against each forge's API; the worker hands
// it in through HandlerConfig.Forge, so that this package neither knows the forges nor does
// their I/O itself.
type Forge interface {
	// EnsurePullRequest opens a pull request from spec.Head to spec.Base, or updates the one
	// that is open from spec.Head (title and body). A closed, unmerged one is reopened only
	// when spec.Reopen is set (a new change); otherwise it is returned as it is. A merged one
	// is returned as it is (State "merged").
	EnsurePullRequest(ctx context.Context, spec PullRequestSpec) (*PullRequest, error)
	// SetStatus sets a commit status on st.Commit.
	SetStatus(ctx context.Context, st CommitStatus) error
}

// PullRequestSpec is the pull request a job wants: from the branch Head (fabsync/<fabric>) into
// the fabric's branch Base.
type PullRequestSpec struct {
	Head, Base  string
	Title, Body string
	Reopen      bool // reopen a closed, unmerged pull request (the job has a new change)
}

// PullRequest is a pull request as a job records it (Job.PullRequest). Fields may be added,
// never renamed.
type PullRequest struct {
	Provider string `json:"provider"` // "github", "gitlab" or "gitea"
	URL      string `json:"url"`      // the pull request's web page
	Number   int    `json:"number"`   // its number (GitLab: the merge request's IID)
	State    string `json:"state"`    // "open", "merged" or "closed"
	Created  bool   `json:"created"`  // this job opened it
}

// Commit status states.
const (
	StatusSuccess = "success"
	StatusFailure = "failure"
	StatusPending = "pending"
)

// CommitStatus is a status on a commit: State is StatusSuccess, StatusFailure or
// StatusPending; Context names fabsync's check ("fabsync/<fabric>"); TargetURL links to the job.
type CommitStatus struct {
	Commit, State, Description, TargetURL, Context string
}

// ForgeFactory returns the Forge of a fabric's repository, with the fabric's auth resolved
// (auth the ResolveAuth result of the fabric's auth: block). ErrNoForge says the fabric has
// none configured or inferable.
type ForgeFactory func(ctx context.Context, fab config.Fabric, auth ForgeAuth) (Forge, error)

// ForgeAuth is the secret a Forge uses for the forge's API: the fabric's token, or a source of
// GitHub App installation tokens.
type ForgeAuth struct {
	Token string
	// TokenSource, when set, mints tokens (a GitHub App installation's); it wins over Token.
	TokenSource func(ctx context.Context) (string, error)
}

// ErrNoForge is returned by a ForgeFactory for a fabric whose forge is not configured and
// cannot be inferred from its repository URL.
var ErrNoForge = errors.New("no forge configured for the fabric's repository")
