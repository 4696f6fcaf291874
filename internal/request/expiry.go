package request

import (
	"fmt"
	"strings"
	"time"
)

// ExpiresExtension is the CloudEvents extension attribute by which a create
// request asks for its gateway to be deleted at a time: an RFC 3339
// timestamp, or a Go duration counted from the event's time (from its
// receipt when the event has no time).
const ExpiresExtension = "vpngwexpires"

// ExpiresAllowed is what ExpiresExtension takes, for errors.
const ExpiresAllowed = "an RFC 3339 time such as 2026-12-09T10:00:00Z, or a positive Go duration such as 168h, 90m or 30s, counted from the event's time (from its receipt when it has none)"

// ExpiryLifetime reads v, the value of ExpiresExtension: a duration, or a
// time (duration zero). An error says what is wrong with it.
func ExpiryLifetime(v string) (at time.Time, d time.Duration, err error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, 0, fmt.Errorf("%s is empty", ExpiresExtension)
	}
	if t, terr := time.Parse(time.RFC3339Nano, strings.ToUpper(v)); terr == nil {
		return t, 0, nil
	}
	d, derr := time.ParseDuration(v)
	if derr != nil {
		return time.Time{}, 0, fmt.Errorf("%s %q is neither an RFC 3339 time nor a Go duration", ExpiresExtension, v)
	}
	if d <= 0 {
		return time.Time{}, 0, fmt.Errorf("%s %q: a lifetime must be positive", ExpiresExtension, v)
	}
	return time.Time{}, d, nil
}

// Expiry resolves v, the value of ExpiresExtension, to a time: a duration
// counts from eventTime (RFC 3339, the event's time attribute) or, when the
// event has none, from now (its receipt). A time not after now is refused:
// nothing is created only to be deleted at once.
func Expiry(v, eventTime string, now time.Time) (time.Time, error) {
	at, d, err := ExpiryLifetime(v)
	if err != nil {
		return time.Time{}, err
	}
	if d > 0 {
		from := now
		if eventTime != "" {
			if t, terr := time.Parse(time.RFC3339Nano, strings.ToUpper(eventTime)); terr == nil {
				from = t
			}
		}
		at = from.Add(d)
	}
	if !at.After(now) {
		return time.Time{}, ExpiredError(at, now)
	}
	return at.UTC(), nil
}

// ExpiredError says that an expiry at is not after now.
func ExpiredError(at, now time.Time) error {
	return fmt.Errorf("%s is in the past (%s, now %s): a gateway must expire after it is asked for", ExpiresExtension,
		at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
}
