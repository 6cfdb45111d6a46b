// Package ingest turns the YAML files people drop into a fabric's raw/
// folder into one normalized file per resource under managed/ (the twelve
// Hedgehog fabric kinds) or unmanaged/ (every other kind), archives the
// originals under .hnp/archive/<job>/, and updates .hnp/manifest.yaml and
// .hnp/archive-log.yaml, as docs/SYNC.md describes.
//
// The package is pure: it reads only the fs.FS it is handed and changes
// things only through the Writer it is handed. It does no disk or network
// I/O of its own, reads no clock and no environment, never logs, and every
// goroutine it starts has exited by the time Ingest returns. It knows nothing
// about git, queues or HTTP.
//
// A raw document whose metadata.annotations has DeleteAnnotation
// ("fabsync.githedgehog.com/delete") set to "true" is a delete: it needs
// only apiVersion, kind and metadata, is archived like any raw document,
// and instead of writing a resource file it removes the one it names from
// managed/ or unmanaged/, with its manifest line; the archive log lists the
// removal under the raw file ("deleted:"). The fabric-wide checks see the
// fabric without it, so a delete that leaves references behind (a switch
// that connections staying in the fabric still use) is an error naming the
// referrers (validate's rule delete-leaves-references).
//
// Every ingest also looks for drift: resource files under managed/ and
// unmanaged/, other than those it replaces or deletes, that differ from
// .hnp/manifest.yaml because someone changed them by hand: edited (another
// sha256), added (no manifest line) or removed (a manifest line, no file).
// Each is a warning (RuleDrift), and Options.Drift says what is done:
// adopt it into the manifest (the default), report it again on every sync,
// or revert it to the content the manifest records, normalized again from
// the archived raw file. Drifted finds drift without changing anything.
//
// Ingest validates every raw file before it writes anything: invalid input
// yields a *ValidationError listing every problem found, located by file,
// document, line and column (each with its rule, severity and an excerpt
// of the source), and no Writer method is called. With Options.Validator
// set, every document is also checked by package validate (CRD schemas,
// Hedgehog's rules) and the fabric as a whole (the raw documents and the
// managed/ files they leave in place); its errors stop the ingest like
// ingest's own, its warnings are returned in Result.Problems. A YAML
// syntax error is located at the offending token: the failing document is
// parsed once more with goccy/go-yaml, on that path only. Normalize is
// the per-document normalizer; Normalize(Normalize(x)) == Normalize(x) byte
// for byte.
//
// Resource files are named "<name>.yaml", or "<namespace>_<name>.yaml"
// outside the default namespace, and archive copies "<raw file
// name>.archived". Kubernetes allows names (253 characters) and namespaces
// (63) that make such a name longer than the 255 bytes file systems allow
// in one path element, and a raw file name may be up to 255 bytes. A name
// that would be too long is shortened deterministically to at most 255
// bytes: as much of its start as fits (233 bytes of "<namespace>_<name>",
// about 229 of a raw file name, never cut inside a UTF-8 character), "_",
// the first 16 hex digits of the SHA-256 of the whole of it, and the
// suffix. The same resource always gets the same file, so a second ingest
// finds and replaces it like any other, and a shortened name never equals
// a name that was not shortened (names.go says why). The manifest records each
// resource's full namespace and name beside its path, and the archive log
// each raw file's full path beside its archive copy. A raw path with an
// element over 255 bytes, which the usual file systems cannot hold, is a
// problem.
//
// Ingest takes a context only so that it can be stopped: it checks it
// between raw files, every 64 documents while validating and before every
// write, and returns an error wrapping the context's error when ctx ends.
// It does no I/O of its own to bound.
//
// Every document is parsed once and encoded once: the first pass (read and
// check everything) parses, validates, normalizes and encodes it, parsing
// with ingest's own parser (quickparse.go: yaml.v3's node tree, without its
// tokens and events) where the document is in the plain block style it
// reads, and encoding with ingest's own YAML writer (emit.go: yaml.v3's
// encoder's bytes, without its per-node events) where the tree is of the
// shape it writes, yaml.v3 doing the rest; the second
// pass writes what the first kept, in memory up to MemoryBudget and then in
// Options.Scratch. Memory grows with the number of resource files and the
// largest document, not with the size of raw/ or of its largest file: raw
// files are read one at a time, in each pass (validate, then write, which
// also archives them); one of at most 1 MiB whole, a larger one in pieces
// (rawread.go), with its checksum checked at every read; and documents are
// normalized by a bounded pool of workers whose results are
// consumed in order, so the output is deterministic. With a
// ConcurrentWriter the resource files are written by such a pool too.
// Options.Memo lets a caller that ingests the same fabric again and again
// (the worker) skip checking the managed/ files it has checked before.
package ingest
