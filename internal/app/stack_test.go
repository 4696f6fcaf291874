package app_test

import (
	"encoding/json"
	"testing"

	"github.com/vpngw/vpngw/internal/apptest"
)

// stack is the component-test twin (internal/apptest) with the helpers
// these tests add to it: sending a request through one edge or another,
// ticking reconcile, reading the error lines.
type stack struct {
	*apptest.Stack
	t *testing.T
}

func newStack(t *testing.T, opts ...apptest.Option) *stack {
	t.Helper()
	return &stack{Stack: apptest.New(t, opts...), t: t}
}

// onlyEvent is the one event of type typ the subscriber saw, its data
// decoded; any other count fails the test.
func onlyEvent[T any](t *testing.T, s *stack, typ string) T {
	t.Helper()
	evs := s.EventsOfType(typ)
	if len(evs) != 1 {
		t.Fatalf("%d %s events, want 1: %+v", len(evs), typ, evs)
	}
	var d T
	if err := json.Unmarshal(evs[0].Data, &d); err != nil {
		t.Fatalf("%s data: %v", typ, err)
	}
	return d
}
