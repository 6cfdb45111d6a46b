package ingest

import (
	"sync"

	"github.com/fabsync/fabsync/internal/validate"
)

// Memo remembers, from one ingest to the next, what the validator found in the resource files
// under managed/ that a sync does not replace, by validator, path and content (sha256), so that
// a small sync of a large fabric does not parse and check every one of them again: the fabric-wide
// checks still see them all, from what was kept. Set Options.Memo to the same Memo across
// ingests (the worker keeps one). The zero Memo is empty and ready to use; it is safe for
// concurrent use. It holds at most MemoBudget bytes; when a new entry would go over, it forgets
// everything and starts again.
type Memo struct {
	mu      sync.Mutex
	entries map[memoKey]memoEntry
	size    int
}

// MemoBudget bounds what a Memo holds (about 500 bytes per resource file).
const MemoBudget = 64 << 20

type memoKey struct {
	v    *validate.Validator
	path string
	sum  [32]byte
}

// memoEntry is what the validator found in one file: its problems, and its Resource encoded as
// validate.Facts keeps it (nil when it had none).
type memoEntry struct {
	checks []validate.Problem
	record []byte
}

func (m *Memo) get(k memoKey) (memoEntry, bool) {
	if m == nil {
		return memoEntry{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[k]
	return e, ok
}

func (m *Memo) put(k memoKey, e memoEntry) {
	if m == nil {
		return
	}
	n := len(k.path) + len(e.record) + 64
	for _, c := range e.checks {
		n += len(c.Message) + len(c.File) + len(c.Rule) + 64
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries == nil || m.size+n > MemoBudget {
		m.entries, m.size = map[memoKey]memoEntry{}, 0
	}
	if _, ok := m.entries[k]; !ok {
		m.entries[k] = e
		m.size += n
	}
}
