package forge

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGitHubApp serves POST /api/v3/app/installations/42/access_tokens as GitHub does
// (201 and an installation token), after checking that the request carries a JWT signed
// RS256 by key with iss = 1234. Each answer's token is "ghs_<n>", expiring after ttl.
func fakeGitHubApp(t *testing.T, key *rsa.PrivateKey, ttl time.Duration, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/api/v3/app/installations/42/access_tokens" {
			t.Errorf("got %s %s, want POST /api/v3/app/installations/42/access_tokens", r.Method, r.URL.Path)
		}
		jwt, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			t.Errorf("Authorization = %q, want a Bearer JWT", r.Header.Get("Authorization"))
		}
		checkJWT(t, jwt, &key.PublicKey, "1234")
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if status != http.StatusCreated {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = fmt.Fprintf(w, `{"token":"ghs_%d","expires_at":%q,"permissions":{"contents":"write","pull_requests":"write","statuses":"write"},"repository_selection":"selected"}`,
			n, time.Now().Add(ttl).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// checkJWT verifies an RS256 JWT's signature and its iss, iat and exp claims.
func checkJWT(t *testing.T, jwt string, pub *rsa.PublicKey, iss string) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Errorf("JWT has %d parts, want 3", len(parts))
		return
	}
	var header struct{ Alg, Typ string }
	var claims struct {
		Iss      string
		Iat, Exp int64
	}
	for i, v := range []any{&header, &claims} {
		data, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err == nil {
			err = json.Unmarshal(data, v)
		}
		if err != nil {
			t.Errorf("JWT part %d: %v", i, err)
			return
		}
	}
	if header.Alg != "RS256" {
		t.Errorf("JWT alg = %q, want RS256", header.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Errorf("JWT signature: %v", err)
		return
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("JWT signature does not verify: %v", err)
	}
	now := time.Now().Unix()
	if claims.Iss != iss || claims.Iat > now || claims.Exp <= now || claims.Exp-claims.Iat > 600 {
		t.Errorf("JWT claims = %+v at %d, want iss %s, iat <= now < exp, at most 10 minutes", claims, now, iss)
	}
}

func rsaKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func TestAppTokenSource(t *testing.T) {
	key, keyPEM := rsaKey(t)
	tests := []struct {
		name       string
		ttl        time.Duration
		wantTokens []string // from successive calls
		wantPosts  int32
	}{
		{"reused until near expiry", time.Hour, []string{"ghs_1", "ghs_1", "ghs_1"}, 1},
		// ghinstallation refreshes a token a minute before it expires.
		{"refreshed when it expires within a minute", 30 * time.Second, []string{"ghs_1", "ghs_2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := fakeGitHubApp(t, key, tt.ttl, http.StatusCreated)
			src, err := NewAppTokenSource(1234, 42, keyPEM, srv.URL+"/api/v3/", srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.wantTokens {
				got, err := src(context.Background())
				if err != nil || got != want {
					t.Fatalf("call %d: token = %q, %v; want %q", i, got, err, want)
				}
			}
			if n := calls.Load(); n != tt.wantPosts {
				t.Errorf("%d token requests, want %d", n, tt.wantPosts)
			}
		})
	}
}

func TestAppTokenSourceErrors(t *testing.T) {
	key, keyPEM := rsaKey(t)
	for _, tt := range []struct {
		status int
		want   error
	}{
		{http.StatusUnauthorized, ErrUnauthorized},
		{http.StatusNotFound, ErrNotFound},
	} {
		srv, _ := fakeGitHubApp(t, key, time.Hour, tt.status)
		src, err := NewAppTokenSource(1234, 42, keyPEM, srv.URL+"/api/v3", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src(context.Background()); !errors.Is(err, tt.want) {
			t.Errorf("status %d: error = %v, want %v", tt.status, err, tt.want)
		}
	}

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})
	block, _ := pem.Decode(keyPEM)
	der := append([]byte(nil), block.Bytes...)
	for i := 4; i < 40; i++ {
		der[i] ^= 0x5a
	}
	garbled := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	for name, bad := range map[string][]byte{"not PEM": []byte("MIIEowIBAAKCAQEAsecretsecret"), "EC key": ecPEM, "garbled RSA key": garbled} {
		_, err := NewAppTokenSource(1234, 42, bad, "", nil)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		body := string(bad)
		if block, _ := pem.Decode(bad); block != nil {
			body = base64.StdEncoding.EncodeToString(block.Bytes)
		}
		for i := 0; i+16 <= len(body); i += 16 {
			if strings.Contains(err.Error(), body[i:i+16]) {
				t.Errorf("%s: error quotes the key: %v", name, err)
				break
			}
		}
	}
}

// TestAppTokenSourceForGitHub uses the source as a Config.TokenSource: the installation
// token goes into the API request.
func TestAppTokenSourceForGitHub(t *testing.T) {
	key, keyPEM := rsaKey(t)
	app, _ := fakeGitHubApp(t, key, time.Hour, http.StatusCreated)
	src, err := NewAppTokenSource(1234, 42, keyPEM, app.URL+"/api/v3/", nil)
	if err != nil {
		t.Fatal(err)
	}
	api := fakeForge(t, "Authorization", "Bearer ghs_1", []exchange{
		ghListing("[" + ghPR(7, "open", "", spec.Title, spec.Body) + "]"),
		ghListing("[" + ghPR(7, "open", "", spec.Title, spec.Body) + "]"),
	})
	f, err := New(Config{Repo: "https://github.com/octo/fab.git", APIURL: api.URL + "/api/v3/", TokenSource: src, Token: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.EnsurePullRequest(context.Background(), spec); err != nil {
			t.Fatal(err)
		}
	}
}
