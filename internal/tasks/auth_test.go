package tasks_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fabsync/fabsync/internal/config"
	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/tasks"
)

// TestResolveAuthSigningKey: ResolveAuth reads and decrypts auth.signing_key_file with the
// passphrase from its env var or file, and says which field is wrong, without the secret.
func TestResolveAuthSigningKey(t *testing.T) {
	const pass = "s3cret-passphrase"
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir) // relative names, as a fabrics file may give them
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "fab@example.com", []byte(pass))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"id_ed25519": pem.EncodeToMemory(block),
		"passphrase": []byte(pass + "\n"),
		"wrong":      []byte("wrong-" + pass + "\n"),
	} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"SIGN_PASS": pass, "WRONG_PASS": "wrong-" + pass}
	getenv := func(k string) string { return env[k] }

	for _, tt := range []struct {
		name string
		auth config.Auth
		want error  // nil: the key is read; errors.Is the result
		msg  string // the error says this
	}{
		{"no signing key", config.Auth{}, nil, ""},
		{"passphrase from the environment", config.Auth{SigningKeyFile: "id_ed25519", SigningPassphraseEnv: "SIGN_PASS"}, nil, ""},
		{"passphrase from a file", config.Auth{SigningKeyFile: "id_ed25519", SigningPassphraseFile: "passphrase"}, nil, ""},
		{"variable not set", config.Auth{SigningKeyFile: "id_ed25519", SigningPassphraseEnv: "NOPE"}, nil,
			"auth.signing_passphrase_env: environment variable NOPE is not set"},
		{"passphrase file missing", config.Auth{SigningKeyFile: "id_ed25519", SigningPassphraseFile: "nope"}, nil,
			"auth.signing_passphrase_file: open nope: no such file or directory"},
		{"wrong passphrase", config.Auth{SigningKeyFile: "id_ed25519", SigningPassphraseEnv: "WRONG_PASS"}, gitops.ErrPassphrase,
			"auth.signing_key_file: signing key id_ed25519: wrong passphrase (auth.signing_passphrase_env or auth.signing_passphrase_file)"},
		{"wrong passphrase in a file", config.Auth{SigningKeyFile: "id_ed25519", SigningPassphraseFile: "wrong"}, gitops.ErrPassphrase, "wrong passphrase"},
		{"no passphrase", config.Auth{SigningKeyFile: "id_ed25519"}, gitops.ErrPassphrase,
			"auth.signing_key_file: signing key id_ed25519: the key is encrypted and no passphrase was given (auth.signing_passphrase_env or auth.signing_passphrase_file)"},
		{"missing key file", config.Auth{SigningKeyFile: "keys/nope"}, fs.ErrNotExist,
			"auth.signing_key_file: signing key keys/nope: no such file or directory"},
		{"not a key", config.Auth{SigningKeyFile: "passphrase"}, gitops.ErrKeyType,
			"auth.signing_key_file: signing key passphrase: neither an OpenPGP secret key nor an SSH private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tasks.ResolveAuth(tt.auth, getenv)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ResolveAuth = %v", err)
				}
				if (got.SigningKey != nil) != (tt.auth.SigningKeyFile != "") {
					t.Fatalf("SigningKey = %v; want one exactly when signing_key_file is set", got.SigningKey)
				}
				if got.SigningKey != nil && got.SigningKey.Kind() != gitops.KeySSH {
					t.Errorf("SigningKey = %v; want an SSH key", got.SigningKey)
				}
				return
			}
			if err == nil || !tasks.IsPermanent(err) || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ResolveAuth = %v; want a permanent error wrapping %v saying %q", err, tt.want, tt.msg)
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(err.Error(), dir) {
				t.Errorf("error %q shows the passphrase or the absolute path", err)
			}
		})
	}
}
