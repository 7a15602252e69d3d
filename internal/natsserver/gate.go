package natsserver

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Gate is serve's consumer gate: it answers READERS' requests to create a
// consumer (imported to GatePrefix in LEDGER), refusing a consumer with a
// deliver subject — a push consumer, through which a reader could have the
// server publish wherever it liked — and forwarding the others to the
// JetStream API, answering with its answer.
func Gate(nc *nats.Conn) (*nats.Subscription, error) {
	return nc.Subscribe(GatePrefix+">", func(m *nats.Msg) {
		if m.Reply == "" {
			return
		}
		var req struct {
			Config struct {
				DeliverSubject string `json:"deliver_subject"`
			} `json:"config"`
		}
		if err := json.Unmarshal(m.Data, &req); err != nil {
			refuseConsumer(m, 400, "the request is not a consumer's creation")
			return
		}
		if req.Config.DeliverSubject != "" {
			refuseConsumer(m, 403, "a reader creates pull consumers only: a deliver subject (push consumer) is refused, since the server would publish on it")
			return
		}
		api := "$JS.API." + strings.TrimPrefix(m.Subject, GatePrefix)
		resp, err := nc.Request(api, m.Data, 10*time.Second)
		if err != nil {
			refuseConsumer(m, 503, "the JetStream API did not answer: "+err.Error())
			return
		}
		m.Respond(resp.Data)
	})
}

// refuseConsumer answers a creation request with a JetStream API error.
func refuseConsumer(m *nats.Msg, code int, description string) {
	body, _ := json.Marshal(map[string]any{
		"type":  "io.nats.jetstream.api.v1.consumer_create_response",
		"error": map[string]any{"code": code, "err_code": 10000 + code, "description": description},
	})
	m.Respond(body)
}
