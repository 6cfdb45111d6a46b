package ingest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"go.yaml.in/yaml/v3"
)

// Manifest and archive log paths, relative to the fabric root.
const (
	ManifestPath   = ".hnp/manifest.yaml"
	ArchiveLogPath = ".hnp/archive-log.yaml"
	archiveDir     = ".hnp/archive"
	gitkeepPath    = "raw/.gitkeep"
)

// manifestLine is one entry of the manifest as YAML reads it.
type manifestLine struct {
	Path       string `yaml:"path"`
	Kind       string `yaml:"kind"`
	APIVersion string `yaml:"apiVersion"`
	Namespace  string `yaml:"namespace"`
	Name       string `yaml:"name"`
	SHA256     string `yaml:"sha256"`
	Source     source `yaml:"source"`
}

// entry is one entry of the manifest in memory, kept small: there is one
// per resource file.
type entry struct {
	Path, Kind, APIVersion, Namespace, Name string
	Sum                                     [32]byte
	File, Document                          int32   // this run's source: index into the raw files, document
	Source                                  *source // a source from the old manifest, if File < 0
}

// source is where a resource file came from.
type source struct {
	File     string `yaml:"file"`
	Document int    `yaml:"document"`
	Commit   string `yaml:"commit"`
	Job      string `yaml:"job"`
}

const manifestHeader = `# fabsync manifest: one entry per resource file under managed/ and unmanaged/,
# sorted by path, with where it came from. Written by every ingest; do not edit.
`

// appendManifestEntry appends e as one flow-style line, so that a change to
// one resource is a one-line diff and the file can be read line by line.
func appendManifestEntry(b []byte, e *entry, files []rawFile, commit, job string) []byte {
	b = append(b, "- {path: "...)
	b = appendScalar(b, e.Path)
	b = append(b, ", kind: "...)
	b = appendScalar(b, e.Kind)
	b = append(b, ", apiVersion: "...)
	b = appendScalar(b, e.APIVersion)
	if e.Namespace != "" {
		b = append(b, ", namespace: "...)
		b = appendScalar(b, e.Namespace)
	}
	b = append(b, ", name: "...)
	b = appendScalar(b, e.Name)
	b = append(b, ", sha256: "...)
	var hexSum [64]byte
	hex.Encode(hexSum[:], e.Sum[:])
	b = appendScalar(b, unsafe.String(&hexSum[0], len(hexSum))) // not kept: no copy
	b = append(b, ", source: {"...)
	sep := ""
	var s source
	switch {
	case e.File >= 0:
		s = source{File: files[e.File].Path, Document: int(e.Document), Commit: commit, Job: job}
	case e.Source != nil:
		s = *e.Source
	}
	if s.File != "" {
		b = append(b, "file: "...)
		b = appendScalar(b, s.File)
		sep = ", "
	}
	if s.Document != 0 {
		b = append(b, sep+"document: "...)
		b = strconv.AppendInt(b, int64(s.Document), 10)
		sep = ", "
	}
	if s.Commit != "" {
		b = append(b, sep+"commit: "...)
		b = appendScalar(b, s.Commit)
		sep = ", "
	}
	if s.Job != "" {
		b = append(b, sep+"job: "...)
		b = appendScalar(b, s.Job)
	}
	return append(b, "}}\n"...)
}

// appendScalar appends s as a YAML scalar that every YAML reader takes for
// the string s: plain when that is unambiguous, double-quoted otherwise.
func appendScalar(b []byte, s string) []byte {
	if plainSafe(s) {
		return append(b, s...)
	}
	if quoteSafe(s) {
		// What strconv.AppendQuote writes for s, without its look at every rune.
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	return strconv.AppendQuote(b, s)
}

// quoteSafe reports whether s is printable ASCII with no double quote or backslash: then s quoted
// as it is is what strconv.Quote gives (a hex checksum, a path with a space).
func quoteSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// plainSafe reports whether s can be written as a plain scalar in flow and
// block context and still be read as that string: it starts with a letter,
// is made of letters, digits and "._/-", and is not a YAML 1.1 boolean or
// null word.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-'):
		default:
			return false
		}
	}
	if len(s) > len("false") {
		return true // longer than any of the words below
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

// readManifest parses an existing manifest, keeping the entries keep
// wants. It reads the one-line-per-entry form Ingest writes line by line,
// so that a large manifest is never held as a YAML tree; anything else is
// parsed as a whole. ok is false when the file could not be understood.
func readManifest(data []byte, keep func(path string) bool) (entries map[string]manifestLine, ok bool) {
	entries = map[string]manifestLine{}
	lineByLine := true
	for line := range bytes.Lines(data) {
		t := bytes.TrimSpace(line)
		switch {
		case len(t) == 0, t[0] == '#', string(t) == "resources:":
			continue
		case bytes.HasPrefix(t, []byte("- {")):
			e, ok := parseManifestLine(t)
			if !ok {
				if _, err := safeUnmarshal(t[2:], &e); err != nil {
					lineByLine = false
					break
				}
			}
			if keep(e.Path) {
				entries[e.Path] = e
			}
		default:
			lineByLine = false
		}
		if !lineByLine {
			break
		}
	}
	if lineByLine {
		return entries, true
	}
	clear(entries)
	var m struct {
		Resources []manifestLine `yaml:"resources"`
	}
	if _, err := safeUnmarshal(data, &m); err != nil {
		return nil, false
	}
	for _, e := range m.Resources {
		if keep(e.Path) {
			entries[e.Path] = e
		}
	}
	return entries, true
}

// parseManifestLine reads a line exactly as appendManifestEntry writes it, without a YAML
// parser (a manifest has a line per resource file, and every ingest reads it): its keys, each
// once, each value plain or double-quoted as appendScalar writes it. Anything else (a line
// edited by hand, an unknown key, other quoting, escapes) reports false, and the line is read
// as YAML instead.
func parseManifestLine(t []byte) (manifestLine, bool) {
	var e manifestLine
	s := string(t)
	if !strings.HasPrefix(s, "- {") || !strings.HasSuffix(s, "}}") {
		return e, false
	}
	s = s[len("- {") : len(s)-1] // "path: …, source: {…}"
	inSource, needSep := false, false
	for s != "" {
		if needSep {
			if !strings.HasPrefix(s, ", ") {
				return e, false
			}
			s = s[2:]
		}
		needSep = true
		key, rest, ok := strings.Cut(s, ": ")
		if !ok {
			return e, false
		}
		if key == "source" {
			if inSource || !strings.HasPrefix(rest, "{") || !strings.HasSuffix(rest, "}") {
				return e, false
			}
			inSource, s, needSep = true, rest[1:len(rest)-1], false
			continue
		}
		if inSource && key == "document" {
			end := strings.Index(rest, ", ")
			if end < 0 {
				end = len(rest)
			}
			n, err := strconv.Atoi(rest[:end])
			if err != nil || n <= 0 || e.Source.Document != 0 || rest[0] < '1' || rest[0] > '9' {
				return e, false
			}
			e.Source.Document, s = n, rest[end:]
			continue
		}
		v, rest, ok := manifestValue(rest)
		if !ok {
			return e, false
		}
		s = rest
		var dst *string
		switch {
		case !inSource && key == "path":
			dst = &e.Path
		case !inSource && key == "kind":
			dst = &e.Kind
		case !inSource && key == "apiVersion":
			dst = &e.APIVersion
		case !inSource && key == "namespace":
			dst = &e.Namespace
		case !inSource && key == "name":
			dst = &e.Name
		case !inSource && key == "sha256":
			dst = &e.SHA256
		case inSource && key == "file":
			dst = &e.Source.File
		case inSource && key == "commit":
			dst = &e.Source.Commit
		case inSource && key == "job":
			dst = &e.Source.Job
		default:
			return e, false
		}
		if *dst != "" {
			return e, false // a key twice
		}
		*dst = v
	}
	return e, inSource && e.Path != ""
}

// manifestValue reads one value of a manifest line from the start of s: a plain scalar
// (plainSafe) up to the next ", " or the end, or a double-quoted one as strconv.Quote writes
// it. It returns the rest of s after the value.
func manifestValue(s string) (v, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		end := 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			return "", "", false
		}
		q, err := strconv.Unquote(s[:end+1])
		// Only what appendScalar would have quoted, and only escapes YAML reads the same way.
		if err != nil || plainSafe(q) || strings.ContainsAny(s[:end+1], "\\") {
			return "", "", false
		}
		return q, s[end+1:], true
	}
	end := strings.Index(s, ", ")
	if end < 0 {
		end = len(s)
	}
	if !plainSafe(s[:end]) {
		return "", "", false
	}
	return s[:end], s[end:], true
}

// safeUnmarshal is yaml.Unmarshal with panics turned into errors.
func safeUnmarshal(data []byte, v any) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			ok, err = false, errPanic
		}
	}()
	return true, yaml.Unmarshal(data, v)
}

// logFile is one raw file of an archive log entry.
type logFile struct {
	Raw       string
	Archived  string
	Resources []string
	Deleted   []string // resource files its delete documents removed
}

const archiveLogHeader = `# fabsync archive log: one entry appended per ingest, naming each raw file,
# where it was archived and the resource files it became. Append-only.
`

// appendLogEntry appends one archive log entry (a YAML sequence item). A
// raw file whose delete documents removed resource files lists them under
// "deleted:", after its resources; the key is left out when there are none,
// so entries without deletes read as they always have.
func appendLogEntry(b []byte, job, commit string, t time.Time, files []logFile) []byte {
	b = append(b, "- job: "...)
	b = appendScalar(b, job)
	b = append(b, "\n  commit: "...)
	b = appendScalar(b, commit)
	b = append(b, "\n  time: "...)
	b = t.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, "\n  files:\n"...)
	for _, f := range files {
		b = append(b, "    - raw: "...)
		b = appendScalar(b, f.Raw)
		b = append(b, "\n      archived: "...)
		b = appendScalar(b, f.Archived)
		if len(f.Resources) == 0 {
			b = append(b, "\n      resources: []\n"...)
		} else {
			b = append(b, "\n      resources:\n"...)
			for _, r := range f.Resources {
				b = append(b, "        - "...)
				b = appendScalar(b, r)
				b = append(b, '\n')
			}
		}
		if len(f.Deleted) > 0 {
			b = append(b, "      deleted:\n"...)
			for _, r := range f.Deleted {
				b = append(b, "        - "...)
				b = appendScalar(b, r)
				b = append(b, '\n')
			}
		}
	}
	return b
}

// identity reads the identity fields of a resource file for the manifest,
// leaving unknown fields empty.
func identityOf(data []byte) (e manifestLine) {
	arena := nodeArenas.Get().(*nodeArena) // e holds strings of the tree only
	defer nodeArenas.Put(arena)
	doc, err := parseDocIn(data, arena)
	if err != nil || isEmptyDoc(doc) || doc.Content[0].Kind != yaml.MappingNode {
		return e
	}
	root := doc.Content[0]
	str := func(n *yaml.Node) string {
		if n != nil && n.Kind == yaml.ScalarNode {
			return n.Value
		}
		return ""
	}
	e.APIVersion = str(lookup(root, "apiVersion"))
	e.Kind = str(lookup(root, "kind"))
	if md := lookup(root, "metadata"); md != nil && md.Kind == yaml.MappingNode {
		e.Name = str(lookup(md, "name"))
		if ns := lookup(md, "namespace"); ns != nil && ns.ShortTag() == "!!str" {
			e.Namespace = ns.Value
		}
	}
	return e
}

// ErrBadManifest is wrapped by ReadManifest for a manifest it cannot understand.
var ErrBadManifest = errors.New("manifest cannot be read")

// ManifestEntry is one entry of .hnp/manifest.yaml: a resource file, the
// resource it holds and where it came from.
type ManifestEntry struct {
	Path       string // "managed/switches/leaf-01.yaml", relative to the fabric root
	Kind       string
	APIVersion string
	Namespace  string
	Name       string
	SHA256     string // hex sha256 of the file's bytes as ingest wrote or adopted them
	Job        string // the job that last wrote the file (or adopted its hand edit)
	Commit     string // the commit that job ingested from
}

// ReadManifest returns the entries of a manifest (the bytes of
// ManifestPath), sorted by path. It reads what Ingest writes, and any
// manifest Ingest itself would accept; anything else wraps ErrBadManifest.
func ReadManifest(data []byte) ([]ManifestEntry, error) {
	entries, ok := readManifest(data, func(string) bool { return true })
	if !ok {
		return nil, fmt.Errorf("%s: %w", ManifestPath, ErrBadManifest)
	}
	out := make([]ManifestEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, ManifestEntry{Path: e.Path, Kind: e.Kind, APIVersion: e.APIVersion, Namespace: e.Namespace,
			Name: e.Name, SHA256: e.SHA256, Job: e.Source.Job, Commit: e.Source.Commit})
	}
	slices.SortFunc(out, func(a, b ManifestEntry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}
