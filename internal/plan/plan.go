// Package plan describes what a sync would change, for a person to review
// before it lands: per resource file whether it is created, updated,
// deleted or unchanged, a unified diff of each change (bounded), and a
// summary in the fabric's own terms ("adds Switch leaf-03 and 4
// Connections; changes VPC vpc-1: subnet default vlan 1001 → 1002").
//
// The package is pure: it is handed the old and new bytes of each file and
// returns a Plan. It does no I/O and never logs.
package plan

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
}

// Plan is what a sync would do to the resource files.
type Plan struct {
	Files     []File `json:"files"`     // sorted by path; Unchanged files included
	Summary   string `json:"summary"`   // one line in the fabric's terms; "no changes" when nothing changes
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Deleted   int    `json:"deleted"`
	Unchanged int    `json:"unchanged"`
	Truncated bool   `json:"truncated"` // some diffs were left out to stay within the bound
}

// Build returns the plan of changes, with at most maxDiff bytes of diff
// text in all (0: DefaultMaxDiff).
func Build(changes []Change, maxDiff int) *Plan {
	p := &Plan{Files: []File{}}
	for _, c := range changes {
		f := File{Path: c.Path}
		switch {
		case c.Old == nil:
			f.Action = Created
			p.Created++
		case c.New == nil:
			f.Action = Deleted
			p.Deleted++
		case string(c.Old) == string(c.New):
			f.Action = Unchanged
			p.Unchanged++
		default:
			f.Action = Updated
			p.Updated++
		}
		p.Files = append(p.Files, f)
	}
	p.Summary = "not yet written" // placeholder until the package is written
	return p
}
