package request

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
)

func TestDecodeReadsEveryParameter(t *testing.T) {
	data := `{
		"RegionId": "cn-shanghai", "VpcId": "vpc-uf6a", "Bandwidth": 100, "Name": "gw-1",
		"InstanceChargeType": "PREPAY", "Period": 12, "AutoPay": true, "EnableIpsec": false,
		"EnableSsl": true, "SslConnections": 50, "VSwitchId": "vsw-uf6a", "VpnType": "Normal",
		"ClientToken": "tok-1", "NetworkType": "public", "DisasterRecoveryVSwitchId": "vsw-uf6b",
		"ResourceGroupId": "rg-acfm1", "Tags": [{"Key": "team", "Value": "net"}, {"Key": "env", "Value": ""}]
	}`
	got, errs := Decode([]byte(data))
	if errs != nil {
		t.Fatalf("Decode: %s", dump(errs))
	}
	want := events.GatewayRequest{
		RegionId: "cn-shanghai", VpcId: "vpc-uf6a", Bandwidth: ptrTo(100), Name: "gw-1",
		InstanceChargeType: "PREPAY", Period: ptrTo(12), AutoPay: ptrTo(true), EnableIpsec: ptrTo(false),
		EnableSsl: ptrTo(true), SslConnections: ptrTo(50), VSwitchId: "vsw-uf6a", VpnType: "Normal",
		ClientToken: "tok-1", NetworkType: "public", DisasterRecoveryVSwitchId: "vsw-uf6b",
		ResourceGroupId: "rg-acfm1", Tags: []events.Tag{{Key: "team", Value: "net"}, {Key: "env", Value: ""}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Decode =\n%+v\nwant\n%+v", got, want)
	}
	if len(parameters) != reflect.TypeFor[events.GatewayRequest]().NumField() {
		t.Errorf("Decode knows %d parameters, GatewayRequest has %d fields", len(parameters), reflect.TypeFor[events.GatewayRequest]().NumField())
	}
}

func TestDecodeNumbersAndNulls(t *testing.T) {
	cases := []struct {
		name string
		data string
		want int
	}{
		{"integer", `{"Bandwidth": 10}`, 10},
		{"integral with a fraction part", `{"Bandwidth": 10.0}`, 10},
		{"integral with an exponent", `{"Bandwidth": 1e1}`, 10},
		{"fraction and exponent that make a whole number", `{"Bandwidth": 0.5e2}`, 50},
		{"negative zero", `{"Bandwidth": -0}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, errs := Decode([]byte(tc.data))
			if errs != nil {
				t.Fatalf("Decode: %s", dump(errs))
			}
			if r.Bandwidth == nil || *r.Bandwidth != tc.want {
				t.Fatalf("Bandwidth = %v, want %d", r.Bandwidth, tc.want)
			}
		})
	}
	r, errs := Decode([]byte(`{"RegionId": "cn-hangzhou", "Name": null, "Bandwidth": null, "AutoPay": null, "Tags": null}`))
	if errs != nil {
		t.Fatalf("null members: %s", dump(errs))
	}
	if r.Name != "" || r.Bandwidth != nil || r.AutoPay != nil || r.Tags != nil {
		t.Errorf("null members not read as absent: %+v", r)
	}
	r, errs = Decode([]byte(`{"Tags": []}`))
	if errs != nil || r.Tags != nil {
		t.Errorf("empty Tags: %+v %s", r, dump(errs))
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		name    string
		data    string
		field   string
		allowed string // part of Allowed
		message string // part of Message
	}{
		{"empty data", ``, DataField, "JSON object", "empty"},
		{"white space only", " \n\t", DataField, "JSON object", "empty"},
		{"not JSON", `{"RegionId": cn-hangzhou}`, DataField, "JSON object", "not valid JSON"},
		{"cut short", `{"RegionId": "cn-hangzhou"`, DataField, "JSON object", "not valid JSON"},
		{"an array", `[{"RegionId": "cn-hangzhou"}]`, DataField, "JSON object", "not an array"},
		{"a string", `"RegionId"`, DataField, "JSON object", "not a string"},
		{"null", `null`, DataField, "JSON object", "not null"},
		{"trailing object", `{"Bandwidth": 5}{"Bandwidth": 10}`, DataField, "single JSON object", "trailing content"},
		{"trailing garbage", `{"Bandwidth": 5} x`, DataField, "single JSON object", "trailing content"},
		{"unknown parameter with a typo", `{"Bandwith": 5}`, "Bandwith", "one of RegionId, VpcId, Bandwidth", "did you mean Bandwidth?"},
		{"parameter in the wrong case", `{"bandwidth": 5}`, "bandwidth", "Bandwidth", "case-sensitive"},
		{"unknown parameter far from any", `{"Description": "x"}`, "Description", "one of", "not a CreateVpnGateway parameter"},
		{"repeated parameter", `{"Bandwidth": 5, "Bandwidth": 1000}`, "Bandwidth", "at most once", "more than once"},
		{"numeric string", `{"Bandwidth": "5"}`, "Bandwidth", "a JSON integer", `not a string "5"`},
		{"fraction", `{"Bandwidth": 5.5}`, "Bandwidth", "a JSON integer", "whole number"},
		{"tiny fraction", `{"Period": 1.0000000000000000001}`, "Period", "a JSON integer", "whole number"},
		{"beyond int32", `{"SslConnections": 2147483648}`, "SslConnections", "from -2147483648 to 2147483647", "out of range"},
		{"huge exponent", `{"Bandwidth": 1e999999999999}`, "Bandwidth", "from -2147483648", "out of range"},
		{"tiny exponent", `{"Bandwidth": 5e-999999999999}`, "Bandwidth", "a JSON integer", "whole number"},
		{"boolean for an integer", `{"Period": true}`, "Period", "a JSON integer", "not a boolean"},
		{"string for a boolean", `{"EnableSsl": "true"}`, "EnableSsl", "true or false", `not a string "true"`},
		{"number for a boolean", `{"AutoPay": 1}`, "AutoPay", "true or false", "not a number"},
		{"number for a string", `{"VpcId": 12}`, "VpcId", "a JSON string", "not a number"},
		{"object for a string", `{"Name": {"en": "gw"}}`, "Name", "a JSON string", "not an object"},
		{"empty string", `{"Name": ""}`, "Name", "leave Name out", "empty string"},
		{"empty member name", `{"": 1}`, `""`, "one of RegionId", "not a CreateVpnGateway parameter"},
		{"empty tag member name", `{"Tags": [{"": "x"}]}`, `Tags[0].""`, "Key, Value", "not a tag member"},
		{"Tags an object", `{"Tags": {"team": "net"}}`, "Tags", "JSON array", "not an object"},
		{"tag a string", `{"Tags": ["team=net"]}`, "Tags[0]", "JSON object", "not a string"},
		{"tag member unknown", `{"Tags": [{"Key": "a", "Val": "b"}]}`, "Tags[0].Val", "Key, Value", "did you mean Tags[0].Value?"},
		{"tag member repeated", `{"Tags": [{"Key": "a", "Key": "b"}]}`, "Tags[0].Key", "at most once", "more than once"},
		{"tag value a number", `{"Tags": [{"Key": "a", "Value": 1}]}`, "Tags[0].Value", "a JSON string", "not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Decode([]byte(tc.data))
			var fe *events.FieldError
			for i := range errs {
				if errs[i].Field == tc.field {
					fe = &errs[i]
				}
			}
			if fe == nil {
				t.Fatalf("no error on %q; got:\n%s", tc.field, dump(errs))
			}
			if !strings.Contains(fe.Allowed, tc.allowed) {
				t.Errorf("Allowed = %q, want it to say %q", fe.Allowed, tc.allowed)
			}
			if !strings.Contains(fe.Message, tc.message) {
				t.Errorf("Message = %q, want it to say %q", fe.Message, tc.message)
			}
		})
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	data := `{"RegionId": 1, "Bandwith": 5, "EnableSsl": "yes", "Period": 1.5, "Tags": [{"Key": 2}, 3]}`
	_, errs := Decode([]byte(data))
	var fields []string
	for _, fe := range errs {
		fields = append(fields, fe.Field)
	}
	want := []string{"RegionId", "Bandwith", "EnableSsl", "Period", "Tags[0].Key", "Tags[1]"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields = %v, want %v:\n%s", fields, want, dump(errs))
	}
}

func TestDecodeClipsLongValues(t *testing.T) {
	long := strings.Repeat("x", 10000)
	_, errs := Decode([]byte(`{"Bandwidth": "` + long + `"}`))
	if len(errs) != 1 {
		t.Fatalf("got %d errors", len(errs))
	}
	if n := len([]rune(errs[0].Value)); n > maxValueRunes+1 {
		t.Errorf("Value is %d runes; a FieldError should not echo a huge input", n)
	}
	if len(errs[0].Message) > 400 {
		t.Errorf("Message is %d bytes", len(errs[0].Message))
	}
}

func TestEditDistanceAndNearest(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"region", "region", 0}, {"regoin", "region", 2}, {"vpc", "vpcs", 1}, {"bandwith", "bandwidth", 1}, {"", "abc", 3}} {
		if got := EditDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	known := []string{"Bandwidth", "VpcId", "RegionId"}
	for name, want := range map[string]string{"Bandwith": "Bandwidth", "vpcid": "VpcId", "Zone": ""} {
		if got := Nearest(name, known); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", name, got, want)
		}
	}
}
