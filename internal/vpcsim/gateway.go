package vpcsim

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Gateway statuses and business statuses as the API reports them.
const (
	StatusInit         = "init"
	StatusProvisioning = "provisioning"
	StatusActive       = "active"
	StatusUpdating     = "updating"
	StatusDeleting     = "deleting"

	BusinessNormal          = "Normal"
	BusinessFinancialLocked = "FinancialLocked"
)

// payAsYouGoEndTime is the expiry the service reports for pay-as-you-go
// resources: 2099-12-31 23:59:59 in UTC+8, in milliseconds.
const payAsYouGoEndTime = 4102415999000

// maxTags is the documented limit of tags per resource and per call.
const maxTags = 20

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key" xml:"Key"`
	Value string `json:"Value" xml:"Value"`
}

// Gateway is a snapshot of one emulated VPN gateway, as the admin interface
// reports it. JSON names follow the API's.
type Gateway struct {
	ID                         string    `json:"VpnGatewayId"`
	RegionID                   string    `json:"RegionId"`
	Name                       string    `json:"Name"`
	VPCID                      string    `json:"VpcId"`
	VSwitchID                  string    `json:"VSwitchId"`
	DisasterRecoveryVSwitchID  string    `json:"DisasterRecoveryVSwitchId"`
	Status                     string    `json:"Status"`
	BusinessStatus             string    `json:"BusinessStatus"`
	Bandwidth                  int       `json:"Bandwidth"`
	NetworkType                string    `json:"NetworkType"`
	VpnType                    string    `json:"VpnType"`
	ChargeType                 string    `json:"ChargeType"`
	EnableIpsec                bool      `json:"EnableIpsec"`
	EnableSsl                  bool      `json:"EnableSsl"`
	SslConnections             int       `json:"SslConnections"`
	InternetIP                 string    `json:"InternetIp"`
	DisasterRecoveryInternetIP string    `json:"DisasterRecoveryInternetIp"`
	SslVpnInternetIP           string    `json:"SslVpnInternetIp"`
	EniInstanceIDs             []string  `json:"EniInstanceIds"`
	ResourceGroupID            string    `json:"ResourceGroupId"`
	Tags                       []Tag     `json:"Tags"`
	CreateTime                 time.Time `json:"CreateTime"`
	EndTime                    time.Time `json:"EndTime"`
	OrderID                    int64     `json:"OrderId"`
	ClientToken                string    `json:"ClientToken"`
	// ReadyAt is when the gateway turns (or turned) active: its creation
	// and its provisioning delay. The API does not say it; benchmarks
	// measure from it.
	ReadyAt time.Time `json:"ReadyAt"`
	// IpsecConnections counts the IPsec-VPN connections attached to the
	// gateway (SetIpsecConnections): DeleteVpnGateway refuses a gateway
	// that has any.
	IpsecConnections int `json:"IpsecConnections"`
}

func (g Gateway) clone() Gateway {
	g.Tags = slices.Clone(g.Tags)
	g.EniInstanceIDs = slices.Clone(g.EniInstanceIDs)
	return g
}

type gatewayState struct {
	Gateway
	seq     int64
	readyAt time.Time
	goneAt  time.Time
}

// tokenRecord remembers a ClientToken's first call: the parameters it came
// with and what it answered.
type tokenRecord struct {
	fingerprint string
	gatewayID   string
	name        string
	orderID     int64
}

// settleLocked applies the passage of time lazily: gateways whose
// provisioning delay has run out become active, deleted ones disappear.
func (s *Server) settleLocked(now time.Time) {
	for id, g := range s.gateways {
		switch {
		case g.Status == StatusInit && !now.Before(g.readyAt):
			s.activateLocked(g)
		case g.Status == StatusDeleting && !now.Before(g.goneAt):
			delete(s.gateways, id)
		}
	}
}

// activateLocked finishes provisioning: the gateway gets its addresses and
// network interfaces, one per vSwitch, as a real one does.
func (s *Server) activateLocked(g *gatewayState) {
	g.Status = StatusActive
	private := g.NetworkType == "private"
	g.InternetIP = s.nextIPLocked(private)
	if g.DisasterRecoveryVSwitchID != "" {
		g.DisasterRecoveryInternetIP = s.nextIPLocked(private)
	}
	if g.EnableSsl {
		g.SslVpnInternetIP = s.nextIPLocked(private)
	}
	g.EniInstanceIDs = []string{"eni-" + s.idBodyLocked(g.RegionID)}
	if g.DisasterRecoveryVSwitchID != "" {
		g.EniInstanceIDs = append(g.EniInstanceIDs, "eni-"+s.idBodyLocked(g.RegionID))
	}
}

// nextIPLocked hands out addresses from the benchmarking range 198.18.0.0/15
// for public gateways and from 172.16.0.0/12 for private ones, so that no
// emulated address is someone's real one.
func (s *Server) nextIPLocked(private bool) string {
	for {
		s.ipSeq++
		n := s.ipSeq
		if last := n & 0xFF; last == 0 || last == 0xFF {
			continue
		}
		if private {
			return fmt.Sprintf("172.%d.%d.%d", 16+(n>>16)&0xF, n>>8&0xFF, n&0xFF)
		}
		return fmt.Sprintf("198.%d.%d.%d", 18+(n>>16)&1, n>>8&0xFF, n&0xFF)
	}
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// idBodyLocked is what follows "vpn-", "eni-" and the like: the region's
// three-character prefix and 18 random characters.
func (s *Server) idBodyLocked(region string) string {
	var b strings.Builder
	p, ok := regionPrefix[region]
	if !ok {
		for range 3 {
			b.WriteByte(idAlphabet[s.rng.IntN(len(idAlphabet))])
		}
	}
	b.WriteString(p)
	for range 18 {
		b.WriteByte(idAlphabet[s.rng.IntN(len(idAlphabet))])
	}
	return b.String()
}

// regionLocked reads and checks RegionId.
func (s *Server) regionLocked(p map[string]string) (string, *apiError) {
	region := p["RegionId"]
	if region == "" {
		return "", errMissing("RegionId")
	}
	if !s.regions[region] {
		return "", errRegionNotFound()
	}
	return region, nil
}

func intParam(p map[string]string, name string, def int) (int, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	// Digits only, as the service parses them: Go's Atoi would also take a
	// leading "+".
	if !integerText.MatchString(v) {
		return 0, errInvalidParam(name, "It must be an integer.")
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errInvalidParam(name, "It must be an integer.")
	}
	return n, nil
}

var integerText = regexp.MustCompile(`^-?[0-9]{1,10}$`)

func boolParam(p map[string]string, name string, def bool) (bool, *apiError) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	// Lower case only, as the SDKs send them and the service takes them.
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errInvalidParam(name, "Valid values: true, false (lower case).")
}

func checkClientToken(token string) *apiError {
	if len(token) > 64 {
		return errInvalidParam("ClientToken", "It can be at most 64 characters long.")
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x20 || token[i] > 0x7E {
			return errInvalidParam("ClientToken", "It can contain only printable ASCII characters.")
		}
	}
	return nil
}

// fingerprint is a canonical form of the operation's parameters, to tell a
// retry of a call from a different call with the same ClientToken.
func fingerprint(params map[string]string) string {
	keys := slices.Sorted(maps.Keys(params))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Quote(k))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(params[k]))
		b.WriteByte('&')
	}
	return b.String()
}

// validName applies the documented name rule: 2 to 100 characters, starting
// with an English letter, made of English letters, digits, "_", "-" and ".",
// and not a URL. Chinese characters (U+4E00 to U+9FA5) count as letters, as
// the ROS reference of the same API allows; other scripts' letters (é, я,
// full-width ｖ) do not.
func validName(name string) bool {
	n := utf8.RuneCountInString(name)
	if n < 2 || n > 100 || strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") {
		return false
	}
	for i, r := range name {
		letter := 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || 0x4E00 <= r && r <= 0x9FA5
		if i == 0 && !letter {
			return false
		}
		if !letter && !('0' <= r && r <= '9') && r != '_' && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

// resourceGroupText is the form of a resource group ID.
var resourceGroupText = regexp.MustCompile(`^rg-[a-z0-9]{1,40}$`)

func errResourceGroup() *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidResourceGroupId", "The specified ResourceGroupId does not exist.")
}

// tagParam is one Tag.N (or Tags.N) pair of a request.
type tagParam struct {
	key, value string
	hasValue   bool
}

// parseTags collects Tag.N.Key/Value and Tags.N.Key/Value (the typed SDK
// sends the second form for CreateVpnGateway) in index order and checks the
// documented limits: at most 20 tags, keys of 1 to 64 characters and values
// of up to 128, neither starting with "aliyun" or "acs:" nor containing
// "http://" or "https://", and no key twice.
func parseTags(p map[string]string) ([]tagParam, *apiError) {
	type idx struct {
		form string
		n    int
	}
	byIdx := map[idx]*tagParam{}
	for k, v := range p {
		form, rest, ok := strings.Cut(k, ".")
		if !ok || (form != "Tag" && form != "Tags") {
			continue
		}
		num, field, ok := strings.Cut(rest, ".")
		if !ok || (field != "Key" && field != "Value") {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || strconv.Itoa(n) != num {
			return nil, errTagKey()
		}
		if n > maxTags {
			return nil, errTagNum()
		}
		t := byIdx[idx{form, n}]
		if t == nil {
			t = &tagParam{}
			byIdx[idx{form, n}] = t
		}
		if field == "Key" {
			t.key = v
		} else {
			t.value, t.hasValue = v, true
		}
	}
	forms := map[string]bool{}
	for k := range byIdx {
		forms[k.form] = true
	}
	if len(forms) > 1 {
		// One request names its tags one way: Tag.N (the API reference)
		// or Tags.N (the typed SDK's CreateVpnGatewayRequest), never both.
		return nil, errInvalidParam("Tag", "Tag.N and Tags.N cannot be used in the same request.")
	}
	if len(byIdx) > maxTags {
		return nil, errTagNum()
	}
	keys := make([]idx, 0, len(byIdx))
	for k := range byIdx {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b idx) int {
		if c := strings.Compare(a.form, b.form); c != 0 {
			return c
		}
		return a.n - b.n
	})
	out := make([]tagParam, 0, len(keys))
	seen := map[string]bool{}
	for _, k := range keys {
		t := *byIdx[k]
		if !validTagText(t.key, 1, 64) {
			return nil, errTagKey()
		}
		if !validTagText(t.value, 0, 128) {
			return nil, errTagValue()
		}
		if seen[t.key] {
			return nil, errTagKeyDuplicated()
		}
		seen[t.key] = true
		out = append(out, t)
	}
	return out, nil
}

func validTagText(s string, minLen, maxLen int) bool {
	n := utf8.RuneCountInString(s)
	lower := strings.ToLower(s)
	return n >= minLen && n <= maxLen &&
		!strings.HasPrefix(lower, "aliyun") && !strings.HasPrefix(lower, "acs:") &&
		!strings.Contains(lower, "http://") && !strings.Contains(lower, "https://")
}

// Documented bandwidths in Mbit/s.
var (
	publicBandwidthChina = []int{5, 10, 20, 50, 100, 200, 500, 1000}
	publicBandwidthIntl  = []int{10, 100, 200, 500, 1000}
	privateBandwidth     = []int{200, 1000}
	sslConnections       = []int{5, 10, 20, 50, 100, 200, 500, 1000}
	subscriptionPeriods  = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36}
)

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

type createResponse struct {
	XMLName      xml.Name `json:"-" xml:"CreateVpnGatewayResponse"`
	VpnGatewayID string   `json:"VpnGatewayId" xml:"VpnGatewayId"`
	RequestID    string   `json:"RequestId" xml:"RequestId"`
	Name         string   `json:"Name" xml:"Name"`
	OrderID      int64    `json:"OrderId" xml:"OrderId"`
}

// createVpnGateway validates like the service does, in the order a caller
// meets the errors: required parameters, the ClientToken (a retry of an
// accepted call is answered before anything can have changed), the values,
// then the resources the gateway needs and the quota.
func (s *Server) createVpnGateway(req *apiRequest, requestID string, now time.Time) (any, *apiError) {
	p := req.params
	region, aerr := s.regionLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	vpcID := p["VpcId"]
	if vpcID == "" {
		return nil, errMissing("VpcId")
	}
	if p["Bandwidth"] == "" {
		return nil, errMissing("Bandwidth")
	}
	bandwidth, aerr := intParam(p, "Bandwidth", 0)
	if aerr != nil {
		return nil, aerr
	}
	token := p["ClientToken"]
	if aerr := checkClientToken(token); aerr != nil {
		return nil, aerr
	}
	fp := fingerprint(req.businessParams())
	tokenKey := actionCreate + "\x00" + token
	if token != "" {
		if rec, ok := s.tokens[tokenKey]; ok {
			if rec.fingerprint != fp {
				return nil, errIdempotentMismatch()
			}
			return createResponse{VpnGatewayID: rec.gatewayID, RequestID: requestID, Name: rec.name, OrderID: rec.orderID}, nil
		}
	}

	name := p["Name"]
	if name != "" && !validName(name) {
		return nil, errInvalidName()
	}
	networkType := p["NetworkType"]
	switch networkType {
	case "":
		networkType = "public"
	case "public", "private":
	default:
		return nil, errInvalidParam("NetworkType", "Valid values: public, private.")
	}
	vpnType := p["VpnType"]
	switch vpnType {
	case "":
		vpnType = "Normal"
	case "Normal", "NationalStandard":
	default:
		return nil, errInvalidParam("VpnType", "Valid values: Normal, NationalStandard.")
	}
	enableIpsec, aerr := boolParam(p, "EnableIpsec", true)
	if aerr != nil {
		return nil, aerr
	}
	enableSsl, aerr := boolParam(p, "EnableSsl", false)
	if aerr != nil {
		return nil, aerr
	}
	if _, aerr := boolParam(p, "AutoPay", false); aerr != nil {
		return nil, aerr
	}
	if enableSsl && networkType == "private" {
		return nil, errSSLNotSupported()
	}
	allowed := publicBandwidthChina
	switch {
	case networkType == "private":
		allowed = privateBandwidth
	case s.site == SiteInternational:
		allowed = publicBandwidthIntl
	}
	if !slices.Contains(allowed, bandwidth) {
		return nil, errInvalidParam("Bandwidth", fmt.Sprintf("Valid values for a %s gateway: %s.", networkType, joinInts(allowed)))
	}
	sslConns, aerr := intParam(p, "SslConnections", 5)
	if aerr != nil {
		return nil, aerr
	}
	if !slices.Contains(sslConnections, sslConns) {
		return nil, errInvalidParam("SslConnections", "Valid values: "+joinInts(sslConnections)+".")
	}
	chargeType := p["InstanceChargeType"]
	switch chargeType {
	case "":
		chargeType = "POSTPAY"
	case "POSTPAY", "PREPAY":
	default:
		// Upper case only: the service refuses "postpay".
		return nil, errInvalidParam("InstanceChargeType", "Valid values: PREPAY, POSTPAY.")
	}
	if chargeType == "PREPAY" && s.site == SiteInternational {
		return nil, errInvalidParam("InstanceChargeType", "The international site offers POSTPAY (pay-as-you-go) only.")
	}
	if chargeType == "PREPAY" && p["Period"] == "" {
		return nil, errMissing("Period")
	}
	period, aerr := intParam(p, "Period", 1)
	if aerr != nil {
		return nil, aerr
	}
	if !slices.Contains(subscriptionPeriods, period) {
		return nil, errInvalidParam("Period", "Valid values: 1 to 9, 12, 24 and 36.")
	}
	if rg := p["ResourceGroupId"]; rg != "" && !resourceGroupText.MatchString(rg) {
		return nil, errResourceGroup()
	}
	tags, aerr := parseTags(p)
	if aerr != nil {
		return nil, aerr
	}

	if vpc, ok := s.vpcs[vpcID]; !ok || vpc.RegionID != region {
		return nil, errVPCNotFound()
	}
	vswID, drID := p["VSwitchId"], p["DisasterRecoveryVSwitchId"]
	dual := s.dual[region]
	if dual && (vswID == "" || drID == "") {
		return nil, errVSwitchNotFound()
	}
	if !dual && drID != "" {
		return nil, errInvalidParam("DisasterRecoveryVSwitchId", "Region "+region+" does not support dual-tunnel VPN gateways.")
	}
	for _, id := range []string{vswID, drID} {
		if id == "" {
			continue
		}
		if sw, ok := s.vswitches[id]; !ok || sw.RegionID != region || sw.VPCID != vpcID {
			return nil, errVSwitchNotFound()
		}
	}
	if dual && !s.singleZone[region] {
		if vswID == drID {
			return nil, errInvalidParam("DisasterRecoveryVSwitchId", "It must name a vSwitch other than VSwitchId.")
		}
		if s.vswitches[vswID].ZoneID == s.vswitches[drID].ZoneID {
			return nil, errInvalidParam("DisasterRecoveryVSwitchId", "The two vSwitches must be in different zones.")
		}
	}

	s.settleLocked(now)
	if s.quota > 0 {
		n := 0
		for _, g := range s.gateways {
			if g.RegionID == region {
				n++
			}
		}
		if n >= s.quota {
			return nil, errQuotaFull()
		}
	}

	id := "vpn-" + s.idBodyLocked(region)
	for s.gateways[id] != nil {
		id = "vpn-" + s.idBodyLocked(region)
	}
	if name == "" {
		name = id // documented default
	}
	rg := p["ResourceGroupId"]
	if rg == "" {
		rg = DefaultResourceGroupID
	}
	end := time.UnixMilli(payAsYouGoEndTime)
	if chargeType == "PREPAY" {
		end = now.AddDate(0, period, 0)
	}
	gtags := make([]Tag, len(tags))
	for i, t := range tags {
		gtags[i] = Tag{Key: t.key, Value: t.value}
	}
	s.seq++
	g := &gatewayState{
		Gateway: Gateway{
			ID:                        id,
			RegionID:                  region,
			Name:                      name,
			VPCID:                     vpcID,
			VSwitchID:                 vswID,
			DisasterRecoveryVSwitchID: drID,
			Status:                    StatusInit,
			BusinessStatus:            BusinessNormal,
			Bandwidth:                 bandwidth,
			NetworkType:               networkType,
			VpnType:                   vpnType,
			ChargeType:                chargeType,
			EnableIpsec:               enableIpsec,
			EnableSsl:                 enableSsl,
			SslConnections:            sslConns,
			ResourceGroupID:           rg,
			Tags:                      gtags,
			CreateTime:                now,
			EndTime:                   end,
			OrderID:                   2e14 + s.rng.Int64N(8e14),
			ClientToken:               token,
		},
		seq:     s.seq,
		readyAt: now.Add(s.provisioningDelayLocked()),
	}
	g.ReadyAt = g.readyAt
	s.gateways[id] = g
	if token != "" {
		s.tokens[tokenKey] = tokenRecord{fingerprint: fp, gatewayID: id, name: name, orderID: g.OrderID}
	}
	return createResponse{VpnGatewayID: id, RequestID: requestID, Name: name, OrderID: g.OrderID}, nil
}

// gatewayView is a gateway in the API's answer shape.
type gatewayView struct {
	VpnGatewayID               string  `json:"VpnGatewayId" xml:"VpnGatewayId"`
	VpcID                      string  `json:"VpcId" xml:"VpcId"`
	VSwitchID                  string  `json:"VSwitchId" xml:"VSwitchId"`
	DisasterRecoveryVSwitchID  string  `json:"DisasterRecoveryVSwitchId" xml:"DisasterRecoveryVSwitchId"`
	InternetIP                 string  `json:"InternetIp" xml:"InternetIp"`
	DisasterRecoveryInternetIP string  `json:"DisasterRecoveryInternetIp" xml:"DisasterRecoveryInternetIp"`
	SslVpnInternetIP           string  `json:"SslVpnInternetIp" xml:"SslVpnInternetIp"`
	CreateTime                 int64   `json:"CreateTime" xml:"CreateTime"`
	EndTime                    int64   `json:"EndTime" xml:"EndTime"`
	Spec                       string  `json:"Spec" xml:"Spec"`
	Name                       string  `json:"Name" xml:"Name"`
	Description                string  `json:"Description" xml:"Description"`
	Status                     string  `json:"Status" xml:"Status"`
	BusinessStatus             string  `json:"BusinessStatus" xml:"BusinessStatus"`
	ChargeType                 string  `json:"ChargeType" xml:"ChargeType"`
	IpsecVpn                   string  `json:"IpsecVpn" xml:"IpsecVpn"`
	SslVpn                     string  `json:"SslVpn" xml:"SslVpn"`
	SslMaxConnections          int64   `json:"SslMaxConnections" xml:"SslMaxConnections"`
	Tag                        string  `json:"Tag" xml:"Tag"`
	EnableBgp                  bool    `json:"EnableBgp" xml:"EnableBgp"`
	AutoPropagate              bool    `json:"AutoPropagate" xml:"AutoPropagate"`
	VpnType                    string  `json:"VpnType" xml:"VpnType"`
	NetworkType                string  `json:"NetworkType" xml:"NetworkType"`
	ResourceGroupID            string  `json:"ResourceGroupId" xml:"ResourceGroupId"`
	Tags                       tagList `json:"Tags" xml:"Tags"`
	EniInstanceIDs             eniList `json:"EniInstanceIds" xml:"EniInstanceIds"`
}

type tagList struct {
	Tag []Tag `json:"Tag" xml:"Tag"`
}

type eniList struct {
	EniInstanceID []string `json:"EniInstanceId" xml:"EniInstanceId"`
}

func enableDisable(b bool) string {
	if b {
		return "enable"
	}
	return "disable"
}

func viewOf(g *gatewayState) gatewayView {
	v := gatewayView{
		VpnGatewayID:               g.ID,
		VpcID:                      g.VPCID,
		VSwitchID:                  g.VSwitchID,
		DisasterRecoveryVSwitchID:  g.DisasterRecoveryVSwitchID,
		InternetIP:                 g.InternetIP,
		DisasterRecoveryInternetIP: g.DisasterRecoveryInternetIP,
		SslVpnInternetIP:           g.SslVpnInternetIP,
		CreateTime:                 g.CreateTime.UnixMilli(),
		EndTime:                    g.EndTime.UnixMilli(),
		Spec:                       strconv.Itoa(g.Bandwidth) + "M",
		Name:                       g.Name,
		Status:                     g.Status,
		BusinessStatus:             g.BusinessStatus,
		ChargeType:                 g.ChargeType,
		IpsecVpn:                   enableDisable(g.EnableIpsec),
		SslVpn:                     enableDisable(g.EnableSsl),
		VpnType:                    g.VpnType,
		NetworkType:                g.NetworkType,
		ResourceGroupID:            g.ResourceGroupID,
		Tags:                       tagList{Tag: append([]Tag{}, g.Tags...)},
		EniInstanceIDs:             eniList{EniInstanceID: append([]string{}, g.EniInstanceIDs...)},
	}
	if g.EnableSsl {
		v.SslMaxConnections = int64(g.SslConnections)
	}
	return v
}

type describeResponse struct {
	XMLName   xml.Name `json:"-" xml:"DescribeVpnGatewayResponse"`
	RequestID string   `json:"RequestId" xml:"RequestId"`
	gatewayView
}

func (s *Server) findLocked(p map[string]string, now time.Time) (*gatewayState, *apiError) {
	region, aerr := s.regionLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	id := p["VpnGatewayId"]
	if id == "" {
		return nil, errMissing("VpnGatewayId")
	}
	s.settleLocked(now)
	g := s.gateways[id]
	if g == nil || g.RegionID != region {
		return nil, errGatewayNotFound()
	}
	return g, nil
}

func (s *Server) describeVpnGateway(req *apiRequest, requestID string, now time.Time) (any, *apiError) {
	if _, aerr := boolParam(req.params, "IncludeReservationData", false); aerr != nil {
		return nil, aerr
	}
	g, aerr := s.findLocked(req.params, now)
	if aerr != nil {
		return nil, aerr
	}
	return describeResponse{RequestID: requestID, gatewayView: viewOf(g)}, nil
}

type gatewayViews struct {
	VpnGateway []gatewayView `json:"VpnGateway" xml:"VpnGateway"`
}

type describeListResponse struct {
	XMLName     xml.Name     `json:"-" xml:"DescribeVpnGatewaysResponse"`
	RequestID   string       `json:"RequestId" xml:"RequestId"`
	TotalCount  int          `json:"TotalCount" xml:"TotalCount"`
	PageNumber  int          `json:"PageNumber" xml:"PageNumber"`
	PageSize    int          `json:"PageSize" xml:"PageSize"`
	VpnGateways gatewayViews `json:"VpnGateways" xml:"VpnGateways"`
}

// describeVpnGateways lists the region's gateways, newest first, filtered by
// every given filter and paged.
func (s *Server) describeVpnGateways(req *apiRequest, requestID string, now time.Time) (any, *apiError) {
	p := req.params
	region, aerr := s.regionLocked(p)
	if aerr != nil {
		return nil, aerr
	}
	pageSize, aerr := intParam(p, "PageSize", 10)
	if aerr != nil {
		return nil, aerr
	}
	if pageSize < 1 || pageSize > 50 {
		return nil, errInvalidParam("PageSize", "Valid values: 1 to 50.")
	}
	pageNumber, aerr := intParam(p, "PageNumber", 1)
	if aerr != nil {
		return nil, aerr
	}
	if pageNumber < 1 {
		return nil, errInvalidParam("PageNumber", "It must be 1 or more.")
	}
	if _, aerr := boolParam(p, "IncludeReservationData", false); aerr != nil {
		return nil, aerr
	}
	tags, aerr := parseTags(p)
	if aerr != nil {
		return nil, aerr
	}

	s.settleLocked(now)
	var matched []*gatewayState
	for _, g := range s.gateways {
		if g.RegionID != region ||
			!matches(p, "VpcId", g.VPCID) ||
			!matches(p, "VpnGatewayId", g.ID) ||
			!matches(p, "Status", g.Status) ||
			!matches(p, "BusinessStatus", g.BusinessStatus) ||
			!matches(p, "ResourceGroupId", g.ResourceGroupID) ||
			!hasTags(g.Tags, tags) {
			continue
		}
		matched = append(matched, g)
	}
	slices.SortFunc(matched, func(a, b *gatewayState) int { return cmp.Compare(b.seq, a.seq) })

	resp := describeListResponse{
		RequestID:   requestID,
		TotalCount:  len(matched),
		PageNumber:  pageNumber,
		PageSize:    pageSize,
		VpnGateways: gatewayViews{VpnGateway: []gatewayView{}},
	}
	if from := (pageNumber - 1) * pageSize; from < len(matched) {
		for _, g := range matched[from:min(from+pageSize, len(matched))] {
			resp.VpnGateways.VpnGateway = append(resp.VpnGateways.VpnGateway, viewOf(g))
		}
	}
	return resp, nil
}

// matches reports whether an optional filter is absent or equal to v.
func matches(p map[string]string, name, v string) bool {
	want, ok := p[name]
	return !ok || want == "" || want == v
}

// hasTags reports whether every filter tag is on the gateway; a filter
// without a Value matches the key with any value.
func hasTags(have []Tag, want []tagParam) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(t Tag) bool {
			return t.Key == w.key && (!w.hasValue || t.Value == w.value)
		}) {
			return false
		}
	}
	return true
}

type deleteResponse struct {
	XMLName   xml.Name `json:"-" xml:"DeleteVpnGatewayResponse"`
	RequestID string   `json:"RequestId" xml:"RequestId"`
}

// deleteVpnGateway deletes a gateway as the service does: refused while it
// is being set up or changed (VpnGateway.Configuring), while IPsec-VPN
// connections are attached to it (DependencyViolation.VpnConnection), and
// for a subscription (PREPAY) gateway before it expires
// (ChargeTypeViolation: it is released by unsubscribing, not by the API);
// otherwise it is "deleting" for the deletion delay, then gone. A retry
// with the same ClientToken and parameters answers as the first call did,
// even once the gateway is gone; the same token with other parameters is
// IdempotentParameterMismatch.
func (s *Server) deleteVpnGateway(req *apiRequest, requestID string, now time.Time) (any, *apiError) {
	p := req.params
	token := p["ClientToken"]
	if aerr := checkClientToken(token); aerr != nil {
		return nil, aerr
	}
	fp := fingerprint(req.businessParams())
	tokenKey := actionDelete + "\x00" + token
	if token != "" {
		if rec, ok := s.tokens[tokenKey]; ok {
			if rec.fingerprint != fp {
				return nil, errIdempotentMismatch()
			}
			return deleteResponse{RequestID: requestID}, nil
		}
	}
	g, aerr := s.findLocked(p, now)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case g.Status == StatusInit || g.Status == StatusProvisioning || g.Status == StatusUpdating || g.Status == StatusDeleting:
		return nil, errGatewayConfiguring()
	case g.IpsecConnections > 0:
		return nil, errDependencyVpnConnection()
	case g.ChargeType == "PREPAY" && now.Before(g.EndTime):
		return nil, errChargeTypeViolation()
	}
	if s.deleteDelay <= 0 {
		delete(s.gateways, g.ID)
	} else {
		g.Status = StatusDeleting
		g.goneAt = now.Add(s.deleteDelay)
	}
	if token != "" {
		s.tokens[tokenKey] = tokenRecord{fingerprint: fp, gatewayID: g.ID}
	}
	return deleteResponse{RequestID: requestID}, nil
}

// provisioningDelayLocked is how long a gateway created now stays "init":
// the fixed delay, or one drawn uniformly from the range. s.mu is held.
func (s *Server) provisioningDelayLocked() time.Duration {
	if s.delayMax <= s.delay {
		return s.delay
	}
	return s.delay + time.Duration(s.rng.Int64N(int64(s.delayMax-s.delay)+1))
}
