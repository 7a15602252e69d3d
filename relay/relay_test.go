package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/internal/natstest"
	"github.com/cptsledger/ledger/relay"
	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type env struct {
	store  *embedded.Store
	db     *relay.State
	server *server.Server
	listen string
	nsDir  string
	nc     *nats.Conn
	js     jetstream.JetStream
}

func setup(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	// The server picks its port at its first start (no free-port-then-bind
	// race); a restart takes the same one.
	e := &env{listen: "127.0.0.1:0", nsDir: filepath.Join(dir, "nats")}
	var err error
	if e.store, err = embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{}); err != nil {
		t.Fatal(err)
	}
	if e.db, err = relay.OpenState(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	e.startServer(t)
	if e.nc, err = nats.Connect("nats://"+e.listen, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if e.js, err = jetstream.New(e.nc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.nc.Close()
		if e.server != nil {
			e.server.Shutdown()
		}
		e.db.Close()
		e.store.Close()
	})
	return e
}

func (e *env) startServer(t testing.TB) {
	t.Helper()
	s, err := natsserver.Start(natsserver.Options{Listen: e.listen, StoreDir: e.nsDir})
	if err != nil {
		t.Fatal(err)
	}
	e.server = s
	e.listen = s.Addr().String()
}

// appendEvents appends n events to a few contract streams, in batches.
func (e *env) appendEvents(t testing.TB, n int) {
	t.Helper()
	if err := e.tryAppendEvents(n); err != nil {
		t.Fatal(err)
	}
}

// tryAppendEvents is appendEvents for a goroutine other than the test's:
// it returns the error instead of failing the test.
func (e *env) tryAppendEvents(n int) error {
	streams := []string{"cpts-" + uuid.NewString(), "cpts-" + uuid.NewString(), "cpts-" + uuid.NewString()}
	for i := 0; i < n; {
		size := min(100, n-i)
		batch := make([]eventstore.EventData, size)
		for j := range batch {
			batch[j] = eventstore.EventData{ID: uuid.New(), Type: "MissionStarted", OccurredOn: "2021-03-01",
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i+j))}
		}
		if _, err := e.store.Append(context.Background(), streams[(i/100)%3], eventstore.Any(), batch); err != nil {
			return err
		}
		i += size
	}
	return nil
}

// consumeAll reads the LEDGER stream from the start until want messages,
// and checks that positions come in order, each once.
func (e *env) consumeAll(t *testing.T, want int) []*eventstore.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Right after a fail-over the JetStream API may not answer for a
	// moment (its meta leader being elected): the consumer is made once it
	// does.
	var cons jetstream.Consumer
	natstest.WaitFor(t, "a consumer of the stream", func() bool {
		var err error
		cons, err = e.js.OrderedConsumer(ctx, relay.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"ledger.>"}})
		return err == nil
	})
	var out []*eventstore.Envelope
	seen := map[uuid.UUID]bool{}
	for len(out) < want {
		// Right after a fail-over the ordered consumer's own request may
		// find no JetStream responder yet: it is asked again until one
		// answers.
		var batch jetstream.MessageBatch
		var err error
		natstest.WaitFor(t, "a JetStream responder to the consumer's fetch", func() bool {
			batch, err = cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
			return !errors.Is(err, nats.ErrNoResponders) || ctx.Err() != nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for msg := range batch.Messages() {
			var env eventstore.Envelope
			if err := json.Unmarshal(msg.Data(), &env); err != nil {
				t.Fatal(err)
			}
			if seen[env.EventID] {
				t.Fatalf("event %s (position %d) delivered twice", env.EventID, env.Position)
			}
			seen[env.EventID] = true
			if msg.Headers().Get(jetstream.MsgIDHeader) != env.EventID.String() || msg.Headers().Get(relay.HeaderPosition) != strconv.FormatUint(uint64(env.Position), 10) {
				t.Fatalf("headers %v do not match the envelope", msg.Headers())
			}
			if msg.Subject() != relay.Subject(&env) {
				t.Fatalf("subject %s, want %s", msg.Subject(), relay.Subject(&env))
			}
			if want := eventstore.Position(len(out) + 1); env.Position != want {
				t.Fatalf("message %d carries position %d: a gap or a reordering", len(out)+1, env.Position)
			}
			out = append(out, &env)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, nats.ErrNoResponders) {
			t.Fatal(err) // no responders: the consumer's leader is being elected after a fail-over; fetch again
		}
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d messages", len(out), want)
		}
	}
	var st *jetstream.StreamInfo
	natstest.WaitFor(t, "the stream's state", func() bool {
		info, err := e.js.Stream(ctx, relay.StreamName)
		if err == nil {
			st, err = info.Info(ctx)
		}
		return err == nil
	})
	if st.State.Msgs != uint64(want) {
		t.Fatalf("stream holds %d messages, want %d", st.State.Msgs, want)
	}
	return out
}

func runRelay(t *testing.T, r *relay.Relay) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("relay ended with %v", err)
		}
	}
}

func TestTenThousandEventsInOrderOnce(t *testing.T) {
	e := setup(t)
	e.appendEvents(t, 10_000)
	r := relay.New(e.store, e.js, e.db, relay.Options{})
	stop := runRelay(t, r)
	natstest.WaitFor(t, "10 000 acknowledged", func() bool { return r.Stats().Position == 10_000 })
	stop()
	e.consumeAll(t, 10_000)
	if st := r.Stats(); st.Published != 10_000 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
	if lag, _ := r.Lag(context.Background()); lag != 0 {
		t.Fatalf("lag %d after catching up", lag)
	}
}

var errKilled = errors.New("killed between publish and checkpoint")

func TestKilledBetweenPublishAndCheckpoint(t *testing.T) {
	e := setup(t)
	e.appendEvents(t, 3000)
	batches := 0
	first := relay.New(e.store, e.js, e.db, relay.Options{BeforeCheckpoint: func([]eventstore.Envelope) error {
		if batches++; batches == 2 {
			return errKilled
		}
		return nil
	}})
	if err := first.RunOnce(context.Background()); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v", err)
	}
	cp, _ := e.db.Checkpoint(context.Background(), "relay:nats")
	published := first.Stats().Published
	if cp == 0 || uint64(cp) >= published {
		t.Fatalf("checkpoint %d, published %d: the kill did not fall between them", cp, published)
	}
	second := relay.New(e.store, e.js, e.db, relay.Options{})
	stop := runRelay(t, second)
	natstest.WaitFor(t, "all acknowledged", func() bool { return second.Stats().Position == 3000 })
	stop()
	st := second.Stats()
	t.Logf("killed after %d published with the checkpoint at %d; the second run: %+v", published, cp, st)
	if st.Duplicates != published-uint64(cp) || st.Published+st.Duplicates != 3000-uint64(cp) {
		t.Fatalf("second run: %+v, want %d duplicates suppressed by the server", st, published-uint64(cp))
	}
	e.consumeAll(t, 3000)
}

func TestServerRestartMidStream(t *testing.T) {
	e := setup(t)
	r := relay.New(e.store, e.js, e.db, relay.Options{AckTimeout: 2 * time.Second, MaxBackoff: 200 * time.Millisecond})
	stop := runRelay(t, r)
	// 2 000 events before the server goes down, 2 000 while it is down
	// and after it is back: the appender waits on the test's signals.
	down, appended := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; i < 20; i++ {
			if err := e.tryAppendEvents(100); err != nil {
				appended <- err
				return
			}
		}
		<-down
		for i := 0; i < 20; i++ {
			if err := e.tryAppendEvents(100); err != nil {
				appended <- err
				return
			}
		}
		appended <- nil
	}()
	natstest.WaitFor(t, "some events relayed", func() bool { return r.Stats().Position > 500 })
	e.server.Shutdown()
	e.server.WaitForShutdown()
	close(down)
	// The relay falls behind while the server is away.
	natstest.WaitFor(t, "events appended that the relay cannot publish", func() bool {
		head, _ := e.store.Head(context.Background())
		return head > r.Stats().Position+100
	})
	e.startServer(t)
	if err := <-appended; err != nil {
		t.Fatal(err)
	}
	natstest.WaitFor(t, "all 4000 relayed after the restart", func() bool { return r.Stats().Position == 4000 })
	stop()
	t.Logf("after the restart: %+v", r.Stats())
	e.consumeAll(t, 4000)
}

// When the stream already holds events past the checkpoint and the
// duplicate window is over, the relay resumes after the stream's last
// message instead of storing them twice.
func TestStreamAheadOfCheckpointAfterTheWindow(t *testing.T) {
	e := setup(t)
	e.appendEvents(t, 500)
	r := relay.New(e.store, e.js, e.db, relay.Options{Duplicates: 100 * time.Millisecond})
	stop := runRelay(t, r)
	natstest.WaitFor(t, "500 relayed", func() bool { return r.Stats().Position == 500 })
	stop()
	if err := e.db.SaveCheckpoint(context.Background(), "relay:nats", 200); err != nil {
		t.Fatal(err)
	}
	e.waitOutDuplicateWindow(t, 100*time.Millisecond)
	e.appendEvents(t, 100)
	again := relay.New(e.store, e.js, e.db, relay.Options{Duplicates: 100 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	stop = runRelay(t, again)
	natstest.WaitFor(t, "600 relayed", func() bool { return again.Stats().Position == 600 })
	stop()
	e.consumeAll(t, 600)
}

// waitOutDuplicateWindow returns once a duplicate window of d that began
// now has passed on the server's clock: a probe stream with that window is
// given a message, and the same message id again until the server stores
// it rather than dropping it as a duplicate.
func (e *env) waitOutDuplicateWindow(t *testing.T, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.window"}, Duplicates: d}); err != nil {
		t.Fatal(err)
	}
	defer e.js.DeleteStream(ctx, "PROBE")
	publish := func() bool {
		ack, err := e.js.Publish(ctx, "probe.window", []byte("probe"), jetstream.WithMsgID("probe"))
		if err != nil {
			t.Fatal(err)
		}
		return !ack.Duplicate
	}
	publish()
	natstest.WaitFor(t, "the duplicate window to pass", publish)
}

// A foreign message in the relay's stream (a forged PaymentDecided by a
// publisher with write access, no Ledger-Position header) no longer stalls
// the relay for good: it is counted (Stats.Foreign, once however often it
// resyncs) and the relay goes on after it, across a restart too; every
// event is in the stream once, in order, around it.
func TestAForeignMessageDoesNotStallTheRelay(t *testing.T) {
	e := setup(t)
	e.appendEvents(t, 50)
	r := relay.New(e.store, e.js, e.db, relay.Options{})
	stop := runRelay(t, r)
	natstest.WaitFor(t, "50 acknowledged", func() bool { return r.Stats().Position == 50 })
	ctx := context.Background()
	if _, err := e.js.Publish(ctx, "ledger.cpts.0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80.PaymentDecided", []byte(`{"amount":"999999.00","actor":"forger"}`)); err != nil {
		t.Fatal(err)
	}
	e.appendEvents(t, 50)
	natstest.WaitFor(t, "100 acknowledged after the foreign message", func() bool { return r.Stats().Position == 100 })
	if st := r.Stats(); st.Foreign != 1 {
		t.Fatalf("stats %+v: want 1 foreign message", st)
	}
	stop()
	// Another foreign message, then a restart of the relay.
	if _, err := e.js.Publish(ctx, "ledger.cpts.x.PaymentDecided", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	e.appendEvents(t, 20)
	r2 := relay.New(e.store, e.js, e.db, relay.Options{})
	stop = runRelay(t, r2)
	natstest.WaitFor(t, "120 acknowledged after a restart", func() bool { return r2.Stats().Position == 120 })
	stop()
	if st := r2.Stats(); st.Foreign != 1 {
		t.Fatalf("after the restart: %+v, want 1 foreign message", st)
	}
	stream, err := e.js.Stream(ctx, relay.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil || info.State.Msgs != 122 {
		t.Fatalf("the stream holds %d messages, want 120 events and 2 foreign: %v", info.State.Msgs, err)
	}
	var positions []uint64
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if p := msg.Header.Get(relay.HeaderPosition); p != "" {
			n, _ := strconv.ParseUint(p, 10, 64)
			positions = append(positions, n)
		}
	}
	for i, p := range positions {
		if p != uint64(i+1) {
			t.Fatalf("event %d of the stream is position %d", i+1, p)
		}
	}
}

// While NATS is away and events wait, the relay says it is stalled once
// the threshold passes (what /readyz reports); NATS back, it catches up by
// itself, without a restart, and is no longer stalled.
func TestAStalledRelayIsSeenAndRecovers(t *testing.T) {
	e := setup(t)
	e.appendEvents(t, 20)
	r := relay.New(e.store, e.js, e.db, relay.Options{AckTimeout: 500 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	stop := runRelay(t, r)
	defer stop()
	natstest.WaitFor(t, "20 acknowledged", func() bool { return r.Stats().Position == 20 })
	ctx := context.Background()
	if stalled, lag, err := r.Stalled(ctx, 100*time.Millisecond); stalled || lag != 0 || err != nil {
		t.Fatalf("caught up: stalled %v lag %d %v", stalled, lag, err)
	}
	e.server.Shutdown()
	e.server.WaitForShutdown()
	e.appendEvents(t, 30)
	natstest.WaitFor(t, "the relay seen stalled", func() bool {
		stalled, lag, err := r.Stalled(ctx, 300*time.Millisecond)
		return stalled && lag == 30 && err == nil
	})
	e.startServer(t)
	natstest.WaitFor(t, "50 acknowledged once NATS is back", func() bool { return r.Stats().Position == 50 })
	if stalled, _, err := r.Stalled(ctx, 300*time.Millisecond); stalled || err != nil {
		t.Fatalf("after catching up: stalled %v %v", stalled, err)
	}
}

// fullDisk is the relay's state on a disk that fills: saving a checkpoint
// fails, as SQLite does with SQLITE_FULL, while full is set.
type fullDisk struct {
	relay.Checkpoints
	full atomic.Bool
}

func (d *fullDisk) SaveCheckpoint(ctx context.Context, name string, pos eventstore.Position) error {
	if d.full.Load() {
		return errors.New("relay state: database or disk is full")
	}
	return d.Checkpoints.SaveCheckpoint(ctx, name, pos)
}

// A disk full under the relay's state, then freed: the relay is seen
// stalled while it cannot save its checkpoint, then catches up by itself,
// without a restart, each event in the stream once.
func TestTheRelayCatchesUpAfterADiskFull(t *testing.T) {
	e := setup(t)
	state := &fullDisk{Checkpoints: e.db}
	r := relay.New(e.store, e.js, state, relay.Options{MaxBackoff: 200 * time.Millisecond})
	stop := runRelay(t, r)
	defer stop()
	e.appendEvents(t, 10)
	natstest.WaitFor(t, "10 acknowledged", func() bool { return r.Stats().Position == 10 })
	state.full.Store(true)
	e.appendEvents(t, 40)
	ctx := context.Background()
	natstest.WaitFor(t, "the relay seen stalled on a full disk", func() bool {
		stalled, lag, err := r.Stalled(ctx, 300*time.Millisecond)
		return stalled && lag == 40 && err == nil
	})
	state.full.Store(false)
	natstest.WaitFor(t, "50 acknowledged once the disk has room", func() bool { return r.Stats().Position == 50 })
	e.consumeAll(t, 50)
}
