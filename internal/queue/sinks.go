package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
)

// SplitSinks cuts VPNGW_QUEUE_URL into its sink URLs. Sinks are separated
// by commas, but a Kafka URL lists its brokers with commas too, so a comma
// separates sinks only when a URL follows it: scheme:// or one of the
// schemes written without slashes (log:, stdout:, stderr:). Blanks around
// each URL are dropped, and so are empty entries.
func SplitSinks(raw string) []string {
	var out []string
	start := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] != ',' || !startsURL(strings.TrimLeft(raw[i+1:], " \t")) {
			continue
		}
		out = appendSink(out, raw[start:i])
		start = i + 1
	}
	return appendSink(out, raw[start:])
}

func appendSink(out []string, s string) []string {
	if s = strings.TrimRight(strings.TrimSpace(s), ", \t"); s != "" {
		out = append(out, s)
	}
	return out
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
