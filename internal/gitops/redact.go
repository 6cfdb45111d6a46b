package gitops

import (
	"net/url"
	"strings"
)

// Redact returns rawURL in a form safe to print. A URL's password or token is
// removed with (*url.URL).Redacted semantics, and a user name that looks like
// a token (https://ghp_xxx@github.com/...) is dropped entirely. Forms that are
// not URLs (git@host:path, local paths) are returned unchanged. An unparsable
// URL loses everything between "://" and the last "@" of its authority.
func Redact(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// Unparsable: cut the userinfo out by hand rather than echo it.
		rest := rawURL[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			return rawURL[:i+3] + rest[at+1:]
		}
		return rawURL
	}
	if u.User == nil {
		return rawURL
	}
	if looksLikeToken(u.User.Username()) {
		u.User = nil
		return u.String()
	}
	return u.Redacted()
}

// looksLikeToken guesses whether a URL user name is really a secret: the
// well-known token prefixes, or a long run of token characters mixing
// letters and digits.
func looksLikeToken(user string) bool {
	for _, p := range []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glptt-"} {
		if strings.HasPrefix(user, p) {
			return true
		}
	}
	if len(user) < 20 {
		return false
	}
	var letter, digit bool
	for _, r := range user {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9':
			digit = true
		case r == '_' || r == '-' || r == '.':
		default:
			return false
		}
	}
	return letter && digit
}
