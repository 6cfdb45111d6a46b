package ingest

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/validate"
)

// DeleteAnnotation, set to the string "true" in a raw document's
// metadata.annotations, makes the document a delete: the resource it names
// (by apiVersion's group, kind, namespace and name; nothing else of the
// document is read) is removed from managed/ or unmanaged/ with its
// manifest line, and the archive log records the removal. Any other value
// of the annotation is a problem.
const DeleteAnnotation = "fabsync.githedgehog.com/delete"

// deleteRequest looks for DeleteAnnotation in metadata md. It returns the
// annotation's value node (nil when there is none), whether it asks for a
// delete, and, when the value is not one ingest understands, a message.
func deleteRequest(md *yaml.Node) (n *yaml.Node, del bool, msg string) {
	an := lookup(md, "annotations")
	if an == nil || an.Kind != yaml.MappingNode {
		return nil, false, "" // the schema checks say what is wrong with it
	}
	n = lookup(an, DeleteAnnotation)
	switch {
	case n == nil:
		return nil, false, ""
	case isString(n) && n.Value == "true":
		return n, true, ""
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool":
		return n, false, fmt.Sprintf("annotation %s is the boolean %s; annotations are strings: write \"true\" (quoted) to delete this resource", DeleteAnnotation, n.Value)
	}
	return n, false, fmt.Sprintf("annotation %s is %s; set it to \"true\" to delete this resource, or remove it", DeleteAnnotation, describe(n))
}

// deletion is a delete document of this ingest.
type deletion struct {
	docPlace
	Missing bool // the resource file does not exist: a warning, nothing to remove
}

// noteDelete records the delete document r of file fileIdx in the first
// pass: a clash with a document that defines the same resource, or with
// another delete of it, is a problem; a delete of a file that does not
// exist is a warning. seen holds the resources defined so far.
func (in *ingester) noteDelete(fileIdx int, r docResult, seen *pathIndex) error {
	f := &in.files[fileIdx]
	id := identityString(r.Group, r.Kind, r.Namespace, r.Name)
	here := docPlace{File: fileIdx, Doc: r.Doc.Index, Line: r.NameLine, Identity: id}
	at := func(sev, format string, args ...any) {
		in.check(Problem{File: f.Path, Document: r.Doc.Index, Line: r.NameLine, Column: r.NameCol,
			Rule: RuleIngest, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	if first, ok := seen.get(r.Path); ok {
		at(SeverityError, "%s is deleted here and defined in %s: a sync can create or delete a resource, not both; drop one of the two documents", id, in.where(in.plan.at(int(first)).place()))
		return nil
	}
	if first, ok := in.deletes[r.Path]; ok {
		at(SeverityError, "duplicate delete of %s: also deleted in %s", id, in.where(first.docPlace))
		return nil
	}
	mode, exists, err := in.t.typeOf(r.Path)
	if err != nil {
		return err
	}
	d := deletion{docPlace: here}
	switch {
	case !exists:
		d.Missing = true
		at(SeverityWarning, "delete of %s: %s does not exist, so there is nothing to delete", id, r.Path)
	case !mode.IsRegular():
		at(SeverityError, "delete of %s: %s is %s, not a resource file; ingest does not remove it", id, r.Path, describeMode(mode))
		return nil
	default:
		if _, msg, err := in.t.writable(r.Path); err != nil {
			return err
		} else if msg != "" {
			at(SeverityError, "delete of %s: %s", id, msg)
			return nil
		}
		if in.v != nil && r.Managed {
			in.facts.Add(validate.NewDeleted(r.Kind, r.Namespace, r.Name,
				validate.Pos{File: f.Path, Document: r.Doc.Index, Line: r.NameLine, Column: r.NameCol}, true))
		}
	}
	if in.deletes == nil {
		in.deletes = map[string]deletion{}
	}
	in.deletes[r.Path] = d
	in.plan.add(in.planned(fileIdx, r))
	return nil
}

// where names a document of this ingest for messages: "raw/a.yaml
// document 2 (line 5)".
func (in *ingester) where(p docPlace) string {
	return fmt.Sprintf("%s document %d (line %d)", in.files[p.File].Path, p.Doc, p.Line)
}

// deleted reports whether this ingest deletes the resource file p.
func (in *ingester) deleted(p string) bool {
	_, ok := in.deletes[p]
	return ok
}

// removeResource is the second pass over the delete document p: it
// removes the resource file, unless it was missing.
func (in *ingester) removeResource(ctx context.Context, fileIdx int, p *planned, lf *logFile) error {
	d, ok := in.deletes[p.Path]
	if !ok || d.File != fileIdx || d.Doc != int(p.Document) {
		return fmt.Errorf("read %s: %w: delete of document %d not planned", in.files[fileIdx].Path, errPanic, p.Document)
	}
	if d.Missing {
		return nil
	}
	prefix := "unmanaged"
	if p.Managed {
		prefix = "managed"
	}
	if err := in.remove(ctx, p.Path, prefix); err != nil {
		return err
	}
	in.res.Deleted++
	in.res.Changes = append(in.res.Changes, FileChange{Path: p.Path, Action: ChangeDeleted})
	lf.Deleted = append(lf.Deleted, p.Path)
	return nil
}

// remove hands one removal to the Writer after a last check that the
// path stays where it belongs.
func (in *ingester) remove(ctx context.Context, name, prefix string) error {
	if !safePath(name, prefix) {
		return fmt.Errorf("remove %q: %w: unsafe path", name, errPanic)
	}
	if err := stopped(ctx, "remove", name); err != nil {
		return err
	}
	in.wrote = true
	if err := in.w.Remove(name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	in.res.Written = append(in.res.Written, name)
	return nil
}
