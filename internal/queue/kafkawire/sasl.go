package kafkawire

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SASL mechanisms NewProducer takes.
const (
	Plain        = "PLAIN"
	ScramSHA256  = "SCRAM-SHA-256"
	ScramSHA512  = "SCRAM-SHA-512"
	minScramIter = 4096 // RFC 7677: at least 4096
	// maxScramIter bounds what a broker may ask the producer to salt on
	// its only goroutine: four times the most Kafka itself lets a
	// credential have (16,384), about 0.1 s of SHA-512 here.
	maxScramIter = 65536
)

// SASL is the mechanism, user and password a connection authenticates
// with.
type SASL struct {
	Mechanism      string // Plain, ScramSHA256 or ScramSHA512
	User, Password string
}

// authenticate runs SaslHandshake v1 and then the mechanism's exchange in
// SaslAuthenticate requests. Errors never hold the password: the broker
// never sees it under SCRAM, and PLAIN's message is not echoed.
func (c *conn) authenticate(s *SASL, deadline time.Time) error {
	resp, err := c.roundTrip(keySASLHandshake, appendString(nil, s.Mechanism), deadline)
	if err != nil {
		return err
	}
	r := reader{b: resp}
	code := r.int16()
	var offered []string
	for range r.arrayLen(2) { // mechanism names
		if r.err != nil {
			break
		}
		offered = append(offered, r.string())
	}
	if r.err != nil {
		return fmt.Errorf("broker %s: SaslHandshake response: %w", c.addr, r.err)
	}
	if err := errCode(code, nil); err != nil {
		return fmt.Errorf("broker %s: SASL mechanism %s: %w; it offers %s", c.addr, s.Mechanism, err, strings.Join(offered, ", "))
	}
	step := func(msg []byte) ([]byte, error) {
		resp, err := c.roundTrip(keySASLAuthenticate, appendBytes(nil, msg), deadline)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			// Brokers that answer a failed authentication by closing the
			// connection mean the same as SASL_AUTHENTICATION_FAILED:
			// dialling again would only be refused again.
			return nil, fmt.Errorf("broker %s closed the connection during SASL %s authentication of user %q (%v): %w",
				c.addr, s.Mechanism, s.User, err, ErrSASLAuthentication)
		}
		if err != nil {
			return nil, err
		}
		r := reader{b: resp}
		code, emsg, auth := r.int16(), r.nullableString(), r.bytes()
		if r.err != nil {
			return nil, fmt.Errorf("broker %s: SaslAuthenticate response: %w", c.addr, r.err)
		}
		if err := errCode(code, emsg); err != nil {
			return nil, fmt.Errorf("broker %s: SASL %s authentication of user %q: %w", c.addr, s.Mechanism, s.User, err)
		}
		return auth, nil
	}
	if s.Mechanism == Plain {
		_, err := step([]byte("\x00" + s.User + "\x00" + s.Password))
		return err
	}
	sc, err := newScram(s.Mechanism, s.User, s.Password, "")
	if err != nil {
		return err
	}
	first, err := step(sc.clientFirst())
	if err != nil {
		return err
	}
	final, err := sc.clientFinal(first)
	if err != nil {
		return fmt.Errorf("broker %s: SASL %s: %w", c.addr, s.Mechanism, err)
	}
	last, err := step(final)
	if err != nil {
		return err
	}
	if err := sc.verifyServer(last); err != nil {
		return fmt.Errorf("broker %s: SASL %s: %w", c.addr, s.Mechanism, err)
	}
	return nil
}

// scram is the client side of one SCRAM exchange (RFC 5802, with SHA-256
// or SHA-512 as RFC 7677 names them), without channel binding.
type scram struct {
	hash        func() hash.Hash
	user, pass  string
	nonce       string
	clientBare  string // client-first-message-bare
	authMessage string
	salted      []byte
}

// newScram starts an exchange; nonce is random when empty (tests give one
// to check against the RFC's vectors).
func newScram(mechanism, user, pass, nonce string) (*scram, error) {
	s := &scram{user: user, pass: pass, nonce: nonce}
	switch mechanism {
	case ScramSHA256:
		s.hash = sha256.New
	case ScramSHA512:
		s.hash = sha512.New
	default:
		return nil, fmt.Errorf("SASL mechanism %q is not %s, %s or %s", mechanism, Plain, ScramSHA256, ScramSHA512)
	}
	if s.nonce == "" {
		s.nonce = rand.Text() // 26 base32 characters: printable, no comma
	}
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
	s.clientBare = "n=" + name + ",r=" + s.nonce
	return s, nil
}

// clientFirst is the gs2 header "n,," (no channel binding, no authzid)
// and the bare first message.
func (s *scram) clientFirst() []byte { return []byte("n,," + s.clientBare) }

// clientFinal answers the server's first message with the proof.
func (s *scram) clientFinal(serverFirst []byte) ([]byte, error) {
	var nonce, salt64, iters string
	for attr := range strings.SplitSeq(string(serverFirst), ",") {
		k, v, _ := strings.Cut(attr, "=")
		switch k {
		case "r":
			nonce = v
		case "s":
			salt64 = v
		case "i":
			iters = v
		case "e":
			return nil, fmt.Errorf("the server refused: %s", v)
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return nil, errors.New("the server's nonce does not extend ours")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return nil, errors.New("the server's salt is not base64")
	}
	n, err := strconv.Atoi(iters)
	if err != nil || n < minScramIter || n > maxScramIter {
		return nil, fmt.Errorf("the server's iteration count %q is not a number from %d to %d", iters, minScramIter, maxScramIter)
	}
	s.salted, err = pbkdf2.Key(s.hash, s.pass, salt, n, s.hash().Size())
	if err != nil {
		return nil, fmt.Errorf("salting the password: %v", err)
	}
	withoutProof := "c=biws,r=" + nonce // biws: base64 of the gs2 header "n,,"
	s.authMessage = s.clientBare + "," + string(serverFirst) + "," + withoutProof
	clientKey := s.hmac(s.salted, "Client Key")
	h := s.hash()
	h.Write(clientKey)
	signature := s.hmac(h.Sum(nil), s.authMessage)
	proof := slices.Clone(clientKey)
	subtle.XORBytes(proof, clientKey, signature)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verifyServer checks the server's final message: it proves the server
// knows the salted password too.
func (s *scram) verifyServer(serverFinal []byte) error {
	if e, ok := bytes.CutPrefix(serverFinal, []byte("e=")); ok {
		return fmt.Errorf("the server refused: %s", e)
	}
	v, ok := bytes.CutPrefix(serverFinal, []byte("v="))
	if !ok {
		return errors.New("the server's final message carries no signature")
	}
	got, err := base64.StdEncoding.DecodeString(string(v))
	want := s.hmac(s.hmac(s.salted, "Server Key"), s.authMessage)
	if err != nil || !hmac.Equal(got, want) {
		return errors.New("the server's signature does not match: it does not know this user's credentials")
	}
	return nil
}

func (s *scram) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.hash, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
