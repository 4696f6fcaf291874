package app

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
)

// insecureHint ends every transport refusal: the one way to turn the check
// off, said so that nobody mistakes it for a production setting.
const insecureHint = "(VPNGW_ALLOW_INSECURE_TRANSPORT=1 allows it, for tests and experiments only)"

// checkTransport refuses, for a function, every connection that would leave
// the instance without TLS that verifies the server: a store, broker or API
// endpoint reached in plaintext, or over TLS that accepts any certificate.
// Errors name the variable, what it says (never its password) and what is
// allowed.
func checkTransport(c Config) []error {
	var errs []error
	if err := checkStoreTransport(c.StoreURL, c.CAFile != ""); err != nil {
		errs = append(errs, fmt.Errorf("VPNGW_STORE_URL: %w %s", err, insecureHint))
	}
	for _, sink := range queue.SplitSinks(c.QueueURL) {
		if err := checkQueueTransport(sink); err != nil {
			errs = append(errs, fmt.Errorf("VPNGW_QUEUE_URL: %w %s", err, insecureHint))
		}
	}
	if err := checkEndpointTransport(c.VPCEndpoint); err != nil {
		errs = append(errs, fmt.Errorf("VPNGW_VPC_ENDPOINT: %w %s", err, insecureHint))
	}
	return errs
}

// where names a URL's scheme, host and path: never its user, password or
// query (which may carry a password too).
func where(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

func checkStoreTransport(raw string, caFile bool) error {
	if raw == "" {
		return nil
	}
	scheme, _, _ := strings.Cut(raw, ":")
	switch strings.ToLower(scheme) {
	case "sqlite":
		// A file in the instance: nothing crosses the network.
		return nil
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil {
			return errors.New("not a URL")
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return fmt.Errorf("%s: query does not parse: want key=value pairs joined by &", where(u))
		}
		if err := singleTLSKeys(q, where(u), "sslmode", "sslrootcert", "ssl", "sslnegotiation"); err != nil {
			return err
		}
		if _, alias := q["ssl"]; alias {
			return fmt.Errorf("%s has ssl=%q, pgx's alias for sslmode=require, which does not verify the server: want sslmode=verify-full, or sslmode=require with a CA (sslrootcert=/path/ca.pem, or VPNGW_CA_FILE)", where(u), q.Get("ssl"))
		}
		mode, root := q.Get("sslmode"), q.Get("sslrootcert")
		switch {
		case root == "system":
			// pgx verifies the full chain and the host name against the
			// system's roots whatever sslmode says.
			return nil
		case mode == "verify-full":
			return nil
		case (mode == "require" || mode == "verify-ca") && (root != "" || caFile):
			return nil
		}
		shown := fmt.Sprintf("sslmode=%q", mode)
		if mode == "" {
			shown = "no sslmode (libpq's default, prefer, falls back to plaintext)"
		}
		return fmt.Errorf("%s has %s, which does not verify the server: want sslmode=verify-full, or sslmode=require with a CA (sslrootcert=/path/ca.pem, or VPNGW_CA_FILE)", where(u), shown)
	case "mysql":
		tlsParam, shownAt := mysqlTLSParam(raw)
		if q, err := mysqlQuery(raw); err != nil {
			return fmt.Errorf("mysql %s: query does not parse: want key=value pairs joined by &", shownAt)
		} else if err := singleTLSKeys(q, "mysql "+shownAt, "tls", "allowFallbackToPlaintext", "allowCleartextPasswords"); err != nil {
			return err
		}
		if b, err := strconv.ParseBool(tlsParam); err == nil && b {
			// What the driver makes of the URL, the last word on it.
			cfg, err := sqlstore.MySQLDriverConfig(raw)
			if err != nil {
				return err
			}
			if cfg.TLS == nil || cfg.TLS.InsecureSkipVerify {
				return fmt.Errorf("mysql %s: the driver reads no verified TLS from tls=%q: want tls=true", shownAt, tlsParam)
			}
			if cfg.AllowFallbackToPlaintext {
				return fmt.Errorf("mysql %s has allowFallbackToPlaintext=true, which goes on in plaintext when the server offers no TLS: want it unset or false", shownAt)
			}
			if cfg.AllowCleartextPasswords {
				return fmt.Errorf("mysql %s has allowCleartextPasswords=true, which sends the password as written to a server that asks: want it unset or false", shownAt)
			}
			return nil
		}
		shown := fmt.Sprintf("tls=%q", tlsParam)
		if tlsParam == "" {
			shown = "no tls parameter (plaintext)"
		}
		return fmt.Errorf("mysql %s has %s: want tls=true, verified against the system's roots or VPNGW_CA_FILE (skip-verify and preferred do not verify the server)", shownAt, shown)
	default:
		return fmt.Errorf("scheme %q: want sqlite://, postgres:// with verified TLS or mysql:// with tls=true", scheme)
	}
}

// mysqlTLSParam returns the tls parameter of a mysql:// URL in either form
// the store takes, and the address to name in an error.
func mysqlTLSParam(raw string) (string, string) {
	rest := strings.TrimPrefix(strings.TrimPrefix(raw, "mysql:"), "//")
	query := ""
	if i := strings.LastIndex(rest, "?"); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	q, _ := url.ParseQuery(query)
	return q.Get("tls"), rest
}

// mysqlQuery is the query of a mysql:// URL in either form the store takes.
func mysqlQuery(raw string) (url.Values, error) {
	i := strings.LastIndex(raw, "?")
	if i < 0 {
		return url.Values{}, nil
	}
	return url.ParseQuery(raw[i+1:])
}

// singleTLSKeys refuses a query naming one of keys twice, or in another
// spelling (case, spaces around it): the drivers let the last of several
// values win, or trim and fold keys, so a check reading the first one would
// pass a URL the driver connects in plaintext.
func singleTLSKeys(q url.Values, at string, keys ...string) error {
	seen := map[string]int{}
	for k, vs := range q {
		norm := strings.ToLower(strings.TrimSpace(k))
		for _, want := range keys {
			if norm != strings.ToLower(want) {
				continue
			}
			if k != want {
				return fmt.Errorf("%s has the parameter %q: want it written %s, once", at, k, want)
			}
			seen[want] += len(vs)
		}
	}
	for _, k := range keys {
		if seen[k] > 1 {
			return fmt.Errorf("%s sets %s %d times: want it once (the driver takes the last value, this check would read the first)", at, k, seen[k])
		}
	}
	return nil
}

func checkQueueTransport(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch strings.ToLower(u.Scheme) {
	case "tls", "amqps", "https", "mqtts":
		return nil
	case "kafka":
		if v, err := strconv.ParseBool(u.Query().Get("tls")); err == nil && v {
			return nil
		}
		return fmt.Errorf("%s is Kafka in plaintext: want kafka://broker:9093/topic?tls=true (verified against the system's roots or VPNGW_CA_FILE)", where(u))
	case "http":
		return fmt.Errorf("%s is HTTP in plaintext: want https://", where(u))
	case "mqtt":
		return fmt.Errorf("%s is MQTT in plaintext: want mqtts://host:8883/prefix (verified against the system's roots or VPNGW_CA_FILE)", where(u))
	case "nats":
		return fmt.Errorf("%s is NATS in plaintext: want tls://host:4222 (NATS over TLS, verified against the system's roots or VPNGW_CA_FILE)", where(u))
	case "amqp":
		return fmt.Errorf("%s is AMQP in plaintext: want amqps://user@host:5671/vhost (verified against the system's roots or VPNGW_CA_FILE)", where(u))
	case "log":
		return errors.New("log: writes outcome events to the function's log instead of a broker: want tls://host:4222 or amqps://host:5671/vhost")
	default:
		return fmt.Errorf("scheme %q: want tls:// (NATS), amqps:// (AMQP), https://, kafka://...?tls=true or mqtts://", u.Scheme)
	}
}

func checkEndpointTransport(raw string) error {
	if raw == "" || !strings.Contains(raw, "://") {
		// The SDK's endpoints, or a bare host name: both are HTTPS.
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if strings.ToLower(u.Scheme) == "https" {
		return nil
	}
	return fmt.Errorf("%s: want https://host[:port] or a host name (HTTPS)", where(u))
}
