package app_test

import (
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
