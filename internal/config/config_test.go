package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fabsync/fabsync/internal/config"
)

func TestParse(t *testing.T) {
	f, err := config.Parse([]byte(`
fabrics:
  - name: fabric-1
    repo: https://github.com/example/gitops.git
    path: gitops/hedgehog/fabric-1/
    auth: {token_env: GITHUB_TOKEN}
    resync: 10m
  - name: lab
    repo: git@github.com:example/lab.git
    branch: prod
`))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if got := len(f.Fabrics); got != 2 {
		t.Fatalf("fabrics = %d; want 2", got)
	}
	fb, ok := f.Fabric("fabric-1")
	if !ok || fb.Branch != "main" || fb.Path != "gitops/hedgehog/fabric-1" || time.Duration(fb.Resync) != 10*time.Minute || fb.Auth.TokenEnv != "GITHUB_TOKEN" {
		t.Errorf("fabric-1 = %+v", fb)
	}
	if lab, _ := f.Fabric("lab"); lab.Path != "." || lab.Branch != "prod" || lab.Resync != 0 {
		t.Errorf("lab = %+v", lab)
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"syntax", "fabrics: [", "line 1: did not find expected node content"},
		{"unknown field", "fabrics:\n  - name: a\n    repo: /r\n    colour: red\n", "line 4: field colour not found"},
		{"missing name", "fabrics:\n  - repo: /r\n", "line 2: fabrics[0]: name is required"},
		{"bad name", "fabrics:\n  - name: Fabric_1\n    repo: /r\n", `line 2: fabrics[0] (Fabric_1): name "Fabric_1" must be a DNS label`},
		{"duplicate", "fabrics:\n  - {name: a, repo: /r}\n  - {name: a, repo: /s}\n", `line 3: fabrics[1] (a): name "a" is used by two fabrics`},
		{"missing repo", "fabrics:\n  - name: a\n", "line 2: fabrics[0] (a): repo is required"},
		{"inline secret", "fabrics:\n  - {name: a, repo: 'https://u:hunter2@h/r.git'}\n",
			"line 2: fabrics[0] (a): repo: credentials must not be in the URL (found a user name and password); put the token in auth.token_env or auth.token_file, the user in auth.username"},
		{"token as user name", "fabrics:\n  - {name: a, repo: 'https://ghp_hunter2hunter2@github.com/o/r.git'}\n",
			"line 2: fabrics[0] (a): repo: credentials must not be in the URL (found a user name); put the token in auth.token_env or auth.token_file, the user in auth.username"},
		{"token as user name over http", "fabrics:\n  - {name: a, repo: 'HTTP://hunter2@h/r.git'}\n", "credentials must not be in the URL (found a user name)"},
		{"empty user name", "fabrics:\n  - {name: a, repo: 'https://@h/r.git'}\n", "credentials must not be in the URL"},
		{"user name in a file URL", "fabrics:\n  - {name: a, repo: 'file://hunter2@localhost/srv/r.git'}\n", "credentials must not be in the URL (found a user name)"},
		{"ssh password", "fabrics:\n  - {name: a, repo: 'ssh://git:hunter2@h/r.git'}\n", "credentials must not be in the URL (found a password)"},
		{"scp-like password", "fabrics:\n  - {name: a, repo: 'git:hunter2@h:o/r.git'}\n", "credentials must not be in the URL (found a password)"},
		{"token in the query", "fabrics:\n  - {name: a, repo: 'https://h/r.git?access_token=hunter2'}\n", "repo: the URL must not have a query (?...) or a fragment (#...)"},
		{"token in the fragment", "fabrics:\n  - {name: a, repo: 'https://h/r.git#hunter2'}\n", "must not have a query"},
		{"unparsable URL", "fabrics:\n  - {name: a, repo: 'https://hunter2@h:port/r.git'}\n", "repo: not a valid URL"},
		{"bad scheme", "fabrics:\n  - {name: a, repo: 'ftp://h/r.git'}\n", `scheme "ftp" not supported`},
		{"escaping path", "fabrics:\n  - {name: a, repo: /r, path: ../x}\n", `"../x" leaves the repository`},
		{"absolute path", "fabrics:\n  - {name: a, repo: /r, path: /etc}\n", "must be a relative"},
		{"bad interval", "fabrics:\n  - {name: a, repo: /r, resync: soon}\n", `line 2: duration "soon"`},
		{"short interval", "fabrics:\n  - {name: a, repo: /r, resync: 1s}\n", "at least 10s"},
		{"negative interval", "fabrics:\n  - {name: a, repo: /r, resync: -1m}\n", "must be 0 (off)"},
		{"password without user", "fabrics:\n  - {name: a, repo: /r, auth: {password_env: P}}\n", "need username"},
		{"bad branch", "fabrics:\n  - {name: a, repo: /r, branch: 'a..b'}\n", "not a valid branch"},
		{"line of the field", "fabrics:\n  - name: a\n    repo: /r\n\n    path: ../x\n", `line 5: fabrics[0] (a): path: "../x" leaves`},
		{"line of the second fabric", "fabrics:\n  - {name: a, repo: /r}\n  # b has none\n  - name: b\n", "line 4: fabrics[1] (b): repo is required"},
		{"two problems", "fabrics:\n  - {name: a}\n  - {name: b, repo: /r, resync: 1s}\n", "line 2: fabrics[0] (a): repo is required; line 3: fabrics[1] (b): resync 1s"},
		{"wrong type", "fabrics:\n  - name: a\n    repo: /r\n    auth: [1]\n", "line 4: cannot unmarshal !!seq into config.Auth"},
		{"unknown rule", "fabrics:\n  - name: a\n    repo: /r\n    validation: {disable: [no-such-rule]}\n", `line 4: fabrics[0] (a): validation: disable: unknown rule "no-such-rule"`},
		{"unknown rule in the defaults", "validation: {disable: [nope]}\nfabrics:\n  - {name: a, repo: /r}\n", `validation: disable: unknown rule "nope"`},
		{"CRDs outside the repository", "fabrics:\n  - {name: a, repo: /r, validation: {crds: [../crds]}}\n", `validation: crds: "../crds" leaves the repository`},
		{"CRDs path with ..", "fabrics:\n  - {name: a, repo: /r, validation: {crds: [/etc/../crds]}}\n", `without . or .. elements`},
		{"unknown validation key", "fabrics:\n  - {name: a, repo: /r, validation: {stirct: true}}\n", "field stirct not found"},
		{"bad drift", "fabrics:\n  - name: a\n    repo: /r\n    drift: ignore\n", `line 4: fabrics[0] (a): drift "ignore" is not one of adopt, report, revert (default adopt)`},
		{"bad default drift", "drift: Revert\nfabrics:\n  - {name: a, repo: /r}\n", `line 1: drift "Revert" is not one of adopt, report, revert (default adopt)`},
		{"misplaced secret", "fabrics:\n  - name: a\n    repo: /r\n    auth: hunter2hunter2\n", "line 4: cannot unmarshal !!str into config.Auth"},
		{"both signing passphrase sources", "fabrics:\n  - name: a\n    repo: /r\n    auth: {signing_key_file: k.asc, signing_passphrase_env: P, signing_passphrase_file: /run/p}\n",
			"line 4: fabrics[0] (a): auth: set signing_passphrase_env or signing_passphrase_file, not both"},
		{"signing passphrase env without a key", "fabrics:\n  - name: a\n    repo: /r\n    auth: {signing_passphrase_env: P}\n",
			"line 4: fabrics[0] (a): auth: signing_passphrase_env/signing_passphrase_file need signing_key_file"},
		{"signing passphrase file without a key", "fabrics:\n  - {name: a, repo: /r, auth: {ssh_key_file: id, signing_passphrase_file: /run/p}}\n",
			"signing_passphrase_env/signing_passphrase_file need signing_key_file"},
		{"signing key pasted as its file", "fabrics:\n  - name: a\n    repo: /r\n    auth:\n      signing_key_file: |\n        -----BEGIN OPENSSH PRIVATE KEY-----\n        hunter2hunter2\n        -----END OPENSSH PRIVATE KEY-----\n",
			"line 5: fabrics[0] (a): auth: signing_key_file must name a file holding the key, not be the key"},
		{"signing key on one line", "fabrics:\n  - {name: a, repo: /r, auth: {signing_key_file: '-----BEGIN PGP PRIVATE KEY BLOCK----- hunter2'}}\n",
			"signing_key_file must name a file holding the key"},
		{"signing key inline", "fabrics:\n  - name: a\n    repo: /r\n    auth: {signing_key: hunter2hunter2}\n", "line 4: field signing_key not found"},
		{"signing passphrase inline", "fabrics:\n  - name: a\n    repo: /r\n    auth: {signing_key_file: k, signing_passphrase: hunter2}\n", "line 4: field signing_passphrase not found"},
		{"signing key file of the wrong type", "fabrics:\n  - name: a\n    repo: /r\n    auth: {signing_key_file: [hunter2]}\n", "line 4: cannot unmarshal !!seq into string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.yaml))
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v; want ErrInvalid containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

// TestParseSigning: the signing key and its passphrase are named, never read, by Parse.
func TestParseSigning(t *testing.T) {
	for _, tt := range []struct {
		name, auth string
		want       config.Auth
	}{
		{"key only", "{signing_key_file: keys/signing.asc}", config.Auth{SigningKeyFile: "keys/signing.asc"}},
		{"passphrase from the environment", "{signing_key_file: /run/secrets/sign/id_ed25519, signing_passphrase_env: SIGN_PASS}",
			config.Auth{SigningKeyFile: "/run/secrets/sign/id_ed25519", SigningPassphraseEnv: "SIGN_PASS"}},
		{"passphrase from a file", "{signing_key_file: k.gpg, signing_passphrase_file: /run/secrets/sign/passphrase}",
			config.Auth{SigningKeyFile: "k.gpg", SigningPassphraseFile: "/run/secrets/sign/passphrase"}},
		{"with a token and an SSH key", "{token_env: T, signing_key_file: k.asc, signing_passphrase_env: P}",
			config.Auth{TokenEnv: "T", SigningKeyFile: "k.asc", SigningPassphraseEnv: "P"}},
		{"a missing file is the worker's to report", "{signing_key_file: /no/such/key}", config.Auth{SigningKeyFile: "/no/such/key"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse([]byte("fabrics:\n  - name: a\n    repo: /r\n    auth: " + tt.auth + "\n"))
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if fb, _ := f.Fabric("a"); fb.Auth != tt.want {
				t.Errorf("auth = %+v; want %+v", fb.Auth, tt.want)
			}
		})
	}
}

// TestParseKeepsSSHUser: the user of an ssh address is the SSH login, not a secret.
// TestValidationMerge checks that a fabric's validation: keys replace the top-level defaults key
// by key.
func TestValidationMerge(t *testing.T) {
	f, err := config.Parse([]byte(`validation:
  crds: [crds/]
  strict: true
  disable: [vpc-name-length]
fabrics:
  - {name: a, repo: /r}
  - {name: b, repo: /r, validation: {strict: false}}
  - {name: c, repo: /r, validation: {crds: [/etc/fabsync/crds.yaml], disable: []}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		fabric  string
		crds    []string
		strict  bool
		disable []string
	}{
		{"a", []string{"crds/"}, true, []string{"vpc-name-length"}},
		{"b", []string{"crds/"}, false, []string{"vpc-name-length"}},
		{"c", []string{"/etc/fabsync/crds.yaml"}, true, []string{}},
	} {
		fb, _ := f.Fabric(tt.fabric)
		v := fb.Validation
		if !slices.Equal(v.CRDs, tt.crds) || v.IsStrict() != tt.strict || !slices.Equal(v.Disable, tt.disable) {
			t.Errorf("%s: validation = {crds %v, strict %v, disable %v}; want {%v, %v, %v}", tt.fabric, v.CRDs, v.IsStrict(), v.Disable, tt.crds, tt.strict, tt.disable)
		}
	}
}

// TestDriftMerge: a fabric's drift: replaces the top-level default, which
// is "adopt" when unset.
func TestDriftMerge(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want map[string]string
	}{
		{"fabrics:\n  - {name: a, repo: /r}\n  - {name: b, repo: /r, drift: report}\n", map[string]string{"a": "adopt", "b": "report"}},
		{"drift: revert\nfabrics:\n  - {name: a, repo: /r}\n  - {name: b, repo: /r, drift: adopt}\n", map[string]string{"a": "revert", "b": "adopt"}},
	} {
		f, err := config.Parse([]byte(tt.yaml))
		if err != nil {
			t.Fatalf("Parse(%q) = %v", tt.yaml, err)
		}
		for name, want := range tt.want {
			if fb, _ := f.Fabric(name); fb.Drift != want {
				t.Errorf("Parse(%q): fabric %s drift = %q; want %q", tt.yaml, name, fb.Drift, want)
			}
		}
	}
	if !slices.Equal(config.DriftModes, []string{"adopt", "report", "revert"}) {
		t.Errorf("DriftModes = %v", config.DriftModes)
	}
}

func TestParseKeepsSSHUser(t *testing.T) {
	for _, repo := range []string{"ssh://git@github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@h:2222/r.git", "https://github.com/o/r.git", "/srv/git/r.git"} {
		f, err := config.Parse([]byte("fabrics:\n  - {name: a, repo: '" + repo + "'}\n"))
		if err != nil {
			t.Errorf("Parse(repo %s) = %v; want it accepted", repo, err)
			continue
		}
		if got := f.Fabrics[0].RedactedRepo(); got != repo {
			t.Errorf("RedactedRepo() of %s = %q; want it unchanged", repo, got)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://ghp_secret@github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://u:secret@github.com/o/r.git", "https://github.com/o/r.git"},
		{"HTTP://secret@h:8080/r.git", "HTTP://h:8080/r.git"},
		{"https://secret@h", "https://h"},
		{"https://a@b:secret@h/r.git", "https://h/r.git"},          // the last @ ends the user info
		{"https://secret@h:port/r.git", "https://h:port/r.git"},    // not a valid URL: redacted all the same
		{"https://h/r.git?access_token=secret", "https://h/r.git"}, // a query can hold a token too
		{"https://h/r.git#secret", "https://h/r.git"},
		{"https://h/a@b/r.git", "https://h/a@b/r.git"}, // an @ in the path is no user info
		{"ssh://git@h/r.git", "ssh://git@h/r.git"},
		{"ssh://git:secret@h/r.git", "ssh://git@h/r.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"git:secret@github.com:o/r.git", "git@github.com:o/r.git"},
		{"file://secret@localhost/srv/r.git", "file://localhost/srv/r.git"},
		{"/srv/git/r.git", "/srv/git/r.git"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := config.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestSourceRereads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fabsync.yaml")
	write := func(s string, mt time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now().Add(-time.Hour)
	write("fabrics:\n  - {name: a, repo: /r}\n", t0)
	s, err := config.NewSource(p, config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Fabric("a"); !ok {
		t.Fatal("fabric a missing")
	}
	write("fabrics:\n  - {name: b, repo: /r}\n", t0.Add(time.Second))
	if _, ok := s.Fabric("b"); !ok {
		t.Fatal("fabric b missing after rewrite")
	}
	// A broken rewrite keeps serving the last good file and reports the error.
	write("fabrics: [", t0.Add(2*time.Second))
	f, err := s.Load()
	if err == nil || f == nil || len(f.Fabrics) != 1 || f.Fabrics[0].Name != "b" {
		t.Fatalf("Load after bad rewrite = %v, %v; want last good file and an error", f, err)
	}
	if _, err := config.NewSource(filepath.Join(t.TempDir(), "missing.yaml"), config.SourceConfig{}); err == nil {
		t.Fatal("NewSource(missing) = nil error")
	}
}

// TestSourceConfigMap checks hot reload of a file mounted the way the kubelet mounts a
// ConfigMap (the Helm chart mounts the fabrics file so): fabsync.yaml is a link to
// ..data/fabsync.yaml, ..data a link to a timestamped folder, and an update writes a new folder
// and swaps ..data atomically, then deletes the old folder. The new content (of the same size) is
// served.
func TestSourceConfigMap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string, mt time.Time) {
		t.Helper()
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, "fabsync.yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	mt := time.Now().Add(-time.Hour)
	version("..2026_12_01_10_00_00.1", "fabrics:\n  - {name: a, repo: /r}\n", mt)
	link("..2026_12_01_10_00_00.1", "..data")
	link("..data/fabsync.yaml", "fabsync.yaml")
	s, err := config.NewSource(filepath.Join(dir, "fabsync.yaml"), config.SourceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Fabric("a"); !ok {
		t.Fatal("fabric a missing")
	}
	version("..2026_12_01_10_05_00.2", "fabrics:\n  - {name: b, repo: /r}\n", mt.Add(time.Second))
	link("..2026_12_01_10_05_00.2", "..data")
	if err := os.RemoveAll(filepath.Join(dir, "..2026_12_01_10_00_00.1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Fabric("b"); !ok {
		t.Fatal("fabric b missing after the ConfigMap update")
	}
	if _, ok := s.Fabric("a"); ok {
		t.Error("fabric a still served after the ConfigMap update")
	}
}

// TestSharedPaths: the fabric folders of one repository and branch, sorted and each once, are
// what one clone serves; another branch of the same repository is another clone.
func TestSharedPaths(t *testing.T) {
	f, err := config.Parse([]byte(`
fabrics:
  - {name: f2, repo: https://git.example/gitops.git, path: hedgehog/fabric-2}
  - {name: f1, repo: https://git.example/gitops.git, path: hedgehog/fabric-1/}
  - {name: f1b, repo: https://git.example/gitops.git, path: hedgehog/fabric-1}
  - {name: lab, repo: https://git.example/gitops.git, branch: lab, path: lab}
  - {name: other, repo: https://git.example/other.git}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		repo, branch string
		want         []string
	}{
		{"https://git.example/gitops.git", "main", []string{"hedgehog/fabric-1", "hedgehog/fabric-2"}},
		{"https://git.example/gitops.git", "lab", []string{"lab"}},
		{"https://git.example/other.git", "main", []string{"."}},
		{"https://git.example/none.git", "main", nil},
	} {
		if got := f.SharedPaths(tt.repo, tt.branch); !slices.Equal(got, tt.want) {
			t.Errorf("SharedPaths(%s, %s) = %q; want %q", tt.repo, tt.branch, got, tt.want)
		}
	}
}
