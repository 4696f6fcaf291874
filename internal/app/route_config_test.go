package app

import (
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/queue"
)

// routedPolicy routes rule ticketing's outcomes to the sink called tickets.
var routedPolicy = strings.Replace(LocalPolicy, "\n  - name:", "\n  - name: ticketing\n    match: {source: \"acs:eventbridge:tickets\"}\n    regions: [\"*\"]\n    vpcs: [\"*\"]\n    maxBandwidth: 5\n    chargeTypes: [POSTPAY]\n    sinks: [tickets]\n  - name:", 1)

// TestSinkNamesAtStartUp: a rule routing to a sink VPNGW_QUEUE_URL does not
// name stops the start, naming the rule and the sink; so do a sink name
// that is not one and a name given twice.
func TestSinkNamesAtStartUp(t *testing.T) {
	if !strings.Contains(routedPolicy, "sinks: [tickets]") {
		t.Fatal("the test policy has no routing rule")
	}
	ok := "tls://mq.internal:4222, tickets=https://tickets.example/hook"
	if _, err := FromEnv(functionEnv(map[string]string{"VPNGW_QUEUE_URL": ok, "VPNGW_POLICY_INLINE": routedPolicy, "VPNGW_SINK_SECRET": "a-sink-secret-long-enough"}), Function); err != nil {
		t.Fatalf("valid routing refused: %v", err)
	}
	for _, c := range []struct{ queue, want string }{
		{"tls://mq.internal:4222", `rule "ticketing" (rules[0]) routes its outcomes to sink "tickets", which VPNGW_QUEUE_URL does not name: it names none (write a sink as name=url)`},
		{"tls://mq.internal:4222,ticket=https://tickets.example/hook", `rule "ticketing" (rules[0]) routes its outcomes to sink "tickets", which VPNGW_QUEUE_URL does not name: its named sinks are ticket`},
		{"tickets=tls://mq.internal:4222,tickets=https://tickets.example/hook", `VPNGW_QUEUE_URL: sinks 1 and 2 are both called "tickets"`},
		{"tls://mq.internal:4222,Tickets=https://tickets.example/hook", `VPNGW_QUEUE_URL: sink 2: "Tickets" is not a sink name: use lower-case letters`},
		{"chat=tls://mq.internal:4222,tickets=https://tickets.example/hook", `VPNGW_QUEUE_URL: sink 1: "chat" is the chat replies' destination`},
	} {
		_, err := FromEnv(functionEnv(map[string]string{"VPNGW_QUEUE_URL": c.queue, "VPNGW_POLICY_INLINE": routedPolicy, "VPNGW_SINK_SECRET": "a-sink-secret-long-enough"}), Function)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("VPNGW_QUEUE_URL=%s: error %v, want it to hold %q", c.queue, err, c.want)
		}
	}
}

// A named sink no rule routes to is worth a warning: it receives nothing.
func TestIdleSinks(t *testing.T) {
	c, err := FromEnv(functionEnv(map[string]string{"VPNGW_POLICY_INLINE": routedPolicy, "VPNGW_SINK_SECRET": "a-sink-secret-long-enough",
		"VPNGW_QUEUE_URL": "tls://mq.internal:4222,tickets=https://tickets.example/hook,audit=https://audit.example/hook"}), Function)
	if err != nil {
		t.Fatal(err)
	}
	if got := idleSinks(c.Policy, queue.NamedSinks(c.QueueURL)); len(got) != 1 || got[0] != "audit" {
		t.Errorf("idleSinks = %q, want [audit]", got)
	}
}
