package forge

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// NewAppTokenSource returns a source of installation access tokens for a GitHub App
// installation, for Config.TokenSource and for git over HTTPS (username
// "x-access-token", the token as password). It signs a JWT (RS256, iss = appID) with
// privateKeyPEM and exchanges it at POST {apiURL}/app/installations/{installationID}/access_tokens;
// a token is reused until a minute before it expires (ghinstallation's cache), so calling
// the source before every request is cheap. apiURL "" is https://api.github.com/ (GitHub
// Enterprise: https://host/api/v3/). client nil means a client with a 30-second timeout;
// only its Transport is used, and each refresh is bounded by 30 seconds unless ctx is
// bounded already.
//
// The source's errors wrap ErrUnauthorized when GitHub rejects the JWT (wrong app ID or
// key), ErrNotFound when the installation does not exist, and *RateLimitError when rate
// limited.
func NewAppTokenSource(appID, installationID int64, privateKeyPEM []byte, apiURL string, client *http.Client) (func(ctx context.Context) (string, error), error) {
	if appID <= 0 || installationID <= 0 {
		return nil, errors.New("github app: app ID and installation ID must be positive")
	}
	// Check the key here, so the error can say what is wrong without quoting any of it.
	if block, _ := pem.Decode(privateKeyPEM); block == nil {
		return nil, errors.New("github app: private key is not PEM-encoded")
	} else if !strings.Contains(block.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("github app: PEM block is %q, not an RSA private key", block.Type)
	}
	tr := http.DefaultTransport
	if client != nil && client.Transport != nil {
		tr = client.Transport
	}
	itr, err := ghinstallation.New(tr, appID, installationID, privateKeyPEM)
	if err != nil {
		// ghinstallation's parse errors name the problem, not the key.
		return nil, fmt.Errorf("github app: private key: %s", err.Error()) // the text only: no library type leaves the package
	}
	if apiURL == "" {
		apiURL = "https://api.github.com/"
	}
	itr.BaseURL = strings.TrimRight(apiURL, "/")
	timeout := 30 * time.Second
	if client != nil && client.Timeout > 0 {
		timeout = client.Timeout
	}
	return func(ctx context.Context) (string, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		tok, err := itr.Token(ctx)
		if err != nil {
			return "", fmt.Errorf("github app installation %d token: %w", installationID, appTokenError(err))
		}
		return tok, nil
	}, nil
}

// appTokenError translates ghinstallation's error for a failed token exchange.
func appTokenError(err error) error {
	var he *ghinstallation.HTTPError
	if errors.As(err, &he) && he.Response != nil {
		// ghinstallation leaves a non-2xx answer's body open for inspection.
		if he.Response.Body != nil {
			_ = he.Response.Body.Close()
		}
		return apiError(he.Response, errors.New(he.Message))
	}
	return apiError(nil, err)
}
