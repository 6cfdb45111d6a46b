package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/fabsync/fabsync/internal/tasks"
)

// gitHub is a tasks.Forge on GitHub or GitHub Enterprise Server (REST API v3).
type gitHub struct {
	c           *github.Client
	owner, repo string
}

func newGitHub(cfg Config, t target) (*gitHub, error) {
	c := github.NewClient(cfg.httpClient(t.apiURL.Host, "Bearer"))
	base := *t.apiURL
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	c.BaseURL = &base
	c.UserAgent = "fabsync"
	owner, repo, _ := strings.Cut(t.project, "/")
	return &gitHub{c: c, owner: owner, repo: repo}, nil
}

// EnsurePullRequest lists the pull requests from spec.Head into spec.Base, newest first
// (GET /repos/{owner}/{repo}/pulls?head=owner:branch&base=...&state=all), and acts on the
// open one, else on the newest.
func (g *gitHub) EnsurePullRequest(ctx context.Context, spec tasks.PullRequestSpec) (*tasks.PullRequest, error) {
	prs, _, err := g.c.PullRequests.List(ctx, g.owner, g.repo, &github.PullRequestListOptions{
		State:       "all",
		Head:        g.owner + ":" + spec.Head,
		Base:        spec.Base,
		Sort:        "created",
		Direction:   "desc",
		ListOptions: github.ListOptions{PerPage: 20},
	})
	if err != nil {
		return nil, g.fail("list pull requests", err)
	}
	var pr *github.PullRequest
	for _, p := range prs {
		if p.GetState() == "open" {
			pr = p
			break
		}
	}
	if pr == nil && len(prs) > 0 {
		pr = prs[0]
	}
	switch {
	case pr == nil:
		return g.create(ctx, spec)
	case pr.GetState() == "open":
		if pr.GetTitle() != spec.Title || pr.GetBody() != spec.Body {
			if pr, _, err = g.c.PullRequests.Edit(ctx, g.owner, g.repo, pr.GetNumber(), &github.PullRequest{
				Title: github.Ptr(spec.Title), Body: github.Ptr(spec.Body),
			}); err != nil {
				return nil, g.fail("update pull request", err)
			}
		}
		return g.result(pr, "open", false), nil
	case pr.MergedAt != nil || pr.GetMerged():
		// The list endpoint sets merged_at, not merged. A new change after the merge is a new
		// pull request.
		if spec.Reopen {
			return g.create(ctx, spec)
		}
		return g.result(pr, "merged", false), nil
	case !spec.Reopen:
		return g.result(pr, "closed", false), nil
	}
	reopened, _, err := g.c.PullRequests.Edit(ctx, g.owner, g.repo, pr.GetNumber(), &github.PullRequest{
		State: github.Ptr("open"), Title: github.Ptr(spec.Title), Body: github.Ptr(spec.Body),
	})
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
		// GitHub refuses to reopen a pull request whose head branch was force-pushed or
		// recreated since it was closed, which is how fabsync updates its branch: open a new one.
		return g.create(ctx, spec)
	}
	if err != nil {
		return nil, g.fail("reopen pull request", err)
	}
	return g.result(reopened, "open", false), nil
}

func (g *gitHub) create(ctx context.Context, spec tasks.PullRequestSpec) (*tasks.PullRequest, error) {
	pr, _, err := g.c.PullRequests.Create(ctx, g.owner, g.repo, &github.NewPullRequest{
		Title: github.Ptr(spec.Title),
		Head:  github.Ptr(spec.Head),
		Base:  github.Ptr(spec.Base),
		Body:  github.Ptr(spec.Body),
	})
	if err != nil {
		return nil, g.fail("create pull request", err)
	}
	return g.result(pr, "open", true), nil
}

func (g *gitHub) result(pr *github.PullRequest, state string, created bool) *tasks.PullRequest {
	return &tasks.PullRequest{Provider: TypeGitHub, URL: pr.GetHTMLURL(), Number: pr.GetNumber(), State: state, Created: created}
}

// SetStatus creates a commit status (POST /repos/{owner}/{repo}/statuses/{sha}).
func (g *gitHub) SetStatus(ctx context.Context, st tasks.CommitStatus) error {
	switch st.State {
	case tasks.StatusSuccess, tasks.StatusFailure, tasks.StatusPending:
	default:
		return fmt.Errorf("github %s/%s: set status: unknown state %q", g.owner, g.repo, st.State)
	}
	s := &github.RepoStatus{
		State:       github.Ptr(st.State),
		Description: github.Ptr(truncate(st.Description, descriptionLimit)),
		Context:     github.Ptr(st.Context),
	}
	if st.TargetURL != "" {
		s.TargetURL = github.Ptr(st.TargetURL)
	}
	if _, _, err := g.c.Repositories.CreateStatus(ctx, g.owner, g.repo, st.Commit, s); err != nil {
		return g.fail("set status", err)
	}
	return nil
}

// fail translates a go-github error, naming the operation and the repository.
func (g *gitHub) fail(op string, err error) error {
	return fmt.Errorf("github %s/%s: %s: %w", g.owner, g.repo, op, gitHubError(err))
}

func gitHubError(err error) error {
	var rle *github.RateLimitError
	if errors.As(err, &rle) {
		return &RateLimitError{RetryAfter: max(time.Until(rle.Rate.Reset.Time), 0), Err: errors.New(err.Error())}
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		d := defaultRetryAfter
		if abuse.RetryAfter != nil {
			d = max(*abuse.RetryAfter, 0)
		}
		return &RateLimitError{RetryAfter: d, Err: errors.New(err.Error())}
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		if er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity {
			// A missing head or base branch: 422 {"message":"Validation Failed",
			// "errors":[{"resource":"PullRequest","field":"head","code":"invalid"}]}.
			for _, e := range er.Errors {
				if (e.Field == "head" || e.Field == "base") && e.Code == "invalid" {
					return fmt.Errorf("%w: %s", ErrNotFound, err.Error())
				}
			}
		}
		return apiError(er.Response, err)
	}
	return apiError(nil, err)
}
