package intake_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/vpngw/vpngw/internal/intake"
)

func BenchmarkFromPayloadEventBridge(b *testing.B) {
	payload := testdata(b, "eventbridge-event-driven.json")
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := intake.FromPayload(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromPayloadFullBatch(b *testing.B) {
	payload := fullBatch(func(i int) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":"e%d","source":"acs:eventbridge:cn-hangzhou:123:/custom/vpngw",`+
			`"type":"io.vpngw.gateway.requested","datacontenttype":"application/json;charset=utf-8",`+
			`"aliyunaccountid":"123","aliyunpublishtime":"2024-03-01T10:00:00.100Z","aliyuneventbusname":"default",`+
			`"data":{"RegionId":"cn-hangzhou","VpcId":"vpc-%d","Bandwidth":5}}`, i, i)
	})
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := intake.FromPayload(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromHTTPMessageBinary(b *testing.B) {
	h := http.Header{}
	for k, v := range binaryHeaders() {
		h[k] = v
	}
	body := []byte(gatewayData)
	for b.Loop() {
		if _, err := intake.FromHTTPMessage(h, body); err != nil {
			b.Fatal(err)
		}
	}
}
