package request

import "regexp"

// The rules below are taken from these sources; each rule names the one it
// comes from.
//
//   [API]  CreateVpnGateway API reference (VPC API 2016-04-28), kept in
//          /work/shared/reference/CreateVpnGateway.txt; online at
//          https://www.alibabacloud.com/help/en/vpn/sub-product-ipsec-vpn/developer-reference/api-vpc-2016-04-28-createvpngateway-vpns
//   [SDK]  the parameter documentation of the generated SDK,
//          aliyun/alibabacloud-go-sdk vpc-20160428/client/create_vpn_gateway_request_model.go
//          (it carries the site-specific <props="china"> / <props="intl"> texts
//          the English reference drops).
//   [CORE] github.com/aliyun/alibaba-cloud-sdk-go services/vpc/create_vpn_gateway.go
//          (v1.63.107, the SDK vpngw calls): the parameter list, including Tags
//          and ResourceGroupId, and their wire types.
//   [TF]   aliyun/terraform-provider-alicloud alicloud/resource_alicloud_vpn_gateway.go:
//          the provider's validation and what it sends.
//   [TAG]  aliyun/alibabacloud-go-sdk vpc-20160428/client/tag_resources_request_model.go
//          and the VPN Gateway TagResources reference
//          https://www.alibabacloud.com/help/en/vpn/sub-product-ipsec-vpn/developer-reference/api-vpc-2016-04-28-tagresources-vpns
//          (VPN gateways are tagged through the VPC tag service).
//   [ROS]  ALIYUN::VPC::VpnGateway, https://help.aliyun.com/document_detail/134203.htm
//          (resource orchestration, which calls CreateVpnGateway).
//   [IDEM] "How to ensure idempotence", https://help.aliyun.com/document_detail/25693.html,
//          which the ClientToken text of the VPC-family APIs refers to.
//   [DUAL] "Regions that support IPsec-VPN features",
//          https://www.alibabacloud.com/help/doc-detail/430697.htm, column
//          "Dual-tunnel IPsec-VPN connection"; cross-checked with the zone table
//          of https://alibabacloud.com/help/en/vpn/product-overview/ipsec-vpn-connections-support-the-dual-tunnel-mode

// Parameter values, spelled exactly as the API takes them. The API compares
// them as given, so Validate does too (a near miss gets a "did you mean").
const (
	// ChargeTypePostpay is pay-as-you-go, the only value the international
	// site documents [API].
	ChargeTypePostpay = "POSTPAY"
	// ChargeTypePrepay is subscription, the China site's value [SDK]; it is
	// the example of the request sample in [API].
	ChargeTypePrepay = "PREPAY"

	// NetworkTypePublic is the default network type [SDK].
	NetworkTypePublic = "public"
	// NetworkTypePrivate is a gateway reached over private addresses [SDK].
	NetworkTypePrivate = "private"

	// VpnTypeNormal is the default VPN type [SDK].
	VpnTypeNormal = "Normal"
	// VpnTypeNationalStandard uses the Chinese SM algorithms; the China site
	// documents it [SDK], and [TF] accepts it.
	VpnTypeNationalStandard = "NationalStandard"
)

// Value sets. The JSON Schema of io.vpngw.gateway.requested lists the same
// sets; a test in events fails when the two drift apart.
var (
	// InstanceChargeTypes are the billing methods. Both are accepted: which
	// one an account may use depends on its site (China: PREPAY; international:
	// POSTPAY [SDK]), which vpngw cannot know, and the API answers a wrong one
	// itself. [TF] maps its payment types to exactly these two.
	InstanceChargeTypes = []string{ChargeTypePostpay, ChargeTypePrepay}

	// PublicBandwidths are the bandwidths (Mbit/s) of a public gateway. This
	// is the China site's set [SDK]; the international site's (10, 100, 200,
	// 500, 1000) is a subset, so the union is the China set. A 5, 20 or 50 on
	// the international site is refused by the API, not here: the site is not
	// known before the call.
	PublicBandwidths = []int{5, 10, 20, 50, 100, 200, 500, 1000}

	// PrivateBandwidths are the bandwidths (Mbit/s) of a private gateway, on
	// both sites [SDK].
	PrivateBandwidths = []int{200, 1000}

	// Periods are the subscription durations in months [API], [TF].
	Periods = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36}

	// SslConnectionCounts are the allowed maximums of concurrent SSL-VPN
	// clients [API].
	SslConnectionCounts = []int{5, 10, 20, 50, 100, 200, 500, 1000}

	// VpnTypes are the gateway types [SDK], [TF].
	VpnTypes = []string{VpnTypeNormal, VpnTypeNationalStandard}

	// NetworkTypes are the network types [SDK], [TF].
	NetworkTypes = []string{NetworkTypePublic, NetworkTypePrivate}
)

// DualTunnelRegions are the regions where CreateVpnGateway requires both
// VSwitchId and DisasterRecoveryVSwitchId: [API] says gateways "in some
// regions support only IPsec-VPN connections in dual-tunnel mode" and that
// there both are required, and [SDK] says of each parameter "in regions that
// support dual-tunnel IPsec-VPN connections, this parameter is required". The
// regions are those marked for "Dual-tunnel IPsec-VPN connection" in [DUAL]:
// every listed region except SAU (Riyadh - Partner Region, me-central-1).
// Region IDs are the API's names for the regions listed there.
//
// internal/vpcsim must require the two vSwitches in exactly these regions, or
// the emulator and the validator disagree about what the API accepts. It keeps
// its own copy of the documented list on purpose, so that neither is tested
// against itself; TestDualTunnelRegionsAgreeWithTheValidator (vpcsim) checks
// that the two agree.
var DualTunnelRegions = []string{
	"cn-hangzhou",    // China (Hangzhou)
	"cn-shanghai",    // China (Shanghai)
	"cn-nanjing",     // China (Nanjing - Local Region)
	"cn-qingdao",     // China (Qingdao)
	"cn-beijing",     // China (Beijing)
	"cn-zhangjiakou", // China (Zhangjiakou)
	"cn-huhehaote",   // China (Hohhot)
	"cn-wulanchabu",  // China (Ulanqab)
	"cn-shenzhen",    // China (Shenzhen)
	"cn-heyuan",      // China (Heyuan)
	"cn-guangzhou",   // China (Guangzhou)
	"cn-chengdu",     // China (Chengdu)
	"cn-hongkong",    // China (Hong Kong)
	"ap-northeast-1", // Japan (Tokyo)
	"ap-northeast-2", // South Korea (Seoul)
	"ap-southeast-1", // Singapore
	"ap-southeast-3", // Malaysia (Kuala Lumpur)
	"ap-southeast-5", // Indonesia (Jakarta)
	"ap-southeast-6", // Philippines (Manila)
	"ap-southeast-7", // Thailand (Bangkok)
	"eu-central-1",   // Germany (Frankfurt)
	"eu-west-1",      // UK (London)
	"us-east-1",      // US (Virginia)
	"us-west-1",      // US (Silicon Valley)
	"na-south-1",     // Mexico
	"me-east-1",      // UAE (Dubai)
}

// Limits on single parameters.
const (
	// NameMinLength and NameMaxLength bound Name, in characters [API].
	NameMinLength = 2
	NameMaxLength = 100

	// MaxClientTokenLength is the longest ClientToken, in characters. [API]
	// says only "ASCII characters"; the 64 comes from [IDEM], which the
	// ClientToken text of the other VPC-family APIs quotes.
	MaxClientTokenLength = 64

	// MaxRegionIDLength bounds RegionId, in characters. No source gives a
	// bound; the longest region ID is under 25 characters, and the stores
	// keep 64 (VARCHAR(64) on MySQL).
	MaxRegionIDLength = 64

	// MaxTags is the most tags one gateway may carry [TAG], [ROS]; more is
	// SizeLimitExceeded.TagNum [API].
	MaxTags = 20
	// MaxTagKeyLength and MaxTagValueLength bound a tag's key and value, in
	// characters [TAG].
	MaxTagKeyLength   = 128
	MaxTagValueLength = 128

	// MaxResourceIDLength bounds VpcId, VSwitchId, DisasterRecoveryVSwitchId
	// and ResourceGroupId, in characters. The API does not document their
	// length; every ID of [API] and [SDK] is a prefix and some twenty
	// characters (vpc-bp1ub1yt9cvakoelj****, 26), so 64 refuses no real ID
	// and keeps an echoed one from growing a dry run's outcome; the stores
	// keep 191 (VARCHAR(191) on MySQL).
	MaxResourceIDLength = 64
)

// Formats. They check the shape only, loosely enough not to refuse an ID the
// API would take: resource IDs are a type prefix and lower-case letters and
// digits in every example of [API] and [SDK] (vpc-bp1ub1yt9cvakoelj****,
// vsw-bp1j5miw2bae9s2vt****, rg-acfmzs372yg****); their length is not
// documented, so only MaxResourceIDLength bounds it.
var (
	// regionIDFormat matches cn-hangzhou, ap-southeast-1,
	// cn-shanghai-finance-1: lower-case words joined by hyphens. The list of
	// regions changes over time ([API]: "call DescribeRegions to query the
	// most recent region list"), so only the shape is checked.
	regionIDFormat = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	vpcIDFormat    = regexp.MustCompile(`^vpc-[a-z0-9]+$`)
	vSwitchFormat  = regexp.MustCompile(`^vsw-[a-z0-9]+$`)
	rgIDFormat     = regexp.MustCompile(`^rg-[a-z0-9]+$`)

	// nameFormat: "must start with an uppercase or lowercase letter and can
	// contain uppercase and lowercase letters, digits, underscores (_),
	// hyphens (-), and periods (.)" [SDK]. [ROS] also allows Chinese
	// characters ("must start with an English letter or Chinese character"),
	// and ROS creates gateways through this same API, so Chinese characters
	// (the CJK Unified Ideographs U+4E00 to U+9FA5) are accepted rather than
	// refusing a name the API takes. The JSON Schema uses the same class.
	nameFormat = regexp.MustCompile(`^[A-Za-z\x{4e00}-\x{9fa5}][A-Za-z0-9_.\x{4e00}-\x{9fa5}-]*$`)
)

// ReservedTagPrefixes may not start a tag key or value [TAG], in any case.
var ReservedTagPrefixes = []string{"aliyun", "acs:"}

// URLSchemes may not start a Name nor appear in a tag key or value [API],
// [TAG], in any case.
var URLSchemes = []string{"http://", "https://"}
