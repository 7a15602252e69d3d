package esdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app/apptest"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/esdb/esdbtest"
	"github.com/cptsledger/ledger/eventstore/storetest"
	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/google/uuid"
)

// startNode starts a stand-in node speaking EventStoreDB's gRPC protocol,
// with system events and another application's events already in its log.
func startNode(t *testing.T) *esdbtest.Node {
	t.Helper()
	n, err := esdbtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	n.AppendSystemEvents(40)
	n.AppendForeign("billing-42", 10)
	return n
}

// openOn opens the store through the real v4 client on the node, in a
// fresh namespace.
func openOn(t *testing.T, n *esdbtest.Node, ns string) *Store {
	t.Helper()
	s, err := Open(n.URL(), Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func namespace() string { return "test-" + strings.ReplaceAll(uuid.NewString(), "-", "") }

// The shared conformance suite through the real EventStoreDB client, over
// real gRPC, against the stand-in node: one node for the whole suite, each
// test in its own namespace, so that every test also runs among the others'
// events, as on a shared server.
func TestConformanceThroughTheClient(t *testing.T) {
	n := startNode(t)
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		n.AppendSystemEvents(3) // a quiet period between tests
		return openOn(t, n, namespace())
	})
}

// The command path's suite (racing ledgers, one contract id one scheme)
// through the real client on the stand-in node.
func TestCommandPathThroughTheClient(t *testing.T) {
	n := startNode(t)
	apptest.Run(t, func(t *testing.T) apptest.Opener {
		ns := namespace()
		return func() eventstore.Store { return openOn(t, n, ns) }
	})
}

// Head finds the namespace's last event behind more than 256 events of
// others (a shared database, a quiet period full of system events), and is
// 0 for an empty namespace on a long log: it pages backwards from record
// boundaries only (the first release paged from position-1, which a real
// node refuses).
func TestHeadBehindOthersEvents(t *testing.T) {
	n := startNode(t)
	s := openOn(t, n, namespace())
	defer s.Close()
	ctx := context.Background()
	n.AppendForeign("billing-7", 300)
	if h, err := s.Head(ctx); err != nil || h != 0 {
		t.Fatalf("head of an empty namespace on a long log: %d %v", h, err)
	}
	res, err := s.Append(ctx, "cpts-1", eventstore.NoStream(), []eventstore.EventData{storetest.Event("A", 1)})
	if err != nil {
		t.Fatal(err)
	}
	n.AppendSystemEvents(500)
	n.AppendForeign("billing-8", 300)
	if h, err := s.Head(ctx); err != nil || h != res.LastPosition {
		t.Fatalf("head behind 800 events of others: %d %v, want %d", h, err, res.LastPosition)
	}
}

// On a node that answers slowly, a call cancelled or out of time while in
// flight returns the context's error.
func TestSlowNodeCallsEndWithTheContext(t *testing.T) {
	n := startNode(t)
	s := openOn(t, n, namespace())
	defer s.Close()
	n.SetDelay(300 * time.Millisecond)
	for _, deadline := range []bool{false, true} {
		for name, call := range map[string]func(context.Context) error{
			"append": func(ctx context.Context) error {
				_, err := s.Append(ctx, "cpts-slow", eventstore.Any(), []eventstore.EventData{storetest.Event("A", 1)})
				return err
			},
			"read stream": func(ctx context.Context) error { _, err := s.ReadStream(ctx, "cpts-slow", 0, 10); return err },
			"read all":    func(ctx context.Context) error { _, err := s.ReadAll(ctx, 0, 10); return err },
			"head":        func(ctx context.Context) error { _, err := s.Head(ctx); return err },
			"subscribe": func(ctx context.Context) error {
				return s.Subscribe(ctx, 0, func([]eventstore.Envelope) error { return nil })
			},
		} {
			ctx, cancel := context.WithCancel(context.Background())
			want := context.Canceled
			if deadline {
				ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
				want = context.DeadlineExceeded
			} else {
				time.AfterFunc(100*time.Millisecond, cancel)
			}
			err := call(ctx)
			cancel()
			if !errors.Is(err, want) {
				t.Errorf("%s on a slow node, ended by %v: %v", name, want, err)
			}
		}
	}
}

// A node restart drops the subscription; the store subscribes again from
// the last event it delivered: every event once, in order.
func TestSubscriptionSurvivesANodeRestart(t *testing.T) {
	n := startNode(t)
	s := openOn(t, n, namespace())
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []eventstore.Position
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, 0, func(batch []eventstore.Envelope) error {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range batch {
				got = append(got, e.Position)
			}
			return nil
		})
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	appendN := func(from, k int) {
		for i := from; i < from+k; i++ {
			if _, err := s.Append(context.Background(), fmt.Sprintf("cpts-%d", i%3), eventstore.Any(), []eventstore.EventData{storetest.Event("A", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendN(0, 20)
	testwait.Until(t, 30*time.Second, "20 delivered", func() bool { return count() == 20 })
	if err := n.Restart(); err != nil {
		t.Fatal(err)
	}
	appendN(20, 20)
	testwait.Until(t, 30*time.Second, "40 delivered after the restart", func() bool { return count() == 40 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("subscribe ended with %v", err)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("delivery %d at %d after %d: not once, in order", i, got[i], got[i-1])
		}
	}
}
