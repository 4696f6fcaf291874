package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/policy"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/store"
)

// minSinkSecret is the shortest VPNGW_SINK_SECRET taken, as for the
// webhook's own secrets.
const minSinkSecret = 16

// checkSinks refuses sinks that could not work: an HTTP sink with no
// VPNGW_SINK_SECRET to sign with, a secret too short, two sinks the store
// would name alike, a sink's name that is not one or is taken twice, and a
// policy rule routing to a name no sink has.
func checkSinks(c Config) []error {
	var errs []error
	sinks := queue.NamedSinks(c.QueueURL)
	names := map[string]int{}
	called := map[string]int{}
	needSecret := false
	for i, k := range sinks {
		raw := k.URL
		if k.Name != "" {
			if err := policy.CheckSinkName(k.Name); err != nil {
				errs = append(errs, fmt.Errorf("VPNGW_QUEUE_URL: sink %d: %w", i+1, err))
			} else if j, dup := called[k.Name]; dup {
				errs = append(errs, fmt.Errorf("VPNGW_QUEUE_URL: sinks %d and %d are both called %q: a name routes to one sink, give each its own", j+1, i+1, k.Name))
			} else {
				called[k.Name] = i
			}
		}
		scheme, _, _ := strings.Cut(strings.ToLower(raw), ":")
		if scheme == "http" || scheme == "https" {
			needSecret = true
		}
		if i == 0 {
			continue
		}
		name := queue.SinkName(raw)
		if j, dup := names[name]; dup {
			errs = append(errs, fmt.Errorf("VPNGW_QUEUE_URL: sinks %d and %d are both %s: name each destination once", j+1, i+1, name))
		}
		names[name] = i
	}
	errs = append(errs, checkRoutes(c.Policy, sinks)...)
	switch {
	case needSecret && c.SinkSecret == "":
		errs = append(errs, errors.New("VPNGW_SINK_SECRET is not set: VPNGW_QUEUE_URL names an HTTP sink, whose events are signed so that the receiver can tell them from anyone's (set it, or VPNGW_SINK_SECRET_SECRET, to at least 16 random bytes)"))
	case c.SinkSecret != "" && len(c.SinkSecret) < minSinkSecret:
		errs = append(errs, fmt.Errorf("VPNGW_SINK_SECRET is %d bytes: want at least %d random bytes", len(c.SinkSecret), minSinkSecret))
	}
	return errs
}

// checkRoutes refuses a policy that routes a rule's outcomes to a sink
// VPNGW_QUEUE_URL does not name: its outcomes would go nowhere it meant.
func checkRoutes(p *policy.Policy, sinks []queue.NamedSink) []error {
	var errs []error
	var named []string
	for _, k := range sinks {
		if k.Name != "" {
			named = append(named, k.Name)
		}
	}
	for _, r := range p.Routes() {
		for _, name := range r.Sinks {
			if slices.Contains(named, name) {
				continue
			}
			have := "it names none (write a sink as name=url)"
			if len(named) > 0 {
				have = "its named sinks are " + strings.Join(named, ", ")
			}
			errs = append(errs, fmt.Errorf("policy %s: rule %q (rules[%d]) routes its outcomes to sink %q, which VPNGW_QUEUE_URL does not name: %s",
				p.Name(), r.Rule, r.Index, name, have))
		}
	}
	return errs
}

// idleSinks lists the named sinks no rule of p routes to: they receive
// nothing, which is worth a warning at start-up (a rule not written yet, a
// name mistyped in the policy's file but not in the URL).
func idleSinks(p *policy.Policy, sinks []queue.NamedSink) []string {
	routed := map[string]bool{}
	for _, r := range p.Routes() {
		for _, name := range r.Sinks {
			routed[name] = true
		}
	}
	var idle []string
	for _, k := range sinks {
		if k.Name != "" && !routed[k.Name] {
			idle = append(idle, k.Name)
		}
	}
	return idle
}

// openSinks opens a publisher for every sink of VPNGW_QUEUE_URL, the first
// named store.FirstSink and the others by queue.SinkName in the store,
// each with the operator's name for it (Sink.As), and its publisher
// (Sink.Pub, a sinkPublisher of the queue publisher returned at the same
// place).
func openSinks(ctx context.Context, c Config) ([]queue.Publisher, []outbox.Sink, error) {
	var pubs []queue.Publisher
	var sinks []outbox.Sink
	for i, k := range queue.NamedSinks(c.QueueURL) {
		p, err := queue.Open(ctx, queueURLWithCA(k.URL, c.CAFile), queue.WithSinkSecret(c.SinkSecret))
		if err != nil {
			for _, q := range pubs {
				_ = q.Close()
			}
			return nil, nil, fmt.Errorf("VPNGW_QUEUE_URL: %w", err)
		}
		name := store.FirstSink
		if i > 0 {
			name = queue.SinkName(k.URL)
		}
		pubs = append(pubs, p)
		sinks = append(sinks, outbox.Sink{Name: name, Pub: sinkPublisher(p), As: k.Name})
	}
	if len(pubs) == 0 {
		return nil, nil, errors.New("VPNGW_QUEUE_URL names no sink")
	}
	return pubs, sinks, nil
}

// sinkPublisher adapts a queue publisher to the drain's port, translating
// the broker's refusals into the drain's.
func sinkPublisher(p queue.Publisher) outbox.PublisherFunc {
	return func(ctx context.Context, m outgoing.Event) error {
		if err := p.Publish(ctx, m); err != nil {
			switch {
			case errors.Is(err, queue.ErrUnroutable):
				return fmt.Errorf("%w: %w: %w", outbox.ErrRefused, outbox.ErrUnrouted, err)
			case errors.Is(err, queue.ErrRefused):
				return fmt.Errorf("%w: %w", outbox.ErrRefused, err)
			}
			return err
		}
		return nil
	}
}
