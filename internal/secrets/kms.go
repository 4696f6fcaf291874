package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/vpngw/vpngw/internal/cloud"
)

// KMSAPIVersion is the KMS API version GetSecretValue is called in.
const KMSAPIVersion = "2016-01-20"

// ActionGetSecretValue is the one KMS action vpngw calls; each function's
// RAM policy grants it on that function's secrets only.
const ActionGetSecretValue = "GetSecretValue"

// KMS reads secrets from KMS Secrets Manager with the core SDK (RPC style,
// signature version 1.0).
type KMS struct {
	region       string
	scheme, host string
	creds        cloud.Credentials
	callTimeout  time.Duration
}

// NewKMS builds a KMS source for region. endpoint overrides the service's
// (http(s)://host:port, or a host name for https, such as the VPC endpoint
// kms-vpc.<region>.aliyuncs.com); empty means kms.<region>.aliyuncs.com.
// creds sign the calls whose context carries none (cloud.WithCredentials):
// on Function Compute, at start, the role's STS credentials the platform
// puts in the instance's environment.
func NewKMS(region, endpoint string, creds cloud.Credentials) (*KMS, error) {
	k := &KMS{region: region, creds: creds, callTimeout: 10 * time.Second, scheme: "https"}
	if endpoint == "" {
		if region == "" {
			return nil, errors.New("KMS: no region to find its endpoint in: set VPNGW_KMS_ENDPOINT, or run where FC_REGION is set")
		}
		k.host = "kms." + region + ".aliyuncs.com"
		return k, nil
	}
	ep := endpoint
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("VPNGW_KMS_ENDPOINT=%q: want http(s)://host[:port] or a host name", endpoint)
	}
	k.scheme, k.host = u.Scheme, u.Host
	if k.region == "" {
		k.region = "cn-hangzhou" // named in the request only; the endpoint decides
	}
	return k, nil
}

// Get calls GetSecretValue for the version marked ACSCurrent.
func (k *KMS) Get(ctx context.Context, name string) (string, error) {
	creds, ok := cloud.CredentialsFrom(ctx)
	if !ok {
		creds = k.creds
	}
	if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
		return "", errors.New("KMS: no credentials to sign GetSecretValue with: run with a function role (Function Compute sets ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN from it)")
	}
	var credential auth.Credential = credentials.NewAccessKeyCredential(creds.AccessKeyID, creds.AccessKeySecret)
	if creds.SecurityToken != "" {
		credential = credentials.NewStsTokenCredential(creds.AccessKeyID, creds.AccessKeySecret, creds.SecurityToken)
	}
	cl, err := sdk.NewClientWithOptions(k.region, sdk.NewConfig(), credential)
	if err != nil {
		return "", fmt.Errorf("KMS: build client: %w", err)
	}
	req := requests.NewCommonRequest()
	req.Method = "POST"
	req.Product = "Kms"
	req.Version = KMSAPIVersion
	req.ApiName = ActionGetSecretValue
	req.RegionId = k.region
	req.Domain, req.Scheme = k.host, k.scheme
	req.QueryParams["SecretName"] = name
	timeout := k.callTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return "", context.DeadlineExceeded
	}
	req.SetConnectTimeout(min(timeout, 5*time.Second))
	req.SetReadTimeout(timeout)
	resp, err := cl.ProcessCommonRequest(req)
	if err != nil {
		var se *sdkerrors.ServerError
		if errors.As(err, &se) {
			// Only the code and message: the SDK's own text carries the
			// whole answer, and a signature mismatch's string to sign.
			switch se.ErrorCode() {
			case "Forbidden.ResourceNotFound":
				return "", fmt.Errorf("%w (KMS %s: %s, request %s)", ErrNotFound, se.ErrorCode(), se.Message(), se.RequestId())
			case "Forbidden.NoPermission", "Forbidden.KeyNotFound", "Forbidden.RAM":
				return "", fmt.Errorf("%w (KMS %s: %s, request %s): grant kms:GetSecretValue on it to this function's role", ErrDenied, se.ErrorCode(), se.Message(), se.RequestId())
			}
			return "", fmt.Errorf("KMS GetSecretValue: %s: %s (HTTP %d, request %s)", se.ErrorCode(), se.Message(), se.HttpStatus(), se.RequestId())
		}
		// A transport failure: the SDK's text names the endpoint, not the
		// credentials.
		return "", fmt.Errorf("KMS GetSecretValue: %w", err)
	}
	var out struct {
		SecretName, SecretData, SecretDataType, VersionId string
	}
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		return "", fmt.Errorf("KMS GetSecretValue: decode the answer: %v", err)
	}
	if out.SecretDataType == "binary" {
		return "", fmt.Errorf("KMS GetSecretValue: the secret %q (version %s) is binary: store it as text", name, out.VersionId)
	}
	return out.SecretData, nil
}
