package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/validate"
)

// TrailerKey is the commit trailer that ties a pushed commit to its job; stored in git history,
// do not rename.
const TrailerKey = "Fabsync-Job"

// trailerSearch is how many commits, newest first, are searched for a job's trailer before its
// ingest commits. A fresh clone holds gitops.RecommendedDepth commits and later fetches add to
// that, so the search sees whatever the clone holds, up to this bound: a re-run finds its
// job's commit unless more commits than that landed on the branch after it.
const trailerSearch = 200

// HandlerConfig configures the task handlers. Zero values take the defaults in brackets.
type HandlerConfig struct {
	DataDir      string              // required; clones live in DataDir/repos/<cloneKey>
	Fabrics      *config.Source      // required
	Getenv       func(string) string // resolves auth.*_env [always ""]
	Author       gitops.Signature    // commit author [gitops' default]
	GitTimeout   time.Duration       // per clone, fetch or push [gitops' default]
	GitDepth     int                 // clone depth, 0 = the whole history; the worker uses gitops.RecommendedDepth
	PushAttempts int                 // rounds of re-sync + re-ingest + push when a push is rejected [3]
	Limits       ingest.Limits       // ingest limits [ingest defaults]
	CancelPoll   time.Duration       // how often a running task checks for cancellation [500ms]
	// NoHandoff runs every ingest stage from its own task only, never in-process in the worker
	// that just ran the job's git sync (handoff.go) [false: hand off].
	NoHandoff bool
	Logger    *slog.Logger // [discards]
	// PublicURL is where people reach fabsync's UI (FABSYNC_PUBLIC_URL): notifications and
	// commit statuses link to a job as PublicURL + "/#/jobs/<id>" [no links].
	PublicURL string
	// Forge returns a fabric's forge, for commit statuses (commit_status:) [none: a commit
	// status task is archived, logged as such].
	Forge ForgeFactory
	// NotifyClient sends notifications [a client with NotifyHTTPTimeout per request that
	// follows no redirects].
	NotifyClient *http.Client
	// AppTokens builds the token source of a fabric's auth.github_app (forge.NewAppTokenSource
	// with the worker's HTTP client): git over HTTPS and the forge's API then use its
	// installation tokens. apiURL is the fabric's forge.api_url ("" for GitHub's) [nil: a
	// fabric with auth.github_app fails its jobs with a configuration error].
	AppTokens func(appID, installationID int64, key []byte, apiURL string) (func(context.Context) (string, error), error)
}

// Handler runs the task types. It is safe for concurrent use; tasks of one fabric are
// serialized per process (they share its clone), a dry run's with a real job's. Across processes
// the fabric's slot lets only one real job run (a dry run, in a slot of its own, may run beside
// it on another worker's clone; it pushes nothing), but a re-delivered task (after a lease
// expired, or resumed after a Redis data loss) may run while the first delivery still does: the
// job's trailer and the non-forcing push keep that to one commit.
type Handler struct {
	svc *Service
	cfg HandlerConfig
	log *slog.Logger
	// retryInfo returns the attempt's retry count and the task's retry limit (asynq's, except
	// in tests).
	retryInfo func(context.Context) (retry, maxRetry int)

	mu        sync.Mutex
	locks     map[string]*sync.Mutex
	appTokens map[string]func(context.Context) (string, error) // by appTokenKey, under mu

	heads      headCache      // branch heads read for scheduled resyncs (settled.go)
	validators validate.Cache // compiled CRDs, by content
	memo       ingest.Memo    // what the validator found in untouched managed/ files, across jobs
}

// NewHandler returns a Handler that records jobs through svc.
func NewHandler(svc *Service, cfg HandlerConfig) (*Handler, error) {
	if svc == nil {
		return nil, errors.New("tasks: NewHandler needs a Service")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("tasks: HandlerConfig.DataDir is required")
	}
	if cfg.Fabrics == nil {
		return nil, errors.New("tasks: HandlerConfig.Fabrics is required")
	}
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	if cfg.PushAttempts <= 0 {
		cfg.PushAttempts = 3
	}
	if cfg.CancelPoll <= 0 {
		cfg.CancelPoll = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, cfg: cfg, log: cfg.Logger, retryInfo: asynqRetryInfo, locks: map[string]*sync.Mutex{}}
	go h.removeOldClones()
	return h, nil
}

// removeOldClones removes DataDir/clones, where versions before one clone per repository kept
// a clone per fabric: nothing reads them any more, and a clone holds nothing that is not on the
// remote. It runs in the background at start; a failure is logged and left.
func (h *Handler) removeOldClones() {
	old := filepath.Join(h.cfg.DataDir, "clones")
	if _, err := os.Lstat(old); err != nil {
		return
	}
	h.log.Info("removing the per-fabric clones of an earlier version; clones are now one per repository and branch, in repos/")
	if err := os.RemoveAll(old); err != nil {
		h.log.Warn("could not remove the old per-fabric clones", "err", err)
	}
}

func asynqRetryInfo(ctx context.Context) (int, int) {
	retry, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	return retry, maxRetry
}

// Register adds the task types to mux.
func (h *Handler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeRepoSync, h.HandleRepoSync)
	mux.HandleFunc(TypeIngest, h.HandleIngest)
	mux.HandleFunc(TypeResync, h.HandleResync)
}

// cloneKey names the clone of a fabric in this worker: one per repository and branch, shared
// by every fabric in that branch (config.File.SharedPaths), so that one fetch serves them all.
func cloneKey(f config.Fabric) string {
	sum := sha256.Sum256([]byte(f.Repo + "\x00" + f.Branch))
	return hex.EncodeToString(sum[:10])
}

// lock serializes the tasks of the fabrics that share f's clone in this process (and so every
// task of f); call the returned function to unlock. Two fabrics of one repository therefore
// sync and ingest one after the other, the second without a fetch of its own when the branch
// has not moved, and each pushes on top of the other's commit.
func (h *Handler) lock(f config.Fabric) func() {
	unlock, _ := h.lockWaited(f)
	return unlock
}

// lockWaited is lock, also reporting whether another task held the clone when it asked (and
// so it waited).
func (h *Handler) lockWaited(f config.Fabric) (unlock func(), waited bool) {
	key := cloneKey(f)
	h.mu.Lock()
	m, ok := h.locks[key]
	if !ok {
		m = &sync.Mutex{}
		h.locks[key] = m
	}
	h.mu.Unlock()
	if m.TryLock() {
		return m.Unlock, false
	}
	m.Lock()
	return m.Unlock, true
}

// client returns the git client of fabric's clone in this worker.
func (h *Handler) client(ctx context.Context, f config.Fabric) (*gitops.Client, error) {
	c, _, err := h.clientAuth(ctx, f)
	return c, err
}

// clientAuth is client, also returning the fabric's resolved secret for its forge's API.
func (h *Handler) clientAuth(ctx context.Context, f config.Fabric) (*gitops.Client, ForgeAuth, error) {
	auth, fa, err := h.resolveAuth(f)
	if err != nil {
		return nil, fa, err
	}
	if auth.InsecureIgnoreHostKey {
		h.log.WarnContext(ctx, "SSH host key checking is off for this fabric (auth.insecure_ignore_host_key)", "fabric", f.Name)
	}
	maxFile := h.cfg.Limits.MaxFileBytes
	if maxFile <= 0 {
		maxFile = ingest.DefaultMaxFileBytes
	}
	var paths []string
	if file, _ := h.cfg.Fabrics.Load(); file != nil {
		paths = file.SharedPaths(f.Repo, f.Branch)
	}
	c, err := gitops.New(gitops.Config{
		URL: f.Repo, Branch: f.Branch, Dir: filepath.Join(h.cfg.DataDir, "repos", cloneKey(f)),
		Auth: auth, Author: h.cfg.Author, Timeout: h.cfg.GitTimeout, Depth: h.cfg.GitDepth,
		// Bad paths and oversized files fail only this fabric, and only when they are in its
		// folder; a raw file over ingest's limit fails the job at once, without being read.
		// The clone is shared with the other fabrics of the branch: what is wrong in their
		// folders fails their jobs, never this one's.
		Path: f.Path, Paths: paths, MaxFileSize: maxFile,
	})
	return c, fa, err
}

// forge returns the fabric's Forge, for its pull requests. No ForgeFactory, or a fabric whose
// forge is neither configured nor inferable, is a permanent error saying so; so is any other
// error of the factory (it builds, it does not call the forge).
func (h *Handler) forge(ctx context.Context, f config.Fabric, fa ForgeAuth) (Forge, error) {
	if h.cfg.Forge == nil {
		return nil, permanent("deliver: pull_request needs a forge, and this worker has none (HandlerConfig.Forge is nil)")
	}
	fg, err := h.cfg.Forge(ctx, f, fa)
	switch {
	case errors.Is(err, ErrNoForge):
		return nil, permanent("deliver: pull_request: %w; set forge.type (github, gitlab, gitea, forgejo) and forge.api_url", err)
	case err != nil:
		return nil, permanent("deliver: pull_request: forge: %w", err)
	case fg == nil:
		return nil, permanent("deliver: pull_request: %w", ErrNoForge)
	}
	return fg, nil
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
