package validate

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the rules table in README.md")

const (
	tableBegin = "<!-- rules table: written by `go test ./internal/validate -run TestREADMERules -update-readme` -->\n"
	tableEnd   = "<!-- end of rules table -->\n"
)

// rulesTable is the README's table of rules, built from Rules.
func rulesTable() string {
	var b strings.Builder
	b.WriteString("| rule | checks | severity |\n|---|---|---|\n")
	for _, r := range Rules() {
		sev := r.Severity.String()
		if r.Strict {
			sev += " (error with `strict`)"
		}
		b.WriteString("| `" + r.ID + "` | " + strings.ReplaceAll(r.Doc, "|", `\|`) + " | " + sev + " |\n")
	}
	return b.String()
}

// TestREADMERules checks that README.md lists every rule, as Rules has it: the table between
// the two markers is rewritten with -update-readme.
func TestREADMERules(t *testing.T) {
	const path = "../../README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no rules table between the markers %q and %q", tableBegin, tableEnd)
	}
	got, want := s[i+len(tableBegin):j], rulesTable()
	if got == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(s[:i+len(tableBegin)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's rules table is not Rules(); run go test ./internal/validate -run TestREADMERules -update-readme\ngot:\n%s\nwant:\n%s", got, want)
}

// TestRules checks each rule's registration: an ID in kebab case, a one-line doc, a severity.
func TestRules(t *testing.T) {
	for _, r := range Rules() {
		if r.ID == "" || strings.ToLower(r.ID) != r.ID || strings.ContainsAny(r.ID, " _") {
			t.Errorf("rule %q: IDs are lower-case kebab case", r.ID)
		}
		if r.Doc == "" || strings.Contains(r.Doc, "\n") {
			t.Errorf("rule %s: the doc must be one line", r.ID)
		}
		if r.Severity != Error && r.Severity != Warning {
			t.Errorf("rule %s: no severity", r.ID)
		}
		if r.Strict && r.Severity != Warning {
			t.Errorf("rule %s: only a warning can be made an error by strict", r.ID)
		}
	}
}
