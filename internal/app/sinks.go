package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vpngw/vpngw/internal/outbox"
	"github.com/vpngw/vpngw/internal/outgoing"
	"github.com/vpngw/vpngw/internal/queue"
	"github.com/vpngw/vpngw/internal/store"
)

// minSinkSecret is the shortest VPNGW_SINK_SECRET taken, as for the
// webhook's own secrets.
const minSinkSecret = 16

// checkSinks refuses sinks that could not work: an HTTP sink with no
// VPNGW_SINK_SECRET to sign with, a secret too short, two sinks the store
// would name alike.
func checkSinks(c Config) []error {
	var errs []error
	sinks := queue.SplitSinks(c.QueueURL)
	names := map[string]int{}
	needSecret := false
	for i, raw := range sinks {
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
	switch {
	case needSecret && c.SinkSecret == "":
		errs = append(errs, errors.New("VPNGW_SINK_SECRET is not set: VPNGW_QUEUE_URL names an HTTP sink, whose events are signed so that the receiver can tell them from anyone's (set it, or VPNGW_SINK_SECRET_SECRET, to at least 16 random bytes)"))
	case c.SinkSecret != "" && len(c.SinkSecret) < minSinkSecret:
		errs = append(errs, fmt.Errorf("VPNGW_SINK_SECRET is %d bytes: want at least %d random bytes", len(c.SinkSecret), minSinkSecret))
	}
	return errs
}

// openSinks opens a publisher for every sink of VPNGW_QUEUE_URL, the first
// named store.FirstSink and the others by queue.SinkName.
func openSinks(ctx context.Context, c Config) ([]queue.Publisher, []string, error) {
	var pubs []queue.Publisher
	var names []string
	for i, raw := range queue.SplitSinks(c.QueueURL) {
		p, err := queue.Open(ctx, queueURLWithCA(raw, c.CAFile), queue.WithSinkSecret(c.SinkSecret))
		if err != nil {
			for _, q := range pubs {
				_ = q.Close()
			}
			return nil, nil, fmt.Errorf("VPNGW_QUEUE_URL: %w", err)
		}
		name := store.FirstSink
		if i > 0 {
			name = queue.SinkName(raw)
		}
		pubs, names = append(pubs, p), append(names, name)
	}
	if len(pubs) == 0 {
		return nil, nil, errors.New("VPNGW_QUEUE_URL names no sink")
	}
	return pubs, names, nil
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
