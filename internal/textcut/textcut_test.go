package textcut_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vpngw/vpngw/internal/textcut"
)

// mixed holds characters of one to four bytes: a, é (2), € (3), 𝄞 (4).
const mixed = "aé€𝄞a€é𝄞"

func TestCutKeepsWholeCharacters(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},  // fits exactly
		{"abc", 10, "abc"}, // fits
		{"abc", 2, "ab"},
		{"", 0, ""},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"", -1, ""},
		{"aé", 3, "aé"}, // é is 2 bytes: 3 in all
		{"aé", 2, "a"},  // the cut falls inside é
		{"a€", 3, "a"},  // € is 3 bytes
		{"a€", 2, "a"},
		{"a€", 4, "a€"},
		{"a𝄞", 4, "a"}, // 𝄞 is 4 bytes
		{"a𝄞", 5, "a𝄞"},
		{"€€", 5, "€"},
		{"€€", 6, "€€"},
		{"\x80\x80\x80", 2, ""}, // continuation bytes alone start nothing
		{"a\xffb", 2, "a\xff"},  // a byte that is never valid still starts a character
	} {
		if got := textcut.Cut(c.s, c.n); got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// For every limit, Cut returns a prefix that fits, is valid UTF-8, and is
// the longest such: one more character would not fit.
func TestCutIsTheLongestValidPrefix(t *testing.T) {
	for n := 0; n <= len(mixed)+1; n++ {
		got := textcut.Cut(mixed, n)
		if !strings.HasPrefix(mixed, got) || len(got) > n || !utf8.ValidString(got) {
			t.Fatalf("Cut(%q, %d) = %q: not a valid prefix of at most %d bytes", mixed, n, got, n)
		}
		if got != mixed {
			_, size := utf8.DecodeRuneInString(mixed[len(got):])
			if len(got)+size <= n {
				t.Errorf("Cut(%q, %d) = %q: the next character (%d bytes) fits too", mixed, n, got, size)
			}
		}
	}
}

func TestClipEndsACutStringInAnEllipsisWithinTheLimit(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"}, // fits: no ellipsis
		{"abcdef", 5, "ab…"},    // "…" is 3 bytes
		{"abcdef", 3, "…"},
		{"aé€", 6, "aé€"},
		{"aé€", 5, "a…"},     // 2 bytes for text, and é does not fit in 1
		{"aé€xyz", 7, "aé…"}, // 4 bytes for text: € does not fit
		{"aé€xyzw", 9, "aé€…"},
		{"abcdef", 2, "…"}, // shorter than the ellipsis: the ellipsis alone
	} {
		if got := textcut.Clip(c.s, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
	for n := len(textcut.Ellipsis); n <= len(mixed)+1; n++ {
		got := textcut.Clip(mixed, n)
		if len(got) > n || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q: %d bytes or invalid UTF-8", mixed, n, got, len(got))
		}
		if got != mixed && !strings.HasPrefix(mixed, strings.TrimSuffix(got, textcut.Ellipsis)) {
			t.Errorf("Clip(%q, %d) = %q: not a prefix and an ellipsis", mixed, n, got)
		}
	}
}
