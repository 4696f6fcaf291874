package faults

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vpngw/vpngw/internal/vpcsim"
)

// STS credentials the emulator accepts from function processes, handed over
// with each invocation as Function Compute does.
const (
	stsKeyID  = "STS.NTvpngwFaults0001"
	stsSecret = "sts-secret-for-faults"
	stsToken  = "sts-token-for-faults"
)

// provisioningDelay is how long the emulator keeps a new gateway "init", in
// real time: every scenario runs on the wall clock, because the function
// processes of the SIGKILL scenario cannot share a test clock.
const provisioningDelay = 200 * time.Millisecond

// api is the VPC API emulator behind a tap that sees every call on the wire:
// the ClientToken of each CreateVpnGateway, and each fault the emulator
// injected (a throttling answer, a 5xx, a dropped connection). The emulator
// counts calls per action but not the faults it injects, so the tap counts
// them.
type api struct {
	sim  *vpcsim.Server
	next http.Handler

	mu             sync.Mutex
	calls          map[string]int // action → calls that reached the emulator
	createsByToken map[string]int
	throttled      int
	serverErrors   int
	lost           int
	refused        int                 // calls refused for the credentials (SignatureDoesNotMatch and kin)
	hook           func(action string) // called as a call arrives (tests)
}

func newAPI() *api {
	return &api{calls: map[string]int{}, createsByToken: map[string]int{}}
}

// emulatorOptions are the emulator's settings in every scenario: the
// demo key for the in-process instances, the STS credentials for the
// processes.
func emulatorOptions(seed uint64) []vpcsim.Option {
	return []vpcsim.Option{
		vpcsim.WithProvisioningDelay(provisioningDelay),
		vpcsim.WithAccessKey(vpcsim.DefaultAccessKeyID, vpcsim.DefaultAccessKeySecret),
		vpcsim.WithSTSToken(stsKeyID, stsSecret, stsToken, time.Time{}),
		vpcsim.WithRandSeed(seed),
	}
}

// tap puts the api in front of the emulator's handler.
func (a *api) tap(next http.Handler) http.Handler {
	a.next = next
	return a
}

// ServeHTTP passes the call to the emulator and classifies its answer.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_admin/") {
		a.next.ServeHTTP(w, r)
		return
	}
	q := r.URL.Query()
	action := q.Get("Action")
	a.mu.Lock()
	a.calls[action]++
	if action == "CreateVpnGateway" {
		a.createsByToken[q.Get("ClientToken")]++
	}
	hook := a.hook
	a.mu.Unlock()
	if hook != nil {
		hook(action)
	}
	tw := &tapWriter{ResponseWriter: w}
	a.next.ServeHTTP(tw, r)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case tw.hijacked:
		a.lost++
	case tw.status >= 500:
		a.serverErrors++
	case tw.status == http.StatusBadRequest && errorCode(tw.body.Bytes()) == "Throttling.User":
		a.throttled++
	case errorCode(tw.body.Bytes()) == "SignatureDoesNotMatch":
		a.refused++
	}
}

// counts returns the tap's figures.
func (a *api) counts() (calls map[string]int, throttled, serverErrors, lost int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.calls), a.throttled, a.serverErrors, a.lost
}

// refusals is how many calls the emulator refused for their credentials.
func (a *api) refusals() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refused
}

func (a *api) creates() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.createsByToken)
}

func (a *api) setHook(f func(action string)) {
	a.mu.Lock()
	a.hook = f
	a.mu.Unlock()
}

func errorCode(body []byte) string {
	var e struct{ Code string }
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Code
}

// tapWriter records the status and the start of the body, and whether the
// handler took the connection over (the emulator's lost answer).
type tapWriter struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *tapWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *tapWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() < 4096 {
		w.body.Write(b[:min(len(b), 4096-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

func (w *tapWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("tap: the connection cannot be hijacked")
	}
	w.hijacked = true
	return hj.Hijack()
}
