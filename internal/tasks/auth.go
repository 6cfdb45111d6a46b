package tasks

import (
	"errors"
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
