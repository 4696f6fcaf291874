package kafkawire

import (
	"strings"
	"testing"
)

// The SCRAM-SHA-256 example exchange of RFC 7677, section 3.
func TestScramSHA256RFC7677Exchange(t *testing.T) {
	s, err := newScram(ScramSHA256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(s.clientFirst()), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"; got != want {
		t.Fatalf("client-first %q, want %q", got, want)
	}
	final, err := s.clientFinal([]byte("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(final), "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="; got != want {
		t.Fatalf("client-final %q, want %q", got, want)
	}
	if err := s.verifyServer([]byte("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); err != nil {
		t.Fatalf("the RFC's server signature: %v", err)
	}
	if err := s.verifyServer([]byte("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); err == nil {
		t.Fatal("a wrong server signature was accepted")
	}
}

// What a server may not do: shorten or replace our nonce, send too few
// iterations, or refuse; a user name's '=' and ',' are escaped.
func TestScramRefusesBadServerFirst(t *testing.T) {
	for name, c := range map[string]struct{ first, want string }{
		"other nonce":    {"r=zzz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"},
		"same nonce":     {"r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", "nonce"},
		"few iterations": {"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1024", "iteration"},
		// A broker's count is salted on the producer's only goroutine,
		// which neither the dial timeout nor Close interrupts.
		"too many iterations": {"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647", "iteration"},
		"bad salt":            {"r=abcdef,s=***,i=4096", "salt"},
		"server error":        {"e=unknown-user", "unknown-user"},
	} {
		s, err := newScram(ScramSHA512, "u=1,x", "secret-pass", "abc")
		if err != nil {
			t.Fatal(err)
		}
		if got := string(s.clientFirst()); got != "n,,n=u=3D1=2Cx,r=abc" {
			t.Fatalf("client-first %q: user not escaped", got)
		}
		_, err = s.clientFinal([]byte(c.first))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret-pass") {
			t.Errorf("%s: got %v, want an error about %s without the password", name, err, c.want)
		}
	}
}
