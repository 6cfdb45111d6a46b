package gitops

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// Errors a *KeyError wraps, besides ErrInvalidConfig, to say what to fix.
var (
	// ErrPassphrase reports a signing key whose passphrase is wrong, or
	// missing for an encrypted key, or given for a key that is not
	// encrypted.
	ErrPassphrase = errors.New("bad passphrase")
	// ErrKeyType reports a signing key file that holds no private key this
	// package can sign with: a public key, a certificate, a DSA or
	// security-key (sk-) SSH key, an OpenPGP key without a usable signing
	// key, or not a key at all.
	ErrKeyType = errors.New("unsupported key type")
)

// KeyError reports a commit signing key that cannot be used. It wraps
// ErrInvalidConfig and Err, which is ErrPassphrase, ErrKeyType or what
// reading the file failed with (fs.ErrNotExist, fs.ErrPermission ...). Its
// text names the file as the caller gave it and never holds key material or
// the passphrase.
type KeyError struct {
	File string // the key file, as given to ReadSigningKey; "" for ParseSigningKey
	Err  error
}

func (e *KeyError) Error() string {
	if e.File == "" {
		return "signing key: " + e.Err.Error()
	}
	return "signing key " + e.File + ": " + e.Err.Error()
}

func (e *KeyError) Unwrap() []error { return []error{ErrInvalidConfig, e.Err} }

// because is an error with its own text that matches is with errors.Is.
type because struct {
	is  error
	msg string
}

func (b *because) Error() string { return b.msg }
func (b *because) Unwrap() error { return b.is }

func badKey(is error, format string, args ...any) error {
	return &because{is, fmt.Sprintf(format, args...)}
}

// Kinds of SigningKey, as SigningKey.Kind reports them.
const (
	KeyOpenPGP = "openpgp" // an OpenPGP secret key: gpg signatures
	KeySSH     = "ssh"     // an SSH private key: SSH signatures, as git -c gpg.format=ssh makes
)

// SSHNamespace is the namespace of the SSH signatures of commits, the one
// git signs and verifies commits with.
const SSHNamespace = "git"

// SigningKey is a decrypted private key that signs the commits of a Client
// (Auth.SigningKey). Its file decides the kind of signature: an OpenPGP
// secret key (armored or binary, as `gpg --export-secret-keys` writes it)
// gives an OpenPGP signature, as `git commit -S` makes with gpg; an SSH
// private key (OpenSSH format, or PEM RSA, ECDSA or PKCS#8) gives an SSH
// signature (PROTOCOL.sshsig, namespace "git"), as git makes with
// gpg.format=ssh. Either is stored in the commit's gpgsig header, where git
// verify-commit and the forges look for it.
//
// A SigningKey holds the key in memory, decrypted: read it once, hand it to
// the Clients that sign with it. It is safe for concurrent use. Printed
// with fmt it shows its kind and fingerprint, never the key. It implements
// go-git's git.Signer, so it can sign through git.CommitOptions.Signer too.
type SigningKey struct {
	kind        string
	fingerprint string
	pgp         *openpgp.Entity
	ssh         ssh.Signer
}

var _ git.Signer = (*SigningKey)(nil)

// Kind returns KeyOpenPGP or KeySSH.
func (k *SigningKey) Kind() string { return k.kind }

// Fingerprint returns the key's fingerprint as its tools print it: the
// primary key's upper-case hex fingerprint for OpenPGP (gpg
// --fingerprint, without spaces), "SHA256:..." for SSH (ssh-keygen -l).
func (k *SigningKey) Fingerprint() string { return k.fingerprint }

// String returns the kind and fingerprint, never key material.
func (k *SigningKey) String() string { return k.kind + " key " + k.fingerprint }

// GoString is String, so that %#v shows no key material either.
func (k *SigningKey) GoString() string { return k.String() }

// ReadSigningKey reads and parses the private key in file, decrypting it
// with passphrase when it is encrypted (passphrase nil or empty: it must
// not be). Errors are *KeyError; see ParseSigningKey.
func ReadSigningKey(file string, passphrase []byte) (*SigningKey, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in KeyError.File, as given
		}
		return nil, &KeyError{File: file, Err: err}
	}
	k, err := parseSigningKey(data, passphrase)
	if err != nil {
		return nil, &KeyError{File: file, Err: err}
	}
	return k, nil
}

// ParseSigningKey parses a private key, decrypting it with passphrase when
// it is encrypted (passphrase nil or empty: it must not be). The format of
// data decides the kind (see SigningKey). Errors are *KeyError and wrap
// ErrInvalidConfig, and ErrPassphrase when the passphrase is missing, wrong
// or given for a key that is not encrypted, ErrKeyType when data is not a
// private key this package signs with.
func ParseSigningKey(data, passphrase []byte) (*SigningKey, error) {
	k, err := parseSigningKey(data, passphrase)
	if err != nil {
		return nil, &KeyError{Err: err}
	}
	return k, nil
}

func parseSigningKey(data, passphrase []byte) (*SigningKey, error) {
	text := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(text, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----")):
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(text))
		if err != nil {
			return nil, badKey(ErrKeyType, "not a readable OpenPGP secret key (%s)", pgpProblem(err))
		}
		return pgpKey(el, passphrase)
	case bytes.HasPrefix(text, []byte("-----BEGIN PGP ")):
		return nil, badKey(ErrKeyType, "an OpenPGP public key or message, not a secret key: export it with gpg --export-secret-keys")
	case bytes.HasPrefix(text, []byte("-----BEGIN ")):
		return sshKey(text, passphrase)
	case bytes.HasPrefix(text, []byte("ssh-")) || bytes.HasPrefix(text, []byte("ecdsa-")) || bytes.HasPrefix(text, []byte("sk-")):
		return nil, badKey(ErrKeyType, "an SSH public key: name the private key file (the one without .pub)")
	case len(data) > 0 && data[0]&0x80 != 0: // an OpenPGP packet
		el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, badKey(ErrKeyType, "not a readable OpenPGP secret key (%s)", pgpProblem(err))
		}
		return pgpKey(el, passphrase)
	}
	return nil, badKey(ErrKeyType, "neither an OpenPGP secret key nor an SSH private key")
}

// pgpProblem returns the text of an error of the OpenPGP parser, which
// never holds key material, without its "openpgp: " prefix.
func pgpProblem(err error) string {
	return strings.TrimPrefix(err.Error(), "openpgp: ")
}

// pgpKey picks the one secret key of an OpenPGP key ring and decrypts it.
func pgpKey(el openpgp.EntityList, passphrase []byte) (*SigningKey, error) {
	var e *openpgp.Entity
	for _, cand := range el {
		if cand.PrivateKey == nil {
			continue
		}
		if e != nil {
			return nil, badKey(ErrKeyType, "more than one OpenPGP secret key: export only the signing key (gpg --export-secret-keys <fingerprint>)")
		}
		e = cand
	}
	if e == nil {
		return nil, badKey(ErrKeyType, "an OpenPGP public key, not a secret key: export it with gpg --export-secret-keys")
	}
	sk, ok := e.SigningKey(time.Now())
	if !ok {
		return nil, badKey(ErrKeyType, "the OpenPGP key has no valid signing key (expired or revoked?)")
	}
	if sk.PrivateKey == nil || sk.PrivateKey.Dummy() {
		return nil, badKey(ErrKeyType, "the secret part of the OpenPGP signing key is not in the file (a stub, as gpg exports keys kept on a smart card)")
	}
	encrypted := sk.PrivateKey.Encrypted
	switch {
	case encrypted && len(passphrase) == 0:
		return nil, badKey(ErrPassphrase, "the key is encrypted and no passphrase was given")
	case !encrypted && len(passphrase) > 0:
		return nil, badKey(ErrPassphrase, "a passphrase was given but the key is not encrypted")
	case encrypted:
		// A wrong passphrase fails the key's checksum or integrity tag;
		// the parser's message says no more than that.
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, badKey(ErrPassphrase, "wrong passphrase")
		}
	}
	return &SigningKey{kind: KeyOpenPGP, fingerprint: fmt.Sprintf("%X", e.PrimaryKey.Fingerprint), pgp: e}, nil
}

// sshKey parses a PEM-armored SSH private key (OpenSSH, PKCS#1, SEC 1 or
// PKCS#8) and decrypts it.
func sshKey(text, passphrase []byte) (*SigningKey, error) {
	raw, err := ssh.ParseRawPrivateKey(text)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && len(passphrase) == 0:
		return nil, badKey(ErrPassphrase, "the key is encrypted and no passphrase was given")
	case errors.As(err, &missing):
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(text, passphrase)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, badKey(ErrPassphrase, "wrong passphrase")
		}
	case err == nil && len(passphrase) > 0:
		return nil, badKey(ErrPassphrase, "a passphrase was given but the key is not encrypted")
	}
	if err != nil {
		// x/crypto/ssh's messages name the problem ("ssh: unsupported key
		// type \"CERTIFICATE\"") and never hold key material.
		return nil, badKey(ErrKeyType, "not a usable SSH private key (%s)", strings.TrimPrefix(err.Error(), "ssh: "))
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, badKey(ErrKeyType, "not a usable SSH private key (%s)", strings.TrimPrefix(err.Error(), "ssh: "))
	}
	switch t := signer.PublicKey().Type(); t {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	default:
		return nil, badKey(ErrKeyType, "SSH keys of type %s cannot sign commits (use ed25519, ecdsa or rsa)", t)
	}
	return &SigningKey{kind: KeySSH, fingerprint: ssh.FingerprintSHA256(signer.PublicKey()), ssh: signer}, nil
}

// Sign returns the armored detached signature of what message yields: an
// OpenPGP signature ("-----BEGIN PGP SIGNATURE-----") or an SSH signature
// ("-----BEGIN SSH SIGNATURE-----") in namespace "git", each as git stores
// it in a gpgsig header.
func (k *SigningKey) Sign(message io.Reader) ([]byte, error) {
	switch k.kind {
	case KeyOpenPGP:
		var b bytes.Buffer
		if err := openpgp.ArmoredDetachSign(&b, k.pgp, message, nil); err != nil {
			return nil, fmt.Errorf("openpgp signature: %s", pgpProblem(err))
		}
		return b.Bytes(), nil
	case KeySSH:
		return sshSign(k.ssh, SSHNamespace, message)
	}
	return nil, errors.New("signing key: not made by ReadSigningKey or ParseSigningKey")
}

// sshSign makes an armored SSH signature of message, as `ssh-keygen -Y
// sign -n namespace` does (OpenSSH's PROTOCOL.sshsig): the key signs the
// blob "SSHSIG" || string namespace || string reserved || string
// hash_algorithm || string H(message), and the signature is "SSHSIG" ||
// uint32 version 1 || string public key || string namespace || string
// reserved || string hash_algorithm || string signature.
func sshSign(signer ssh.Signer, namespace string, message io.Reader) ([]byte, error) {
	const magic, hashAlg = "SSHSIG", "sha512"
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, fmt.Errorf("ssh signature: %w", err)
	}
	signed := append([]byte(magic), ssh.Marshal(struct {
		Namespace, Reserved, HashAlg string
		Hash                         []byte
	}{namespace, "", hashAlg, h.Sum(nil)})...)

	var sig *ssh.Signature
	var err error
	if as, ok := signer.(ssh.AlgorithmSigner); ok && signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, signed, ssh.KeyAlgoRSASHA512) // as ssh-keygen does; ssh-rsa (SHA-1) is refused
	} else {
		sig, err = signer.Sign(rand.Reader, signed)
	}
	if err != nil {
		return nil, fmt.Errorf("ssh signature: %s", strings.TrimPrefix(err.Error(), "ssh: "))
	}
	blob := append([]byte(magic), ssh.Marshal(struct {
		Version                      uint32
		PublicKey                    []byte
		Namespace, Reserved, HashAlg string
		Signature                    []byte
	}{1, signer.PublicKey().Marshal(), namespace, "", hashAlg, ssh.Marshal(sig)})...)
	return armorSSHSig(blob), nil
}

// armorSSHSig armors an SSH signature as ssh-keygen does: base64 in lines
// of 70 characters between BEGIN and END lines.
func armorSSHSig(blob []byte) []byte {
	b64 := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(b64) > 70 {
		b.WriteString(b64[:70])
		b.WriteByte('\n')
		b64 = b64[70:]
	}
	b.WriteString(b64)
	b.WriteString("\n-----END SSH SIGNATURE-----\n")
	return b.Bytes()
}

// signCommit signs the commit object as git does: over its encoding
// without the gpgsig header, and stores the signature in PGPSignature,
// which Encode writes as that header (for SSH signatures too, as git does).
func (k *SigningKey) signCommit(commit *object.Commit) error {
	unsigned := &plumbing.MemoryObject{}
	if err := commit.EncodeWithoutSignature(unsigned); err != nil {
		return err
	}
	r, err := unsigned.Reader()
	if err != nil {
		return err
	}
	sig, err := k.Sign(r)
	if err != nil {
		return err
	}
	commit.PGPSignature = string(sig)
	return nil
}
