package ingest_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fabsync/fabsync/internal/ingest"
	"github.com/fabsync/fabsync/internal/sharedtest"
	"github.com/fabsync/fabsync/internal/validate"
)

// Documents for the validation tests: a switch, a server, and a connection between them on
// a given switch port.
const (
	vSwitch = `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
spec:
  role: server-leaf
  profile: vs
`
	vServer = `apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: server-01
spec:
  description: a server
`
)

func vConn(name, serverPort, switchPort string) string {
	return `apiVersion: wiring.githedgehog.com/v1beta1
kind: Connection
metadata:
  name: ` + name + `
spec:
  unbundled:
    link:
      server:
        port: ` + serverPort + `
      switch:
        port: ` + switchPort + `
`
}

// TestValidation checks how ingest uses its Validator: errors stop the ingest with nothing
// written, each at its line and column with an excerpt; warnings are returned with the
// result; a problem in a managed/ file the ingest does not replace is a warning (old debt never
// blocks a sync), while a clash between a raw document and such a file is an error on the raw
// one; and no Validator means no validation.
func TestValidation(t *testing.T) {
	opts := testOpts
	opts.Validator = validate.Default()
	for _, tt := range []struct {
		name      string
		fsys      fstest.MapFS
		opts      ingest.Options
		errors    []string // Problem.String() of each error, in order
		warnings  []string
		excerptOf string // a line the first problem's excerpt must show
	}{
		{
			name: "valid fabric",
			fsys: fstest.MapFS{"raw/a.yaml": file(vSwitch + "---\n" + vServer + "---\n" + vConn("server-01--unbundled--leaf-01", "server-01/enp2s1", "leaf-01/E1/1"))},
			opts: opts,
		},
		{
			name: "unknown switch and reused port",
			fsys: fstest.MapFS{"raw/a.yaml": file(vSwitch + "---\n" + vServer + "---\n" +
				vConn("server-01--unbundled--leaf-01", "server-01/enp2s1", "leaf-01/E1/1") + "---\n" +
				vConn("server-01--unbundled--leaf-01-b", "server-01/enp2s2", "leaf-01/E1/1") + "---\n" +
				vConn("server-01--unbundled--leaf-99", "server-01/enp2s3", "leaf-99/E1/1"))},
			opts: opts,
			errors: []string{
				"raw/a.yaml:38:15 document 4: port leaf-01/E1/1 is already used by connection server-01--unbundled--leaf-01",
				"raw/a.yaml:50:15 document 5: connection server-01--unbundled--leaf-99: switch leaf-99 does not exist (switches: leaf-01)",
			},
			excerptOf: "38 |         port: leaf-01/E1/1\n   |               ^",
		},
		{
			name: "old debt is a warning",
			fsys: fstest.MapFS{
				"managed/vpcs/vpc-with-long-name.yaml": file("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-with-long-name\nspec:\n  subnets:\n    default: {subnet: 10.0.1.0/24, vlan: 1001}\n"),
				"raw/a.yaml":                           file(vSwitch),
			},
			opts:     opts,
			warnings: []string{"managed/vpcs/vpc-with-long-name.yaml:4:9 document 1: VPC vpc-with-long-name: name is 18 characters, at most 11 are allowed"},
		},
		{
			name: "a raw document clashing with a managed file is an error on the raw one",
			fsys: fstest.MapFS{
				"managed/switches/leaf-01.yaml":                          file(vSwitch),
				"managed/servers/server-01.yaml":                         file(vServer),
				"managed/connections/server-01--unbundled--leaf-01.yaml": file(vConn("server-01--unbundled--leaf-01", "server-01/enp2s1", "leaf-01/E1/1")),
				"raw/b.yaml": file(vConn("server-01--unbundled--leaf-01-b", "server-01/enp2s2", "leaf-01/E1/1")),
			},
			opts:   opts,
			errors: []string{"raw/b.yaml:11:15 document 1: port leaf-01/E1/1 is already used by connection server-01--unbundled--leaf-01"},
		},
		{
			name: "without a Validator nothing is checked",
			fsys: fstest.MapFS{"raw/a.yaml": file(vConn("server-01--unbundled--leaf-99", "server-01/enp2s3", "leaf-99/E1/1") + "---\n" + vSwitch)},
			opts: testOpts,
		},
	} {
		// Each case three times: without a Memo, with a new one, and with that one again,
		// which then answers for the managed/ files (the results must not change).
		memo := &ingest.Memo{}
		for i, m := range []*ingest.Memo{nil, memo, memo} {
			t.Run(fmt.Sprintf("%s/memo-%d", tt.name, i), func(t *testing.T) {
				opts := tt.opts
				opts.Memo = m
				testValidationCase(t, tt.fsys, opts, tt.errors, tt.warnings, tt.excerptOf)
			})
		}
	}
}

func testValidationCase(t *testing.T, fsys fstest.MapFS, opts ingest.Options, wantErrors, wantWarnings []string, excerptOf string) {
	tt := struct {
		errors, warnings []string
		excerptOf        string
	}{wantErrors, wantWarnings, excerptOf}
	{
		{
			w := newMemWriter()
			res, err := ingest.Ingest(t.Context(), fsys, opts, w)
			var got, warns []ingest.Problem
			var ve *ingest.ValidationError
			switch {
			case errors.As(err, &ve):
				got, warns = ve.Problems, ve.Warnings
				if w.calls != 0 {
					t.Errorf("%d Writer calls with errors; want none", w.calls)
				}
			case err != nil:
				t.Fatal(err)
			default:
				warns = res.Problems
			}
			if s := problemStrings(got); strings.Join(s, "\n") != strings.Join(tt.errors, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(s, "\n"), strings.Join(tt.errors, "\n"))
			}
			if s := problemStrings(warns); strings.Join(s, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(s, "\n"), strings.Join(tt.warnings, "\n"))
			}
			for _, p := range append(got, warns...) {
				if p.Rule == "" || (p.Severity != ingest.SeverityError && p.Severity != ingest.SeverityWarning) {
					t.Errorf("%s: rule %q, severity %q", p, p.Rule, p.Severity)
				}
			}
			if tt.excerptOf != "" && (len(got) == 0 || !strings.Contains(got[0].Excerpt, tt.excerptOf)) {
				t.Errorf("first problem's excerpt:\n%s\nwant it to show %q", got[0].Excerpt, tt.excerptOf)
			}
			if res != nil && len(res.Problems) > 0 && len(res.Warnings) < len(res.Problems) {
				t.Errorf("Result.Warnings %q does not list the %d warnings", res.Warnings, len(res.Problems))
			}
		}
	}
}

// TestMemo: a Memo answers only for a file of the same path and content, checked by the same
// Validator; a managed/ file changed by hand since is checked again.
func TestMemo(t *testing.T) {
	vpc := func(name string) *fstest.MapFile {
		return file("apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: " + name + "\nspec:\n  subnets:\n    default: {subnet: 10.0.1.0/24, vlan: 1001}\n")
	}
	opts := testOpts
	opts.Validator = validate.Default()
	opts.Memo = &ingest.Memo{}
	fsys := fstest.MapFS{"managed/vpcs/v.yaml": vpc("vpc-with-long-name"), "raw/a.yaml": file(vSwitch)}
	want := "managed/vpcs/v.yaml:4:9 document 1: VPC vpc-with-long-name: name is 18 characters, at most 11 are allowed"
	for range 2 {
		res, err := ingest.Ingest(t.Context(), fsys, opts, newMemWriter())
		if err != nil || len(res.Problems) != 1 || res.Problems[0].String() != want {
			t.Fatalf("Ingest = %v, %v; want the one warning %q", res, err, want)
		}
	}
	fsys["managed/vpcs/v.yaml"] = vpc("vpc-1")
	if res, err := ingest.Ingest(t.Context(), fsys, opts, newMemWriter()); err != nil || len(res.Problems) != 0 {
		t.Fatalf("after the file changed: %v, %v; want no warnings (vpc-1 is a valid name)", res.Problems, err)
	}
	// Another Validator (rules turned off) does not use what the first one found.
	v, err := validate.New(validate.Config{Disable: []string{"vpc-name-length"}})
	if err != nil {
		t.Fatal(err)
	}
	opts.Validator = v
	fsys["managed/vpcs/v.yaml"] = vpc("vpc-with-long-name")
	if res, err := ingest.Ingest(t.Context(), fsys, opts, newMemWriter()); err != nil || len(res.Problems) != 0 {
		t.Fatalf("with vpc-name-length off: %v, %v; want no warnings", res.Problems, err)
	}
}

func problemStrings(ps []ingest.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// TestValidationRealFiles ingests each real Hedgehog file as its own fabric with Hedgehog's
// built-in rules. All validate without errors but one: demo-gitops_env-1_demo.yaml peers two
// VPCs that its repository defines in another file (env-1/pre-demo.yaml), so alone it is a
// fragment, and the three references are reported; the rule is right and the file is not
// wrong, it is not a whole fabric.
func TestValidationRealFiles(t *testing.T) {
	dir := sharedtest.Dir(t, "hedgehog")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no real files in %s", dir)
	}
	fragment := map[string][]string{"demo-gitops_env-1_demo.yaml": {
		"vpcpeering-unknown-vpc", "vpcpeering-unknown-vpc", "externalpeering-unknown-vpc",
	}}
	opts := testOpts
	opts.Validator = validate.Default()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		_, err = ingest.Ingest(t.Context(), fstest.MapFS{"raw/" + name: file(string(data))}, opts, newMemWriter())
		var rules []string
		var ve *ingest.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				rules = append(rules, p.Rule)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Join(rules, " ") != strings.Join(fragment[name], " ") {
			t.Errorf("%s: errors of rules %v; want %v (%v)", name, rules, fragment[name], err)
		}
	}
}
