package chatreply_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/store"
)

// Under a prefix with a folder, a path that a server may read as another
// place (an encoded separator, an encoded dot, a backslash, a dot-segment)
// is refused: the folder is the operator's fence.
func TestAllowRefusesDisguisedPaths(t *testing.T) {
	a := chatreply.NewAllow([]string{"http://127.0.0.1:8080/slack"})
	for _, u := range []string{
		"http://127.0.0.1:8080/slack/..%5cadmin",
		"http://127.0.0.1:8080/slack/..%5Cadmin",
		"http://127.0.0.1:8080/slack%5c..%5cadmin",
		"http://127.0.0.1:8080/slack/..%2fadmin",
		"http://127.0.0.1:8080/slack/%2e%2e/admin",
		"http://127.0.0.1:8080/slack/.%2e/admin",
		"http://127.0.0.1:8080/slack/%252e%252e/admin",
		"http://127.0.0.1:8080/slack/./commands",
		"http://127.0.0.1:8080/slack/..",
		"http://127.0.0.1:8080/slack/.",
		"https://hooks.slack.com/commands/..%5c..%5cservices/x",
	} {
		if a.Allowed(u) {
			t.Errorf("Allowed(%q) = true, want false", u)
		}
	}
	if !a.Allowed("http://127.0.0.1:8080/slack/commands/T1/2/a.b") {
		t.Error("a plain path under the folder refused")
	}
}

// VPNGW_CHAT_REPLY_ALLOW takes http:// only to this machine: a reply
// address carries a token (Slack's response_url is one), which must not
// cross a network in clear. The refusal shows no password.
func TestParsePrefixesRefusesPlainHTTPElsewhere(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:9000/", "http://localhost:9000/slack", "http://[::1]:9000/", "https://proxy.internal/slack"} {
		if _, err := chatreply.ParsePrefixes(ok); err != nil {
			t.Errorf("ParsePrefixes(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"http://proxy.internal/slack", "http://10.0.0.8:8080/", "https://127.0.0.1/,http://hooks.example/x", "http://u:pw-secret@proxy.internal/", "ftp://pw-secret.example/"} {
		_, err := chatreply.ParsePrefixes(bad)
		if err == nil {
			t.Errorf("ParsePrefixes(%q) = nil, want a refusal", bad)
			continue
		}
		if strings.Contains(err.Error(), "pw-secret") {
			t.Errorf("ParsePrefixes(%q): %v shows the password", bad, err)
		}
	}
	if a := chatreply.NewAllow([]string{"http://proxy.internal/"}); a.Allowed("http://proxy.internal/commands/1") {
		t.Error("NewAllow allowed http:// to another machine")
	}
}

// failing is a transport that never answers.
type failing struct{}

func (failing) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection reset by peer")
}

// A post that gets no answer is retried with an error that names the
// reply address by scheme and host alone, however the address is written.
func TestReplyErrorShowsSchemeAndHostOnly(t *testing.T) {
	for _, u := range []string{
		"https://hooks.slack.com/commands/T1/2/tok-secret",
		"HTTPS://hooks.slack.com/commands/T1/2/tok-secret",
		"https://HOOKS.slack.com/commands/T1/2/tok-secret?x=tok-secret",
		"https://hooks.slack.com/commands/T1/2/tok%2Dsecret",
	} {
		st := &replies{m: map[string]store.ChatReply{"k": {RequestKey: "k", Platform: store.PlatformSlack, URL: u, ExpiresAt: time.Now().Add(time.Hour), CreatedAt: time.Now()}}}
		p := chatreply.New(st, chatreply.Config{Allow: chatreply.NewAllow(nil), Client: &http.Client{Transport: failing{}}})
		err := p.Publish(context.Background(), active(t, "k", "vpn-1"))
		if err == nil {
			t.Fatalf("%s: a post with no answer delivered", u)
		}
		if msg := err.Error(); strings.Contains(msg, "tok") || strings.Contains(msg, "commands") || !strings.Contains(strings.ToLower(msg), "https://hooks.slack.com") {
			t.Errorf("%s: error %q: want scheme and host only", u, msg)
		}
	}
}
