package gitops_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://user:secret@github.com/org/repo.git", "https://user:xxxxx@github.com/org/repo.git"},
		{"https://x-access-token:ghp_abcdef@github.com/org/repo.git", "https://x-access-token:xxxxx@github.com/org/repo.git"},
		{"https://ghp_abcdef0123456789@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://github_pat_11ABCDEF@github.com/org/repo.git", "https://github.com/org/repo.git"},
		{"https://glpat-abc:x@gitlab.com/org/repo.git", "https://gitlab.com/org/repo.git"},
		{"https://0123456789abcdef0123456789abcdef01234567@host/r.git", "https://host/r.git"},
		{"https://oauth2:0123456789abcdef0123456789@gitlab.com/r.git", "https://oauth2:xxxxx@gitlab.com/r.git"},
		{"https://alice@github.com/org/repo.git", "https://alice@github.com/org/repo.git"},
		{"ssh://git@host:2222/org/repo.git", "ssh://git@host:2222/org/repo.git"},
		{"ssh://git:pw@host/org/repo.git", "ssh://git:xxxxx@host/org/repo.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{"/srv/git/repo.git", "/srv/git/repo.git"},
		{"./repo", "./repo"},
		{"file:///srv/git/repo.git", "file:///srv/git/repo.git"},
		{"https://user:p%zz@host/r.git", "https://host/r.git"}, // unparsable escape
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := gitops.Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNoCredentialsInErrors: whatever goes wrong, the password never shows.
func TestNoCredentialsInErrors(t *testing.T) {
	needGit(t)
	const secret = "Sup3r-S3cret/Token+="
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{
		"http://user:" + strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(secret) + "@" + addr + "/r.git",
		"http://" + addr + "/r.git",
	} {
		c := newClient(t, gitops.Config{URL: url, Auth: gitops.Auth{Password: secret}})
		_, err := c.Sync(context.Background(), nil)
		if err == nil {
			t.Fatalf("Sync against a closed port succeeded")
		}
		for _, s := range []string{secret, "S3cret", "%2F"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("Sync error %q holds %q", err, s)
			}
		}
		if strings.Contains(c.URL(), "S3cret") {
			t.Errorf("URL() = %q holds the secret", c.URL())
		}
		if err := c.Push(context.Background(), nil); err == nil || strings.Contains(err.Error(), "S3cret") {
			t.Errorf("Push = %v", err)
		}
	}
}
