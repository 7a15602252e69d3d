// Package esdb is the EventStoreDB / KurrentDB backend of the ledger's event
// store, through github.com/EventStore/EventStore-Client-Go/v4: for
// deployments that outgrow one machine (a 3-node cluster, quorum writes).
//
// How the contract maps onto EventStoreDB:
//
//   - Expected revisions map to esdb.NoStream{}, esdb.Any{}, esdb.StreamExists{}
//     and esdb.Revision(n). The store always appends with the exact revision it
//     read, so the hash chain cannot fork; a caller's Any or StreamExists is
//     honoured by reading again and retrying when another writer got in.
//   - A wrong expected version is returned as *eventstore.WrongRevisionError
//     with the actual revision, read back from the stream (the client gives it
//     only as text).
//   - Idempotency does not rest on the server's duplicate cache, which lives in
//     memory and is lost on restart: before appending, the store reads the
//     stream's tail (up to IdempotencyWindow events) and compares event ids;
//     when an append's outcome is uncertain (deadline, connection lost, leader
//     change) it reads the tail again before retrying.
//   - The envelope's fields and the hash chain travel in the event metadata, a
//     JSON object of strings ($correlationId and $causationId as EventStoreDB
//     names them, ledger_* for the rest).
//   - Global positions are EventStoreDB commit positions: ordered, not
//     contiguous. Events read from a stream carry position 0 (the server does
//     not know it there), and an append reports only the last event's position
//     (FirstPosition is 0); events read from the global log carry theirs.
//   - Reads of the global log and subscriptions skip system events ($-prefixed
//     streams and types) and events without the ledger's metadata.
//   - Subscriptions resubscribe by themselves, with capped backoff, from the
//     last position seen when the server drops them (the Go client does not).
//   - TLS and credentials come from the connection string
//     (esdb://user:password@host:2113?tls=true&tlsCAFile=ca.crt).
package esdb

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

var _ eventstore.Store = (*Store)(nil)

// Options tune a Store.
type Options struct {
	// IdempotencyWindow is how many of a stream's last events an append
	// compares its ids with (default 4096; a contract's stream is far
	// shorter).
	IdempotencyWindow int
	// MaxAttempts bounds the retries of one append after conflicts with
	// Any/StreamExists or uncertain outcomes (default 5).
	MaxAttempts int
	// MaxBackoff caps the wait before a resubscription (default 5 s).
	MaxBackoff time.Duration
	// Namespace, when set, keeps the ledger's streams under "<namespace>."
	// in a database shared with others (and gives each conformance test
	// run a fresh ledger): reads of the global log see only those streams.
	Namespace string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Store is an event store on EventStoreDB.
type Store struct {
	conn conn
	opts Options
}

// Open connects to EventStoreDB with a connection string.
func Open(connectionString string, opts Options) (*Store, error) {
	cfg, err := esdb.ParseConnectionString(connectionString)
	if err != nil {
		return nil, fmt.Errorf("esdb: connection string: %w", err)
	}
	cfg.Logger = clientLogger(opts.Logger)
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("esdb: connect: %w", err)
	}
	return newStore(&clientConn{c: client}, opts), nil
}

// clientLogger sends the client's own log lines (one per reconnection
// attempt, gossip, discovery: thirty for an unreachable server) to the
// store's logger as debug lines, with the client's level: silent unless
// the logger takes them (ledger --log-level debug). What matters reaches
// the user as the store's errors and warnings.
func clientLogger(l *slog.Logger) esdb.LoggingFunc {
	if l == nil {
		return esdb.NoopLogging()
	}
	return func(level esdb.LogLevel, format string, args ...interface{}) {
		if len(args) == 1 { // the client passes its arguments as one slice
			if inner, ok := args[0].([]interface{}); ok {
				args = inner
			}
		}
		l.Debug("esdb client: "+fmt.Sprintf(format, args...), "level", level)
	}
}

func newStore(c conn, opts Options) *Store {
	if opts.IdempotencyWindow <= 0 {
		opts.IdempotencyWindow = 4096
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{conn: c, opts: opts}
}

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close() }

// physical returns the stream's name in EventStoreDB.
func (s *Store) physical(stream string) string {
	if s.opts.Namespace == "" {
		return stream
	}
	return s.opts.Namespace + "." + stream
}

// logical returns the ledger's name of a stream, and whether it belongs to
// this ledger.
func (s *Store) logical(physical string) (string, bool) {
	if s.opts.Namespace == "" {
		return physical, true
	}
	return strings.CutPrefix(physical, s.opts.Namespace+".")
}

// envelope turns a recorded event of this ledger into an envelope; ok is
// false for system events, foreign events and other namespaces.
func (s *Store) envelope(r *esdb.RecordedEvent) (eventstore.Envelope, bool, error) {
	if r == nil || isSystem(r) {
		return eventstore.Envelope{}, false, nil
	}
	stream, ours := s.logical(r.StreamID)
	if !ours {
		return eventstore.Envelope{}, false, nil
	}
	env := eventstore.Envelope{EventID: r.EventID, Stream: stream, Revision: r.EventNumber, Type: r.EventType, Data: r.Data}
	if r.Position.Commit != math.MaxUint64 {
		env.Position = eventstore.Position(r.Position.Commit)
	}
	ok, err := DecodeMetadata(r.UserMetadata, &env)
	return env, ok, err
}

// toExpected maps the exact state the store read to EventStoreDB's expected
// revision.
func toExpected(actual int64) esdb.ExpectedRevision {
	if actual == eventstore.NoRevision {
		return esdb.NoStream{}
	}
	return esdb.Revision(uint64(actual))
}

// MapExpected maps a caller's expected revision onto EventStoreDB's (for
// tools that append directly).
func MapExpected(e eventstore.ExpectedRevision) esdb.ExpectedRevision {
	if n, ok := e.Revision(); ok {
		return esdb.Revision(n)
	}
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	}
	return esdb.Any{}
}

// prepareAppend validates an append and folds its options.
func prepareAppend(stream string, events []eventstore.EventData, opts []eventstore.AppendOption) ([]eventstore.EventData, eventstore.AppendOptions, error) {
	prepared, err := eventstore.Prepare(stream, events)
	if err != nil {
		return nil, eventstore.AppendOptions{}, err
	}
	o := eventstore.OptionsOf(opts)
	if err := eventstore.CheckOptions(o); err != nil {
		return nil, o, err
	}
	if o.EveryStreamClaimed {
		// EventStoreDB keeps no count of the streams created without a
		// claim: the caller reads what it must instead.
		return nil, o, eventstore.ErrUnclaimedStreams
	}
	return prepared, o, nil
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	prepared, o, err := prepareAppend(stream, events, opts)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	uncertain, claimed := false, len(o.Claims) == 0
	var lastErr error
	for attempt := 0; attempt < s.opts.MaxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return eventstore.AppendResult{}, err
		}
		tail, err := s.readTail(ctx, stream)
		if errors.Is(err, errUncertain) {
			// A read changes nothing: after a lost connection or a node
			// that is not ready yet, read again once the client reconnected.
			lastErr = err
			if err := backoff(ctx, attempt); err != nil {
				return eventstore.AppendResult{}, err
			}
			continue
		}
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if res, found, err := original(stream, prepared, tail); err != nil || found {
			// A retry whose events are stored: the original result. After an
			// uncertain outcome they are ours, not a duplicate.
			res.Duplicate = res.Duplicate && !uncertain
			return res, err
		}
		actual, prev := lastOf(tail)
		if !expected.Matches(actual) {
			return eventstore.AppendResult{}, &eventstore.WrongRevisionError{Stream: stream, Expected: expected, Actual: actual}
		}
		if !claimed {
			// Claimed once the append is known to be one (not a retry, not
			// refused for its revision), just before writing it.
			for _, key := range o.Claims {
				if err := s.claim(ctx, key, stream); err != nil {
					return eventstore.AppendResult{}, err
				}
			}
			claimed = true
		}
		data, err := s.seal(stream, actual, prev, prepared)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		res, outcome, err := s.write(ctx, stream, expected, actual, data)
		switch outcome {
		case written:
			return res, err
		case writeAgain:
			lastErr = err // another writer got in: read again and chain after it
		case writeUncertain:
			// The append may or may not have landed: the next attempt reads
			// the tail and finds our ids if it did.
			uncertain, lastErr = true, err
			s.opts.Logger.Warn("esdb: append outcome uncertain; checking the stream before retrying", "stream", stream, "err", err)
			if err := backoff(ctx, attempt); err != nil {
				return eventstore.AppendResult{}, err
			}
		}
	}
	return eventstore.AppendResult{}, fmt.Errorf("esdb: append to %s: gave up after %d attempts: %w", stream, s.opts.MaxAttempts, lastErr)
}

// writeOutcome is what one write of an append came to.
type writeOutcome int

const (
	written        writeOutcome = iota // done: the result, or an error that ends the append
	writeAgain                         // another writer got in first: read the tail again
	writeUncertain                     // the connection failed: the events may have landed
)

// write appends sealed events after the revision actual.
func (s *Store) write(ctx context.Context, stream string, expected eventstore.ExpectedRevision, actual int64, data []esdb.EventData) (eventstore.AppendResult, writeOutcome, error) {
	wr, err := s.conn.Append(ctx, s.physical(stream), toExpected(actual), data)
	switch {
	case err == nil:
		return eventstore.AppendResult{Stream: stream, FirstRevision: uint64(actual + 1), LastRevision: uint64(actual) + uint64(len(data)),
			LastPosition: eventstore.Position(wr.CommitPosition)}, written, nil
	case errors.Is(err, errWrongVersion):
		if expected.IsAny() || expected.IsStreamExists() {
			return eventstore.AppendResult{}, writeAgain, err
		}
		// The client gives the actual revision only as text: read it back.
		actual, rerr := s.lastRevision(ctx, stream)
		if rerr != nil {
			return eventstore.AppendResult{}, written, rerr
		}
		return eventstore.AppendResult{}, written, &eventstore.WrongRevisionError{Stream: stream, Expected: expected, Actual: actual}
	case errors.Is(err, errUncertain):
		return eventstore.AppendResult{}, writeUncertain, err
	}
	return eventstore.AppendResult{}, written, fmt.Errorf("esdb: append to %s: %w", stream, err)
}

// lastOf returns the revision and hash of a stream's last event, given its
// tail (NoRevision and a zero hash when the stream is empty).
func lastOf(tail []eventstore.Envelope) (int64, eventstore.Hash) {
	if len(tail) == 0 {
		return eventstore.NoRevision, eventstore.Hash{}
	}
	last := tail[len(tail)-1]
	return int64(last.Revision), last.Hash
}

// seal chains prepared events after the stream's last one (revision
// actual, hash prev) and encodes them for the node.
func (s *Store) seal(stream string, actual int64, prev eventstore.Hash, prepared []eventstore.EventData) ([]esdb.EventData, error) {
	now := s.opts.Now()
	data := make([]esdb.EventData, len(prepared))
	for i, e := range prepared {
		env := eventstore.Seal(prev, stream, uint64(actual+1)+uint64(i), 0, now, e)
		var err error
		if data[i], err = toEventData(&env); err != nil {
			return nil, err
		}
		prev = env.Hash
	}
	return data, nil
}

// backoff waits a little longer after each failed attempt, or returns the
// context's error when it ends first.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(time.Duration(attempt+1) * 100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// claimNamespace derives the id of a claim's event from the key and the
// stream, so that claiming again is the same event.
var claimNamespace = uuid.MustParse("9c1e4f2a-7b3d-5e6f-8a9b-0c1d2e3f4a5b")

// claimType is the type of a claim's event. It carries no ledger metadata,
// so reads of the global log skip it like a foreign event.
const claimType = "LedgerStreamClaimed"

// claimStream is the stream that holds a key's claim: its first event names
// the owner. EventStoreDB has no transaction over two streams, so the claim
// is appended (expecting no stream: one writer wins) before the events.
func claimStream(key string) string { return "ledger-claim-" + key }

// claim makes stream the owner of key, or returns a *ClaimedError when
// another stream owns it.
func (s *Store) claim(ctx context.Context, key, stream string) error {
	phys := s.physical(claimStream(key))
	data, err := json.Marshal(map[string]string{"key": key, "stream": stream})
	if err != nil {
		return err
	}
	ev := esdb.EventData{EventID: uuid.NewSHA1(claimNamespace, []byte(key+"\x00"+stream)), EventType: claimType,
		ContentType: esdb.ContentTypeJson, Data: data}
	var lastErr error
	for attempt := 0; attempt < s.opts.MaxAttempts; attempt++ {
		_, err := s.conn.Append(ctx, phys, esdb.NoStream{}, []esdb.EventData{ev})
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errWrongVersion):
			lastErr = err
		case errors.Is(err, errUncertain):
			lastErr = err
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		default:
			return fmt.Errorf("esdb: claim %s for %s: %w", key, stream, err)
		}
		recs, err := s.conn.ReadStream(ctx, phys, esdb.Start{}, false, 1)
		if errors.Is(err, errUncertain) {
			lastErr = err
			continue // the node is not reachable yet: the next attempt asks again
		}
		if err != nil {
			return fmt.Errorf("esdb: read the claim of %s: %w", key, err)
		}
		if len(recs) == 0 {
			continue // an uncertain append that did not land: try again
		}
		var owner struct {
			Stream string `json:"stream"`
		}
		if err := json.Unmarshal(recs[0].Data, &owner); err != nil || owner.Stream == "" {
			return fmt.Errorf("esdb: the claim of %s is not readable: %s", key, recs[0].Data)
		}
		if owner.Stream == stream {
			return nil
		}
		return &eventstore.ClaimedError{Key: key, Stream: stream, Owner: owner.Stream}
	}
	return fmt.Errorf("esdb: claim %s for %s: gave up after %d attempts: %w", key, stream, s.opts.MaxAttempts, lastErr)
}

// original finds a retried batch in the tail of its stream.
func original(stream string, batch []eventstore.EventData, tail []eventstore.Envelope) (eventstore.AppendResult, bool, error) {
	byID := make(map[string]int, len(tail))
	for i := range tail {
		byID[tail[i].EventID.String()] = i
	}
	found := 0
	first := -1
	for i := range batch {
		j, ok := byID[batch[i].ID.String()]
		if !ok {
			continue
		}
		found++
		if first < 0 {
			first = j
		}
		if j != first+i || !eventstore.SameContent(&tail[j], stream, &batch[i]) {
			return eventstore.AppendResult{}, false, fmt.Errorf("append to %s: event %s: %w", stream, batch[i].ID, eventstore.ErrEventIDConflict)
		}
	}
	switch {
	case found == 0:
		return eventstore.AppendResult{}, false, nil
	case found < len(batch):
		return eventstore.AppendResult{}, false, fmt.Errorf("append to %s: %d of %d events stored already: %w", stream, found, len(batch), eventstore.ErrEventIDConflict)
	}
	last := tail[first+len(batch)-1]
	return eventstore.AppendResult{Stream: stream, FirstRevision: tail[first].Revision, LastRevision: last.Revision,
		FirstPosition: tail[first].Position, LastPosition: last.Position, Duplicate: true}, true, nil
}

// readTail returns the last IdempotencyWindow events of a stream, oldest
// first.
func (s *Store) readTail(ctx context.Context, stream string) ([]eventstore.Envelope, error) {
	recs, err := s.conn.ReadStream(ctx, s.physical(stream), esdb.End{}, true, uint64(s.opts.IdempotencyWindow))
	if err != nil {
		return nil, fmt.Errorf("esdb: read the tail of %s: %w", stream, err)
	}
	out := make([]eventstore.Envelope, 0, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		env, ok, err := s.envelope(recs[i])
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, env)
		}
	}
	return out, nil
}

// lastRevision reads the revision of a stream's last event, whatever it is.
func (s *Store) lastRevision(ctx context.Context, stream string) (int64, error) {
	recs, err := s.conn.ReadStream(ctx, s.physical(stream), esdb.End{}, true, 1)
	if err != nil {
		return 0, fmt.Errorf("esdb: read the last revision of %s: %w", stream, err)
	}
	if len(recs) == 0 {
		return eventstore.NoRevision, nil
	}
	return int64(recs[0].EventNumber), nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	recs, err := s.conn.ReadStream(ctx, s.physical(stream), esdb.Revision(from), false, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("esdb: read %s: %w", stream, err)
	}
	out := make([]eventstore.Envelope, 0, len(recs))
	for _, r := range recs {
		env, ok, err := s.envelope(r)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, env)
		}
	}
	return out, nil
}

// allFrom maps "after position p" onto a $all read position.
func allFrom(after eventstore.Position) esdb.AllPosition {
	if after == 0 {
		return esdb.Start{}
	}
	return esdb.Position{Commit: uint64(after), Prepare: uint64(after)}
}

// ReadAll implements eventstore.Store: events after the position, system and
// foreign events skipped.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []eventstore.Envelope
	from := after
	for len(out) < limit {
		recs, err := s.conn.ReadAll(ctx, allFrom(from), false, uint64(limit+1))
		if err != nil {
			return nil, fmt.Errorf("esdb: read $all after %d: %w", from, err)
		}
		progressed := false
		for _, r := range recs {
			pos := eventstore.Position(r.Position.Commit)
			if pos <= from {
				continue
			}
			from, progressed = pos, true
			env, ok, err := s.envelope(r)
			if err != nil {
				return nil, err
			}
			if ok && len(out) < limit {
				out = append(out, env)
			}
		}
		if !progressed || len(recs) < limit+1 {
			break
		}
	}
	return out, nil
}

// Head implements eventstore.Store: the position of the last ledger event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var from esdb.AllPosition = esdb.End{}
	for {
		recs, err := s.conn.ReadAll(ctx, from, true, 256)
		if err != nil {
			return 0, fmt.Errorf("esdb: read the head of $all: %w", err)
		}
		for _, r := range recs {
			if _, ok, _ := s.envelope(r); ok {
				return eventstore.Position(r.Position.Commit), nil
			}
		}
		if len(recs) < 256 {
			return 0, nil
		}
		// The next page ends before the last record of this one: a
		// backward read from a position returns the records before it, and
		// only a record's own position is a valid one (KurrentDB refuses
		// the others: "Trying to read from an invalid position").
		from = recs[len(recs)-1].Position
	}
}

// Subscribe implements eventstore.Store. When the server drops the
// subscription it resubscribes from the last position seen, waiting 100 ms,
// then twice as long each time, up to MaxBackoff; a delivered event resets
// the wait.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func([]eventstore.Envelope) error) error {
	return resubscribe(ctx, s.conn, s.envelope, after, s.opts.MaxBackoff, s.opts.Logger, handle)
}

// resubscribe is the subscription loop, apart from the client so that it is
// tested against a source that drops.
func resubscribe(ctx context.Context, c conn, envelope func(*esdb.RecordedEvent) (eventstore.Envelope, bool, error),
	after eventstore.Position, maxBackoff time.Duration, log *slog.Logger, handle func([]eventstore.Envelope) error) error {
	backoff := 100 * time.Millisecond
	last := after
	for {
		sub, err := c.SubscribeAll(ctx, allFrom(last))
		if err == nil {
			err = func() error {
				defer sub.Close()
				for {
					r, err := sub.Next()
					if err != nil {
						return err
					}
					pos := eventstore.Position(r.Position.Commit)
					if pos <= last {
						continue // already delivered (a resubscription starts at the last position seen)
					}
					env, ok, err := envelope(r)
					if err != nil {
						return err
					}
					last = pos
					backoff = 100 * time.Millisecond
					if !ok {
						continue
					}
					if err := handle([]eventstore.Envelope{env}); err != nil {
						return handlerError{err}
					}
				}
			}()
		}
		var he handlerError
		if errors.As(err, &he) {
			return he.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("esdb: subscription dropped; resubscribing", "after", last, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

// Metadata keys. EventStoreDB reads $correlationId and $causationId itself.
const (
	metaCorrelation   = "$correlationId"
	metaCausation     = "$causationId"
	metaSchemaVersion = "ledger_schema_version"
	metaOccurredOn    = "ledger_occurred_on"
	metaRecordedAt    = "ledger_recorded_at"
	metaActor         = "ledger_actor"
	metaCommandID     = "ledger_command_id"
	metaPrevHash      = "ledger_prev_hash"
	metaHash          = "ledger_hash"
	metaCommandDigest = "ledger_command_digest" // hex; absent when the event has none
)

// EncodeMetadata writes the envelope fields that EventStoreDB does not keep
// as a JSON object of strings.
func EncodeMetadata(env *eventstore.Envelope) ([]byte, error) {
	m := map[string]string{
		metaCorrelation: env.CorrelationID, metaCausation: env.CausationID,
		metaSchemaVersion: strconv.Itoa(env.SchemaVersion), metaOccurredOn: env.OccurredOn,
		metaRecordedAt: env.RecordedAt.UTC().Format(eventstore.RecordedAtFormat), metaActor: env.Actor,
		metaCommandID: env.CommandID, metaPrevHash: env.PrevHash.String(), metaHash: env.Hash.String(),
	}
	if len(env.CommandDigest) > 0 {
		m[metaCommandDigest] = hex.EncodeToString(env.CommandDigest)
	}
	return json.Marshal(m)
}

// DecodeMetadata reads them back into env; ok is false when the metadata is
// not the ledger's (a foreign event in a shared database).
func DecodeMetadata(raw []byte, env *eventstore.Envelope) (ok bool, err error) {
	var m map[string]string
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return false, nil
	}
	if _, ours := m[metaHash]; !ours {
		return false, nil
	}
	if env.SchemaVersion, err = strconv.Atoi(m[metaSchemaVersion]); err != nil {
		return true, fmt.Errorf("esdb: event %s: schema version %q", env.EventID, m[metaSchemaVersion])
	}
	if env.RecordedAt, err = time.Parse(eventstore.RecordedAtFormat, m[metaRecordedAt]); err != nil {
		return true, fmt.Errorf("esdb: event %s: recorded_at %q", env.EventID, m[metaRecordedAt])
	}
	if err := env.PrevHash.UnmarshalText([]byte(m[metaPrevHash])); err != nil {
		return true, fmt.Errorf("esdb: event %s: prev_hash: %w", env.EventID, err)
	}
	if err := env.Hash.UnmarshalText([]byte(m[metaHash])); err != nil {
		return true, fmt.Errorf("esdb: event %s: hash: %w", env.EventID, err)
	}
	env.OccurredOn, env.Actor, env.CommandID = m[metaOccurredOn], m[metaActor], m[metaCommandID]
	env.CorrelationID, env.CausationID = m[metaCorrelation], m[metaCausation]
	env.CommandDigest = nil
	if d, ok := m[metaCommandDigest]; ok {
		if env.CommandDigest, err = hex.DecodeString(d); err != nil || len(d) == 0 {
			return true, fmt.Errorf("esdb: event %s: command digest %q is not hex", env.EventID, d)
		}
	}
	return true, nil
}

func toEventData(env *eventstore.Envelope) (esdb.EventData, error) {
	meta, err := EncodeMetadata(env)
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{EventID: env.EventID, EventType: env.Type, ContentType: esdb.ContentTypeJson, Data: env.Data, Metadata: meta}, nil
}

// isSystem tells EventStoreDB's own events: $-prefixed streams or types.
func isSystem(r *esdb.RecordedEvent) bool {
	return strings.HasPrefix(r.StreamID, "$") || strings.HasPrefix(r.EventType, "$")
}
