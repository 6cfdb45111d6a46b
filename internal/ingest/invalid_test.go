package ingest_test

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/ingest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

var symlink = &fstest.MapFile{Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink}

const switchDoc = "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: %s\n"

func sw(name string) string { return strings.Replace(switchDoc, "%s", name, 1) }

// TestInvalid checks that every problem in the input is reported at once,
// located exactly, and that nothing is written.
func TestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		fsys   fstest.MapFS
		limits ingest.Limits
		want   []ingest.Problem
	}{
		{
			name: "syntax error does not hide other documents",
			fsys: fstest.MapFS{"raw/a.yaml": file(sw("ok-1") + "---\n" +
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n" + "---\n" +
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Leaf_1\n")},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 2, Line: 9, Column: 9, Message: "YAML syntax error: did not find expected ',' or ']'", Rule: ingest.RuleSyntax, Severity: ingest.SeverityError},
				{File: "raw/a.yaml", Document: 3, Line: 14, Column: 9, Message: `metadata.name "Leaf_1" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253)`},
			},
		},
		{
			name: "documents that are not mappings",
			fsys: fstest.MapFS{"raw/a.yaml": file("- a\n- b\n---\njust some text\n---\n42\n")},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 1, Line: 1, Column: 1, Message: "document is a sequence, not a mapping: each document must be one resource with apiVersion, kind and metadata"},
				{File: "raw/a.yaml", Document: 2, Line: 4, Column: 1, Message: `document is the string "just some text", not a mapping: each document must be one resource with apiVersion, kind and metadata`},
				{File: "raw/a.yaml", Document: 3, Line: 6, Column: 1, Message: "document is the number 42, not a mapping: each document must be one resource with apiVersion, kind and metadata"},
			},
		},
		{
			name: "missing fields",
			fsys: fstest.MapFS{"raw/a.yaml": file("# comment\nfoo: bar\n---\nkind: X\nmetadata: {}\napiVersion: v1\n---\napiVersion: v1\nkind: X\nmetadata: just-a-string\n")},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 1, Line: 2, Column: 1, Message: "apiVersion is missing (e.g. apiVersion: wiring.githedgehog.com/v1beta1)"},
				{File: "raw/a.yaml", Document: 1, Line: 2, Column: 1, Message: "kind is missing (e.g. kind: Switch)"},
				{File: "raw/a.yaml", Document: 1, Line: 2, Column: 1, Message: "metadata is missing: every resource needs metadata.name"},
				{File: "raw/a.yaml", Document: 2, Line: 5, Column: 11, Message: "metadata.name is missing"},
				{File: "raw/a.yaml", Document: 3, Line: 10, Column: 11, Message: `metadata must be a mapping with a name, not the string "just-a-string"`},
			},
		},
		{
			name: "ill-formed fields",
			fsys: fstest.MapFS{"raw/a.yaml": file(
				"apiVersion: a/b/c\nkind: Switch\nmetadata:\n  name: ok\n---\n" +
					"apiVersion: 1\nkind: [Switch]\nmetadata:\n  name: 123\n---\n" +
					"apiVersion: Wiring.Example.com/v1\nkind: 9lives\nmetadata:\n  name: ok\n  namespace: Team_A\n---\n" +
					"apiVersion: example.com/V1\nkind: Switch\nmetadata:\n  name: " + strings.Repeat("a", 254) + "\n  namespace: " + strings.Repeat("b", 64) + "\n---\n" +
					"apiVersion: example.com/v1\nkind: Switch\nmetadata:\n  name: -leading-dash\n  namespace: [x]\n")},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 1, Line: 1, Column: 13, Message: `apiVersion "a/b/c" is not of the form [group/]version (group a DNS subdomain, version like v1beta1)`},
				{File: "raw/a.yaml", Document: 2, Line: 6, Column: 13, Message: "apiVersion must be a string of the form [group/]version, not the number 1"},
				{File: "raw/a.yaml", Document: 2, Line: 7, Column: 7, Message: "kind must be a string, not a sequence"},
				{File: "raw/a.yaml", Document: 2, Line: 9, Column: 9, Message: "metadata.name must be a string, not the number 123"},
				{File: "raw/a.yaml", Document: 3, Line: 11, Column: 13, Message: `apiVersion "Wiring.Example.com/v1" is not of the form [group/]version (group a DNS subdomain, version like v1beta1)`},
				{File: "raw/a.yaml", Document: 3, Line: 12, Column: 7, Message: `kind "9lives" is not valid (an ASCII letter, then letters and digits, at most 63)`},
				{File: "raw/a.yaml", Document: 3, Line: 15, Column: 14, Message: `metadata.namespace "Team_A" is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63)`},
				{File: "raw/a.yaml", Document: 4, Line: 17, Column: 13, Message: `apiVersion "example.com/V1" is not of the form [group/]version (group a DNS subdomain, version like v1beta1)`},
				{File: "raw/a.yaml", Document: 4, Line: 20, Column: 9, Message: `metadata.name "` + strings.Repeat("a", 80) + `…" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253)`},
				{File: "raw/a.yaml", Document: 4, Line: 21, Column: 14, Message: `metadata.namespace "` + strings.Repeat("b", 64) + `" is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63)`},
				{File: "raw/a.yaml", Document: 5, Line: 26, Column: 9, Message: `metadata.name "-leading-dash" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', at most 253)`},
				{File: "raw/a.yaml", Document: 5, Line: 27, Column: 14, Message: "metadata.namespace must be a string, not a sequence"},
			},
		},
		{
			name: "duplicates name both places",
			fsys: fstest.MapFS{
				"raw/a.yaml": file(sw("leaf-1") + "---\n" + sw("leaf-1")),
				"raw/b.yaml": file("# leading comment\n" + sw("leaf-1") + "---\n" +
					"apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n  namespace: default\n---\n" +
					"apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n---\n" +
					"apiVersion: other.githedgehog.com/v1\nkind: VPC\nmetadata:\n  name: v\n"),
			},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 2, Line: 9, Column: 9, Message: `duplicate resource Switch "leaf-1" (group wiring.githedgehog.com): also defined in raw/a.yaml document 1 (line 4)`},
				{File: "raw/b.yaml", Document: 1, Line: 5, Column: 9, Message: `duplicate resource Switch "leaf-1" (group wiring.githedgehog.com): also defined in raw/a.yaml document 1 (line 4)`},
				{File: "raw/b.yaml", Document: 3, Line: 16, Column: 9, Message: `duplicate resource VPC "v" (group vpc.githedgehog.com): also defined in raw/b.yaml document 2 (line 10)`},
				{File: "raw/b.yaml", Document: 4, Line: 21, Column: 9, Message: `resource VPC "v" (group other.githedgehog.com) would be written to managed/vpcs/v.yaml, like VPC "v" (group vpc.githedgehog.com) from raw/b.yaml document 2 (line 10)`},
			},
		},
		{
			name: "duplicate keys",
			fsys: fstest.MapFS{"raw/a.yaml": file("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\nkind: Secret\n")},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 1, Line: 5, Column: 3, Message: `duplicate key "name" (first at line 4)`},
				{File: "raw/a.yaml", Document: 1, Line: 6, Column: 1, Message: `duplicate key "kind" (first at line 2)`},
			},
		},
		{
			name:   "file too large",
			fsys:   fstest.MapFS{"raw/big.yaml": file(sw("a") + "# " + strings.Repeat("x", 100) + "\n"), "raw/ok.yaml": file(sw("b"))},
			limits: ingest.Limits{MaxFileBytes: 100},
			want: []ingest.Problem{
				{File: "raw/big.yaml", Message: "file is larger than the limit of 100 bytes; split it into smaller files"},
			},
		},
		{
			name:   "too many documents",
			fsys:   fstest.MapFS{"raw/many.yaml": file(sw("a") + "---\n---\n" + sw("b") + "---\n" + sw("c"))},
			limits: ingest.Limits{MaxDocuments: 2},
			want: []ingest.Problem{
				{File: "raw/many.yaml", Line: 11, Message: "file has more than 2 documents (the limit); split it into smaller files"},
			},
		},
		{
			name: "alias expansion bounded",
			fsys: fstest.MapFS{"raw/lol.yaml": file(sw("ok") + "---\n" + sw("lol") +
				"spec:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
				"---\n" + sw("self") + "spec: &s\n  me: *s\n")},
			limits: ingest.Limits{MaxAliasExpansion: 1000},
			want: []ingest.Problem{
				{File: "raw/lol.yaml", Document: 2, Line: 13, Column: 42, Message: "aliases expand to more than 1000 nodes (the limit); write the content out instead of using anchors and aliases"},
				{File: "raw/lol.yaml", Document: 3, Line: 20, Column: 7, Message: "anchor &s contains an alias to itself"},
			},
		},
		{
			name: "not text",
			fsys: fstest.MapFS{
				"raw/bin.yaml":   file("apiVersion: v1\nkind: X\x00\x01"),
				"raw/latin.yaml": file("apiVersion: v1\nkind: Caf\xe9\n"),
				"raw/utf16.yaml": file("\xff\xfea\x00:\x00"),
			},
			want: []ingest.Problem{
				{File: "raw/bin.yaml", Line: 2, Column: 8, Message: "file contains a NUL byte: it looks binary, not YAML text"},
				{File: "raw/latin.yaml", Line: 2, Column: 10, Message: "file is not valid UTF-8 (byte 0xE9): save it as UTF-8 text"},
				{File: "raw/utf16.yaml", Line: 1, Column: 1, Message: "file is UTF-16 encoded; save it as UTF-8"},
			},
		},
		{
			name: "symbolic links and other files under raw",
			fsys: fstest.MapFS{
				"raw/link.yaml":      symlink,
				"raw/README.md":      symlink,
				"raw/sub":            symlink,
				"raw/deep/pipe.yaml": &fstest.MapFile{Mode: fs.ModeNamedPipe},
				"raw/ok.yaml":        file(sw("ok")),
			},
			want: []ingest.Problem{
				{File: "raw/README.md", Message: "raw/README.md is a symbolic link; only regular files may be in raw/ (a repository must not make ingest read outside itself)"},
				{File: "raw/deep/pipe.yaml", Message: "raw/deep/pipe.yaml is a named pipe; only regular files may be in raw/ (a repository must not make ingest read outside itself)"},
				{File: "raw/link.yaml", Message: "raw/link.yaml is a symbolic link; only regular files may be in raw/ (a repository must not make ingest read outside itself)"},
				{File: "raw/sub", Message: "raw/sub is a symbolic link; only regular files may be in raw/ (a repository must not make ingest read outside itself)"},
			},
		},
		{
			// Only a file system other than the usual ones can hold it:
			// its archive copy could not be written.
			name: "raw folder name over 255 bytes",
			fsys: fstest.MapFS{"raw/" + strings.Repeat("d", 256) + "/a.yaml": file(sw("a")), "raw/ok.yaml": file(sw("ok"))},
			want: []ingest.Problem{
				{File: "raw/" + strings.Repeat("d", 256) + "/a.yaml", Message: `path element "` + strings.Repeat("d", 80) + `…" is 256 bytes, over the 255-byte limit of file systems; rename it`},
			},
		},
		{
			name: "raw itself is a symbolic link",
			fsys: fstest.MapFS{"raw": symlink},
			want: []ingest.Problem{
				{File: "raw", Message: "raw is a symbolic link, not a folder; a repository must not make ingest read outside itself"},
			},
		},
		{
			name: "symbolic links where ingest would write",
			fsys: fstest.MapFS{
				"raw/a.yaml":                     file(sw("leaf-1") + "---\n" + sw("leaf-2") + "---\napiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: v\n"),
				"managed/switches/leaf-1.yaml":   symlink,
				"managed/switches/leaf-2.yaml/x": file("a folder where a file goes"),
				"managed/vpcs":                   symlink,
				".hnp":                           symlink,
			},
			want: []ingest.Problem{
				{File: ".hnp", Message: ".hnp is a symbolic link, not a folder, so .hnp/manifest.yaml cannot be written"},
				{File: "raw/a.yaml", Document: 1, Line: 4, Column: 9, Message: "managed/switches/leaf-1.yaml is a symbolic link, not a regular file, so it cannot be written", Kind: "Switch", Name: "leaf-1"},
				{File: "raw/a.yaml", Document: 2, Line: 9, Column: 9, Message: "managed/switches/leaf-2.yaml is a folder, not a regular file, so it cannot be written", Kind: "Switch", Name: "leaf-2"},
				{File: "raw/a.yaml", Document: 3, Line: 14, Column: 9, Message: "managed/vpcs is a symbolic link, not a folder, so managed/vpcs/v.yaml cannot be written", Kind: "VPC", Name: "v"},
			},
		},
		{
			name: "scanner, reader and anchor errors are located",
			fsys: fstest.MapFS{"raw/a.yaml": file("apiVersion: v1\nkind: a: b\n---\napiVersion: v1\nkind: X\x07\n---\n" + sw("x") + "spec: *nope\n")},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 1, Line: 2, Column: 7, Message: "YAML syntax error: mapping values are not allowed in this context", Rule: ingest.RuleSyntax, Severity: ingest.SeverityError},
				{File: "raw/a.yaml", Document: 2, Line: 5, Column: 8, Message: "YAML syntax error: control characters are not allowed", Rule: ingest.RuleSyntax, Severity: ingest.SeverityError},
				{File: "raw/a.yaml", Document: 3, Line: 11, Column: 7, Message: "YAML syntax error: unknown anchor 'nope' referenced", Rule: ingest.RuleSyntax, Severity: ingest.SeverityError},
			},
		},
		{
			name: "unsupported YAML version",
			fsys: fstest.MapFS{"raw/a.yaml": file("%YAML 1.2\n---\n" + sw("a"))},
			want: []ingest.Problem{
				{File: "raw/a.yaml", Document: 1, Line: 1, Column: 1, Message: "YAML syntax error: unsupported %YAML directive (only %YAML 1.1 is understood); remove the %YAML line", Rule: ingest.RuleSyntax, Severity: ingest.SeverityError},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newMemWriter()
			opts := testOpts
			opts.Limits = tt.limits
			res, err := ingest.Ingest(t.Context(), tt.fsys, opts, w)
			var ve *ingest.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Ingest() = %+v, %v; want *ValidationError", res, err)
			}
			// Ingest's own problems have rule "ingest" and every one here is an error; each
			// one at a line quotes it (syntax_test.go checks the excerpts themselves).
			want := slices.Clone(tt.want)
			for i := range want {
				if want[i].Rule == "" {
					want[i].Rule = ingest.RuleIngest
				}
				if want[i].Severity == "" {
					want[i].Severity = ingest.SeverityError
				}
			}
			got := slices.Clone(ve.Problems)
			for i := range got {
				if got[i].Line > 0 && !strings.Contains(got[i].Excerpt, fmt.Sprintf("%d | ", got[i].Line)) {
					t.Errorf("%s: excerpt %q does not show line %d", got[i], got[i].Excerpt, got[i].Line)
				}
				got[i].Excerpt = ""
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Ingest() problems differ (-want +got):\n%s", diff)
			}
			if w.calls != 0 {
				t.Errorf("Ingest() made %d Writer calls with invalid input; want none", w.calls)
			}
			if res != nil {
				t.Errorf("Ingest() result = %+v; want nil with an error", res)
			}
		})
	}
}
