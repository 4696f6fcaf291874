package app

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/webhook"
)

// Mode says where the process runs; it decides which variables are required.
type Mode int

const (
	// Function: a Function Compute or Lambda function. The store and queue
	// must be shared services, so their URLs are required.
	Function Mode = iota
	// Local: the local stack behind `make run`, with embedded defaults.
	Local
)

// Config is every setting vpngw reads. Each field names its variable.
type Config struct {
	StoreURL          string        // VPNGW_STORE_URL
	QueueURL          string        // VPNGW_QUEUE_URL: one or more sink URLs, comma-separated
	SinkSecret        string        // VPNGW_SINK_SECRET: what HTTP sinks sign events with
	VPCEndpoint       string        // VPNGW_VPC_ENDPOINT
	HTTPAddr          string        // VPNGW_HTTP_ADDR (local stack)
	ReconcileInterval time.Duration // VPNGW_RECONCILE_INTERVAL (local stack)
	ProvisionTimeout  time.Duration // VPNGW_PROVISION_TIMEOUT
	RedriveAfter      time.Duration // VPNGW_REDRIVE_AFTER
	Concurrency       int           // VPNGW_CONCURRENCY
	APIRates          map[string]float64
	// APIRateScope is VPNGW_API_RATE_SCOPE: auto, shared or instance.
	APIRateScope string
	LogFormat    string // VPNGW_LOG_FORMAT: json or text
	LogLevel     string // VPNGW_LOG_LEVEL
	Credentials  cloud.Credentials
	// SecretTTL is VPNGW_SECRET_TTL: how long the webhook keeps the
	// secrets it fetched.
	SecretTTL     time.Duration
	DataDir       string        // VPNGW_DATA_DIR (local stack)
	EmulatorAddr  string        // VPNGW_EMULATOR_ADDR (local stack)
	EmulatorDelay time.Duration // VPNGW_EMULATOR_DELAY (local stack)
	EmulatorQuota int           // VPNGW_EMULATOR_QUOTA (local stack)
	NATSPort      int           // VPNGW_NATS_PORT (local stack)
	// Policy is the operator's policy (VPNGW_POLICY or VPNGW_POLICY_INLINE).
	Policy *policy.Policy
	// Webhook configures the webhook function's routes (VPNGW_WEBHOOK_*,
	// VPNGW_SLACK_SIGNING_SECRET, VPNGW_DINGTALK_APP_SECRET).
	Webhook webhook.Config
	// AllowInsecureTransport is VPNGW_ALLOW_INSECURE_TRANSPORT=1: a function
	// may reach its store, broker and API without verified TLS.
	AllowInsecureTransport bool
	// CAFile is VPNGW_CA_FILE, the CA bundle (PEM) that verifies the store,
	// the broker and the VPC endpoint; RootCAs holds its certificates.
	CAFile  string
	RootCAs *x509.CertPool
	// Migrate is VPNGW_MIGRATE: on, the store's schema is migrated at start;
	// off, it is only checked.
	Migrate bool
}

// Var is one environment variable vpngw reads: its name, default and meaning.
// The README's table and s.yaml are checked against this list.
type Var struct {
	Name, Default, Help string
	Local               bool // read by the local stack only
}

// Vars lists every variable, in the README's order.
var Vars = []Var{
	{Name: "VPNGW_STORE_URL", Default: "required in functions; local: sqlite://.vpngw/vpngw.db", Help: "where requests and the outbox live: sqlite://path, postgres://..., mysql://..."},
	{Name: "VPNGW_QUEUE_URL", Default: "required in functions; local: the embedded NATS", Help: "where outcome events are published, one or more sinks separated by commas, each with its own delivery: nats://host:port[/prefix], amqp://user:pass@host:port/vhost?exchange=..., https://host/path[?mode=binary], kafka://broker[,broker]/topic[?tls=true&sasl=...], mqtt://host:port/prefix, log: (local: added to the embedded NATS); see docs/SINKS.md"},
	{Name: "VPNGW_SINK_SECRET", Default: "none (required with an HTTP sink)", Help: "what events to HTTP sinks are signed with (X-Vpngw-Signature, as the webhook verifies); at least 16 bytes"},
	{Name: "VPNGW_VPC_ENDPOINT", Default: "the SDK's endpoint for each region; local: the emulator", Help: "VPC API endpoint override, http(s)://host:port"},
	{Name: "VPNGW_POLICY", Default: "required in functions (or VPNGW_POLICY_INLINE); local: allow everything", Help: "path of the operator policy file (YAML): who may create which gateways; see deploy/policy.sample.yaml"},
	{Name: "VPNGW_POLICY_INLINE", Default: "none", Help: "the policy's YAML itself, for Function Compute, instead of VPNGW_POLICY"},
	{Name: "VPNGW_PROVISION_TIMEOUT", Default: "30m", Help: "how long a gateway may take to become active before it is reported failed (Timeout)"},
	{Name: "VPNGW_REDRIVE_AFTER", Default: "2m", Help: "how long a request may stay recorded but unsettled before a reconcile tick re-drives its creation"},
	{Name: "VPNGW_CONCURRENCY", Default: "8", Help: "requests of one delivery provisioned at once"},
	{Name: "VPNGW_API_RATES", Default: "CreateVpnGateway=60/m,DescribeVpnGateways=600/m", Help: "client-side rate limit per region and API action: Action=N/m or Action=N/s, N finite and at least 1/h; 0 turns the limit off"},
	{Name: "VPNGW_API_RATE_SCOPE", Default: "auto", Help: "who shares VPNGW_API_RATES: shared (every instance together, through the store's api_slots table; one transaction per API call), instance (each instance alone), or auto (shared on PostgreSQL and MySQL, instance on SQLite)"},
	{Name: "VPNGW_LOG_FORMAT", Default: "json (local: text)", Help: "json or text"},
	{Name: "VPNGW_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
	{Name: "VPNGW_WEBHOOK_KEYS", Default: "none", Help: `webhook function: the named keys of POST /, a JSON array [{"name":"ci","secret":"...","sources":["https://ci.example.com/*"]}] (optional "previousSecret"); each secret at least 16 bytes and its own; a request may claim only its key's sources, and its key's name reaches the policy (match.key)`},
	{Name: "VPNGW_WEBHOOK_SECRET", Default: "none", Help: "webhook function: legacy unnamed key of POST /; at least 16 bytes; needs VPNGW_WEBHOOK_SECRET_SOURCES (prefer VPNGW_WEBHOOK_KEYS)"},
	{Name: "VPNGW_WEBHOOK_SECRET_SOURCES", Default: "none (required with VPNGW_WEBHOOK_SECRET)", Help: "webhook function: the sources a request signed with VPNGW_WEBHOOK_SECRET may claim, policy patterns separated by |"},
	{Name: "VPNGW_WEBHOOK_SECRET_PREVIOUS", Default: "none", Help: "webhook function: also accepted on POST / while senders move to a new secret; at least 16 bytes"},
	{Name: "VPNGW_SLACK_SIGNING_SECRET", Default: "none (POST /slack off)", Help: "webhook function: the Slack app's signing secret"},
	{Name: "VPNGW_DINGTALK_APP_SECRET", Default: "none (POST /dingtalk off)", Help: "webhook function: the DingTalk robot's AppSecret"},
	{Name: "VPNGW_STORE_PASSWORD_SECRET", Default: "none", Help: "the secret holding VPNGW_STORE_URL's password, which the URL then leaves out (user@host); every variable of a secret may be given so, as X_SECRET naming the secret: see \"Secrets\""},
	{Name: "VPNGW_QUEUE_PASSWORD_SECRET", Default: "none", Help: "the secret holding VPNGW_QUEUE_URL's password, as above"},
	{Name: "VPNGW_SINK_SECRET_SECRET", Default: "none", Help: "the secret holding VPNGW_SINK_SECRET"},
	{Name: "VPNGW_KMS_ENDPOINT", Default: "kms.<FC_REGION>.aliyuncs.com", Help: "Function Compute: KMS endpoint the secrets are read from, http(s)://host:port or a host name (kms-vpc.<region>.aliyuncs.com inside the VPC)"},
	{Name: "VPNGW_WEBHOOK_KEYS_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_WEBHOOK_KEYS"},
	{Name: "VPNGW_WEBHOOK_SECRET_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_WEBHOOK_SECRET"},
	{Name: "VPNGW_WEBHOOK_SECRET_PREVIOUS_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_WEBHOOK_SECRET_PREVIOUS"},
	{Name: "VPNGW_SLACK_SIGNING_SECRET_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_SLACK_SIGNING_SECRET"},
	{Name: "VPNGW_DINGTALK_APP_SECRET_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_DINGTALK_APP_SECRET"},
	{Name: "VPNGW_SECRET_TTL", Default: "5m", Help: "webhook function: how long the secrets it verifies requests with are kept before they are fetched again, so that a rotation takes effect without a redeploy"},
	{Name: "VPNGW_WEBHOOK_MAX_SKEW", Default: "5m", Help: "webhook function: how far a signed request's timestamp may be from the clock, either way (at most 1h)"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_ID", Default: "none in functions (the role's STS credentials are used); local: the emulator's demo key, whatever is exported, while the emulator is embedded", Help: "access key, when not running with a function role"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_SECRET", Default: "as above", Help: "its secret"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_ID_SECRET", Default: "none", Help: "Lambda: the secret holding the access key id (name#AccessKeyId for a field of a JSON secret)"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_SECRET_SECRET", Default: "none", Help: "Lambda: the secret holding the access key secret (name#AccessKeySecret)"},
	{Name: "ALIBABA_CLOUD_SECURITY_TOKEN", Default: "none", Help: "STS security token, with temporary keys"},
	{Name: "VPNGW_ALLOW_INSECURE_TRANSPORT", Default: "unset (functions refuse plaintext)", Help: "1 lets a function use a store, broker or VPC endpoint without verified TLS (postgres sslmode=disable, mysql without tls, nats://, amqp://, log:, http://): tests and experiments only; any other value is refused"},
	{Name: "VPNGW_CA_FILE", Default: "none (the system's roots)", Help: "CA bundle (PEM) shipped in the package, verifying the store (PostgreSQL sslrootcert, MySQL tls=true), the broker (tls://, amqps://) and the VPC endpoint"},
	{Name: "VPNGW_MIGRATE", Default: "off in functions; on in the local stack", Help: "on: migrate the store's schema at start (needs a DDL-capable user); off: only check its version and refuse to start when it is behind, naming the command to run (vpngwctl migrate)"},
	{Name: "VPNGW_HTTP_ADDR", Default: "127.0.0.1:8080", Help: "the local stack's CloudEvents HTTP endpoint", Local: true},
	{Name: "VPNGW_RECONCILE_INTERVAL", Default: "3s", Help: "the local stack's reconcile ticker", Local: true},
	{Name: "VPNGW_DATA_DIR", Default: ".vpngw", Help: "the local stack's state (SQLite, JetStream)", Local: true},
	{Name: "VPNGW_EMULATOR_ADDR", Default: "127.0.0.1:9300", Help: "where the local stack's VPC API emulator listens", Local: true},
	{Name: "VPNGW_EMULATOR_DELAY", Default: "5s", Help: "how long the emulator takes to make a gateway active", Local: true},
	{Name: "VPNGW_EMULATOR_QUOTA", Default: "30", Help: "gateways the local stack's emulator lets the account hold per region, as the account's default quota vpn_quota_instances_num does; 0 for no limit", Local: true},
	{Name: "VPNGW_NATS_PORT", Default: "4333", Help: "the embedded NATS server's port (not 4222, so a system NATS can run beside it)", Local: true},
}

// DefaultGatewayQuota is an account's default vpn_quota_instances_num: the
// VPN gateways it may hold unless raised in Quota Center.
const DefaultGatewayQuota = 30

// FromEnv reads and validates the configuration. getenv is os.Getenv in
// production and a map in tests.
func FromEnv(getenv func(string) string, mode Mode) (Config, error) {
	var errs []error
	bad := func(name, val, want string) {
		errs = append(errs, fmt.Errorf("%s=%q: %s", name, val, want))
	}
	str := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	dur := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(name, v, "want a positive duration such as 30s, 5m or 1h")
			return def
		}
		return d
	}
	integer := func(name string, def, lo, hi int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad(name, v, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
			return def
		}
		return n
	}

	c := Config{
		StoreURL:          str("VPNGW_STORE_URL", ""),
		QueueURL:          str("VPNGW_QUEUE_URL", ""),
		SinkSecret:        str("VPNGW_SINK_SECRET", ""),
		VPCEndpoint:       str("VPNGW_VPC_ENDPOINT", ""),
		HTTPAddr:          str("VPNGW_HTTP_ADDR", "127.0.0.1:8080"),
		ReconcileInterval: dur("VPNGW_RECONCILE_INTERVAL", 3*time.Second),
		ProvisionTimeout:  dur("VPNGW_PROVISION_TIMEOUT", 30*time.Minute),
		RedriveAfter:      dur("VPNGW_REDRIVE_AFTER", 2*time.Minute),
		Concurrency:       integer("VPNGW_CONCURRENCY", 8, 1, 256),
		LogLevel:          str("VPNGW_LOG_LEVEL", "info"),
		DataDir:           str("VPNGW_DATA_DIR", ".vpngw"),
		EmulatorAddr:      str("VPNGW_EMULATOR_ADDR", "127.0.0.1:9300"),
		EmulatorDelay:     dur("VPNGW_EMULATOR_DELAY", 5*time.Second),
		EmulatorQuota:     integer("VPNGW_EMULATOR_QUOTA", DefaultGatewayQuota, 0, 1_000_000),
		NATSPort:          integer("VPNGW_NATS_PORT", 4333, 1, 65535),
		SecretTTL:         dur("VPNGW_SECRET_TTL", 5*time.Minute),
		Credentials: cloud.Credentials{
			AccessKeyID:     str("ALIBABA_CLOUD_ACCESS_KEY_ID", ""),
			AccessKeySecret: str("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""),
			SecurityToken:   str("ALIBABA_CLOUD_SECURITY_TOKEN", ""),
		},
	}
	keys, err := webhook.ParseKeys(getenv(webhook.EnvKeys))
	if err != nil {
		errs = append(errs, err)
	}
	c.Webhook = webhook.Config{
		Keys:               keys,
		Secret:             str("VPNGW_WEBHOOK_SECRET", ""),
		SecretSources:      webhook.ParseSources(getenv(webhook.EnvSecretSources)),
		PreviousSecret:     str("VPNGW_WEBHOOK_SECRET_PREVIOUS", ""),
		SlackSigningSecret: str("VPNGW_SLACK_SIGNING_SECRET", ""),
		DingTalkAppSecret:  str("VPNGW_DINGTALK_APP_SECRET", ""),
		MaxSkew:            dur("VPNGW_WEBHOOK_MAX_SKEW", webhook.DefaultMaxSkew),
		MaxBody:            MaxHTTPBody,
	}
	if err := c.Webhook.Validate(); err != nil {
		errs = append(errs, err)
	}
	defFormat := "json"
	if mode == Local {
		defFormat = "text"
	}
	c.LogFormat = str("VPNGW_LOG_FORMAT", defFormat)
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("VPNGW_LOG_FORMAT", c.LogFormat, "want json or text")
	}
	if _, ok := logging.ParseLevel(c.LogLevel); !ok {
		bad("VPNGW_LOG_LEVEL", c.LogLevel, "want debug, info, warn or error")
	}
	rates, err := parseRates(str("VPNGW_API_RATES", ""))
	if err != nil {
		bad("VPNGW_API_RATES", getenv("VPNGW_API_RATES"), err.Error())
	}
	c.APIRates = rates
	c.APIRateScope = str("VPNGW_API_RATE_SCOPE", "auto")
	switch c.APIRateScope {
	case "auto", "shared", "instance":
	default:
		bad("VPNGW_API_RATE_SCOPE", c.APIRateScope, "want auto, shared or instance")
	}

	pol, err := policy.FromEnv(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	c.Policy = pol
	if mode == Function {
		if pol == nil && err == nil {
			errs = append(errs, errors.New("neither VPNGW_POLICY nor VPNGW_POLICY_INLINE is set: a function needs the operator's policy to know who may create which gateways (start from deploy/policy.sample.yaml)"))
		}
		if c.StoreURL == "" {
			errs = append(errs, errors.New("VPNGW_STORE_URL is not set: functions need a store every instance reaches, e.g. postgres://user@host:5432/vpngw?sslmode=verify-full or mysql://user@host:3306/vpngw?tls=true"))
		}
		if c.QueueURL == "" {
			errs = append(errs, errors.New("VPNGW_QUEUE_URL is not set: outcome events need a broker, e.g. tls://host:4222 or amqps://user@host:5671/vhost?exchange=vpngw"))
		}
	}
	urls := []struct{ name, val string }{{"VPNGW_STORE_URL", c.StoreURL}, {"VPNGW_VPC_ENDPOINT", c.VPCEndpoint}}
	for _, sink := range queue.SplitSinks(c.QueueURL) {
		urls = append(urls, struct{ name, val string }{"VPNGW_QUEUE_URL", sink})
	}
	for _, u := range urls {
		if u.val == "" {
			continue
		}
		if pu, err := url.Parse(u.val); err != nil || pu.Scheme == "" {
			errs = append(errs, fmt.Errorf("%s: not a URL (want scheme://...)", u.name))
		}
	}
	errs = append(errs, checkSinks(c)...)
	if mode == Local {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("VPNGW_HTTP_ADDR", c.HTTPAddr, "want host:port")
		}
		if _, _, err := net.SplitHostPort(c.EmulatorAddr); err != nil {
			bad("VPNGW_EMULATOR_ADDR", c.EmulatorAddr, "want host:port")
		}
	}
	errs = append(errs, readTransport(getenv, &c)...)
	defMigrate := "off"
	if mode == Local {
		defMigrate = "on"
	}
	switch v := str("VPNGW_MIGRATE", defMigrate); v {
	case "on":
		c.Migrate = true
	case "off":
	default:
		bad("VPNGW_MIGRATE", v, "want on (migrate at start) or off (check the schema version only)")
	}
	if mode == Function && !c.AllowInsecureTransport {
		errs = append(errs, checkTransport(c)...)
	}
	if (c.Credentials.AccessKeyID == "") != (c.Credentials.AccessKeySecret == "") {
		errs = append(errs, errors.New("ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET go together: set both or neither"))
	}
	return c, errors.Join(errs...)
}

// minRate is the lowest positive rate VPNGW_API_RATES takes, in calls per
// second: one an hour.
const minRate = 1.0 / 3600

// parseRates reads "Action=N/m,Action=N/s" into calls per second.
func parseRates(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for k, v := range vpcclient.DefaultRates {
		out[k] = v
	}
	if s == "" {
		return out, nil
	}
	known := map[string]bool{}
	for _, a := range vpcclient.Actions {
		known[a] = true
	}
	for _, part := range strings.Split(s, ",") {
		action, r, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !known[action] {
			return out, fmt.Errorf("want Action=N/m or Action=N/s with Action one of %s", strings.Join(vpcclient.Actions, ", "))
		}
		num, unit, _ := strings.Cut(r, "/")
		n, err := strconv.ParseFloat(num, 64)
		switch {
		case err != nil || math.IsNaN(n) || math.IsInf(n, 0):
			return out, fmt.Errorf("%s: rate %q is not a finite number: want 0 (no limit) or more calls, e.g. 60/m or 10/s", action, num)
		case n < 0 || math.Signbit(n):
			return out, fmt.Errorf("%s: rate %q is negative: want 0 (no limit) or more calls, e.g. 60/m or 10/s", action, num)
		}
		switch unit {
		case "s", "":
		case "m":
			n /= 60
		default:
			return out, fmt.Errorf("%s: unit %q: want s or m", action, unit)
		}
		// A positive rate spaces calls 1/n apart; below one an hour that
		// gap is past any invocation (and, far enough below, past what a
		// time.Duration holds).
		if n != 0 && n < minRate {
			return out, fmt.Errorf("%s: rate %q/%s is under one call an hour: want 0 (no limit) or at least 1/h (%.6f/s)", action, num, unit, minRate)
		}
		out[action] = n
	}
	return out, nil
}
