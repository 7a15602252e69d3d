package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/relay"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
