package chatreply

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// PlatformPrefixes are the URL prefixes a reply address may start with
// whatever the operator allows: Slack's response_url and Web API hosts and
// DingTalk's API hosts.
var PlatformPrefixes = []string{
	"https://hooks.slack.com/",
	"https://slack.com/api/",
	"https://oapi.dingtalk.com/",
	"https://api.dingtalk.com/",
}

// Allow decides which reply addresses vpngw calls.
type Allow struct{ prefixes []*url.URL }

// NewAllow allows PlatformPrefixes and extra (VPNGW_CHAT_REPLY_ALLOW). A
// prefix that is no absolute http(s) URL is left out; ParsePrefixes checks
// them first.
func NewAllow(extra []string) Allow {
	var a Allow
	for _, p := range append(append([]string(nil), PlatformPrefixes...), extra...) {
		if u, ok := parsePrefix(p); ok {
			a.prefixes = append(a.prefixes, u)
		}
	}
	return a
}

// ParsePrefixes reads VPNGW_CHAT_REPLY_ALLOW: comma-separated http(s) URL
// prefixes, http:// only to this machine (a reply address carries a token:
// a Slack response_url is one). The error names the prefix by its place
// and, when it parses, its scheme and host: never its user or password.
func ParsePrefixes(v string) ([]string, error) {
	var prefixes []string
	n := 0
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n++
		u, good := parsePrefix(p)
		if !good {
			return nil, fmt.Errorf("prefix %d is not an http(s) URL prefix: want scheme, host and an optional path, with no user, query or fragment", n)
		}
		if u.Scheme == "http" && !LoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("prefix %d is http://%s, in clear to another machine: want https://, or http:// to this machine only (127.0.0.1, ::1, localhost), since a reply address carries a token", n, u.Host)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

// LoopbackHost reports whether host (without port) names this machine.
func LoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parsePrefix(p string) (*url.URL, bool) {
	u, err := url.Parse(p)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, false
	}
	if u.Scheme == "http" && !LoopbackHost(u.Hostname()) {
		return nil, false
	}
	if !strings.HasSuffix(u.Path, "/") {
		// A prefix names a host, or a folder of it: never a longer host
		// name or a sibling path that happens to start alike.
		u.Path += "/"
	}
	return u, true
}

// Allowed says whether raw may be called: an absolute URL, without user
// or password, on an allowed prefix's scheme and host and under its path.
func (a Allow) Allowed(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Host == "" || u.Fragment != "" || disguised(u) {
		return false
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	for _, p := range a.prefixes {
		if strings.EqualFold(u.Scheme, p.Scheme) && strings.EqualFold(u.Host, p.Host) && strings.HasPrefix(path, p.Path) {
			return true
		}
	}
	return false
}

// disguised reports whether u's path could be read by a server, a proxy or
// a framework as another place than it says: a dot-segment, a backslash,
// an encoded separator or dot (%2f, %5c, %2e), or a '%' left after
// decoding (a second layer of encoding). No platform's reply address has
// any of them.
func disguised(u *url.URL) bool {
	if strings.ContainsAny(u.Path, "\\%") {
		return true
	}
	esc := strings.ToLower(u.EscapedPath())
	for _, enc := range []string{"%2f", "%5c", "%2e"} {
		if strings.Contains(esc, enc) {
			return true
		}
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
