package config

import (
	"flag"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Settings are the process settings (README: Settings). Each comes from its flag, else from its
// environment variable, else from its default. A process registers only the settings it uses
// (Bind, BindDefault), so its --help lists nothing it ignores, and then fills them (Parse).
//
//	flag              environment variable      default
//	-redis-url        REDIS_URL                 redis://127.0.0.1:6379/0
//	-config           FABSYNC_CONFIG            ./fabsync.yaml
//	-data-dir         FABSYNC_DATA_DIR          ./.data
//	-listen           FABSYNC_LISTEN            127.0.0.1:8080
//	-api-token        FABSYNC_API_TOKEN         none
//	-webhook-secret   FABSYNC_WEBHOOK_SECRET    none
//	-git-author       FABSYNC_GIT_AUTHOR        fabsync <fabsync@localhost>
//	-concurrency      FABSYNC_CONCURRENCY       4 (1 to 1000)
//	-shutdown-timeout FABSYNC_SHUTDOWN_TIMEOUT  30s (greater than 0)
//	-monitoring       FABSYNC_MONITORING        readonly (or readwrite, off)
//	-public-url       FABSYNC_PUBLIC_URL        none (links in notifications and commit statuses)
//
// The webhooks of the other forges each have a secret of their own, none by default (none
// disables that webhook): -gitlab-webhook-token (FABSYNC_GITLAB_WEBHOOK_TOKEN),
// -gitea-webhook-secret (FABSYNC_GITEA_WEBHOOK_SECRET, Gitea and Forgejo),
// -bitbucket-webhook-secret (FABSYNC_BITBUCKET_WEBHOOK_SECRET) and -generic-webhook-secret
// (FABSYNC_GENERIC_WEBHOOK_SECRET).
type Settings struct {
	RedisURL        string        // REDIS_URL
	ConfigPath      string        // FABSYNC_CONFIG
	DataDir         string        // FABSYNC_DATA_DIR
	Listen          string        // FABSYNC_LISTEN
	APIToken        string        // FABSYNC_API_TOKEN
	WebhookSecret   string        // FABSYNC_WEBHOOK_SECRET
	GitAuthor       string        // FABSYNC_GIT_AUTHOR
	Concurrency     int           // FABSYNC_CONCURRENCY
	ShutdownTimeout time.Duration // FABSYNC_SHUTDOWN_TIMEOUT
	Monitoring      string        // FABSYNC_MONITORING
	PublicURL       string        // FABSYNC_PUBLIC_URL

	GitLabWebhookToken     string // FABSYNC_GITLAB_WEBHOOK_TOKEN
	GiteaWebhookSecret     string // FABSYNC_GITEA_WEBHOOK_SECRET
	BitbucketWebhookSecret string // FABSYNC_BITBUCKET_WEBHOOK_SECRET
	GenericWebhookSecret   string // FABSYNC_GENERIC_WEBHOOK_SECRET
}

// Defaults of the settings.
const (
	DefaultRedisURL        = "redis://127.0.0.1:6379/0"
	DefaultConfig          = "./fabsync.yaml"
	DefaultDataDir         = "./.data"
	DefaultListen          = "127.0.0.1:8080"
	DefaultGitAuthor       = "fabsync <fabsync@localhost>"
	DefaultConcurrency     = 4
	DefaultShutdownTimeout = 30 * time.Second
	DefaultMonitoring      = "readonly"
)

// setting is one row of the table above.
type setting struct {
	flag, env, def, usage string
	ptr                   any // *string, *int or *time.Duration in Settings
	min, max              int // the range of an int setting
}

func (s *Settings) table() []setting {
	return []setting{
		{flag: "redis-url", env: "REDIS_URL", def: DefaultRedisURL, ptr: &s.RedisURL,
			usage: "Redis `URL`: redis://, rediss:// or redis-sentinel://"},
		{flag: "config", env: "FABSYNC_CONFIG", def: DefaultConfig, ptr: &s.ConfigPath,
			usage: "fabrics `file`, re-read when it changes"},
		{flag: "data-dir", env: "FABSYNC_DATA_DIR", def: DefaultDataDir, ptr: &s.DataDir,
			usage: "`directory` for local clones"},
		{flag: "listen", env: "FABSYNC_LISTEN", def: DefaultListen, ptr: &s.Listen,
			usage: "HTTP listen `address`"},
		{flag: "api-token", env: "FABSYNC_API_TOKEN", ptr: &s.APIToken,
			usage: "bearer `token` required by /api/v1, /metrics and /monitoring; none: open to anyone who can connect. Prefer the environment variable: flags show in ps"},
		{flag: "webhook-secret", env: "FABSYNC_WEBHOOK_SECRET", ptr: &s.WebhookSecret,
			usage: "GitHub webhook `secret`; none: the GitHub webhook is refused. Prefer the environment variable: flags show in ps"},
		{flag: "gitlab-webhook-token", env: "FABSYNC_GITLAB_WEBHOOK_TOKEN", ptr: &s.GitLabWebhookToken,
			usage: "GitLab webhook secret `token`; none: the GitLab webhook is refused. Prefer the environment variable: flags show in ps"},
		{flag: "gitea-webhook-secret", env: "FABSYNC_GITEA_WEBHOOK_SECRET", ptr: &s.GiteaWebhookSecret,
			usage: "Gitea and Forgejo webhook `secret`; none: that webhook is refused. Prefer the environment variable: flags show in ps"},
		{flag: "bitbucket-webhook-secret", env: "FABSYNC_BITBUCKET_WEBHOOK_SECRET", ptr: &s.BitbucketWebhookSecret,
			usage: "Bitbucket Cloud webhook `secret`; none: the Bitbucket webhook is refused. Prefer the environment variable: flags show in ps"},
		{flag: "generic-webhook-secret", env: "FABSYNC_GENERIC_WEBHOOK_SECRET", ptr: &s.GenericWebhookSecret,
			usage: "generic webhook `secret` (X-Fabsync-Signature-256); none: the generic webhook is refused. Prefer the environment variable: flags show in ps"},
		{flag: "git-author", env: "FABSYNC_GIT_AUTHOR", def: DefaultGitAuthor, ptr: &s.GitAuthor,
			usage: "commit `author` as \"Name <email>\""},
		{flag: "concurrency", env: "FABSYNC_CONCURRENCY", def: strconv.Itoa(DefaultConcurrency), ptr: &s.Concurrency, min: 1, max: 1000,
			usage: "sync `tasks` run at once, from 1 to 1000"},
		{flag: "shutdown-timeout", env: "FABSYNC_SHUTDOWN_TIMEOUT", def: DefaultShutdownTimeout.String(), ptr: &s.ShutdownTimeout,
			usage: "how long running tasks may finish after SIGTERM: a `duration` such as 30s or 2m"},
		{flag: "monitoring", env: "FABSYNC_MONITORING", def: DefaultMonitoring, ptr: &s.Monitoring,
			usage: "the Asynqmon dashboard at /monitoring/: readonly, readwrite or off"},
		{flag: "public-url", env: "FABSYNC_PUBLIC_URL", ptr: &s.PublicURL,
			usage: "`URL` at which people reach fabsync's UI (https://fabsync.example.com), for the job links in notifications and commit statuses; none: no links"},
	}
}

func (s *Settings) lookup(name string) setting {
	for _, st := range s.table() {
		if st.flag == name {
			return st
		}
	}
	panic("config: no setting has the flag -" + name) // a typo in a main; its --help test catches it
}

// Bind registers on fs the flags of the named settings ("redis-url", "listen", … as in the
// table of Settings) with their documented defaults. Each flag's help names its environment
// variable. It panics on a name that is not in the table.
func (s *Settings) Bind(fs *flag.FlagSet, names ...string) {
	for _, name := range names {
		st := s.lookup(name)
		s.bind(fs, st, st.def, st.usage)
	}
}

// BindDefault registers the named setting like Bind, but with another default and, unless usage
// is empty, another help text: for a process in which the default means something else (dev
// mode embeds Redis when the URL is empty). The help still names the environment variable.
func (s *Settings) BindDefault(fs *flag.FlagSet, name, def, usage string) {
	st := s.lookup(name)
	if usage == "" {
		usage = st.usage
	}
	s.bind(fs, st, def, usage)
}

func (s *Settings) bind(fs *flag.FlagSet, st setting, def, usage string) {
	usage += " (env " + st.env + ")"
	switch p := st.ptr.(type) {
	case *string:
		fs.StringVar(p, st.flag, def, usage) // the flag package's own string value quotes the default in --help
	case *int:
		v := &intValue{p: p, min: st.min, max: st.max}
		mustSet(v, def)
		fs.Var(v, st.flag, usage)
	case *time.Duration:
		v := &durationValue{p: p}
		mustSet(v, def)
		fs.Var(v, st.flag, usage)
	}
}

func mustSet(v flag.Value, def string) {
	if err := v.Set(def); err != nil {
		panic(fmt.Sprintf("config: bad default %q: %v", def, err))
	}
}

// Parse parses args, then sets each registered setting that was not given as a flag from its
// environment variable, read through getenv. A bad value is an error naming the flag or the
// variable, e.g. `FABSYNC_CONCURRENCY: want a whole number from 1 to 1000, got "x"`. Parse
// returns flag.ErrHelp for -h and --help, and an error for arguments that are not flags.
func (s *Settings) Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: all settings are flags or environment variables (see -help)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		st := s.lookup(f.Name)
		v := getenv(st.env)
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = fmt.Errorf("%s: %s, got %q", st.env, serr.Error(), v) // the value's own message, not an error chain
		}
	})
	return err
}

// Usage returns a flag.FlagSet.Usage that prints what the command does, then its flags.
func Usage(fs *flag.FlagSet, about string) func() {
	return func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\n%s\n\nEach flag may instead be set by the environment variable named in its help; a flag\ngiven on the command line wins. The defaults shown are those used when neither is set.\n\n", fs.Name(), about)
		fs.PrintDefaults()
	}
}

// Author parses GitAuthor ("Name <email>").
func (s *Settings) Author() (name, email string, err error) {
	a, err := mail.ParseAddress(s.GitAuthor)
	if err != nil || strings.TrimSpace(a.Name) == "" {
		return "", "", fmt.Errorf("%w: git author %q: want \"Name <email>\"", ErrInvalid, s.GitAuthor)
	}
	return a.Name, a.Address, nil
}

// RedactedRedisURL is RedisURL with any password replaced by "xxxxx", fit for a log line.
func (s *Settings) RedactedRedisURL() string {
	if u, err := url.Parse(s.RedisURL); err == nil {
		return u.Redacted()
	}
	// url.Parse rejects a sentinel list (host:port,host:port): cut the user info by hand.
	scheme, rest, ok := strings.Cut(s.RedisURL, "://")
	if !ok {
		return "(not a URL)"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
		rest = "xxxxx" + rest[at:]
	}
	return scheme + "://" + rest
}

// intValue is an int flag that accepts only whole numbers in [min, max].
type intValue struct {
	p        *int
	min, max int
}

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < v.min || n > v.max {
		return fmt.Errorf("want a whole number from %d to %d", v.min, v.max)
	}
	*v.p = n
	return nil
}

func (v *intValue) String() string {
	if v == nil || v.p == nil { // flag.PrintDefaults calls String on a zero value
		return "0"
	}
	return strconv.Itoa(*v.p)
}

// durationValue is a duration flag that accepts only durations greater than 0.
type durationValue struct{ p *time.Duration }

func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return fmt.Errorf("want a duration greater than 0, such as 30s or 2m")
	}
	*v.p = d
	return nil
}

func (v *durationValue) String() string {
	if v == nil || v.p == nil {
		return "0s"
	}
	return v.p.String()
}
