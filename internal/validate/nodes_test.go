package validate

import (
	"regexp"
	"testing"
)

// TestSubdomain holds Subdomain to the regular expression it stands for, on every string of
// up to six characters over an alphabet of the characters that matter (a lower-case letter,
// a digit, '-', '.', and two that are never allowed), and on names from the wiring samples.
func TestSubdomain(t *testing.T) {
	re := regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	check := func(s string) {
		if got, want := Subdomain(s), re.MatchString(s); got != want {
			t.Errorf("Subdomain(%q) = %v; the regexp says %v", s, got, want)
		}
	}
	for _, s := range []string{"", "leaf-1", "ds3000-01--external--ds2000-02", "server-1--mclag--switch-1--switch-2",
		"a.b.c", "a..b", ".a", "a.", "-a", "a-", "a.-b", "a-.b", "A", "a_b", "é"} {
		check(s)
	}
	const alphabet = "a0-.A_"
	var gen func(prefix string)
	gen = func(prefix string) {
		check(prefix)
		if len(prefix) == 6 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix + alphabet[i:i+1])
		}
	}
	gen("")
}
