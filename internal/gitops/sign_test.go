package gitops_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fabsync/fabsync/internal/gitops"
	"github.com/fabsync/fabsync/internal/gitops/gittest"
)

// needTool returns the path of the program name, which the Debian package
// pkg installs. Where it is missing the test is skipped with a message,
// except in CI (CI set), where nothing is skipped and the test fails.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	needGit(t)
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (Debian: apt-get install %s); in CI nothing is skipped", name, pkg)
		}
		t.Skipf("%s not found (Debian: apt-get install %s): skipping (in CI this fails)", name, pkg)
	}
	return p
}

// run runs a program with env added to an environment that keeps the
// user's git configuration out, and returns its combined output.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "LC_ALL=C")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(t, dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// gnupgHome returns a new GNUPGHOME whose gpg-agent is stopped when the
// test ends.
func gnupgHome(t *testing.T) string {
	t.Helper()
	// Short, for the agent's socket: t.TempDir's names can pass its limit.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if gpgconf, err := exec.LookPath("gpgconf"); err == nil {
			_, _ = run(t, dir, []string{"GNUPGHOME=" + dir}, gpgconf, "--kill", "all")
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// gpgKey is an OpenPGP key made by gpg.
type gpgKey struct {
	secret      string // file of the armored secret key, as gpg --export-secret-keys writes it
	public      []byte // armored public key
	fingerprint string
}

// newGPGKey makes an OpenPGP key with gpg, protected by passphrase unless
// it is empty, in a GNUPGHOME of its own, and exports it.
func newGPGKey(t *testing.T, algo, passphrase string) gpgKey {
	t.Helper()
	gpg := needTool(t, "gpg", "gnupg")
	home := gnupgHome(t)
	env := []string{"GNUPGHOME=" + home}
	pin := []string{"--batch", "--pinentry-mode", "loopback", "--passphrase", passphrase}
	mustRun(t, home, env, gpg, append(pin, "--quick-gen-key", "Fab Sync <fab@example.com>", algo, "sign", "never")...)
	var fpr string
	for _, line := range strings.Split(mustRun(t, home, env, gpg, "--batch", "--with-colons", "--list-secret-keys"), "\n") {
		if f := strings.Split(line, ":"); f[0] == "fpr" && len(f) > 9 {
			fpr = f[9]
			break
		}
	}
	if fpr == "" {
		t.Fatal("gpg made no key")
	}
	secret := mustRun(t, home, env, gpg, append(pin, "--armor", "--export-secret-keys", fpr)...)
	file := filepath.Join(t.TempDir(), "signing.asc")
	if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	public := mustRun(t, home, env, gpg, "--batch", "--armor", "--export", fpr)
	return gpgKey{secret: file, public: []byte(public), fingerprint: fpr}
}

// newSSHKey makes an SSH key with ssh-keygen, protected by passphrase
// unless it is empty, and returns its private key file and the public key.
func newSSHKey(t *testing.T, typ, passphrase string) (file, public string) {
	t.Helper()
	keygen := needTool(t, "ssh-keygen", "openssh-client")
	file = filepath.Join(t.TempDir(), "id_"+typ)
	mustRun(t, "", nil, keygen, "-q", "-t", typ, "-N", passphrase, "-C", "fab@example.com", "-f", file)
	pub, err := os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return file, strings.TrimSpace(string(pub))
}

// signedCommit makes a commit with key through a Client, pushes it to a
// real git server and returns the bare repository and the commit's hash.
// With paths it commits through CommitPaths, else through Commit.
func signedCommit(t *testing.T, key *gitops.SigningKey, paths bool) (bare, sha string) {
	t.Helper()
	srv := gittest.NewServer(t)
	url := srv.NewRepo(t, "fabric", map[string]string{"fab/raw/a.yaml": "a: 1\n"})
	c := newClient(t, gitops.Config{URL: url, Author: gitops.Signature{Name: "Fab Sync", Email: "fab@example.com"},
		Auth: gitops.Auth{SigningKey: key}})
	sync(t, c)
	writeFile(t, c.Dir(), "fab/managed/v.yaml", "v: 1\n")
	ctx := context.Background()
	var ok bool
	var err error
	if paths {
		sha, ok, err = c.CommitPaths(ctx, "fab", "Signed\n\nFabsync-Job: j\n", []string{"managed/v.yaml"})
	} else {
		sha, ok, err = c.Commit(ctx, "fab", "Signed\n\nFabsync-Job: j\n")
	}
	if err != nil || !ok {
		t.Fatalf("Commit = %q, %v, %v", sha, ok, err)
	}
	if err := c.Push(ctx, nil); err != nil {
		t.Fatalf("Push: %v", err)
	}
	bare = srv.RepoDir("fabric")
	if got := remoteHead(t, bare); got != sha {
		t.Fatalf("remote head = %s; want pushed %s", got, sha)
	}
	// git checks the object as it stores it: the hash is the content's.
	mustRun(t, bare, nil, "git", "fsck", "--strict", "--no-dangling")
	return bare, sha
}

// header returns the gpgsig header of the commit, unfolded.
func header(t *testing.T, bare, sha string) string {
	t.Helper()
	raw := mustRun(t, bare, nil, "git", "cat-file", "commit", sha)
	head, _, _ := strings.Cut(raw, "\n\n")
	_, sig, ok := strings.Cut(head, "\ngpgsig ")
	if !ok {
		return ""
	}
	var b strings.Builder
	for i, line := range strings.Split(sig, "\n") {
		if i > 0 && !strings.HasPrefix(line, " ") {
			break
		}
		b.WriteString(strings.TrimPrefix(line, " ") + "\n")
	}
	return b.String()
}

// TestSignOpenPGP signs commits with keys made by gpg and has git
// verify-commit check them with gpg, which knows only the public key.
func TestSignOpenPGP(t *testing.T) {
	for _, tt := range []struct {
		algo, passphrase string
		paths            bool
	}{
		{"ed25519", "correct horse", false},
		{"rsa2048", "", true},
	} {
		t.Run(tt.algo, func(t *testing.T) {
			k := newGPGKey(t, tt.algo, tt.passphrase)
			key, err := gitops.ReadSigningKey(k.secret, []byte(tt.passphrase))
			if err != nil {
				t.Fatalf("ReadSigningKey = %v", err)
			}
			if key.Kind() != gitops.KeyOpenPGP || key.Fingerprint() != k.fingerprint {
				t.Fatalf("key = %s, %s; want %s, %s", key.Kind(), key.Fingerprint(), gitops.KeyOpenPGP, k.fingerprint)
			}
			bare, sha := signedCommit(t, key, tt.paths)
			if sig := header(t, bare, sha); !strings.HasPrefix(sig, "-----BEGIN PGP SIGNATURE-----\n") {
				t.Fatalf("gpgsig header = %q; want a PGP signature", sig)
			}

			verifier := gnupgHome(t) // holds only the public key
			env := []string{"GNUPGHOME=" + verifier}
			gpgIn(t, verifier, k.public, "--batch", "--import")
			out := mustRun(t, bare, env, "git", "verify-commit", "--raw", sha)
			if !strings.Contains(out, "[GNUPG:] GOODSIG ") || !strings.Contains(out, "[GNUPG:] VALIDSIG "+k.fingerprint+" ") {
				t.Errorf("git verify-commit --raw %s:\n%s\nwant GOODSIG and VALIDSIG %s", sha, out, k.fingerprint)
			}
			// The verifier must fail an unsigned commit (the first one,
			// which the server's helper made) and a key it does not know.
			if out, err := run(t, bare, env, "git", "verify-commit", sha+"^"); err == nil {
				t.Errorf("git verify-commit passes the unsigned parent:\n%s", out)
			}
			if out, err := run(t, bare, []string{"GNUPGHOME=" + gnupgHome(t)}, "git", "verify-commit", sha); err == nil {
				t.Errorf("git verify-commit passes without the public key:\n%s", out)
			}
		})
	}
}

func gpgIn(t *testing.T, home string, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.Command("gpg", args...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestSignSSH signs commits with keys made by ssh-keygen and has git
// verify-commit check them with gpg.format=ssh and an allowed signers
// file.
func TestSignSSH(t *testing.T) {
	for _, tt := range []struct {
		typ, passphrase string
		paths           bool
	}{
		{"ed25519", "correct horse", false},
		{"ed25519", "", true},
		{"ecdsa", "", false},
		{"rsa", "", false},
	} {
		t.Run(fmt.Sprintf("%s,passphrase=%v", tt.typ, tt.passphrase != ""), func(t *testing.T) {
			file, pub := newSSHKey(t, tt.typ, tt.passphrase)
			key, err := gitops.ReadSigningKey(file, []byte(tt.passphrase))
			if err != nil {
				t.Fatalf("ReadSigningKey = %v", err)
			}
			if key.Kind() != gitops.KeySSH || !strings.HasPrefix(key.Fingerprint(), "SHA256:") {
				t.Fatalf("key = %s, %s; want an SSH key", key.Kind(), key.Fingerprint())
			}
			bare, sha := signedCommit(t, key, tt.paths)
			if sig := header(t, bare, sha); !strings.HasPrefix(sig, "-----BEGIN SSH SIGNATURE-----\n") || !strings.HasSuffix(sig, "-----END SSH SIGNATURE-----\n") {
				t.Fatalf("gpgsig header = %q; want an SSH signature", sig)
			}

			dir := t.TempDir()
			allowed := filepath.Join(dir, "allowed_signers")
			if err := os.WriteFile(allowed, []byte(`fab@example.com namespaces="git" `+pub+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			verify := func(allowed, rev string) (string, error) {
				return run(t, bare, []string{"HOME=" + dir}, "git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", rev)
			}
			out, err := verify(allowed, sha)
			if err != nil {
				t.Fatalf("git verify-commit %s: %v\n%s", sha, err, out)
			}
			if want := `Good "git" signature for fab@example.com`; !strings.Contains(out, want) || !strings.Contains(out, key.Fingerprint()) {
				t.Errorf("git verify-commit %s:\n%s\nwant %q with %s", sha, out, want, key.Fingerprint())
			}
			// The verifier must fail an unsigned commit and a key it does
			// not allow.
			if out, err := verify(allowed, sha+"^"); err == nil {
				t.Errorf("git verify-commit passes the unsigned parent:\n%s", out)
			}
			_, other := newSSHKey(t, "ed25519", "")
			stranger := filepath.Join(dir, "stranger")
			if err := os.WriteFile(stranger, []byte(`fab@example.com namespaces="git" `+other+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := verify(stranger, sha); err == nil {
				t.Errorf("git verify-commit passes with another key allowed:\n%s", out)
			}
		})
	}
}

// TestSignUnsigned: without a key, commits carry no signature.
func TestSignUnsigned(t *testing.T) {
	needGit(t)
	bare, sha := signedCommit(t, nil, false)
	if sig := header(t, bare, sha); sig != "" {
		t.Errorf("gpgsig header = %q; want none", sig)
	}
}

// TestSignKeyErrors: a key that cannot be used gives a *KeyError that says
// why, names the file as given and holds neither key nor passphrase.
func TestSignKeyErrors(t *testing.T) {
	const pass = "s3cret-passphrase"
	pgp := newGPGKey(t, "ed25519", pass)
	pgpPlain := newGPGKey(t, "ed25519", "")
	sshFile, sshPub := newSSHKey(t, "ed25519", pass)
	sshPlain, _ := newSSHKey(t, "ed25519", "")

	// Relative names, as a fabrics file may give them: an error must not
	// show more of the worker's disk than that.
	dir := t.TempDir()
	t.Chdir(dir)
	copyTo := func(name, from string) string {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	write := func(name string, b []byte) string {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	copyTo("pgp.asc", pgp.secret)
	copyTo("pgp-plain.asc", pgpPlain.secret)
	copyTo("id_ed25519", sshFile)
	copyTo("id_plain", sshPlain)
	write("pgp-public.asc", pgp.public)
	write("id_ed25519.pub", []byte(sshPub+"\n"))
	write("junk", []byte("not a key\n"))
	write("cert.pem", []byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"))
	if err := os.WriteFile("unreadable", []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	// The armored key once more, unarmored: binary OpenPGP.
	{
		home := gnupgHome(t)
		gpgIn(t, home, mustReadFile(t, pgp.secret), "--batch", "--pinentry-mode", "loopback", "--passphrase", pass, "--import")
		cmd := exec.Command("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", pass, "--export-secret-keys", pgp.fingerprint)
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		out, err := cmd.Output()
		if err != nil || len(out) == 0 {
			t.Fatalf("gpg --export-secret-keys: %v", err)
		}
		write("pgp.gpg", out)
	}

	for _, tt := range []struct {
		name, file, passphrase string
		want                   error // nil: the key works
		kind                   string
	}{
		{"openpgp armored, right passphrase", "pgp.asc", pass, nil, gitops.KeyOpenPGP},
		{"openpgp binary, right passphrase", "pgp.gpg", pass, nil, gitops.KeyOpenPGP},
		{"openpgp unencrypted", "pgp-plain.asc", "", nil, gitops.KeyOpenPGP},
		{"ssh, right passphrase", "id_ed25519", pass, nil, gitops.KeySSH},
		{"ssh unencrypted", "id_plain", "", nil, gitops.KeySSH},
		{"openpgp, wrong passphrase", "pgp.asc", "wrong-" + pass, gitops.ErrPassphrase, ""},
		{"openpgp, no passphrase", "pgp.asc", "", gitops.ErrPassphrase, ""},
		{"openpgp unencrypted, with a passphrase", "pgp-plain.asc", pass, gitops.ErrPassphrase, ""},
		{"ssh, wrong passphrase", "id_ed25519", "wrong-" + pass, gitops.ErrPassphrase, ""},
		{"ssh, no passphrase", "id_ed25519", "", gitops.ErrPassphrase, ""},
		{"ssh unencrypted, with a passphrase", "id_plain", pass, gitops.ErrPassphrase, ""},
		{"openpgp public key", "pgp-public.asc", "", gitops.ErrKeyType, ""},
		{"ssh public key", "id_ed25519.pub", "", gitops.ErrKeyType, ""},
		{"not a key", "junk", "", gitops.ErrKeyType, ""},
		{"certificate", "cert.pem", "", gitops.ErrKeyType, ""},
		{"missing file", "nope.asc", "", fs.ErrNotExist, ""},
		{"unreadable file", "unreadable", "", fs.ErrPermission, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			key, err := gitops.ReadSigningKey(tt.file, []byte(tt.passphrase))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ReadSigningKey = %v", err)
				}
				if key.Kind() != tt.kind {
					t.Errorf("Kind = %s; want %s", key.Kind(), tt.kind)
				}
				if _, err := key.Sign(strings.NewReader("tree 0\n")); err != nil {
					t.Errorf("Sign = %v", err)
				}
				// Printed, the key shows its fingerprint only.
				if s := fmt.Sprintf("%v %+v %#v %s", key, gitops.Auth{SigningKey: key}, gitops.Auth{SigningKey: key}, key); strings.Contains(s, "PRIVATE") ||
					strings.Contains(s, pass) || !strings.Contains(s, key.Fingerprint()) {
					t.Errorf("printed key = %s", s)
				}
				return
			}
			var ke *gitops.KeyError
			if !errors.Is(err, tt.want) || !errors.Is(err, gitops.ErrInvalidConfig) || !errors.As(err, &ke) || ke.File != tt.file {
				t.Fatalf("ReadSigningKey = %v; want a *KeyError for %s wrapping %v and ErrInvalidConfig", err, tt.file, tt.want)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.HasPrefix(msg, "signing key "+tt.file+": ") {
				t.Errorf("error %q does not start with the file as given", msg)
			}
			if strings.Contains(msg, pass) || strings.Contains(msg, dir) || strings.Contains(msg, "BEGIN") || strings.Contains(msg, "AAAA") {
				t.Errorf("error %q shows the passphrase, the key or the absolute path", msg)
			}
		})
	}
}

func mustReadFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
