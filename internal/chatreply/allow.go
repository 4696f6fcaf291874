package chatreply

import (
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
// prefixes; ok is false, with the first bad one, if one is not.
func ParsePrefixes(v string) (prefixes []string, bad string, ok bool) {
	for p := range strings.SplitSeq(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, good := parsePrefix(p); !good {
			return nil, p, false
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, "", true
}

func parsePrefix(p string) (*url.URL, bool) {
	u, err := url.Parse(p)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
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
	if err != nil || u.User != nil || u.Host == "" || u.Fragment != "" || strings.Contains(u.Path, "/../") || strings.HasSuffix(u.Path, "/..") {
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
