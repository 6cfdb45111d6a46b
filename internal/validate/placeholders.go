package validate

// Placeholders until the rule files land; each helper replaces its part.

var vpcRules, wiringRules, schemaRules []Rule
var vpcKindChecks, wiringKindChecks = map[string]kindCheck{}, map[string]kindCheck{}

type schemaSet struct{}

func compileSchemas(files []CRDFile) (*schemaSet, error) { return &schemaSet{}, nil }
func (s *schemaSet) check(c *docCtx)                     {}
