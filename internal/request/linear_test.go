package request

import (
	"fmt"
	"strings"
	"testing"
)

// hostileShapes build request data of about n bytes that each give one
// problem per few bytes: the shapes a careless or hostile sender could use to
// make refusing a request expensive.
var hostileShapes = []struct {
	name string
	make func(n int) []byte
}{
	{"unknown members", func(n int) []byte {
		return repeatMembers(n, func(b *strings.Builder, i int) { fmt.Fprintf(b, `"Bandwith%06d":1`, i) })
	}},
	{"repeated member", func(n int) []byte {
		return repeatMembers(n, func(b *strings.Builder, i int) { b.WriteString(`"Bandwidth":"x"`) })
	}},
	{"bad tags", func(n int) []byte {
		var b strings.Builder
		b.WriteString(`{"RegionId":"cn-qingdao","Tags":[`)
		for i := 0; b.Len() < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"Key":"aliyun%d","Value":"http://v","Colour":1}`, i)
		}
		b.WriteString("]}")
		return []byte(b.String())
	}},
	{"long member name", func(n int) []byte {
		return []byte(`{"` + strings.Repeat("Bandwidth", n/9) + `":1,"RegionId":"` + strings.Repeat("x", n/2) + `"}`)
	}},
}

func repeatMembers(n int, member func(*strings.Builder, int)) []byte {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		member(&b, i)
	}
	b.WriteString("}")
	return []byte(b.String())
}

// Refusing a request costs work in proportion to its size: quadrupling the
// input at most about quadruples the allocations (a quadratic step would
// multiply them by 16), and the error list and the values it repeats stay
// capped whatever the size. Counted in allocations, not time.
func TestParseWorkGrowsLinearly(t *testing.T) {
	for _, shape := range hostileShapes {
		t.Run(shape.name, func(t *testing.T) {
			small, large := shape.make(64<<10), shape.make(256<<10)
			var errSmall, errLarge error
			allocsSmall := testing.AllocsPerRun(1, func() { _, errSmall = Parse(small) })
			allocsLarge := testing.AllocsPerRun(1, func() { _, errLarge = Parse(large) })
			if ratio := allocsLarge / allocsSmall; ratio > 6 {
				t.Errorf("4x the input took %.1fx the allocations (%.0f for %d bytes, %.0f for %d): not linear",
					ratio, allocsSmall, len(small), allocsLarge, len(large))
			}
			// Merging the decoding and the validation problems: a lookup
			// or two per problem, not one per pair of problems (before,
			// every validation problem was compared with every decoding
			// problem: 3.4 million comparisons for 64 KiB of bad tags,
			// 53 million for 256 KiB).
			_, _, probesSmall := parse(small)
			_, _, probesLarge := parse(large)
			if probesSmall > len(small) || probesLarge > len(large) || float64(probesLarge) > 6*float64(max(probesSmall, 1)) {
				t.Errorf("merging problems took %d lookups for %d bytes and %d for %d: not linear",
					probesSmall, len(small), probesLarge, len(large))
			}
			for _, err := range []error{errSmall, errLarge} {
				checkCapped(t, err)
			}
		})
	}
}

func checkCapped(t *testing.T, err error) {
	t.Helper()
	perr, ok := err.(*Error)
	if !ok {
		t.Fatalf("Parse error %T %v, want *Error", err, err)
	}
	if n := len(perr.Errors); n > MaxFieldErrors+1 {
		t.Errorf("%d field errors, want at most %d and a count", n, MaxFieldErrors)
	}
	for _, fe := range perr.Errors {
		for what, s := range map[string]string{"Field": fe.Field, "Value": fe.Value, "Message": fe.Message, "Allowed": fe.Allowed} {
			if len(s) > 1024 {
				t.Errorf("%s of %s is %d bytes long: echoed values must be capped", what, clip(fe.Field), len(s))
			}
		}
	}
	if len(perr.Errors) == MaxFieldErrors+1 {
		last := perr.Errors[MaxFieldErrors]
		if !strings.Contains(last.Message, "more") {
			t.Errorf("last entry %+v does not count the problems left out", last)
		}
	}
	if len(perr.Error()) > 64<<10 {
		t.Errorf("error text is %d bytes long", len(perr.Error()))
	}
}

// The count entry says how many problems were left out, exactly.
func TestParseCountsOmittedProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"RegionId":"me-central-1","VpcId":"vpc-a","Bandwidth":5`)
	for i := range 120 {
		fmt.Fprintf(&b, `,"Extra%d":1`, i)
	}
	b.WriteString("}")
	_, err := Parse([]byte(b.String()))
	perr := err.(*Error)
	if len(perr.Errors) != MaxFieldErrors+1 {
		t.Fatalf("%d errors, want %d and a count", len(perr.Errors), MaxFieldErrors)
	}
	want := fmt.Sprintf("%d more problems", 120-MaxFieldErrors)
	if last := perr.Errors[MaxFieldErrors]; last.Field != DataField || !strings.Contains(last.Message, want) {
		t.Fatalf("count entry %+v, want Field %s and %q", last, DataField, want)
	}
	for i, fe := range perr.Errors[:MaxFieldErrors] {
		if fe.Field != fmt.Sprintf("Extra%d", i) {
			t.Fatalf("entry %d is %s, want the problems in input order", i, fe.Field)
		}
	}
}

func BenchmarkParseHostile(b *testing.B) {
	for _, shape := range hostileShapes {
		for _, size := range []int{64 << 10, 128 << 10, 256 << 10, 1 << 20} {
			data := shape.make(size)
			b.Run(fmt.Sprintf("%s/%dKiB", strings.ReplaceAll(shape.name, " ", "_"), size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					_, _ = Parse(data)
				}
			})
		}
	}
}
