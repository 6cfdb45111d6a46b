// Package config reads the fabrics file (README: Running it for real): which fabrics exist, where their repositories
// live and how to authenticate to them. It validates the file and re-reads it when it changes on
// disk, so fabrics can be added, changed and removed without a restart. It resolves no secrets:
// it only names the environment variables and files that hold them.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fabsync/fabsync/internal/validate"
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

	// SigningKeyFile is a private key that signs the fabric's commits (docs/SIGNING.md): an
	// OpenPGP secret key (gpg --export-secret-keys, armored or binary) for OpenPGP signatures,
	// an SSH private key for SSH signatures. Unset, commits are not signed.
	SigningKeyFile string `yaml:"signing_key_file,omitempty" json:"-"`
	// SigningPassphraseEnv or SigningPassphraseFile holds the passphrase of an encrypted
	// SigningKeyFile; at most one is set, and only with SigningKeyFile.
	SigningPassphraseEnv  string `yaml:"signing_passphrase_env,omitempty" json:"-"`
	SigningPassphraseFile string `yaml:"signing_passphrase_file,omitempty" json:"-"`

	// GitHubApp authenticates git over HTTPS and the forge's API as a GitHub App
	// installation (docs/DELIVERY.md), instead of a token or password.
	GitHubApp *GitHubApp `yaml:"github_app,omitempty" json:"-"`
}

// Fabric is one fabric: a folder in one branch of one repository.
type Fabric struct {
	Name   string   `yaml:"name"`
	Repo   string   `yaml:"repo"`
	Branch string   `yaml:"branch"`
	Path   string   `yaml:"path"`
	Auth   Auth     `yaml:"auth"`
	Resync Duration `yaml:"resync"`
	// Validation is the fabric's validation: block merged over the file's top-level one, key by
	// key (a key the fabric sets replaces the default's).
	Validation Validation `yaml:"validation"`
	// Drift says what a sync does with resource files edited, added or removed by hand under
	// managed/ and unmanaged/ (see ingest.Options.Drift): "adopt" (the default) takes the hand
	// edit into the manifest, "report" leaves it and warns on every sync, "revert" restores
	// the file the manifest records. Unset, it takes the file's top-level drift:, else "adopt";
	// after Parse it is always one of the three.
	Drift string `yaml:"drift"`
	// Deliver says how a job's commit reaches the fabric's branch (docs/DELIVERY.md): "push"
	// pushes it there; "pull_request" pushes it to the branch fabsync/<name> and opens or
	// updates a pull request into the fabric's branch. Unset, it takes the file's top-level
	// deliver:, else "push"; after Parse it is always one of DeliverModes.
	Deliver string `yaml:"deliver"`
	// Forge names the forge hosting the repository, for pull requests; optional where it can
	// be inferred from the repository URL.
	Forge Forge `yaml:"forge"`
	// Notify lists where the fabric's finished jobs are reported (docs/NOTIFY.md). Unset, it
	// takes the file's top-level notify:; an empty list (notify: []) sends nothing.
	Notify []Notify `yaml:"notify"`
	// CommitStatus sets a commit status (fabsync/<fabric>) on the commit each job synced from,
	// through the fabric's forge (docs/NOTIFY.md). Unset, it takes the file's top-level
	// commit_status:; after Parse it is never nil. See SetsCommitStatus.
	CommitStatus *bool `yaml:"commit_status"`
}

// SetsCommitStatus reports whether commit_status is set and true.
func (f Fabric) SetsCommitStatus() bool { return f.CommitStatus != nil && *f.CommitStatus }

// DriftModes are the values of drift:, the default first.
var DriftModes = []string{"adopt", "report", "revert"} // ingest.DriftAdopt, DriftReport, DriftRevert (tasks checks that they agree)

// checkDrift returns what is wrong with a drift: value, or "".
func checkDrift(mode string) string {
	if slices.Contains(DriftModes, mode) {
		return ""
	}
	return fmt.Sprintf("drift %q is not one of %s (default %s)", mode, strings.Join(DriftModes, ", "), DriftModes[0])
}

// Validation says how a fabric's documents are checked beyond Hedgehog's built-in rules,
// which always run.
type Validation struct {
	// CRDs are files or folders of CustomResourceDefinitions to check documents against. A
	// relative path is in the repository (from its root, at the commit being synced); an
	// absolute one is on the worker's disk. A folder gives its *.yaml and *.yml files.
	CRDs []string `yaml:"crds"`
	// Strict makes unknown fields and versions a CRD does not serve errors, not warnings.
	Strict *bool `yaml:"strict"`
	// Disable lists IDs of built-in rules to skip.
	Disable []string `yaml:"disable"`
}

// IsStrict reports whether strict is set and true.
func (v Validation) IsStrict() bool { return v.Strict != nil && *v.Strict }

// merged returns v over def, key by key.
func (v Validation) merged(def Validation) Validation {
	if v.CRDs == nil {
		v.CRDs = def.CRDs
	}
	if v.Strict == nil {
		v.Strict = def.Strict
	}
	if v.Disable == nil {
		v.Disable = def.Disable
	}
	return v
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
	// Validation holds the defaults of every fabric's validation: block.
	Validation Validation `yaml:"validation"`
	// Drift is the default of every fabric's drift: ("" means "adopt").
	Drift string `yaml:"drift"`
	// Deliver is the default of every fabric's deliver: ("" means "push").
	Deliver string `yaml:"deliver"`
	// Notify is the default of every fabric's notify: (a fabric's own list replaces it).
	Notify []Notify `yaml:"notify"`
	// CommitStatus is the default of every fabric's commit_status: [false].
	CommitStatus *bool `yaml:"commit_status"`

	byName map[string]int // index into Fabrics
	// byRepo holds the fabric folders of each repository and branch (repoKey), sorted: the
	// folders that share one clone on a worker.
	byRepo map[string][]string
}

// repoKey identifies a repository and branch: the fabrics that share a clone.
func repoKey(repo, branch string) string { return repo + "\x00" + branch }

// SharedPaths returns the folders (Fabric.Path) of every fabric of the file in the repository
// repo at branch, sorted, each once: the fabric folders that one clone of that branch serves.
func (f *File) SharedPaths(repo, branch string) []string {
	if f.byRepo != nil {
		return f.byRepo[repoKey(repo, branch)]
	}
	var out []string
	for _, fb := range f.Fabrics {
		if fb.Repo == repo && fb.Branch == branch && !slices.Contains(out, fb.Path) {
			out = append(out, fb.Path)
		}
	}
	slices.Sort(out)
	return out
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

// Parse parses and validates a fabrics file. Errors wrap ErrInvalid; each problem names the
// field and, where the file gives one, its line ("line 7: fabrics[1] (lab): repo is required").
func Parse(data []byte) (*File, error) {
	f, problems := parse(data)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return f, nil
}

// yamlValue matches the value yaml.v3 quotes in a type error ("cannot unmarshal !!str `ghp_abc...`
// into ..."): the start of whatever was written there, which might be a misplaced secret.
var yamlValue = regexp.MustCompile(" `[^`]*`")

// parse is Parse returning its problems, each with its line where known.
func parse(data []byte) (*File, []string) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			out := make([]string, len(te.Errors))
			for i, e := range te.Errors {
				out[i] = yamlValue.ReplaceAllString(e, "")
			}
			return nil, out
		}
		return nil, []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	// The same bytes once more as nodes, for the lines of the problems found below. It cannot
	// fail where the decode above did not.
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	items := fabricNodes(&root)

	seen := map[string]bool{}
	var problems []string
	if f.Drift != "" {
		if msg := checkDrift(f.Drift); msg != "" {
			if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
				if v := value(root.Content[0], "drift"); v != nil {
					msg = fmt.Sprintf("line %d: %s", v.Line, msg)
				}
			}
			problems = append(problems, msg)
		}
	}
	var topNotify *yaml.Node
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		topNotify = value(root.Content[0], "notify")
	}
	problems = append(problems, checkNotifyList(f.Notify, topNotify, "")...)
	if f.Deliver != "" {
		if msg := checkDeliver(f.Deliver); msg != "" {
			if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
				if v := value(root.Content[0], "deliver"); v != nil {
					msg = fmt.Sprintf("line %d: %s", v.Line, msg)
				}
			}
			problems = append(problems, msg)
		}
	}
	for i := range f.Fabrics {
		fb := &f.Fabrics[i]
		where := fmt.Sprintf("fabrics[%d]", i)
		if fb.Name != "" {
			where = fmt.Sprintf("fabrics[%d] (%s)", i, fb.Name)
		}
		var item *yaml.Node
		if i < len(items) {
			item = items[i]
		}
		bad := func(field, format string, args ...any) {
			msg := where + ": " + fmt.Sprintf(format, args...)
			if line := lineOf(item, field); line > 0 {
				msg = fmt.Sprintf("line %d: %s", line, msg)
			}
			problems = append(problems, msg)
		}
		switch {
		case fb.Name == "":
			bad("name", "name is required")
		case len(fb.Name) > 63 || !dnsLabel.MatchString(fb.Name):
			bad("name", "name %q must be a DNS label (lower-case letters, digits and '-', at most 63)", fb.Name)
		case seen[fb.Name]:
			bad("name", "name %q is used by two fabrics", fb.Name)
		}
		seen[fb.Name] = true
		if fb.Repo == "" {
			bad("repo", "repo is required")
		} else if err := checkRepo(fb.Repo); err != nil {
			bad("repo", "repo: %v", err)
		}
		if fb.Branch == "" {
			fb.Branch = "main"
		}
		if strings.ContainsAny(fb.Branch, " ~^:?*[\\") || strings.Contains(fb.Branch, "..") || strings.HasPrefix(fb.Branch, "-") {
			bad("branch", "branch %q is not a valid branch name", fb.Branch)
		}
		if p, err := cleanPath(fb.Path); err != nil {
			bad("path", "path: %v", err)
		} else {
			fb.Path = p
		}
		if fb.Resync < 0 || (fb.Resync > 0 && time.Duration(fb.Resync) < MinResync) {
			bad("resync", "resync %s: must be 0 (off) or at least %s", time.Duration(fb.Resync), MinResync)
		}
		switch {
		case fb.Drift != "":
			if msg := checkDrift(fb.Drift); msg != "" {
				bad("drift", "%s", msg)
			}
		case f.Drift != "":
			fb.Drift = f.Drift
		default:
			fb.Drift = DriftModes[0]
		}
		switch {
		case fb.Deliver != "":
			if msg := checkDeliver(fb.Deliver); msg != "" {
				bad("deliver", "%s", msg)
			}
		case f.Deliver != "" && checkDeliver(f.Deliver) == "":
			fb.Deliver = f.Deliver
		default:
			fb.Deliver = DeliverModes[0]
		}
		for _, msg := range checkForge(fb.Forge) {
			bad("forge", "%s", msg)
		}
		if fb.Notify == nil {
			fb.Notify = slices.Clone(f.Notify)
		} else {
			problems = append(problems, checkNotifyList(fb.Notify, value(item, "notify"), where+": ")...)
		}
		if fb.CommitStatus == nil {
			on := f.CommitStatus != nil && *f.CommitStatus
			fb.CommitStatus = &on
		}
		fb.Validation = fb.Validation.merged(f.Validation)
		for _, msg := range checkValidation(fb.Validation) {
			bad("validation", "validation: %s", msg)
		}
		a := fb.Auth
		if a.TokenEnv != "" && a.TokenFile != "" {
			bad("auth", "auth: set token_env or token_file, not both")
		}
		if (a.TokenEnv != "" || a.TokenFile != "") && (a.PasswordEnv != "" || a.PasswordFile != "") {
			bad("auth", "auth: set a token or a password, not both")
		}
		if (a.PasswordEnv != "" || a.PasswordFile != "") && a.Username == "" {
			bad("auth", "auth: password_env/password_file need username")
		}
		if strings.ContainsAny(a.SigningKeyFile, "\n\r") || strings.Contains(a.SigningKeyFile, "-----BEGIN") {
			// Never quoted: it is the key itself, pasted where its file belongs.
			bad("auth", "auth: signing_key_file must name a file holding the key, not be the key")
		}
		if a.SigningPassphraseEnv != "" && a.SigningPassphraseFile != "" {
			bad("auth", "auth: set signing_passphrase_env or signing_passphrase_file, not both")
		}
		if (a.SigningPassphraseEnv != "" || a.SigningPassphraseFile != "") && a.SigningKeyFile == "" {
			bad("auth", "auth: signing_passphrase_env/signing_passphrase_file need signing_key_file")
		}
		for _, msg := range checkGitHubApp(a) {
			bad("auth", "%s", msg)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	f.byName = make(map[string]int, len(f.Fabrics))
	f.byRepo = map[string][]string{}
	for i, fb := range f.Fabrics {
		f.byName[fb.Name] = i
		k := repoKey(fb.Repo, fb.Branch)
		if !slices.Contains(f.byRepo[k], fb.Path) {
			f.byRepo[k] = append(f.byRepo[k], fb.Path)
		}
	}
	for _, paths := range f.byRepo {
		slices.Sort(paths)
	}
	return &f, nil
}

// fabricNodes returns the nodes of the items of the top-level fabrics list, in order.
func fabricNodes(root *yaml.Node) []*yaml.Node {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	if seq := value(root.Content[0], "fabrics"); seq != nil && seq.Kind == yaml.SequenceNode {
		return seq.Content
	}
	return nil
}

// value returns the value of key in mapping node n, or nil.
func value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// lineOf returns the line of field in the fabric's node, else the line of the fabric itself,
// else 0.
func lineOf(item *yaml.Node, field string) int {
	if v := value(item, field); v != nil {
		return v.Line
	}
	if item != nil {
		return item.Line
	}
	return 0
}

// checkRepo rejects repository addresses that carry a secret inline. Its messages never quote
// the address, which is what they are about.
//
// Every http(s) URL with user info is refused, a user name alone too: a token is often written
// as the user name (https://ghp_xxx@github.com/...). An ssh address keeps its user name, which
// is the SSH login, but not a password.
func checkRepo(repo string) error {
	if !strings.Contains(repo, "://") {
		if user, _, ok := scpLike(repo); ok && strings.Contains(user, ":") {
			return credentialsError("a password", sshHint)
		}
		return nil
	}
	u, err := url.Parse(repo)
	if err != nil {
		return errors.New("not a valid URL") // url's error quotes the whole address
	}
	switch u.Scheme {
	case "https", "http", "ssh", "file", "git":
	default:
		return fmt.Errorf("scheme %q not supported (use https://, ssh://, git@host:path, file:// or a path)", u.Scheme)
	}
	if u.User != nil {
		_, hasPassword := u.User.Password()
		switch {
		case u.Scheme == "ssh" && hasPassword:
			return credentialsError("a password", sshHint)
		case u.Scheme == "ssh":
		case hasPassword && u.User.Username() != "":
			return credentialsError("a user name and password", httpHint)
		case hasPassword:
			return credentialsError("a password", httpHint)
		default:
			return credentialsError("a user name", httpHint)
		}
	}
	if (u.Scheme == "https" || u.Scheme == "http") && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "") {
		return errors.New("the URL must not have a query (?...) or a fragment (#...): git does not use them, and they can hold a token")
	}
	return nil
}

const (
	httpHint = "put the token in auth.token_env or auth.token_file, the user in auth.username"
	sshHint  = "SSH authenticates with a key: put it in auth.ssh_key_file"
)

func credentialsError(found, hint string) error {
	return fmt.Errorf("credentials must not be in the URL (found %s); %s", found, hint)
}

// scpLike splits an scp-like ssh address, user@host:path, into its user and the rest
// (host:path). It reports false for anything else, such as a local path.
func scpLike(repo string) (user, rest string, ok bool) {
	user, rest, ok = strings.Cut(repo, "@")
	if !ok || user == "" || strings.ContainsAny(user, "/\\") || !strings.Contains(rest, ":") {
		return "", "", false
	}
	return user, rest, true
}

// RedactURL returns a repository address in a form safe to show: without the user info of a
// URL (an ssh URL keeps its user name, the SSH login, and loses only a password), without the
// query and fragment of an http(s) URL, and without the password of an scp-like address
// (user:password@host:path). Local paths come back unchanged. It works on the text, so an
// address that does not parse as a URL is redacted too. Parse refuses every address that
// RedactURL would change; this is for what leaves the process all the same.
func RedactURL(repo string) string {
	scheme, rest, ok := strings.Cut(repo, "://")
	if !ok {
		if user, hostPath, ok := scpLike(repo); ok {
			name, _, _ := strings.Cut(user, ":")
			return name + "@" + hostPath
		}
		return repo
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		user := authority[:at]
		authority = authority[at+1:]
		if strings.EqualFold(scheme, "ssh") {
			name, _, _ := strings.Cut(user, ":")
			authority = name + "@" + authority
		}
	}
	if strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "http") {
		if i := strings.IndexAny(tail, "?#"); i >= 0 {
			tail = tail[:i]
		}
	}
	return scheme + "://" + authority + tail
}

// RedactedRepo returns the fabric's repository address as RedactURL shows it: the form for
// APIs, pages and messages.
func (f Fabric) RedactedRepo() string { return RedactURL(f.Repo) }

// checkValidation returns what is wrong with a validation block: a CRD path that leaves the
// repository or is empty, a rule ID that is not one of validate.Rules.
func checkValidation(v Validation) []string {
	var out []string
	for _, c := range v.CRDs {
		if strings.HasPrefix(c, "/") {
			if cl := path.Clean(c); cl != c && cl+"/" != c {
				out = append(out, fmt.Sprintf("crds: %q: write the absolute path without . or .. elements", c))
			}
			continue
		}
		if c == "" {
			out = append(out, "crds: an empty path")
			continue
		}
		if _, err := cleanPath(c); err != nil {
			out = append(out, fmt.Sprintf("crds: %v", err))
		}
	}
	known := map[string]bool{}
	for _, r := range validate.Rules() {
		known[r.ID] = true
	}
	for _, id := range v.Disable {
		if !known[id] {
			out = append(out, fmt.Sprintf("disable: unknown rule %q (the README's rules table lists them)", id))
		}
	}
	return out
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

// SourceConfig configures a Source. Zero values take the defaults in brackets.
type SourceConfig struct {
	// Logger receives one line each time the file on disk becomes unusable or changes to another
	// unusable content (ERROR) and when it is valid again (INFO) [discard].
	Logger *slog.Logger
	// Now is the clock of Status [time.Now].
	Now func() time.Time
}

// Status is how the Source's last look at its file went.
type Status struct {
	// Path is the file's name as configured (not made absolute).
	Path string
	// OK reports that the file on disk is valid and is what the Source serves.
	OK bool
	// Err says why the file on disk is not served, without the file's name: each problem with
	// the content names its line ("line 7: fabrics[1] (lab): repo is required"); a file that
	// cannot be read gives the read error. It never quotes values from the file beyond names
	// and the fields in error. Empty when OK.
	Err string
	// Since is when the Source first failed to use the file after serving a good one: the start
	// of the current unusable spell, kept while the file changes from one bad content to
	// another. Zero when OK.
	Since time.Time
	// LastGood is when the content being served was read.
	LastGood time.Time
}

// Source reads a fabrics file and re-reads it when its modification time or size changes. While
// the file on disk is unusable it keeps serving the last good content, and it logs each such
// change once (see SourceConfig.Logger), however often it is asked. It is safe for concurrent
// use.
type Source struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu       sync.Mutex
	file     *File     // the last good content
	read     bool      // modTime and size describe the last content read, good or bad
	modTime  time.Time // of the content last read
	size     int64
	err      error     // what Load returns while the file on disk is unusable; nil when served
	problem  string    // err without the file's name, for Status
	badKey   string    // identifies the unusable content last reported, so it is logged once
	since    time.Time // see Status.Since
	lastGood time.Time // see Status.LastGood
}

// NewSource returns a Source for path. It reads the file once so that a bad file is reported at
// startup (the error wraps ErrInvalid when the content is bad); later reads that fail keep
// serving the last good content.
func NewSource(path string, cfg SourceConfig) (*Source, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Source{path: path, log: cfg.Logger, now: cfg.Now}
	if _, err := s.Load(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the file name the Source reads.
func (s *Source) Path() string { return s.path }

// Load returns the current configuration, re-reading the file if it changed. While the file on
// disk is unusable it returns the last good configuration together with the error, which wraps
// ErrInvalid when the content is bad; Status reports the same without the file's name.
func (s *Source) Load() (*File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()
}

// load is Load with s.mu held.
func (s *Source) load() (*File, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		s.read = false
		return s.fail("stat "+err.Error(), err.Error(), fmt.Errorf("read fabrics file: %w", err))
	}
	if s.read && fi.ModTime().Equal(s.modTime) && fi.Size() == s.size {
		return s.file, s.err
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		s.read = false
		return s.fail("read "+err.Error(), err.Error(), fmt.Errorf("read fabrics file: %w", err))
	}
	s.read, s.modTime, s.size = true, fi.ModTime(), fi.Size()
	f, problems := parse(data)
	if len(problems) > 0 {
		sum := sha256.Sum256(data)
		problem := strings.Join(problems, "; ")
		return s.fail("content "+hex.EncodeToString(sum[:]), problem, fmt.Errorf("%s: %w: %s", s.path, ErrInvalid, problem))
	}
	wasBad := s.file != nil && s.err != nil
	s.file, s.err, s.problem, s.badKey, s.since, s.lastGood = f, nil, "", "", time.Time{}, s.now()
	if wasBad {
		s.log.Info("fabrics file valid again", "path", s.path, "fabrics", len(f.Fabrics))
	}
	return f, nil
}

// fail records that the file cannot be used; key identifies what is wrong (the content's hash
// or the read error), so that the same trouble seen again is not logged again.
func (s *Source) fail(key, problem string, err error) (*File, error) {
	if s.file == nil {
		return nil, err // NewSource: the caller reports it
	}
	if key == s.badKey {
		return s.file, s.err
	}
	if s.err == nil {
		s.since = s.now()
	}
	s.badKey, s.problem, s.err = key, problem, err
	s.log.Error("fabrics file invalid; still running the last good one", "path", s.path, "err", problem,
		"invalid_since", s.since, "last_good", s.lastGood)
	return s.file, s.err
}

// Status re-checks the file, as Load does, and reports whether it is served.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, _ = s.load() // the outcome is what Status reports
	return Status{Path: s.path, OK: s.err == nil, Err: s.problem, Since: s.since, LastGood: s.lastGood}
}

// Fabric returns the named fabric from the current configuration (the last good one while the
// file is invalid; see Status).
func (s *Source) Fabric(name string) (Fabric, bool) {
	f, _ := s.Load()
	if f == nil {
		return Fabric{}, false
	}
	return f.Fabric(name)
}

// Fabrics returns every fabric of the current configuration (the last good one while the file
// is invalid; see Status).
func (s *Source) Fabrics() []Fabric {
	f, _ := s.Load()
	if f == nil {
		return nil
	}
	return f.Fabrics
}
