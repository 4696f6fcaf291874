package vpcsim

import (
	"log/slog"
	"time"
)

// DefaultProvisioningDelay is how long a new gateway stays "init" before it
// turns "active" unless WithProvisioningDelay says otherwise. The real service
// takes minutes; a few seconds keep the local stack responsive while still
// making every client poll at least once.
const DefaultProvisioningDelay = 5 * time.Second

// Site is the Alibaba Cloud site the emulated account belongs to; it decides
// which bandwidths public gateways accept.
type Site int

const (
	// SiteChina is the China site: public gateways take 5, 10, 20, 50, 100,
	// 200, 500 or 1000 Mbit/s.
	SiteChina Site = iota
	// SiteInternational is the international site: public gateways take 10,
	// 100, 200, 500 or 1000 Mbit/s.
	SiteInternational
)

// Credential is an access key the emulator accepts. A non-empty SecurityToken
// makes it an STS credential: every request signed with the key must carry
// exactly this token, and is refused once Expiration (if set) has passed.
// Disabled keys are refused with InvalidAccessKeyId.Inactive (HTTP 400), as
// a key disabled in the RAM console is; DeniedActions are answered
// Forbidden.RAM (HTTP 403), as for a RAM identity whose policy does not grant
// them.
type Credential struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
	Expiration      time.Time
	Disabled        bool
	DeniedActions   []string
	// ResourceGroups, when set, scopes the key's RAM policy to these
	// resource groups: a call naming another ResourceGroupId answers
	// Forbidden.RAM, as a policy whose condition names resource groups
	// does. A call naming none is taken as in the account's default
	// group, which such a policy is assumed to allow.
	ResourceGroups []string
}

// String names the credential by its key ID only, so that printing one never
// leaks the secret or the token.
func (c Credential) String() string { return "Credential{" + c.AccessKeyID + "}" }

// GoString is String, for %#v.
func (c Credential) GoString() string { return c.String() }

// DefaultRateLimits are the documented per-region, per-API quotas of the
// real service in calls a minute: CreateVpnGateway 60 and DescribeVpnGateway
// 600. DescribeVpnGateways is not listed and is given the same 600;
// DeleteVpnGateway is not listed either and is given CreateVpnGateway's 60.
// New applies none of them unless asked (WithRateLimits), so tests that
// create many gateways are not throttled by accident.
func DefaultRateLimits() map[string]int {
	return map[string]int{
		actionCreate:       60,
		actionDescribe:     600,
		actionDescribeList: 600,
		actionDelete:       60,
	}
}

// Option configures a Server.
type Option func(*settings)

type settings struct {
	creds       []Credential
	seed        Seed
	dual        []string
	singleZone  []string
	delay       time.Duration
	delayMax    time.Duration
	deleteDelay time.Duration
	clock       func() time.Time
	authClock   func() time.Time
	quota       int
	limits      map[string]int
	faults      Faults
	randSeed    uint64
	seeded      bool
	site        Site
	logger      *slog.Logger

	throttleHeaders ThrottleHeaders
	clockSpeed      int
}

func defaultSettings() settings {
	return settings{
		seed:       DefaultSeed(),
		dual:       DualTunnelRegions,
		singleZone: SingleZoneDualTunnelRegions,
		delay:      DefaultProvisioningDelay,
		clock:      time.Now,
		authClock:  time.Now,
		limits:     map[string]int{},
		logger:     slog.New(slog.DiscardHandler),
	}
}

// WithAccessKey adds an access key pair. When no credential option is given
// the emulator accepts DefaultAccessKeyID / DefaultAccessKeySecret.
func WithAccessKey(id, secret string) Option {
	return func(s *settings) {
		s.creds = append(s.creds, Credential{AccessKeyID: id, AccessKeySecret: secret})
	}
}

// WithSTSToken adds an STS credential: requests signed with id must carry
// token as SecurityToken. A zero expires means the token never expires.
func WithSTSToken(id, secret, token string, expires time.Time) Option {
	return func(s *settings) {
		s.creds = append(s.creds, Credential{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token, Expiration: expires})
	}
}

// WithCredentials adds credentials.
func WithCredentials(creds ...Credential) Option {
	return func(s *settings) { s.creds = append(s.creds, creds...) }
}

// WithSeed replaces the default seed: regions, VPCs and vSwitches.
func WithSeed(seed Seed) Option {
	return func(s *settings) { s.seed = seed }
}

// WithVSwitches adds vSwitches to the seed.
func WithVSwitches(vsws ...VSwitch) Option {
	return func(s *settings) { s.seed.VSwitches = append(s.seed.VSwitches, vsws...) }
}

// WithProvisioningDelay sets how long a new gateway stays "init", measured on
// the clock of WithClock.
func WithProvisioningDelay(d time.Duration) Option {
	return func(s *settings) { s.delay = d }
}

// WithProvisioningDelayRange makes each new gateway stay "init" for a time
// drawn uniformly from [min, max] (on the clock of WithClock; reproducible
// with WithRandSeed), as real gateways take one to a few minutes each: for
// example 60 s to 300 s. max below min is taken as min.
func WithProvisioningDelayRange(min, max time.Duration) Option {
	return func(s *settings) { s.delay, s.delayMax = min, max }
}

// WithDeletionDelay sets how long a deleted gateway stays "deleting" before it
// disappears; zero (the default) removes it at once.
func WithDeletionDelay(d time.Duration) Option {
	return func(s *settings) { s.deleteDelay = d }
}

// WithClock sets the clock of the emulated service: provisioning, deletion,
// rate-limit windows and the creation and expiry times it reports. Tests pass
// a clock they can advance. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(s *settings) {
		if now != nil {
			s.clock = now
		}
	}
}

// WithAuthClock sets the clock the request Timestamp, SignatureNonce and STS
// expiry are checked against. It defaults to the wall clock and is separate
// from WithClock because SDKs stamp requests with the wall clock, which a
// test that advances the service clock by hours cannot move. A nil clock is
// ignored.
func WithAuthClock(now func() time.Time) Option {
	return func(s *settings) {
		if now != nil {
			s.authClock = now
		}
	}
}

// WithGatewayQuota limits the gateways that can exist in each region; beyond
// it CreateVpnGateway answers Resource.QuotaFull. Zero means no limit.
func WithGatewayQuota(perRegion int) Option {
	return func(s *settings) { s.quota = perRegion }
}

// WithRateLimit limits action to perMinute calls per region and clock minute;
// beyond it the call is answered Throttling.User. An empty action sets the
// limit of every action that has no limit of its own. Zero means no limit,
// also for an action that the empty action's limit would otherwise cover.
func WithRateLimit(action string, perMinute int) Option {
	return func(s *settings) { s.limits[action] = perMinute }
}

// WithRateLimits sets several limits at once, as WithRateLimit does; pass
// DefaultRateLimits() for the documented quotas.
func WithRateLimits(limits map[string]int) Option {
	return func(s *settings) {
		for a, n := range limits {
			s.limits[a] = n
		}
	}
}

// WithFaults sets the initial faults (see Server.SetFaults).
func WithFaults(f Faults) Option {
	return func(s *settings) { s.faults = f }
}

// WithRandSeed makes IDs, order numbers, request IDs and fault decisions
// reproducible.
func WithRandSeed(seed uint64) Option {
	return func(s *settings) { s.randSeed, s.seeded = seed, true }
}

// WithSite sets the account's site (default SiteChina).
func WithSite(site Site) Option {
	return func(s *settings) { s.site = site }
}

// WithLogger logs one line per API call (action, region, outcome); it never
// logs signatures, secrets or security tokens. The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) {
		if l != nil {
			s.logger = l
		}
	}
}

// ThrottleHeaders says which headers a Throttling.User answer carries.
type ThrottleHeaders int

const (
	// BothThrottleHeaders sends x-ratelimit-user-api and x-acs-retry-after,
	// as the service does.
	BothThrottleHeaders ThrottleHeaders = iota
	// RateLimitHeaderOnly sends only x-ratelimit-user-api (TimeLeft in
	// milliseconds).
	RateLimitHeaderOnly
	// RetryAfterHeaderOnly sends only x-acs-retry-after (milliseconds).
	RetryAfterHeaderOnly
)

// WithThrottleHeaders picks the headers of throttling answers, so that a
// test can check a client that reads either style alone.
func WithThrottleHeaders(h ThrottleHeaders) Option {
	return func(s *settings) { s.throttleHeaders = h }
}

// WithClockSpeed says that the clock of WithClock runs speed times faster
// than the wall clock, as a test's does to let minutes pass in seconds:
// the waits of throttling answers (TimeLeft, x-acs-retry-after), which a
// client waits on its own clock, are then said in wall-clock time. One (the
// default) leaves them as they are.
func WithClockSpeed(speed int) Option {
	return func(s *settings) {
		if speed >= 1 {
			s.clockSpeed = speed
		}
	}
}
