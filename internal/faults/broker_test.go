package faults

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vpngw/vpngw/internal/apptest"
)

// received is one outcome event as a consumer reads it.
type received struct {
	ID, Type, Source, Subject string
	Data                      eventData
}

// eventData is the part of every outcome's data the invariants look at.
type eventData struct {
	Request struct {
		Source, Id string
	}
	VpnGatewayId string
	Stage        string
	Code         string
	Message      string
}

func parseEvent(body []byte) (received, error) {
	var ev struct {
		ID      string    `json:"id"`
		Type    string    `json:"type"`
		Source  string    `json:"source"`
		Subject string    `json:"subject"`
		Data    eventData `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return received{}, fmt.Errorf("event %q: %w", body, err)
	}
	return received{ID: ev.ID, Type: ev.Type, Source: ev.Source, Subject: ev.Subject, Data: ev.Data}, nil
}

// plainEvents parses what the plain subscriber received, and counts the
// messages that are not CloudEvents.
func plainEvents(msgs [][]byte) ([]received, int) {
	var out []received
	bad := 0
	for _, m := range msgs {
		ev, err := parseEvent(m)
		if err != nil {
			bad++
			continue
		}
		out = append(out, ev)
	}
	return out, bad
}

// streamEvents reads the whole stream with a JetStream consumer: what a
// durable consumer of vpngw's events gets, after JetStream dropped
// republished events by their Nats-Msg-Id.
func streamEvents(ctx context.Context, s *apptest.Stack) ([]received, error) {
	msgs, err := s.StreamMessages(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]received, 0, len(msgs))
	for _, m := range msgs {
		ev, err := parseEvent(m)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}
