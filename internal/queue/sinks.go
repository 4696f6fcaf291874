package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
)

// SplitSinks cuts VPNGW_QUEUE_URL into its sink URLs. Sinks are separated
// by commas, but a Kafka URL lists its brokers with commas too, so a comma
// separates sinks only when a URL follows it (scheme:// or one of the
// schemes written without slashes, log:, stdout:, stderr:), or a name and
// a URL. Blanks around each URL are dropped, and so are empty entries.
// A sink may be named, name=url (see NamedSinks); SplitSinks returns the
// URLs alone.
func SplitSinks(raw string) []string {
	var out []string
	for _, k := range NamedSinks(raw) {
		out = append(out, k.URL)
	}
	return out
}

// NamedSink is one entry of VPNGW_QUEUE_URL: its URL and the name the
// operator gave it (name=url), "" when none. Policy rules route outcomes
// to sinks by these names; the name's syntax is the caller's to check.
type NamedSink struct {
	Name string
	URL  string
}

// NamedSinks cuts VPNGW_QUEUE_URL into its sinks as SplitSinks does, each
// with its name: an entry written name=url, where name holds none of
// ":/?#=," nor blanks (blanks around it are dropped), is named; any other
// entry is not.
func NamedSinks(raw string) []NamedSink {
	var out []NamedSink
	start := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] != ',' || !startsSink(strings.TrimLeft(raw[i+1:], " \t")) {
			continue
		}
		out = appendSink(out, raw[start:i])
		start = i + 1
	}
	return appendSink(out, raw[start:])
}

func appendSink(out []NamedSink, s string) []NamedSink {
	if s = strings.TrimRight(strings.TrimSpace(s), ", \t"); s != "" {
		name, rest, ok := cutName(s)
		if !ok {
			name, rest = "", s
		}
		out = append(out, NamedSink{Name: name, URL: strings.TrimSpace(rest)})
	}
	return out
}

// cutName cuts "name=" from an entry that then goes on with a URL.
func cutName(s string) (name, rest string, ok bool) {
	i := strings.IndexByte(s, '=')
	if i <= 0 {
		return "", "", false
	}
	name = strings.TrimSpace(s[:i])
	if name == "" || strings.ContainsAny(name, ":/?#=, \t") || !startsURL(strings.TrimLeft(s[i+1:], " \t")) {
		return "", "", false
	}
	return name, s[i+1:], true
}

// startsSink reports whether s begins a sink: a URL, or name= and a URL.
func startsSink(s string) bool {
	if startsURL(s) {
		return true
	}
	_, _, ok := cutName(s)
	return ok
}

// startsURL reports whether s begins with scheme:// or log:, stdout:,
// stderr:.
func startsURL(s string) bool {
	for _, opaque := range []string{"log:", "stdout:", "stderr:"} {
		if strings.HasPrefix(strings.ToLower(s), opaque) {
			return true
		}
	}
	i := strings.Index(s, "://")
	if i <= 0 {
		return false
	}
	for j, r := range s[:i] {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (j == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

// SinkName is how the store names a sink other than the first: its scheme,
// host and path (a topic, a subject prefix, a vhost), never its user,
// password or query. An HTTP sink's path may itself be a secret (a
// webhook's token), so it is named by scheme, host and a digest of the rest.
func SinkName(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" {
		sum := sha256.Sum256([]byte(raw))
		return "sink#" + hex.EncodeToString(sum[:6])
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "http" || scheme == "https" {
		sum := sha256.Sum256([]byte(u.Path + "?" + u.RawQuery))
		return scheme + "://" + u.Host + "/#" + hex.EncodeToString(sum[:6])
	}
	if u.Opaque != "" {
		return scheme + ":" + u.Opaque
	}
	return (&url.URL{Scheme: scheme, Host: u.Host, Path: u.Path}).String()
}
