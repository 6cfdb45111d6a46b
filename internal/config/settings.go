package config

import (
	"flag"
	"fmt"
	"net/mail"
	"strings"
)

// Settings are the process settings of SPEC §5. Each comes from a flag, else from its
// environment variable, else from its default.
type Settings struct {
	RedisURL      string // REDIS_URL
	ConfigPath    string // FABSYNC_CONFIG
	DataDir       string // FABSYNC_DATA_DIR
	Listen        string // FABSYNC_LISTEN
	APIToken      string // FABSYNC_API_TOKEN
	WebhookSecret string // FABSYNC_WEBHOOK_SECRET
	GitAuthor     string // FABSYNC_GIT_AUTHOR
}

// Defaults of the settings.
const (
	DefaultRedisURL  = "redis://127.0.0.1:6379/0"
	DefaultConfig    = "./fabsync.yaml"
	DefaultDataDir   = "./.data"
	DefaultListen    = "127.0.0.1:8080"
	DefaultGitAuthor = "fabsync <fabsync@localhost>"
)

// Bind registers the settings' flags on fs with defaults taken from getenv.
func (s *Settings) Bind(fs *flag.FlagSet, getenv func(string) string) {
	def := func(env, fallback string) string {
		if v := getenv(env); v != "" {
			return v
		}
		return fallback
	}
	fs.StringVar(&s.RedisURL, "redis-url", def("REDIS_URL", DefaultRedisURL), "Redis `URL`: redis://, rediss:// or redis-sentinel:// (env REDIS_URL)")
	fs.StringVar(&s.ConfigPath, "config", def("FABSYNC_CONFIG", DefaultConfig), "fabrics `file`, re-read when it changes (env FABSYNC_CONFIG)")
	fs.StringVar(&s.DataDir, "data-dir", def("FABSYNC_DATA_DIR", DefaultDataDir), "`directory` for local clones (env FABSYNC_DATA_DIR)")
	fs.StringVar(&s.Listen, "listen", def("FABSYNC_LISTEN", DefaultListen), "HTTP listen `address` (env FABSYNC_LISTEN)")
	fs.StringVar(&s.APIToken, "api-token", getenv("FABSYNC_API_TOKEN"), "bearer `token` required by /api/v1, /metrics and /monitoring; prefer the env FABSYNC_API_TOKEN")
	fs.StringVar(&s.WebhookSecret, "webhook-secret", getenv("FABSYNC_WEBHOOK_SECRET"), "GitHub webhook `secret`; prefer the env FABSYNC_WEBHOOK_SECRET")
	fs.StringVar(&s.GitAuthor, "git-author", def("FABSYNC_GIT_AUTHOR", DefaultGitAuthor), "commit author as \"Name <email>\" (env FABSYNC_GIT_AUTHOR)")
}

// Author parses GitAuthor ("Name <email>").
func (s *Settings) Author() (name, email string, err error) {
	a, err := mail.ParseAddress(s.GitAuthor)
	if err != nil || strings.TrimSpace(a.Name) == "" {
		return "", "", fmt.Errorf("%w: git author %q: want \"Name <email>\"", ErrInvalid, s.GitAuthor)
	}
	return a.Name, a.Address, nil
}
