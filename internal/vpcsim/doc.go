// Package vpcsim emulates the VPN-gateway part of the Alibaba Cloud VPC API
// (version 2016-04-28) closely enough that an unmodified client of the real
// API, the official Go SDK included, can be pointed at it. Nothing in vpngw
// reaches Alibaba Cloud in tests or in the local stack: they talk to this
// emulator instead. Import it from tests and from the local stack's wiring;
// cmd/vpcsim runs it as a standalone server.
//
// # Pointing a client at it
//
//	sim := vpcsim.New(vpcsim.WithProvisioningDelay(time.Minute), vpcsim.WithClock(clock.Now))
//	ts := httptest.NewServer(sim)
//	client, _ := vpc.NewClientWithAccessKey("cn-hangzhou", vpcsim.DefaultAccessKeyID, vpcsim.DefaultAccessKeySecret)
//	req := vpc.CreateCreateVpnGatewayRequest()
//	req.Scheme, req.Domain = "http", strings.TrimPrefix(ts.URL, "http://")
//
// # What it checks, as the service does
//
// Protocol: RPC style over GET (query) or POST (query and an
// application/x-www-form-urlencoded body), every parameter once. Common
// parameters Action, Version (must be 2016-04-28), Format (JSON, the default,
// or XML), AccessKeyId, SignatureMethod (HMAC-SHA1), SignatureVersion (1.0),
// SignatureNonce (reuse within 15 minutes: SignatureNonceUsed), Timestamp
// (ISO 8601 UTC, more than 15 minutes off: InvalidTimeStamp.Expired),
// Signature and SecurityToken. The signature is verified byte for byte as the
// core SDK computes it: parameters sorted, RFC 3986 percent-encoded,
// "POST&%2F&" + encoded query, HMAC-SHA1 keyed with secret + "&". Requests
// signed with ACS3-HMAC-SHA256 (the Authorization header of the newer SDKs,
// with x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce,
// x-acs-content-sha256 and x-acs-security-token) are verified too: canonical
// request = method, URI, sorted encoded query, signed headers as
// "name:value\n", the signed header list and the hex SHA-256 of the body;
// string to sign = "ACS3-HMAC-SHA256\n" + hex SHA-256 of it; signature = hex
// HMAC-SHA256 keyed with the secret.
//
// Errors come back as {"RequestId","HostId","Code","Message","Recommend"}
// (an <Error> element in XML) with the service's HTTP status, so the SDK
// returns *errors.ServerError with the right ErrorCode, HttpStatus and
// RequestId. Among them: SignatureDoesNotMatch 400, IncompleteSignature 400,
// InvalidAccessKeyId.NotFound 404, InvalidAccessKeyId.Inactive 400 (a
// disabled key), Forbidden.RAM 403 (an action the key's RAM policy does not
// grant), MissingSecurityToken 400,
// InvalidSecurityToken.MismatchWithAccessKey 400, InvalidSecurityToken.Expired
// 400, InvalidTimeStamp.Expired 400, SignatureNonceUsed 400, InvalidVersion
// 400, InvalidAction.NotFound 404, MissingParameter 400 (a common parameter),
// Missing<Name> 400 (MissingRegionId, MissingVpcId, …), Throttling.User 400
// with the headers x-ratelimit-user-api: Limit:N,Remain:0,TimeLeft:<ms>,Reset:<unix s>
// and x-acs-retry-after: <ms> (the window's rest on the wall clock, rounded up;
// WithThrottleHeaders sends one style alone),
// InternalError 500 and ServiceUnavailable 503.
//
// Actions: CreateVpnGateway, DescribeVpnGateway, DescribeVpnGateways and
// DeleteVpnGateway. CreateVpnGateway checks the region
// (InvalidRegionId.NotFound 404), the VPC (InvalidVpcId.NotFound 404), the
// vSwitches (InvalidVSwitchId.NotFound 400, also when a dual-tunnel region's
// second vSwitch is missing, which is what the service answers), bandwidth by
// site and network type, SSL on private gateways
// (OperationFailed.SslNotSupport), SslConnections, InstanceChargeType and
// Period, the name, tags (SizeLimitExceeded.TagNum, InvalidParameter.TagKey,
// InvalidParameter.TagValue, Duplicated.TagKey), the per-region quota
// (Resource.QuotaFull) and ClientToken idempotency (the same token and
// parameters answer the first call's gateway ID and OrderId again; other
// parameters give IdempotentParameterMismatch). A new gateway is "init" and
// becomes "active", with its addresses, once the provisioning delay has
// passed on the service clock; time is applied lazily on every read, so a
// test advances its clock and reads. Unknown gateways answer
// InvalidVpnGatewayInstanceId.NotFound (400); deleting one that is still
// "init" answers VpnGateway.Configuring. DeleteVpnGateway also refuses a
// gateway with IPsec-VPN connections attached
// (DependencyViolation.VpnConnection, the reference's code; set them with
// SetIpsecConnections) and a subscription (PREPAY) gateway before it expires
// (ChargeTypeViolation: the VPN gateway reference documents no code for
// this, so the emulator answers the one the VPC and ECS release calls give
// for a subscription resource). A deleted gateway is "deleting" for the
// deletion delay (WithDeletionDelay), then gone: DescribeVpnGateways no
// longer lists it. Its ClientToken answers a retry as the first call even
// once it is gone.
//
// Where the reference documents no code for a check, the emulator answers
// the InvalidParameter family with a message naming the parameter.
//
// # Strict where the service is
//
// Charge types are upper case only (PREPAY, POSTPAY); PREPAY needs Period
// (MissingPeriod) and is refused on the international site, which sells
// pay-as-you-go only; booleans are "true" or "false" exactly, integers digits
// only (no "+10"); a Name starts with an English letter (or a Chinese
// character, as the ROS reference of the same API allows) and holds only
// those, digits, "_", "-" and "."; a request names its tags Tag.N or Tags.N,
// never both; a ClientToken is at most 64 printable ASCII characters (no
// control characters, no DEL); a ResourceGroupId has the form rg-<id>
// (InvalidResourceGroupId).
//
// # Accepted on purpose, where the service may refuse or differ
//
// Each is a choice, with its reason:
//
//   - ResourceGroupId: any well-formed ID is taken as one of the account's
//     resource groups. The emulator models no Resource Management directory,
//     and vpngw passes the ID through without depending on what it names.
//     A key may be scoped to resource groups (Credential.ResourceGroups):
//     a call naming another answers Forbidden.RAM, as a RAM policy scoped
//     to resource groups does; a call naming none is allowed.
//   - ClientTokens are remembered for the emulator's lifetime. The service
//     keeps a token for a limited, undocumented time; vpngw must not depend
//     on it being forgotten (a retry days later must still not create a
//     second gateway), and a shorter memory in the emulator would only hide
//     duplicate creations from the tests.
//   - Listings are consistent at once and in a stable order (oldest first):
//     the service's DescribeVpnGateways can lag behind a creation and shift
//     its pages when a gateway is deleted. vpngw covers the lag with its
//     not-found grace and confirms a missing gateway by ID before announcing
//     it gone; a test that needs a shifted page deletes a gateway through
//     the admin interface between two page reads.
//   - RegionId is not checked against the endpoint: one address serves
//     every region, like the central endpoint vpc.aliyuncs.com, since a test
//     cannot give the emulator one host name per region.
//
// # Admin interface
//
// Methods on *Server (Gateways, Gateway, Calls, CallCounts,
// SetBusinessStatus, SetIpsecConnections, SetTags, Delete, SetFaults, CurrentFaults, SetAccessKey,
// RotateAccessKey, RemoveAccessKey, AccessKey) let tests look inside and
// steer; the access-key methods rotate, disable, restrict or delete a key
// while the emulator runs, as an operator's mistakes do to a real account. The same is served over HTTP under /_admin/, never on the API
// path and without authentication, so bind the standalone server to a
// loopback or private address:
//
//	GET    /_admin/gateways                        every gateway, JSON array
//	GET    /_admin/gateways/{id}                   one gateway
//	DELETE /_admin/gateways/{id}                   remove it at once
//	PUT    /_admin/gateways/{id}/business-status   {"BusinessStatus":"FinancialLocked"}
//	GET    /_admin/provisioning-delay              {"Min":"1m0s","Max":"5m0s"}
//	PUT    /_admin/provisioning-delay              {"Min":"60s","Max":"300s"}: new gateways take 60 to 300 s (uniform)
//	GET    /_admin/calls                           {"CreateVpnGateway": 3, …}
//	GET    /_admin/access-keys/{id}                the key's state, never its secret or token
//	PUT    /_admin/access-keys/{id}                {"AccessKeySecret":"…","Disabled":false,"DeniedActions":["CreateVpnGateway"]}
//	DELETE /_admin/access-keys/{id}                delete the key (InvalidAccessKeyId.NotFound)
//	GET    /_admin/faults                          the current faults
//	PUT    /_admin/faults (or POST)                {"ThrottleRate":0.1,"ServerErrorRate":0,"Latency":"200ms","LostCreateRate":0}
//
// Faults: ThrottleRate answers Throttling.User, ServerErrorRate answers
// InternalError or ServiceUnavailable, Latency delays every answer, and
// LostCreateRate carries out CreateVpnGateway and then drops the connection
// without an answer, the case a ClientToken exists for.
//
// The emulator models one main account: rate limits (WithRateLimit,
// DefaultRateLimits) count per region and API, quotas per region, and
// ClientTokens are remembered per API for the emulator's lifetime (see
// above).
package vpcsim
