package vpcsim

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/pause"
)

const (
	actionCreate       = "CreateVpnGateway"
	actionDescribe     = "DescribeVpnGateway"
	actionDescribeList = "DescribeVpnGateways"
	actionDelete       = "DeleteVpnGateway"
)

var knownActions = map[string]bool{
	actionCreate: true, actionDescribe: true, actionDescribeList: true, actionDelete: true,
}

// Server emulates the VPN-gateway part of the VPC API. It is an
// http.Handler: mount it on any listener, httptest.Server included, or call
// Start. Paths under /_admin/ are the admin interface (see doc.go); every
// other request is an API call. A Server is safe for concurrent use.
type Server struct {
	clock       func() time.Time
	authClock   func() time.Time
	log         *slog.Logger
	delay       time.Duration
	delayMax    time.Duration // above delay: each gateway's delay is drawn from [delay, delayMax]
	deleteDelay time.Duration
	quota       int
	limits      map[string]int
	site        Site

	throttleHeaders ThrottleHeaders
	clockSpeed      int

	regions    map[string]bool
	vpcs       map[string]VPC
	vswitches  map[string]VSwitch
	dual       map[string]bool
	singleZone map[string]bool

	// credMu guards creds: keys can be rotated, disabled or removed while
	// the emulator runs (SetAccessKey, RemoveAccessKey).
	credMu sync.RWMutex
	creds  map[string]Credential

	// mu guards the emulated world below; API calls hold it while they run,
	// which makes each call atomic, as idempotent creation needs.
	mu        sync.Mutex
	rng       *rand.Rand
	gateways  map[string]*gatewayState
	seq       int64
	tokens    map[string]tokenRecord
	calls     map[string]int
	throttled map[string]int
	windows   map[windowKey]*window
	faults    Faults
	ipSeq     uint32

	nonceMu   sync.Mutex
	nonces    map[string]time.Time
	lastSweep time.Time

	admin http.Handler
}

// New returns a Server configured by opts. It panics if the seed is
// inconsistent (a vSwitch in an unknown VPC, say), since that is a
// programming error in the caller's setup, not a runtime condition.
func New(opts ...Option) *Server {
	st := defaultSettings()
	for _, o := range opts {
		o(&st)
	}
	if err := st.seed.Validate(); err != nil {
		panic(fmt.Sprintf("vpcsim.New: %v", err))
	}
	if err := st.faults.validate(); err != nil {
		panic(fmt.Sprintf("vpcsim.New: %v", err))
	}
	if len(st.creds) == 0 {
		st.creds = []Credential{{AccessKeyID: DefaultAccessKeyID, AccessKeySecret: DefaultAccessKeySecret}}
	}
	var src rand.Source
	if st.seeded {
		src = rand.NewPCG(st.randSeed, st.randSeed^0x9e3779b97f4a7c15)
	} else {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	s := &Server{
		clock:       st.clock,
		authClock:   st.authClock,
		log:         st.logger,
		delay:       st.delay,
		delayMax:    st.delayMax,
		deleteDelay: st.deleteDelay,
		quota:       st.quota,
		limits:      map[string]int{},
		site:        st.site,

		throttleHeaders: st.throttleHeaders,
		clockSpeed:      st.clockSpeed,
		regions:         map[string]bool{},
		vpcs:            map[string]VPC{},
		vswitches:       map[string]VSwitch{},
		dual:            map[string]bool{},
		singleZone:      map[string]bool{},
		creds:           map[string]Credential{},
		rng:             rand.New(src),
		gateways:        map[string]*gatewayState{},
		tokens:          map[string]tokenRecord{},
		calls:           map[string]int{},
		throttled:       map[string]int{},
		windows:         map[windowKey]*window{},
		faults:          st.faults,
		nonces:          map[string]time.Time{},
	}
	// Zeros are kept: an action's 0 lifts the limit "" would give it.
	for a, n := range st.limits {
		if n >= 0 {
			s.limits[a] = n
		}
	}
	for _, r := range st.seed.Regions {
		s.regions[r] = true
	}
	for _, v := range st.seed.VPCs {
		s.vpcs[v.ID] = v
	}
	for _, v := range st.seed.VSwitches {
		s.vswitches[v.ID] = v
	}
	for _, r := range st.dual {
		s.dual[r] = true
	}
	for _, r := range st.singleZone {
		s.singleZone[r] = true
	}
	for _, c := range st.creds {
		s.creds[c.AccessKeyID] = c
	}
	s.admin = s.adminHandler()
	return s
}

// Start listens on addr (":0" picks a free port) and serves in the
// background. It returns the host:port to put in an SDK request's Domain and
// a function that shuts the listener down.
func (s *Server) Start(addr string) (hostPort string, shutdown func(context.Context) error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("vpcsim: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("vpcsim: serve stopped", "err", err)
		}
	}()
	return ln.Addr().String(), srv.Shutdown, nil
}

// ServeHTTP answers one API or admin request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_admin/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	faults := s.CurrentFaults()
	if faults.Latency > 0 && pause.For(r.Context(), faults.Latency) != nil {
		return
	}

	requestID := s.newRequestID()
	req, aerr := parseRequest(r)
	format := req.format
	var resp any
	if aerr == nil {
		resp, aerr = s.handle(req, requestID)
	}

	attrs := []any{"request_id", requestID, "action", req.action, "region", req.params["RegionId"], "duration", time.Since(start)}
	if aerr != nil {
		s.log.Info("vpcsim: call refused", append(attrs, "code", aerr.code, "status", aerr.status)...)
		s.writeError(w, r, format, requestID, aerr)
		return
	}
	if req.action == actionCreate && s.roll(func(f Faults) float64 { return f.LostCreateRate }) {
		// The gateway now exists, but the caller never learns its ID: the
		// failure the ClientToken exists for.
		s.log.Info("vpcsim: answer dropped by fault injection", attrs...)
		dropConnection(w)
		return
	}
	s.log.Info("vpcsim: call answered", attrs...)
	s.writeOK(w, format, requestID, resp)
}

// handle runs an authenticated API call through the faults, the rate limit
// and its handler.
func (s *Server) handle(req *apiRequest, requestID string) (any, *apiError) {
	if aerr := checkCommon(req); aerr != nil {
		return nil, aerr
	}
	if aerr := s.authenticate(req); aerr != nil {
		return nil, aerr
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[req.action]++
	now := s.clock()
	region := req.params["RegionId"]

	if s.rollLocked(s.faults.ThrottleRate) {
		s.throttled[req.action]++
		until := now.Truncate(time.Minute).Add(time.Minute)
		if w := s.faults.ThrottleWait; w > 0 && now.Add(w).Before(until) {
			until = now.Add(w)
		}
		return nil, errThrottled(s.throttleHeaders, s.clockSpeed, s.limitFor(req.action), now, until)
	}
	if s.rollLocked(s.faults.ServerErrorRate) {
		// Both server failures the VPC docs say are worth a retry.
		if s.rng.IntN(2) == 0 {
			return nil, errInternal()
		}
		return nil, errUnavailable()
	}
	if aerr := s.takeRateToken(region, req.action, now); aerr != nil {
		s.throttled[req.action]++
		return nil, aerr
	}

	switch req.action {
	case actionCreate:
		return s.createVpnGateway(req, requestID, now)
	case actionDescribe:
		return s.describeVpnGateway(req, requestID, now)
	case actionDescribeList:
		return s.describeVpnGateways(req, requestID, now)
	case actionDelete:
		return s.deleteVpnGateway(req, requestID, now)
	}
	return nil, errActionNotFound()
}

// windowKey names a rate-limit window: the quota is per region and API.
type windowKey struct{ region, action string }

type window struct {
	start time.Time
	count int
}

func (s *Server) limitFor(action string) int {
	if n, ok := s.limits[action]; ok {
		return n
	}
	return s.limits[""]
}

// takeRateToken counts a call against its region's per-minute window (aligned
// to clock minutes) and refuses it once the window is full.
func (s *Server) takeRateToken(region, action string, now time.Time) *apiError {
	limit := s.limitFor(action)
	if limit <= 0 {
		return nil
	}
	start := now.Truncate(time.Minute)
	k := windowKey{region, action}
	w := s.windows[k]
	if w == nil || !w.start.Equal(start) {
		w = &window{start: start}
		s.windows[k] = w
	}
	if w.count >= limit {
		return errThrottled(s.throttleHeaders, s.clockSpeed, limit, now, start.Add(time.Minute))
	}
	w.count++
	return nil
}

func (s *Server) rollLocked(rate float64) bool {
	return rate > 0 && s.rng.Float64() < rate
}

func (s *Server) roll(rate func(Faults) float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rollLocked(rate(s.faults))
}

// newRequestID returns a random UUID in the upper-case form the service uses.
func (s *Server) newRequestID() string {
	s.mu.Lock()
	hi, lo := s.rng.Uint64(), s.rng.Uint64()
	s.mu.Unlock()
	hi = hi&^0xF000 | 0x4000     // version 4
	lo = lo&^(0xC<<60) | 0x8<<60 // RFC 4122 variant
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, hi>>16&0xFFFF, hi&0xFFFF, lo>>48, lo&0xFFFFFFFFFFFF))
}

// dropConnection closes the client's connection without an answer. Hijacking
// works on HTTP/1; elsewhere aborting the handler has the same effect.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// errorBody is the error answer: the same fields in JSON and XML.
type errorBody struct {
	XMLName   xml.Name `json:"-" xml:"Error"`
	RequestID string   `json:"RequestId" xml:"RequestId"`
	HostID    string   `json:"HostId" xml:"HostId"`
	Code      string   `json:"Code" xml:"Code"`
	Message   string   `json:"Message" xml:"Message"`
	Recommend string   `json:"Recommend" xml:"Recommend"`
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, format, requestID string, e *apiError) {
	for k, vs := range e.header {
		w.Header()[k] = vs
	}
	body := errorBody{
		RequestID: requestID,
		HostID:    r.Host,
		Code:      e.code,
		Message:   e.message,
		Recommend: "https://api.aliyun.com/troubleshoot?q=" + e.code + "&product=Vpc&requestId=" + requestID,
	}
	s.write(w, format, requestID, e.status, body)
}

func (s *Server) writeOK(w http.ResponseWriter, format, requestID string, resp any) {
	s.write(w, format, requestID, http.StatusOK, resp)
}

func (s *Server) write(w http.ResponseWriter, format, requestID string, status int, v any) {
	var buf bytes.Buffer
	if format == "XML" {
		buf.WriteString(xml.Header)
		if err := xml.NewEncoder(&buf).Encode(v); err != nil {
			s.log.Error("vpcsim: encode XML answer", "err", err)
		}
		w.Header().Set("Content-Type", "application/xml;charset=utf-8")
	} else {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			s.log.Error("vpcsim: encode JSON answer", "err", err)
		}
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
	}
	w.Header().Set("x-acs-request-id", requestID)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
