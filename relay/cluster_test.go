package relay_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/natstest"
	"github.com/cptsledger/ledger/relay"
)

// On a 3-node JetStream cluster with a 3-replica stream, killing the
// stream's leader while the relay publishes loses nothing: after fail-over
// every event is in the stream once, in order — with the same relay, and
// with a relay restarted during the fail-over.
func TestRelayOnAClusterSurvivesTheLossOfTheLeader(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "same relay", true: "relay restarted"}[restart], func(t *testing.T) {
			c := natstest.StartCluster(t, 3)
			dir := t.TempDir()
			store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			state, err := relay.OpenState(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer state.Close()
			nc, js := c.Connect(t)
			defer nc.Close()
			e := &env{store: store, db: state, nc: nc, js: js}
			e.appendEvents(t, 3000)
			opts := relay.Options{Replicas: 3, AckTimeout: 2 * time.Second, MaxBackoff: 200 * time.Millisecond}
			r := relay.New(store, js, state, opts)
			stop := runRelay(t, r)
			natstest.WaitFor(t, "some events relayed", func() bool { return r.Stats().Position > 300 })
			leader := c.Leader(t, js, relay.StreamName)
			leader.Shutdown()
			if restart {
				stop()
				r = relay.New(store, js, state, opts)
				stop = runRelay(t, r)
			}
			e.appendEvents(t, 1000)
			natstest.WaitFor(t, "all 4000 relayed after the fail-over", func() bool { return r.Stats().Position == 4000 })
			stop()
			if now := c.Leader(t, js, relay.StreamName); now.Name() == leader.Name() {
				t.Fatalf("the stream is still led by the node that was shut down")
			}
			e.consumeAll(t, 4000)
		})
	}
}

// A stream that exists with other settings than the relay's is reported,
// not silently used.
func TestExistingStreamWithOtherSettingsIsReported(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nc, js := c.Connect(t)
	defer nc.Close()
	one := relay.New(nil, js, nil, relay.Options{Replicas: 1})
	if err := one.EnsureStream(context.Background()); err != nil {
		t.Fatal(err)
	}
	three := relay.New(nil, js, nil, relay.Options{Replicas: 3})
	err := three.EnsureStream(context.Background())
	var mismatch *relay.StreamMismatchError
	if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), "replicas 1 (asked: 3)") {
		t.Fatalf("ensure a 3-replica stream over a 1-replica one: %v", err)
	}
	if err := one.EnsureStream(context.Background()); err != nil {
		t.Fatalf("the same settings again: %v", err)
	}
}
