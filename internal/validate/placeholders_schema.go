package validate

// Placeholder until schema.go lands; delete this file then.

var schemaRules []Rule

type schemaSet struct{}

func compileSchemas(files []CRDFile) (*schemaSet, error) { return &schemaSet{}, nil }
func (s *schemaSet) check(c *docCtx)                          {}
