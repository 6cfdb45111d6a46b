package plan

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Bounds of the summary.
const (
	maxNamed      = 5       // resources (or groups of a kind) named per action
	maxFields     = 3       // field changes named per resource
	maxParse      = 8 << 20 // bytes of a file parsed for the summary; larger ones are named by path
	maxDepth      = 64      // nesting compared
	maxVisits     = 1 << 16 // nodes compared per resource
	maxPlanVisits = 1 << 22 // nodes compared per Plan
	maxCanon      = 1 << 14 // list size (old × new elements) matched by LCS; larger lists by index
	maxValueLen   = 40      // runes of a value shown
	maxNameLen    = 80      // runes of a name, field path or file path shown
)

// resource is one Kubernetes-style document of a resource file.
type resource struct {
	kind, name, ns string
	path           string
	doc            *yaml.Node // the document's mapping
}

func (r *resource) key() string { return r.kind + "\x00" + r.ns + "\x00" + r.name }

// parseResources returns the resources of a file, or not ok when it does
// not parse as a stream of resources with kind and metadata.name.
func parseResources(b []byte, path string) (res []resource, ok bool) {
	if len(b) > maxParse {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			res, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return res, true
		}
		if err != nil {
			return nil, false
		}
		root := deref(&n)
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = deref(root.Content[0])
		}
		if root == nil || root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
			continue // an empty document
		}
		if root.Kind != yaml.MappingNode {
			return nil, false
		}
		kind := scalarAt(root, "kind")
		meta := valueOf(root, "metadata")
		name, ns := scalarAt(meta, "name"), scalarAt(meta, "namespace")
		if kind == "" || name == "" {
			return nil, false
		}
		if ns == "" {
			ns = "default" // Hedgehog's objects live in the default namespace
		}
		res = append(res, resource{kind: kind, name: name, ns: ns, path: path, doc: root})
	}
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// valueOf returns the value of key in mapping m, or nil.
func valueOf(m *yaml.Node, key string) *yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := deref(m.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

// scalarAt returns the scalar value of key in mapping m, or "".
func scalarAt(m *yaml.Node, key string) string {
	if v := valueOf(m, key); v != nil && v.Kind == yaml.ScalarNode && v.ShortTag() != "!!null" {
		return v.Value
	}
	return ""
}

// item is one thing the summary names: a resource (kind and name) or, when
// kind is empty, a file by its path.
type item struct {
	kind, name string
	details    []string // of a change: the field changes named
	more       int      // field changes not named
	incomplete bool     // the comparison stopped early
}

// summarize describes the changes (sorted by path, with their actions) in
// the fabric's terms.
func summarize(changes []Change, actions []string) string {
	var olds, news []resource
	var adds, removes, changes2 []item
	parsed := map[string]bool{} // updated files both of whose sides parse
	for i, c := range changes {
		switch actions[i] {
		case Created:
			rs, ok := parseResources(c.New, c.Path)
			if !ok || len(rs) == 0 {
				adds = append(adds, item{name: c.Path})
			}
			news = append(news, rs...)
		case Deleted:
			rs, ok := parseResources(c.Old, c.Path)
			if !ok || len(rs) == 0 {
				removes = append(removes, item{name: c.Path})
			}
			olds = append(olds, rs...)
		case Updated:
			ro, okOld := parseResources(c.Old, c.Path)
			rn, okNew := parseResources(c.New, c.Path)
			if !okOld || !okNew {
				changes2 = append(changes2, item{name: c.Path})
				continue
			}
			parsed[c.Path] = true
			olds = append(olds, ro...)
			news = append(news, rn...)
		}
	}

	// Match old and new resources by kind, namespace and name; the n-th
	// duplicate of a key matches the n-th.
	keyed := func(rs []resource) []string {
		seen := map[string]int{}
		keys := make([]string, len(rs))
		for i := range rs {
			k := rs[i].key()
			keys[i] = k + "\x00" + strconv.Itoa(seen[k])
			seen[k]++
		}
		return keys
	}
	oldKeys, newKeys := keyed(olds), keyed(news)
	newAt := make(map[string]int, len(news))
	for i, k := range newKeys {
		newAt[k] = i
	}
	matched := make([]bool, len(news))
	mentioned := map[string]bool{}
	visits := 0
	for i := range olds {
		o := &olds[i]
		j, ok := newAt[oldKeys[i]]
		if !ok {
			removes = append(removes, item{kind: o.kind, name: o.name})
			mentioned[o.path] = true
			continue
		}
		matched[j] = true
		n := &news[j]
		c := comparer{kind: o.kind, visits: min(maxVisits, maxPlanVisits-visits)}
		if o.path != n.path {
			c.note("moves to " + readable(n.path, maxNameLen))
		}
		c.walk(nil, o.doc, n.doc, 0)
		visits = min(maxPlanVisits, visits+min(maxVisits, maxPlanVisits-visits)-max(c.visits, 0))
		if c.total == 0 && !c.incomplete {
			continue
		}
		changes2 = append(changes2, item{kind: o.kind, name: o.name, details: c.shown, more: c.total - len(c.shown), incomplete: c.incomplete})
		mentioned[o.path], mentioned[n.path] = true, true
	}
	for j := range news {
		if !matched[j] {
			adds = append(adds, item{kind: news[j].kind, name: news[j].name})
			mentioned[news[j].path] = true
		}
	}
	for i, c := range changes {
		if actions[i] == Updated && parsed[c.Path] && !mentioned[c.Path] {
			changes2 = append(changes2, item{name: c.Path, details: []string{"comments or formatting only"}})
			mentioned[c.Path] = true
		}
	}

	var parts []string
	if len(adds) > 0 {
		parts = append(parts, "adds "+listGroups(adds))
	}
	sortItems(changes2)
	for i, it := range changes2 {
		if i == maxNamed {
			parts = append(parts, "and changes "+strconv.Itoa(len(changes2)-i)+" more "+plural("resource", len(changes2)-i))
			break
		}
		parts = append(parts, "changes "+it.label()+it.describe())
	}
	if len(removes) > 0 {
		parts = append(parts, "removes "+listGroups(removes))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, "; ")
}

// label names an item: "Switch leaf-03", or a file's path.
func (it item) label() string {
	if it.kind == "" {
		return readable(it.name, maxNameLen)
	}
	return readable(it.kind, maxNameLen) + " " + readable(it.name, maxNameLen)
}

// describe renders the field changes of a changed item: ": a, b, c and N more".
func (it item) describe() string {
	ds := append([]string(nil), it.details...)
	switch {
	case it.more > 0 && it.incomplete:
		ds = append(ds, strconv.Itoa(it.more)+" more and others")
	case it.more > 0:
		ds = append(ds, strconv.Itoa(it.more)+" more")
	case it.incomplete && len(ds) > 0:
		ds = append(ds, "more")
	case it.incomplete:
		ds = append(ds, "too large to compare")
	}
	if len(ds) == 0 {
		return ""
	}
	return ": " + joinList(ds)
}

// listGroups renders added or removed items grouped by kind: a single one
// by name, several by count ("Switch leaf-03 and 4 Connections").
func listGroups(items []item) string {
	sortItems(items)
	type group struct {
		first item
		n     int
	}
	var groups []group
	for _, it := range items {
		if k := len(groups) - 1; k >= 0 && it.kind != "" && groups[k].first.kind == it.kind {
			groups[k].n++
			continue
		}
		groups = append(groups, group{it, 1})
	}
	var names []string
	rest := 0
	for i, g := range groups {
		switch {
		case i >= maxNamed:
			rest += g.n
		case g.n == 1:
			names = append(names, g.first.label())
		default:
			names = append(names, strconv.Itoa(g.n)+" "+plural(readable(g.first.kind, maxNameLen), g.n))
		}
	}
	if rest > 0 {
		names = append(names, strconv.Itoa(rest)+" more "+plural("resource", rest))
	}
	return joinList(names)
}

// joinList joins as English does: "a", "a and b", "a, b and c".
func joinList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// kindOrder is the order of Hedgehog's kinds in a summary, roughly that in
// which a fabric is built; other kinds follow in alphabetical order.
var kindOrder = map[string]int{}

func init() {
	for i, k := range []string{
		"VLANNamespace", "IPv4Namespace", "SwitchProfile", "ServerProfile",
		"SwitchGroup", "Switch", "Server", "Connection",
		"VPC", "VPCAttachment", "VPCPeering",
		"External", "ExternalAttachment", "ExternalPeering",
		"Gateway", "GatewayPeering",
	} {
		kindOrder[k] = i + 1
	}
}

// sortItems orders items by kind (see kindOrder), then name; files named
// by path come last.
func sortItems(items []item) {
	rank := func(it item) int {
		switch r, ok := kindOrder[it.kind]; {
		case it.kind == "":
			return 1 << 30
		case ok:
			return r
		default:
			return len(kindOrder) + 1
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i], items[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})
}

// plural is the English plural of a kind when n is not 1.
func plural(s string, n int) string {
	if n == 1 || s == "" {
		return s
	}
	lower := strings.ToLower(s)
	switch {
	case strings.HasSuffix(lower, "s"), strings.HasSuffix(lower, "x"), strings.HasSuffix(lower, "z"),
		strings.HasSuffix(lower, "ch"), strings.HasSuffix(lower, "sh"):
		return s + "es"
	case strings.HasSuffix(lower, "y") && len(s) > 1 && !strings.ContainsRune("aeiou", rune(lower[len(lower)-2])):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

// readable makes a name safe for a one-line summary: clipped to n runes,
// and quoted when empty or holding control characters.
func readable(s string, n int) string {
	if s == "" || !utf8.ValidString(s) || strings.IndexFunc(s, isControl) >= 0 {
		return strconv.Quote(clip(s, n))
	}
	return clip(s, n)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// clip shortens s to n runes, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, k := 0, 0
	for i < len(s) && k < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		k++
	}
	return s[:i] + "…"
}

// elem is one step of a field path: a mapping key or a list index.
type elem struct {
	key string
	idx int // -1 for a key
}

// comparer compares two versions of a resource field by field.
type comparer struct {
	kind       string
	shown      []string // the first maxFields changes
	total      int      // changes found
	visits     int      // nodes left to visit
	incomplete bool
}

func (c *comparer) note(s string) {
	c.total++
	if len(c.shown) < maxFields {
		c.shown = append(c.shown, s)
	}
}

// full reports whether the changes named are already all there is room
// for, so later ones need only be counted.
func (c *comparer) full() bool { return len(c.shown) >= maxFields }

func (c *comparer) changed(path []elem, a, b *yaml.Node) {
	if c.full() {
		c.total++
		return
	}
	va, vb := value(a, false), value(b, false)
	if va == vb {
		va, vb = value(a, true), value(b, true)
	}
	if va == vb {
		va, vb = a.ShortTag()+" "+va, b.ShortTag()+" "+vb
	}
	c.note(c.render(path) + " " + va + " → " + vb)
}

func (c *comparer) addedOrRemoved(verb string, path []elem, n *yaml.Node) {
	if c.full() {
		c.total++
		return
	}
	s := verb + " " + c.render(path)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" {
		s += " " + value(n, false)
	}
	c.note(s)
}

// walk compares a and b at path.
func (c *comparer) walk(path []elem, a, b *yaml.Node, depth int) {
	a, b = deref(a), deref(b)
	c.visits--
	if c.visits < 0 || depth > maxDepth || a == nil || b == nil {
		c.incomplete = true
		return
	}
	if a.Kind == yaml.DocumentNode && len(a.Content) == 1 {
		a = deref(a.Content[0])
	}
	if b.Kind == yaml.DocumentNode && len(b.Content) == 1 {
		b = deref(b.Content[0])
	}
	if a == nil || b == nil {
		c.incomplete = true
		return
	}
	if a.Kind != b.Kind {
		c.changed(path, a, b)
		return
	}
	switch a.Kind {
	case yaml.MappingNode:
		ak, av := entries(a)
		bk, bv := entries(b)
		at := make(map[string]int, len(ak))
		for i, k := range ak {
			at[k] = i
		}
		bt := make(map[string]bool, len(bk))
		for j, k := range bk {
			bt[k] = true
			p := append(path[:len(path):len(path)], elem{k, -1})
			if i, ok := at[k]; ok {
				c.walk(p, av[i], bv[j], depth+1)
			} else {
				c.addedOrRemoved("adds", p, deref(bv[j]))
			}
		}
		for i, k := range ak {
			if !bt[k] {
				c.addedOrRemoved("removes", append(path[:len(path):len(path)], elem{k, -1}), deref(av[i]))
			}
		}
	case yaml.SequenceNode:
		c.walkList(path, a.Content, b.Content, depth)
	default:
		if a.ShortTag() != b.ShortTag() || a.Value != b.Value {
			c.changed(path, a, b)
		}
	}
}

// entries returns the keys (first occurrence of each) and values of a
// mapping.
func entries(m *yaml.Node) (keys []string, vals []*yaml.Node) {
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := keyString(m.Content[i])
		if seen[k] {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
		vals = append(vals, m.Content[i+1])
	}
	return keys, vals
}

func keyString(k *yaml.Node) string {
	k = deref(k)
	if k != nil && k.Kind == yaml.ScalarNode {
		return k.Value
	}
	var b strings.Builder
	budget := 256
	canon(&b, k, 0, &budget)
	return b.String()
}

// walkList compares two lists: elements equal in both are matched by a
// longest common subsequence (index by index for long lists), and the
// unmatched between two matches are compared pairwise, the extra ones
// added or removed.
func (c *comparer) walkList(path []elem, a, b []*yaml.Node, depth int) {
	at := func(i int) []elem { return append(path[:len(path):len(path)], elem{"", i}) }
	if len(a)*len(b) > maxCanon || len(a) == 0 || len(b) == 0 {
		for j := 0; j < len(a) || j < len(b); j++ {
			switch {
			case j >= len(a):
				c.addedOrRemoved("adds", at(j), deref(b[j]))
			case j >= len(b):
				c.addedOrRemoved("removes", at(j), deref(a[j]))
			default:
				c.walk(at(j), a[j], b[j], depth+1)
			}
		}
		return
	}
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i, n := range a {
		ka[i] = c.canonical(n)
	}
	for j, n := range b {
		kb[j] = c.canonical(n)
	}
	// lcs[i][j]: length of the LCS of ka[i:] and kb[j:].
	w := len(b) + 1
	lcs := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if ka[i] == kb[j] {
				lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
			} else {
				lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
			}
		}
	}
	gap := func(i0, i1, j0, j1 int) {
		for k := 0; i0+k < i1 || j0+k < j1; k++ {
			i, j := i0+k, j0+k
			switch {
			case i >= i1:
				c.addedOrRemoved("adds", at(j), deref(b[j]))
			case j >= j1:
				c.addedOrRemoved("removes", at(i), deref(a[i]))
			default:
				c.walk(at(j), a[i], b[j], depth+1)
			}
		}
	}
	i, j, gi, gj := 0, 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case ka[i] == kb[j]:
			gap(gi, i, gj, j)
			i++
			j++
			gi, gj = i, j
		case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
			i++
		default:
			j++
		}
	}
	gap(gi, len(a), gj, len(b))
}

// canonical is a string equal for equal values, key order aside.
func (c *comparer) canonical(n *yaml.Node) string {
	var b strings.Builder
	budget := c.visits
	canon(&b, n, 0, &budget)
	if budget < 0 {
		c.incomplete = true
		budget = 0
	}
	c.visits = budget
	return b.String()
}

func canon(b *strings.Builder, n *yaml.Node, depth int, budget *int) {
	n = deref(n)
	*budget--
	if n == nil || depth > maxDepth || *budget < 0 {
		b.WriteString("?")
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		b.WriteByte('D')
		for _, c := range n.Content {
			canon(b, c, depth+1, budget)
		}
	case yaml.SequenceNode:
		b.WriteString("[")
		for _, c := range n.Content {
			canon(b, c, depth+1, budget)
			b.WriteByte(',')
		}
		b.WriteString("]")
	case yaml.MappingNode:
		type kv struct{ k, v string }
		var kvs []kv
		for i := 0; i+1 < len(n.Content); i += 2 {
			var kb, vb strings.Builder
			canon(&kb, n.Content[i], depth+1, budget)
			canon(&vb, n.Content[i+1], depth+1, budget)
			kvs = append(kvs, kv{kb.String(), vb.String()})
		}
		sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
		b.WriteString("{")
		for _, e := range kvs {
			b.WriteString(e.k)
			b.WriteByte(':')
			b.WriteString(e.v)
			b.WriteByte(',')
		}
		b.WriteString("}")
	default:
		b.WriteString(strconv.Quote(n.ShortTag()))
		b.WriteString(strconv.Quote(n.Value))
	}
}

// render makes a field path readable: dotted keys with list indices
// ("unbundled.link.switch.port", "mclag.links[0].switch.port"), without a
// leading "spec.", and VPC subnets, a mapping by subnet name, as
// "subnet default vlan".
func (c *comparer) render(path []elem) string {
	isKey := func(i int, k string) bool { return len(path) > i && path[i].idx < 0 && path[i].key == k }
	var b strings.Builder
	switch {
	case c.kind == "VPC" && isKey(0, "spec") && isKey(1, "subnets") && len(path) > 2 && path[2].idx < 0:
		b.WriteString("subnet ")
		b.WriteString(readable(path[2].key, maxNameLen))
		if len(path) > 3 {
			b.WriteByte(' ')
			dotted(&b, path[3:])
		}
	case isKey(0, "spec") && len(path) > 1:
		dotted(&b, path[1:])
	case len(path) == 0:
		b.WriteString("the document")
	default:
		dotted(&b, path)
	}
	return clip(b.String(), maxNameLen)
}

func dotted(b *strings.Builder, path []elem) {
	for i, e := range path {
		switch {
		case e.idx >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(e.idx))
			b.WriteByte(']')
		case e.key == "" || strings.ContainsAny(e.key, ". []\"") || strings.IndexFunc(e.key, isControl) >= 0 || !utf8.ValidString(e.key):
			b.WriteByte('[')
			b.WriteString(strconv.Quote(clip(e.key, maxValueLen)))
			b.WriteByte(']')
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.key)
		}
	}
}

// value renders a value for a summary: a scalar as written (quoted when it
// is a string that would read ambiguously, or when quote), a mapping or a
// list as "{…}" or "[…]".
func value(n *yaml.Node, quote bool) string {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return "{}"
		}
		return "{…}"
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return "[]"
		}
		return "[…]"
	case yaml.ScalarNode:
	default:
		return "…"
	}
	if n.ShortTag() == "!!null" {
		return "null"
	}
	v := n.Value
	str := n.ShortTag() == "!!str"
	if (str && (quote || v == "")) || v != strings.TrimSpace(v) ||
		strings.ContainsAny(v, ",;\"→") || strings.IndexFunc(v, isControl) >= 0 || !utf8.ValidString(v) {
		return strconv.Quote(clip(v, maxValueLen))
	}
	return clip(v, maxValueLen)
}
