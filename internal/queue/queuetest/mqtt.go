package queuetest

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/vpngw/vpngw/internal/queue"
)

// MQTT returns a Broker for an MQTT 5 server at rawURL
// (mqtt://host:1883). Each destination is a topic prefix of its own; its
// consumer subscribes with QoS 1 when the destination is made, with a
// session that outlives a broker restart when the broker persists sessions,
// and rebuilds the structured event from the user properties. Stop and
// Start are the caller's to set (TestMQTTRestart runs a Mosquitto of its
// own).
func MQTT(t testing.TB, rawURL string) Broker {
	t.Helper()
	base := serverURL(t, "MQTT", rawURL, false)
	return Broker{
		Binary: true,
		NewDestination: func(t testing.TB) Destination {
			prefix := "vpngwtest/" + NewRunID()
			pubURL := *base
			pubURL.Path = "/" + prefix
			// MQTT keeps nothing for a subscription made later: subscribe
			// now, so that Consume sees what was published before its call.
			in := ConsumeMQTT(t, base, prefix+"/#")
			return Destination{
				NewPublisher: func(t testing.TB) queue.Publisher { return openPublisher(t, pubURL.String()) },
				Consume:      func(t testing.TB) <-chan Received { return in },
				Route:        func(eventType string) string { return prefix + "/" + eventType },
			}
		},
	}
}

// ConsumeMQTT subscribes to filter with QoS 1 and returns what arrives,
// until cleanup. It returns once the subscription is in place.
func ConsumeMQTT(t testing.TB, server *url.URL, filter string) <-chan Received {
	t.Helper()
	out := make(chan Received, 1000)
	subscribed := make(chan error, 1)
	clientID := "vpngwtest-" + NewRunID()
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{server},
		KeepAlive:                     10,
		CleanStartOnInitialConnection: false, // a new id has no old session; Mosquitto does not keep one begun with clean start
		SessionExpiryInterval:         600,   // the subscription and its queue outlive a broker restart
		ReconnectBackoff:              func(int) time.Duration { return 200 * time.Millisecond },
		ConnectTimeout:                5 * time.Second,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, ca *paho.Connack) {
			t.Logf("MQTT test consumer connected, session present: %v", ca.SessionPresent)
			// Subscribing again is harmless when the session kept the
			// subscription, and needed when it did not.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
				select {
				case subscribed <- err:
				default:
				}
			}()
		},
		ClientConfig: paho.ClientConfig{
			ClientID: clientID,
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				p := pr.Packet
				attrs := map[string]string{}
				ct := ""
				if p.Properties != nil {
					for _, u := range p.Properties.User {
						attrs[u.Key] = u.Value
					}
					ct = p.Properties.ContentType
				}
				attrs["datacontenttype"] = ct
				out <- Received{ID: attrs["id"], Route: p.Topic, ContentType: ct, Body: Structured(attrs, p.Payload)}
				return true, nil
			}},
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("MQTT consumer: %v", err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		_ = cm.Disconnect(dctx)
		cancel()
	})
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("MQTT subscribe %s: %v", filter, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("MQTT server at %s: no subscription within 15 s", server.Host)
	}
	return out
}
