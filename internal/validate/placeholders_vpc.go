package validate

// Placeholder until vpc.go lands; delete this file then.

var vpcRules []Rule
var vpcKindChecks = map[string]kindCheck{}
