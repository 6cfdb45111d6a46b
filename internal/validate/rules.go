package validate

import (
	"slices"
)

// Rule is one check, with a stable ID users can name in validation.disable.
type Rule struct {
	ID       string   // stable, lower-case, e.g. "vpc-name-length"
	Doc      string   // one line: what it checks
	Severity Severity // when the problem is in what a sync brings
	// Strict marks a warning that validation.strict turns into an error.
	Strict bool
}

// Rule IDs used by the engine itself.
const (
	RuleInternal = "internal" // the validator failed on a document; never expected
)

var coreRules = []Rule{
	{ID: RuleInternal, Doc: "the validator itself failed on a document (a bug: please report it)", Severity: Error},
}

// Rules lists every rule, sorted by ID.
func Rules() []Rule {
	out := slices.Concat(coreRules, schemaRules, vpcRules, wiringRules, fabricRules)
	slices.SortFunc(out, func(a, b Rule) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

var ruleByID = func() map[string]Rule {
	m := map[string]Rule{}
	for _, r := range Rules() {
		if _, dup := m[r.ID]; dup {
			panic("validate: rule " + r.ID + " registered twice")
		}
		m[r.ID] = r
	}
	return m
}()

func ruleIDs() []string {
	ids := make([]string, 0, len(ruleByID))
	for _, r := range Rules() {
		ids = append(ids, r.ID)
	}
	return ids
}
