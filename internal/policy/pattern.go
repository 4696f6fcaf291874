package policy

import (
	"fmt"
	"regexp"
	"strings"
)

// regexPrefix marks a pattern written as a regular expression rather than a
// glob.
const regexPrefix = "regex:"

// pattern matches one string value (a source, a region, a VPC ID, a name, a
// tag value) against what the policy file wrote.
//
// A pattern is a glob unless it starts with "regex:". Globs are what most
// entries need ("vpc-bp1*", "https://tickets.example.com/*") and cannot go
// wrong in the ways regular expressions do (an unanchored "vpc-bp1" would
// match "vpc-bp1x" and "xvpc-bp1"). The regex form is there for the rest:
// "regex:^U[0-9A-Z]{8,}$".
//
// Both forms match the whole value, case-sensitively: a regex is anchored
// whether or not it says so.
type pattern struct {
	raw string
	re  *regexp.Regexp
	// literal is set when the pattern has no wildcard: matching is a plain
	// comparison, and the loader can check the value's shape.
	literal bool
}

// compilePattern compiles a policy pattern. Glob syntax: '*' matches any run
// of characters (including '/' and none at all), '?' exactly one character,
// everything else itself.
func compilePattern(raw string) (pattern, error) {
	if expr, ok := strings.CutPrefix(raw, regexPrefix); ok {
		if expr == "" {
			return pattern{}, fmt.Errorf("the regular expression after %q is empty", regexPrefix)
		}
		re, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return pattern{}, fmt.Errorf("not a regular expression (RE2 syntax): %v", unwrapRegexpError(err))
		}
		return pattern{raw: raw, re: re}, nil
	}
	if raw == "" {
		return pattern{}, fmt.Errorf(`an empty pattern matches nothing; write "*" to match anything`)
	}
	if !strings.ContainsAny(raw, "*?") {
		return pattern{raw: raw, literal: true}, nil
	}
	return pattern{raw: raw, re: Glob(raw)}, nil
}

// Glob is the expression of a glob as the policy reads one: * matches any
// run of characters ("/" included), ? one character, anything else itself.
func Glob(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	// Quoted input always compiles.
	return regexp.MustCompile(b.String())
}

// match reports whether s fits the pattern.
func (p pattern) match(s string) bool {
	if p.literal {
		return s == p.raw
	}
	return p.re.MatchString(s)
}

// unwrapRegexpError drops the "error parsing regexp: " prefix, which the
// message around it already says.
func unwrapRegexpError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

// patterns is a list of alternatives: a value fits when any one matches.
type patterns []pattern

func (ps patterns) match(s string) bool {
	for _, p := range ps {
		if p.match(s) {
			return true
		}
	}
	return false
}

// String lists the patterns as the file wrote them, for messages.
func (ps patterns) String() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.raw
	}
	return strings.Join(s, ", ")
}

// Patterns is a list of policy patterns (globs, or "regex:" expressions) for
// other packages that bind a value the way the policy file does: the
// sources a webhook key may claim.
type Patterns struct{ ps patterns }

// CompilePatterns compiles raw as the policy file's patterns. The error
// names the entry at fault by its position.
func CompilePatterns(raw []string) (Patterns, error) {
	var out Patterns
	for i, s := range raw {
		p, err := compilePattern(s)
		if err != nil {
			return Patterns{}, fmt.Errorf("[%d] %q: %w", i, s, err)
		}
		out.ps = append(out.ps, p)
	}
	return out, nil
}

// Match reports whether s fits any of the patterns.
func (p Patterns) Match(s string) bool { return p.ps.match(s) }

// String lists the patterns as written, for messages.
func (p Patterns) String() string { return p.ps.String() }
