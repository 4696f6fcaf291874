package request

import "testing"

// BenchmarkParse is one ordinary request's data, as a provision request
// carries it: the parse every delivery makes.
func BenchmarkParse(b *testing.B) {
	data := []byte(`{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1bench0000000000000","VSwitchId":"vsw-bp1bench000000000000",` +
		`"DisasterRecoveryVSwitchId":"vsw-bp1benchdr0000000000","Bandwidth":10,"Name":"bench-gateway",` +
		`"Tags":[{"Key":"team","Value":"network"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
