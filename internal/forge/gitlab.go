package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/fabsync/fabsync/internal/tasks"
)

// gitLab is a tasks.Forge on GitLab (REST API v4): pull requests are merge requests.
type gitLab struct {
	c       *gitlab.Client
	project string // "group/subgroup/project"; the client escapes it as one path segment
}

func newGitLab(cfg Config, t target) (*gitLab, error) {
	c, err := gitlab.NewAuthSourceClient(gitlabAuth{token: cfg.tokenFunc()},
		gitlab.WithBaseURL(t.apiURL.String()),
		gitlab.WithHTTPClient(cfg.httpClient(t.apiURL.Host, "")),
		// Retries and back-off belong to the task queue, which sees RateLimitError.
		gitlab.WithoutRetries(),
		gitlab.WithCustomLimiter(noLimit{}),
		gitlab.WithUserAgent("fabsync"),
	)
	if err != nil {
		return nil, fmt.Errorf("gitlab client: %s", err.Error())
	}
	return &gitLab{c: c, project: t.project}, nil
}

// gitlabAuth sends the token in GitLab's PRIVATE-TOKEN header, which takes personal,
// project and group access tokens.
type gitlabAuth struct{ token tokenFunc }

func (gitlabAuth) Init(context.Context, *gitlab.Client) error { return nil }

func (a gitlabAuth) Header(ctx context.Context) (string, string, error) {
	tok, err := a.token(ctx)
	if err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	return gitlab.AccessTokenHeaderName, tok, nil
}

// noLimit turns off the client's own request pacing: the forge's 429 answers, as
// RateLimitError, drive the task queue's back-off instead.
type noLimit struct{}

func (noLimit) Wait(context.Context) error { return nil }

// EnsurePullRequest lists the merge requests from spec.Head into spec.Base in any state,
// newest first (GET /projects/:id/merge_requests?source_branch=&target_branch=), and acts on
// the open one, else on the newest.
func (g *gitLab) EnsurePullRequest(ctx context.Context, spec tasks.PullRequestSpec) (*tasks.PullRequest, error) {
	mrs, resp, err := g.c.MergeRequests.ListProjectMergeRequests(g.project, &gitlab.ListProjectMergeRequestsOptions{
		ListOptions:  gitlab.ListOptions{PerPage: 20},
		SourceBranch: gitlab.Ptr(spec.Head),
		TargetBranch: gitlab.Ptr(spec.Base),
		OrderBy:      gitlab.Ptr("created_at"),
		Sort:         gitlab.Ptr("desc"),
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, g.fail("list merge requests", resp, err)
	}
	var mr *gitlab.BasicMergeRequest
	for _, m := range mrs {
		if m.State == "opened" || m.State == "locked" {
			mr = m
			break
		}
	}
	if mr == nil && len(mrs) > 0 {
		mr = mrs[0]
	}
	switch {
	case mr == nil || mr.State == "merged" && spec.Reopen: // a new change after a merge is a new merge request
		created, resp, err := g.c.MergeRequests.CreateMergeRequest(g.project, &gitlab.CreateMergeRequestOptions{
			Title:        gitlab.Ptr(spec.Title),
			Description:  gitlab.Ptr(spec.Body),
			SourceBranch: gitlab.Ptr(spec.Head),
			TargetBranch: gitlab.Ptr(spec.Base),
		}, gitlab.WithContext(ctx))
		if err != nil {
			return nil, g.fail("create merge request", resp, err)
		}
		return g.result(&created.BasicMergeRequest, "open", true), nil
	case mr.State == "opened" || mr.State == "locked": // locked: being merged right now
		if mr.Title != spec.Title || mr.Description != spec.Body {
			updated, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.project, mr.IID, &gitlab.UpdateMergeRequestOptions{
				Title:       gitlab.Ptr(spec.Title),
				Description: gitlab.Ptr(spec.Body),
			}, gitlab.WithContext(ctx))
			if err != nil {
				return nil, g.fail("update merge request", resp, err)
			}
			mr = &updated.BasicMergeRequest
		}
		return g.result(mr, "open", false), nil
	case mr.State == "merged":
		return g.result(mr, "merged", false), nil
	case !spec.Reopen:
		return g.result(mr, "closed", false), nil
	}
	updated, resp, err := g.c.MergeRequests.UpdateMergeRequest(g.project, mr.IID, &gitlab.UpdateMergeRequestOptions{
		Title:       gitlab.Ptr(spec.Title),
		Description: gitlab.Ptr(spec.Body),
		StateEvent:  gitlab.Ptr("reopen"),
	}, gitlab.WithContext(ctx))
	if err != nil {
		return nil, g.fail("reopen merge request", resp, err)
	}
	return g.result(&updated.BasicMergeRequest, "open", false), nil
}

func (g *gitLab) result(mr *gitlab.BasicMergeRequest, state string, created bool) *tasks.PullRequest {
	return &tasks.PullRequest{Provider: TypeGitLab, URL: mr.WebURL, Number: int(mr.IID), State: state, Created: created}
}

// SetStatus sets a commit status (POST /projects/:id/statuses/:sha), named st.Context.
func (g *gitLab) SetStatus(ctx context.Context, st tasks.CommitStatus) error {
	var state gitlab.BuildStateValue
	switch st.State {
	case tasks.StatusSuccess:
		state = gitlab.Success
	case tasks.StatusFailure:
		state = gitlab.Failed
	case tasks.StatusPending:
		state = gitlab.Pending
	default:
		return fmt.Errorf("gitlab %s: set status: unknown state %q", g.project, st.State)
	}
	opt := &gitlab.SetCommitStatusOptions{
		State:       state,
		Name:        gitlab.Ptr(st.Context),
		Description: gitlab.Ptr(truncate(st.Description, descriptionLimit)),
	}
	if st.TargetURL != "" {
		opt.TargetURL = gitlab.Ptr(st.TargetURL)
	}
	_, resp, err := g.c.Commits.SetCommitStatus(g.project, st.Commit, opt, gitlab.WithContext(ctx))
	var er *gitlab.ErrorResponse
	if state == gitlab.Pending && errors.As(err, &er) && er.Response != nil &&
		er.Response.StatusCode == http.StatusBadRequest && strings.Contains(er.Message, "Cannot transition status") {
		// GitLab refuses pending over a status that is already pending or running (400
		// "Cannot transition status via :enqueue from :pending"): it already says what we ask.
		return nil
	}
	if err != nil {
		return g.fail("set status", resp, err)
	}
	return nil
}

func (g *gitLab) fail(op string, resp *gitlab.Response, err error) error {
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	return fmt.Errorf("gitlab %s: %s: %w", g.project, op, apiError(hr, err))
}
