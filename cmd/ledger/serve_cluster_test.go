package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/internal/natstest"
	"github.com/cptsledger/ledger/relay"
)

// `serve --nats-url a,b,c --nats-replicas 3` on a real 3-node JetStream
// cluster survives the loss of any one node — the leader of the LEDGER
// stream or a follower: what is submitted after the loss is published,
// every event once and in order, and signed checkpoints keep coming, on
// streams of three replicas. The cluster takes only the ledger's two users
// with the permissions docs/deploy.md gives them: serve publishes with the
// publisher's credentials, and the subscriber cannot publish on ledger.>.
func TestServeOnAClusterSurvivesTheLossOfAnyNode(t *testing.T) {
	for _, lose := range []string{"leader", "follower"} {
		t.Run("the "+lose, func(t *testing.T) {
			base := t.TempDir()
			dir, key := filepath.Join(base, "data"), filepath.Join(base, "signer.key")
			mustLedger(t, "--data", dir, "init")
			users, err := natsserver.EnsureUsers(dir)
			if err != nil {
				t.Fatal(err)
			}
			publisher := natsserver.SeedFile(dir, natsserver.RolePublisher)
			c := natstest.StartClusterWithUsers(t, 3, &users, publisher)
			if _, err := nats.Connect(c.URL(), nats.MaxReconnects(0)); err == nil {
				t.Fatal("the cluster took an anonymous client")
			}
			mustLedger(t, "keygen", "--name", "cluster-test", "--out", key)
			stderr, exited := serveInProcess(t, dir, "--nats-url", c.URL(), "--nats-replicas", "3",
				"--signing-key", key, "--checkpoint-every", "100ms", "--nats-nkey", publisher)
			nc, js := c.Connect(t)
			defer nc.Close()
			published := func(n int) {
				t.Helper()
				natstest.WaitFor(t, "the LEDGER stream to hold every event", func() bool {
					if code, ok := exited(); ok {
						t.Fatalf("serve exited %d: %s", code, stderr.String())
					}
					return streamMsgs(js, relay.StreamName) == uint64(n)
				})
			}
			mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
			published(19)
			node := c.Leader(t, js, relay.StreamName)
			if lose == "follower" {
				node = c.Follower(t, js, relay.StreamName)
			}
			node.Shutdown()
			mustLedger(t, "--data", dir, "submit", "--file", "../../examples/aid-contract.jsonl")
			published(28)
			checkOnceInOrder(t, js, 28)
			subscriberCannotPublish(t, c.URL(), natsserver.SeedFile(dir, natsserver.RoleSubscriber), js)
			natstest.WaitFor(t, "a signed checkpoint of all 28 events after the loss", func() bool {
				s, err := js.Stream(context.Background(), relay.CheckpointStreamName)
				if err != nil {
					return false
				}
				m, err := s.GetLastMsgForSubject(context.Background(), relay.CheckpointSubject)
				return err == nil && m.Header.Get(relay.HeaderTreeSize) == "28"
			})
			for _, name := range []string{relay.StreamName, relay.CheckpointStreamName} {
				s, err := js.Stream(context.Background(), name)
				if err != nil {
					t.Fatal(err)
				}
				if r := s.CachedInfo().Config.Replicas; r != 3 {
					t.Fatalf("%s has %d replicas, want 3", name, r)
				}
			}
		})
	}
}

// streamMsgs is how many messages a stream holds, or 0 when it cannot say.
func streamMsgs(js jetstream.JetStream, name string) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// checkOnceInOrder reads the LEDGER stream's messages 1..n: message i is
// the event at position i, and there is no message n+1.
func checkOnceInOrder(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	s, err := js.Stream(context.Background(), relay.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= uint64(n); seq++ {
		// Right after a fail-over a request may find no responder for a
		// moment: ask until the stream answers.
		var m *jetstream.RawStreamMsg
		natstest.WaitFor(t, fmt.Sprintf("message %d of the stream", seq), func() bool {
			var err error
			m, err = s.GetMsg(context.Background(), seq)
			return err == nil
		})
		var env eventstore.Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil {
			t.Fatal(err)
		}
		if env.Position != eventstore.Position(seq) {
			t.Fatalf("message %d is the event at position %d: not once, in order", seq, env.Position)
		}
	}
	if _, err := s.GetMsg(context.Background(), uint64(n)+1); err == nil {
		t.Fatalf("a message after the %d events", n)
	}
}

// subscriberCannotPublish checks, on a cluster, that the subscriber reads
// the stream and cannot publish on ledger.>.
func subscriberCannotPublish(t *testing.T, url, seedFile string, admin jetstream.JetStream) {
	t.Helper()
	seed, err := nats.NkeyOptionFromSeed(seedFile)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, seed)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, relay.StreamName); err != nil {
		t.Fatalf("the subscriber cannot read the stream's info: %v", err)
	}
	denied, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if _, err := js.Publish(denied, "ledger.cpts.x.PaymentDecided", []byte(`{"amount":"999999.00"}`)); err == nil {
		t.Fatal("the subscriber published on the cluster")
	}
	readerCannotMakeTheServerPublish(t, nc, admin)
}
