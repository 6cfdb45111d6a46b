package tasks

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
)

// ResolveAuth reads the secrets a fabric's auth block names. A missing secret is a permanent
// error naming the field and the variable or file (never the value).
//
// It also reads and decrypts the commit signing key (auth.signing_key_file), once for the
// client it is called for: a key that is missing, unreadable, of an unsupported type, or
// encrypted with another passphrase than the one configured is a permanent error naming the
// field and the file as written (errors.Is gitops.ErrPassphrase or gitops.ErrKeyType tells
// which), never the key or the passphrase.
func ResolveAuth(a config.Auth, getenv func(string) string) (gitops.Auth, error) {
	var out gitops.Auth
	var err error
	if out.Password, err = secret(getenv, "token", a.TokenEnv, a.TokenFile); err != nil {
		return out, err
	}
	if out.Password == "" {
		out.Username = a.Username
		if out.Password, err = secret(getenv, "password", a.PasswordEnv, a.PasswordFile); err != nil {
			return out, err
		}
	}
	out.SSHKeyFile, out.KnownHostsFile, out.InsecureIgnoreHostKey = a.SSHKeyFile, a.KnownHostsFile, a.InsecureIgnoreHosts
	if a.SSHPassphraseEnv != "" {
		if out.SSHKeyPassphrase, err = secret(getenv, "ssh_passphrase", a.SSHPassphraseEnv, ""); err != nil {
			return out, err
		}
	}
	if a.SigningKeyFile != "" {
		pass, err := secret(getenv, "signing_passphrase", a.SigningPassphraseEnv, a.SigningPassphraseFile)
		if err != nil {
			return out, err
		}
		if out.SigningKey, err = gitops.ReadSigningKey(a.SigningKeyFile, []byte(pass)); err != nil {
			hint := ""
			if errors.Is(err, gitops.ErrPassphrase) {
				hint = " (auth.signing_passphrase_env or auth.signing_passphrase_file)"
			}
			return out, permanent("auth.signing_key_file: %w%s", err, hint)
		}
	}
	return out, nil
}

// secret reads auth.<field>_env or auth.<field>_file; neither set is no secret.
func secret(getenv func(string) string, field, env, file string) (string, error) {
	switch {
	case env != "":
		v := getenv(env)
		if v == "" {
			return "", permanent("auth.%s_env: environment variable %s is not set", field, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", permanent("auth.%s_file: %v", field, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// resolveAuth resolves a fabric's auth: block for git (ResolveAuth) and for its forge's API:
// the token of auth.token_env or auth.token_file, or, with auth.github_app, a source of the
// App installation's tokens (HandlerConfig.AppTokens) that git over HTTPS uses too.
func (h *Handler) resolveAuth(f config.Fabric) (gitops.Auth, ForgeAuth, error) {
	var fa ForgeAuth
	auth, err := ResolveAuth(f.Auth, h.cfg.Getenv)
	if err != nil {
		return auth, fa, err
	}
	if f.Auth.TokenEnv != "" || f.Auth.TokenFile != "" {
		fa.Token = auth.Password
	}
	if g := f.Auth.GitHubApp; g != nil {
		src, err := h.appTokenSource(*g, f.Forge.APIURL)
		if err != nil {
			return auth, fa, err
		}
		auth.TokenSource, fa.TokenSource = src, src
	}
	return auth, fa, nil
}

// appTokenSource returns the token source of a GitHub App installation, one per App,
// installation, API and key content in this Handler, so that its tokens are reused across
// tasks for as long as the source keeps them. A key file that cannot be read, a worker
// without HandlerConfig.AppTokens, or a key the source refuses is a permanent error naming the
// field, never the key.
func (h *Handler) appTokenSource(g config.GitHubApp, apiURL string) (func(context.Context) (string, error), error) {
	if h.cfg.AppTokens == nil {
		return nil, permanent("auth.github_app: this worker cannot mint GitHub App tokens (HandlerConfig.AppTokens is not set)")
	}
	appID, installationID, err := g.IDs()
	if err != nil {
		return nil, permanent("auth.github_app.%v", err)
	}
	key, err := os.ReadFile(g.PrivateKeyFile)
	if err != nil {
		return nil, permanent("auth.github_app.private_key_file: %v", err)
	}
	sum := sha256.Sum256(key)
	k := fmt.Sprintf("%d/%d/%s/%x", appID, installationID, apiURL, sum)
	h.mu.Lock()
	src := h.appTokens[k]
	h.mu.Unlock()
	if src != nil {
		return src, nil
	}
	if src, err = h.cfg.AppTokens(appID, installationID, key, apiURL); err != nil {
		return nil, permanent("auth.github_app: %w", err)
	}
	h.mu.Lock()
	if h.appTokens == nil {
		h.appTokens = map[string]func(context.Context) (string, error){}
	}
	h.appTokens[k] = src
	h.mu.Unlock()
	return src, nil
}
