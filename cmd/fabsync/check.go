package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fabsync/fabsync/internal/fabricdir"
	fabingest "github.com/fabsync/fabsync/internal/ingest" // "ingest" is the job stage type of client.go
	"github.com/fabsync/fabsync/internal/validate"
)

// This file is `fabsync check [DIR]`: ingestion and validation of a fabric folder on the user's
// disk, with no server, git or Redis, writing nothing. ingest_cmd.go is `fabsync ingest [DIR]`,
// which writes what check only plans. Both read the user's own disk: DIR and --crds are paths as
// the user gave them, relative to the current directory.

// Output formats of check.
const (
	formatText   = "text"
	formatJSON   = "json"
	formatGitHub = "github"
)

// checkJobID is the JobID check hands ingest: it only names the archive folder, which check
// never writes.
const checkJobID = "check"

// validationFlags are the flags of check and ingest that say how documents are checked, as the
// validation: block of the fabrics file does.
type validationFlags struct {
	crds    []string
	strict  bool
	disable []string
}

func (v *validationFlags) register(fs *flag.FlagSet) {
	fs.Func("crds", "", func(s string) error {
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				v.crds = append(v.crds, p)
			}
		}
		return nil
	})
	fs.BoolVar(&v.strict, "strict", false, "")
	fs.Func("disable", "", func(s string) error {
		for id := range strings.SplitSeq(s, ",") {
			if id = strings.TrimSpace(id); id != "" {
				v.disable = append(v.disable, id)
			}
		}
		return nil
	})
}

func checkFlags(fs *flag.FlagSet) runner {
	var v validationFlags
	v.register(fs)
	format := fs.String("format", formatText, "")
	strictWarnings := fs.Bool("warnings-as-errors", false, "")
	return func(ctx context.Context, c *cli, args []string) int {
		switch *format {
		case formatText, formatJSON, formatGitHub:
		default:
			return c.usageError("check", fmt.Sprintf("--format %q: want text, json or github", *format))
		}
		return c.check(ctx, dirArg(args), v, *format, *strictWarnings)
	}
}

// dirArg is the optional DIR argument, "." when it is not given.
func dirArg(args []string) string {
	if len(args) == 0 {
		return "."
	}
	return args[0]
}

// check runs `fabsync check [DIR]`.
func (c *cli) check(ctx context.Context, dir string, v validationFlags, format string, warningsAsErrors bool) int {
	root, msg := openFabricDir(dir)
	if msg != "" {
		return c.usageError("check", msg)
	}
	defer func() { _ = root.Close() }()
	val, msg := v.validator()
	if msg != "" {
		return c.usageError("check", msg)
	}
	scratch, done, err := fabricdir.Scratch("")
	if err != nil {
		return c.fail(err)
	}
	defer done()
	res, err := fabingest.Ingest(ctx, root.FS(), fabingest.Options{JobID: checkJobID, Time: c.now().UTC(), Validator: val, Scratch: scratch}, dryWriter{})
	var ve *fabingest.ValidationError
	switch {
	case errors.As(err, &ve):
		res = nil
	case err != nil:
		return c.fail(fmt.Errorf("check %s: %w", dir, err))
	}
	probs := checkProblems(res, ve)
	errs, warns := countProblems(probs)
	code := exitOK
	if errs > 0 || (warningsAsErrors && warns > 0) {
		code = exitPartial
	}
	switch format {
	case formatJSON:
		if err := writeProblemsJSON(c.stdout, probs, errs, warns); err != nil {
			return c.fail(err)
		}
	case formatGitHub:
		prefix, err := repoPrefix(dir)
		if err != nil {
			return c.fail(err)
		}
		writeAnnotations(c.stdout, probs, prefix)
		fmt.Fprintln(c.stdout, checkSummary(dir, res, errs, warns))
	default:
		fmt.Fprintln(c.stdout, checkSummary(dir, res, errs, warns))
		if len(probs) > 0 {
			c.writeProblems(c.stdout, probs)
		}
	}
	return code
}

// openFabricDir opens the fabric folder dir, or says why it cannot be used (a usage error: the
// user named the wrong folder). A symbolic link inside it is ingest's to refuse; dir itself
// may be one (it is the user's own path).
func openFabricDir(dir string) (*os.Root, string) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Sprintf("%s: no such folder", dir)
	case err != nil:
		return nil, fmt.Sprintf("%s: %v", dir, pathErr(err))
	case !st.IsDir():
		return nil, fmt.Sprintf("%s is a file; give the fabric folder (the one holding raw/)", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", dir, pathErr(err))
	}
	found := false
	for _, d := range []string{"raw", "managed"} {
		if _, err := root.Lstat(d); err == nil {
			found = true
		}
	}
	if !found {
		_ = root.Close()
		return nil, fmt.Sprintf("%s is not a fabric folder: it has neither raw/ nor managed/", dir)
	}
	return root, ""
}

// pathErr is err without the path that *fs.PathError repeats (the caller names it as the user
// wrote it).
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// dryWriter is the Writer of check: it records nothing, so that ingest plans every change (and
// counts it) without making any.
type dryWriter struct{}

func (dryWriter) WriteFile(string, []byte) error { return nil }
func (dryWriter) Remove(string) error            { return nil }

// CRD files are bounded as the worker bounds them: each, and all of them together.
const (
	maxCRDFileBytes  = 8 << 20
	maxCRDTotalBytes = 64 << 20
)

// validator compiles the validation flags, or says what is wrong with them.
func (v validationFlags) validator() (*validate.Validator, string) {
	crds, msg := readCRDFiles(v.crds)
	if msg != "" {
		return nil, msg
	}
	if len(crds) == 0 && !v.strict && len(v.disable) == 0 {
		return validate.Default(), ""
	}
	val, err := validate.New(validate.Config{CRDs: crds, Strict: v.strict, Disable: v.disable})
	if err != nil {
		var ce *validate.ConfigError
		if errors.As(err, &ce) && ce.File == "" && strings.HasPrefix(ce.Msg, "disable: ") {
			// validate lists every rule after the message; the README's table is easier to read.
			msg, _, _ := strings.Cut(ce.Msg, " (rules: ")
			return nil, "--" + msg + " (the rules table in the README lists the rule IDs)"
		}
		if errors.As(err, &ce) {
			return nil, "--crds: " + strings.TrimPrefix(err.Error(), "validation: ")
		}
		return nil, err.Error()
	}
	return val, ""
}

// readCRDFiles reads the CRD files or folders paths names (relative to the current directory,
// or absolute). A folder gives its regular *.yaml and *.yml files at any depth, in path order.
// Each file is named in messages as the user's path leads to it.
func readCRDFiles(paths []string) ([]validate.CRDFile, string) {
	var out []validate.CRDFile
	total := 0
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Sprintf("--crds %s: no such file or folder", p)
			}
			return nil, fmt.Sprintf("--crds %s: %v", p, pathErr(err))
		}
		files := []string{p}
		if st.IsDir() {
			rel, err := fabricdir.YAMLFiles(os.DirFS(p), ".")
			if err != nil {
				return nil, fmt.Sprintf("--crds %s: cannot list the folder: %v", p, pathErr(err))
			}
			files = nil
			for _, f := range rel {
				files = append(files, filepath.Join(p, filepath.FromSlash(f)))
			}
			if len(files) == 0 {
				return nil, fmt.Sprintf("--crds %s: the folder has no *.yaml or *.yml files", p)
			}
		}
		for _, f := range files {
			data, err := fabricdir.ReadBounded(os.DirFS(filepath.Dir(f)), filepath.Base(f), maxCRDFileBytes)
			if err != nil {
				return nil, fmt.Sprintf("--crds %s: %v", f, pathErr(err))
			}
			if total += len(data); total > maxCRDTotalBytes {
				return nil, fmt.Sprintf("--crds: the CRD files are over %d MiB together", maxCRDTotalBytes>>20)
			}
			out = append(out, validate.CRDFile{Name: f, Data: data})
		}
	}
	return out, ""
}

// checkProblems is every problem ingest found, in the API's shape (the job's ingest.problems):
// the errors and then the warnings of a failed ingest, or the warnings of a successful one,
// including those it reports as text alone (a kind carried to unmanaged/).
func checkProblems(res *fabingest.Result, ve *fabingest.ValidationError) []problem {
	var probs []problem
	add := func(ps []fabingest.Problem) {
		for _, p := range ps {
			probs = append(probs, problem{
				docError: docError{File: p.File, Document: p.Document, Line: p.Line, Column: p.Column, Message: p.Message},
				Rule:     p.Rule, Severity: p.Severity, Excerpt: p.Excerpt,
			})
		}
	}
	if ve != nil {
		add(ve.Problems)
		add(ve.Warnings)
		return probs
	}
	if res == nil {
		return nil
	}
	add(res.Problems)
	var more []problem
	for _, msg := range unlocatedWarnings(res.Warnings, probs) {
		more = append(more, textWarning(msg))
	}
	slices.SortStableFunc(more, func(a, b problem) int {
		return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Document, b.Document))
	})
	return append(probs, more...)
}

// locatedText matches ingest's text warnings that name their file and document:
// "raw/a.yaml document 3: kind Foo (apiVersion x/v1) is not a fabric kind; carried to ...".
var locatedText = regexp.MustCompile(`^(\S+) document ([0-9]+): (.+)$`)

// textWarning turns one of ingest's text warnings into a problem, located at its file and
// document when the text names them.
func textWarning(msg string) problem {
	p := problem{docError: docError{Message: msg}, Rule: fabingest.RuleIngest, Severity: severityWarning}
	if m := locatedText.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[2]); err == nil {
			p.File, p.Document, p.Message = m[1], n, m[3]
		}
	}
	return p
}

func countProblems(probs []problem) (errs, warns int) {
	for _, p := range probs {
		if p.isWarning() {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}

// checkSummary is the line check prints first (text) or last (github).
func checkSummary(dir string, res *fabingest.Result, errs, warns int) string {
	where := filepath.Clean(dir)
	if where == "." {
		where = "the current folder"
	}
	switch {
	case errs > 0:
		return fmt.Sprintf("Checked %s: %s; a sync would stop and write nothing.", where, problemCounts(errs, warns))
	case res == nil || res.Files == 0:
		return fmt.Sprintf("Nothing to check in %s: raw/ has no YAML files.", where)
	}
	s := fmt.Sprintf("Checked %s (%s) in %s: ", plural(res.Files, "raw file"), plural(res.Documents, "document"), where)
	if warns == 0 {
		s += "no problems."
	} else {
		s += problemCounts(0, warns) + ", which would not stop a sync."
	}
	return s + fmt.Sprintf("\nIngesting them would create %s, update %d and leave %d unchanged.",
		plural(res.Created, "resource file"), res.Updated, res.Unchanged)
}

// writeProblemsJSON writes check's JSON document.
func writeProblemsJSON(w io.Writer, probs []problem, errs, warns int) error {
	if probs == nil {
		probs = []problem{}
	}
	// The fields of the API's problems, in its order (docError's fields come first).
	type jsonProblem struct {
		File     string `json:"file"`
		Document int    `json:"document"`
		Line     int    `json:"line"`
		Column   int    `json:"column"`
		Message  string `json:"message"`
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Excerpt  string `json:"excerpt"`
	}
	out := struct {
		Problems []jsonProblem `json:"problems"`
		Errors   int           `json:"errors"`
		Warnings int           `json:"warnings"`
	}{Problems: []jsonProblem{}, Errors: errs, Warnings: warns}
	for _, p := range probs {
		out.Problems = append(out.Problems, jsonProblem{p.File, p.Document, p.Line, p.Column, p.Message, p.Rule, p.Severity, p.Excerpt})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// repoPrefix is the slash-separated path of the fabric folder dir from the root of the git
// repository holding it (the first folder up from dir with a .git file or folder), or from the
// current directory outside any repository: what GitHub needs to put an annotation on a line
// of a pull request.
func repoPrefix(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find the repository of %s: %w", dir, err)
	}
	base := ""
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			base = d
			break
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	if base == "" {
		if base, err = os.Getwd(); err != nil {
			return "", fmt.Errorf("find the current directory: %w", err)
		}
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return "", fmt.Errorf("find the repository of %s: %w", dir, err)
	}
	return filepath.ToSlash(rel), nil
}

// writeAnnotations writes one GitHub Actions workflow command per problem,
// "::error file=F,line=L,col=C,title=RULE::MESSAGE", file relative to the repository root
// (prefix joined with the problem's file), so that GitHub shows it on the line of the pull
// request. Unknown parts are left out.
func writeAnnotations(w io.Writer, probs []problem, prefix string) {
	for _, p := range probs {
		cmd := "error"
		if p.isWarning() {
			cmd = "warning"
		}
		var props []string
		if p.File != "" {
			props = append(props, "file="+escapeProperty(path.Join(prefix, p.File)))
			if p.Line > 0 {
				props = append(props, "line="+strconv.Itoa(p.Line))
				if p.Column > 0 {
					props = append(props, "col="+strconv.Itoa(p.Column))
				}
			}
		}
		if p.Rule != "" {
			props = append(props, "title="+escapeProperty(p.Rule))
		}
		msg := p.Message
		if p.Line == 0 && p.Document > 0 {
			msg = "document " + strconv.Itoa(p.Document) + ": " + msg
		}
		sep := ""
		if len(props) > 0 {
			sep = " "
		}
		fmt.Fprintf(w, "::%s%s%s::%s\n", cmd, sep, strings.Join(props, ","), escapeData(msg))
	}
}

// escapeData escapes the message of a workflow command as the runner expects, so that a
// newline in it cannot end the command (and start another); other control characters are
// written as Go escapes, as in the text output.
func escapeData(s string) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	return printable(s)
}

// escapeProperty escapes a property value of a workflow command: as the message, and ',' and
// ':', which would end the value.
func escapeProperty(s string) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
	return printable(s)
}
