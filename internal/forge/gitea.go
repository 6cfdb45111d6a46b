package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"code.gitea.io/sdk/gitea"

	"github.com/fabsync/fabsync/internal/tasks"
)

// gitea is a tasks.Forge on Gitea or Forgejo (REST API v1).
type giteaForge struct {
	base        string // the server's root URL; the SDK adds /api/v1
	hc          *http.Client
	owner, repo string
}

// giteaPages bounds how many pages of pull requests (of giteaPageSize) a lookup reads.
const (
	giteaPages    = 10
	giteaPageSize = 50
)

func newGitea(cfg Config, t target) (*giteaForge, error) {
	u := *t.apiURL
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v1")
	owner, repo, _ := strings.Cut(t.project, "/")
	return &giteaForge{
		base:  strings.TrimSuffix(u.String(), "/"),
		hc:    cfg.httpClient(t.apiURL.Host, "token"),
		owner: owner, repo: repo,
	}, nil
}

// client returns an SDK client for one call: the SDK takes its context per client. Setting
// no server version keeps it from asking for one (Forgejo's versions do not parse as Gitea's).
func (g *giteaForge) client(ctx context.Context) (*gitea.Client, error) {
	c, err := gitea.NewClient(g.base, gitea.SetHTTPClient(g.hc), gitea.SetContext(ctx),
		gitea.SetGiteaVersion(""), gitea.SetUserAgent("fabsync"))
	if err != nil {
		return nil, fmt.Errorf("gitea %s/%s: client: %s", g.owner, g.repo, err.Error())
	}
	return c, nil
}

// EnsurePullRequest looks for the open pull request from spec.Head into spec.Base, else the
// newest closed one (the list endpoint has no head filter: it pages through
// GET /repos/{owner}/{repo}/pulls?state=open, then state=closed, newest first, and filters).
func (g *giteaForge) EnsurePullRequest(ctx context.Context, spec tasks.PullRequestSpec) (*tasks.PullRequest, error) {
	c, err := g.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, err := g.find(c, gitea.StateOpen, spec)
	if err == nil && pr == nil {
		pr, err = g.find(c, gitea.StateClosed, spec)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case pr == nil || pr.HasMerged && spec.Reopen: // a new change after a merge is a new pull request
		created, resp, err := c.CreatePullRequest(g.owner, g.repo, gitea.CreatePullRequestOption{
			Head: spec.Head, Base: spec.Base, Title: spec.Title, Body: spec.Body,
		})
		if err != nil {
			return nil, g.fail("create pull request", resp, err)
		}
		return g.result(created, "open", true), nil
	case pr.State == gitea.StateOpen:
		if pr.Title != spec.Title || pr.Body != spec.Body {
			updated, resp, err := c.EditPullRequest(g.owner, g.repo, pr.Index, gitea.EditPullRequestOption{
				Title: spec.Title, Body: &spec.Body,
			})
			if err != nil {
				return nil, g.fail("update pull request", resp, err)
			}
			pr = updated
		}
		return g.result(pr, "open", false), nil
	case pr.HasMerged:
		return g.result(pr, "merged", false), nil
	case !spec.Reopen:
		return g.result(pr, "closed", false), nil
	}
	open := gitea.StateOpen
	updated, resp, err := c.EditPullRequest(g.owner, g.repo, pr.Index, gitea.EditPullRequestOption{
		Title: spec.Title, Body: &spec.Body, State: &open,
	})
	if err != nil {
		return nil, g.fail("reopen pull request", resp, err)
	}
	return g.result(updated, "open", false), nil
}

// find returns the newest pull request in state from spec.Head into spec.Base, in this
// repository (not from a fork), or nil.
func (g *giteaForge) find(c *gitea.Client, state gitea.StateType, spec tasks.PullRequestSpec) (*gitea.PullRequest, error) {
	for page := 1; page <= giteaPages; page++ {
		prs, resp, err := c.ListRepoPullRequests(g.owner, g.repo, gitea.ListPullRequestsOptions{
			ListOptions: gitea.ListOptions{Page: page, PageSize: giteaPageSize},
			State:       state,
		})
		if err != nil {
			return nil, g.fail("list pull requests", resp, err)
		}
		for _, pr := range prs {
			if pr.Head == nil || pr.Base == nil || pr.Head.Ref != spec.Head || pr.Base.Ref != spec.Base {
				continue
			}
			if pr.Head.RepoID != 0 && pr.Base.RepoID != 0 && pr.Head.RepoID != pr.Base.RepoID {
				continue // from a fork
			}
			return pr, nil
		}
		if len(prs) == 0 || resp == nil || resp.NextPage == 0 {
			break
		}
	}
	return nil, nil
}

func (g *giteaForge) result(pr *gitea.PullRequest, state string, created bool) *tasks.PullRequest {
	return &tasks.PullRequest{Provider: TypeGitea, URL: pr.HTMLURL, Number: int(pr.Index), State: state, Created: created}
}

// SetStatus creates a commit status (POST /repos/{owner}/{repo}/statuses/{sha}).
func (g *giteaForge) SetStatus(ctx context.Context, st tasks.CommitStatus) error {
	var state gitea.StatusState
	switch st.State {
	case tasks.StatusSuccess:
		state = gitea.StatusSuccess
	case tasks.StatusFailure:
		state = gitea.StatusFailure
	case tasks.StatusPending:
		state = gitea.StatusPending
	default:
		return fmt.Errorf("gitea %s/%s: set status: unknown state %q", g.owner, g.repo, st.State)
	}
	c, err := g.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.CreateStatus(g.owner, g.repo, st.Commit, gitea.CreateStatusOption{
		State:       state,
		TargetURL:   st.TargetURL,
		Description: truncate(st.Description, descriptionLimit),
		Context:     st.Context,
	})
	if err != nil {
		return g.fail("set status", resp, err)
	}
	return nil
}

// fail translates an SDK error. The SDK's message is the forge's message alone, so the
// HTTP status is added to it.
func (g *giteaForge) fail(op string, resp *gitea.Response, err error) error {
	var hr *http.Response
	if resp != nil && resp.Response != nil {
		hr = resp.Response
		err = fmt.Errorf("%s: %s", hr.Status, err.Error())
	}
	return fmt.Errorf("gitea %s/%s: %s: %w", g.owner, g.repo, op, apiError(hr, err))
}
