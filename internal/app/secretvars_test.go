package app

import (
	"context"
	"strings"
	"testing"
)

// mapSource is a secret store held in memory, for the URL rules below; the
// stores themselves are tested against their stand-ins in internal/secrets.
type mapSource map[string]string

func (m mapSource) Get(_ context.Context, name string) (string, error) { return m[name], nil }

func TestStorePasswordFromASecretGoesIntoTheURLOnly(t *testing.T) {
	const pass = "SECRETpw-7f3e/9b@2d"
	cases := []struct {
		name, url, want, err string
	}{
		{"a user without password", "postgres://vpngw@db:5432/vpngw?sslmode=verify-full", "postgres://vpngw:SECRETpw-7f3e%2F9b%402d@db:5432/vpngw?sslmode=verify-full", ""},
		{"a password inline too", "postgres://vpngw:inline@db:5432/vpngw", "", "VPNGW_STORE_URL carries a password and VPNGW_STORE_PASSWORD_SECRET names one"},
		{"no user", "postgres://db:5432/vpngw", "", "VPNGW_STORE_URL names no user"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"VPNGW_STORE_URL": c.url, "VPNGW_STORE_PASSWORD_SECRET": "vpngw/shared/store"}
			getenv := func(k string) string { return env[k] }
			src := mapSource{"vpngw/shared/store": pass}
			vals, err := src.resolve(getenv)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				if strings.Contains(err.Error(), pass) {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := vals("VPNGW_STORE_URL"); got != c.want {
				t.Errorf("VPNGW_STORE_URL = %q, want %q", got, c.want)
			}
			if env["VPNGW_STORE_URL"] != c.url {
				t.Errorf("the environment was changed")
			}
		})
	}
}

// resolve runs the resolution with m as the secret store.
func (m mapSource) resolve(getenv func(string) string) (func(string) string, error) {
	vals, err := resolveWith(context.Background(), getenv, SecretVars, m)
	return vals, err
}
