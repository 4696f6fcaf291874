package policy

import (
	"fmt"
	"regexp"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Sink names. An operator names a sink of VPNGW_QUEUE_URL by writing it
// name=url; a rule's sinks list routes the rule's outcomes to the sinks it
// names, and outcomes of requests no rule routes go to every unnamed sink.

// MaxSinkNameLength bounds a sink's name.
const MaxSinkNameLength = 32

// ChatDestination is the name of the chat replies' destination, which every
// outcome of a chat request reaches whatever the routing: no sink may take
// it, and no rule may route to it.
const ChatDestination = "chat"

var sinkNameFormat = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// SinkNameSyntax says what a sink name may be, for messages and docs.
const SinkNameSyntax = "lower-case letters, digits, '-' and '_', starting with a letter, at most 32 characters, not \"chat\""

// CheckSinkName returns why s cannot name a sink, or nil.
func CheckSinkName(s string) error {
	switch {
	case s == ChatDestination:
		return fmt.Errorf("%q is the chat replies' destination, which every chat request's outcomes reach whatever the routing: choose another name", s)
	case len(s) > MaxSinkNameLength || !sinkNameFormat.MatchString(s):
		return fmt.Errorf("%q is not a sink name: use %s", s, SinkNameSyntax)
	}
	return nil
}

// Route is a rule's routing: where in the file it is and the sinks it
// sends its outcomes to.
type Route struct {
	Rule  string
	Index int
	Sinks []string
}

// Routes lists the rules that route their outcomes, in the order they are
// tried, so that the caller can check every name against the configured
// sinks at start-up.
func (p *Policy) Routes() []Route {
	if p == nil {
		return nil
	}
	var out []Route
	for _, r := range p.rules {
		if len(r.sinks) > 0 {
			out = append(out, Route{Rule: r.name, Index: r.index, Sinks: slices.Clone(r.sinks)})
		}
	}
	return out
}

// sinkList reads a rule's sinks: a non-empty list of distinct sink names.
func (l *loader) sinkList(n *yaml.Node, path string) []string {
	items := l.items(n, path, "a list of one or more sink names (the names of VPNGW_QUEUE_URL's name=url entries)",
		"an empty list routes the rule's outcomes nowhere: name one or more sinks, or leave sinks out to send them to every unnamed sink")
	var out []string
	for i, item := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		s, ok := l.str(item, ip)
		if !ok {
			continue
		}
		if err := CheckSinkName(s); err != nil {
			l.fail(item, ip, "%v", err)
			continue
		}
		if slices.Contains(out, s) {
			l.fail(item, ip, "sink %q is listed twice", s)
			continue
		}
		out = append(out, s)
	}
	return out
}
