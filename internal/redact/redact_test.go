package redact_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/redact"
)

func TestErrorMasksEveryFormAndKeepsTheChain(t *testing.T) {
	base := context.DeadlineExceeded
	err := redact.Error(errors.Join(errors.New("auth for hunter/2 (hunter%2F2) failed"), base), "hunter/2")
	if strings.Contains(err.Error(), "hunter") {
		t.Errorf("Error left the secret: %v", err)
	}
	if !errors.Is(err, base) {
		t.Error("the redacted error no longer unwraps")
	}
	plain := errors.New("nothing secret")
	if redact.Error(plain, "hunter/2") != plain {
		t.Error("Error wrapped an error without the secret")
	}
}

func TestStringMasksLongestFirstAndLeavesShortSecrets(t *testing.T) {
	cases := map[string][3]string{ // message, secret, what String makes of it
		"as written":          {"login pa55word refused", "pa55word", "login xxxxx refused"},
		"query-escaped whole": {"url a%3Ab%40c", "a:b@c", "url xxxxx"},
		"path-escaped":        {"path s3cr3t%2Fx", "s3cr3t/x", "path xxxxx"},
		"decoded":             {"user p@ss:wd", "p%40ss%3Awd", "user xxxxx"},
		"too short to mask":   {"a bad ab", "ab", "a bad ab"},
		"empty":               {"nothing", "", "nothing"},
	}
	for name, c := range cases {
		if got := redact.String(c[0], c[1]); got != c[2] {
			t.Errorf("%s: String(%q, %q) = %q, want %q", name, c[0], c[1], got, c[2])
		}
	}
}
