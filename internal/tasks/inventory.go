package tasks

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/ingest"
)

// A fabric's inventory is its resources at the commit of its last successful job: the entries
// of .hnp/manifest.yaml (kind, name, namespace, file, the job that last wrote it) with the
// sha256 of each file. The worker publishes it to Redis when a job succeeds, with the bytes of
// the files in a content store keyed by sha256, so that the API, which has no clone, serves the
// inventory, each file and the topology picture (docs/API.md). The content store keeps the
// files of the inventory and the versions the fabric's recent jobs wrote (so that a job's
// changes open the file as that job wrote it), within a per-fabric budget.

// Resource is one resource file of a fabric's inventory. Fields may be added, never renamed.
type Resource struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"api_version"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	Path       string `json:"path"`   // relative to the fabric folder: "managed/switches/leaf-01.yaml"
	JobID      string `json:"job_id"` // the job that last wrote the file
	SHA256     string `json:"sha256"` // of the file's bytes at the inventory's commit
}

// Inventory is a fabric's resources at its last synced commit, as stored in Redis. Fields may
// be added, never renamed.
type Inventory struct {
	Fabric    string         `json:"fabric"`
	Commit    string         `json:"commit"`     // "" when the fabric was never synced
	JobID     string         `json:"job_id"`     // the job that published it
	UpdatedAt *time.Time     `json:"updated_at"` // nil when never synced
	Counts    map[string]int `json:"counts"`     // resources by kind
	Resources []Resource     `json:"resources"`  // sorted by kind, namespace, name, path
}

// Bounds of the content store, per fabric.
const (
	// contentBudget bounds the bytes of inventory files stored; files past it are listed
	// without content (the file endpoint says so).
	contentBudget = 32 << 20
	// recentKept bounds the versions kept for the changes of recent jobs, beyond the
	// inventory's own files.
	recentKept = 2000
)

// Fields of the inventory hash.
const (
	fieldInvCommit = "commit" // the commit of data, read alone to skip a publish
	fieldInvRecent = "recent" // JSON list of the sha256s recent jobs wrote, newest first
	fieldInvSizes  = "sizes"  // JSON map sha256 -> size of the stored inventory files
	// fieldInvSettled is "<commit> <settledKey>" when the job that published left the fabric
	// settled at commit (nothing in raw/, no drift reported), else "" (nothingNew).
	fieldInvSettled = "settled"
)

// settledKey is what a settled commit depends on besides the commit: the fabric's settings
// that change what a sync of the same commit does.
func settledKey(f config.Fabric) string {
	return strings.Join([]string{f.Repo, f.Branch, f.Path, driftMode(f.Drift), f.Deliver}, "|")
}

// reportedDrift reports whether some file of drift was left as it is (drift: report): such a
// fabric is reported on every sync, so it is never settled.
func reportedDrift(drift []ingest.Drift) bool {
	for _, d := range drift {
		if d.Action == ingest.DriftReported || d.Action == "" {
			return true
		}
	}
	return false
}

// settledAt returns the commit at which the fabric's last job left it settled under f's
// settings as they are now, or "" when it did not (or under other settings, or never).
func (s *store) settledAt(ctx context.Context, f config.Fabric) (string, error) {
	settled, err := s.rdb.HGet(ctx, inventoryKey(f.Name), fieldInvSettled).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the inventory: %w", err)
	}
	commit, key, _ := strings.Cut(settled, " ")
	if key != settledKey(f) {
		return "", nil
	}
	return commit, nil
}

// nothingNew reports whether a resync of the fabric has nothing to do, at the cost of one round
// trip to the remote and one to Redis: the branch is still at the commit the fabric's last job
// left settled, under the same settings. Then the job needs no fetch, no checkout, no drift
// check and no ingest task. Any doubt (no inventory, an error) says no: the full sync runs.
// head is the remote's answer whenever it was asked ("" when not, or on an error), so that the
// full sync need not ask again (gitops.SyncAt).
func (h *Handler) nothingNew(ctx context.Context, c *gitops.Client, f config.Fabric) (head string, settled bool) {
	commit, err := h.svc.store.settledAt(ctx, f)
	if err != nil || commit == "" {
		return "", false
	}
	head, err = c.RemoteHead(ctx)
	if err != nil {
		return "", false
	}
	return head, head == commit
}

// publishInventory publishes the fabric's inventory at commit, read from the clone's working
// tree dir (which must be at commit). res is the job's ingest result, nil when the job ingested
// nothing (its commit was already on the remote). A publish at the commit already published
// does nothing.
func (h *Handler) publishInventory(ctx context.Context, dir string, a *attempt, commit string, res *ingest.Result, clean bool) error {
	if res == nil {
		res = &ingest.Result{}
	}
	fabric, rdb := a.fab.Name, h.svc.store.rdb
	settled := ""
	if clean {
		settled = commit + " " + settledKey(a.fab)
	}
	prev, err := rdb.HMGet(ctx, inventoryKey(fabric), fieldInvCommit, fieldInvRecent, fieldInvSizes).Result()
	if err != nil {
		return fmt.Errorf("read the inventory: %w", err)
	}
	if s, _ := prev[0].(string); s == commit && commit != "" {
		if err := rdb.HSet(ctx, inventoryKey(fabric), fieldInvSettled, settled).Err(); err != nil {
			return fmt.Errorf("store the inventory: %w", err)
		}
		return nil
	}
	var recent []string
	sizes := map[string]int{}
	if s, ok := prev[1].(string); ok {
		_ = json.Unmarshal([]byte(s), &recent) // a damaged list only forgets old versions
	}
	if s, ok := prev[2].(string); ok {
		_ = json.Unmarshal([]byte(s), &sizes)
	}
	stored, err := rdb.HKeys(ctx, contentKey(fabric)).Result()
	if err != nil {
		return fmt.Errorf("read the content store: %w", err)
	}
	have := make(map[string]bool, len(stored))
	for _, k := range stored {
		have[k] = true
	}
	budget := contentBudget
	for sum, n := range sizes {
		if have[sum] {
			budget -= n
		}
	}
	// A file whose manifest sha256 is stored is that file, unless it changed by hand since
	// (drift: report leaves it so): those are read again, and so is every file not stored yet.
	drifted := map[string]bool{}
	for _, d := range res.Drift {
		if d.Action == ingest.DriftReported {
			drifted[d.Path] = true
		}
	}
	entries, contents, err := readInventory(dir, a.fab.Path, func(e ingest.ManifestEntry) bool {
		return drifted[e.Path] || !have[e.SHA256]
	}, budget)
	if err != nil {
		return err
	}
	now := h.svc.clock().UTC()
	inv := Inventory{Fabric: fabric, Commit: commit, JobID: a.p.JobID, UpdatedAt: &now, Counts: map[string]int{}, Resources: make([]Resource, 0, len(entries))}
	newSizes := map[string]int{}
	put := map[string]any{}
	for _, e := range entries {
		r := Resource{Kind: e.Kind, APIVersion: e.APIVersion, Name: e.Name, Namespace: e.Namespace, Path: e.Path, JobID: e.Job, SHA256: e.SHA256}
		if b, ok := contents[e.Path]; ok {
			sum := sha256.Sum256(b)
			r.SHA256 = hex.EncodeToString(sum[:])
			if !have[r.SHA256] {
				put[r.SHA256] = b
			}
		}
		if have[r.SHA256] || put[r.SHA256] != nil {
			newSizes[r.SHA256] = sizeOf(sizes, put, r.SHA256)
		}
		inv.Counts[r.Kind]++
		inv.Resources = append(inv.Resources, r)
	}
	slices.SortFunc(inv.Resources, func(x, y Resource) int {
		return cmp.Or(strings.Compare(x.Kind, y.Kind), strings.Compare(x.Namespace, y.Namespace),
			strings.Compare(x.Name, y.Name), strings.Compare(x.Path, y.Path))
	})
	// The versions this job wrote come first in the recent list; the store keeps what the
	// inventory and that list name, and nothing else.
	var wrote []string
	for _, c := range res.Changes {
		if c.Action != ingest.ChangeDeleted {
			wrote = append(wrote, hex.EncodeToString(c.Sum[:]))
		}
	}
	recent = dedupe(append(wrote, recent...), recentKept)
	keep := make(map[string]bool, len(newSizes)+len(recent))
	for sum := range newSizes {
		keep[sum] = true
	}
	for _, sum := range recent {
		keep[sum] = true
	}
	var drop []string
	for _, k := range stored {
		if !keep[k] {
			drop = append(drop, k)
		}
	}
	data, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("encode the inventory: %w", err)
	}
	recentJSON, _ := json.Marshal(recent)
	sizesJSON, _ := json.Marshal(newSizes)
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if len(put) > 0 {
			p.HSet(ctx, contentKey(fabric), put)
		}
		if len(drop) > 0 {
			p.HDel(ctx, contentKey(fabric), drop...)
		}
		p.HSet(ctx, inventoryKey(fabric), fieldData, data, fieldInvCommit, commit, fieldInvRecent, recentJSON, fieldInvSizes, sizesJSON, fieldInvSettled, settled)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store the inventory: %w", err)
	}
	return nil
}

// sizeOf is the size of the stored file sum: new in put, or known from sizes.
func sizeOf(sizes map[string]int, put map[string]any, sum string) int {
	if b, ok := put[sum].([]byte); ok {
		return len(b)
	}
	return sizes[sum]
}

// dedupe drops repeated strings of s, keeping the first, and keeps at most n.
func dedupe(s []string, n int) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] && len(out) < n {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Inventory returns the fabric's inventory as published by its last successful job, or one
// with no commit when it was never published.
func (s *Service) Inventory(ctx context.Context, fabric string) (*Inventory, error) {
	data, err := s.store.rdb.HGet(ctx, inventoryKey(fabric), fieldData).Bytes()
	if errors.Is(err, redis.Nil) {
		return &Inventory{Fabric: fabric, Counts: map[string]int{}, Resources: []Resource{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the inventory of %s: %w", fabric, err)
	}
	var inv Inventory
	if err := json.Unmarshal(data, &inv); err != nil {
		return nil, fmt.Errorf("decode the inventory of %s: %w", fabric, err)
	}
	return &inv, nil
}

// Contents returns the stored bytes of the files of the fabric with the given sha256s (hex),
// in one round trip; a version not stored is nil.
func (s *Service) Contents(ctx context.Context, fabric string, sums []string) ([][]byte, error) {
	out := make([][]byte, len(sums))
	if len(sums) == 0 {
		return out, nil
	}
	vals, err := s.store.rdb.HMGet(ctx, contentKey(fabric), sums...).Result()
	if err != nil {
		return nil, fmt.Errorf("read files of %s: %w", fabric, err)
	}
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out[i] = []byte(str)
		}
	}
	return out, nil
}
