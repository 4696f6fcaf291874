package request

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
)

func TestIdentityKey(t *testing.T) {
	a := Identity{Source: "/ops/portal", EventID: "42", Subject: "one"}
	if again := (Identity{Source: "/ops/portal", EventID: "42", Subject: "one"}); a.Key() != again.Key() {
		t.Fatal("Key is not stable")
	}
	if len(a.Key()) != 40 {
		t.Errorf("Key is %d characters, want 40", len(a.Key()))
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(a.Key()) {
		t.Errorf("Key %q is not lower-case hex", a.Key())
	}
	// The subject is not part of the key: a redelivery may rename it.
	if b := (Identity{Source: a.Source, EventID: a.EventID, Subject: "other"}); b.Key() != a.Key() {
		t.Error("Key depends on Subject")
	}
	// Golden: the key is stored and must not change between releases.
	if got, want := (Identity{Source: "/vpngw/demo", EventID: "demo-0001"}).Key(), "1ce8311f92f35b638e78862f2dd03f6a15979e0d"; got != want {
		t.Errorf("Key = %s, want %s", got, want)
	}
	different := []Identity{
		{Source: "/ops/portal", EventID: "43"},
		{Source: "/ops/portal2", EventID: "42"},
		{Source: "a", EventID: "bc"},
		{Source: "ab", EventID: "c"},
		{Source: "a:b", EventID: "c"},
		{Source: "a", EventID: "b:c"},
	}
	seen := map[string]Identity{a.Key(): a}
	for _, id := range different {
		if prev, dup := seen[id.Key()]; dup {
			t.Errorf("%+v and %+v share key %s", prev, id, id.Key())
		}
		seen[id.Key()] = id
	}
}

func TestIdentityRef(t *testing.T) {
	id := Identity{Source: "/s", EventID: "1", Subject: "sub"}
	if got := id.Ref(); got != (events.RequestRef{Source: "/s", EventID: "1", Subject: "sub"}) {
		t.Errorf("Ref = %+v", got)
	}
}

func TestClientToken(t *testing.T) {
	id := Identity{Source: "/ops/portal", EventID: "42"}
	own := events.GatewayRequest{ClientToken: "order-7"}
	mine := ClientToken(id, "", own)
	if mine == "order-7" || !strings.HasPrefix(mine, "vpngw-t-") || len(mine) != 48 {
		t.Errorf("own token %q sent as %q, want vpngw-t- and 40 hex digits", own.ClientToken, mine)
	}
	// Stable across the requester's own retries: new events, same source.
	if again := ClientToken(Identity{Source: id.Source, EventID: "retry-of-42"}, "", own); again != mine {
		t.Errorf("own token gives %q for a retry, %q the first time", again, mine)
	}
	// Another source giving the same token gets another API token.
	if other := ClientToken(Identity{Source: "/other", EventID: "42"}, "", own); other == mine {
		t.Error("two sources giving one token share the API token")
	}
	// Another principal of the same source (webhook key, chat user) giving
	// the same token gets another API token; one principal's retries keep
	// one; a bus requester keeps the token it had before principals counted.
	chat := ClientToken(id, "slack/U0CHATUSER1", own)
	if chat == mine || chat == ClientToken(id, "slack/U0ATTACKER", own) {
		t.Error("two principals of one source giving one token share the API token")
	}
	if again := ClientToken(Identity{Source: id.Source, EventID: "retry"}, "slack/U0CHATUSER1", own); again != chat {
		t.Errorf("a principal's retry gives %q, %q the first time", again, chat)
	}
	if ClientToken(Identity{Source: "a"}, "bc", own) == ClientToken(Identity{Source: "ab"}, "c", own) {
		t.Error("source and principal run together")
	}
	if got, want := ClientToken(Identity{Source: "/ops/portal"}, "", own), "vpngw-t-"; !strings.HasPrefix(got, want) || got != mine {
		t.Errorf("bus token %q changed (was %q)", got, mine)
	}
	// Apart from the derived ones, whatever the given token.
	for _, tok := range []string{"x", "vpngw-x", ClientToken(id, "", events.GatewayRequest{})} {
		if got := ClientToken(id, "", events.GatewayRequest{ClientToken: tok}); got == ClientToken(id, "", events.GatewayRequest{}) {
			t.Errorf("given token %q sent as the derived token %q", tok, got)
		}
	}
	if errs := Validate(events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-a1", Bandwidth: ptrTo(5), ClientToken: "x"}); errs != nil {
		t.Fatalf("sanity: %s", dump(errs))
	}
	derived := ClientToken(id, "", events.GatewayRequest{})
	if derived != ClientToken(id, "", events.GatewayRequest{Name: "other parameters"}) {
		t.Error("derived token depends on the parameters; a redelivery must send the same token")
	}
	if derived != ClientToken(Identity{Source: id.Source, EventID: id.EventID, Subject: "renamed"}, "", events.GatewayRequest{}) {
		t.Error("derived token depends on Subject")
	}
	if derived == ClientToken(Identity{Source: id.Source, EventID: "43"}, "", events.GatewayRequest{}) {
		t.Error("two events share a derived token")
	}
	if len(derived) > MaxClientTokenLength || nonASCII(derived) >= 0 {
		t.Errorf("derived token %q breaks the API's rules", derived)
	}
	// Both kinds are within the API's rules (ASCII, at most 64).
	for _, tok := range []string{derived, mine} {
		if len(tok) > MaxClientTokenLength || nonASCII(tok) >= 0 || controlChar(tok) >= 0 {
			t.Errorf("token %q breaks the API's rules", tok)
		}
	}
	// A request may not send a token of the derived kind itself.
	r := events.GatewayRequest{RegionId: "me-central-1", VpcId: "vpc-a1", Bandwidth: ptrTo(5), ClientToken: derived}
	if errs := Validate(r); len(errs) != 1 || errs[0].Field != "ClientToken" {
		t.Errorf("derived token given by a request: %s, want one ClientToken error", dump(errs))
	}
	if got, want := ClientToken(Identity{Source: "/vpngw/demo", EventID: "demo-0001"}, "", events.GatewayRequest{}), "vpngw-1ce8311f92f35b638e78862f2dd03f6a"; got != want {
		t.Errorf("derived token = %s, want %s (the validated sample shows it)", got, want)
	}
}

func TestIdentityCheck(t *testing.T) {
	ok := []Identity{
		{Source: "/ops/portal", EventID: "42"},
		{Source: strings.Repeat("网", MaxIdentityLength), EventID: strings.Repeat("\U0001F600", MaxIdentityLength), Subject: strings.Repeat("s", MaxIdentityLength)},
		{Source: "acs:eventbridge:cn-hangzhou:123:/custom/vpngw", EventID: "45ef4dew-7c35-447a", Subject: "ticket #7 – ünïcode"},
	}
	for _, id := range ok {
		if errs := id.Check(); errs != nil {
			t.Errorf("Check(%.40q) = %s, want none", id.Source, dump(errs))
		}
	}
	bad := []struct {
		id    Identity
		field string
		says  string
	}{
		{Identity{Source: "/s", EventID: "a\x00b"}, "id", "control character U+0000"},
		{Identity{Source: "/s\n", EventID: "1"}, "source", "control character U+000A"},
		{Identity{Source: "/s", EventID: "1", Subject: "x\u0085"}, "subject", "control character U+0085"},
		{Identity{Source: "/s", EventID: "1\x7f"}, "id", "U+007F"},
		{Identity{Source: strings.Repeat("s", MaxIdentityLength+1), EventID: "1"}, "source", "1025 characters long; at most 1024"},
		{Identity{Source: "/s", EventID: strings.Repeat("\U0001F600", MaxIdentityLength+1)}, "id", "1025 characters long"},
		{Identity{Source: "/s\xff", EventID: "1"}, "source", "not valid UTF-8"},
	}
	for _, tc := range bad {
		errs := tc.id.Check()
		if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Message, tc.says) || errs[0].Allowed == "" {
			t.Errorf("Check(%+.40q) = %s, want one error on %s saying %q", tc.id.Source+"|"+tc.id.EventID, dump(errs), tc.field, tc.says)
		}
		for _, e := range errs {
			if len(e.Value) > 4*maxValueRunes+8 {
				t.Errorf("Value of %d bytes: not clipped", len(e.Value))
			}
		}
	}
}
