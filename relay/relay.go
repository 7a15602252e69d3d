// Package relay publishes every committed event of the ledger to NATS
// JetStream, in global order, so that downstream systems (payment
// execution, regional dashboards, data warehouses) can subscribe.
//
// The relay is a subscriber of the event store, like a projection: it
// follows the global log from its own durable checkpoint, publishes each
// event on ledger.<scheme>.<contract_id>.<EventType> with Nats-Msg-Id = the
// event id and a Ledger-Position header, waits for JetStream's
// acknowledgements, and only then advances its checkpoint. Delivery is
// therefore at least once, and the server's duplicate window turns the
// republished tail after a crash into duplicates it drops (PubAck.Duplicate).
//
// Order: publishes are pipelined, and each carries
// Nats-Expected-Last-Msg-Id = the id of the event before it, so the stream
// never stores an event before its predecessor: if one publish fails, the
// ones after it fail too and are retried in order. When the stream already
// holds events past the checkpoint (a restart after the duplicate window has
// expired), the relay reads the Ledger-Position of the stream's last message
// and resumes after it.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Header names.
const (
	HeaderPosition = "Ledger-Position"
	StreamName     = "LEDGER"
	SubjectPrefix  = "ledger"
)

// Checkpoints stores the relay's position durably.
type Checkpoints interface {
	Checkpoint(ctx context.Context, name string) (eventstore.Position, error)
	SaveCheckpoint(ctx context.Context, name string, pos eventstore.Position) error
}

// Options configure a relay.
type Options struct {
	// Name keys the checkpoint (default "relay:nats").
	Name string
	// Stream is the JetStream stream (default LEDGER, subjects
	// ledger.*.*.*: ledger.<scheme>.<contract_id>.<EventType>).
	Stream string
	// Duplicates is the stream's duplicate window (default 10 minutes):
	// events republished within it after a crash are dropped by the server.
	Duplicates time.Duration
	// Replicas is the stream's number of replicas (default 1: the embedded
	// server; 3 on a JetStream cluster, so that losing a node loses
	// nothing and keeps the stream available).
	Replicas int
	// AckTimeout bounds the wait for one acknowledgement (default 10 s).
	AckTimeout time.Duration
	// MaxBackoff caps the wait between retries when NATS is away (default
	// 10 s; the first wait is 100 ms, doubling).
	MaxBackoff time.Duration
	Logger     *slog.Logger
	// BeforeCheckpoint, if set, runs after a batch is acknowledged and
	// before the checkpoint is saved; an error stops that run there. Tests
	// use it to kill the relay between publish and checkpoint.
	BeforeCheckpoint func(batch []eventstore.Envelope) error
	// OnAckTimeout, if set, is told each time an acknowledgement does not
	// come within AckTimeout: serve's supervisor of the embedded server
	// restarts a JetStream that stopped acknowledging (a store that hit a
	// full disk keeps failing until it is started again).
	OnAckTimeout func()
}

// Stats count what the relay did since it started.
type Stats struct {
	Published  uint64 // acknowledged as new by the server
	Duplicates uint64 // acknowledged as duplicates (republished after a crash)
	// Foreign counts the messages found in the stream that the relay did
	// not publish (no Ledger-Position header): reported, then published
	// after.
	Foreign  uint64
	Position eventstore.Position
}

// Relay publishes the event log to JetStream.
type Relay struct {
	store eventstore.Store
	js    jetstream.JetStream
	cps   Checkpoints
	opts  Options

	published, duplicates, foreign atomic.Uint64
	position                       atomic.Uint64
	// expectSeq, when set, is the stream's last sequence, a foreign
	// message's: the next publish expects it instead of the last event's
	// id, which the stream's last message does not carry.
	expectSeq atomic.Uint64
	// countedTo is the last sequence whose foreign messages were counted.
	countedTo atomic.Uint64
	// progressed is when the relay last advanced or found nothing to
	// publish (unix nanoseconds): what Stalled measures from.
	progressed atomic.Int64
}

// Stalled tells whether events wait to be published and the relay has not
// advanced for longer than after: what /readyz reports, so that a relay
// stuck on a broken NATS or a full disk is seen, not only logged.
func (r *Relay) Stalled(ctx context.Context, after time.Duration) (stalled bool, lag uint64, err error) {
	lag, err = r.Lag(ctx)
	if err != nil {
		return false, 0, err
	}
	if lag == 0 {
		r.progressed.Store(time.Now().UnixNano())
		return false, 0, nil
	}
	since := time.Since(time.Unix(0, r.progressed.Load()))
	return since > after, lag, nil
}

// New returns a relay. js must come from a connection that reconnects by
// itself (the nats.go default).
func New(store eventstore.Store, js jetstream.JetStream, cps Checkpoints, opts Options) *Relay {
	if opts.Name == "" {
		opts.Name = "relay:nats"
	}
	if opts.Stream == "" {
		opts.Stream = StreamName
	}
	if opts.Duplicates <= 0 {
		opts.Duplicates = 10 * time.Minute
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Relay{store: store, js: js, cps: cps, opts: opts}
	r.progressed.Store(time.Now().UnixNano())
	return r
}

// StreamConfig is the configuration the relay creates or updates.
func (r *Relay) StreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        r.opts.Stream,
		Description: "Events of the ledger of conventional payments, in global order",
		// Four tokens, so that ledger.checkpoints (the checkpoints' own
		// stream) is not in it; the first release used ledger.>, which
		// EnsureStream narrows.
		Subjects:   []string{SubjectPrefix + ".*.*.*"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Duplicates: r.opts.Duplicates,
		Replicas:   r.opts.Replicas,
	}
}

// EnsureStream creates the stream, or checks that the existing one has the
// relay's configuration. The one difference it changes itself is the first
// release's subjects (ledger.>), narrowed to ledger.*.*.*; any other — its
// replicas, its storage, its duplicate window — is reported, not silently
// used (a stream kept on one replica on a cluster loses the ledger's
// events with its node).
func (r *Relay) EnsureStream(ctx context.Context) error {
	return ensureStream(ctx, r.js, r.StreamConfig(), []string{SubjectPrefix + ".>"})
}

// StreamMismatchError is an existing stream whose settings are not the
// ones asked for.
type StreamMismatchError struct {
	Stream      string
	Differences []string
}

func (e *StreamMismatchError) Error() string {
	return fmt.Sprintf("relay: the JetStream stream %s exists with other settings: %s; change the stream (nats stream edit) or the flags (--nats-replicas, --dup-window) so that they agree",
		e.Stream, strings.Join(e.Differences, "; "))
}

// ensureStream creates the stream of want, or checks the existing one's
// settings against want; legacySubjects are subjects an older release used,
// updated to want's.
func ensureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig, legacySubjects []string) error {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("relay: create stream %s: %w", want.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay: stream %s: %w", want.Name, err)
	}
	got := s.CachedInfo().Config
	var diffs []string
	differ := func(what string, have, asked any) {
		diffs = append(diffs, fmt.Sprintf("%s %v (asked: %v)", what, have, asked))
	}
	if got.Storage != want.Storage {
		differ("storage", got.Storage, want.Storage)
	}
	if got.Retention != want.Retention {
		differ("retention", got.Retention, want.Retention)
	}
	if max(got.Replicas, 1) != max(want.Replicas, 1) {
		differ("replicas", max(got.Replicas, 1), max(want.Replicas, 1))
	}
	if want.Duplicates != 0 && got.Duplicates != want.Duplicates {
		differ("duplicate window", got.Duplicates, want.Duplicates)
	}
	legacy := slices.Equal(got.Subjects, legacySubjects)
	if !slices.Equal(got.Subjects, want.Subjects) && !legacy {
		differ("subjects", got.Subjects, want.Subjects)
	}
	if len(diffs) > 0 {
		return &StreamMismatchError{Stream: want.Name, Differences: diffs}
	}
	if legacy {
		if _, err := js.UpdateStream(ctx, want); err != nil {
			return fmt.Errorf("relay: narrow the subjects of %s: %w", want.Name, err)
		}
	}
	return nil
}

// Subject returns the subject of an event:
// ledger.<scheme>.<contract_id>.<EventType>, where the stream name is
// <scheme>-<contract_id>.
func Subject(env *eventstore.Envelope) string {
	scheme, id, ok := strings.Cut(env.Stream, "-")
	if !ok {
		scheme, id = "other", env.Stream
	}
	return SubjectPrefix + "." + token(scheme) + "." + token(id) + "." + token(env.Type)
}

// token keeps a subject token free of the separators NATS reserves.
func token(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// Message builds the message of an event: the envelope as JSON, with its
// id and position in headers.
func Message(env *eventstore.Envelope, expectLastID string) (*nats.Msg, error) {
	body, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(Subject(env))
	msg.Data = body
	msg.Header.Set(jetstream.MsgIDHeader, env.EventID.String())
	msg.Header.Set(HeaderPosition, strconv.FormatUint(uint64(env.Position), 10))
	if expectLastID != "" {
		msg.Header.Set(jetstream.ExpectedLastMsgIDHeader, expectLastID)
	}
	return msg, nil
}

// message builds the next message to publish after prevID: it expects the
// stream's last message to be the event before, or, right after foreign
// messages were found at the stream's end, the stream's last sequence.
func (r *Relay) message(env *eventstore.Envelope, prevID string) (*nats.Msg, error) {
	msg, err := Message(env, prevID)
	if err != nil {
		return nil, err
	}
	if seq := r.expectSeq.Load(); seq != 0 {
		msg.Header.Del(jetstream.ExpectedLastMsgIDHeader)
		msg.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(seq, 10))
	}
	return msg, nil
}

// Stats returns the counters.
func (r *Relay) Stats() Stats {
	return Stats{Published: r.published.Load(), Duplicates: r.duplicates.Load(), Foreign: r.foreign.Load(), Position: eventstore.Position(r.position.Load())}
}

// Lag returns how many events the relay is behind the store.
func (r *Relay) Lag(ctx context.Context) (uint64, error) {
	head, err := r.store.Head(ctx)
	if err != nil {
		return 0, err
	}
	cp, err := r.cps.Checkpoint(ctx, r.opts.Name)
	if err != nil {
		return 0, err
	}
	if cp >= head {
		return 0, nil
	}
	return uint64(head - cp), nil
}

// Run publishes until ctx ends. When NATS or the store fails, it waits
// (100 ms, doubling up to MaxBackoff) and resumes from its checkpoint.
func (r *Relay) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		before := r.position.Load()
		err := r.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.position.Load() > before {
			backoff = 100 * time.Millisecond // it made progress: start the backoff afresh
		}
		r.opts.Logger.Warn("relay stopped; resuming from its checkpoint", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.opts.MaxBackoff)
	}
}

// errCodeWrongLastMsgID is JetStream's "wrong last msg ID" error code
// (nats-server JSStreamWrongLastMsgIDErrF), which nats.go does not name.
const errCodeWrongLastMsgID jetstream.ErrorCode = 10070

var errWrongLast = errors.New("relay: the stream's last message is not the event before")

// RunOnce publishes from the checkpoint until ctx ends or something fails,
// and returns the failure.
func (r *Relay) RunOnce(ctx context.Context) error {
	if err := r.EnsureStream(ctx); err != nil {
		return err
	}
	cp, err := r.cps.Checkpoint(ctx, r.opts.Name)
	if err != nil {
		return err
	}
	if cp == 0 {
		// No checkpoint (a new relay, or its state lost): the stream says
		// how far publishing went, so that nothing is published twice
		// after the duplicate window.
		if err := r.resync(ctx); err != nil {
			return err
		}
		if cp, err = r.cps.Checkpoint(ctx, r.opts.Name); err != nil {
			return err
		}
	}
	lastID, err := r.eventIDAt(ctx, cp)
	if err != nil {
		return err
	}
	r.position.Store(uint64(cp))
	err = r.store.Subscribe(ctx, cp, func(batch []eventstore.Envelope) error {
		acked, ackedID, err := r.publish(ctx, batch, lastID)
		if acked > cp {
			if r.opts.BeforeCheckpoint != nil && err == nil {
				if herr := r.opts.BeforeCheckpoint(batch); herr != nil {
					return herr
				}
			}
			if serr := r.cps.SaveCheckpoint(ctx, r.opts.Name, acked); serr != nil {
				return errors.Join(err, serr)
			}
			cp, lastID = acked, ackedID
			r.position.Store(uint64(acked))
			r.progressed.Store(time.Now().UnixNano())
		}
		if errors.Is(err, errWrongLast) {
			if rerr := r.resync(ctx); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	})
	return err
}

// eventIDAt returns the id of the event at a position (none for 0).
func (r *Relay) eventIDAt(ctx context.Context, pos eventstore.Position) (string, error) {
	if pos == 0 {
		return "", nil
	}
	evs, err := r.store.ReadAll(ctx, pos-1, 1)
	if err != nil {
		return "", err
	}
	if len(evs) == 0 || evs[0].Position != pos {
		// Backends with gaps in positions: the checkpoint is the position of
		// an event that exists, so read up to it.
		return "", fmt.Errorf("relay: no event at checkpoint position %d", pos)
	}
	return evs[0].EventID.String(), nil
}

// publish sends a batch pipelined and waits for the acknowledgements in
// order. It returns the position and id of the last event acknowledged.
// When the batch fails, the publishes still outstanding are abandoned
// (CleanupPublisher): their acknowledgements may never come — their node
// went down — and left pending they would fill the client's window, so
// that every later publish stalls. The run resumes from the checkpoint,
// and the server drops what it did store as duplicates.
func (r *Relay) publish(ctx context.Context, batch []eventstore.Envelope, lastID string) (_ eventstore.Position, _ string, err error) {
	defer func() {
		if err != nil {
			r.js.CleanupPublisher()
		}
	}()
	if r.opts.Replicas > 1 {
		// On a replicated stream, one at a time: see publishOneByOne.
		return r.publishOneByOne(ctx, batch, lastID)
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	var sendErr error
	prev := lastID
	for i := range batch {
		msg, err := r.message(&batch[i], prev)
		if err != nil {
			sendErr = err
			break
		}
		if i == 0 {
			// The rest of the batch expects the event before it: only
			// the first may expect a foreign message's sequence.
			r.expectSeq.Store(0)
		}
		f, err := r.js.PublishMsgAsync(msg)
		if err != nil {
			sendErr = fmt.Errorf("relay: publish position %d: %w", batch[i].Position, err)
			break
		}
		futures = append(futures, f)
		prev = batch[i].EventID.String()
	}
	var acked eventstore.Position
	ackedID := lastID
	timer := time.NewTimer(r.opts.AckTimeout)
	defer timer.Stop()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				r.duplicates.Add(1)
			} else {
				r.published.Add(1)
			}
			acked, ackedID = batch[i].Position, batch[i].EventID.String()
		case err := <-f.Err():
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeWrongLastMsgID {
				return acked, ackedID, fmt.Errorf("%w (position %d): %v", errWrongLast, batch[i].Position, err)
			}
			return acked, ackedID, fmt.Errorf("relay: position %d not acknowledged: %w", batch[i].Position, err)
		case <-timer.C:
			if r.opts.OnAckTimeout != nil {
				r.opts.OnAckTimeout()
			}
			return acked, ackedID, fmt.Errorf("relay: no acknowledgement for position %d within %s", batch[i].Position, r.opts.AckTimeout)
		case <-ctx.Done():
			return acked, ackedID, ctx.Err()
		}
	}
	return acked, ackedID, sendErr
}

// publishOneByOne publishes a batch to a replicated stream, each event
// sent once the one before is acknowledged. Pipelined publishes with the
// order guard (Nats-Expected-Last-Msg-Id) are not safe there: when the
// stream's leader is lost, entries the old leader had proposed are applied
// by the new one after publishes it already accepted against its older
// state, and the server stops the stream on the mismatch ("critical write
// error"; seen in 2 of 3 runs of TestRelayOnAClusterSurvivesTheLossOfTheLeader
// before this). One at a time, what the new leader accepts follows what it
// applied.
func (r *Relay) publishOneByOne(ctx context.Context, batch []eventstore.Envelope, lastID string) (eventstore.Position, string, error) {
	var acked eventstore.Position
	ackedID := lastID
	for i := range batch {
		msg, err := r.message(&batch[i], ackedID)
		if err != nil {
			return acked, ackedID, err
		}
		actx, cancel := context.WithTimeout(ctx, r.opts.AckTimeout)
		ack, err := r.js.PublishMsg(actx, msg)
		cancel()
		if err == nil {
			r.expectSeq.Store(0)
		}
		if err != nil {
			var apiErr *jetstream.APIError
			if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeWrongLastMsgID {
				return acked, ackedID, fmt.Errorf("%w (position %d): %v", errWrongLast, batch[i].Position, err)
			}
			if ctx.Err() != nil {
				return acked, ackedID, ctx.Err()
			}
			return acked, ackedID, fmt.Errorf("relay: position %d not acknowledged: %w", batch[i].Position, err)
		}
		if ack.Duplicate {
			r.duplicates.Add(1)
		} else {
			r.published.Add(1)
		}
		acked, ackedID = batch[i].Position, batch[i].EventID.String()
	}
	return acked, ackedID, nil
}

// maxForeignScan bounds how far back resync looks for the relay's last
// message behind foreign ones.
const maxForeignScan = 10_000

// lastPublished returns the Ledger-Position of the last message the relay
// published in the stream (0 for none) and how many foreign messages stand
// after it.
func (r *Relay) lastPublished(ctx context.Context, stream jetstream.Stream, first, last uint64) (pos, foreign uint64, err error) {
	for seq := last; seq >= max(first, 1) && seq > 0; seq-- {
		msg, err := stream.GetMsg(ctx, seq)
		var apiErr *jetstream.APIError
		if errors.Is(err, jetstream.ErrMsgNotFound) || errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			continue // deleted
		}
		if err != nil {
			return 0, foreign, err
		}
		if p, err := strconv.ParseUint(msg.Header.Get(HeaderPosition), 10, 64); err == nil {
			return p, foreign, nil
		}
		if foreign++; foreign > maxForeignScan {
			return 0, foreign, fmt.Errorf("relay: the last %d messages of the stream %s were not published by the relay", maxForeignScan, r.opts.Stream)
		}
	}
	return 0, foreign, nil
}

// resync moves the checkpoint to the position of the stream's last message:
// forward when the stream holds events the checkpoint does not know of (a
// restart after the duplicate window expired), back when the stream lost
// events the relay had published (a stream deleted or purged by an
// operator), so that they are published again.
func (r *Relay) resync(ctx context.Context) error {
	stream, err := r.js.Stream(ctx, r.opts.Stream)
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	pos, foreign, err := r.lastPublished(ctx, stream, info.State.FirstSeq, info.State.LastSeq)
	if err != nil {
		return err
	}
	if foreign > 0 {
		// Someone else published in the relay's stream: say so loudly, and
		// go on after them rather than stall on every retry.
		if counted := r.countedTo.Swap(info.State.LastSeq); counted < info.State.LastSeq {
			r.foreign.Add(min(foreign, info.State.LastSeq-counted))
		}
		r.expectSeq.Store(info.State.LastSeq)
		r.opts.Logger.Error("relay: foreign messages in the stream, not published by the relay (no Ledger-Position header): a publisher other than the relay has write access; publishing goes on after them",
			"stream", r.opts.Stream, "foreign", foreign, "last_seq", info.State.LastSeq, "relay_position", pos)
	}
	cp, err := r.cps.Checkpoint(ctx, r.opts.Name)
	if err != nil {
		return err
	}
	if eventstore.Position(pos) != cp {
		r.opts.Logger.Warn("relay: the stream and the checkpoint disagree; resuming after the stream's last message",
			"checkpoint", cp, "stream_position", pos)
		return r.cps.SaveCheckpoint(ctx, r.opts.Name, eventstore.Position(pos))
	}
	return nil
}
