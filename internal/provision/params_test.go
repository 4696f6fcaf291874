package provision

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/vpngw/vpngw/events"
)

func ptr[T any](v T) *T { return &v }

var paramSamples = []string{
	`{}`,
	`{"RegionId":"cn-hangzhou","VpcId":"vpc-a","Bandwidth":null}`,
	`{"RegionId":"cn-hangzhou","VpcId":"vpc-a","Bandwidth":10,"Name":"gw","InstanceChargeType":"PREPAY","Period":1,"AutoPay":true,"EnableIpsec":false,"EnableSsl":true,"SslConnections":5,"VSwitchId":"vsw-1","VpnType":"Normal","ClientToken":"t","NetworkType":"public","DisasterRecoveryVSwitchId":"vsw-2","ResourceGroupId":"rg","Tags":[{"Key":"a","Value":"b"},{"Key":"vpngw:source","Value":"café"}]}`,
	`{"Tags":[{"Key":"k","Value":"caf\u00e9 \u003c"}]}`,
	`{"regionid":"x"}`,
	`{"RegionId":"a","RegionId":"b"}`,
	`{"Bandwidth":5.0}`,
	`{"Bandwidth":99999999999999999999}`,
	`{"Bandwidth":"5"}`,
	`{"AutoPay":1}`,
	`{"Tags":[]}`,
	`{"Tags":null}`,
	`{"Tags":[null,{"Key":null,"Value":"v"}]}`,
	`{"Tags":[{"Key":"a","Key":"b"}]}`,
	`{"Tags":[{"key":"a"}]}`,
	`{"Tags":{"Key":"a"}}`,
	`{"Name":"a\"b","Other":1}`,
	`[]`,
	`{"Name":`,
}

// decodeParams decodes whatever it is given as json.Unmarshal does,
// errors included.
func TestDecodeParamsAsUnmarshal(t *testing.T) {
	for _, s := range paramSamples {
		sameParams(t, []byte(s))
	}
	r := events.GatewayRequest{RegionId: "cn-hangzhou", VpcId: "vpc-a", Bandwidth: ptr(5), AutoPay: ptr(false),
		Tags: []events.Tag{{Key: "k", Value: "<v&>"}, {Key: "é", Value: ""}}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	sameParams(t, b)
	if got, ok := marshalledParams([]byte(paramSamples[2])); !ok || got.Tags[1].Value != "café" || *got.SslConnections != 5 {
		t.Errorf("marshalledParams of json.Marshal's form: ok %v, %+v", ok, got)
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, s := range paramSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { sameParams(t, data) })
}

func sameParams(t *testing.T, data []byte) {
	t.Helper()
	var want events.GatewayRequest
	werr := json.Unmarshal(data, &want)
	got, gerr := decodeParams(data)
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("decodeParams(%q): error %v, json.Unmarshal %v", data, gerr, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeParams(%q) = %+v, json.Unmarshal %+v", data, got, want)
	}
}

// BenchmarkDecodeParams is the decode of a record's Params before
// CreateVpnGateway: json.Unmarshal, which create used before, and
// decodeParams.
func BenchmarkDecodeParams(b *testing.B) {
	data := []byte(paramSamples[2])
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r events.GatewayRequest
			if err := json.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeParams", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeParams(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
