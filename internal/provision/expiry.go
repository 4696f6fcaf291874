package provision

import (
	"time"

	"github.com/vpngw/vpngw/internal/request"
)

// expiry is when the request's gateway expires (zero for never): a batch
// item's, resolved with its batch, or the request's own vpngwexpires
// resolved at now, its receipt. A time not after now is an error.
func (s *Service) expiry(in Input, now time.Time) (time.Time, error) {
	if !in.expiresAt.IsZero() {
		if !in.expiresAt.After(now) {
			return time.Time{}, request.ExpiredError(in.expiresAt, now)
		}
		return in.expiresAt, nil
	}
	if in.Expires == "" {
		return time.Time{}, nil
	}
	return request.Expiry(in.Expires, in.EventTime, now)
}
