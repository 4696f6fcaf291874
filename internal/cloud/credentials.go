package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Credentials sign API calls. In Function Compute they are the function
// role's STS credentials, handed over with each invocation.
//
// However they are printed (fmt's verbs, %#v included), logged (slog, as a
// LogValuer) or marshalled to JSON, they show neither the secret nor the
// token, and only the ends of the key id: enough to tell which key is in
// use, not enough to be one.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// MaskKeyID shows the first and last four characters of an access key id
// ("LTAI…0001"), or "[redacted]" when it is too short to show any.
func MaskKeyID(id string) string {
	if len(id) < 12 {
		if id == "" {
			return ""
		}
		return "[redacted]"
	}
	return id[:4] + "…" + id[len(id)-4:]
}

// String never shows the secret or the token, nor the whole key id.
func (c Credentials) String() string {
	if c.AccessKeyID == "" && c.AccessKeySecret == "" && c.SecurityToken == "" {
		return "Credentials{}"
	}
	return fmt.Sprintf("Credentials{AccessKeyID: %s, AccessKeySecret: %s, SecurityToken: %s}",
		MaskKeyID(c.AccessKeyID), redacted(c.AccessKeySecret), redacted(c.SecurityToken))
}

func redacted(s string) string {
	if s == "" {
		return "none"
	}
	return "[redacted]"
}

// GoString keeps %#v as safe as %v.
func (c Credentials) GoString() string { return c.String() }

// Format prints c as String does whatever the verb and flags (%v, %+v,
// %#v, %s, %q, %x...), so that no verb reaches the fields.
func (c Credentials) Format(f fmt.State, verb rune) {
	s := c.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

// LogValue implements slog.LogValuer: a group with the masked key id and
// whether a secret and a token are set.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("AccessKeyID", MaskKeyID(c.AccessKeyID)),
		slog.Bool("AccessKeySecret", c.AccessKeySecret != ""),
		slog.Bool("SecurityToken", c.SecurityToken != ""),
	)
}

// MarshalJSON keeps credentials nested in a JSON-logged value as safe as
// LogValue does.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		AccessKeyID     string
		AccessKeySecret bool
		SecurityToken   bool
	}{MaskKeyID(c.AccessKeyID), c.AccessKeySecret != "", c.SecurityToken != ""})
}

var (
	_ slog.LogValuer = Credentials{}
	_ fmt.Formatter  = Credentials{}
	_ fmt.GoStringer = Credentials{}
	_ json.Marshaler = Credentials{}
)

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
