// Package config reads the fabrics file (SPEC §5): which fabrics exist, where their repositories
// live and how to authenticate to them. It validates the file and re-reads it when it changes on
// disk, so fabrics can be added, changed and removed without a restart. It resolves no secrets:
// it only names the environment variables and files that hold them.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrInvalid is wrapped by every error about the content of the fabrics file.
var ErrInvalid = errors.New("invalid configuration")

// Auth names where a fabric's credentials come from. Secrets are never inline.
type Auth struct {
	TokenEnv            string `yaml:"token_env,omitempty" json:"-"`
	TokenFile           string `yaml:"token_file,omitempty" json:"-"`
	Username            string `yaml:"username,omitempty" json:"-"`
	PasswordEnv         string `yaml:"password_env,omitempty" json:"-"`
	PasswordFile        string `yaml:"password_file,omitempty" json:"-"`
	SSHKeyFile          string `yaml:"ssh_key_file,omitempty" json:"-"`
	SSHPassphraseEnv    string `yaml:"ssh_passphrase_env,omitempty" json:"-"`
	KnownHostsFile      string `yaml:"known_hosts_file,omitempty" json:"-"`
	InsecureIgnoreHosts bool   `yaml:"insecure_ignore_host_key,omitempty" json:"-"`
}

// Fabric is one fabric: a folder in one branch of one repository.
type Fabric struct {
	Name   string   `yaml:"name"`
	Repo   string   `yaml:"repo"`
	Branch string   `yaml:"branch"`
	Path   string   `yaml:"path"`
	Auth   Auth     `yaml:"auth"`
	Resync Duration `yaml:"resync"`
}

// Duration is a time.Duration written as "10m" in YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go duration strings ("90s", "10m", "1h") and 0.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration must be a string such as \"10m\"", n.Line)
	}
	if s == "" || s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: use a form such as \"90s\", \"10m\" or \"1h\"", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// String formats d as Go does ("10m0s"), or "" when zero.
func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

// File is the parsed fabrics file.
type File struct {
	Fabrics []Fabric `yaml:"fabrics"`

	byName map[string]int // index into Fabrics
}

// Fabric returns the fabric named name.
func (f *File) Fabric(name string) (Fabric, bool) {
	if f.byName != nil {
		i, ok := f.byName[name]
		if !ok {
			return Fabric{}, false
		}
		return f.Fabrics[i], true
	}
	for _, fb := range f.Fabrics {
		if fb.Name == name {
			return fb, true
		}
	}
	return Fabric{}, false
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// MinResync is the shortest periodic resync interval accepted.
const MinResync = 10 * time.Second

// Parse parses and validates a fabrics file. Errors wrap ErrInvalid and name the field.
func Parse(data []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	seen := map[string]bool{}
	var problems []string
	for i := range f.Fabrics {
		fb := &f.Fabrics[i]
		where := fmt.Sprintf("fabrics[%d]", i)
		if fb.Name != "" {
			where = fmt.Sprintf("fabrics[%d] (%s)", i, fb.Name)
		}
		bad := func(format string, args ...any) {
			problems = append(problems, where+": "+fmt.Sprintf(format, args...))
		}
		switch {
		case fb.Name == "":
			bad("name is required")
		case len(fb.Name) > 63 || !dnsLabel.MatchString(fb.Name):
			bad("name %q must be a DNS label (lower-case letters, digits and '-', at most 63)", fb.Name)
		case seen[fb.Name]:
			bad("name %q is used by two fabrics", fb.Name)
		}
		seen[fb.Name] = true
		if fb.Repo == "" {
			bad("repo is required")
		} else if err := checkRepo(fb.Repo); err != nil {
			bad("repo: %v", err)
		}
		if fb.Branch == "" {
			fb.Branch = "main"
		}
		if strings.ContainsAny(fb.Branch, " ~^:?*[\\") || strings.Contains(fb.Branch, "..") || strings.HasPrefix(fb.Branch, "-") {
			bad("branch %q is not a valid branch name", fb.Branch)
		}
		if p, err := cleanPath(fb.Path); err != nil {
			bad("path: %v", err)
		} else {
			fb.Path = p
		}
		if fb.Resync < 0 || (fb.Resync > 0 && time.Duration(fb.Resync) < MinResync) {
			bad("resync %s: must be 0 (off) or at least %s", time.Duration(fb.Resync), MinResync)
		}
		a := fb.Auth
		if a.TokenEnv != "" && a.TokenFile != "" {
			bad("auth: set token_env or token_file, not both")
		}
		if (a.TokenEnv != "" || a.TokenFile != "") && (a.PasswordEnv != "" || a.PasswordFile != "") {
			bad("auth: set a token or a password, not both")
		}
		if (a.PasswordEnv != "" || a.PasswordFile != "") && a.Username == "" {
			bad("auth: password_env/password_file need username")
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	f.byName = make(map[string]int, len(f.Fabrics))
	for i, fb := range f.Fabrics {
		f.byName[fb.Name] = i
	}
	return &f, nil
}

// checkRepo rejects repository addresses that carry a secret inline.
func checkRepo(repo string) error {
	if strings.Contains(repo, "://") {
		u, err := url.Parse(repo)
		if err != nil {
			return fmt.Errorf("not a valid URL")
		}
		switch u.Scheme {
		case "https", "http", "ssh", "file", "git":
		default:
			return fmt.Errorf("scheme %q not supported (use https://, ssh://, git@host:path, file:// or a path)", u.Scheme)
		}
		if _, ok := u.User.Password(); ok {
			return fmt.Errorf("credentials must not be inline in the URL; use auth.token_env or auth.password_env")
		}
	}
	return nil
}

// cleanPath validates a fabric folder inside the repository.
func cleanPath(p string) (string, error) {
	if p == "" || p == "." || p == "/" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return "", fmt.Errorf("%q must be a relative slash-separated path inside the repository", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%q leaves the repository", p)
	}
	for _, part := range strings.Split(c, "/") {
		if part == ".git" {
			return "", fmt.Errorf("%q must not point into .git", p)
		}
	}
	return c, nil
}

// Source reads a fabrics file and re-reads it when its modification time or size changes.
// It is safe for concurrent use.
type Source struct {
	path string

	mu      sync.Mutex
	file    *File
	modTime time.Time
	size    int64
}

// NewSource returns a Source for path. It reads the file once so that a bad file is reported at
// startup; later reads that fail keep serving the last good content and return the error.
func NewSource(path string) (*Source, error) {
	s := &Source{path: path}
	if _, err := s.Load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the file name the Source reads.
func (s *Source) Path() string { return s.path }

// Load returns the current configuration, re-reading the file if it changed.
func (s *Source) Load() (*File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		if s.file != nil {
			return s.file, fmt.Errorf("read fabrics file: %w", err)
		}
		return nil, fmt.Errorf("read fabrics file: %w", err)
	}
	if s.file != nil && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
		return s.file, nil
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		return s.file, fmt.Errorf("read fabrics file: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		if s.file != nil {
			return s.file, fmt.Errorf("%s: %w", s.path, err)
		}
		return nil, fmt.Errorf("%s: %w", s.path, err)
	}
	s.file, s.modTime, s.size = f, fi.ModTime(), fi.Size()
	return f, nil
}

// Fabric returns the named fabric from the current configuration.
func (s *Source) Fabric(name string) (Fabric, bool) {
	f, _ := s.Load()
	if f == nil {
		return Fabric{}, false
	}
	return f.Fabric(name)
}

// Fabrics returns every fabric of the current configuration.
func (s *Source) Fabrics() []Fabric {
	f, _ := s.Load()
	if f == nil {
		return nil
	}
	return f.Fabrics
}
