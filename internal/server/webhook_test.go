package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/fabsync/fabsync/internal/config"
)

func TestRepoKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://github.com/Example/GitOps.git", "github.com/example/gitops"},
		{"https://github.com/example/gitops", "github.com/example/gitops"},
		{"https://github.com/example/gitops/", "github.com/example/gitops"},
		{"git@github.com:example/gitops.git", "github.com/example/gitops"},
		{"ssh://git@github.com/example/gitops.git", "github.com/example/gitops"},
		{"ssh://git@github.com:22/example/gitops.git", "github.com/example/gitops"},
		{"http://127.0.0.1:8080/gitops.git", "127.0.0.1/gitops"},
		{"/srv/git/gitops.git", ""},
		{"file:///srv/git/gitops.git", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := repoKey(tt.in); got != tt.want {
			t.Errorf("repoKey(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestValidSignature(t *testing.T) {
	body := []byte(`{"zen":"hi"}`)
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name, secret, header string
		want                 bool
	}{
		{"good", "secret", good, true},
		{"wrong secret", "other", good, false},
		{"missing", "secret", "", false},
		{"sha1 form", "secret", "sha1=" + good[7:], false},
		{"not hex", "secret", "sha256=zz", false},
		{"truncated", "secret", good[:20], false},
	}
	for _, tt := range tests {
		if got := validSignature(tt.secret, body, tt.header); got != tt.want {
			t.Errorf("%s: validSignature = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestTouchesRaw(t *testing.T) {
	f := config.Fabric{Path: "gitops/fab"}
	root := config.Fabric{Path: "."}
	if !touchesRaw(f, []string{"README.md", "gitops/fab/raw/x.yaml"}) {
		t.Error("a file in raw/ should count")
	}
	if touchesRaw(f, []string{"gitops/fab/managed/vpcs/a.yaml", "gitops/fab2/raw/x.yaml", "gitops/fab/rawish/x.yaml"}) {
		t.Error("files outside raw/ should not count")
	}
	if !touchesRaw(root, []string{"raw/a.yml"}) || touchesRaw(root, []string{"x/raw/a.yml"}) {
		t.Error("a fabric at the repository root has its raw/ at the top")
	}
}
