package e2e_test

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The import rules of STYLE.md §1 are written down once, as the depguard rules of
// .golangci.yml. TestImportRules reads them from there and applies them to every Go file of the
// module, so that plain `go test` enforces them too, without golangci-lint, and the two cannot
// disagree. checkImports follows depguard's semantics (v2, as golangci-lint v2 runs it) for the
// parts of its syntax the rules use, and refuses any other part rather than misread it.

// TestImportRules checks every package's imports, test files included, against the depguard
// rules of .golangci.yml.
func TestImportRules(t *testing.T) {
	root := filepath.Join("..", "..")
	rules := loadImportRules(t, filepath.Join(root, ".golangci.yml"))
	if len(rules) == 0 {
		t.Fatal(".golangci.yml has no depguard rules; STYLE.md §1 wants one per row of its table")
	}
	res := checkImports(t, rules, root)
	for _, v := range res.violations {
		t.Error(v)
	}
	// A rule whose files glob matches nothing (a moved folder, a typo) checks nothing.
	for _, r := range rules {
		if res.files[r.name] == 0 {
			t.Errorf("depguard rule %q of .golangci.yml applies to no file (files: %q)", r.name, r.filesSrc)
		}
	}
}

// TestImportRulesCatchViolations runs the check of TestImportRules, with the real rules, on a
// made-up module tree that breaks them, so that the check is known to be able to fail. The
// violations it wants are the ones golangci-lint's depguard reports for the same tree.
func TestImportRulesCatchViolations(t *testing.T) {
	rules := loadImportRules(t, filepath.Join("..", "..", ".golangci.yml"))
	const mod = "github.com/fabsync/fabsync/"
	root := t.TempDir()
	files := map[string][]string{
		// ingest may not do I/O, log, or import another fabsync package.
		"internal/ingest/bad.go": {"strings", "os", "log/slog", mod + "internal/tasks"},
		// Its tests may read testdata with os and import ingest itself, but still no network.
		"internal/ingest/bad_test.go": {"os", "path/filepath", mod + "internal/ingest", "net/http"},
		"internal/gitops/bad.go":      {"github.com/go-git/go-git/v5", mod + "internal/ingest", "github.com/redis/go-redis/v9"},
		"cmd/api/main.go":             {"github.com/labstack/echo/v4", mod + "internal/worker", mod + "internal/tasks"},
		"internal/config/bad_test.go": {mod + "internal/config", mod + "internal/tasks"},
		// Like the go tool, the check skips testdata.
		"internal/ingest/testdata/x.go": {"os"},
	}
	for name, imports := range files {
		var src strings.Builder
		src.WriteString("package x\n\nimport (\n")
		for _, imp := range imports {
			fmt.Fprintf(&src, "\t%q\n", imp)
		}
		src.WriteString(")\n")
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, v := range checkImports(t, rules, root).violations {
		got = append(got, v.file+" "+v.imp+" "+v.rule)
	}
	slices.Sort(got)
	want := []string{
		"cmd/api/main.go " + mod + "internal/worker api",
		"internal/config/bad_test.go " + mod + "internal/tasks config",
		"internal/gitops/bad.go " + mod + "internal/ingest gitops",
		"internal/gitops/bad.go github.com/redis/go-redis/v9 gitops",
		"internal/ingest/bad.go " + mod + "internal/tasks ingest",
		"internal/ingest/bad.go log/slog ingest",
		"internal/ingest/bad.go os ingest-io",
		"internal/ingest/bad_test.go net/http ingest",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations found:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// importRule is one compiled depguard rule.
type importRule struct {
	name     string
	filesSrc []string
	mode     string           // "original", "strict" or "lax"
	files    []*regexp.Regexp // the rule applies to a file matching one of these,
	notFiles []*regexp.Regexp // and none of these
	allow    []string
	deny     []string
	desc     map[string]string // deny entry → why
}

// loadImportRules reads the depguard rules of the golangci-lint config at path.
func loadImportRules(t testing.TB, path string) []importRule {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Linters struct {
			Enable   []string `yaml:"enable"`
			Settings struct {
				Depguard struct {
					Rules map[string]yaml.Node `yaml:"rules"`
				} `yaml:"depguard"`
			} `yaml:"settings"`
		} `yaml:"linters"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !slices.Contains(cfg.Linters.Enable, "depguard") {
		t.Errorf("%s does not enable depguard, so golangci-lint does not check the import rules", path)
	}
	var rules []importRule
	for name, node := range cfg.Linters.Settings.Depguard.Rules {
		r, err := compileRule(name, &node)
		if err != nil {
			t.Fatalf("%s: depguard rule %q: %v", path, name, err)
		}
		rules = append(rules, r)
	}
	slices.SortFunc(rules, func(a, b importRule) int { return strings.Compare(a.name, b.name) })
	return rules
}

func compileRule(name string, node *yaml.Node) (importRule, error) {
	// Decode strictly: a setting this test does not know would otherwise be ignored here while
	// depguard obeys it.
	raw, err := yaml.Marshal(node)
	if err != nil {
		return importRule{}, err
	}
	var src struct {
		ListMode string   `yaml:"list-mode"`
		Files    []string `yaml:"files"`
		Allow    []string `yaml:"allow"`
		Deny     []struct {
			Pkg  string `yaml:"pkg"`
			Desc string `yaml:"desc"`
		} `yaml:"deny"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&src); err != nil {
		return importRule{}, err
	}
	r := importRule{name: name, filesSrc: src.Files, mode: strings.ToLower(src.ListMode), allow: src.Allow, desc: map[string]string{}}
	switch r.mode {
	case "":
		r.mode = "original"
	case "original", "strict", "lax":
	default:
		return r, fmt.Errorf("unknown list-mode %q", src.ListMode)
	}
	for _, f := range src.Files {
		neg := strings.HasPrefix(f, "!")
		f = strings.TrimPrefix(f, "!")
		switch f {
		case "$all":
			f = "**/*.go"
		case "$test":
			f = "**/*_test.go"
		}
		re, err := globRegexp(f)
		if err != nil {
			return r, err
		}
		if neg {
			r.notFiles = append(r.notFiles, re)
		} else {
			r.files = append(r.files, re)
		}
	}
	for _, d := range src.Deny {
		r.deny = append(r.deny, d.Pkg)
		r.desc[d.Pkg] = d.Desc
	}
	if len(r.allow) == 0 && len(r.deny) == 0 {
		return r, fmt.Errorf("no allow or deny list")
	}
	for _, list := range [][]string{r.allow, r.deny} {
		for _, a := range list {
			if strings.HasPrefix(a, "$") {
				return r, fmt.Errorf("%s: this test does not expand depguard variables in package lists; extend it", a)
			}
			for _, b := range list {
				x, y := strings.TrimSuffix(a, "$"), strings.TrimSuffix(b, "$")
				if x != y && strings.HasPrefix(y, x) {
					// depguard compares an import only with the nearest entry before it in
					// sorted order, so y would hide x from imports that sort after y.
					return r, fmt.Errorf("%q is a prefix of %q in the same list, which depguard mishandles; keep the shorter or move one to another rule", x, y)
				}
			}
		}
	}
	return r, nil
}

// globRegexp turns a depguard files glob (gobwas/glob with '/' as separator) into a regexp: "**"
// matches anything, "*" anything but '/', "?" one character but '/'.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			if i+1 < len(glob) && glob[i+1] == '*' {
				re.WriteString(".*")
				i++
			} else {
				re.WriteString("[^/]*")
			}
		case '?':
			re.WriteString("[^/]")
		case '[', ']', '{', '}', '\\', '!':
			return nil, fmt.Errorf("files glob %q: this test does not support %q; extend it", glob, c)
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.Compile(re.String())
}

// appliesTo reports whether the rule covers the file with the absolute slash-separated name.
func (r *importRule) appliesTo(file string) bool {
	match := func(res []*regexp.Regexp) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(file) })
	}
	return (len(r.files) == 0 || match(r.files)) && !match(r.notFiles)
}

// matchLen returns the length of the entry of list that matches imp, or -1 for none. An entry
// matches as depguard matches it: ending in '$', exactly; else as a prefix, except that an entry
// with no '.' or '/' (a standard library package) never matches an import holding a '.'.
func matchLen(list []string, imp string) int {
	for _, e := range list {
		var ok bool
		switch {
		case strings.HasSuffix(e, "$"):
			ok = imp == strings.TrimSuffix(e, "$")
		case !strings.ContainsAny(e, "./") && strings.Contains(imp, "."):
			ok = false
		default:
			ok = strings.HasPrefix(imp, e)
		}
		if ok {
			return len(e) // compileRule made sure at most one entry can match
		}
	}
	return -1
}

// allows reports whether the rule lets a covered file import imp, and if not, the deny
// entry's reason.
func (r *importRule) allows(imp string) (bool, string) {
	a, d := matchLen(r.allow, imp), matchLen(r.deny, imp)
	var ok bool
	switch r.mode {
	case "original":
		ok = (len(r.allow) == 0 || a >= 0) && d < 0
	case "strict":
		ok = a >= 0 && (d < 0 || a > d)
	case "lax":
		ok = d < 0 || (a >= 0 && a > d)
	}
	if ok {
		return true, ""
	}
	for _, e := range r.deny {
		if matchLen([]string{e}, imp) >= 0 {
			return false, r.desc[e]
		}
	}
	return false, "not in the allow list"
}

type importViolation struct {
	file, imp, rule, why string
}

func (v importViolation) String() string {
	return fmt.Sprintf("%s imports %s: not allowed by depguard rule %q of .golangci.yml (%s; STYLE.md §1)", v.file, v.imp, v.rule, v.why)
}

type importCheck struct {
	violations []importViolation
	files      map[string]int // rule name → Go files it applies to
}

// checkImports applies rules to every Go file under root, skipping what the go tool skips
// (testdata, vendor, and folders whose names start with '.' or '_').
func checkImports(t testing.TB, rules []importRule, root string) importCheck {
	t.Helper()
	res := importCheck{files: map[string]int{}}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		abs = filepath.ToSlash(abs)
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		var applied []*importRule
		for i := range rules {
			if rules[i].appliesTo(abs) {
				applied = append(applied, &rules[i])
				res.files[rules[i].name]++
			}
		}
		if len(applied) == 0 {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", rel, spec.Path.Value, err)
			}
			for _, r := range applied {
				if ok, why := r.allows(imp); !ok {
					res.violations = append(res.violations, importViolation{file: rel, imp: imp, rule: r.name, why: why})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return res
}
