// Package kmssim is a stand-in for KMS Secrets Manager's GetSecretValue
// (API version 2016-01-20, RPC style) for tests: it checks each request's
// signature version 1.0 exactly as the service does (internal/acsrpc, the
// same check the VPC API emulator applies), its access key, security token,
// timestamp and nonce, and answers with the service's fields and error
// codes.
package kmssim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/acsrpc"
)

// APIVersion is the only version the stand-in serves.
const APIVersion = "2016-01-20"

const maxSkew = 15 * time.Minute

type credential struct {
	secret, token string
	// readable lists the secrets this credential's RAM policy lets it
	// read; nil means every secret.
	readable []string
}

// Server is the stand-in. Its zero value is not usable: call New.
type Server struct {
	mu      sync.Mutex
	creds   map[string]credential
	secrets map[string]secret
	nonces  map[string]bool
	reads   map[string]int
	seq     int
}

type secret struct {
	data    string
	version int
}

// New returns a Server that knows no key and holds no secret.
func New() *Server {
	return &Server{creds: map[string]credential{}, secrets: map[string]secret{}, nonces: map[string]bool{}, reads: map[string]int{}}
}

// AddCredential lets a key sign requests; with a token, it is an STS
// credential whose requests must carry that SecurityToken. readable names
// the secrets its policy grants kms:GetSecretValue on; none means all.
func (s *Server) AddCredential(id, secret, token string, readable ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[id] = credential{secret: secret, token: token, readable: readable}
}

// PutSecret stores a new version of the secret called name, marked
// ACSCurrent (as PutSecretValue and rotation do).
func (s *Server) PutSecret(name, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = secret{data: data, version: s.secrets[name].version + 1}
}

// Reads reports how many GetSecretValue calls were answered with the
// secret called name.
func (s *Server) Reads(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[name]
}

type apiError struct {
	status        int
	code, message string
}

// ServeHTTP answers one RPC call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.seq++
	requestID := fmt.Sprintf("kmssim-%08d", s.seq)
	s.mu.Unlock()
	out, aerr := s.serve(r)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	if aerr != nil {
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"RequestId": requestID, "HostId": r.Host, "Code": aerr.code, "Message": aerr.message})
		return
	}
	out["RequestId"] = requestID
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) serve(r *http.Request) (map[string]any, *apiError) {
	params, aerr := readParams(r)
	if aerr != nil {
		return nil, aerr
	}
	switch {
	case params["Action"] == "":
		return nil, &apiError{400, "MissingParameter", "The input parameter \"Action\" that is mandatory for processing this request is not supplied."}
	case params["Version"] != APIVersion:
		return nil, &apiError{400, "InvalidVersion", "Specified parameter Version is not valid."}
	case params["Action"] != "GetSecretValue":
		return nil, &apiError{404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."}
	}
	for _, p := range []string{"AccessKeyId", "SignatureNonce", "Timestamp", "Signature"} {
		if params[p] == "" {
			return nil, &apiError{400, "MissingParameter", "The input parameter \"" + p + "\" that is mandatory for processing this request is not supplied."}
		}
	}
	if params["SignatureMethod"] != "HMAC-SHA1" || params["SignatureVersion"] != "1.0" {
		return nil, &apiError{400, "InvalidParameter", "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0."}
	}
	ts, err := time.Parse(time.RFC3339, params["Timestamp"])
	if err != nil || !strings.HasSuffix(params["Timestamp"], "Z") {
		return nil, &apiError{400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."}
	}
	if d := time.Since(ts); d > maxSkew || d < -maxSkew {
		return nil, &apiError{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cred, ok := s.creds[params["AccessKeyId"]]
	if !ok {
		return nil, &apiError{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	if subtle.ConstantTimeCompare([]byte(cred.token), []byte(params["SecurityToken"])) != 1 {
		return nil, &apiError{400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified security token mismatch with access key."}
	}
	if ok, sts := acsrpc.Verify(r.Method, params, cred.secret); !ok {
		return nil, &apiError{400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:" + sts}
	}
	nonce := params["AccessKeyId"] + "\x00" + params["SignatureNonce"]
	if s.nonces[nonce] {
		return nil, &apiError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	s.nonces[nonce] = true
	name := params["SecretName"]
	if name == "" {
		return nil, &apiError{400, "MissingParameter", "The input parameter \"SecretName\" that is mandatory for processing this request is not supplied."}
	}
	if cred.readable != nil && !slices.Contains(cred.readable, name) {
		return nil, &apiError{403, "Forbidden.NoPermission", "This operation is forbidden by permission system."}
	}
	sec, ok := s.secrets[name]
	if !ok {
		return nil, &apiError{404, "Forbidden.ResourceNotFound", "The resource is not found."}
	}
	s.reads[name]++
	return map[string]any{
		"SecretName": name, "SecretType": "Generic", "SecretData": sec.data, "SecretDataType": "text",
		"VersionId": fmt.Sprintf("v%d", sec.version), "VersionStages": map[string][]string{"VersionStage": {"ACSCurrent"}},
		"CreateTime": "2026-12-01T00:00:00Z",
	}, nil
}

// readParams merges the query and a form body; a parameter given twice is
// refused, as the signature check would read one copy and the action another.
func readParams(r *http.Request) (map[string]string, *apiError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &apiError{404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."}
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &apiError{400, "InvalidParameter", "The query string is malformed."}
	}
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &apiError{400, "InvalidParameter", "The form body is malformed."}
		}
		for k, v := range form {
			vals[k] = append(vals[k], v...)
		}
	}
	params := make(map[string]string, len(vals))
	for k, v := range vals {
		if len(v) != 1 {
			return nil, &apiError{400, "InvalidParameter", "The parameter " + k + " is given more than once."}
		}
		params[k] = v[0]
	}
	return params, nil
}
