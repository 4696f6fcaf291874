package vpcclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/cloud"
	"github.com/vpngw/vpngw/internal/pause"
)

// APIVersion is the VPC API version every call names.
const APIVersion = "2016-04-28"

// Actions this package calls. The RAM policy in deploy/ grants exactly these.
const (
	ActionCreateVpnGateway    = "CreateVpnGateway"
	ActionDescribeVpnGateways = "DescribeVpnGateways"
	ActionDeleteVpnGateway    = "DeleteVpnGateway"
)

// Actions lists every VPC API action the code can call.
var Actions = []string{ActionCreateVpnGateway, ActionDescribeVpnGateways, ActionDeleteVpnGateway}

// Config configures a Client.
type Config struct {
	// Endpoint overrides the API endpoint ("http://127.0.0.1:9300", or a host
	// name for https). Empty: the SDK's endpoint for each region.
	Endpoint string
	// Credentials used when the context carries none (local stack, tests).
	Credentials cloud.Credentials
	// Rates limits calls per region and action (calls per second; 0 = none).
	// The API's quotas are per account, region and action.
	Rates map[string]float64
	// Limiter spaces the calls Rates allows. Nil: a limiter of this
	// process's own (InstanceLimiter); SharedLimiter shares the rates with
	// every instance that uses the same database.
	Limiter Limiter
	// MaxAttempts bounds retries of one call (within the context's deadline).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the jittered exponential backoff.
	BaseDelay, MaxDelay time.Duration
	// CallTimeout bounds one HTTP attempt.
	CallTimeout time.Duration
	// RootCAs verifies the endpoint's certificate instead of the system's
	// roots (VPNGW_CA_FILE). Nil: the system's roots.
	RootCAs *x509.CertPool
	// Book shares the rates learned from throttling (see Learning) with
	// every instance that uses the same database. Nil: this process learns
	// alone.
	Book RateBook
	// Learning shapes the learned rates; the zero value is the default.
	Learning Learning
	// Log receives what learning decides. Nil: discarded.
	Log *slog.Logger
}

// DefaultRates are the VPC API's documented per-account quotas, per region:
// CreateVpnGateway 60 calls a minute, DescribeVpnGateway 600 (the plural is
// not listed; the same is assumed). DeleteVpnGateway is not listed either
// and is given CreateVpnGateway's.
var DefaultRates = map[string]float64{
	ActionCreateVpnGateway:    1,
	ActionDescribeVpnGateways: 10,
	ActionDeleteVpnGateway:    1,
}

// Client calls the VPC API. It is safe for concurrent use and meant to live
// as long as the process: its SDK clients (and their connections) and rate
// limiters are reused across invocations of a warm instance.
type Client struct {
	cfg    Config
	scheme string
	domain string

	mu        sync.Mutex
	pool      []*sdk.Client
	poolCreds cloud.Credentials

	calls sync.Map // action → *atomic.Int64: HTTP attempts made

	learn *learner
}

// New builds a Client. It refuses an endpoint it cannot parse.
func New(cfg Config) (*Client, error) {
	c := &Client{cfg: cfg}
	if c.cfg.MaxAttempts <= 0 {
		c.cfg.MaxAttempts = 8
	}
	if c.cfg.BaseDelay <= 0 {
		c.cfg.BaseDelay = 200 * time.Millisecond
	}
	if c.cfg.MaxDelay <= 0 {
		c.cfg.MaxDelay = 5 * time.Second
	}
	if c.cfg.CallTimeout <= 0 {
		c.cfg.CallTimeout = 10 * time.Second
	}
	if c.cfg.Limiter == nil {
		c.cfg.Limiter = NewInstanceLimiter()
	}
	if c.cfg.Rates == nil {
		c.cfg.Rates = DefaultRates
	}
	c.learn = newLearner(cfg.Book, cfg.Learning, cfg.Log)
	if cfg.Endpoint != "" {
		ep := cfg.Endpoint
		if !strings.Contains(ep, "://") {
			ep = "https://" + ep
		}
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("VPC endpoint %q: want http(s)://host[:port] or a host name", cfg.Endpoint)
		}
		c.scheme, c.domain = u.Scheme, u.Host
	}
	return c, nil
}

// Calls reports how many HTTP attempts this client made for action.
func (c *Client) Calls(action string) int64 {
	if v, ok := c.calls.Load(action); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (c *Client) countCall(action string) {
	v, _ := c.calls.LoadOrStore(action, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// acquire hands out an SDK client for the credentials in effect, for one
// call. The SDK's client is not safe for concurrent calls (each call writes
// its timeouts into the client's shared http.Client), so every call in flight
// has its own, taken from a free list that is kept while the credentials stay
// the same (STS credentials rotate between invocations).
func (c *Client) acquire(ctx context.Context) (*sdk.Client, cloud.Credentials, error) {
	creds, ok := cloud.CredentialsFrom(ctx)
	if !ok {
		creds = c.cfg.Credentials
	}
	if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
		return nil, creds, &cloud.Error{Action: "sign", Kind: cloud.Operator, Code: "MissingCredentials",
			Message: "no access key: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or run with a function role"}
	}
	c.mu.Lock()
	if c.poolCreds == creds && len(c.pool) > 0 {
		cl := c.pool[len(c.pool)-1]
		c.pool = c.pool[:len(c.pool)-1]
		c.mu.Unlock()
		return cl, creds, nil
	}
	c.mu.Unlock()
	var (
		cl  *sdk.Client
		err error
	)
	// The client's own region only matters for endpoint lookup, and every
	// request names its region, so any region will do here.
	var credential auth.Credential = credentials.NewAccessKeyCredential(creds.AccessKeyID, creds.AccessKeySecret)
	if creds.SecurityToken != "" {
		credential = credentials.NewStsTokenCredential(creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
	}
	// The SDK's own retry stays off (its default): it repeats at once,
	// without backoff, and never on throttling; call does better.
	sc := sdk.NewConfig()
	if c.cfg.RootCAs != nil {
		// Each SDK client gets its own transport: the SDK writes into its
		// transport's TLS settings on every call.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: c.cfg.RootCAs, MinVersion: tls.VersionTLS12}
		sc = sc.WithHttpTransport(tr)
	}
	cl, err = sdk.NewClientWithOptions("cn-hangzhou", sc, credential)
	if err != nil {
		return nil, creds, fmt.Errorf("build VPC API client: %w", err)
	}
	return cl, creds, nil
}

// release returns cl to the free list, unless the credentials changed
// meanwhile (then it is dropped with the old credentials).
func (c *Client) release(cl *sdk.Client, creds cloud.Credentials) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.poolCreds != creds {
		c.poolCreds, c.pool = creds, nil
	}
	if len(c.pool) < maxPooled {
		c.pool = append(c.pool, cl)
	}
}

// maxPooled bounds idle SDK clients (each keeps its own connections).
const maxPooled = 16

// call sends one RPC action with params, retrying transient failures with
// jittered exponential backoff while the context allows, and decodes the JSON
// answer into out. Every attempt sends the same params, so an idempotency
// token in them is reused.
func (c *Client) call(ctx context.Context, region, action string, params map[string]string, out any) error {
	var last *cloud.Error
	key := region + "/" + action
	configured := c.cfg.Rates[action]
	for attempt := 1; attempt <= c.cfg.MaxAttempts; attempt++ {
		perSec, err := c.start(ctx, key, configured)
		if err != nil {
			if ce := (*cloud.Error)(nil); errors.As(err, &ce) {
				ce.Action = action
				return ce
			}
			e := c.giveUp(action, last, err)
			// Nothing of this call reached the API when no attempt
			// was made.
			if ce := (*cloud.Error)(nil); errors.As(e, &ce) && last == nil {
				ce.Unsent = true
			}
			return e
		}
		started := time.Now()
		body, err := c.once(ctx, region, action, params)
		if err == nil {
			c.learn.sent(key, started)
			if err := json.Unmarshal(body, out); err != nil {
				return &cloud.Error{Action: action, Kind: cloud.Transient, Code: "BadResponse", Message: "decode answer: " + err.Error()}
			}
			return nil
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return c.giveUp(action, last, err)
		}
		if !errors.As(err, &last) {
			last = classify(action, err, cloud.Credentials{})
		}
		last.Attempts = attempt
		if last.Kind == cloud.Throttled && configured > 0 {
			// The API's quota is below the rate in force: lower it, for
			// every instance, and wait for the API's window to end.
			resume := c.learn.throttled(ctx, key, perSec, configured, last.RetryAfter, time.Now())
			last.RetryAfter = max(last.RetryAfter, time.Until(resume))
		} else if last.Kind == cloud.Permanent && last.HTTPStatus != 0 {
			c.learn.sent(key, started) // answered, and counted by the API
		}
		// An operator fault does not pass while the call waits: the
		// credentials stay what they are until someone changes them.
		if last.Kind == cloud.Permanent || last.Kind == cloud.Operator || attempt == c.cfg.MaxAttempts {
			return last
		}
		wait := c.backoff(attempt)
		if last.RetryAfter > wait {
			wait = last.RetryAfter + time.Duration(rand.Int64N(int64(c.cfg.BaseDelay)))
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlast the invocation: hand the failure back now
			// so that the caller can record it while there is time.
			return last
		}
		if err := pause.For(ctx, wait); err != nil {
			return c.giveUp(action, last, err)
		}
	}
	return last
}

// start waits until a call under key may start: after the end of a window
// the API throttled, then at the rate in force (configured, or lower when
// learned from throttling). It returns that rate (0: no limit), or an error
// when the start would come after ctx's deadline.
func (c *Client) start(ctx context.Context, key string, configured float64) (float64, error) {
	if configured <= 0 {
		return 0, nil
	}
	for {
		perSec, resume := c.learn.rate(ctx, key, configured, time.Now())
		if wait := time.Until(resume); wait > 0 {
			if dl, ok := ctx.Deadline(); ok && dl.Before(resume) {
				return 0, &NoSlotError{Key: key, Wait: wait}
			}
			if err := pause.For(ctx, wait); err != nil {
				return 0, err
			}
		}
		if err := c.cfg.Limiter.Wait(ctx, key, perSec); err != nil {
			return 0, err
		}
		// A throttle met meanwhile (by another call) pauses this one
		// too: its start was reserved at the old rate.
		if _, r := c.learn.rate(ctx, key, configured, time.Now()); !r.After(resume) || !r.After(time.Now()) {
			return perSec, nil
		}
	}
}

func (c *Client) giveUp(action string, last *cloud.Error, err error) error {
	if last != nil {
		return last
	}
	return &cloud.Error{Action: action, Kind: cloud.Transient, Code: "Deadline", Message: err.Error()}
}

// backoff is "full jitter": uniform in [0, min(max, base·2^(attempt-1))].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BaseDelay << (attempt - 1)
	if d <= 0 || d > c.cfg.MaxDelay {
		d = c.cfg.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(d))) + time.Millisecond
}

// once makes one HTTP attempt; a failed attempt is a *cloud.Error, or the
// context's error. The SDK takes no context, so the attempt runs
// with a read timeout no longer than what is left of the context, and the
// caller stops waiting when the context ends.
func (c *Client) once(ctx context.Context, region, action string, params map[string]string) ([]byte, error) {
	cl, creds, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	req := requests.NewCommonRequest()
	req.Method = "POST"
	req.Product = "Vpc"
	req.Version = APIVersion
	req.ApiName = action
	req.RegionId = region
	if c.domain != "" {
		req.Domain = c.domain
		req.Scheme = c.scheme
	} else {
		req.Scheme = "https"
	}
	timeout := c.cfg.CallTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	req.SetConnectTimeout(min(timeout, 5*time.Second))
	req.SetReadTimeout(timeout)
	// The generated SDK requests send every parameter in the query
	// (position:"Query"); so does this. The SDK adds its own (Action,
	// Version, Timestamp, the signature's) to the same map: it is made
	// large enough for them all at once, not grown step by step.
	qp := make(map[string]string, len(params)+sdkQueryParams)
	qp["RegionId"] = region
	for k, v := range params {
		qp[k] = v
	}
	req.QueryParams = qp
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	c.countCall(action)
	go func() {
		resp, err := cl.ProcessCommonRequest(req)
		c.release(cl, creds)
		if err != nil {
			// Classified here, where the credentials are known, so that
			// no text of the SDK's leaves this package unscrubbed.
			done <- result{err: classify(action, err, creds)}
			return
		}
		done <- result{body: resp.GetHttpContentBytes()}
	}()
	select {
	case r := <-done:
		return r.body, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sdkQueryParams is how many query parameters the SDK adds to a call's own
// to sign it (Format, Version, Action, Timestamp, SignatureMethod,
// SignatureType, SignatureVersion, SignatureNonce, AccessKeyId,
// SecurityToken, Signature), with room to spare.
const sdkQueryParams = 12

// CreateResult is what CreateVpnGateway answers.
type CreateResult struct {
	VpnGatewayID string
	Name         string
	OrderID      int64
	RequestID    string
}

// CreateVpnGateway asks for a gateway. clientToken makes the call idempotent:
// every retry, and every redelivery of the same request, sends the same one.
func (c *Client) CreateVpnGateway(ctx context.Context, r events.GatewayRequest, clientToken string) (CreateResult, error) {
	p := CreateParams(r, clientToken)
	var out struct {
		VpnGatewayId string
		Name         string
		OrderId      json.Number
		RequestId    string
	}
	if err := c.call(ctx, r.RegionId, ActionCreateVpnGateway, p, &out); err != nil {
		return CreateResult{}, err
	}
	res := CreateResult{VpnGatewayID: out.VpnGatewayId, Name: out.Name, RequestID: out.RequestId}
	if out.OrderId != "" {
		n, err := out.OrderId.Int64()
		if err != nil {
			return res, &cloud.Error{Action: ActionCreateVpnGateway, Kind: cloud.Permanent, Code: "BadResponse", Message: "OrderId " + out.OrderId.String()}
		}
		res.OrderID = n
	}
	if res.VpnGatewayID == "" {
		return res, &cloud.Error{Action: ActionCreateVpnGateway, Kind: cloud.Transient, Code: "BadResponse", Message: "answer has no VpnGatewayId", RequestID: out.RequestId}
	}
	return res, nil
}

// CreateParams maps a request to the API's parameters, as the SDK's
// generated CreateVpnGatewayRequest would send them.
func CreateParams(r events.GatewayRequest, clientToken string) map[string]string {
	p := map[string]string{"VpcId": r.VpcId, "ClientToken": clientToken}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	setInt := func(k string, v *int) {
		if v != nil {
			p[k] = strconv.Itoa(*v)
		}
	}
	setBool := func(k string, v *bool) {
		if v != nil {
			p[k] = strconv.FormatBool(*v)
		}
	}
	setInt("Bandwidth", r.Bandwidth)
	set("Name", r.Name)
	set("InstanceChargeType", r.InstanceChargeType)
	setInt("Period", r.Period)
	setBool("AutoPay", r.AutoPay)
	setBool("EnableIpsec", r.EnableIpsec)
	setBool("EnableSsl", r.EnableSsl)
	setInt("SslConnections", r.SslConnections)
	set("VSwitchId", r.VSwitchId)
	set("VpnType", r.VpnType)
	set("NetworkType", r.NetworkType)
	set("DisasterRecoveryVSwitchId", r.DisasterRecoveryVSwitchId)
	set("ResourceGroupId", r.ResourceGroupId)
	for i, t := range r.Tags {
		n := strconv.Itoa(i + 1)
		// The generated SDK request names this repeated parameter "Tags"
		// (services/vpc/create_vpn_gateway.go), so it goes out as Tags.N.Key.
		p["Tags."+n+".Key"] = t.Key
		p["Tags."+n+".Value"] = t.Value
	}
	return p
}
