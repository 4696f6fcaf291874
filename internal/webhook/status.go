package webhook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vpngw/vpngw/internal/store"
)

// StatusStore finds the requests a chat user made from a source (the
// workspace or conversation), newest first; with ref, the one whose
// request id or gateway id it is; and one request's history.
type StatusStore interface {
	ChatRequests(ctx context.Context, source, chatUser, ref string, limit int) ([]store.Request, error)
	History(ctx context.Context, key string) ([]store.HistoryEntry, error)
}

// statusHistory is how many of a request's last changes status shows.
const statusHistory = 10

// WithStatus answers the status command from st.
func WithStatus(st StatusStore) Option { return func(h *handler) { h.status = st } }

// statusLimit is how many requests a bare status lists.
const statusLimit = 10

// statusOf answers status: the caller's last requests from this workspace
// or conversation, or the one ref names.
func (h *handler) statusOf(ctx context.Context, m chatMessage, ref string) answer {
	if h.status == nil {
		return answer{text: "status is not available here."}
	}
	limit := statusLimit
	if ref != "" {
		limit = 1
	}
	rs, err := h.status.ChatRequests(ctx, m.identity.Source, m.user, ref, limit)
	if err != nil {
		h.log.WarnContext(ctx, "chat status not read", "caller", m.caller, "source", m.identity.Source, "err", err)
		return answer{text: "Your requests could not be read now: the store is busy. Try again in a minute."}
	}
	if len(rs) == 0 {
		if ref != "" {
			return answer{text: fmt.Sprintf("You have no request %s here (a request id or a gateway id of yours).", ref)}
		}
		return answer{text: "You have no requests here yet; help says how to make one."}
	}
	if ref != "" {
		r := rs[0]
		lines := []string{
			fmt.Sprintf("Request %s: %s", r.EventID, r.State),
			"VPN gateway: " + orDash(r.GatewayID),
			fmt.Sprintf("Region %s, VPC %s", orDash(r.RegionID), orDash(r.VpcID)),
			"Received: " + r.CreatedAt.UTC().Format(time.RFC3339),
			"Last change: " + r.UpdatedAt.UTC().Format(time.RFC3339),
		}
		if r.LastError != "" {
			lines = append(lines, "Last error: "+r.LastError)
		}
		hist, err := h.status.History(ctx, r.Key)
		if err != nil {
			// The request itself was read: answer with it, and say so.
			h.log.WarnContext(ctx, "chat status: history not read", "caller", m.caller, "request_key", r.Key, "err", err)
			lines = append(lines, "History: could not be read now; try again in a minute.")
			return answer{text: strings.Join(lines, "\n")}
		}
		if len(hist) > 0 {
			lines = append(lines, "History:")
			if len(hist) > statusHistory {
				lines = append(lines, fmt.Sprintf("  (%d earlier changes left out)", len(hist)-statusHistory))
				hist = hist[len(hist)-statusHistory:]
			}
			for _, e := range hist {
				lines = append(lines, fmt.Sprintf("  %s  %s  %s  %s", e.At.UTC().Format("2006-01-02 15:04:05"), e.State, e.Actor, orDash(e.Reason)))
			}
		}
		return answer{text: strings.Join(lines, "\n")}
	}
	lines := []string{fmt.Sprintf("Your last %d requests here, newest first:", len(rs))}
	for _, r := range rs {
		lines = append(lines, fmt.Sprintf("%s  %-9s  %-24s  %s", r.CreatedAt.UTC().Format("2006-01-02 15:04"), r.State, orDash(r.GatewayID), r.EventID))
	}
	return answer{text: strings.Join(lines, "\n"), preformatted: true}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
