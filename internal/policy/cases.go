package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/vpngw/vpngw/events"
)

// A cases file (JSON Lines, one Case a line; blank lines and lines starting
// with # are skipped) states what a policy must decide for each request, so
// that a policy change is tested before it ships (`vpngwctl policy test`).
// deploy/policy.sample.cases.jsonl is the sample policy's; docs/POLICY.md
// describes the format.

// A case without an action is a create; the field is there so that the
// cases of other actions (delete, ActionDelete) are written in the same
// format.

// Case is one line of a cases file: a request, its requester, what the
// requester has against the rule's quotas, and the decision expected.
type Case struct {
	Name string `json:"name"`
	// Action is what the requester asks for: "create" (the default).
	Action    string          `json:"action,omitempty"`
	Requester CaseRequester   `json:"requester"`
	Request   json.RawMessage `json:"request"`
	// Usage is what the store would count for the requester's source when
	// it records the request; quotas of the deciding rule apply to it.
	Usage  CaseUsage `json:"usage,omitzero"`
	Expect Expect    `json:"expect"`

	// Line is where the case is in its file (1-based); not read from it.
	Line int `json:"-"`
}

// CaseRequester is the requester of a case, as Requester.
type CaseRequester struct {
	Source   string `json:"source"`
	Caller   string `json:"caller,omitempty"`
	Key      string `json:"key,omitempty"`
	ChatUser string `json:"chatUser,omitempty"`
	Origin   Origin `json:"origin,omitzero"`
}

// CaseUsage is what the requester has against the quotas, as Usage.
type CaseUsage struct {
	PerDay  int `json:"perDay,omitempty"`
	Pending int `json:"pending,omitempty"`
}

// Expect is the decision a case expects.
type Expect struct {
	Allowed bool `json:"allowed"`
	// Rule is the rule that decides ("" when none matches: denied by
	// default).
	Rule   string `json:"rule"`
	DryRun bool   `json:"dryRun,omitempty"`
	// Violations are the rules broken, each "<rule setting>/<field>"
	// ("maxBandwidth/Bandwidth", "/source" for the default denial), in
	// the order the policy finds them.
	Violations []string `json:"violations,omitempty"`
}

// Who is the case's requester.
func (c Case) Who() Requester {
	return Requester(c.Requester)
}

// GatewayRequest decodes the case's request as its event's data.
func (c Case) GatewayRequest() (events.GatewayRequest, error) {
	var r events.GatewayRequest
	dec := json.NewDecoder(bytes.NewReader(c.Request))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("request: %w (give the request's data as its event carries it: RegionId, VpcId, Bandwidth, ...)", err)
	}
	return r, nil
}

// ReadCases reads a cases file. A line that is not a case is an error
// naming the line; so is a case without a name, requester source or
// request, or with an action this build does not decide.
func ReadCases(r io.Reader) ([]Case, error) {
	var out []Case
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	names := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var c Case
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			errs = append(errs, fmt.Errorf("line %d: not a case: %w (want {\"name\", \"requester\", \"request\", \"expect\"})", n, err))
			continue
		}
		c.Line = n
		switch {
		case c.Name == "":
			errs = append(errs, fmt.Errorf("line %d: the case has no name: give each case a \"name\" that says what it shows", n))
		case c.Requester.Source == "":
			errs = append(errs, fmt.Errorf("line %d (%s): requester.source is empty: give the source of the request's event", n, c.Name))
		case len(c.Request) == 0:
			errs = append(errs, fmt.Errorf("line %d (%s): request is missing: give the request's data", n, c.Name))
		case c.Action != "" && c.Action != ActionCreate:
			errs = append(errs, fmt.Errorf("line %d (%s): action %q: this build decides only %q", n, c.Name, c.Action, ActionCreate))
		}
		if first, dup := names[c.Name]; dup && c.Name != "" {
			errs = append(errs, fmt.Errorf("line %d: case %q is already on line %d: give each case a name of its own", n, c.Name, first))
		}
		names[c.Name] = n
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// CaseResult is what the policy decided for a case.
type CaseResult struct {
	Case     Case
	Decision Decision
	// Got is the decision as the case would state it.
	Got Expect
	// Mismatches say where Got differs from the case's Expect; none when
	// the case passes.
	Mismatches []string
}

// OK reports whether the policy decided as the case expects.
func (r CaseResult) OK() bool { return len(r.Mismatches) == 0 }

// Check decides the case as the provision use case would, quotas applied
// as the store would apply them, and compares the decision with the case's
// expectation.
func (p *Policy) Check(c Case) (CaseResult, error) {
	req, err := c.GatewayRequest()
	if err != nil {
		return CaseResult{Case: c}, err
	}
	who := c.Who()
	d, err := p.Decide(who, req)
	if err != nil {
		return CaseResult{Case: c}, err
	}
	d = d.OverQuota(who, Usage{PerDay: c.Usage.PerDay, Pending: c.Usage.Pending})
	got := Expect{Allowed: d.Allowed, Rule: d.Rule, DryRun: d.DryRun}
	for _, v := range d.Violations {
		got.Violations = append(got.Violations, ViolationKey(d.Rule, v)+"/"+v.Field)
	}
	res := CaseResult{Case: c, Decision: d, Got: got}
	want := c.Expect
	if got.Allowed != want.Allowed {
		res.Mismatches = append(res.Mismatches, fmt.Sprintf("allowed is %v, the case expects %v", got.Allowed, want.Allowed))
	}
	if got.Rule != want.Rule {
		res.Mismatches = append(res.Mismatches, fmt.Sprintf("decided by %s, the case expects %s", ruleName(got.Rule), ruleName(want.Rule)))
	}
	if got.DryRun != want.DryRun {
		res.Mismatches = append(res.Mismatches, fmt.Sprintf("dryRun is %v, the case expects %v", got.DryRun, want.DryRun))
	}
	if !slices.Equal(got.Violations, want.Violations) {
		res.Mismatches = append(res.Mismatches, fmt.Sprintf("violations %s, the case expects %s", list(got.Violations), list(want.Violations)))
	}
	return res, nil
}

func ruleName(r string) string {
	if r == "" {
		return "no rule (denied by default)"
	}
	return "rule " + strconv.Quote(r)
}

func list(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return "[" + strings.Join(v, ", ") + "]"
}

// ViolationKey is the rule setting a violation of the rule named names
// ("maxBandwidth", "quota.perDay"): "" for the default denial.
func ViolationKey(rule string, v events.FieldError) string {
	if rule == "" {
		return ""
	}
	rest, ok := strings.CutPrefix(v.Message, fmt.Sprintf("rule %q ", rule))
	if !ok {
		return "?"
	}
	key, _, _ := strings.Cut(rest, ":")
	return key
}
