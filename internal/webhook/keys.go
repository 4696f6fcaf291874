package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/vpngw/vpngw/internal/policy"
)

// Variables the named keys of POST / are read from.
const (
	// EnvKeys holds the named keys (ParseKeys).
	EnvKeys = "VPNGW_WEBHOOK_KEYS"
	// EnvSecretSources binds the legacy VPNGW_WEBHOOK_SECRET to the sources
	// it may claim: patterns separated by "|".
	EnvSecretSources = "VPNGW_WEBHOOK_SECRET_SOURCES"
)

// MaxKeys bounds the named keys: a request is checked against every one.
const MaxKeys = 32

// keyNameFormat is what a key's name may be: it appears in the caller's
// identity ("webhook:ci"), in the vpngw:requester tag and in policy rules.
// Compiled on first use: its bounded repetition costs every function's cold
// start about a millisecond of init, and only the webhook reads keys.
var keyNameFormat = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
})

// Key is one named key of POST /: the secret its sender signs with, a
// previous secret accepted while the sender moves to a new one, and the
// sources the sender may claim. A request signed with a key carries its
// name to the policy (Requester.Key), and a request claiming a source its
// key is not bound to is refused.
type Key struct {
	Name           string   `json:"name"`
	Secret         string   `json:"secret"`
	PreviousSecret string   `json:"previousSecret,omitempty"`
	Sources        []string `json:"sources"`
}

// String names the key and its sources, never a secret.
func (k Key) String() string {
	return fmt.Sprintf("%s (sources %s)", k.Name, strings.Join(k.Sources, " | "))
}

// ParseKeys reads VPNGW_WEBHOOK_KEYS: a JSON array of objects with name,
// secret, sources and optionally previousSecret, such as
//
//	[{"name":"ci","secret":"<32 random bytes, hex>","sources":["https://ci.example.com/*"]}]
//
// JSON, because a secret may hold any character: no separator could be
// told apart from one. Unknown members are refused (a misspelt
// "previousSecret" would otherwise silently turn rotation off). Each entry
// is then checked by Config.Validate.
func ParseKeys(s string) ([]Key, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var keys []Key
	if err := dec.Decode(&keys); err != nil {
		return nil, fmt.Errorf(`%s: not a JSON array of keys (%s); want [{"name":"ci","secret":"...","sources":["https://ci.example.com/*"]}, ...]`,
			EnvKeys, describeJSONError(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: more after the JSON array; want one array of keys", EnvKeys)
	}
	return keys, nil
}

// describeJSONError says what is wrong without repeating the input, which
// holds secrets.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%s is %s, want %s", te.Field, te.Value, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ") + "; the members are name, secret, previousSecret, sources"
	}
	return "invalid JSON"
}

// ParseSources reads VPNGW_WEBHOOK_SECRET_SOURCES: patterns separated by
// "|" (a character no source URI has unescaped).
func ParseSources(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// validateKeys checks the named keys and the legacy secret's binding,
// naming the variable and the entry, never a secret.
func (c Config) validateKeys() []error {
	var errs []error
	if len(c.Keys) > MaxKeys {
		errs = append(errs, fmt.Errorf("%s has %d keys; at most %d (each request is checked against every key)", EnvKeys, len(c.Keys), MaxKeys))
	}
	secrets := map[string]string{} // secret -> where it is
	if c.Secret != "" {
		secrets[c.Secret] = "VPNGW_WEBHOOK_SECRET"
		if len(c.SecretSources) == 0 {
			errs = append(errs, fmt.Errorf("VPNGW_WEBHOOK_SECRET is set without %s: name the sources its holder may claim "+
				"(patterns separated by |, e.g. https://ci.example.com/*), or give each sender its own key in %s", EnvSecretSources, EnvKeys))
		}
	}
	if len(c.SecretSources) > 0 {
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("%s is set without VPNGW_WEBHOOK_SECRET: it binds that secret", EnvSecretSources))
		}
		if _, err := policy.CompilePatterns(c.SecretSources); err != nil {
			errs = append(errs, fmt.Errorf("%s%v", EnvSecretSources, err))
		}
	}
	names := map[string]int{}
	for i, k := range c.Keys {
		entry := fmt.Sprintf("%s entry %d", EnvKeys, i)
		if k.Name != "" {
			entry += fmt.Sprintf(" (%q)", k.Name)
		}
		switch {
		case !keyNameFormat().MatchString(k.Name):
			errs = append(errs, fmt.Errorf("%s: name %q: use 1 to 64 lower-case letters, digits, '.', '_' and '-', starting with a letter or digit", entry, k.Name))
		case names[k.Name] > 0:
			errs = append(errs, fmt.Errorf("%s: name %q is already used by entry %d; names must be unique", entry, k.Name, names[k.Name]-1))
		default:
			names[k.Name] = i + 1
		}
		for _, s := range []struct{ field, value string }{{"secret", k.Secret}, {"previousSecret", k.PreviousSecret}} {
			if s.value == "" && s.field == "previousSecret" {
				continue
			}
			if len(s.value) < MinSecretLength {
				errs = append(errs, fmt.Errorf("%s: %s is %d bytes; use at least %d random bytes, e.g. the output of `openssl rand -hex 32`", entry, s.field, len(s.value), MinSecretLength))
				continue
			}
			where := fmt.Sprintf("%s %s", entry, s.field)
			if other, dup := secrets[s.value]; dup {
				errs = append(errs, fmt.Errorf("%s is the same as %s: every key needs its own secret, or a request signed with it could not be told apart", where, other))
				continue
			}
			secrets[s.value] = where
		}
		if len(k.Sources) == 0 {
			errs = append(errs, fmt.Errorf(`%s: sources is empty; name the sources the key's holder may claim, e.g. ["https://ci.example.com/*"]`, entry))
		} else if _, err := policy.CompilePatterns(k.Sources); err != nil {
			errs = append(errs, fmt.Errorf("%s: sources%v", entry, err))
		}
	}
	return errs
}

// signer is one key of POST / as the handler checks it.
type signer struct {
	name    string // "" for the legacy VPNGW_WEBHOOK_SECRET
	secrets [][]byte
	sources policy.Patterns
}

// describe names the key in answers and logs.
func (s signer) describe() string {
	if s.name == "" {
		return "the key VPNGW_WEBHOOK_SECRET"
	}
	return fmt.Sprintf("the key %q", s.name)
}

// signers builds the keys of POST / from a validated Config: the named keys
// in their order, then the legacy secret.
func signers(c Config) []signer {
	var out []signer
	for _, k := range c.Keys {
		sources, _ := policy.CompilePatterns(k.Sources) // validated
		s := signer{name: k.Name, secrets: [][]byte{[]byte(k.Secret)}, sources: sources}
		if k.PreviousSecret != "" {
			s.secrets = append(s.secrets, []byte(k.PreviousSecret))
		}
		out = append(out, s)
	}
	if c.Secret != "" {
		sources, _ := policy.CompilePatterns(c.SecretSources)
		s := signer{secrets: [][]byte{[]byte(c.Secret)}, sources: sources}
		if c.PreviousSecret != "" {
			s.secrets = append(s.secrets, []byte(c.PreviousSecret))
		}
		out = append(out, s)
	}
	return out
}

// unbound lists the sources of claimed that k may not claim, each once.
func (s signer) unbound(claimed []string) []string {
	var out []string
	for _, src := range claimed {
		if src != "" && !s.sources.Match(src) && !slices.Contains(out, src) {
			out = append(out, src)
		}
	}
	return out
}
