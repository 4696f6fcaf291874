package app

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/capool"
	"github.com/vpngw/vpngw/internal/chatreply"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/cloud/vpcclient"
	"github.com/vpngw/vpngw/internal/logging"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/runtime"
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
	EmulatorDelay time.Duration // VPNGW_EMULATOR_DELAY (local stack), or the least of its range
	// EmulatorDelayMax is the most of VPNGW_EMULATOR_DELAY's range (zero:
	// one fixed delay).
	EmulatorDelayMax time.Duration
	EmulatorQuota    int // VPNGW_EMULATOR_QUOTA (local stack)
	// EmulatorSeed is VPNGW_EMULATOR_SEED as given: a seed file's path or
	// the seed's JSON, read by the local stack, which alone links the
	// emulator (docs/EMULATOR.md).
	EmulatorSeed string
	NATSPort     int // VPNGW_NATS_PORT (local stack)
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
	// Chat configures the replies to chat requests (VPNGW_CHAT_REPLY_ALLOW,
	// VPNGW_SLACK_REPLY, VPNGW_SLACK_BOT_TOKEN, VPNGW_SLACK_API_URL,
	// VPNGW_DINGTALK_ROBOT_WEBHOOK, VPNGW_DINGTALK_ROBOT_SECRET).
	Chat ChatConfig
}

// ChatConfig configures where and how the outcomes of chat requests are
// posted back to the conversation.
type ChatConfig struct {
	Allow                []string // VPNGW_CHAT_REPLY_ALLOW: URL prefixes besides the platforms'
	SlackReply           string   // VPNGW_SLACK_REPLY: ephemeral or in_channel
	SlackBotToken        string   // VPNGW_SLACK_BOT_TOKEN
	SlackAPIURL          string   // VPNGW_SLACK_API_URL
	DingTalkRobotWebhook string   // VPNGW_DINGTALK_ROBOT_WEBHOOK
	DingTalkRobotSecret  string   // VPNGW_DINGTALK_ROBOT_SECRET
}

// Var is one environment variable vpngw reads: its name, default and meaning,
// and how FromEnv reads and checks it. docs/CONFIGURATION.md's table and s.yaml are
// checked against this list, and FromEnv reads nothing it does not name.
type Var struct {
	Name, Default, Help string
	Local               bool // read by the local stack only
	// parse reads the variable into the configuration; nil for a variable
	// read before the configuration is (a secret's name, the KMS endpoint:
	// resolveSecrets) or together with another one (VPNGW_POLICY_INLINE).
	parse func(f setting) error
}

// setting is one variable as FromEnv hands it to its Var's parse.
type setting struct {
	c      *Config
	name   string
	val    string // the value, spaces trimmed; "" when unset
	def    string // the Var's Default
	mode   Mode
	getenv func(string) string
}

// or is the value, or the Var's Default when unset.
func (f setting) or() string {
	if f.val != "" {
		return f.val
	}
	return f.def
}

func (f setting) bad(want string) error { return fmt.Errorf("%s=%q: %s", f.name, f.val, want) }

// text sets a string: the value, or the Default when unset.
func text(set func(*Config, string)) func(setting) error {
	return func(f setting) error { set(f.c, f.or()); return nil }
}

// optional sets a string that stays empty when unset (its Default
// describes what happens then).
func optional(set func(*Config, string)) func(setting) error {
	return func(f setting) error { set(f.c, f.val); return nil }
}

// parsed sets a value parse accepts, the Default when unset; want says what
// is accepted.
func parsed[T any](parse func(string) (T, bool), want string, set func(*Config, T)) func(setting) error {
	return func(f setting) error {
		v, ok := parse(f.or())
		if !ok {
			v, _ = parse(f.def)
			set(f.c, v)
			return f.bad(want)
		}
		set(f.c, v)
		return nil
	}
}

// duration sets a positive duration, the Default when unset.
func duration(set func(*Config, time.Duration)) func(setting) error {
	return parsed(func(s string) (time.Duration, bool) {
		d, err := time.ParseDuration(s)
		return d, err == nil && d > 0
	}, "want a positive duration such as 30s, 5m or 1h", set)
}

// readEmulatorDelay reads VPNGW_EMULATOR_DELAY: a duration, or MIN-MAX.
func readEmulatorDelay(f setting) error {
	v := f.or()
	lo, hi, isRange := strings.Cut(v, "-")
	min, err := time.ParseDuration(lo)
	if err != nil || min < 0 {
		return f.bad("want a duration such as 5s, or MIN-MAX such as 60s-300s")
	}
	f.c.EmulatorDelay, f.c.EmulatorDelayMax = min, 0
	if !isRange {
		return nil
	}
	max, err := time.ParseDuration(hi)
	if err != nil || max < min {
		return f.bad("want MIN-MAX with MIN no more than MAX, such as 60s-300s")
	}
	f.c.EmulatorDelayMax = max
	return nil
}

// whole sets a whole number from lo to hi, the Default when unset.
func whole(lo, hi int, set func(*Config, int)) func(setting) error {
	return parsed(func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo && n <= hi
	}, fmt.Sprintf("want a whole number from %d to %d", lo, hi), set)
}

// hostPort sets a host:port, checked in the local stack, which listens there.
func hostPort(set func(*Config, string)) func(setting) error {
	return func(f setting) error {
		v := f.or()
		set(f.c, v)
		if _, _, err := net.SplitHostPort(v); err != nil && f.mode == Local {
			return fmt.Errorf("%s=%q: want host:port", f.name, v)
		}
		return nil
	}
}

// Vars lists every variable, in the order of docs/CONFIGURATION.md's table.
var Vars = []Var{
	{Name: "VPNGW_STORE_URL", Default: "required in functions; local: sqlite://.vpngw/vpngw.db", Help: "where requests and the outbox live: postgres://..., mysql://..., or sqlite://path (local stack and vpngwctl; function binaries link no SQLite)", parse: optional(func(c *Config, v string) { c.StoreURL = v })},
	{Name: "VPNGW_QUEUE_URL", Default: "required in functions; local: the embedded NATS", Help: "where outcome events are published, one or more sinks separated by commas, each with its own delivery: nats://host:port[/prefix], amqp://user:pass@host:port/vhost?exchange=..., https://host/path[?mode=binary], kafka://broker[,broker]/topic[?tls=true&sasl=...], mqtt://host:port/prefix, log: (local: added to the embedded NATS); a sink written name=url is one policy rules may route outcomes to (sinks: [name]); see docs/SINKS.md", parse: optional(func(c *Config, v string) { c.QueueURL = v })},
	{Name: "VPNGW_SINK_SECRET", Default: "none (required with an HTTP sink)", Help: "what events to HTTP sinks are signed with (X-Vpngw-Signature, as the webhook verifies); at least 16 bytes", parse: optional(func(c *Config, v string) { c.SinkSecret = v })},
	{Name: "VPNGW_VPC_ENDPOINT", Default: "the SDK's endpoint for each region; local: the emulator", Help: "VPC API endpoint override, http(s)://host:port", parse: optional(func(c *Config, v string) { c.VPCEndpoint = v })},
	{Name: "VPNGW_POLICY", Default: "required in functions (or VPNGW_POLICY_INLINE); local: allow everything", Help: "path of the operator policy file (YAML): who may create which gateways; see deploy/policy.sample.yaml", parse: readPolicy},
	{Name: "VPNGW_POLICY_INLINE", Default: "none", Help: "the policy's YAML itself, for Function Compute, instead of VPNGW_POLICY"},
	{Name: "VPNGW_PROVISION_TIMEOUT", Default: "30m", Help: "how long a gateway may take to become active before it is reported failed (Timeout)", parse: duration(func(c *Config, d time.Duration) { c.ProvisionTimeout = d })},
	{Name: "VPNGW_REDRIVE_AFTER", Default: "2m", Help: "how long a request may stay recorded but unsettled before a reconcile tick re-drives its creation", parse: duration(func(c *Config, d time.Duration) { c.RedriveAfter = d })},
	{Name: "VPNGW_CONCURRENCY", Default: "8", Help: "requests of one delivery provisioned at once", parse: whole(1, 256, func(c *Config, n int) { c.Concurrency = n })},
	{Name: "VPNGW_API_RATES", Default: "CreateVpnGateway=60/m,DescribeVpnGateways=600/m,DeleteVpnGateway=60/m", Help: "client-side rate limit per region and API action: Action=N/m or Action=N/s, N finite and at least 1/h; 0 turns the limit off. A ceiling: when the API throttles below it, a lower rate learned from the answer holds, shared through the store, and is probed back up (OPERATING.md, Learned API rates). Reconcile's repeated checks keep within half the DescribeVpnGateways rate, all instances together", parse: readRates},
	{Name: "VPNGW_API_RATE_SCOPE", Default: "auto", Help: "who shares VPNGW_API_RATES: shared (every instance together, through the store's api_slots table; one transaction per API call), instance (each instance alone), or auto (shared on PostgreSQL and MySQL, instance on SQLite)", parse: readRateScope},
	{Name: "VPNGW_LOG_FORMAT", Default: "json (local: text)", Help: "json or text", parse: readLogFormat},
	{Name: "VPNGW_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error", parse: readLogLevel},
	{Name: "VPNGW_WEBHOOK_KEYS", Default: "none", Help: `webhook function: the named keys of POST /, a JSON array [{"name":"ci","secret":"...","sources":["https://ci.example.com/*"]}] (optional "previousSecret"); each secret at least 16 bytes and its own; a request may claim only its key's sources, and its key's name reaches the policy (match.key)`, parse: readWebhookKeys},
	{Name: "VPNGW_WEBHOOK_SECRET", Default: "none", Help: "webhook function: legacy unnamed key of POST /; at least 16 bytes; needs VPNGW_WEBHOOK_SECRET_SOURCES (prefer VPNGW_WEBHOOK_KEYS)", parse: optional(func(c *Config, v string) { c.Webhook.Secret = v })},
	{Name: "VPNGW_WEBHOOK_SECRET_SOURCES", Default: "none (required with VPNGW_WEBHOOK_SECRET)", Help: "webhook function: the sources a request signed with VPNGW_WEBHOOK_SECRET may claim, policy patterns separated by |", parse: func(f setting) error { f.c.Webhook.SecretSources = webhook.ParseSources(f.getenv(f.name)); return nil }},
	{Name: "VPNGW_WEBHOOK_SECRET_PREVIOUS", Default: "none", Help: "webhook function: also accepted on POST / while senders move to a new secret; at least 16 bytes", parse: optional(func(c *Config, v string) { c.Webhook.PreviousSecret = v })},
	{Name: "VPNGW_SLACK_SIGNING_SECRET", Default: "none (POST /slack off)", Help: "webhook function: the Slack app's signing secret", parse: optional(func(c *Config, v string) { c.Webhook.SlackSigningSecret = v })},
	{Name: "VPNGW_DINGTALK_APP_SECRET", Default: "none (POST /dingtalk off)", Help: "webhook function: the DingTalk robot's AppSecret", parse: optional(func(c *Config, v string) { c.Webhook.DingTalkAppSecret = v })},
	{Name: "VPNGW_CHAT_REPLY_ALLOW", Default: "none (the platforms' hosts only)", Help: "chat replies: URL prefixes, comma-separated, a chat reply address may start with besides https://hooks.slack.com/, https://slack.com/api/, https://oapi.dingtalk.com/ and https://api.dingtalk.com/ (a proxy, a test's stand-in), https:// or http:// to this machine only; a path with a dot-segment, a backslash or an encoded separator or dot is never called; every function that drains the outbox reads it", parse: readChatAllow},
	{Name: "VPNGW_SLACK_REPLY", Default: "ephemeral", Help: "chat replies: how the outcomes of a slash command are posted through its response_url: ephemeral (to the user alone) or in_channel", parse: readSlackReply},
	{Name: "VPNGW_SLACK_BOT_TOKEN", Default: "none (replies past a response_url's 5 uses or 30 minutes are parked)", Help: "chat replies: the Slack bot token (xoxb-...) chat.postMessage posts with into the command's channel once its response_url is spent", parse: optional(func(c *Config, v string) { c.Chat.SlackBotToken = v })},
	{Name: "VPNGW_SLACK_API_URL", Default: "https://slack.com/api/", Help: "chat replies: the Slack Web API base chat.postMessage is called on (a proxy, a test's stand-in)", parse: readSlackAPIURL},
	{Name: "VPNGW_DINGTALK_ROBOT_WEBHOOK", Default: "none (replies past a sessionWebhook's expiry are parked)", Help: "chat replies: the DingTalk custom group robot's webhook (https://oapi.dingtalk.com/robot/send?access_token=...) that posts once a message's sessionWebhook expired", parse: readRobotWebhook},
	{Name: "VPNGW_DINGTALK_ROBOT_SECRET", Default: "none (the robot is not signed)", Help: "chat replies: the custom robot's signing secret (SEC...), which signs each post with timestamp and sign", parse: optional(func(c *Config, v string) { c.Chat.DingTalkRobotSecret = v })},
	{Name: "VPNGW_STORE_PASSWORD_SECRET", Default: "none", Help: "the secret holding VPNGW_STORE_URL's password, which the URL then leaves out (user@host); every variable of a secret may be given so, as X_SECRET naming the secret: see \"Secrets\""},
	{Name: "VPNGW_QUEUE_PASSWORD_SECRET", Default: "none", Help: "the secret holding VPNGW_QUEUE_URL's password, as above"},
	{Name: "VPNGW_SINK_SECRET_SECRET", Default: "none", Help: "the secret holding VPNGW_SINK_SECRET"},
	{Name: "VPNGW_KMS_ENDPOINT", Default: "kms.<FC_REGION>.aliyuncs.com", Help: "Function Compute: KMS endpoint the secrets are read from, http(s)://host:port or a host name (kms-vpc.<region>.aliyuncs.com inside the VPC)"},
	{Name: "VPNGW_WEBHOOK_KEYS_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_WEBHOOK_KEYS"},
	{Name: "VPNGW_WEBHOOK_SECRET_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_WEBHOOK_SECRET"},
	{Name: "VPNGW_WEBHOOK_SECRET_PREVIOUS_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_WEBHOOK_SECRET_PREVIOUS"},
	{Name: "VPNGW_SLACK_SIGNING_SECRET_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_SLACK_SIGNING_SECRET"},
	{Name: "VPNGW_DINGTALK_APP_SECRET_SECRET", Default: "none", Help: "webhook function: the secret holding VPNGW_DINGTALK_APP_SECRET"},
	{Name: "VPNGW_SLACK_BOT_TOKEN_SECRET", Default: "none", Help: "the secret holding VPNGW_SLACK_BOT_TOKEN"},
	{Name: "VPNGW_DINGTALK_ROBOT_WEBHOOK_SECRET", Default: "none", Help: "the secret holding VPNGW_DINGTALK_ROBOT_WEBHOOK (its access_token posts to the group)"},
	{Name: "VPNGW_DINGTALK_ROBOT_SECRET_SECRET", Default: "none", Help: "the secret holding VPNGW_DINGTALK_ROBOT_SECRET"},
	{Name: "VPNGW_SECRET_TTL", Default: "5m", Help: "webhook function: how long the secrets it verifies requests with are kept before they are fetched again, so that a rotation takes effect without a redeploy", parse: duration(func(c *Config, d time.Duration) { c.SecretTTL = d })},
	{Name: "VPNGW_WEBHOOK_MAX_SKEW", Default: "5m", Help: "webhook function: how far a signed request's timestamp may be from the clock, either way (at most 1h)", parse: duration(func(c *Config, d time.Duration) { c.Webhook.MaxSkew = d })},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_ID", Default: "none in functions (the role's STS credentials are used); local: the emulator's demo key, whatever is exported, while the emulator is embedded", Help: "access key, when not running with a function role", parse: optional(func(c *Config, v string) { c.Credentials.AccessKeyID = v })},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_SECRET", Default: "as above", Help: "its secret", parse: optional(func(c *Config, v string) { c.Credentials.AccessKeySecret = v })},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_ID_SECRET", Default: "none", Help: "Lambda: the secret holding the access key id (name#AccessKeyId for a field of a JSON secret)"},
	{Name: "ALIBABA_CLOUD_ACCESS_KEY_SECRET_SECRET", Default: "none", Help: "Lambda: the secret holding the access key secret (name#AccessKeySecret)"},
	{Name: "ALIBABA_CLOUD_SECURITY_TOKEN", Default: "none", Help: "STS security token, with temporary keys", parse: optional(func(c *Config, v string) { c.Credentials.SecurityToken = v })},
	{Name: "VPNGW_ALLOW_INSECURE_TRANSPORT", Default: "unset (functions refuse plaintext)", Help: "1 lets a function use a store, broker or VPC endpoint without verified TLS (postgres sslmode=disable, mysql without tls, nats://, amqp://, log:, http://): tests and experiments only; any other value is refused", parse: readInsecure},
	{Name: "VPNGW_CA_FILE", Default: "none (the system's roots)", Help: "CA bundle (PEM) shipped in the package, verifying the store (PostgreSQL sslrootcert, MySQL tls=true), the broker (tls://, amqps://) and the VPC endpoint", parse: readCAFile},
	{Name: "VPNGW_MIGRATE", Default: "off in functions; on in the local stack", Help: "on: migrate the store's schema at start (needs a DDL-capable user); off: only check its version and refuse to start when it is behind, naming the command to run (vpngwctl migrate)", parse: readMigrate},
	{Name: "VPNGW_HTTP_ADDR", Default: "127.0.0.1:8080", Help: "the local stack's CloudEvents HTTP endpoint", Local: true, parse: hostPort(func(c *Config, v string) { c.HTTPAddr = v })},
	{Name: "VPNGW_RECONCILE_INTERVAL", Default: "3s", Help: "the local stack's reconcile ticker; a request that arrives also starts a tick, and a tick keeps checking while gateways are pending", Local: true, parse: duration(func(c *Config, d time.Duration) { c.ReconcileInterval = d })},
	{Name: "VPNGW_DATA_DIR", Default: ".vpngw", Help: "the local stack's state (SQLite, JetStream)", Local: true, parse: text(func(c *Config, v string) { c.DataDir = v })},
	{Name: "VPNGW_EMULATOR_ADDR", Default: "127.0.0.1:9300", Help: "where the local stack's VPC API emulator listens", Local: true, parse: hostPort(func(c *Config, v string) { c.EmulatorAddr = v })},
	{Name: "VPNGW_EMULATOR_DELAY", Default: "5s", Help: "how long the emulator takes to make a gateway active, and a deleted one gone: a duration, or MIN-MAX (e.g. 60s-300s) for a time drawn for each gateway uniformly from that range, as real gateways take one to a few minutes", Local: true, parse: readEmulatorDelay},
	{Name: "VPNGW_EMULATOR_QUOTA", Default: "30", Help: "gateways the local stack's emulator lets the account hold per region, as the account's default quota vpn_quota_instances_num does; 0 for no limit", Local: true, parse: whole(0, 1_000_000, func(c *Config, n int) { c.EmulatorQuota = n })},
	{Name: "VPNGW_EMULATOR_SEED", Default: "none (the default VPCs and vSwitches, docs/EMULATOR.md)", Help: "VPCs and vSwitches the local stack's emulator knows besides the default ones: a seed file's path, or the seed's JSON itself when it starts with {", Local: true, parse: optional(func(c *Config, v string) { c.EmulatorSeed = v })},
	{Name: "VPNGW_NATS_PORT", Default: "4333", Help: "the embedded NATS server's port (not 4222, so a system NATS can run beside it)", Local: true, parse: whole(1, 65535, func(c *Config, n int) { c.NATSPort = n })},
}

// LocalPolicy is the local stack's policy when VPNGW_POLICY is not set:
// explicit rules that allow every request, from the HTTP intake and from
// every webhook route, for trying vpngw against the emulator. Functions have
// no such default.
const LocalPolicy = `version: 1
rules:
  - name: local-allow-all
    match:
      source: "*"
` + localAllowAll + `  - name: local-allow-all-webhooks
    match:
      source: "*"
      caller: "*"
` + localAllowAll

// localAllowAll is what both rules of LocalPolicy allow: any region and
// VPC, up to 1000 Mbit/s, either charge type with auto-pay, SSL up to 1000
// connections, and creates and deletes of any requester's gateways.
const localAllowAll = `    regions: ["*"]
    vpcs: ["*"]
    maxBandwidth: 1000
    chargeTypes: [POSTPAY, PREPAY]
    allowAutoPay: true
    allowSsl: true
    maxSslConnections: 1000
    actions: [create, delete]
    deleteOwnOnly: false
`

// DefaultGatewayQuota is an account's default vpn_quota_instances_num: the
// VPN gateways it may hold unless raised in Quota Center.
const DefaultGatewayQuota = 30

// FromEnv reads and validates the configuration: each variable of Vars
// through its parse, then what holds between them. getenv is os.Getenv in
// production and a map in tests.
func FromEnv(getenv func(string) string, mode Mode) (Config, error) {
	var c Config
	errs := readVars(getenv, mode, &c)
	c.Webhook.MaxBody = runtime.MaxHTTPBody
	if err := c.Webhook.Validate(); err != nil {
		errs = append(errs, err)
	}
	if mode == Function {
		if c.Policy == nil && !hasPolicy(getenv) {
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
	if mode == Function && !c.AllowInsecureTransport {
		errs = append(errs, checkTransport(c)...)
	}
	if (c.Credentials.AccessKeyID == "") != (c.Credentials.AccessKeySecret == "") {
		errs = append(errs, errors.New("ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET go together: set both or neither"))
	}
	return c, errors.Join(errs...)
}

// readVars reads the variables named (every one of Vars when none is) into c,
// each through its parse, and returns their errors.
func readVars(getenv func(string) string, mode Mode, c *Config, names ...string) []error {
	var errs []error
	for _, v := range Vars {
		if v.parse == nil || (len(names) > 0 && !slices.Contains(names, v.Name)) {
			continue
		}
		f := setting{c: c, name: v.Name, val: strings.TrimSpace(getenv(v.Name)), def: v.Default, mode: mode, getenv: getenv}
		if err := v.parse(f); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// hasPolicy says whether either policy variable is set (one that fails to
// load has its own error).
func hasPolicy(getenv func(string) string) bool {
	return getenv(policy.EnvPath) != "" || getenv(policy.EnvInline) != ""
}

// readPolicy reads VPNGW_POLICY and VPNGW_POLICY_INLINE together: one of
// them, never both.
func readPolicy(f setting) error {
	p, err := policy.FromEnv(f.getenv)
	f.c.Policy = p
	return err
}

func readRates(f setting) error {
	rates, err := parseRates(f.val)
	f.c.APIRates = rates
	if err != nil {
		return fmt.Errorf("%s=%q: %s", f.name, f.getenv(f.name), err.Error())
	}
	return nil
}

func readRateScope(f setting) error {
	f.c.APIRateScope = f.or()
	switch f.c.APIRateScope {
	case "auto", "shared", "instance":
		return nil
	}
	return fmt.Errorf("%s=%q: want auto, shared or instance", f.name, f.c.APIRateScope)
}

// readLogFormat: json in functions, text in the local stack, unless set.
func readChatAllow(f setting) error {
	p, err := chatreply.ParsePrefixes(f.val)
	if err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	f.c.Chat.Allow = p
	return nil
}

func readSlackReply(f setting) error {
	f.c.Chat.SlackReply = f.or()
	if v := f.c.Chat.SlackReply; v != chatreply.SlackEphemeral && v != chatreply.SlackInChannel {
		return fmt.Errorf("%s=%q: want ephemeral or in_channel", f.name, v)
	}
	return nil
}

func readSlackAPIURL(f setting) error {
	f.c.Chat.SlackAPIURL = f.or()
	return replyURL(f.name, f.c.Chat.SlackAPIURL)
}

// readRobotWebhook reads VPNGW_DINGTALK_ROBOT_WEBHOOK, whose URL holds the
// robot's access_token: a refusal names the variable, never the value.
func readRobotWebhook(f setting) error {
	f.c.Chat.DingTalkRobotWebhook = f.val
	if f.val == "" {
		return nil
	}
	return replyURL(f.name, f.val)
}

// replyURL checks an address chat replies carry a token to (the Slack bot
// token, the DingTalk robot's access_token): https, or http to this machine
// (a test's stand-in), so that a mistyped scheme cannot send it in clear.
// The refusal shows no part of the value.
func replyURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s: not a URL: want https://host/path", name)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if chatreply.LoopbackHost(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%s: want https://, or http:// to this machine only (the address receives a token)", name)
}

func readLogFormat(f setting) error {
	f.c.LogFormat = f.val
	if f.val == "" {
		f.c.LogFormat = "json"
		if f.mode == Local {
			f.c.LogFormat = "text"
		}
	}
	if f.c.LogFormat != "json" && f.c.LogFormat != "text" {
		return fmt.Errorf("%s=%q: want json or text", f.name, f.c.LogFormat)
	}
	return nil
}

func readLogLevel(f setting) error {
	f.c.LogLevel = f.or()
	if _, ok := logging.ParseLevel(f.c.LogLevel); !ok {
		return fmt.Errorf("%s=%q: want debug, info, warn or error", f.name, f.c.LogLevel)
	}
	return nil
}

func readWebhookKeys(f setting) error {
	keys, err := webhook.ParseKeys(f.getenv(f.name))
	f.c.Webhook.Keys = keys
	return err
}

func readInsecure(f setting) error {
	switch v := f.getenv(f.name); v {
	case "":
	case "1":
		f.c.AllowInsecureTransport = true
	default:
		return fmt.Errorf("%s=%q: want 1 (allow connections without verified TLS, for tests and experiments) or unset", f.name, v)
	}
	return nil
}

func readCAFile(f setting) error {
	if f.c.CAFile = f.val; f.val == "" {
		return nil
	}
	pool, err := capool.Load(f.val)
	f.c.RootCAs = pool
	if err != nil {
		return fmt.Errorf("%s=%q: %v", f.name, f.val, err)
	}
	return nil
}

// readMigrate: off in functions, on in the local stack, unless set.
func readMigrate(f setting) error {
	v := f.val
	if v == "" {
		v = "off"
		if f.mode == Local {
			v = "on"
		}
	}
	switch v {
	case "on":
		f.c.Migrate = true
	case "off":
	default:
		return fmt.Errorf("%s=%q: want on (migrate at start) or off (check the schema version only)", f.name, v)
	}
	return nil
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
