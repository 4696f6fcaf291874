package vpcsim

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBodyBytes bounds the form body; VPC API requests are a few kilobytes.
const maxBodyBytes = 1 << 20

type authStyle int

const (
	// styleRPC is signature version 1.0: HMAC-SHA1 over the sorted
	// parameters, carried in the Signature parameter (the core Go SDK).
	styleRPC authStyle = iota + 1
	// styleACS3 is ACS3-HMAC-SHA256 in the Authorization header (the newer
	// "Tea" SDKs).
	styleACS3
)

const acs3Algorithm = "ACS3-HMAC-SHA256"

// apiRequest is one parsed API call. Parsing checks the request's shape
// only; who sent it is settled by authenticate.
type apiRequest struct {
	method string
	path   string
	host   string
	header http.Header
	style  authStyle

	// params holds the query and form parameters, each exactly once.
	params map[string]string
	// query is the decoded query string, which ACS3 signs on its own.
	query url.Values
	body  []byte

	action, version, format string
	accessKeyID             string
	securityToken           string
	nonce                   string
	timestamp               string
	signature               string

	// ACS3 only.
	signedHeaders []string
}

// commonParams are the RPC parameters that describe the call rather than the
// operation; they never take part in idempotency comparisons.
var commonParams = map[string]bool{
	"Action": true, "Version": true, "Format": true, "AccessKeyId": true,
	"SignatureMethod": true, "SignatureVersion": true, "SignatureNonce": true,
	"SignatureType": true, "Timestamp": true, "Signature": true,
	"SecurityToken": true, "BearerToken": true, "ClientToken": true,
}

// parseRequest reads r into an apiRequest. On error it still returns the
// request when the response format is known, so the error is answered in it.
func parseRequest(r *http.Request) (*apiRequest, *apiError) {
	req := &apiRequest{
		method: r.Method,
		path:   r.URL.EscapedPath(),
		host:   r.Host,
		header: r.Header,
		format: "JSON",
	}
	if req.path == "" {
		req.path = "/"
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return req, errActionNotFound()
	}
	if req.path != "/" {
		return req, errActionNotFound()
	}

	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, errMalformed("query string: " + err.Error())
	}
	req.query = query

	var form url.Values
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
		if err != nil {
			return req, errMalformed("body could not be read")
		}
		if len(body) > maxBodyBytes {
			return req, errMalformed("body is larger than 1 MiB")
		}
		req.body = body
		if ct := r.Header.Get("Content-Type"); ct != "" && len(body) > 0 {
			if mt, _, err := mime.ParseMediaType(ct); err == nil && mt == "application/x-www-form-urlencoded" {
				form, err = url.ParseQuery(string(body))
				if err != nil {
					return req, errMalformed("form body: " + err.Error())
				}
			}
		}
	}

	// Every parameter must be given once: a second copy would be a value the
	// signature check and the handler could read differently.
	req.params = make(map[string]string, len(query)+len(form))
	for k, vs := range query {
		if len(vs) != 1 {
			return req, errDuplicateParam(k)
		}
		req.params[k] = vs[0]
	}
	for k, vs := range form {
		if _, dup := req.params[k]; dup || len(vs) != 1 {
			return req, errDuplicateParam(k)
		}
		req.params[k] = vs[0]
	}

	if f, ok := req.params["Format"]; ok {
		switch strings.ToUpper(f) {
		case "JSON", "":
		case "XML":
			req.format = "XML"
		default:
			return req, errInvalidParam("Format", "Valid values: JSON, XML.")
		}
	}

	authz := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(authz, acs3Algorithm+" "):
		req.style = styleACS3
		if aerr := req.parseACS3(strings.TrimPrefix(authz, acs3Algorithm+" ")); aerr != nil {
			return req, aerr
		}
	case strings.HasPrefix(authz, "ACS3-"):
		return req, errIncompleteSignature("Only the ACS3-HMAC-SHA256 algorithm is supported.")
	default:
		req.style = styleRPC
		req.action = req.params["Action"]
		req.version = req.params["Version"]
		req.accessKeyID = req.params["AccessKeyId"]
		req.securityToken = req.params["SecurityToken"]
		req.nonce = req.params["SignatureNonce"]
		req.timestamp = req.params["Timestamp"]
		req.signature = req.params["Signature"]
	}
	return req, nil
}

// parseACS3 reads "Credential=AK,SignedHeaders=a;b,Signature=hex" and the
// x-acs-* headers that carry the common parameters in this style.
func (req *apiRequest) parseACS3(fields string) *apiError {
	var haveCred, haveHeaders, haveSig bool
	for part := range strings.SplitSeq(fields, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return errIncompleteSignature("The Authorization header is not well formed.")
		}
		switch k {
		case "Credential":
			req.accessKeyID, haveCred = v, true
		case "SignedHeaders":
			haveHeaders = true
			if v != "" {
				req.signedHeaders = strings.Split(v, ";")
			}
		case "Signature":
			req.signature, haveSig = v, true
		}
	}
	if !haveCred || !haveHeaders || !haveSig || req.accessKeyID == "" || req.signature == "" {
		return errIncompleteSignature("The Authorization header needs Credential, SignedHeaders and Signature.")
	}
	h := req.header
	req.action = h.Get("x-acs-action")
	req.version = h.Get("x-acs-version")
	req.timestamp = h.Get("x-acs-date")
	req.nonce = h.Get("x-acs-signature-nonce")
	req.securityToken = h.Get("x-acs-security-token")
	return nil
}

// businessParams returns the parameters of the operation itself, without the
// common ones, for idempotency comparisons.
func (req *apiRequest) businessParams() map[string]string {
	out := make(map[string]string, len(req.params))
	for k, v := range req.params {
		if !commonParams[k] {
			out[k] = v
		}
	}
	return out
}
