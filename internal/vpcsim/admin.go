package vpcsim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Faults are failures the emulator injects into API calls, to test how a
// client copes with them. Rates are probabilities from 0 to 1 per call.
type Faults struct {
	// ThrottleRate answers a call Throttling.User (HTTP 400) regardless of
	// the rate limit.
	ThrottleRate float64
	// ThrottleWait, when set, is the wait ThrottleRate's answers name
	// (never past the quota window's end), as a short-lived throttle's;
	// unset, they name the window's end, as a quota spent does.
	ThrottleWait time.Duration
	// ServerErrorRate answers a call InternalError (HTTP 500) or
	// ServiceUnavailable (HTTP 503), half and half.
	ServerErrorRate float64
	// Latency delays every API answer.
	Latency time.Duration
	// LostCreateRate carries out a CreateVpnGateway call (the gateway
	// exists) and then closes the connection without answering.
	LostCreateRate float64
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{"ThrottleRate": f.ThrottleRate, "ServerErrorRate": f.ServerErrorRate, "LostCreateRate": f.LostCreateRate} {
		if r < 0 || r > 1 || r != r {
			return fmt.Errorf("vpcsim: fault %s is %v, want a probability from 0 to 1", name, r)
		}
	}
	if f.ThrottleWait < 0 {
		return fmt.Errorf("vpcsim: fault ThrottleWait is %v, want 0 (the window's end) or more", f.ThrottleWait)
	}
	if f.Latency < 0 {
		return fmt.Errorf("vpcsim: fault Latency is %v, want 0 or more", f.Latency)
	}
	return nil
}

// faultsJSON is Faults on the wire, with Latency as a Go duration string.
type faultsJSON struct {
	ThrottleRate    float64         `json:"ThrottleRate"`
	ServerErrorRate float64         `json:"ServerErrorRate"`
	Latency         json.RawMessage `json:"Latency,omitempty"`
	LostCreateRate  float64         `json:"LostCreateRate"`
}

// MarshalJSON writes Latency as a duration string such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	lat, err := json.Marshal(f.Latency.String())
	if err != nil {
		return nil, err
	}
	return json.Marshal(faultsJSON{f.ThrottleRate, f.ServerErrorRate, lat, f.LostCreateRate})
}

// UnmarshalJSON reads Latency as a duration string ("250ms") or as a number
// of nanoseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := Faults{ThrottleRate: w.ThrottleRate, ServerErrorRate: w.ServerErrorRate, LostCreateRate: w.LostCreateRate}
	if len(w.Latency) > 0 && string(w.Latency) != "null" {
		var str string
		if err := json.Unmarshal(w.Latency, &str); err == nil {
			d, err := time.ParseDuration(str)
			if err != nil {
				return fmt.Errorf("vpcsim: Latency %q: %w", str, err)
			}
			out.Latency = d
		} else {
			n, err := strconv.ParseInt(string(w.Latency), 10, 64)
			if err != nil {
				return fmt.Errorf("vpcsim: Latency must be a duration string or nanoseconds: %s", w.Latency)
			}
			out.Latency = time.Duration(n)
		}
	}
	*f = out
	return nil
}

// SetFaults replaces the injected faults; the zero Faults turns them off.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// CurrentFaults returns the injected faults.
func (s *Server) CurrentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Gateways returns every gateway that exists, oldest first, with statuses as
// of the service clock.
func (s *Server) Gateways() []Gateway {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.clock())
	states := slices.Collect(maps.Values(s.gateways))
	slices.SortFunc(states, func(a, b *gatewayState) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Gateway, len(states))
	for i, g := range states {
		out[i] = g.clone()
	}
	return out
}

// Gateway returns one gateway, or ErrGatewayNotFound.
func (s *Server) Gateway(id string) (Gateway, error) {
	var out Gateway
	err := s.withGateway(id, "gateway", func(g *gatewayState) { out = g.clone() })
	return out, err
}

// withGateway runs fn on the gateway id, settled to the clock's now, under
// the server's lock; without such a gateway it returns ErrGatewayNotFound,
// wrapped as "<what> <id>".
func (s *Server) withGateway(id, what string, fn func(g *gatewayState)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.clock())
	g := s.gateways[id]
	if g == nil {
		return fmt.Errorf("%s %s: %w", what, id, ErrGatewayNotFound)
	}
	fn(g)
	return nil
}

// Calls returns how many calls of action passed authentication, whatever
// their outcome after that.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// Throttled returns how many calls of action were answered Throttling.User
// (by the rate limit or the ThrottleRate fault).
func (s *Server) Throttled(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled[action]
}

// SetRateLimit changes action's limit per region and clock minute while the
// server runs, as an account's quota raised (or lowered) in Quota Center
// is; see WithRateLimit. Calls already counted in the current window stay
// counted.
func (s *Server) SetRateLimit(action string, perMinute int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[action] = perMinute
}

// CallCounts returns Calls for every action called so far.
func (s *Server) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// SetBusinessStatus sets a gateway's payment status, Normal or
// FinancialLocked (what an overdue account shows).
func (s *Server) SetBusinessStatus(id, status string) error {
	if status != BusinessNormal && status != BusinessFinancialLocked {
		return fmt.Errorf("vpcsim: business status %q: want %s or %s", status, BusinessNormal, BusinessFinancialLocked)
	}
	return s.withGateway(id, "set business status of", func(g *gatewayState) { g.BusinessStatus = status })
}

// SetIpsecConnections sets how many IPsec-VPN connections are attached to
// the gateway id, as creating or deleting them in the console does;
// DeleteVpnGateway refuses a gateway that has any.
func (s *Server) SetIpsecConnections(id string, n int) error {
	if n < 0 {
		return fmt.Errorf("vpcsim: %d IPsec connections: want 0 or more", n)
	}
	return s.withGateway(id, "set IPsec connections of", func(g *gatewayState) { g.IpsecConnections = n })
}

// SetTags replaces the gateway's tags, as TagResources and UntagResources
// in the console do.
func (s *Server) SetTags(id string, tags []Tag) error {
	return s.withGateway(id, "set tags of", func(g *gatewayState) { g.Tags = slices.Clone(tags) })
}

// Delete removes a gateway at once, as if deleted outside the API (in the
// console, say). Its ClientToken keeps answering with its ID, as the
// service's token memory outlives the resource.
func (s *Server) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleLocked(s.clock())
	if s.gateways[id] == nil {
		return fmt.Errorf("delete %s: %w", id, ErrGatewayNotFound)
	}
	delete(s.gateways, id)
	return nil
}

// SetAccessKey adds c, or replaces the key with c's AccessKeyID: a new
// secret (a rotated key: calls signed with the old one answer
// SignatureDoesNotMatch), a new token, Disabled or DeniedActions.
func (s *Server) SetAccessKey(c Credential) error {
	if c.AccessKeyID == "" || c.AccessKeySecret == "" {
		return errors.New("vpcsim: an access key needs AccessKeyID and AccessKeySecret")
	}
	c.DeniedActions = slices.Clone(c.DeniedActions)
	c.ResourceGroups = slices.Clone(c.ResourceGroups)
	s.credMu.Lock()
	defer s.credMu.Unlock()
	s.creds[c.AccessKeyID] = c
	return nil
}

// RemoveAccessKey deletes a key, as deleting it in the RAM console does:
// calls signed with it answer InvalidAccessKeyId.NotFound.
func (s *Server) RemoveAccessKey(id string) error {
	s.credMu.Lock()
	defer s.credMu.Unlock()
	if _, ok := s.creds[id]; !ok {
		return fmt.Errorf("vpcsim: access key %s: %w", id, ErrAccessKeyNotFound)
	}
	delete(s.creds, id)
	return nil
}

// AccessKey returns the key with id, or ErrAccessKeyNotFound.
func (s *Server) AccessKey(id string) (Credential, error) {
	s.credMu.RLock()
	defer s.credMu.RUnlock()
	c, ok := s.creds[id]
	if !ok {
		return Credential{}, fmt.Errorf("vpcsim: access key %s: %w", id, ErrAccessKeyNotFound)
	}
	c.DeniedActions = slices.Clone(c.DeniedActions)
	c.ResourceGroups = slices.Clone(c.ResourceGroups)
	return c, nil
}

// RotateAccessKey gives the key id a new secret, as an operator rotating it
// in place would; calls still signed with the old secret answer
// SignatureDoesNotMatch. It returns the old secret, to put back.
func (s *Server) RotateAccessKey(id, secret string) (old string, err error) {
	if secret == "" {
		return "", errors.New("vpcsim: rotate: the new secret is empty")
	}
	s.credMu.Lock()
	defer s.credMu.Unlock()
	c, ok := s.creds[id]
	if !ok {
		return "", fmt.Errorf("vpcsim: access key %s: %w", id, ErrAccessKeyNotFound)
	}
	old, c.AccessKeySecret = c.AccessKeySecret, secret
	s.creds[id] = c
	return old, nil
}

// accessKeyJSON is a key on the admin interface: the secret and token are
// written, never read back.
type accessKeyJSON struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	AccessKeySecret string    `json:"AccessKeySecret,omitempty"`
	SecurityToken   string    `json:"SecurityToken,omitempty"`
	Expiration      time.Time `json:"Expiration,omitzero"`
	Disabled        bool      `json:"Disabled"`
	DeniedActions   []string  `json:"DeniedActions,omitempty"`
}

// DelayRange is the time new gateways stay "init": drawn uniformly from
// [Min, Max], or Min when Max is zero or equal. On the admin interface
// both are Go durations ("60s", "5m").
type DelayRange struct {
	Min Duration `json:"Min"`
	Max Duration `json:"Max,omitzero"`
}

// Duration is a time.Duration that JSON spells as Go does ("1m30s").
type Duration time.Duration

// MarshalJSON spells d as time.Duration.String does.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"60s\" or \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ProvisioningDelay is the time gateways created from now on stay "init".
func (s *Server) ProvisioningDelay() DelayRange {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := DelayRange{Min: Duration(s.delay)}
	if s.delayMax > s.delay {
		r.Max = Duration(s.delayMax)
	}
	return r
}

// SetProvisioningDelay changes the time gateways created from now on stay
// "init"; gateways already created keep theirs.
func (s *Server) SetProvisioningDelay(r DelayRange) error {
	if r.Min < 0 || r.Max < 0 {
		return fmt.Errorf("provisioning delay: Min %s and Max %s must not be negative", time.Duration(r.Min), time.Duration(r.Max))
	}
	if r.Max != 0 && r.Max < r.Min {
		return fmt.Errorf("provisioning delay: Max %s is below Min %s: want Min <= Max, or no Max for a fixed delay", time.Duration(r.Max), time.Duration(r.Min))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay, s.delayMax = time.Duration(r.Min), time.Duration(r.Max)
	return nil
}

// adminHandler serves the admin interface described in doc.go.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_admin/gateways", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, http.StatusOK, s.Gateways())
	})
	mux.HandleFunc("GET /_admin/gateways/{id}", func(w http.ResponseWriter, r *http.Request) {
		g, err := s.Gateway(r.PathValue("id"))
		if err != nil {
			writeAdminError(w, err)
			return
		}
		writeAdminJSON(w, http.StatusOK, g)
	})
	mux.HandleFunc("DELETE /_admin/gateways/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Delete(r.PathValue("id")); err != nil {
			writeAdminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	businessStatus := func(w http.ResponseWriter, r *http.Request) {
		var body struct{ BusinessStatus string }
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"BusinessStatus\": \"Normal\" | \"FinancialLocked\"}"})
			return
		}
		if err := s.SetBusinessStatus(r.PathValue("id"), body.BusinessStatus); err != nil {
			writeAdminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	mux.HandleFunc("PUT /_admin/gateways/{id}/business-status", businessStatus)
	mux.HandleFunc("POST /_admin/gateways/{id}/business-status", businessStatus)
	mux.HandleFunc("GET /_admin/calls", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, http.StatusOK, s.CallCounts())
	})
	mux.HandleFunc("GET /_admin/faults", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, http.StatusOK, s.CurrentFaults())
	})
	setFaults := func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&f); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeAdminJSON(w, http.StatusOK, s.CurrentFaults())
	}
	mux.HandleFunc("GET /_admin/access-keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, err := s.AccessKey(r.PathValue("id"))
		if err != nil {
			writeAdminError(w, err)
			return
		}
		writeAdminJSON(w, http.StatusOK, accessKeyJSON{AccessKeyID: c.AccessKeyID, Expiration: c.Expiration, Disabled: c.Disabled, DeniedActions: c.DeniedActions})
	})
	mux.HandleFunc("PUT /_admin/access-keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body accessKeyJSON
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"AccessKeySecret\": \"...\", \"Disabled\": false, \"DeniedActions\": [\"CreateVpnGateway\"]}: " + err.Error()})
			return
		}
		c := Credential{AccessKeyID: r.PathValue("id"), AccessKeySecret: body.AccessKeySecret, SecurityToken: body.SecurityToken,
			Expiration: body.Expiration, Disabled: body.Disabled, DeniedActions: body.DeniedActions}
		if c.AccessKeySecret == "" {
			// Keep the secret when only the state changes.
			if old, err := s.AccessKey(c.AccessKeyID); err == nil {
				c.AccessKeySecret = old.AccessKeySecret
			}
		}
		if err := s.SetAccessKey(c); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_admin/access-keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.RemoveAccessKey(r.PathValue("id")); err != nil {
			writeAdminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_admin/provisioning-delay", func(w http.ResponseWriter, r *http.Request) {
		writeAdminJSON(w, http.StatusOK, s.ProvisioningDelay())
	})
	setDelay := func(w http.ResponseWriter, r *http.Request) {
		var d DelayRange
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&d); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"Min": "60s", "Max": "300s"} (Max may be left out for a fixed delay): ` + err.Error()})
			return
		}
		if err := s.SetProvisioningDelay(d); err != nil {
			writeAdminJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeAdminJSON(w, http.StatusOK, s.ProvisioningDelay())
	}
	mux.HandleFunc("PUT /_admin/provisioning-delay", setDelay)
	mux.HandleFunc("POST /_admin/provisioning-delay", setDelay)
	mux.HandleFunc("PUT /_admin/faults", setFaults)
	mux.HandleFunc("POST /_admin/faults", setFaults)
	return mux
}

func writeAdminError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrGatewayNotFound) || errors.Is(err, ErrAccessKeyNotFound) {
		status = http.StatusNotFound
	}
	writeAdminJSON(w, status, map[string]string{"error": err.Error()})
}

func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
