package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ExtensionHeader carries the function's session token to the AWS
// Parameters and Secrets Lambda Extension, which refuses requests without
// it.
const ExtensionHeader = "X-Aws-Parameters-Secrets-Token"

// DefaultExtensionPort is where the extension listens unless
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT says otherwise.
const DefaultExtensionPort = "2773"

// Extension reads secrets through the AWS Parameters and Secrets Lambda
// Extension's local HTTP API, which fetches them from Secrets Manager with
// the function's execution role and caches them (SECRETS_MANAGER_TTL,
// 300 s by default).
type Extension struct {
	base   string
	token  string
	client *http.Client
}

// NewExtension builds an Extension from the Lambda environment: the port
// (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT) and the session token
// (AWS_SESSION_TOKEN).
func NewExtension(getenv func(string) string) (*Extension, error) {
	port := getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
	if port == "" {
		port = DefaultExtensionPort
	}
	token := getenv("AWS_SESSION_TOKEN")
	if token == "" {
		return nil, errors.New("AWS_SESSION_TOKEN is not set: the Parameters and Secrets extension needs the function's session token")
	}
	return &Extension{base: "http://localhost:" + port, token: token, client: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Get asks the extension for the secret's current SecretString.
func (e *Extension) Get(ctx context.Context, name string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/secretsmanager/get?secretId="+url.QueryEscape(name), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(ExtensionHeader, e.token)
	resp, err := e.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("the Parameters and Secrets extension at %s (is its layer on the function?): %w", e.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("the Parameters and Secrets extension: read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// An error answer is the extension's or Secrets Manager's text,
		// never the value.
		msg := strings.TrimSpace(string(body))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		switch {
		case resp.StatusCode == http.StatusNotFound || strings.Contains(msg, "ResourceNotFoundException"):
			return "", fmt.Errorf("%w (extension answered %d: %s)", ErrNotFound, resp.StatusCode, msg)
		case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || strings.Contains(msg, "AccessDenied"):
			return "", fmt.Errorf("%w (extension answered %d: %s): grant secretsmanager:GetSecretValue on it to this function's role", ErrDenied, resp.StatusCode, msg)
		}
		return "", fmt.Errorf("the Parameters and Secrets extension answered %d: %s", resp.StatusCode, msg)
	}
	var out struct {
		Name         string
		SecretString *string
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("the Parameters and Secrets extension: decode the answer: %v", err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("the secret %q has no SecretString (a binary secret): store it as text", name)
	}
	return *out.SecretString, nil
}
