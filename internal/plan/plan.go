// Package plan describes what a sync would change, for a person to review
// before it lands: per resource file whether it is created, updated,
// deleted or unchanged, a unified diff of each change (bounded), and a
// summary in the fabric's own terms ("adds Switch leaf-03 and 4
// Connections; changes VPC vpc-1: subnet default vlan 1001 → 1002").
//
// The package is pure: it is handed the old and new bytes of each file and
// returns a Plan. It does no I/O and never logs.
package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"sort"
)

// Actions of a File.
const (
	Created   = "created"
	Updated   = "updated"
	Deleted   = "deleted"
	Unchanged = "unchanged"
)

// DefaultMaxDiff bounds the diff text of one Plan; beyond it files are
// counted, not diffed, and Plan.Truncated says so.
const DefaultMaxDiff = 256 << 10

// Change is one resource file a sync writes or removes. Old is nil for a
// file that does not exist yet, New nil for one the sync removes; equal
// bytes mean unchanged.
type Change struct {
	Path     string // "managed/switches/leaf-03.yaml"
	Old, New []byte
}

// File is the plan for one resource file.
type File struct {
	Path    string `json:"path"`
	Action  string `json:"action"`         // Created, Updated, Deleted or Unchanged
	Diff    string `json:"diff,omitempty"` // unified diff ("--- a/…", "+++ b/…", hunks); empty for Unchanged or past the bound
	Added   int    `json:"added"`          // lines
	Removed int    `json:"removed"`        // lines
	// SHA256 is the hex sha256 of the file's new bytes, for a Created or
	// Updated file (set by Build from Change.New; a caller that lists a
	// file without its bytes may set it).
	SHA256 string `json:"sha256,omitempty"`
}

// Plan is what a sync would do to the resource files.
type Plan struct {
	Files     []File `json:"files"`   // sorted by path; Unchanged files included
	Summary   string `json:"summary"` // one line in the fabric's terms; "no changes" when nothing changes
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Deleted   int    `json:"deleted"`
	Unchanged int    `json:"unchanged"`
	Truncated bool   `json:"truncated"` // some diffs were left out to stay within the bound
}

// Build returns the plan of changes, with at most maxDiff bytes of diff
// text in all (0: DefaultMaxDiff; negative: no diff text, counts only).
//
// Files come out sorted by path (a stable sort: changes with the same path
// keep their order). A Change with both Old and New nil changes nothing and
// is Unchanged. Every changed file gets its Added and Removed line counts;
// the diffs are taken in path order until one would take the total past
// maxDiff, and from that file on no File gets a Diff and Truncated is set.
// Build does not modify changes.
func Build(changes []Change, maxDiff int) *Plan {
	if maxDiff == 0 {
		maxDiff = DefaultMaxDiff
	}
	sorted := make([]Change, len(changes))
	copy(sorted, changes)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })

	p := &Plan{Files: make([]File, 0, len(sorted))}
	actions := make([]string, len(sorted))
	d := newDiffer()
	room := maxDiff // diff text still allowed; < 0 once the bound is reached
	for i, c := range sorted {
		f := File{Path: c.Path, Action: actionOf(c)}
		actions[i] = f.Action
		switch f.Action {
		case Created:
			p.Created++
		case Deleted:
			p.Deleted++
		case Updated:
			p.Updated++
		default:
			p.Unchanged++
		}
		if f.Action == Created || f.Action == Updated {
			sum := sha256.Sum256(c.New)
			f.SHA256 = hex.EncodeToString(sum[:])
		}
		if f.Action != Unchanged {
			text, ok := "", false
			text, f.Added, f.Removed, ok = d.diff(c.Path, c.Old, c.New, room)
			if ok {
				f.Diff = text
				room -= len(text)
			} else {
				room = -1
				p.Truncated = true
			}
		}
		p.Files = append(p.Files, f)
	}
	p.Summary = summarize(sorted, actions)
	return p
}

// actionOf classifies one Change.
func actionOf(c Change) string {
	switch {
	case c.Old == nil && c.New == nil:
		return Unchanged
	case c.Old == nil:
		return Created
	case c.New == nil:
		return Deleted
	case bytes.Equal(c.Old, c.New):
		return Unchanged
	default:
		return Updated
	}
}
