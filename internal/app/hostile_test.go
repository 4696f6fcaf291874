package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/runtime"
)

// A body of nearly 1 MiB with a problem every few bytes, in the request data
// and in the envelope, is answered 400 with a capped error list: the first
// request.MaxFieldErrors problems and a count, each echoing a bounded value,
// and the failed event is as small. (How long it takes is measured by the
// benchmarks of internal/request and internal/intake, not here.)
func TestMegabyteOfProblemsGetsACappedAnswer(t *testing.T) {
	s := newStack(t)
	srv := s.intakeServer()
	envelope := func(id, extra string, data json.RawMessage) []byte {
		return []byte(`{"specversion":"1.0","id":"` + id + `","source":"/hostile","type":"io.vpngw.gateway.requested"` + extra + `,"data":` + string(data) + `}`)
	}
	fill := func(member func(i int) string) string {
		var b strings.Builder
		for i := 0; b.Len() < runtime.MaxHTTPBody-4096; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(member(i))
		}
		return b.String()
	}
	bodies := map[string][]byte{
		"bad tags": envelope("big-1", "", json.RawMessage(`{"RegionId":"cn-qingdao","Tags":[`+
			fill(func(i int) string { return fmt.Sprintf(`{"Key":"aliyun%d","Value":"http://v","Colour":1}`, i) })+`]}`)),
		"unknown parameters": envelope("big-2", "", json.RawMessage(`{`+
			fill(func(i int) string { return fmt.Sprintf(`"Bandwith%d":1`, i) })+`}`)),
		"bad extensions": envelope("big-3", ","+fill(func(i int) string { return fmt.Sprintf(`"x%d":{}`, i) }), json.RawMessage(`{}`)),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			if len(body) > runtime.MaxHTTPBody || len(body) < runtime.MaxHTTPBody-8192 {
				t.Fatalf("body of %d bytes, want just under %d", len(body), runtime.MaxHTTPBody)
			}
			status, out, raw := postStructured(t, srv, body)
			if status != http.StatusBadRequest || len(out.Results) != 1 {
				t.Fatalf("HTTP %d, %d results, want 400 with one", status, len(out.Results))
			}
			errs := out.Results[0].Errors
			if len(errs) != request.MaxFieldErrors+1 || !strings.Contains(errs[len(errs)-1].Message, "more problems not listed") {
				t.Fatalf("%d errors (last %+v), want %d and a count", len(errs), errs[len(errs)-1], request.MaxFieldErrors)
			}
			if len(raw) > 64<<10 {
				t.Fatalf("answer of %d bytes to a request of %d", len(raw), len(body))
			}
		})
	}
	for _, e := range s.EventsOfType(events.TypeFailed) {
		if len(e.Data) > 64<<10 {
			t.Errorf("failed event of %d bytes", len(e.Data))
		}
	}
	if n := len(s.EventsOfType(events.TypeFailed)); n != len(bodies) {
		t.Errorf("%d failed events, want %d", n, len(bodies))
	}
}
