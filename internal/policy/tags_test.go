package policy_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/request"
)

func TestIdentityTags(t *testing.T) {
	long := strings.Repeat("a", 200)
	cases := []struct {
		name                       string
		source, eventID, principal string
		want                       []string // values, in order
	}{
		{name: "plain values kept", source: "/vpngw/webhook/chat", eventID: "evt-42", principal: "chatops-bot/U024BE7LH",
			want: []string{"/vpngw/webhook/chat", "evt-42", "chatops-bot/U024BE7LH"}},
		{name: "URL scheme defused", source: "https://tickets.example.com/queue/7", eventID: "1", principal: "http://x/https://y",
			want: []string{"https:/tickets.example.com/queue/7", "1", "http:/x/https:/y"}},
		{name: "extra slashes after a scheme do not bring it back", source: "http:///x", eventID: "HTTPS:////y", principal: "a://b:///c",
			want: []string{"http:/x", "HTTPS:/y", "a:/b:/c"}},
		{name: "reserved prefix escaped in any case", source: "ACS:bus", eventID: "e", principal: "ALIYUN",
			want: []string{"_ACS:bus", "e", "_ALIYUN"}},
		{name: "reserved prefix escaped", source: "acs:aliyuncvc", eventID: "45ef4dew-7c35-447a", principal: "Aliyun-bot",
			want: []string{"_acs:aliyuncvc", "45ef4dew-7c35-447a", "_Aliyun-bot"}},
		{name: "empty requester allowed", source: "/s", eventID: "e", principal: "",
			want: []string{"/s", "e", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tags := policy.IdentityTags(tc.source, tc.eventID, tc.principal)
			keys := []string{policy.TagSource, policy.TagEventID, policy.TagRequester}
			if len(tags) != len(keys) {
				t.Fatalf("%d tags, want %d", len(tags), len(keys))
			}
			for i, tag := range tags {
				if tag.Key != keys[i] || tag.Value != tc.want[i] {
					t.Errorf("tag %d = %+v, want %s=%q", i, tag, keys[i], tc.want[i])
				}
			}
			assertValidTags(t, tags)
		})
	}

	t.Run("long values cut deterministically and kept apart", func(t *testing.T) {
		a := policy.IdentityTags(long+"x", long+"1", "p")
		b := policy.IdentityTags(long+"y", long+"2", "p")
		again := policy.IdentityTags(long+"x", long+"1", "p")
		for i := range 2 {
			if n := utf8.RuneCountInString(a[i].Value); n != request.MaxTagValueLength {
				t.Errorf("value %d has %d characters, want %d", i, n, request.MaxTagValueLength)
			}
			if a[i].Value == b[i].Value {
				t.Errorf("values %d of different inputs collide: %q", i, a[i].Value)
			}
			if a[i] != again[i] {
				t.Errorf("value %d not deterministic: %q vs %q", i, a[i].Value, again[i].Value)
			}
			if !strings.HasPrefix(a[i].Value, strings.Repeat("a", 100)) {
				t.Errorf("value %d lost its readable beginning: %q", i, a[i].Value)
			}
		}
		assertValidTags(t, a)
	})

	t.Run("multi-byte values counted in characters", func(t *testing.T) {
		v := strings.Repeat("网关", 100) // 200 characters, 600 bytes
		tags := policy.IdentityTags(v, "e", "p")
		if n := utf8.RuneCountInString(tags[0].Value); n != request.MaxTagValueLength || !utf8.ValidString(tags[0].Value) {
			t.Errorf("got %d characters, valid UTF-8 %v", n, utf8.ValidString(tags[0].Value))
		}
	})
}

// assertValidTags checks tags with the request validator: what vpngw adds
// must never be what the API refuses.
func assertValidTags(t *testing.T, tags []events.Tag) {
	t.Helper()
	r := events.GatewayRequest{RegionId: "cn-qingdao", VpcId: "vpc-m5e1", Bandwidth: ptr(5),
		VSwitchId: "vsw-m5ea", DisasterRecoveryVSwitchId: "vsw-m5eb", Tags: tags}
	if errs := request.Validate(r); errs != nil {
		t.Errorf("identity tags %+v refused: %+v", tags, errs)
	}
}

func TestRequesterNames(t *testing.T) {
	cases := []struct {
		who       policy.Requester
		principal string
		str       string
	}{
		{policy.Requester{Source: "/s"}, "/s", `source "/s"`},
		{policy.Requester{Source: "/s", Caller: "bot"}, "bot", `source "/s", caller "bot"`},
		{policy.Requester{Source: "/s", Caller: "bot", ChatUser: "U1"}, "bot/U1", `source "/s", caller "bot", chat user "U1"`},
		{policy.Requester{Source: "/s", ChatUser: "U1"}, "U1", `source "/s", chat user "U1"`},
	}
	for _, tc := range cases {
		if got := tc.who.Principal(); got != tc.principal {
			t.Errorf("%+v.Principal() = %q, want %q", tc.who, got, tc.principal)
		}
		if got := tc.who.String(); got != tc.str {
			t.Errorf("%+v.String() = %q, want %q", tc.who, got, tc.str)
		}
	}
}

// TestPatterns pins the pattern semantics docs/POLICY.md documents: globs and
// regular expressions both match the whole value, case-sensitively.
func TestPatterns(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"vpc-bp1*", []string{"vpc-bp1", "vpc-bp1abc"}, []string{"vpc-bp2abc", "xvpc-bp1a", "VPC-BP1A"}},
		{"https://t.example.com/*", []string{"https://t.example.com/", "https://t.example.com/a/b"}, []string{"https://t.example.com", "https://t-example.com/a"}},
		{"tkt-????", []string{"tkt-4711"}, []string{"tkt-471", "tkt-47111"}},
		{"cn-hangzhou", []string{"cn-hangzhou"}, []string{"cn-hangzhou-1", "CN-HANGZHOU"}},
		{"a.b+c", []string{"a.b+c"}, []string{"axb+c", "a.bbc"}},
		{"regex:vpc-uf6[a-z0-9]+", []string{"vpc-uf6a1"}, []string{"vpc-uf6", "xvpc-uf6a1", "vpc-uf6a1-x"}},
		{"regex:^U[0-9A-Z]{8,}$", []string{"U024BE7LH"}, []string{"U024", "alice"}},
	}
	for _, tc := range cases {
		yaml := "version: 1\nrules:\n  - name: r\n    match: {source: \"*\"}\n    regions: [\"*\"]\n    vpcs: [\"*\"]\n" +
			"    maxBandwidth: 5\n    chargeTypes: [POSTPAY]\n    namePattern: " + quote(tc.pattern) + "\n"
		p, err := policy.Parse("t.yaml", []byte(yaml))
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		decide := func(name string) bool {
			r := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-1", Bandwidth: ptr(5), InstanceChargeType: "POSTPAY", Name: name}
			d, err := p.Decide(policy.Requester{Source: "/s"}, r)
			if err != nil {
				t.Fatal(err)
			}
			return d.Allowed
		}
		for _, s := range tc.match {
			if !decide(s) {
				t.Errorf("%q does not match %q", tc.pattern, s)
			}
		}
		for _, s := range tc.miss {
			if decide(s) {
				t.Errorf("%q matches %q", tc.pattern, s)
			}
		}
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }

func TestIsReservedTagKey(t *testing.T) {
	reserved := []string{
		"vpngw:source", "VPNGW:x", "vpngw:", "vpngw\uff1a", "vpngw\ufe55x", "vpngw\ufe13x", "vpngw\ua789x", "vpngw\u2236x",
		"vpngw\u02d0x", "vpngw\u0589x", "v\u0440ngw:x", "V\u0420NGW:x", "\u03bdpngw:x", "\u0475pngw:x", "vp\u0578gw:x",
		"vpn\u0261w:x", "vpn\u0581w:x", "vpng\u051d:x", "vpng\u0461:x", "vpng\u0561:x", "\u200bvpngw:x", "vp\u200dngw:x",
		"vpngw\u00ad:x", "\ufeffvpngw:x", "vpngw\ufe0f:x", "\uff56\uff50\uff4e\uff47\uff57\uff1ax", "\u1e7fpngw:x",
		"v\u0323pngw:x", " vpngw:x", "\tvpngw:x", "vpngw :x", "\x00vpngw:x", "\u1d20png\u1d21:x",
		"\U0001d42f\U0001d429\U0001d427\U0001d420\U0001d430:x", "\u2174pngw:x",
	}
	for _, k := range reserved {
		if !policy.IsReservedTagKey(k) {
			t.Errorf("IsReservedTagKey(%+q) = false, want true", k)
		}
	}
	free := []string{"", "vpngw", "vpn:gw", "vpngwx:", "xvpngw:", "vpngw-source", "vpngw/x", "vpngw.x", "网关:x", "vpn网关:x", "Owner"}
	for _, k := range free {
		if policy.IsReservedTagKey(k) {
			t.Errorf("IsReservedTagKey(%+q) = true, want false", k)
		}
	}
}

// FuzzIdentityTagValues: whatever a source, id or requester holds, the
// identity tags are ones the tag service accepts.
func FuzzIdentityTagValues(f *testing.F) {
	for _, s := range []string{"http:///x", "hTTps:////x", ":////", "acs:x", "ALIYUN", "a://b", strings.Repeat("网", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, tag := range policy.IdentityTags(v, v, v) {
			lower := strings.ToLower(tag.Value)
			if utf8.RuneCountInString(tag.Value) > request.MaxTagValueLength || strings.Contains(lower, "http://") ||
				strings.Contains(lower, "https://") || strings.HasPrefix(lower, "aliyun") || strings.HasPrefix(lower, "acs:") {
				t.Fatalf("IdentityTags(%q) gives the value %q, which the tag service refuses", v, tag.Value)
			}
		}
	})
}

func TestTokenIdentityTags(t *testing.T) {
	tags := policy.TokenIdentityTags("/s", "http:///ticket-1", "bot")
	want := []events.Tag{{Key: policy.TagSource, Value: "/s"}, {Key: policy.TagClientToken, Value: "http:/ticket-1"}, {Key: policy.TagRequester, Value: "bot"}}
	if len(tags) != len(want) {
		t.Fatalf("%d tags, want %d", len(tags), len(want))
	}
	for i := range want {
		if tags[i] != want[i] {
			t.Errorf("tag %d = %+v, want %+v", i, tags[i], want[i])
		}
	}
	assertValidTags(t, tags)
}
