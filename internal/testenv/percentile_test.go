package testenv_test

import (
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/testenv"
)

// The cases of the benchmarks' and the cold-start tool's own percentile
// tests, which each had a copy of the function.
func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 down to 1: the order must not matter
	}
	twenty := ms(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
	for _, tc := range []struct {
		name string
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"one value at p90", ms(7), 90, 7 * time.Millisecond},
		{"median of an odd count", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"median of three", ms(30, 10, 20), 50, 20 * time.Millisecond},
		{"median of an even count is the lower middle", ms(4, 1, 3, 2), 50, 2 * time.Millisecond},
		{"median of twenty is the 10th", twenty, 50, 10 * time.Millisecond},
		{"p90 of twenty is the 18th", twenty, 90, 18 * time.Millisecond},
		{"p100 of twenty is the largest", twenty, 100, 20 * time.Millisecond},
		{"p99 of 1..100 is 99", ms(hundred...), 99, 99 * time.Millisecond},
		{"p50 of 1..100 is 50", ms(hundred...), 50, 50 * time.Millisecond},
		{"p100 is the maximum", ms(5, 9, 1), 100, 9 * time.Millisecond},
		{"a tiny p is the minimum", ms(5, 9, 1), 0.1, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]time.Duration(nil), tc.ds...)
			if got := testenv.Percentile(tc.ds, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.ds, tc.p, got, tc.want)
			}
			for i := range before {
				if tc.ds[i] != before[i] {
					t.Fatalf("Percentile reordered its input: %v, was %v", tc.ds, before)
				}
			}
		})
	}
}
