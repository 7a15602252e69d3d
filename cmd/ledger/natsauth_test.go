package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/relay"
)

// The embedded NATS server takes anyone no longer (issue 27, finding 1):
// a client without credentials is refused; the subscriber's credentials
// (ledger nats-creds --role subscriber, 0600 in the data directory) read
// the stream through an ordered and a durable consumer and acknowledge,
// but can neither publish a forged PaymentDecided on ledger.> nor delete
// or purge the stream; the relay goes on publishing.
func TestTheEmbeddedNATSServerTakesOnlyItsUsers(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	if _, err := nats.Connect("nats://"+s.addr, nats.MaxReconnects(0)); err == nil || !strings.Contains(err.Error(), "Authorization") {
		t.Fatalf("an anonymous client: %v", err)
	}
	for _, role := range []string{natsserver.RolePublisher, natsserver.RoleSubscriber} {
		st, err := os.Stat(natsserver.SeedFile(dir, role))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s's credentials: %v %v", role, st, err)
		}
	}
	creds := filepath.Join(t.TempDir(), "consumer.nk")
	os.WriteFile(creds, []byte(mustLedger(t, "--data", dir, "nats-creds", "--role", "subscriber")), 0o600)
	seed, err := nats.NkeyOptionFromSeed(creds)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 16)
	nc, err := nats.Connect("nats://"+s.addr, seed, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Reading: a durable consumer, acknowledged.
	cons, err := js.CreateOrUpdateConsumer(ctx, relay.StreamName, jetstream.ConsumerConfig{Durable: "payments-execution",
		FilterSubjects: []string{"ledger.cpts.*.PaymentDecided"}, AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatalf("a durable consumer: %v", err)
	}
	batch, err := cons.Fetch(3, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
		got++
	}
	if got == 0 || batch.Error() != nil {
		t.Fatalf("read %d payments: %v", got, batch.Error())
	}
	// Forging: refused by the server (a refused request gets no answer:
	// each waits 2 s at most).
	denied := func() context.Context {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t.Cleanup(cancel)
		return c
	}
	if _, err := js.Publish(denied(), "ledger.cpts.0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80.PaymentDecided", []byte(`{"amount":"999999.00","actor":"forger"}`)); err == nil {
		t.Fatal("the subscriber published a forged payment")
	}
	nc.Publish("ledger.cpts.x.PaymentDecided", []byte("{}"))
	nc.Flush()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(err.Error(), "Permissions Violation") {
			t.Fatalf("a plain publish: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a plain publish on ledger.> was not refused")
	}
	if err := js.DeleteStream(denied(), relay.StreamName); err == nil {
		t.Fatal("the subscriber deleted the stream")
	}
	if stream, err := js.Stream(denied(), relay.StreamName); err == nil {
		if err := stream.Purge(denied()); err == nil {
			t.Fatal("the subscriber purged the stream")
		}
	}
	// Making the server publish (the red team's fifth finding): a push
	// consumer whose deliver subject is ledger.checkpoints, another
	// ledger subject or a JetStream API subject is refused by serve's gate,
	// through every form of the creation request, and none exists after;
	// deleting another's consumer gets no answer at all.
	readerCannotMakeTheServerPublish(t, nc, s.js)
	// serve's relay goes on: what is submitted now is published.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before, err := s.js.Stream(ctx, relay.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	n := before.CachedInfo().State.Msgs
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/aid-contract.jsonl")
	testwait.Until(t, 20*time.Second, "the relay publishing after the forgery attempts", func() bool {
		info, err := before.Info(ctx)
		return err == nil && info.State.Msgs > n
	})
}

// readerCannotMakeTheServerPublish tries, with a reader's connection nc,
// every way to create a push consumer onto the ledger's subjects or the
// JetStream API, and to delete a consumer; admin is the publisher's view.
func readerCannotMakeTheServerPublish(t *testing.T, nc *nats.Conn, admin jetstream.JetStream) {
	t.Helper()
	for _, tc := range []struct{ subject, deliver string }{
		{"$JS.API.CONSUMER.CREATE.LEDGER.evil1", "ledger.checkpoints"},
		{"$JS.API.CONSUMER.CREATE.LEDGER.evil2.ledger.cpts.*.PaymentDecided", "ledger.cpts.0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80.PaymentDecided"},
		{"$JS.API.CONSUMER.DURABLE.CREATE.LEDGER.evil3", "$JS.API.STREAM.DELETE.LEDGER"},
		{"$JS.API.CONSUMER.CREATE.LEDGER", "ledger.checkpoints"},
		{"$JS.API.CONSUMER.CREATE.LEDGER_CHECKPOINTS.evil4", "ledger.cpts.x.PaymentDecided"},
	} {
		name := tc.subject[strings.LastIndex(tc.subject, ".")+1:]
		body := `{"stream_name":"` + strings.Split(strings.TrimPrefix(strings.TrimPrefix(tc.subject, "$JS.API.CONSUMER.DURABLE.CREATE."), "$JS.API.CONSUMER.CREATE."), ".")[0] +
			`","config":{"name":"` + name + `","durable_name":"` + name + `","deliver_subject":"` + tc.deliver + `","ack_policy":"none","deliver_policy":"all"}}`
		if strings.Count(tc.subject, ".") == 4 { // the legacy ephemeral form names none
			body = `{"stream_name":"LEDGER","config":{"deliver_subject":"` + tc.deliver + `","ack_policy":"none","deliver_policy":"all"}}`
		}
		resp, err := nc.Request(tc.subject, []byte(body), 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", tc.subject, err)
		}
		if !strings.Contains(string(resp.Data), `"error"`) || !strings.Contains(string(resp.Data), "push consumer") {
			t.Fatalf("a push consumer onto %s (%s): %s", tc.deliver, tc.subject, resp.Data)
		}
	}
	for _, stream := range []string{relay.StreamName, relay.CheckpointStreamName} {
		// Asked until it answers: on a cluster that just lost a node, a
		// request may find no responder for a moment.
		var s jetstream.Stream
		var err error
		testwait.Until(t, 30*time.Second, "the publisher's view of "+stream, func() bool {
			s, err = admin.Stream(context.Background(), stream)
			return err == nil || errors.Is(err, jetstream.ErrStreamNotFound)
		})
		if err != nil {
			continue // the checkpoints' stream, without a signer
		}
		for name := range s.ConsumerNames(context.Background()).Name() {
			if strings.HasPrefix(name, "evil") {
				t.Fatalf("a reader's push consumer %s exists on %s", name, stream)
			}
			if info, err := s.Consumer(context.Background(), name); err == nil && info.CachedInfo().Config.DeliverSubject != "" {
				t.Fatalf("consumer %s of %s delivers to %s", name, stream, info.CachedInfo().Config.DeliverSubject)
			}
		}
	}
	// Another reader's durable consumer, made through the gate, cannot be
	// deleted by this one.
	reader, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := reader.CreateOrUpdateConsumer(ctx, relay.StreamName, jetstream.ConsumerConfig{Durable: "another-readers",
		AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatalf("a reader's durable consumer: %v", err)
	}
	if _, err := nc.Request("$JS.API.CONSUMER.DELETE.LEDGER.another-readers", nil, 2*time.Second); err == nil {
		t.Fatal("a reader's deletion of a consumer was answered")
	}
	short, cancelShort := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelShort()
	if err := reader.DeleteConsumer(short, relay.StreamName, "another-readers"); err == nil {
		t.Fatal("a reader deleted a consumer")
	}
	var s jetstream.Stream
	testwait.Until(t, 30*time.Second, "the publisher's view of the stream", func() bool {
		var err error
		s, err = admin.Stream(context.Background(), relay.StreamName)
		return err == nil
	})
	if _, err := s.Consumer(ctx, "another-readers"); err != nil {
		t.Fatalf("the durable consumer after a reader tried to delete it: %v", err)
	}
}
