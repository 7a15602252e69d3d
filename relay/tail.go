package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// TailOptions choose what Tail reads.
type TailOptions struct {
	Subject   string // a subject filter, e.g. ledger.cpts.*.PaymentDecided
	FromStart bool   // from the stream's first event (else only new ones)
	Limit     int    // stop after this many events (0: never)
}

// Tail writes the ledger's events from the stream to out, one JSON line
// each, until ctx ends or Limit events: the small downstream consumer that
// downstream teams copy (ledger tail). An ordered consumer: ephemeral, in
// stream order, made again by the library after a disconnect from where it
// stopped.
func Tail(ctx context.Context, js jetstream.JetStream, o TailOptions, out io.Writer) error {
	policy := jetstream.DeliverNewPolicy
	if o.FromStart {
		policy = jetstream.DeliverAllPolicy
	}
	cons, err := js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{o.Subject}, DeliverPolicy: policy})
	if err != nil {
		return fmt.Errorf("consume %s: %w", StreamName, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	go func() { <-ctx.Done(); it.Stop() }()
	enc := json.NewEncoder(out)
	for n := 0; o.Limit == 0 || n < o.Limit; n++ {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return err
		}
		if err := enc.Encode(json.RawMessage(msg.Data())); err != nil {
			return err
		}
	}
	return nil
}
