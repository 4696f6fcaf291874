package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/request"
)

// FuzzVerify feeds arbitrary headers and bodies to the three verifiers.
// None may panic, and none may accept a request unless its signature is the
// one the documented scheme gives (computed here, apart from the verifier).
func FuzzVerify(f *testing.F) {
	const secret = "fuzz-secret-0123456789"
	now := time.Unix(1_800_000_000, 0)
	skew := DefaultMaxSkew
	mac := func(msg string) []byte {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	tsMs := strconv.FormatInt(now.UnixMilli(), 10)
	body := `{"specversion":"1.0"}`
	f.Add(ts, "v1="+hex.EncodeToString(mac(ts+"."+body)), []byte(body))
	f.Add(ts, "v0="+hex.EncodeToString(mac("v0:"+ts+":"+body)), []byte(body))
	f.Add(tsMs, base64.StdEncoding.EncodeToString(mac(tsMs+"\n"+secret)), []byte(body))
	f.Add(ts, "v1=,v1=zz,v2=x,", []byte{})
	f.Add("0", "v0=", []byte{0xff})
	f.Add("99999999999999999999", "v1="+strings.Repeat("0", 64), []byte("x"))

	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		check := func(scheme string, v verified, err error, want []byte, got func() ([]byte, bool)) {
			if err != nil {
				if _, ok := err.(*authError); !ok {
					t.Fatalf("%s: error %T %v is not an *authError", scheme, err, err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("%s: error reveals the secret: %v", scheme, err)
				}
				return
			}
			g, ok := got()
			if !ok || !bytes.Equal(g, want) {
				t.Fatalf("%s accepted ts=%q sig=%q body=%q", scheme, ts, sig, body)
			}
			if v.replayKey == "" || len(v.replayKey) > 128 || v.until.Sub(now) > 2*skew+replayMargin || v.until.Sub(v.at) != skew+replayMargin || v.until.Before(now) {
				t.Fatalf("%s: verified %+v", scheme, v)
			}
		}

		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		v, err := verifyGeneric(h, body, [][]byte{[]byte(secret)}, now, skew)
		check("generic", v, err, mac(strings.TrimSpace(ts)+"."+string(body)), func() ([]byte, bool) {
			// Accepted: one of the v1 values is the MAC.
			for part := range strings.SplitSeq(sig, ",") {
				if val, ok := strings.CutPrefix(strings.TrimSpace(part), "v1="); ok {
					if b, err := hex.DecodeString(val); err == nil && bytes.Equal(b, mac(strings.TrimSpace(ts)+"."+string(body))) {
						return b, true
					}
				}
			}
			return nil, false
		})

		h = http.Header{}
		h.Set(HeaderSlackTimestamp, ts)
		h.Set(HeaderSlackSignature, sig)
		v, err = verifySlack(h, body, []byte(secret), now, skew)
		want := mac("v0:" + strings.TrimSpace(ts) + ":" + string(body))
		check("slack", v, err, want, func() ([]byte, bool) {
			b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(sig), "v0="))
			return b, err == nil
		})

		h = http.Header{}
		h.Set(HeaderDingTalkTimestamp, ts)
		h.Set(HeaderDingTalkSign, sig)
		v, err = verifyDingTalk(h, []byte(secret), now, skew)
		want = mac(strings.TrimSpace(ts) + "\n" + secret)
		check("dingtalk", v, err, want, func() ([]byte, bool) {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
			return b, err == nil
		})
	})
}

// FuzzParseCommand: the parser never panics, and whatever it accepts is a
// JSON object of API parameter names that the request decoder can read.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{
		"", "help", "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10",
		`create name="a b" tag.x=“y z” ssl=5 ipsec=on`, "check RegionId=r SslConnections=3",
		`create "`, "create =", "create tag.=", "@bot create a=b=c", "create ssl=5 SslConnections=5",
	} {
		f.Add(s)
	}
	names := map[string]bool{"Tags": true}
	for _, p := range params {
		names[p.api] = true
	}
	f.Fuzz(func(t *testing.T, text string) {
		cmd, err := parseCommand(text)
		if err != nil {
			ce, ok := err.(*commandError)
			if !ok || len(ce.problems) == 0 {
				t.Fatalf("error %T %v: want a *commandError with problems", err, err)
			}
			return
		}
		switch cmd.verb {
		case verbHelp:
			if cmd.data != nil {
				t.Fatalf("help with data %s", cmd.data)
			}
		case verbCreate, verbCheck:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(cmd.data, &m); err != nil {
				t.Fatalf("data %q is not a JSON object: %v", cmd.data, err)
			}
			for k := range m {
				if !names[k] {
					t.Fatalf("data has %q, not an API parameter", k)
				}
			}
			if _, errs := request.Decode(cmd.data); len(errs) > 0 {
				for _, fe := range errs {
					if fe.Field == request.DataField {
						t.Fatalf("the decoder cannot read %s: %+v", cmd.data, fe)
					}
				}
			}
		default:
			t.Fatalf("verb %q", cmd.verb)
		}
	})
}

// BenchmarkVerifyGeneric: the cost of authenticating a 1 KiB request.
func BenchmarkVerifyGeneric(b *testing.B) {
	secret := []byte("bench-secret-0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	body := bytes.Repeat([]byte("x"), 1024)
	ts := strconv.FormatInt(now.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, "v1="+hex.EncodeToString(m.Sum(nil)))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := verifyGeneric(h, body, [][]byte{secret}, now, DefaultMaxSkew); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseCommand: the cost of reading a typical chat command.
func BenchmarkParseCommand(b *testing.B) {
	text := `create region=cn-hangzhou vpc=vpc-bp1ub1yt9cvakoelj bandwidth=10 vswitch=vsw-bp1j5miw2bae9s2vt dr-vswitch=vsw-bp1k6miw2bae9s2vu name=dev-gw tag.owner="Net Ops"`
	for b.Loop() {
		if _, err := parseCommand(text); err != nil {
			b.Fatal(err)
		}
	}
}
