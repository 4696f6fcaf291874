package app

import (
	"strings"
	"testing"
)

func TestFromEnvChecksEverySink(t *testing.T) {
	for _, c := range []struct {
		name, queue, secret, want string
	}{
		{"HTTP sink without a secret", "tls://mq:4222,https://r.example/hook", "", "VPNGW_SINK_SECRET is not set"},
		{"short secret", "https://r.example/hook", "short", "at least 16"},
		{"plaintext second sink", "tls://mq:4222,mqtt://m:1883/p", "", "MQTT in plaintext"},
		{"Kafka without TLS", "tls://mq:4222,kafka://b1:9092,b2:9092/t", "", "Kafka in plaintext"},
		{"HTTP in plaintext", "http://r.example/hook", "sink-secret-for-the-config-test", "HTTP in plaintext"},
		{"the same sink twice", "tls://mq:4222,kafka://b:9093/t?tls=true,kafka://b:9093/t?tls=true&sasl=plain", "", "name each destination once"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromEnv(functionEnv(map[string]string{"VPNGW_QUEUE_URL": c.queue, "VPNGW_SINK_SECRET": c.secret}), Function)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
			if c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Fatalf("the error holds the secret: %v", err)
			}
		})
	}
	ok := "tls://mq:4222,https://r.example/hook?mode=binary,kafka://b1:9093,b2:9093/t?tls=true&sasl=scram-sha-512,mqtts://m:8883/p"
	if _, err := FromEnv(functionEnv(map[string]string{"VPNGW_QUEUE_URL": ok, "VPNGW_SINK_SECRET": "sink-secret-for-the-config-test"}), Function); err != nil {
		t.Fatalf("four verified sinks refused: %v", err)
	}
}
