package validate

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Small readers of yaml.v3 nodes for the kind checks. None of them panics
// on a nil node or a node of another shape: they report "not there".

// str returns the string value of a scalar node; ok is false for nil, a
// non-scalar or an explicit null.
func str(n *yaml.Node) (string, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return "", false
	}
	return n.Value, true
}

// getStr is str(Get(n, keys...)).
func getStr(n *yaml.Node, keys ...string) (string, *yaml.Node) {
	v := Get(n, keys...)
	s, ok := str(v)
	if !ok {
		return "", v
	}
	return s, v
}

// intOf returns the integer value of a scalar node that YAML reads as an
// integer (decimal, 0x, 0o); ok is false otherwise.
func intOf(n *yaml.Node) (int, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		var u uint64
		if u, err = strconv.ParseUint(n.Value, 0, 64); err != nil || u > 1<<62 {
			return 0, false
		}
		v = int64(u)
	}
	return int(v), true
}

// boolOf returns the boolean value of a scalar node YAML reads as a bool.
func boolOf(n *yaml.Node) (bool, bool) {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

// items returns the elements of a sequence node (nil for anything else).
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// pairs calls f for each key and value of a mapping node, in order.
func pairs(n *yaml.Node, f func(k, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i], n.Content[i+1])
	}
}

// isNull reports whether n is missing or an explicit null.
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// keyNode returns the key node of key in the mapping n (nil when absent):
// where a problem with a missing value below it is located.
func keyNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return k
		}
	}
	return nil
}

// firstNode returns the first of ns that is not nil (nil when all are): the
// node a problem is located at, from the most to the least precise.
func firstNode(ns ...*yaml.Node) *yaml.Node {
	for _, n := range ns {
		if n != nil {
			return n
		}
	}
	return nil
}

// Subdomain reports whether s is Kubernetes' (and Hedgehog's) lower-case RFC
// 1123 subdomain, the form of metadata.name: the regular expression
// ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ (labels of
// lower-case letters, digits and '-', each starting and ending with a letter or
// digit, joined by '.'), matched by hand: every document is checked, and the
// regexp was 1.5 % of an ingest of real wiring files. The length limit, 253, is
// checked beside it (ingest.ValidName is both).
func Subdomain(s string) bool {
	start := 0 // of the current label
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			switch c := s[i]; {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case c == '-' && i > start:
			default:
				return false
			}
			continue
		}
		if i == start || s[i-1] == '-' { // an empty label, or one ending in '-'
			return false
		}
		start = i + 1
	}
	return true
}
