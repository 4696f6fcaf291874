package queue_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/queue"
)

func TestSplitSinks(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"tls://h:4222", []string{"tls://h:4222"}},
		{"tls://h:4222, https://r.example/hook", []string{"tls://h:4222", "https://r.example/hook"}},
		{"kafka://b1:9092,b2:9092/t?tls=true,mqtts://m:8883/p", []string{"kafka://b1:9092,b2:9092/t?tls=true", "mqtts://m:8883/p"}},
		{"https://r/a?x=1,2,log:", []string{"https://r/a?x=1,2", "log:"}},
		{" , nats://h ,", []string{"nats://h"}},
		{"", nil},
	} {
		if got := queue.SplitSinks(c.in); !slices.Equal(got, c.want) {
			t.Errorf("SplitSinks(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNamedSinks(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []queue.NamedSink
	}{
		{"tls://h:4222", []queue.NamedSink{{URL: "tls://h:4222"}}},
		{"tickets=https://r.example/hook, nats://h", []queue.NamedSink{{"tickets", "https://r.example/hook"}, {"", "nats://h"}}},
		{"nats://h,finance=kafka://b1:9092,b2:9092/t?tls=true, audit = mqtts://m:8883/p",
			[]queue.NamedSink{{"", "nats://h"}, {"finance", "kafka://b1:9092,b2:9092/t?tls=true"}, {"audit", "mqtts://m:8883/p"}}},
		// A query's '=' is no name, and neither is what has ':' or '/'.
		{"https://r/a?x=https://y", []queue.NamedSink{{URL: "https://r/a?x=https://y"}}},
		{"log:,Bad.Name=nats://h", []queue.NamedSink{{URL: "log:"}, {"Bad.Name", "nats://h"}}},
	} {
		if got := queue.NamedSinks(c.in); !slices.Equal(got, c.want) {
			t.Errorf("NamedSinks(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := queue.SplitSinks("a=nats://h,b=https://r/x"); !slices.Equal(got, []string{"nats://h", "https://r/x"}) {
		t.Errorf("SplitSinks of named sinks = %q, want the URLs alone", got)
	}
}

func TestSinkNameHoldsNoSecret(t *testing.T) {
	for raw, want := range map[string]string{
		"kafka://alice:pw-secret@b1:9092,b2:9092/outcomes?sasl=plain": "kafka://b1:9092,b2:9092/outcomes",
		"amqps://u:pw-secret@h:5671/vhost?exchange=x":                 "amqps://h:5671/vhost",
		"log:stderr": "log:stderr",
	} {
		if got := queue.SinkName(raw); got != want {
			t.Errorf("SinkName(%s) = %q, want %q", raw, got, want)
		}
	}
	a := queue.SinkName("https://hooks.example/services/T0/B0/tok-secret")
	b := queue.SinkName("https://hooks.example/services/T0/B0/other")
	if strings.Contains(a, "tok-secret") || !strings.HasPrefix(a, "https://hooks.example/#") || a == b {
		t.Errorf("HTTP sink names %q, %q: want the host and distinct digests, no path", a, b)
	}
}
