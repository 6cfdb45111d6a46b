package forge

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Infer returns the forge of a repository URL on a public forge: github.com is "github"
// at https://api.github.com/, gitlab.com is "gitlab" at https://gitlab.com/api/v4, and
// codeberg.org is "gitea" (Forgejo) at https://codeberg.org/api/v1. project is the
// repository's path, "owner/repo" (on GitLab the full "group/subgroup/project" path). ok is
// false for any other host (project is still set when the URL parses): its forge must be
// configured (Config.Type). repoURL may be https://, http://, ssh:// or scp-like
// (git@host:owner/repo.git).
func Infer(repoURL string) (typ, apiURL, project string, ok bool) {
	r, err := parseRepoURL(repoURL)
	if err != nil {
		return "", "", "", false
	}
	typ, apiURL, ok = publicForge(r.host)
	return typ, apiURL, r.path, ok
}

func publicForge(host string) (typ, apiURL string, ok bool) {
	switch strings.ToLower(host) {
	case "github.com", "www.github.com":
		return TypeGitHub, "https://api.github.com/", true
	case "gitlab.com", "www.gitlab.com":
		return TypeGitLab, "https://gitlab.com/api/v4", true
	case "codeberg.org":
		return TypeGitea, "https://codeberg.org/api/v1", true
	}
	return "", "", false
}

// repoURL is a parsed repository URL.
type repoURL struct {
	scheme string // "https", "http" or "ssh"
	host   string // lower-case host, with its port for http(s) URLs
	path   string // "owner/repo", without ".git" or slashes around it
}

// parseRepoURL parses a git URL. Its errors never quote the URL, which may hold a token.
func parseRepoURL(raw string) (repoURL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return repoURL{}, errors.New("no repository URL")
	}
	var r repoURL
	var p string
	if i := strings.Index(raw, "://"); i < 0 {
		// scp-like: [user@]host:path
		hostPart, path, found := strings.Cut(raw, ":")
		if !found || strings.Contains(hostPart, "/") {
			return repoURL{}, errors.New("repository URL is not a URL nor user@host:path")
		}
		if _, h, ok := strings.Cut(hostPart, "@"); ok {
			hostPart = h
		}
		r.scheme, r.host, p = "ssh", hostPart, path
	} else {
		u, err := url.Parse(raw)
		if err != nil {
			return repoURL{}, errors.New("repository URL does not parse")
		}
		switch s := strings.ToLower(u.Scheme); s {
		case "https", "http":
			r.scheme, r.host = s, u.Host
		case "ssh", "git+ssh", "ssh+git", "git":
			r.scheme, r.host = "ssh", u.Hostname()
		default:
			return repoURL{}, fmt.Errorf("repository URL scheme %q is not https, http or ssh", u.Scheme)
		}
		p = u.Path
	}
	r.host = strings.ToLower(r.host)
	if r.host == "" {
		return repoURL{}, errors.New("repository URL has no host")
	}
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimSuffix(p, "/")
	if p == "" || !strings.Contains(p, "/") || strings.Contains(p, "//") {
		return repoURL{}, fmt.Errorf("repository path %q is not owner/repo", p)
	}
	r.path = p
	return r, nil
}

// defaultAPIURL is the usual API root of a self-hosted forge of type typ on r's host.
func defaultAPIURL(typ string, r repoURL) string {
	scheme := "https"
	if r.scheme == "http" {
		scheme = "http"
	}
	base := scheme + "://" + r.host
	switch typ {
	case TypeGitHub:
		return base + "/api/v3/"
	case TypeGitLab:
		return base + "/api/v4"
	default:
		return base + "/api/v1"
	}
}

// hostOnly strips a port from host.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// redactURL returns s without its user info, which may hold a token.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
