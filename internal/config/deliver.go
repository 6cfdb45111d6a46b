package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// DeliverModes are the values of deliver:, the default first: "push" pushes a job's commit to
// the fabric's branch, "pull_request" pushes it to the branch fabsync/<fabric> and opens or
// updates a pull request into the fabric's branch (docs/DELIVERY.md).
var DeliverModes = []string{"push", "pull_request"}

// Deliver modes.
const (
	DeliverPush        = "push"
	DeliverPullRequest = "pull_request"
)

// ForgeTypes are the values of forge.type.
var ForgeTypes = []string{"github", "gitlab", "gitea", "forgejo"}

// Forge names the forge that hosts a fabric's repository, whose API opens its pull requests.
// Both fields are optional: unset, the forge is inferred from the repository URL where it can
// be (github.com, gitlab.com; see package forge).
type Forge struct {
	// Type is "github" (also GitHub Enterprise), "gitlab", "gitea" or "forgejo".
	Type string `yaml:"type"`
	// APIURL is the forge's API root (https://github.example.com/api/v3); unset, the forge's
	// default for the repository's host.
	APIURL string `yaml:"api_url"`
}

// GitHubApp authenticates as a GitHub App installation: git over HTTPS and the forge's API use
// short-lived installation tokens minted from the App's private key. All three fields are
// required; the key file is read by the worker, never by Parse.
type GitHubApp struct {
	AppID          string `yaml:"app_id" json:"-"`          // the App's numeric ID
	InstallationID string `yaml:"installation_id" json:"-"` // the installation's numeric ID
	PrivateKeyFile string `yaml:"private_key_file" json:"-"`
}

// IDs returns the App and installation IDs as numbers (Parse checked that they are).
func (g GitHubApp) IDs() (appID, installationID int64, err error) {
	if appID, err = positiveID(g.AppID); err != nil {
		return 0, 0, fmt.Errorf("app_id: %w", err)
	}
	if installationID, err = positiveID(g.InstallationID); err != nil {
		return 0, 0, fmt.Errorf("installation_id: %w", err)
	}
	return appID, installationID, nil
}

// DeliversPullRequest reports whether the fabric's jobs deliver by pull request.
func (f Fabric) DeliversPullRequest() bool { return f.Deliver == DeliverPullRequest }

// PullRequestBranch is the branch a fabric's pull requests come from: fabsync/<name>.
func (f Fabric) PullRequestBranch() string { return "fabsync/" + f.Name }

func positiveID(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive number", s)
	}
	return n, nil
}

// checkDeliver returns what is wrong with a deliver: value, or "".
func checkDeliver(mode string) string {
	if slices.Contains(DeliverModes, mode) {
		return ""
	}
	return fmt.Sprintf("deliver %q is not one of %s (default %s)", mode, strings.Join(DeliverModes, ", "), DeliverModes[0])
}

// checkForge returns what is wrong with a forge: block.
func checkForge(fg Forge) []string {
	var out []string
	if fg.Type != "" && !slices.Contains(ForgeTypes, fg.Type) {
		out = append(out, fmt.Sprintf("forge: type %q is not one of %s", fg.Type, strings.Join(ForgeTypes, ", ")))
	}
	if fg.APIURL != "" {
		u, err := url.Parse(fg.APIURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			out = append(out, "forge: api_url must be an http(s) URL such as https://github.example.com/api/v3")
		case u.User != nil:
			out = append(out, "forge: api_url must not hold credentials; "+httpHint)
		case u.RawQuery != "" || u.Fragment != "":
			out = append(out, "forge: api_url must not have a query (?...) or a fragment (#...)")
		}
	}
	return out
}

// checkGitHubApp returns what is wrong with auth.github_app in a.
func checkGitHubApp(a Auth) []string {
	g := a.GitHubApp
	if g == nil {
		return nil
	}
	var out []string
	if g.AppID == "" {
		out = append(out, "auth: github_app.app_id is required")
	} else if _, err := positiveID(g.AppID); err != nil {
		out = append(out, "auth: github_app.app_id must be the App's numeric ID")
	}
	if g.InstallationID == "" {
		out = append(out, "auth: github_app.installation_id is required")
	} else if _, err := positiveID(g.InstallationID); err != nil {
		out = append(out, "auth: github_app.installation_id must be the installation's numeric ID")
	}
	switch {
	case g.PrivateKeyFile == "":
		out = append(out, "auth: github_app.private_key_file is required")
	case strings.ContainsAny(g.PrivateKeyFile, "\n\r") || strings.Contains(g.PrivateKeyFile, "-----BEGIN"):
		// Never quoted: it is the key itself, pasted where its file belongs.
		out = append(out, "auth: github_app.private_key_file must name a file holding the key, not be the key")
	}
	if a.TokenEnv != "" || a.TokenFile != "" || a.PasswordEnv != "" || a.PasswordFile != "" {
		out = append(out, "auth: set github_app or a token or password, not both (the App mints the tokens)")
	}
	return out
}
