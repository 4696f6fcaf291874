package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// IsReservedTagKey reports whether key would pass for one of the identity
// tags' keys: whether it starts with IdentityTagPrefix once these are undone,
// character by character, until six characters are read:
//
//   - characters that do not show: Unicode's default-ignorable code points
//     (zero-width space and joiners, soft hyphen, byte order mark, variation
//     selectors, ...), control characters and white space;
//   - compatibility forms: each character is decomposed as NFKD does, so
//     full-width "ｖｐｎｇｗ：", the small colon U+FE55 and mathematical
//     letters read as ASCII, and the marks that combine with a letter are
//     dropped ("ṿ" reads as "v");
//   - case: letters are compared in lower case ("VPNGW:" is reserved);
//   - look-alikes: the characters Unicode's confusables data (UTS #39,
//     confusables.txt 13.0) maps to "v", "p", "n", "g", "w" or ":" that NFKD
//     leaves alone, such as Cyrillic р and ԝ, Greek ν and ρ, Armenian ո, the
//     modifier letter colon U+A789 and the ratio sign U+2236 (lookalikes).
//
// So a tag on a gateway that reads as vpngw:… to a person was put there by
// vpngw. The check is deliberately wider than the tag service's own key
// comparison (exact): refusing a key someone could mistake for an identity
// tag costs a requester a rename, accepting one would let them forge a
// trace.
func IsReservedTagKey(key string) bool {
	const prefix = IdentityTagPrefix
	want := []rune(prefix)
	got := 0
	for _, r := range key {
		for _, c := range foldForPrefix(r) {
			if c != want[got] {
				return false
			}
			got++
			if got == len(want) {
				return true
			}
		}
	}
	return false
}

// foldForPrefix returns what r reads as for IsReservedTagKey: nothing for a
// character that does not show, otherwise its compatibility decomposition
// without combining marks, in lower case, with look-alikes replaced.
func foldForPrefix(r rune) []rune {
	if invisible(r) {
		return nil
	}
	if c, ok := lookalikes[r]; ok {
		return []rune{c}
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	var out []rune
	for _, d := range norm.NFKD.String(string(buf[:n])) {
		if invisible(d) || unicode.In(d, unicode.Mn, unicode.Me) {
			continue
		}
		d = unicode.ToLower(d)
		if c, ok := lookalikes[d]; ok {
			d = c
		}
		out = append(out, d)
	}
	return out
}

// invisible reports whether r is a default-ignorable code point (Unicode's
// derived property: Other_Default_Ignorable_Code_Point, format characters
// and variation selectors, less white space, the interlinear annotation
// characters and the prepended concatenation marks, which show), a control
// character or white space.
func invisible(r rune) bool {
	switch {
	case unicode.IsControl(r), unicode.Is(unicode.White_Space, r):
		return true
	case unicode.Is(unicode.Prepended_Concatenation_Mark, r), r >= 0xFFF9 && r <= 0xFFFB, r >= 0x13430 && r <= 0x13440:
		return false
	}
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Cf, unicode.Variation_Selector)
}

// lookalikes are the entries of Unicode's confusables.txt (version 13.0)
// whose target is one of the characters of IdentityTagPrefix, in either
// case, and which NFKD does not already reduce to that character. Upper-case
// look-alikes map to the lower-case letter, since the comparison ignores
// case.
var lookalikes = map[rune]rune{
	// v, V
	0x03BD: 'v', 0x0475: 'v', 0x05D8: 'v', 0x1D20: 'v', 0x2228: 'v', 0x22C1: 'v', 0xABA9: 'v',
	0x11706: 'v', 0x118C0: 'v', 0x0474: 'v', 0x0667: 'v', 0x06F7: 'v', 0x13D9: 'v', 0x142F: 'v',
	0x2D38: 'v', 0xA4E6: 'v', 0xA6DF: 'v', 0x1051D: 'v', 0x118A0: 'v', 0x16F08: 'v', 0x1D20D: 'v',
	// p, P
	0x0440: 'p', 0x03C1: 'p', 0x03F1: 'p', 0x2374: 'p', 0x2CA3: 'p', 0x0420: 'p', 0x03A1: 'p',
	0x13E2: 'p', 0x146D: 'p', 0x2CA2: 'p', 0xA4D1: 'p', 0x10295: 'p',
	// n, N
	0x0578: 'n', 0x057C: 'n', 0x039D: 'n', 0x2C9A: 'n', 0xA4E0: 'n', 0x10513: 'n',
	// g, G
	0x018D: 'g', 0x0261: 'g', 0x0581: 'g', 0x1D83: 'g', 0x050C: 'g', 0x13C0: 'g', 0x13F3: 'g', 0xA4D6: 'g',
	// w, W
	0x026F: 'w', 0x0461: 'w', 0x051D: 'w', 0x0561: 'w', 0x1D21: 'w', 0xAB83: 'w', 0x1170A: 'w',
	0x1170E: 'w', 0x1170F: 'w', 0x051C: 'w', 0x13B3: 'w', 0x13D4: 'w', 0xA4EA: 'w', 0x118E6: 'w', 0x118EF: 'w',
	// :
	0x02D0: ':', 0x02F8: ':', 0x0589: ':', 0x05C3: ':', 0x0703: ':', 0x0704: ':', 0x0903: ':',
	0x0A83: ':', 0x16EC: ':', 0x1803: ':', 0x1809: ':', 0x205A: ':', 0x2236: ':', 0xA4FD: ':',
	0xA789: ':', 0xFE30: ':',
}

// reservedKeyMessage says why a key is refused.
func reservedKeyMessage(key string) string {
	if strings.HasPrefix(key, IdentityTagPrefix) {
		return "it uses the prefix " + IdentityTagPrefix + ", which is reserved for the identity tags vpngw adds"
	}
	return "it reads as the prefix " + IdentityTagPrefix + " (ignoring case, invisible characters and look-alike letters or colons), which is reserved for the identity tags vpngw adds"
}
