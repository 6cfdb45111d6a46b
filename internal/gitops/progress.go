package gitops

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
)

// Progress reports transfer progress, parsed from the remote's sideband
// progress lines such as "Counting objects:  45% (450/1000)".
type Progress struct {
	// Phase is the lower-cased first word of the line's label:
	// "enumerating", "counting", "compressing", "receiving", "resolving",
	// "writing", ... The phases depend on the server; go-git itself reports
	// none.
	Phase string
	// Done and Total count the phase's items; Total is 0 when the server
	// gave only a running count ("Enumerating objects: 1234").
	Done, Total int
}

var (
	progressPct   = regexp.MustCompile(`^([A-Za-z][A-Za-z ]*?):\s+\d+%\s+\((\d+)/(\d+)\)`)
	progressCount = regexp.MustCompile(`^([A-Za-z][A-Za-z ]*?):\s+(\d+)\b`)
)

// progressWriter turns go-git's sideband progress stream into Progress
// calls. go-git writes to it from the goroutine running the operation, so fn
// runs synchronously on the caller's goroutine.
type progressWriter struct {
	fn   func(Progress)
	line []byte
}

// newProgress returns the writer to hand go-git, or a nil interface for a nil
// fn (which also tells go-git not to ask the server for progress at all).
func newProgress(fn func(Progress)) sideband.Progress {
	if fn == nil {
		return nil
	}
	return &progressWriter{fn: fn}
}

func (w *progressWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		if b == '\r' || b == '\n' {
			w.flush()
			continue
		}
		if len(w.line) < 1024 { // a progress line is short; ignore runaway text
			w.line = append(w.line, b)
		}
	}
	return len(p), nil
}

func (w *progressWriter) flush() {
	if len(w.line) == 0 {
		return
	}
	if p, ok := parseProgress(string(w.line)); ok {
		w.fn(p)
	}
	w.line = w.line[:0]
}

// parseProgress parses one progress line; ok is false for lines that carry no
// figures ("Total 3 (delta 0), reused 0").
func parseProgress(line string) (Progress, bool) {
	line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "remote:"))
	if m := progressPct.FindStringSubmatch(line); m != nil {
		done, _ := strconv.Atoi(m[2])
		total, _ := strconv.Atoi(m[3])
		return Progress{Phase: phase(m[1]), Done: done, Total: total}, true
	}
	if m := progressCount.FindStringSubmatch(line); m != nil {
		done, _ := strconv.Atoi(m[2])
		return Progress{Phase: phase(m[1]), Done: done}, true
	}
	return Progress{}, false
}

func phase(label string) string {
	word, _, _ := strings.Cut(strings.TrimSpace(label), " ")
	return strings.ToLower(word)
}
