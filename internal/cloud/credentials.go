package cloud

import (
	"context"
	"fmt"
)

// Credentials sign API calls. In Function Compute they are the function
// role's STS credentials, handed over with each invocation.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// String never shows the secret or the token.
func (c Credentials) String() string {
	if c.AccessKeyID == "" {
		return "Credentials{}"
	}
	return fmt.Sprintf("Credentials{AccessKeyID: %s, AccessKeySecret: [redacted], SecurityToken: %t}", c.AccessKeyID, c.SecurityToken != "")
}

// LogValue keeps credentials out of structured logs.
func (c Credentials) LogValue() string { return c.String() }

type credsKey struct{}

// WithCredentials returns ctx carrying the invocation's credentials; calls made
// with it sign with them instead of the client's fallback.
func WithCredentials(ctx context.Context, c Credentials) context.Context {
	return context.WithValue(ctx, credsKey{}, c)
}

// CredentialsFrom returns the credentials WithCredentials put in ctx, if any.
func CredentialsFrom(ctx context.Context) (Credentials, bool) {
	c, ok := ctx.Value(credsKey{}).(Credentials)
	return c, ok && c.AccessKeyID != ""
}
