package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/store"
)

// A request may not carry a tag that passes for one of the identity tags
// vpngw adds: not in another case, not with a look-alike colon or letter,
// not with invisible characters in it. Each is refused by the policy through
// the HTTP intake, and the API never hears of it.
func TestForgedIdentityTagsAreRefused(t *testing.T) {
	s := newStack(t)
	srv := s.intakeServer()
	keys := map[string]string{
		"upper case":                 "VPNGW:source",
		"mixed case":                 "VpnGw:requester",
		"full-width colon U+FF1A":    "vpngw\uff1asource",
		"small colon U+FE55":         "vpngw\ufe55source",
		"modifier letter colon":      "vpngw\ua789source",
		"ratio U+2236":               "vpngw\u2236event-id",
		"Cyrillic er for p":          "v\u0440ngw:source",
		"Greek nu for v":             "\u03bdpngw:source",
		"Armenian vo for n":          "vp\u0578gw:source",
		"Cyrillic we for w":          "vpng\u051d:source",
		"script g U+0261":            "vpn\u0261w:source",
		"zero-width space":           "vpn\u200bgw:source",
		"soft hyphen":                "vp\u00adngw:source",
		"byte order mark first":      "\ufeffvpngw:source",
		"full-width letters (NFKC)":  "\uff56\uff50\uff4e\uff47\uff57:source",
		"combining mark on v":        "v\u0323pngw:source",
		"leading space":              " vpngw:source",
		"mathematical bold (NFKC)":   "\U0001d42f\U0001d429\U0001d427\U0001d420\U0001d430:source",
		"small capital V and W":      "\u1d20png\u1d21:source",
		"Cyrillic capital ER, upper": "VРNGW:SOURCE",
	}
	i := 0
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			i++
			d := validData()
			d["Tags"] = []map[string]string{{"Key": key, "Value": "forged"}}
			status, out, raw := postStructured(t, srv, requestEvent("forge-"+strings.Repeat("x", i), d))
			if status != http.StatusBadRequest || len(out.Results) != 1 {
				t.Fatalf("key %q: HTTP %d %s, want 400", key, status, raw)
			}
			r := out.Results[0]
			if r.State != store.Failed || r.Code != events.CodePolicyDenied {
				t.Fatalf("key %q: %+v, want failed PolicyDenied", key, r)
			}
			named := false
			for _, e := range r.Errors {
				named = named || (e.Field == "Tags[0].Key" && strings.Contains(e.Message, policy.IdentityTagPrefix))
			}
			if !named {
				t.Fatalf("key %q: errors %+v do not name Tags[0].Key and the reserved prefix", key, r.Errors)
			}
		})
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 0 {
		t.Fatalf("%d CreateVpnGateway calls for forged identity tags, want 0", n)
	}

	// Keys that only resemble the prefix in part are a requester's own.
	for i, key := range []string{"vpngw", "vpn:source", "vpngwx:source", "my-vpngw:source", "网关:source"} {
		d := validData()
		d["Tags"] = []map[string]string{{"Key": key, "Value": "mine"}}
		status, _, raw := postStructured(t, srv, requestEvent("own-"+strings.Repeat("y", i+1), d))
		if status != http.StatusAccepted {
			t.Fatalf("key %q: HTTP %d %s, want 202", key, status, raw)
		}
	}
}

// The identity tags' values are made acceptable to the tag service whatever
// the source, id and requester hold: a source with a URL scheme in any case
// and any number of slashes, or a reserved prefix, still creates its gateway.
func TestIdentityTagValuesAreAcceptedByTheTagService(t *testing.T) {
	s := newStack(t)
	srv := s.intakeServer()
	sources := []string{
		"http:///x",
		"https:////x",
		"HTTP:///x",
		"hTtPs:///x/http:///y",
		"x:http:////y",
		"acs:eventbridge:tickets",
		"ALIYUN:bus",
		"Acs:bus",
		"http:" + strings.Repeat("/", 300),
	}
	for i, src := range sources {
		status, out, raw := postStructured(t, srv, eventFrom(src, "tagval-"+strings.Repeat("z", i+1), validData()))
		if status != http.StatusAccepted || len(out.Results) != 1 || out.Results[0].VpnGatewayId == "" {
			t.Fatalf("source %q: HTTP %d %s, want 202 with a gateway", src, status, raw)
		}
		g, err := s.API.Gateway(out.Results[0].VpnGatewayId)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, tag := range g.Tags {
			if tag.Key == policy.TagSource {
				found = true
				lower := strings.ToLower(tag.Value)
				if strings.Contains(lower, "http://") || strings.Contains(lower, "https://") ||
					strings.HasPrefix(lower, "aliyun") || strings.HasPrefix(lower, "acs:") {
					t.Errorf("source %q: tag value %q is one the tag service refuses", src, tag.Value)
				}
			}
		}
		if !found {
			t.Errorf("source %q: gateway has no %s tag: %+v", src, policy.TagSource, g.Tags)
		}
	}
}
