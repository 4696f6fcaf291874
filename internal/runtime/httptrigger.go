package runtime

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aliyun/fc-runtime-go-sdk/events"
)

// HTTPTrigger adapts an http.Handler to a Function Compute 3.0 HTTP trigger
// on a built-in runtime, where each request arrives as an event
// (events.HTTPTriggerEvent: rawPath, body, isBase64Encoded, headers,
// queryParameters, requestContext) and the answer is an
// events.HTTPTriggerResponse. The handler sees an ordinary *http.Request
// carrying the invocation's context, and whatever it writes becomes the
// response; a body that is not valid UTF-8 is sent base64-encoded.
//
// On AWS Lambda the same handler serves a function URL (or an API Gateway
// HTTP API with payload format 2.0): that event has the same rawPath, body,
// isBase64Encoded, headers and requestContext.http members, its query as
// rawQueryString and its cookies apart in cookies; the answer's members
// (statusCode, headers, body, isBase64Encoded) are the same too.
//
// A payload that is not an HTTP trigger event fails the invocation: the
// function behind an HTTP trigger is not meant to be invoked any other way.
func HTTPTrigger(h http.Handler) Handler {
	return func(ctx context.Context, payload json.RawMessage) (any, error) {
		req, err := httpRequest(ctx, payload)
		if err != nil {
			return nil, err
		}
		w := newResponseBuffer()
		h.ServeHTTP(w, req)
		return w.response(), nil
	}
}

// httpEvent is the part of an HTTP trigger event a request is rebuilt from:
// the members of Function Compute's events.HTTPTriggerEvent, and of a Lambda
// function URL event its query as sent and its cookies. It is decoded apart
// from either SDK's type because they disagree on members left out here
// (requestContext.timeEpoch is a string in one and a number in the other).
type httpEvent struct {
	RawPath         *string            `json:"rawPath"`
	Body            *string            `json:"body"`
	IsBase64Encoded *bool              `json:"isBase64Encoded"`
	Headers         *map[string]string `json:"headers"`
	QueryParameters *map[string]string `json:"queryParameters"`
	RawQueryString  string             `json:"rawQueryString"`
	Cookies         []string           `json:"cookies"`
	TriggerContext  struct {
		DomainName *string `json:"domainName"`
		Http       struct {
			Method   *string `json:"method"`
			Path     *string `json:"path"`
			Protocol *string `json:"protocol"`
			SourceIp *string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
}

// httpRequest rebuilds the HTTP request an HTTP trigger event describes.
func httpRequest(ctx context.Context, payload json.RawMessage) (*http.Request, error) {
	var ev httpEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, fmt.Errorf("HTTP trigger: the event is not an HTTP trigger event: %w", err)
	}
	method := strings.ToUpper(deref(ev.TriggerContext.Http.Method))
	if method == "" {
		return nil, errors.New("HTTP trigger: the event has no requestContext.http.method; is this function invoked by its HTTP trigger?")
	}
	var body []byte
	if ev.Body != nil {
		body = []byte(*ev.Body)
		if ev.IsBase64Encoded != nil && *ev.IsBase64Encoded {
			var err error
			if body, err = base64.StdEncoding.DecodeString(*ev.Body); err != nil {
				return nil, fmt.Errorf("HTTP trigger: the body is marked base64 but does not decode: %w", err)
			}
		}
	}

	// rawPath is the path as sent (still percent-encoded); http.path is
	// decoded, and used only when rawPath is missing.
	target := deref(ev.RawPath)
	if target == "" {
		target = (&url.URL{Path: deref(ev.TriggerContext.Http.Path)}).EscapedPath()
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	} else if ev.QueryParameters != nil && len(*ev.QueryParameters) > 0 {
		q := url.Values{}
		for k, v := range *ev.QueryParameters {
			q.Set(k, v)
		}
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("HTTP trigger: request %s %q: %w", method, target, err)
	}
	req.RequestURI = target
	if proto := deref(ev.TriggerContext.Http.Protocol); proto != "" {
		if major, minor, ok := http.ParseHTTPVersion(proto); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = proto, major, minor
		}
	}
	req.ContentLength = int64(len(body))
	req.RemoteAddr = deref(ev.TriggerContext.Http.SourceIp)
	req.Host = deref(ev.TriggerContext.DomainName)
	if ev.Headers != nil {
		// Function Compute joins a repeated header's values with commas into
		// one string and may send names in any case; canonical names let
		// Header.Get find them.
		for k, v := range *ev.Headers {
			name := textproto.CanonicalMIMEHeaderKey(k)
			if name == "Host" {
				if req.Host == "" {
					req.Host = v
				}
				continue
			}
			req.Header.Add(name, v)
		}
		for _, vals := range req.Header {
			slices.Sort(vals) // two spellings of one name: a stable order
		}
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	// The length is the body's as delivered, whatever a header claimed.
	req.Header.Del("Content-Length")
	return req, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// responseBuffer is the http.ResponseWriter an HTTP trigger's handler
// writes to: it keeps the whole answer for the invocation's result.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseBuffer() *responseBuffer { return &responseBuffer{header: http.Header{}} }

func (w *responseBuffer) Header() http.Header { return w.header }

func (w *responseBuffer) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseBuffer) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// response is the answer as Function Compute takes it: one value per
// header (repeated values joined with ", "), the body as text when it is
// UTF-8 and base64 otherwise.
func (w *responseBuffer) response() events.HTTPTriggerResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	out := events.HTTPTriggerResponse{StatusCode: status, Headers: make(map[string]string, len(w.header))}
	for k, v := range w.header {
		out.Headers[k] = strings.Join(v, ", ")
	}
	if b := w.body.Bytes(); utf8.Valid(b) {
		out.Body = string(b)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(b)
		out.IsBase64Encoded = true
	}
	return out
}
