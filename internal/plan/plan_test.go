package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/goldentest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldentest.Check(t, filepath.Join("testdata", name), []byte(got), *update, "update")
}

// render shows a Plan in a golden file.
func render(p *Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "created %d, updated %d, deleted %d, unchanged %d, truncated %v\n",
		p.Created, p.Updated, p.Deleted, p.Unchanged, p.Truncated)
	fmt.Fprintf(&b, "summary: %s\n", p.Summary)
	for _, f := range p.Files {
		fmt.Fprintf(&b, "== %s %s +%d -%d\n%s", f.Path, f.Action, f.Added, f.Removed, f.Diff)
	}
	return b.String()
}

// lines returns "prefix1\n" … "prefixN\n".
func lines(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}

// edit replaces line i (1-based) of s.
func edit(s string, i int, with string) string {
	ls := strings.SplitAfter(s, "\n")
	ls[i-1] = with + "\n"
	return strings.Join(ls, "")
}

func ptr(s string) []byte { return []byte(s) }

func TestDiffGolden(t *testing.T) {
	twenty := lines("line ", 20)
	tests := []struct {
		name    string
		changes []Change
		maxDiff int
		setup   func() func() // lowers a bound, returns the undo
	}{
		{name: "created", changes: []Change{{Path: "managed/switches/leaf-03.yaml", New: ptr("kind: Switch\nmetadata:\n  name: leaf-03\n")}}},
		{name: "deleted", changes: []Change{{Path: "managed/servers/server-09.yaml", Old: ptr("kind: Server\nmetadata:\n  name: server-09\n")}}},
		{name: "updated_one_line", changes: []Change{{Path: "a.yaml", Old: ptr(twenty), New: ptr(edit(twenty, 10, "ten"))}}},
		// Changes 6 unchanged lines apart share a hunk; 7 apart do not.
		{name: "updated_context_merging", changes: []Change{
			{Path: "merged.yaml", Old: ptr(lines("l", 30)), New: ptr(edit(edit(lines("l", 30), 5, "five"), 12, "twelve"))},
			{Path: "split.yaml", Old: ptr(lines("l", 30)), New: ptr(edit(edit(lines("l", 30), 5, "five"), 13, "thirteen"))},
		}},
		{name: "updated_edges", changes: []Change{
			{Path: "first.yaml", Old: ptr(lines("l", 8)), New: ptr("l0\n" + lines("l", 8))},
			{Path: "last.yaml", Old: ptr(lines("l", 8)), New: ptr(lines("l", 7))},
			{Path: "was-empty.yaml", Old: ptr(""), New: ptr("a\nb\n")},
			{Path: "now-empty.yaml", Old: ptr("a\nb\n"), New: ptr("")},
		}},
		{name: "no_trailing_newline", changes: []Change{
			{Path: "added-newline.yaml", Old: ptr("a\nb\nc"), New: ptr("a\nb\nc\n")},
			{Path: "removed-newline.yaml", Old: ptr("a\nb\nc\n"), New: ptr("a\nb\nc")},
			{Path: "context.yaml", Old: ptr("a\nb\nc\nd"), New: ptr("a\nB\nc\nd")},
			{Path: "created.yaml", New: ptr("x\ny")},
			{Path: "deleted.yaml", Old: ptr("x")},
		}},
		{name: "unchanged_and_sorted", changes: []Change{
			{Path: "z.yaml", Old: ptr("z\n"), New: ptr("zz\n")},
			{Path: "m.yaml", Old: ptr("same\n"), New: ptr("same\n")},
			{Path: "a.yaml", Old: ptr("a\n"), New: ptr("aa\n")},
			{Path: "nothing.yaml"},
		}},
		// The bound is 200 bytes: a.yaml fits, b.yaml would pass it, and
		// c.yaml, small as it is, comes after; the counts stay right.
		{name: "truncated", maxDiff: 200, changes: []Change{
			{Path: "a.yaml", Old: ptr("a: 1\n"), New: ptr("a: 2\n")},
			{Path: "b.yaml", Old: ptr(lines("b", 20)), New: ptr(lines("B", 20))},
			{Path: "c.yaml", Old: ptr("c: 1\n"), New: ptr("c: 2\n")},
			{Path: "d.yaml", Old: ptr("d\n"), New: ptr("d\n")},
		}},
		// Above maxLines the lines between the common head and tail are
		// replaced whole.
		{name: "large_file_fallback", setup: func() func() {
			old := maxLines
			maxLines = 10
			return func() { maxLines = old }
		}, changes: []Change{
			{Path: "large.yaml", Old: ptr(twenty), New: ptr(edit(edit(twenty, 3, "three"), 18, "eighteen"))},
			{Path: "small.yaml", Old: ptr(twenty), New: ptr(edit(edit(twenty, 3, "three"), 5, "five"))},
		}},
		{name: "path_quoting", changes: []Change{{Path: "odd\tname \"x\".yaml", New: ptr("a\n")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				defer tt.setup()()
			}
			p := Build(tt.changes, tt.maxDiff)
			checkPlan(t, tt.changes, p, tt.maxDiff)
			golden(t, "diff/"+tt.name+".golden", render(p))
		})
	}
}

func TestSummaryGolden(t *testing.T) {
	switchYAML := func(name, extra string) string {
		return "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: " + name +
			"\nspec:\n  role: server-leaf\n  asn: 65101\n" + extra
	}
	conn := func(name, port string) string {
		return "---\napiVersion: wiring.githedgehog.com/v1beta1\nkind: Connection\nmetadata:\n  name: " + name +
			"\nspec:\n  unbundled:\n    link:\n      server: {port: server-01/enp2s1}\n      switch: {port: " + port + "}\n"
	}
	server := func(name string) string {
		return "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: " + name + "\nspec:\n  description: " + name + "\n"
	}
	vpc := func(vlan, extra string) string {
		return `# VPC one
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
  namespace: default
spec:
  ipv4Namespace: default
  vlanNamespace: default
  subnets:
    default:
      subnet: 10.0.1.0/24
      gateway: 10.0.1.1
      vlan: ` + vlan + `
      dhcp:
        enable: true
        range: {start: 10.0.1.10, end: 10.0.1.99}
` + extra
	}
	vlanNS := func(ranges string) string {
		return "apiVersion: wiring.githedgehog.com/v1beta1\nkind: VLANNamespace\nmetadata:\n  name: default\nspec:\n  ranges:\n" + ranges
	}
	mclag := func(p1, p2 string) string {
		return `apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: server-01--mclag--leaf-01--leaf-02
spec:
  mclag:
    links:
      - server: {port: server-01/enp2s1}
        switch: {port: ` + p1 + `}
      - server: {port: server-01/enp2s2}
        switch: {port: ` + p2 + `}
`
	}
	many := func(kind string, n int) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "---\nkind: %s\nmetadata:\n  name: %s-%02d\n", kind, strings.ToLower(kind), i)
		}
		return b.String()
	}
	tests := []struct {
		name    string
		changes []Change
	}{
		{"no_changes", []Change{{Path: "a.yaml", Old: ptr(server("s")), New: ptr(server("s"))}}},
		{"empty_plan", nil},
		{"adds_switch_and_connections", []Change{{Path: "managed/leaf-03.yaml", New: ptr(switchYAML("leaf-03", "") +
			conn("c-1", "leaf-03/E1/1") + conn("c-2", "leaf-03/E1/2") + conn("c-3", "leaf-03/E1/3") + conn("c-4", "leaf-03/E1/4"))}}},
		{"removes_server", []Change{{Path: "managed/server-09.yaml", Old: ptr(server("server-09"))}}},
		{"changes_vpc_subnet_vlan", []Change{{Path: "vpcs.yaml", Old: ptr(vpc("1001", "")), New: ptr(vpc("1002", ""))}}},
		{"changes_vpc_subnet_added", []Change{{Path: "vpcs.yaml", Old: ptr(vpc("1001", "")), New: ptr(vpc("1001",
			"    backend:\n      subnet: 10.0.2.0/24\n      vlan: 1003\n"))}}},
		{"changes_vpc_vlan_type", []Change{{Path: "vpcs.yaml", Old: ptr(vpc("1001", "")), New: ptr(vpc(`"1001"`, ""))}}},
		{"changes_connection_port", []Change{{Path: "conn.yaml", Old: ptr(conn("server-02--unbundled--leaf-01", "leaf-01/E1/1")),
			New: ptr(conn("server-02--unbundled--leaf-01", "leaf-01/E1/2"))}}},
		{"changes_list_index", []Change{{Path: "mclag.yaml", Old: ptr(mclag("leaf-01/E1/1", "leaf-02/E1/1")), New: ptr(mclag("leaf-01/E1/1", "leaf-02/E1/5"))}}},
		{"changes_list_insert", []Change{{Path: "ns.yaml",
			Old: ptr(vlanNS("    - from: 1000\n      to: 2999\n")),
			New: ptr(vlanNS("    - from: 100\n      to: 199\n    - from: 1000\n      to: 2999\n"))}}},
		{"changes_list_scalars", []Change{{Path: "leaf.yaml", Old: ptr(switchYAML("leaf-01", "  groups: [mclag-1]\n")),
			New: ptr(switchYAML("leaf-01", "  groups: [mclag-1, mclag-2]\n"))}}},
		{"changes_maps", []Change{{Path: "leaf.yaml",
			Old: ptr(switchYAML("leaf-01", "  boot:\n    mac: 0c:20:12:fe:01:01\n") + "  redundancy: {group: mclag-1, type: mclag}\n"),
			New: ptr(strings.Replace(switchYAML("leaf-01", "  boot:\n    serial: ABC123\n"), "name: leaf-01\n",
				"name: leaf-01\n  labels:\n    team: fabric\n  annotations:\n    type.hhfab.githedgehog.com: hw\n", 1))}}},
		{"changes_more_fields", []Change{{Path: "leaf.yaml", Old: ptr(switchYAML("leaf-01", "  a: 1\n  b: 2\n  c: 3\n  d: 4\n  e: 5\n")),
			New: ptr(switchYAML("leaf-01", "  a: 10\n  b: 20\n  c: 30\n  d: 40\n  e: 50\n"))}}},
		{"several_kinds_and_actions", []Change{
			{Path: "managed/leaf-03.yaml", New: ptr(switchYAML("leaf-03", "") + conn("c-1", "leaf-03/E1/1") + conn("c-2", "leaf-03/E1/2"))},
			{Path: "managed/servers.yaml", Old: ptr(server("server-08") + "---\n" + server("server-09")), New: ptr(server("server-08"))},
			{Path: "managed/vpcs.yaml", Old: ptr(vpc("1001", "")), New: ptr(vpc("1002", ""))},
			{Path: "managed/unchanged.yaml", Old: ptr(server("server-01")), New: ptr(server("server-01"))},
			{Path: "managed/gone.yaml", Old: ptr(switchYAML("leaf-09", "") + "---\n" + server("server-10") + "---\n" + server("server-11"))},
		}},
		{"adds_more_resources", []Change{{Path: "all.yaml", New: ptr(many("Switch", 1) + many("Server", 3) + many("VPC", 1) +
			many("External", 1) + many("Gateway", 1) + many("Widget", 2) + many("Gadget", 1))}}},
		{"changes_more_resources", func() []Change {
			var cs []Change
			for i := 1; i <= 7; i++ {
				name := fmt.Sprintf("leaf-%02d", i)
				cs = append(cs, Change{Path: name + ".yaml", Old: ptr(switchYAML(name, "")),
					New: ptr(strings.Replace(switchYAML(name, ""), "65101", strconv.Itoa(65200+i), 1))})
			}
			return cs
		}()},
		{"unparsable", []Change{
			{Path: "broken-new.yaml", New: ptr("kind: [\n")},
			{Path: "broken-old.yaml", Old: ptr("a: b: c\n"), New: ptr(server("server-01"))},
			{Path: "broken-gone.yaml", Old: ptr("- not a resource\n")},
			{Path: "nameless.yaml", New: ptr("kind: Switch\n")},
		}},
		{"formatting_only", []Change{{Path: "leaf.yaml", Old: ptr(switchYAML("leaf-01", "")),
			New: ptr("# a comment\n" + strings.Replace(switchYAML("leaf-01", ""), "asn: 65101", "asn:   65101 # the ASN", 1))}}},
		{"moved_between_files", []Change{
			{Path: "old/leaf-01.yaml", Old: ptr(switchYAML("leaf-01", ""))},
			{Path: "new/leaf-01.yaml", New: ptr(strings.Replace(switchYAML("leaf-01", ""), "65101", "65102", 1))},
		}},
		{"empty_files", []Change{{Path: "empty.yaml", New: ptr("")}, {Path: "comments.yaml", Old: ptr("# only a comment\n")}}},
		{"odd_values", []Change{{Path: "leaf.yaml", Old: ptr(switchYAML("leaf-01", "  description: \"a, b\"\n  x: \"\"\n")),
			New: ptr(switchYAML("leaf-01", "  description: \"line\\nbreak\"\n  x: null\n"))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Build(tt.changes, 0)
			checkPlan(t, tt.changes, p, 0)
			if strings.ContainsAny(p.Summary, "\n\r") {
				t.Errorf("summary is not one line: %q", p.Summary)
			}
			if again := Build(tt.changes, 0); again.Summary != p.Summary {
				t.Errorf("summary not deterministic: %q, then %q", p.Summary, again.Summary)
			}
			golden(t, "summary/"+tt.name+".golden", p.Summary+"\n")
		})
	}
}

// TestSummaryExamples pins the examples of the package documentation.
func TestSummaryExamples(t *testing.T) {
	for _, tt := range []struct {
		name string
		want string
	}{
		{"adds_switch_and_connections", "adds Switch leaf-03 and 4 Connections"},
		{"removes_server", "removes Server server-09"},
		{"changes_vpc_subnet_vlan", "changes VPC vpc-1: subnet default vlan 1001 → 1002"},
		{"changes_connection_port", "changes Connection server-02--unbundled--leaf-01: unbundled.link.switch.port leaf-01/E1/1 → leaf-01/E1/2"},
		{"no_changes", "no changes"},
	} {
		got, err := os.ReadFile(filepath.Join("testdata", "summary", tt.name+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSuffix(string(got), "\n") != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestPlanFacts(t *testing.T) {
	p := Build(nil, 0)
	if p.Files == nil || len(p.Files) != 0 || p.Summary != "no changes" || p.Truncated {
		t.Errorf("empty plan: %+v", p)
	}
	changes := []Change{{Path: "b", Old: ptr("x\n"), New: ptr("y\n")}, {Path: "a", New: ptr("z\n")}}
	Build(changes, 0)
	if changes[0].Path != "b" {
		t.Error("Build reordered its argument")
	}
	// A negative bound: counts only.
	p = Build(changes, -1)
	for _, f := range p.Files {
		if f.Diff != "" || f.Added != 1 {
			t.Errorf("negative bound: %+v", f)
		}
	}
	if !p.Truncated {
		t.Error("negative bound: not truncated")
	}
}

// TestPathological diffs two large files that share no lines in the same
// order: the work bound must keep it quick, and the diff valid.
func TestPathological(t *testing.T) {
	var a, b strings.Builder
	const n = 20000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "a%d\n", (i*7919)%n) // the same lines, shuffled
	}
	start := time.Now()
	changes := []Change{{Path: "big.yaml", Old: ptr(a.String()), New: ptr(b.String())}}
	p := Build(changes, 64<<20)
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	checkPlan(t, changes, p, 64<<20)
	if p.Files[0].Diff == "" {
		t.Fatal("no diff")
	}
	t.Logf("+%d -%d in %v", p.Files[0].Added, p.Files[0].Removed, time.Since(start))
}

// TestWorkFallback checks that running out of work gives a valid diff.
func TestWorkFallback(t *testing.T) {
	old := fileWork
	fileWork = 50
	defer func() { fileWork = old }()
	a := lines("x", 40)
	b := a
	for _, i := range []int{3, 9, 17, 25, 33} {
		b = edit(b, i, "changed")
	}
	changes := []Change{{Path: "f", Old: ptr(a), New: ptr(b)}}
	p := Build(changes, 0)
	checkPlan(t, changes, p, 0)
	if f := p.Files[0]; f.Added < 5 || f.Added != f.Removed {
		t.Errorf("+%d -%d", f.Added, f.Removed)
	}
}

// checkPlan checks what holds of every plan: files sorted and counted,
// diffs within the bound, their +/- lines matching the counts, and each
// diff applied to the old text giving the new one.
func checkPlan(t *testing.T, changes []Change, p *Plan, maxDiff int) {
	t.Helper()
	if maxDiff == 0 {
		maxDiff = DefaultMaxDiff
	}
	maxDiff = max(maxDiff, 0)
	if len(p.Files) != len(changes) {
		t.Fatalf("%d files for %d changes", len(p.Files), len(changes))
	}
	byPath := map[string]Change{}
	for _, c := range changes {
		byPath[c.Path] = c
	}
	counts := map[string]int{}
	total, gone := 0, false
	for i, f := range p.Files {
		if i > 0 && p.Files[i-1].Path > f.Path {
			t.Errorf("files not sorted: %q before %q", p.Files[i-1].Path, f.Path)
		}
		counts[f.Action]++
		c := byPath[f.Path]
		if f.Action == Unchanged {
			if f.Diff != "" || f.Added != 0 || f.Removed != 0 {
				t.Errorf("%s: unchanged with a diff", f.Path)
			}
			continue
		}
		if f.Diff == "" {
			gone = true
			if !p.Truncated {
				t.Errorf("%s: no diff, not truncated", f.Path)
			}
			continue
		}
		if gone {
			t.Errorf("%s: a diff after one was left out", f.Path)
		}
		total += len(f.Diff)
		added, removed := countLines(f.Diff)
		if added != f.Added || removed != f.Removed {
			t.Errorf("%s: diff has +%d -%d, file says +%d -%d", f.Path, added, removed, f.Added, f.Removed)
		}
		got, err := apply(string(c.Old), f.Diff)
		if err != nil {
			t.Errorf("%s: %v\n%s", f.Path, err, f.Diff)
		} else if got != string(c.New) {
			t.Errorf("%s: diff applied gives %q, want %q", f.Path, got, c.New)
		}
	}
	if total > maxDiff {
		t.Errorf("%d bytes of diff, bound %d", total, maxDiff)
	}
	if counts[Created] != p.Created || counts[Updated] != p.Updated || counts[Deleted] != p.Deleted || counts[Unchanged] != p.Unchanged {
		t.Errorf("counts %+v, plan says %d/%d/%d/%d", counts, p.Created, p.Updated, p.Deleted, p.Unchanged)
	}
}

// countLines counts the '+' and '-' lines of a diff, headers aside.
func countLines(diff string) (added, removed int) {
	ls := strings.Split(diff, "\n")
	for _, l := range ls[min(2, len(ls)):] {
		switch {
		case strings.HasPrefix(l, "+"):
			added++
		case strings.HasPrefix(l, "-"):
			removed++
		}
	}
	return added, removed
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// apply applies a unified diff of one file to old.
func apply(old, diff string) (string, error) {
	ol := splitLines(old)
	dl := strings.SplitAfter(diff, "\n")
	if len(dl) < 2 || !strings.HasPrefix(dl[0], "--- ") || !strings.HasPrefix(dl[1], "+++ ") {
		return "", fmt.Errorf("no header")
	}
	if last := dl[len(dl)-1]; last != "" {
		return "", fmt.Errorf("diff does not end in a newline")
	}
	dl = dl[2 : len(dl)-1]
	var out strings.Builder
	pos := 0
	for i := 0; i < len(dl); i++ {
		l := dl[i]
		if m := hunkHeader.FindStringSubmatch(strings.TrimSuffix(l, "\n")); m != nil {
			start, _ := strconv.Atoi(m[1])
			if m[2] != "0" {
				start-- // a non-empty range names its first line
			}
			if start < pos || start > len(ol) {
				return "", fmt.Errorf("hunk %q out of order", l)
			}
			for _, s := range ol[pos:start] {
				out.WriteString(s)
			}
			pos = start
			continue
		}
		text := l[1:]
		if i+1 < len(dl) && dl[i+1] == "\\ No newline at end of file\n" {
			text = strings.TrimSuffix(text, "\n")
			i++
		}
		switch l[0] {
		case ' ', '-':
			if pos >= len(ol) || ol[pos] != text {
				return "", fmt.Errorf("line %d: %q does not match %q", pos+1, l, ol[min(pos, len(ol)-1)])
			}
			if l[0] == ' ' {
				out.WriteString(text)
			}
			pos++
		case '+':
			out.WriteString(text)
		default:
			return "", fmt.Errorf("bad line %q", l)
		}
	}
	for _, s := range ol[pos:] {
		out.WriteString(s)
	}
	return out.String(), nil
}

func FuzzBuild(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"), 0)
	f.Add([]byte("kind: VPC\nmetadata: {name: v}\nspec:\n  subnets:\n    default: {vlan: 1}\n"),
		[]byte("kind: VPC\nmetadata: {name: v}\nspec:\n  subnets:\n    default: {vlan: 2}\n"), 100)
	f.Add([]byte("x"), []byte("x\n"), 10)
	f.Add([]byte(""), []byte("\n\n"), -1)
	f.Add([]byte("a: &a [*a]\n"), []byte("a: &a {b: *a}\n---\n- 1\n"), 0)
	f.Fuzz(func(t *testing.T, old, new []byte, maxDiff int) {
		changes := []Change{
			{Path: "updated.yaml", Old: old, New: new},
			{Path: "created.yaml", Old: nil, New: new},
			{Path: "deleted.yaml", Old: old, New: nil},
			{Path: "same.yaml", Old: old, New: old},
		}
		for _, c := range changes {
			if c.Old == nil && c.New == nil {
				return // fuzzing hands nil slices; such a change is no test
			}
		}
		checkPlan(t, changes, Build(changes, 0), 0)
		p := Build(changes, maxDiff%4096)
		if maxDiff%4096 != 0 {
			checkPlan(t, changes, p, maxDiff%4096)
		}
		if p.Summary == "" || strings.ContainsAny(p.Summary, "\n\r") {
			t.Errorf("summary %q", p.Summary)
		}
	})
}

// BenchmarkBuild plans 1,000 changed resource files of about 1 KB.
func BenchmarkBuild(b *testing.B) {
	changes := make([]Change, 1000)
	size := 0
	for i := range changes {
		var old bytes.Buffer
		fmt.Fprintf(&old, "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-%04d\n  namespace: default\n", i)
		fmt.Fprintf(&old, "  labels:\n    fabric.githedgehog.com/rack: rack-%d\nspec:\n  role: server-leaf\n", i%40)
		fmt.Fprintf(&old, "  description: leaf-%04d of rack %d\n  profile: dell-s5248f-on\n  groups: [mclag-%d]\n", i, i%40, i/2)
		fmt.Fprintf(&old, "  redundancy:\n    group: mclag-%d\n    type: mclag\n  boot:\n    mac: 0c:20:12:fe:%02x:%02x\n", i/2, i/256, i%256)
		fmt.Fprintf(&old, "  asn: %d\n  ip: 172.30.%d.%d/32\n  protocolIP: 172.31.%d.%d/32\n  vtepIP: 172.32.%d.%d/32\n", 65100+i, i/256, i%256, i/256, i%256, i/256, i%256)
		fmt.Fprintf(&old, "  portGroupSpeeds:\n    \"1\": 10G\n    \"2\": 10G\n  portSpeeds:\n    E1/1: 25G\n    E1/2: 25G\n")
		fmt.Fprintf(&old, "  portBreakouts:\n    E1/55: 4x25G\n    E1/56: 4x25G\n  ecmp:\n    roceQPN: true\n")
		for len(old.String()) < 1000 {
			fmt.Fprintf(&old, "  # padding comment line %d\n", old.Len())
		}
		o := old.String()
		n := strings.Replace(o, fmt.Sprintf("asn: %d", 65100+i), fmt.Sprintf("asn: %d", 65200+i), 1)
		changes[i] = Change{Path: fmt.Sprintf("managed/switches/leaf-%04d.yaml", i), Old: []byte(o), New: []byte(n)}
		size += len(o)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p := Build(changes, 0)
		if p.Updated != 1000 {
			b.Fatal(p.Updated)
		}
	}
}

// TestBuildSHA256: a created or updated file carries the sha256 of its new bytes; a deleted or
// unchanged one none.
func TestBuildSHA256(t *testing.T) {
	newBytes := []byte("kind: Switch\n")
	sum := sha256.Sum256(newBytes)
	want := hex.EncodeToString(sum[:])
	p := Build([]Change{
		{Path: "managed/a.yaml", New: newBytes},
		{Path: "managed/b.yaml", Old: []byte("x: 1\n"), New: newBytes},
		{Path: "managed/c.yaml", Old: []byte("x: 1\n")},
		{Path: "managed/d.yaml", Old: newBytes, New: newBytes},
	}, 0)
	for i, w := range []string{want, want, "", ""} {
		if got := p.Files[i].SHA256; got != w {
			t.Errorf("%s (%s): SHA256 = %q; want %q", p.Files[i].Path, p.Files[i].Action, got, w)
		}
	}
}
