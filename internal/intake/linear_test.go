package intake_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/intake"
	"github.com/vpngw/vpngw/internal/request"
)

// hostileEvents build structured events of about n bytes whose envelope has
// one problem per few bytes.
var hostileEvents = []struct {
	name string
	make func(n int) []byte
}{
	{"extension objects", func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"specversion":"1.0","id":"a","source":"/s","type":"io.vpngw.gateway.requested","data":{}`)
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, `,"x%d":{}`, i)
		}
		b.WriteString("}")
		return []byte(b.String())
	}},
	{"long extension name", func(n int) []byte {
		return []byte(`{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{},"` + strings.Repeat("x", n) + `":[]}`)
	}},
}

// An event's problems are capped like a request's: the first
// request.MaxFieldErrors and a count, each echoing a bounded value.
func TestEventProblemsAreCapped(t *testing.T) {
	for _, shape := range hostileEvents {
		t.Run(shape.name, func(t *testing.T) {
			for _, size := range []int{64 << 10, 256 << 10} {
				body := shape.make(size)
				items, err := intake.FromHTTPMessage(http.Header{"Content-Type": {intake.MediaTypeStructured}}, body)
				if err != nil || len(items) != 1 {
					t.Fatalf("FromHTTPMessage: %d items, %v", len(items), err)
				}
				var ee *intake.EventError
				if !errors.As(items[0].Err, &ee) {
					t.Fatalf("Err = %v, want an *EventError", items[0].Err)
				}
				if n := len(ee.Problems); n > request.MaxFieldErrors+1 {
					t.Errorf("%d bytes: %d problems listed, want at most %d and a count", size, n, request.MaxFieldErrors)
				}
				for _, p := range ee.Problems {
					if len(p.Field)+len(p.Value)+len(p.Message)+len(p.Allowed) > 1024 {
						t.Errorf("%d bytes: problem of %d bytes: echoed names and values must be capped", size, len(p.Field)+len(p.Message))
					}
				}
				if len(ee.Error()) > 64<<10 {
					t.Errorf("%d bytes: error text of %d bytes", size, len(ee.Error()))
				}
			}
		})
	}
}

func BenchmarkFromHTTPMessageHostile(b *testing.B) {
	for _, shape := range hostileEvents {
		for _, size := range []int{64 << 10, 128 << 10, 256 << 10, 1 << 20} {
			body := shape.make(size)
			b.Run(fmt.Sprintf("%s/%dKiB", strings.ReplaceAll(shape.name, " ", "_"), size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					_, _ = intake.FromHTTPMessage(http.Header{"Content-Type": {intake.MediaTypeStructured}}, body)
				}
			})
		}
	}
}
