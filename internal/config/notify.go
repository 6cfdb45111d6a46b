package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Notification target types (notify[].type).
const (
	NotifyWebhook = "webhook"
	NotifySlack   = "slack"
)

// NotifyStates are the job states a notification may be sent for (notify[].on), in the order
// jobs reach them; stored in the fabrics file, do not rename. They are the final job states of
// package tasks (tasks checks that they agree).
var NotifyStates = []string{"succeeded", "partial_sync", "failed", "canceled"}

// DefaultNotifyOn is notify[].on when it is not set: every final state but canceled (someone
// canceled the job; they know).
var DefaultNotifyOn = []string{"succeeded", "partial_sync", "failed"}

// Notify is one place a fabric's finished jobs are reported to (docs/NOTIFY.md). Secrets are
// never inline: a webhook's signing secret and a Slack incoming-webhook URL (which is itself a
// secret) are named by environment variable or file, and read by the worker when it sends.
type Notify struct {
	// Type is NotifyWebhook (POST of the job's JSON, signed when a secret is set) or
	// NotifySlack (a message to a Slack incoming webhook).
	Type string `yaml:"type" json:"type"`
	// URL is a webhook's address: https://, or http:// to localhost. A Slack URL is a secret
	// and must come from URLEnv or URLFile instead; a webhook may use them too.
	URL     string `yaml:"url,omitempty" json:"url,omitempty"`
	URLEnv  string `yaml:"url_env,omitempty" json:"url_env,omitempty"`
	URLFile string `yaml:"url_file,omitempty" json:"url_file,omitempty"`
	// SecretEnv or SecretFile holds a webhook's HMAC-SHA256 signing secret (at most one);
	// neither: the webhook is not signed.
	SecretEnv  string `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
	SecretFile string `yaml:"secret_file,omitempty" json:"secret_file,omitempty"`
	// On lists the final job states that send a message; after Parse it is never empty
	// [DefaultNotifyOn].
	On []string `yaml:"on,omitempty" json:"on,omitempty"`
	// DryRuns sends for dry runs too [false: a dry run sends nothing].
	DryRuns bool `yaml:"dry_runs,omitempty" json:"dry_runs,omitempty"`
}

// Wants reports whether n sends a message for a job that ended in state (dryRun for a dry run).
func (n Notify) Wants(state string, dryRun bool) bool {
	return (!dryRun || n.DryRuns) && slices.Contains(n.On, state)
}

// String names the target in a form safe for logs and errors: its type and where its address
// comes from, a URL without user info, query or fragment, never a secret.
func (n Notify) String() string {
	switch {
	case n.URLEnv != "":
		return n.Type + " (url_env " + n.URLEnv + ")"
	case n.URLFile != "":
		return n.Type + " (url_file " + n.URLFile + ")"
	case n.URL != "":
		return n.Type + " " + RedactURL(n.URL)
	}
	return n.Type
}

// envName is what an environment variable's name looks like; anything else (a pasted URL or
// secret) is refused without being quoted.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkNotify returns what is wrong with one notify: entry, each message prefixed with where
// ("notify[1]: ..."), and fills in its defaults. Messages never quote url_env, url_file,
// secret_env or secret_file values that do not look like names (they may be the secret itself),
// nor a webhook URL's user info or query.
func checkNotify(n *Notify, where string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, where+": "+fmt.Sprintf(format, args...)) }
	switch n.Type {
	case NotifyWebhook, NotifySlack:
	case "":
		bad("type is required (%s or %s)", NotifyWebhook, NotifySlack)
	default:
		bad("type %q is not one of %s, %s", n.Type, NotifyWebhook, NotifySlack)
	}
	sources := 0
	for _, s := range []string{n.URL, n.URLEnv, n.URLFile} {
		if s != "" {
			sources++
		}
	}
	switch {
	case sources > 1:
		bad("set one of url, url_env or url_file")
	case sources == 0 && n.Type == NotifySlack:
		bad("url_env or url_file is required (a Slack webhook URL is a secret)")
	case sources == 0 && n.Type == NotifyWebhook:
		bad("url is required (or url_env or url_file)")
	}
	if n.URL != "" {
		if n.Type == NotifySlack {
			bad("url: a Slack webhook URL is a secret: put it in url_env or url_file")
		} else if msg := checkNotifyURL(n.URL); msg != "" {
			bad("url: %s", msg)
		}
	}
	if n.URLEnv != "" && !envName.MatchString(n.URLEnv) {
		bad("url_env must name an environment variable (letters, digits and _), not hold the URL")
	}
	if n.SecretEnv != "" && !envName.MatchString(n.SecretEnv) {
		bad("secret_env must name an environment variable (letters, digits and _), not hold the secret")
	}
	for _, f := range [][2]string{{"url_file", n.URLFile}, {"secret_file", n.SecretFile}} {
		if strings.ContainsAny(f[1], "\n\r") || strings.Contains(f[1], "://") {
			bad("%s must name a file holding the value, not be the value", f[0])
		}
	}
	if n.SecretEnv != "" && n.SecretFile != "" {
		bad("set secret_env or secret_file, not both")
	}
	if n.Type == NotifySlack && (n.SecretEnv != "" || n.SecretFile != "") {
		bad("secret_env/secret_file sign webhooks; a Slack URL needs none")
	}
	if n.On == nil {
		n.On = slices.Clone(DefaultNotifyOn)
	} else if len(n.On) == 0 {
		bad("on: [] would send nothing; remove the entry instead")
	}
	for _, s := range n.On {
		if !slices.Contains(NotifyStates, s) {
			bad("on: %q is not one of %s", s, strings.Join(NotifyStates, ", "))
		}
	}
	return out
}

// checkNotifyURL returns what is wrong with a webhook URL, or "". It never quotes the URL.
func checkNotifyURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "not a valid absolute URL"
	}
	if u.User != nil {
		return "credentials must not be in the URL; sign the webhook with secret_env or secret_file, or keep the whole URL in url_env or url_file"
	}
	if u.Fragment != "" {
		return "the URL must not have a fragment (#...)"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLocalhost(u.Hostname()) {
			return "http:// is allowed only for localhost; use https://"
		}
	default:
		return fmt.Sprintf("scheme %q not supported (use https://)", u.Scheme)
	}
	return ""
}

func isLocalhost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkNotifyList checks the entries of a notify: list (the file's or a fabric's) and returns
// its problems, each with the entry's line when known. list is the list's node (nil if unknown),
// prefix what comes before "notify[i]" in the message ("" or "fabrics[0] (a): ").
func checkNotifyList(ns []Notify, list *yaml.Node, prefix string) []string {
	var out []string
	for i := range ns {
		msgs := checkNotify(&ns[i], fmt.Sprintf("%snotify[%d]", prefix, i))
		line := 0
		if list != nil && list.Kind == yaml.SequenceNode && i < len(list.Content) {
			line = list.Content[i].Line
		} else if list != nil {
			line = list.Line
		}
		for _, m := range msgs {
			if line > 0 {
				m = fmt.Sprintf("line %d: %s", line, m)
			}
			out = append(out, m)
		}
	}
	return out
}
