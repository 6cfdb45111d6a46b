// Package ingest turns the YAML files people drop into a fabric's raw/
// folder into one normalized file per resource under managed/ (the twelve
// Hedgehog fabric kinds) or unmanaged/ (every other kind), archives the
// originals under .hnp/archive/<job>/, and updates .hnp/manifest.yaml and
// .hnp/archive-log.yaml, as SPEC.md §1–2 describe.
//
// The package is pure: it reads only the fs.FS it is handed and changes
// things only through the Writer it is handed. It does no disk or network
// I/O of its own, reads no clock and no environment, never logs, and every
// goroutine it starts has exited by the time Ingest returns. It knows nothing
// about git, queues or HTTP.
//
// Ingest validates every raw file before it writes anything: invalid input
// yields a *ValidationError listing every problem found, located by file,
// document, line and column, and no Writer method is called. Normalize is
// the per-document normalizer; Normalize(Normalize(x)) == Normalize(x) byte
// for byte.
//
// Memory grows with the largest raw file and the number of resource files,
// not with the total size of raw/: raw files are read one at a time, twice
// (validate, then write), and documents are normalized by a bounded pool of
// workers whose results are consumed in order, so the output is
// deterministic.
package ingest
