package request

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
)

// sampleData returns the data of a sample CloudEvent from events.Samples,
// from data or data_base64.
func sampleData(t testing.TB, name string) []byte {
	t.Helper()
	b, err := events.Samples.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	var env struct {
		Type       string          `json:"type"`
		Data       json.RawMessage `json:"data"`
		DataBase64 string          `json:"data_base64"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("sample %s: %v", name, err)
	}
	if env.DataBase64 != "" {
		d, err := base64.StdEncoding.DecodeString(env.DataBase64)
		if err != nil {
			t.Fatalf("sample %s data_base64: %v", name, err)
		}
		return d
	}
	return env.Data
}

// requestSamples names the samples whose type is io.vpngw.gateway.requested.
func requestSamples(t testing.TB) []string {
	t.Helper()
	names, err := fs.Glob(events.Samples, "testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		b, _ := events.Samples.ReadFile(n)
		var env struct{ Type string }
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if env.Type == events.TypeRequested {
			out = append(out, strings.TrimPrefix(n, "testdata/"))
		}
	}
	if len(out) < 5 {
		t.Fatalf("found %d request samples, want at least 5: %v", len(out), out)
	}
	return out
}

func TestParseSamples(t *testing.T) {
	for _, name := range requestSamples(t) {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(sampleData(t, name))
			invalid := strings.Contains(name, "invalid")
			switch {
			case invalid && err == nil:
				t.Fatal("Parse accepted the invalid sample")
			case !invalid && err != nil:
				t.Fatalf("Parse refused a valid sample: %v", err)
			}
		})
	}
}

func TestParseMinimalSample(t *testing.T) {
	r, err := Parse(sampleData(t, "requested.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The local stack's curl relies on these values.
	if r.RegionId != "cn-hangzhou" || r.VpcId != "vpc-bp1vpngwdemo0000001" || r.VSwitchId != "vsw-bp1vpngwdemo0000001" ||
		r.DisasterRecoveryVSwitchId != "vsw-bp1vpngwdemo0000002" || *r.Bandwidth != 10 || r.Name != "demo-gateway" {
		t.Errorf("minimal sample changed: %+v", r)
	}
}

func TestParseReportsDecodeAndRuleErrorsTogether(t *testing.T) {
	// Five problems: a typo'd member (so Bandwidth is also missing), a
	// numeric string, a rule broken by decoded values, and a repeated tag key.
	data := `{"RegionId": "cn-hangzhou", "VpcId": "vpc-a1", "Bandwith": 10, "InstanceChargeType": "PREPAY", "Period": "12",
		"VSwitchId": "vsw-a1", "DisasterRecoveryVSwitchId": "vsw-a1",
		"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}`
	r, err := Parse([]byte(data))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Parse error = %v, want *Error", err)
	}
	var fields []string
	for _, fe := range perr.Errors {
		fields = append(fields, fe.Field)
	}
	want := []string{"Bandwith", "Period", "Bandwidth", "DisasterRecoveryVSwitchId", "Tags[1].Key"}
	if strings.Join(fields, " ") != strings.Join(want, " ") {
		t.Fatalf("fields = %v, want %v:\n%s", fields, want, dump(perr.Errors))
	}
	// Period could not be decoded: it is reported once, as a type error, not
	// also as "required with InstanceChargeType PREPAY".
	if !strings.Contains(perr.Errors[1].Allowed, "integer") {
		t.Errorf("Period error = %+v", perr.Errors[1])
	}
	// The partial request still names its region, for the rejection event.
	if r.RegionId != "cn-hangzhou" {
		t.Errorf("RegionId = %q", r.RegionId)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid gateway request (5 problems): ") {
		t.Errorf("Error() = %q", msg)
	}
	for _, fe := range perr.Errors {
		if !strings.Contains(msg, fe.Message) {
			t.Errorf("Error() leaves out %q", fe.Message)
		}
	}
}

func TestParseFourRulesFourErrors(t *testing.T) {
	data := `{"RegionId": "cn-hangzhou", "VpcId": "vpc-a1", "Bandwidth": 7, "Name": "x",
		"VSwitchId": "vsw-a1", "DisasterRecoveryVSwitchId": "vsw-a2", "VpnType": "IPsec", "ClientToken": "` + strings.Repeat("t", 70) + `"}`
	_, err := Parse([]byte(data))
	var perr *Error
	if !errors.As(err, &perr) || len(perr.Errors) != 4 {
		t.Fatalf("want 4 errors, got %v", err)
	}
}

func TestParseStopsAtUnreadableData(t *testing.T) {
	_, err := Parse([]byte(`[1, 2]`))
	var perr *Error
	if !errors.As(err, &perr) || len(perr.Errors) != 1 || perr.Errors[0].Field != DataField {
		t.Fatalf("want one error on %s, got %v", DataField, err)
	}
	if got := err.Error(); !strings.HasPrefix(got, "invalid gateway request: request data must be a JSON object") {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseValid(t *testing.T) {
	r, err := Parse([]byte(`{"RegionId": "me-central-1", "VpcId": "vpc-l4a", "Bandwidth": 5}`))
	if err != nil {
		t.Fatal(err)
	}
	if *r.Bandwidth != 5 {
		t.Errorf("Bandwidth = %d", *r.Bandwidth)
	}
}
