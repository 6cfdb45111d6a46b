package validate

// Placeholder until wiring.go lands; delete this file then.

var wiringRules []Rule
var wiringKindChecks = map[string]kindCheck{}
