package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fabsync/fabsync/internal/sharedtest"
)

// The tests of check and ingest run the built binary, as a user or CI does, on the fabric
// folders of testdata/check/ (copied into a temporary "repository" so that the github format's
// paths are known) and on the real wiring files of the shared test data (copied into a
// temporary fabric folder's raw/ at test time, never into this repository).

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// fabsyncBinary builds the command once per test run and returns its path.
func fabsyncBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		if binDir, binErr = os.MkdirTemp("", "fabsync-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "fabsync")
		out, err := exec.Command(goBin, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build fabsync: %v", binErr)
	}
	return binPath
}

// runBinary runs the built fabsync in dir with args and no environment but PATH and HOME.
func runBinary(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runBinaryEnv(t, dir, nil, args...)
}

// runBinaryEnv is runBinary with env (NAME=value) added to the environment.
func runBinaryEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(fabsyncBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TZ=UTC"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run fabsync %s: %v", strings.Join(args, " "), err)
	}
	r := result{code, stdout.String(), stderr.String()}
	if strings.Contains(r.stdout+r.stderr, "goroutine ") || strings.Contains(r.stdout+r.stderr, "panic:") {
		t.Errorf("fabsync %s printed a stack trace:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// fixtureRepo copies testdata/check into <tmp>/fabrics beside an empty <tmp>/.git, and returns
// <tmp>/fabrics: the fixtures' fabric folders in a repository whose root is <tmp>.
func fixtureRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "fabrics")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "check"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

func crdsDir(t *testing.T) string { return sharedtest.Dir(t, "hedgehog-crds") }

// TestCheckFixtures checks the output and exit code of each format on the fixtures.
func TestCheckFixtures(t *testing.T) {
	dir := fixtureRepo(t)
	tests := []struct {
		name   string
		args   []string
		crds   bool // add --crds with the real CRDs
		code   int
		golden string // "" to check the exit code only
	}{
		{"clean text", []string{"check", "clean"}, false, exitOK, "clean.text.golden"},
		{"clean json", []string{"check", "clean", "--format", "json"}, false, exitOK, "clean.json.golden"},
		{"clean github", []string{"check", "clean", "--format", "github"}, false, exitOK, "clean.github.golden"},
		{"errors text", []string{"check", "errors"}, false, exitPartial, "errors.text.golden"},
		{"errors json", []string{"check", "errors", "--format=json"}, false, exitPartial, "errors.json.golden"},
		{"errors github", []string{"check", "--format", "github", "errors"}, false, exitPartial, "errors.github.golden"},
		{"warnings text", []string{"check", "warnings"}, false, exitOK, "warnings.text.golden"},
		{"warnings json", []string{"check", "warnings", "--format", "json"}, false, exitOK, "warnings.json.golden"},
		{"warnings github", []string{"check", "warnings", "--format", "github"}, false, exitOK, "warnings.github.golden"},
		{"warnings as errors", []string{"check", "warnings", "--warnings-as-errors"}, false, exitPartial, ""},
		{"disabled rule", []string{"check", "warnings", "--disable", "switch-mclag-deprecated", "--format", "json"}, false, exitOK, "warnings-disabled.json.golden"},
		{"unknown field without CRDs", []string{"check", "unknown-field"}, false, exitOK, "unknown-field-nocrds.text.golden"},
		{"unknown field text", []string{"check", "unknown-field"}, true, exitOK, "unknown-field.text.golden"},
		{"unknown field json", []string{"check", "unknown-field", "--format", "json"}, true, exitOK, "unknown-field.json.golden"},
		{"unknown field strict github", []string{"check", "unknown-field", "--strict", "--format", "github"}, true, exitPartial, "unknown-field-strict.github.golden"},
		{"unknown field strict text", []string{"check", "unknown-field", "--strict"}, true, exitPartial, "unknown-field-strict.text.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.crds {
				args = append(slices.Clip(args), "--crds", crdsDir(t))
			}
			r := runBinary(t, dir, args...)
			if r.code != tt.code || r.stderr != "" {
				t.Errorf("fabsync %s = exit %d, stderr %q; want exit %d and no stderr", strings.Join(tt.args, " "), r.code, r.stderr, tt.code)
			}
			if strings.Contains(tt.name, "json") && !json.Valid([]byte(r.stdout)) {
				t.Errorf("fabsync %s printed invalid JSON:\n%s", strings.Join(tt.args, " "), r.stdout)
			}
			if tt.golden != "" {
				golden(t, filepath.Join("check", "golden", tt.golden), r.stdout)
			}
		})
	}
}

// Check writes nothing, even where ingest would.
func TestCheckWritesNothing(t *testing.T) {
	dir := fixtureRepo(t)
	before := treeSums(t, dir)
	for _, fab := range []string{"clean", "errors", "warnings"} {
		for _, format := range []string{"text", "json", "github"} {
			runBinary(t, dir, "check", fab, "--format", format)
		}
	}
	if diff := cmp.Diff(before, treeSums(t, dir)); diff != "" {
		t.Errorf("check changed the fabric folders (-before +after):\n%s", diff)
	}
}

// treeSums maps every file and folder under dir to its SHA-256 (folders to "dir").
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "dir"
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The github format's paths are relative to the root of the repository holding DIR, however
// DIR is written, and to the current folder outside a repository.
func TestCheckGitHubPaths(t *testing.T) {
	repo := fixtureRepo(t)
	outside := t.TempDir()
	if err := os.CopyFS(filepath.Join(outside, "errs"), os.DirFS(filepath.Join("testdata", "check", "errors"))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cwd, dir, want string
	}{
		{repo, "errors", "fabrics/errors/raw/vpcs.yaml"},
		{filepath.Join(repo, "errors"), ".", "fabrics/errors/raw/vpcs.yaml"},
		{filepath.Join(repo, "errors", "raw"), "..", "fabrics/errors/raw/vpcs.yaml"},
		{filepath.Dir(repo), "fabrics/errors/", "fabrics/errors/raw/vpcs.yaml"},
		{repo, filepath.Join(repo, "errors"), "fabrics/errors/raw/vpcs.yaml"},
		{outside, "errs", "errs/raw/vpcs.yaml"},
		{filepath.Join(outside, "errs"), ".", "raw/vpcs.yaml"},
	}
	for _, tt := range tests {
		r := runBinary(t, tt.cwd, "check", tt.dir, "--format", "github")
		want := "::error file=" + tt.want + ",line=4,col=9,title=ingest::"
		if r.code != exitPartial || !strings.HasPrefix(r.stdout, want) {
			t.Errorf("in %s, check %s --format github = exit %d:\n%s\nwant exit 2 and a first line starting %q", tt.cwd, tt.dir, r.code, r.stdout, want)
		}
		if !filepath.IsAbs(tt.dir) && strings.Contains(r.stdout+r.stderr, tt.cwd) {
			t.Errorf("check %s printed an absolute path:\n%s%s", tt.dir, r.stdout, r.stderr)
		}
	}
}

func TestCheckEscaping(t *testing.T) {
	if got, want := escapeData("50% done\r\nnext: a,b\x1b[31m"), `50%25 done%0D%0Anext: a,b\x1b[31m`; got != want {
		t.Errorf("escapeData = %q; want %q", got, want)
	}
	if got, want := escapeProperty("raw/a,b:c%.yaml\n"), "raw/a%2Cb%3Ac%25.yaml%0A"; got != want {
		t.Errorf("escapeProperty = %q; want %q", got, want)
	}
}

// Configuration and usage errors exit 64 with a message naming what is wrong, and print
// nothing on stdout.
func TestCheckUsageErrors(t *testing.T) {
	dir := fixtureRepo(t)
	if err := os.WriteFile(filepath.Join(dir, "not-a-crd.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"check", "nope"}, "fabsync check: nope: no such folder\n"},
		{[]string{"check", "clean/raw/vpcs.yaml"}, "fabsync check: clean/raw/vpcs.yaml is a file; give the fabric folder"},
		{[]string{"check", "empty"}, "fabsync check: empty is not a fabric folder: it has neither raw/ nor managed/\n"},
		{[]string{"check"}, "fabsync check: . is not a fabric folder"},
		{[]string{"check", "clean", "--format", "xml"}, `fabsync check: --format "xml": want text, json or github`},
		{[]string{"check", "clean", "errors"}, `fabsync check: unexpected argument "errors"`},
		{[]string{"check", ""}, "fabsync check: DIR must not be empty"},
		{[]string{"check", "clean", "--crds", "missing/"}, "fabsync check: --crds missing/: no such file or folder\n"},
		{[]string{"check", "clean", "--crds", "clean/raw/vpcs.yaml"}, "fabsync check: --crds: clean/raw/vpcs.yaml: "},
		{[]string{"check", "clean", "--crds", "not-a-crd.yaml"}, "fabsync check: --crds: not-a-crd.yaml: "},
		{[]string{"check", "clean", "--crds", "empty"}, "fabsync check: --crds empty: the folder has no *.yaml or *.yml files\n"},
		{[]string{"check", "clean", "--disable", "no-such-rule"}, `fabsync check: --disable: unknown rule "no-such-rule"`},
		{[]string{"check", "clean", "--strcit"}, "flag provided but not defined: -strcit"},
		{[]string{"ingest", "nope"}, "fabsync ingest: nope: no such folder\n"},
		{[]string{"ingest", "clean", "--crds", "not-a-crd.yaml"}, "fabsync ingest: --crds: not-a-crd.yaml: "},
		{[]string{"ingest", "clean", "--format", "json"}, "flag provided but not defined: -format"},
	}
	before := treeSums(t, dir)
	for _, tt := range tests {
		r := runBinary(t, dir, tt.args...)
		if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("fabsync %q = exit %d, stdout %q, stderr:\n%s\nwant exit 64, no stdout, stderr containing %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
		if strings.Contains(r.stderr, dir) {
			t.Errorf("fabsync %q printed an absolute path:\n%s", tt.args, r.stderr)
		}
	}
	if diff := cmp.Diff(before, treeSums(t, dir)); diff != "" {
		t.Errorf("a usage error changed the folder (-before +after):\n%s", diff)
	}
}

// check and ingest need no server: a bad FABSYNC_SERVER or --server does not matter.
func TestCheckNeedsNoServer(t *testing.T) {
	dir := fixtureRepo(t)
	r := runBinary(t, dir, "check", "clean", "--server", "not a url")
	if r.code != exitOK {
		t.Errorf("check with a bad --server = exit %d, stderr %q; want 0", r.code, r.stderr)
	}
}

func TestCheckHelp(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"help", "check"}, {"check", "--help"}, {"check", "-h"}} {
		r := runBinary(t, dir, args...)
		for _, w := range []string{"Usage: fabsync check [DIR] [flags]", "--format", "github", "--crds", "--strict", "--disable", "--warnings-as-errors", "warnings alone exit 0", "64"} {
			if r.code != exitOK || !strings.Contains(r.stdout, w) {
				t.Errorf("fabsync %s = exit %d; want 0 and help containing %q:\n%s", strings.Join(args, " "), r.code, w, r.stdout)
			}
		}
	}
	r := runBinary(t, dir, "help", "ingest")
	for _, w := range []string{"Usage: fabsync ingest [DIR...] [flags]", "Nothing\nis committed", ".hnp/manifest.yaml", "--crds", "several DIRs"} {
		if r.code != exitOK || !strings.Contains(r.stdout, w) {
			t.Errorf("fabsync help ingest = exit %d; want 0 and help containing %q:\n%s", r.code, w, r.stdout)
		}
	}
	r = runBinary(t, dir, "--help")
	for _, w := range []string{"check [DIR]", "ingest [DIR...]"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("fabsync --help lacks %q:\n%s", w, r.stdout)
		}
	}
}

// realFabric makes a fabric folder in a temporary repository with the real wiring file name
// as its only raw file, and returns the repository and the fabric folder's path in it.
func realFabric(t *testing.T, name string) (repo, fab string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sharedtest.Dir(t, "hedgehog"), name))
	if err != nil {
		t.Fatal(err)
	}
	repo = t.TempDir()
	fab = "fabric-1"
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(repo, fab, "raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, fab, "raw", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return repo, fab
}

// checkJSON is check's JSON document.
type checkJSON struct {
	Problems []problem `json:"problems"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
}

// TestCheckRealFiles runs check on each real wiring file: the demo file is a fragment (it peers
// VPCs another file of its repository defines) and has three errors, the others none.
func TestCheckRealFiles(t *testing.T) {
	dir := sharedtest.Dir(t, "hedgehog")
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no real wiring files in the shared test data (%v)", err)
	}
	for _, path := range names {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			repo, fab := realFabric(t, name)
			wantErrors, wantCode := 0, exitOK
			if name == "demo-gitops_env-1_demo.yaml" {
				wantErrors, wantCode = 3, exitPartial
			}
			r := runBinary(t, repo, "check", fab, "--format", "json")
			var got checkJSON
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != wantCode || r.stderr != "" {
				t.Fatalf("check --format json = exit %d, %v, stderr %q; want exit %d and JSON:\n%s", r.code, err, r.stderr, wantCode, r.stdout)
			}
			errs, warns := countProblems(got.Problems)
			if got.Errors != wantErrors || errs != wantErrors || warns != got.Warnings {
				t.Errorf("JSON says %d errors, %d warnings and lists %d, %d; want %d errors", got.Errors, got.Warnings, errs, warns, wantErrors)
			}
			for _, p := range got.Problems {
				if p.File != "raw/"+name || p.Rule == "" || (p.Line > 0 && p.Excerpt == "") {
					t.Errorf("problem %+v: want file raw/%s, a rule, and an excerpt when located at a line", p, name)
				}
			}

			text := runBinary(t, repo, "check", fab)
			if text.code != wantCode {
				t.Errorf("check (text) = exit %d; want %d", text.code, wantCode)
			}
			if n := errs + warns; n > 0 && !strings.Contains(text.stdout, "\n"+problemCounts(errs, warns)+" in 1 file.\n") {
				t.Errorf("check (text) does not end with the counts of the JSON (%d errors, %d warnings):\n%s", errs, warns, text.stdout)
			}

			gh := runBinary(t, repo, "check", fab, "--format", "github")
			if gh.code != wantCode {
				t.Errorf("check --format github = exit %d; want %d", gh.code, wantCode)
			}
			lines := strings.Split(strings.TrimSuffix(gh.stdout, "\n"), "\n")
			if len(lines) != errs+warns+1 && len(lines) != errs+warns+2 {
				t.Errorf("github format printed %d lines for %d problems:\n%s", len(lines), errs+warns, gh.stdout)
			}
			annotation := regexp.MustCompile(`^::(error|warning) file=fabric-1/raw/` + regexp.QuoteMeta(name) + `(,line=[0-9]+,col=[0-9]+)?,title=[a-z0-9-]+::\S`)
			for _, l := range lines[:errs+warns] {
				if !annotation.MatchString(l) {
					t.Errorf("github format line %q does not match %s", l, annotation)
				}
			}
			if name == "demo-gitops_env-1_demo.yaml" {
				golden(t, filepath.Join("check", "golden", "real-demo.github.golden"), gh.stdout)
				var rules []string
				for _, p := range got.Problems {
					rules = append(rules, p.Rule)
				}
				slices.Sort(rules)
				if want := []string{"externalpeering-unknown-vpc", "vpcpeering-unknown-vpc", "vpcpeering-unknown-vpc"}; !slices.Equal(rules, want) {
					t.Errorf("demo file's rules = %q; want %q", rules, want)
				}
			}
		})
	}
}

// With the real CRDs, a real file that the schemas accept still checks clean.
func TestCheckRealFileWithCRDs(t *testing.T) {
	repo, fab := realFabric(t, "gitops-test-1_test-vpc.yaml")
	r := runBinary(t, repo, "check", fab, "--crds", crdsDir(t), "--strict")
	if r.code != exitOK || !strings.Contains(r.stdout, "no problems") {
		t.Errorf("check --crds --strict = exit %d, stdout:\n%s\nstderr:\n%s\nwant 0 and no problems", r.code, r.stdout, r.stderr)
	}
}

// TestIngestCommand transforms a fabric folder as the worker would; a second run is a no-op.
func TestIngestCommand(t *testing.T) {
	dir := fixtureRepo(t)
	fab := filepath.Join(dir, "clean")
	r := runBinary(t, dir, "ingest", "clean")
	summary := regexp.MustCompile(`^Ingested 2 raw files, 6 documents in clean: 6 created, 0 updated, 0 unchanged; originals archived under \.hnp/archive/([0-9]{8}T[0-9]{6}Z-[0-9a-f]{10})/\.\n` +
		`Nothing was committed: review the changes and commit them with git\.\n$`)
	m := summary.FindStringSubmatch(r.stdout)
	if r.code != exitOK || r.stderr != "" || m == nil {
		t.Fatalf("ingest = exit %d, stderr %q, stdout:\n%s\nwant exit 0 and a summary matching %s", r.code, r.stderr, r.stdout, summary)
	}
	id := m[1]
	var files []string
	for p, sum := range treeSums(t, fab) {
		if sum != "dir" {
			files = append(files, p)
		}
	}
	slices.Sort(files)
	want := []string{
		".hnp/archive-log.yaml",
		".hnp/archive/" + id + "/vpcs.yaml.archived",
		".hnp/archive/" + id + "/wiring.yaml.archived",
		".hnp/manifest.yaml",
		"managed/connections/server-01--unbundled--leaf-01.yaml",
		"managed/ipv4namespaces/default.yaml",
		"managed/servers/server-01.yaml",
		"managed/switches/leaf-01.yaml",
		"managed/vlannamespaces/default.yaml",
		"managed/vpcs/vpc-1.yaml",
		"raw/.gitkeep",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files after ingest (-want +got):\n%s", diff)
	}
	manifest, err := os.ReadFile(filepath.Join(fab, ".hnp", "manifest.yaml"))
	if err != nil || !strings.Contains(string(manifest), "job: \""+id+"\"") {
		t.Errorf("manifest does not name job %s (%v):\n%s", id, err, manifest)
	}
	archived, err := os.ReadFile(filepath.Join(fab, ".hnp", "archive", id, "vpcs.yaml.archived"))
	original, _ := os.ReadFile(filepath.Join("testdata", "check", "clean", "raw", "vpcs.yaml"))
	if err != nil || !bytes.Equal(archived, original) {
		t.Errorf("the archive copy is not the raw file byte for byte (%v)", err)
	}

	before := treeSums(t, fab)
	r = runBinary(t, dir, "ingest", "clean")
	if want := "Nothing to ingest in clean: raw/ has no YAML files.\n"; r.code != exitOK || r.stdout != want {
		t.Errorf("second ingest = exit %d, stdout %q, stderr %q; want 0, %q", r.code, r.stdout, r.stderr, want)
	}
	if diff := cmp.Diff(before, treeSums(t, fab)); diff != "" {
		t.Errorf("the second ingest changed the folder (-before +after):\n%s", diff)
	}
	// What was ingested checks clean, as the managed/ files a later sync lands on.
	if r := runBinary(t, dir, "check", "clean"); r.code != exitOK || !strings.HasPrefix(r.stdout, "Nothing to check in clean") {
		t.Errorf("check after ingest = exit %d:\n%s", r.code, r.stdout)
	}
}

// Several fabric folders are ingested one after the other, each as its own fabric: one with
// errors is left as it was and makes the exit code 2, the others are ingested. A DIR that is
// not a fabric folder is a usage error before anything is ingested.
func TestIngestCommandSeveralDirs(t *testing.T) {
	dir := fixtureRepo(t)
	before := treeSums(t, filepath.Join(dir, "errors"))
	r := runBinary(t, dir, "ingest", "clean", "errors", "warnings")
	if r.code != exitPartial || r.stderr != "" {
		t.Fatalf("ingest clean errors warnings = exit %d, stderr %q; want 2", r.code, r.stderr)
	}
	for _, w := range []string{"Ingested 2 raw files, 6 documents in clean:", "Did not ingest errors:", "in warnings:"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	if diff := cmp.Diff(before, treeSums(t, filepath.Join(dir, "errors"))); diff != "" {
		t.Errorf("the fabric with errors changed (-before +after):\n%s", diff)
	}
	for _, fab := range []string{"clean", "warnings"} {
		if _, err := os.Stat(filepath.Join(dir, fab, ".hnp", "manifest.yaml")); err != nil {
			t.Errorf("%s was not ingested: %v", fab, err)
		}
	}

	dir = fixtureRepo(t)
	before = treeSums(t, dir)
	r = runBinary(t, dir, "ingest", "clean", "no-such-folder")
	if r.code != exitUsage || !strings.Contains(r.stderr, "no-such-folder: no such folder") {
		t.Errorf("ingest clean no-such-folder = exit %d, stderr %q; want 64 naming the folder", r.code, r.stderr)
	}
	if diff := cmp.Diff(before, treeSums(t, dir)); diff != "" {
		t.Errorf("a usage error changed the folders (-before +after):\n%s", diff)
	}
}

// An ingest that finds errors prints them as check does, exits 2 and writes nothing.
func TestIngestCommandErrors(t *testing.T) {
	dir := fixtureRepo(t)
	before := treeSums(t, dir)
	r := runBinary(t, dir, "ingest", "errors")
	if r.code != exitPartial || r.stderr != "" {
		t.Errorf("ingest errors = exit %d, stderr %q; want 2", r.code, r.stderr)
	}
	golden(t, filepath.Join("check", "golden", "ingest-errors.text.golden"), r.stdout)
	if diff := cmp.Diff(before, treeSums(t, dir)); diff != "" {
		t.Errorf("a failed ingest changed the folder (-before +after):\n%s", diff)
	}
}

// Warnings are printed after the summary; kinds that are not fabric kinds go to unmanaged/.
func TestIngestCommandWarnings(t *testing.T) {
	dir := fixtureRepo(t)
	r := runBinary(t, dir, "ingest", "warnings")
	if r.code != exitOK || !strings.Contains(r.stdout, "\n2 warnings in 1 file.\n") {
		t.Errorf("ingest warnings = exit %d, stdout:\n%s\nwant 0 and 2 warnings", r.code, r.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "warnings", "unmanaged", "widgets", "widget-1.yaml")); err != nil {
		t.Errorf("the Widget is not in unmanaged/: %v", err)
	}
}

// A real wiring file ingests into managed/ as the worker would.
func TestIngestCommandRealFile(t *testing.T) {
	repo, fab := realFabric(t, "gitops-test-1_prepop.yaml")
	r := runBinary(t, repo, "ingest", fab)
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "Ingested 1 raw file, 46 documents in fabric-1: 46 created, 0 updated, 0 unchanged;") {
		t.Fatalf("ingest = exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	entries, err := os.ReadDir(filepath.Join(repo, fab, "managed"))
	if err != nil || len(entries) == 0 {
		t.Errorf("managed/ after ingest: %v, %d entries", err, len(entries))
	}
	if r := runBinary(t, repo, "ingest", fab); r.code != exitOK || !strings.HasPrefix(r.stdout, "Nothing to ingest") {
		t.Errorf("second ingest = exit %d:\n%s", r.code, r.stdout)
	}
}

// ingest never writes through a symbolic link out of the fabric folder.
func TestIngestCommandSymlink(t *testing.T) {
	dir := fixtureRepo(t)
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, "clean", "managed")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	r := runBinary(t, dir, "ingest", "clean")
	if r.code == exitOK || !strings.Contains(r.stderr+r.stdout, "managed") {
		t.Errorf("ingest with managed/ a link = exit %d, stdout:\n%s\nstderr:\n%s\nwant a failure naming managed/", r.code, r.stdout, r.stderr)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("ingest wrote %d entries through the link", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "clean", "raw", "vpcs.yaml")); err != nil {
		t.Errorf("a refused ingest removed a raw file: %v", err)
	}
}
