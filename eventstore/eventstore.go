package eventstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Position is an event's place in the global log. The first event has
// position 1; 0 means "before the first event" and is where a reader that
// wants everything starts.
type Position uint64

// NoRevision is the actual revision reported for a stream that does not exist.
const NoRevision int64 = -1

// EventData is what a caller appends: the envelope fields the store does not
// assign itself.
type EventData struct {
	// ID identifies the event; it must not be the zero UUID. The ledger derives
	// it from the command id, which makes retried commands idempotent.
	ID uuid.UUID
	// Type names the event, e.g. "ContractSigned".
	Type string
	// SchemaVersion of the data for that type; 0 is stored as 1.
	SchemaVersion int
	// OccurredOn is the business date, YYYY-MM-DD, or empty when the event has
	// none.
	OccurredOn string
	// Actor, CommandID, CorrelationID and CausationID trace who and what
	// caused the event. They are optional.
	Actor         string
	CommandID     string
	CorrelationID string
	CausationID   string
	// Data is the event body: a JSON document. It is stored compacted, and the
	// hash covers the stored bytes.
	Data json.RawMessage
	// CommandDigest, optional, is a digest of the command that produced the
	// event (the ledger's: SHA-256 of its canonical form), kept with it so
	// that a command id used again for another command is told from a
	// retry. It is not covered by the hash: it answers "is this the same
	// command?", it is not evidence of what was recorded.
	CommandDigest []byte
}

// Envelope is a stored event with everything the store assigned to it.
type Envelope struct {
	EventID       uuid.UUID       `json:"event_id"`
	Stream        string          `json:"stream"`
	Revision      uint64          `json:"revision"`
	Position      Position        `json:"position"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	OccurredOn    string          `json:"occurred_on"`
	RecordedAt    time.Time       `json:"recorded_at"`
	Actor         string          `json:"actor"`
	CommandID     string          `json:"command_id"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id"`
	Data          json.RawMessage `json:"data"`
	PrevHash      Hash            `json:"prev_hash"`
	Hash          Hash            `json:"hash"`
	// CommandDigest is EventData.CommandDigest as stored (nil for an event
	// appended without one, or by a store of before digests).
	CommandDigest []byte `json:"-"`
}

// AppendResult tells where an append put its events. Revisions are always
// exact. Positions are exact in the embedded backend; EventStoreDB reports
// only the last event's position on an append (FirstPosition is 0) and no
// position (0) on a duplicate, since it does not know them when reading a
// stream.
type AppendResult struct {
	Stream        string
	FirstRevision uint64
	LastRevision  uint64
	FirstPosition Position
	LastPosition  Position
	// Duplicate is true when every event was stored already by an earlier
	// append: nothing was written and the fields above are that append's.
	Duplicate bool
}

// Store is the contract of an event store backend. Every method takes a
// context first and honours its cancellation.
type Store interface {
	// Append stores events at the end of stream, atomically, if the stream's
	// revision matches expected. Options may claim a key for the stream
	// (see Claim). Errors: *InvalidEventError (ErrInvalidEvent) for bad
	// input, *WrongRevisionError (ErrWrongRevision) on a revision mismatch,
	// *ClaimedError (ErrClaimed) when a key it claims belongs to another
	// stream, ErrEventIDConflict when ids are stored already with other
	// content, ErrClosed after Close, or the context's error.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events []EventData, opts ...AppendOption) (AppendResult, error)

	// ReadStream returns up to limit events of stream with revision >= from,
	// in revision order. A stream that does not exist reads as empty. The
	// envelopes' positions are 0 where the backend does not know them there
	// (EventStoreDB).
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]Envelope, error)

	// ReadAll returns up to limit events of the global log with position >
	// after, in position order.
	ReadAll(ctx context.Context, after Position, limit int) ([]Envelope, error)

	// Subscribe calls handle with every event of the global log whose position
	// is > after, in position order, in batches: first the events stored
	// already (catch-up), then each new event as it is committed, without gap
	// or duplicate. It returns when ctx is done (with ctx.Err()), when handle
	// returns an error (with that error), or when reading fails.
	Subscribe(ctx context.Context, after Position, handle func([]Envelope) error) error

	// Head returns the position of the last committed event (0 when empty).
	Head(ctx context.Context) (Position, error)

	// Close releases the store. Calls after Close return ErrClosed.
	Close() error
}

// AppendOption changes what one Append does.
type AppendOption func(*AppendOptions)

// AppendOptions is what the options of one Append ask for; backends read
// them with OptionsOf.
type AppendOptions struct {
	// Claims are the keys the stream takes for ever (see Claim), in the
	// order given; none: it claims nothing.
	Claims []string
	// EveryStreamClaimed: see OnlyIfEveryStreamClaimed.
	EveryStreamClaimed bool
}

// Claim makes the append take key for its stream, for ever: the first
// stream to claim a key owns it, and an append to another stream that
// claims it fails with a *ClaimedError and writes nothing. Claiming a key
// the stream owns already is allowed (a retry, or a later append).
//
// The ledger claims a contract's id when it creates the contract's stream,
// so that one id is one contract whatever its scheme: two concurrent
// signatures of the same id in two schemes leave exactly one contract.
// The embedded backend records the claim in the append's transaction; on
// EventStoreDB, which has no transaction over two streams, the claim is a
// stream of its own written just before the events, so an append that
// fails after it leaves the key held by its stream (never by two).
//
// Claim may be given more than once: the append takes every key or, when
// one belongs to another stream, none and nothing is written (a CPTS
// contract claims its id and the letter of intent it follows). On
// EventStoreDB the keys are claimed one after the other: a refusal of a
// later key leaves the earlier ones held by the stream, which is then
// never written — as a claim whose append failed.
func Claim(key string) AppendOption {
	return func(o *AppendOptions) { o.Claims = append(o.Claims, key) }
}

// OnlyIfEveryStreamClaimed makes the append fail with ErrUnclaimedStreams,
// writing nothing, unless every stream of the store claimed a key when it
// was created. A claim guards a key only against streams that claimed it:
// a stream written before claims were recorded (a file of the first
// release), or by a writer that claimed nothing, holds its key without the
// store knowing. With this option, a caller that creates a stream claiming
// its key learns from the append alone that no other stream holds that key
// — without reading the streams that could — or learns that it must read
// them. The embedded backend counts the streams created without a claim
// (in the file, so every process sees the count); EventStoreDB, which keeps
// no such count, refuses every append with this option, before writing.
func OnlyIfEveryStreamClaimed() AppendOption {
	return func(o *AppendOptions) { o.EveryStreamClaimed = true }
}

// OptionsOf folds the options of one Append.
func OptionsOf(opts []AppendOption) AppendOptions {
	var o AppendOptions
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// CheckOptions validates an Append's options; backends call it with
// Prepare.
func CheckOptions(o AppendOptions) error {
	for _, key := range o.Claims {
		if key == "" || len(key) > 512 {
			return &InvalidEventError{Index: -1, Field: "claim", Rule: "must be 1 to 512 bytes"}
		}
	}
	if len(o.Claims) > 8 {
		return &InvalidEventError{Index: -1, Field: "claim", Rule: "at most 8 keys per append"}
	}
	if o.EveryStreamClaimed && len(o.Claims) == 0 {
		return &InvalidEventError{Index: -1, Field: "claim", Rule: "is required with OnlyIfEveryStreamClaimed"}
	}
	return nil
}

// Leaf is what a Merkle tree over the global log needs of an event: where
// it is, its id, and its hash.
type Leaf struct {
	Position Position
	EventID  uuid.UUID
	Hash     Hash
}

// Link is what the check of a hash chain needs of an event: where it is,
// the hashes it stores, and its hash recomputed from the event as stored
// (ComputeHash).
type Link struct {
	Stream   string
	Revision uint64
	Position Position
	EventID  uuid.UUID
	PrevHash Hash
	Hash     Hash
	Computed Hash
}

// LinkOf is e's link, its hash recomputed.
func LinkOf(e *Envelope) Link {
	return Link{Stream: e.Stream, Revision: e.Revision, Position: e.Position, EventID: e.EventID,
		PrevHash: e.PrevHash, Hash: e.Hash, Computed: ComputeHash(e.PrevHash, e)}
}

// LinkReader is implemented by backends that recompute each event's hash
// as they read it, from the event where it is stored, without copying it
// out (the embedded store): verify's walk of the whole log then costs no
// copy and no allocation of the events' data, and the hashing is done by
// the goroutines that read. ReadLinks returns up to limit links of the
// events with position > after, in position order.
type LinkReader interface {
	ReadLinks(ctx context.Context, after Position, limit int) ([]Link, error)
}

// ReadLinks reads links from s: through LinkReader when s has it, else
// from ReadAll, each event hashed here.
func ReadLinks(ctx context.Context, s Store, after Position, limit int) ([]Link, error) {
	if lr, ok := s.(LinkReader); ok {
		return lr.ReadLinks(ctx, after, limit)
	}
	envs, err := s.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Link, len(envs))
	for i := range envs {
		out[i] = LinkOf(&envs[i])
	}
	return out, nil
}

// LeafReader is implemented by backends that read the log's leaves without
// the events' data, faster than ReadAll (the embedded store). ReadLeaves
// returns up to limit leaves of the events with position > after, in
// position order.
type LeafReader interface {
	ReadLeaves(ctx context.Context, after Position, limit int) ([]Leaf, error)
}

// ReadLeaves reads leaves from s: through LeafReader when s has it, else
// from ReadAll.
func ReadLeaves(ctx context.Context, s Store, after Position, limit int) ([]Leaf, error) {
	if lr, ok := s.(LeafReader); ok {
		return lr.ReadLeaves(ctx, after, limit)
	}
	envs, err := s.ReadAll(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Leaf, len(envs))
	for i := range envs {
		out[i] = Leaf{Position: envs[i].Position, EventID: envs[i].EventID, Hash: envs[i].Hash}
	}
	return out, nil
}
