package request

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vpngw/vpngw/events"
)

// Validate checks r against every rule the CreateVpnGateway API reference and
// its companion documents state (see the sources in rules.go), so that a
// request the API would refuse is refused before any call. It returns every
// violation, at most one per parameter, each naming the parameter (Tags[i].Key
// for a tag, counting from 0 as in the JSON array), the value given, what is
// allowed, and a sentence saying what is wrong. Nil means r is valid.
//
// Where the documents leave a choice, Validate takes the reading that refuses
// a request only when the API would, or when the request would silently not
// do what it asks:
//   - AutoPay is allowed with any InstanceChargeType: the API ignores it for
//     pay-as-you-go, and [TF] sends AutoPay=true whatever the billing method.
//   - Period is refused without InstanceChargeType PREPAY (it has no meaning
//     there and [TF] never sends it then), and required with PREPAY ([SDK]:
//     "required if InstanceChargeType is set to PREPAY").
//   - SslConnections is refused unless EnableSsl is true: a client count for a
//     gateway without SSL-VPN would be accepted and ignored, which is not what
//     the sender meant ([TF] sends it only with enable_ssl).
//   - VSwitchId and DisasterRecoveryVSwitchId must differ everywhere. [SDK]
//     allows the same vSwitch twice in single-zone regions, but that gives no
//     disaster recovery at all; two distinct vSwitches in the one zone are
//     possible there too ("Manage VPN gateway instances": "specify two
//     different vSwitches in the same zone for high availability").
//
// Validate checks values exactly as given. Parse decodes first and then
// validates; Normalize spells out the API's defaults.
func Validate(r events.GatewayRequest) []events.FieldError {
	return validate(r).list()
}

// validate is Validate, keeping the fields of the problems past the cap.
func validate(r events.GatewayRequest) *errorList {
	var c checker

	// RegionId: required [API]; shape only, see regionIDFormat.
	switch {
	case r.RegionId == "":
		c.add("RegionId", "", "a region ID such as cn-hangzhou", "RegionId is required")
	case utf8.RuneCountInString(r.RegionId) > MaxRegionIDLength:
		c.add("RegionId", r.RegionId, fmt.Sprintf("a region ID such as cn-hangzhou, at most %d characters", MaxRegionIDLength),
			"RegionId is %d characters long; at most %d are allowed", utf8.RuneCountInString(r.RegionId), MaxRegionIDLength)
	case !regionIDFormat.MatchString(r.RegionId):
		c.add("RegionId", r.RegionId, "a region ID such as cn-hangzhou or ap-southeast-1 (lower-case words joined by hyphens)",
			"RegionId %q is not a region ID", r.RegionId)
	}

	// VpcId: required [API], "vpc-" prefix (see the formats in rules.go).
	checkID(&c, "VpcId", r.VpcId, true, vpcIDFormat, "VPC", "vpc-", "a VPC ID such as vpc-bp1ub1yt9cvakoelj")

	// Bandwidth: required [API]; the set depends on NetworkType [SDK].
	switch {
	case r.Bandwidth == nil:
		c.add("Bandwidth", "", "one of "+joinInts(PublicBandwidths)+" (public); "+joinInts(PrivateBandwidths)+" (private)",
			"Bandwidth is required")
	case r.NetworkType == NetworkTypePrivate && !contains(PrivateBandwidths, *r.Bandwidth):
		c.add("Bandwidth", strconv.Itoa(*r.Bandwidth), "one of "+joinInts(PrivateBandwidths)+" for a private gateway",
			"Bandwidth %d Mbit/s is not offered for a private gateway (NetworkType private); choose %s",
			*r.Bandwidth, joinOr(PrivateBandwidths))
	case !contains(PublicBandwidths, *r.Bandwidth):
		c.add("Bandwidth", strconv.Itoa(*r.Bandwidth), "one of "+joinInts(PublicBandwidths),
			"Bandwidth %d Mbit/s is not a gateway bandwidth; choose %s", *r.Bandwidth, joinOr(PublicBandwidths))
	}

	// Name: optional; [API], [SDK], [ROS].
	if r.Name != "" {
		checkName(&c, r.Name)
	}

	// InstanceChargeType: optional [API].
	if r.InstanceChargeType != "" && !contains(InstanceChargeTypes, r.InstanceChargeType) {
		c.add("InstanceChargeType", r.InstanceChargeType, "one of "+strings.Join(InstanceChargeTypes, ", "),
			"InstanceChargeType %q is not a billing method; use POSTPAY (pay-as-you-go) or PREPAY (subscription)%s",
			r.InstanceChargeType, didYouMean(r.InstanceChargeType, InstanceChargeTypes))
	}

	// Period: [API] values; only with a subscription; required with one [SDK].
	switch {
	case r.Period != nil && !contains(Periods, *r.Period):
		c.add("Period", strconv.Itoa(*r.Period), "one of "+joinInts(Periods)+" (months)",
			"Period %d is not a subscription duration; choose 1 to 9, 12, 24 or 36 months", *r.Period)
	case r.Period != nil && r.InstanceChargeType != ChargeTypePrepay:
		c.add("Period", strconv.Itoa(*r.Period), "only with InstanceChargeType PREPAY",
			"Period applies only to a subscription (InstanceChargeType PREPAY); leave it out for %s", chargeTypeOrDefault(r.InstanceChargeType))
	case r.Period == nil && r.InstanceChargeType == ChargeTypePrepay:
		c.add("Period", "", "one of "+joinInts(Periods)+" (months)",
			"Period is required with InstanceChargeType PREPAY")
	}

	// EnableSsl: a private gateway has no SSL-VPN; the API answers
	// OperationFailed.SslNotSupport [API].
	if r.EnableSsl != nil && *r.EnableSsl && r.NetworkType == NetworkTypePrivate {
		c.add("EnableSsl", "true", "false for a private gateway (NetworkType private)",
			"EnableSsl true is not supported with NetworkType private; the API refuses it with OperationFailed.SslNotSupport")
	}

	// SslConnections: [API] values; only with SSL-VPN (see above).
	if r.SslConnections != nil {
		switch {
		case !contains(SslConnectionCounts, *r.SslConnections):
			c.add("SslConnections", strconv.Itoa(*r.SslConnections), "one of "+joinInts(SslConnectionCounts),
				"SslConnections %d is not an SSL-VPN client limit; choose %s", *r.SslConnections, joinOr(SslConnectionCounts))
		case r.EnableSsl == nil || !*r.EnableSsl:
			c.add("SslConnections", strconv.Itoa(*r.SslConnections), "only with EnableSsl true",
				"SslConnections applies only when EnableSsl is true; without SSL-VPN it would be ignored")
		}
	}

	// VSwitchId and DisasterRecoveryVSwitchId: formats, the dual-tunnel
	// regions [API], [SDK], and their relation.
	dual := contains(DualTunnelRegions, r.RegionId)
	vswOK := checkID(&c, "VSwitchId", r.VSwitchId, false, vSwitchFormat, "vSwitch", "vsw-", "a vSwitch ID such as vsw-bp1j5miw2bae9s2vt")
	if r.VSwitchId == "" && dual {
		c.add("VSwitchId", "", "a vSwitch ID of the VPC, together with DisasterRecoveryVSwitchId",
			"VSwitchId is required in %s: gateways there use dual-tunnel IPsec-VPN, which needs VSwitchId and DisasterRecoveryVSwitchId", r.RegionId)
	}
	drOK := checkID(&c, "DisasterRecoveryVSwitchId", r.DisasterRecoveryVSwitchId, false, vSwitchFormat, "vSwitch", "vsw-", "a vSwitch ID such as vsw-p0wiz7obm0tbimu4r")
	switch {
	case r.DisasterRecoveryVSwitchId == "" && dual:
		c.add("DisasterRecoveryVSwitchId", "", "a second vSwitch ID of the VPC, different from VSwitchId",
			"DisasterRecoveryVSwitchId is required in %s: gateways there use dual-tunnel IPsec-VPN, which needs VSwitchId and DisasterRecoveryVSwitchId", r.RegionId)
	case r.DisasterRecoveryVSwitchId != "" && r.VSwitchId == "" && !dual && drOK:
		// In a dual-tunnel region the missing VSwitchId is already reported.
		c.add("DisasterRecoveryVSwitchId", r.DisasterRecoveryVSwitchId, "only together with VSwitchId",
			"DisasterRecoveryVSwitchId is the second vSwitch and needs VSwitchId as the first")
	case r.DisasterRecoveryVSwitchId != "" && r.DisasterRecoveryVSwitchId == r.VSwitchId && vswOK && drOK:
		c.add("DisasterRecoveryVSwitchId", r.DisasterRecoveryVSwitchId, "a vSwitch other than VSwitchId",
			"DisasterRecoveryVSwitchId must differ from VSwitchId; the same vSwitch twice gives no disaster recovery")
	}

	// VpnType, NetworkType: optional [SDK].
	if r.VpnType != "" && !contains(VpnTypes, r.VpnType) {
		c.add("VpnType", r.VpnType, "one of "+strings.Join(VpnTypes, ", "),
			"VpnType %q is not a VPN gateway type%s", r.VpnType, didYouMean(r.VpnType, VpnTypes))
	}
	if r.NetworkType != "" && !contains(NetworkTypes, r.NetworkType) {
		c.add("NetworkType", r.NetworkType, "one of "+strings.Join(NetworkTypes, ", "),
			"NetworkType %q is not a network type%s", r.NetworkType, didYouMean(r.NetworkType, NetworkTypes))
	}

	// ClientToken: ASCII only [API], at most 64 characters [IDEM]; no
	// control characters (the API's own token check is not documented for
	// them, and they do not survive logs and consoles), and not in the
	// namespace of the tokens vpngw derives (see ClientToken).
	if r.ClientToken != "" {
		allowed := fmt.Sprintf("printable ASCII characters only (no control characters), at most %d, not starting with %s", MaxClientTokenLength, DerivedTokenPrefix)
		switch i, ctl := nonASCII(r.ClientToken), controlChar(r.ClientToken); {
		case i >= 0:
			c.add("ClientToken", r.ClientToken, allowed,
				"ClientToken may contain only ASCII characters; %q at byte %d is not", firstRune(r.ClientToken[i:]), i)
		case ctl >= 0:
			c.add("ClientToken", r.ClientToken, allowed,
				"ClientToken may not contain control characters; %q at byte %d is one", r.ClientToken[ctl], ctl)
		case len(r.ClientToken) > MaxClientTokenLength:
			c.add("ClientToken", r.ClientToken, allowed,
				"ClientToken is %d characters long; at most %d are allowed", len(r.ClientToken), MaxClientTokenLength)
		case strings.HasPrefix(strings.ToLower(r.ClientToken), DerivedTokenPrefix):
			c.add("ClientToken", r.ClientToken, allowed,
				"ClientToken may not start with %q: tokens so named are the ones vpngw derives itself; give a token of your own, or none",
				DerivedTokenPrefix)
		}
	}

	// ResourceGroupId: optional, "rg-" prefix ([SDK] example rg-acfmzs372yg****).
	checkID(&c, "ResourceGroupId", r.ResourceGroupId, false, rgIDFormat, "resource group", "rg-", "a resource group ID such as rg-acfmzs372yg")

	checkTags(&c, r.Tags)
	return &c.errorList
}

// checker collects FieldErrors, up to MaxFieldErrors (see errorList).
type checker struct{ errorList }

// add describes a problem, clipping the value and every string it repeats
// in the message; past the cap it only counts it.
func (c *checker) add(field, value, allowed, format string, args ...any) {
	if c.full() {
		c.omit(field)
		return
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	c.put(events.FieldError{
		Field:   field,
		Value:   clip(value),
		Allowed: allowed,
		Message: fmt.Sprintf(format, args...),
	})
}

// checkID checks an ID parameter's presence and shape; it reports whether the
// ID is present and well-formed.
func checkID(c *checker, field, v string, required bool, format *regexp.Regexp, noun, prefix, example string) bool {
	switch {
	case v == "" && required:
		c.add(field, "", example, "%s is required", field)
		return false
	case v == "":
		return false
	case len(v) > MaxResourceIDLength:
		c.add(field, v, fmt.Sprintf("%s of at most %d characters", example, MaxResourceIDLength),
			"%s is %d characters long; a %s ID has at most %d", field, len(v), noun, MaxResourceIDLength)
		return false
	case !format.MatchString(v):
		c.add(field, v, example+`: "`+prefix+`" and then lower-case letters and digits`,
			"%s %q is not a %s ID; it must start with %q", field, v, noun, prefix)
		return false
	}
	return true
}

// checkName applies the Name rules, reporting the first one broken.
func checkName(c *checker, name string) {
	allowed := fmt.Sprintf("%d to %d characters: a letter (or Chinese character) first, then letters, digits, '_', '-', '.'; not starting with http:// or https://",
		NameMinLength, NameMaxLength)
	n := utf8.RuneCountInString(name)
	switch {
	case hasAnyPrefix(strings.ToLower(name), URLSchemes):
		c.add("Name", name, allowed, "Name must not start with http:// or https://")
	case n < NameMinLength || n > NameMaxLength:
		c.add("Name", name, allowed, "Name is %d characters long; it must be %d to %d", n, NameMinLength, NameMaxLength)
	case !nameFormat.MatchString(name):
		first, _ := utf8.DecodeRuneInString(name)
		if !nameFormat.MatchString(string(first)) {
			c.add("Name", name, allowed, "Name must start with a letter, not %q", first)
			return
		}
		for _, r := range name {
			if !nameFormat.MatchString("a" + string(r)) {
				c.add("Name", name, allowed, "Name may contain only letters, digits, '_', '-' and '.', not %q", r)
				return
			}
		}
	}
}

// checkTags applies the tag rules [TAG], [API]. The reserved prefixes and
// the URL schemes are matched in any case, as the tag service does ("Aliyun"
// and "HTTP://" are refused too).
func checkTags(c *checker, tags []events.Tag) {
	if len(tags) > MaxTags {
		c.add("Tags", strconv.Itoa(len(tags)), fmt.Sprintf("at most %d tags", MaxTags),
			"Tags has %d tags; a gateway carries at most %d (the API answers SizeLimitExceeded.TagNum)", len(tags), MaxTags)
	}
	seen := make(map[string]int)
	for i, t := range tags {
		field := fmt.Sprintf("Tags[%d]", i)
		keyAllowed := fmt.Sprintf("1 to %d characters, not starting with aliyun or acs:, not containing http:// or https://, no control characters", MaxTagKeyLength)
		if t.Key == "" {
			c.add(field+".Key", "", keyAllowed, "%s.Key is required and may not be empty", field)
		} else if c.tagText(field+".Key", t.Key, MaxTagKeyLength, keyAllowed, " (reserved for the platform's own tags)") {
			if j, dup := seen[t.Key]; dup {
				c.add(field+".Key", t.Key, "a key not used by another tag of the request",
					"%s.Key %q repeats Tags[%d].Key; tag keys must be unique (the API answers Forbidden.TagKey.Duplicated / Duplicated.TagKey)", field, t.Key, j)
			} else {
				seen[t.Key] = i
			}
		}

		valueAllowed := fmt.Sprintf("0 to %d characters, not starting with aliyun or acs:, not containing http:// or https://, no control characters", MaxTagValueLength)
		c.tagText(field+".Value", t.Value, MaxTagValueLength, valueAllowed, "")
	}
}

// tagText checks a tag's key or value s, the field: at most max
// characters, not starting with a reserved prefix (why ends that message),
// no URL scheme in it, and no control character (C0, DEL or C1): a NUL is
// text no PostgreSQL column keeps, and a line break or an escape would
// reach the console, the events and the chat replies that show the tag.
// It reports whether s passed.
func (c *checker) tagText(field, s string, max int, allowed, why string) bool {
	ctl := strings.IndexFunc(s, isControl)
	switch n := utf8.RuneCountInString(s); {
	case n > max:
		c.add(field, s, allowed, "%s is %d characters long; at most %d are allowed", field, n, max)
	case ctl >= 0:
		c.add(field, s, allowed, "%s holds the control character %U at byte %d; tags hold printable text only", field, firstRune(s[ctl:]), ctl)
	case hasAnyPrefix(strings.ToLower(s), ReservedTagPrefixes):
		c.add(field, s, allowed, "%s may not start with aliyun or acs:"+why, field)
	case containsAny(strings.ToLower(s), URLSchemes):
		c.add(field, s, allowed, "%s may not contain http:// or https://", field)
	default:
		return true
	}
	return false
}

// Normalize returns a copy of r with the API's documented defaults written
// out, so that it shows the gateway the API will create: NetworkType public,
// VpnType Normal, EnableIpsec true, EnableSsl false, AutoPay false, and
// SslConnections 5 when SSL-VPN is on [SDK]. InstanceChargeType has no
// default that holds on both sites and is left as given.
//
// It is what the io.vpngw.gateway.validated event reports. A valid request
// stays valid. Send the API one form consistently for one request: a retry
// with the same ClientToken but other parameters is refused with
// IdempotentParameterMismatch.
func Normalize(r events.GatewayRequest) events.GatewayRequest {
	out := r
	out.Bandwidth = copyPtr(r.Bandwidth)
	out.Period = copyPtr(r.Period)
	out.AutoPay = copyPtr(r.AutoPay)
	out.EnableIpsec = copyPtr(r.EnableIpsec)
	out.EnableSsl = copyPtr(r.EnableSsl)
	out.SslConnections = copyPtr(r.SslConnections)
	if r.Tags != nil {
		out.Tags = append([]events.Tag(nil), r.Tags...)
	}
	if out.NetworkType == "" {
		out.NetworkType = NetworkTypePublic
	}
	if out.VpnType == "" {
		out.VpnType = VpnTypeNormal
	}
	if out.EnableIpsec == nil {
		out.EnableIpsec = ptr(true)
	}
	if out.EnableSsl == nil {
		out.EnableSsl = ptr(false)
	}
	if out.AutoPay == nil {
		out.AutoPay = ptr(false)
	}
	if *out.EnableSsl && out.SslConnections == nil {
		out.SslConnections = ptr(5)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func chargeTypeOrDefault(t string) string {
	if t == "" {
		return "the default billing method"
	}
	return t
}

// didYouMean suggests the allowed value v differs from only in case or by a
// typo or two.
func didYouMean(v string, allowed []string) string {
	if near := Nearest(v, allowed); near != "" {
		return fmt.Sprintf("; did you mean %s?", near)
	}
	return ""
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// joinOr lists vs for a sentence: "5, 10 or 20".
func joinOr(vs []int) string {
	s := joinInts(vs)
	if i := strings.LastIndex(s, ", "); i >= 0 {
		s = s[:i] + " or " + s[i+2:]
	}
	return s
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, p := range subs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// controlChar returns the byte index of the first ASCII control character
// of s (U+0000 to U+001F, U+007F), or -1.
func controlChar(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return i
		}
	}
	return -1
}

// nonASCII returns the byte index of the first non-ASCII byte of s, or -1.
func nonASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return i
		}
	}
	return -1
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}
