package eventstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fastjson"
)

// Hash is a SHA-256 digest. It encodes in JSON as 64 lowercase hex digits;
// the zero Hash (the PrevHash of a stream's first event) as 64 zeros.
type Hash [sha256.Size]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 2*sha256.Size {
		return fmt.Errorf("eventstore: hash must be %d hex digits, got %d", 2*sha256.Size, len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// RecordedAtFormat is the one textual form of recorded_at that the hash
// covers: UTC, microsecond precision.
const RecordedAtFormat = "2006-01-02T15:04:05.000000Z07:00"

// NormalizeTime truncates t to the microsecond in UTC, the precision every
// backend stores, so that a hash computed before storing verifies after.
func NormalizeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// ComputeHash returns SHA-256(prev ‖ canonical(e)). The canonical encoding is
// the envelope's fields in a fixed order, each as an unsigned varint length
// followed by its bytes: event id (canonical UUID text), stream, revision
// (decimal), type, schema version (decimal), occurred_on, recorded_at
// (RecordedAtFormat), actor, command id, correlation id, causation id, data
// (the stored bytes). The global position is not covered: it is assigned by
// the backend and differs between backends, while the chain must survive a
// migration.
func ComputeHash(prev Hash, e *Envelope) Hash {
	// The encoding is built in one buffer, on the stack for events up to
	// ~1 KiB, and hashed at once: no allocation for a typical event.
	var stack [1024]byte
	b := append(stack[:0], prev[:]...)
	var id [36]byte
	encodeUUID(&id, e.EventID)
	b = appendField(b, id[:])
	b = appendField(b, e.Stream)
	var num [24]byte
	b = appendField(b, strconv.AppendUint(num[:0], e.Revision, 10))
	b = appendField(b, e.Type)
	b = appendField(b, strconv.AppendInt(num[:0], int64(e.SchemaVersion), 10))
	b = appendField(b, e.OccurredOn)
	var ts [40]byte
	b = appendField(b, appendRecordedAt(ts[:0], e.RecordedAt))
	b = appendField(b, e.Actor)
	b = appendField(b, e.CommandID)
	b = appendField(b, e.CorrelationID)
	b = appendField(b, e.CausationID)
	b = appendField(b, e.Data)
	return sha256.Sum256(b)
}

// appendRecordedAt appends t in RecordedAtFormat, in UTC: what
// t.UTC().AppendFormat(b, RecordedAtFormat) gives, written digit by digit
// for the years 1000 to 9999 (a tenth of the hash's time went to the
// general formatter); others go through it.
func appendRecordedAt(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 1000 || year > 9999 {
		return t.AppendFormat(b, RecordedAtFormat)
	}
	hour, minute, sec := t.Clock()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = two(two(b, year/100), year%100)
	b = two(append(b, '-'), int(month))
	b = two(append(b, '-'), day)
	b = two(append(b, 'T'), hour)
	b = two(append(b, ':'), minute)
	b = two(append(b, ':'), sec)
	us := t.Nanosecond() / 1000
	b = append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10), byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10))
	return append(b, 'Z')
}

// appendField appends one field of the canonical encoding: its length as an
// unsigned varint, then its bytes.
func appendField[T ~string | ~[]byte](b []byte, f T) []byte {
	b = binary.AppendUvarint(b, uint64(len(f)))
	return append(b, f...)
}

// encodeUUID writes u in its canonical text form (8-4-4-4-12 lowercase hex
// digits), as uuid.UUID.String does, without allocating.
func encodeUUID(dst *[36]byte, u uuid.UUID) {
	hex.Encode(dst[0:8], u[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], u[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], u[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], u[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:36], u[10:16])
}

// Prepare validates a batch for Append and returns it normalised: data
// compacted, schema version defaulted to 1. Backends call it before writing.
func Prepare(stream string, events []EventData) ([]EventData, error) {
	if stream == "" {
		return nil, &InvalidEventError{Index: -1, Field: "stream", Rule: "must not be empty"}
	}
	if len(stream) > 512 {
		return nil, &InvalidEventError{Index: -1, Field: "stream", Rule: "must be at most 512 bytes"}
	}
	if len(events) == 0 {
		return nil, &InvalidEventError{Index: -1, Field: "events", Rule: "must hold at least one event"}
	}
	out := make([]EventData, len(events))
	seen := make(map[uuid.UUID]struct{}, len(events))
	for i, e := range events {
		if e.ID == uuid.Nil {
			return nil, &InvalidEventError{Index: i, Field: "id", Rule: "must not be the zero UUID"}
		}
		if _, dup := seen[e.ID]; dup {
			return nil, &InvalidEventError{Index: i, Field: "id", Rule: "appears twice in the batch"}
		}
		seen[e.ID] = struct{}{}
		if e.Type == "" {
			return nil, &InvalidEventError{Index: i, Field: "type", Rule: "must not be empty"}
		}
		if e.SchemaVersion < 0 {
			return nil, &InvalidEventError{Index: i, Field: "schema_version", Rule: "must not be negative"}
		}
		if e.SchemaVersion == 0 {
			e.SchemaVersion = 1
		}
		if e.OccurredOn != "" {
			if _, err := time.Parse(time.DateOnly, e.OccurredOn); err != nil {
				return nil, &InvalidEventError{Index: i, Field: "occurred_on", Rule: "must be a date YYYY-MM-DD"}
			}
		}
		data, ok := compactJSON(e.Data)
		if !ok {
			return nil, &InvalidEventError{Index: i, Field: "data", Rule: "must be a valid JSON document"}
		}
		e.Data = data
		out[i] = e
	}
	return out, nil
}

// compactJSON returns a copy of data without the whitespace outside its
// strings, or ok false when data is not one valid JSON document — exactly
// what json.Compact accepts and writes (FuzzCompactJSON checks it). Data
// written by json.Marshal is compact already: for it, validating with
// fastjson (~4 times faster than encoding/json) and checking that there is
// nothing to remove is enough; anything else goes through json.Compact.
func compactJSON(data []byte) ([]byte, bool) {
	if len(data) == 0 {
		return nil, false
	}
	if isCompact(data) && fastjson.ValidateBytes(data) == nil {
		return bytes.Clone(data), true
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	if err := json.Compact(&buf, data); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// maxJSONDepth is encoding/json's limit on nesting, which fastjson does not
// have.
const maxJSONDepth = 10000

// isCompact tells whether data has no whitespace outside strings, no control
// character inside them, and nests at most maxJSONDepth deep. It answers for
// valid JSON only: fastjson tells whether data is, except for a control
// character before an escape sequence in a string, which it lets through
// (found by FuzzCompactJSON; its seed is in testdata).
func isCompact(data []byte) bool {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '{', '[':
			if depth++; depth > maxJSONDepth {
				return false
			}
		case '}', ']':
			depth--
		case '"':
			// Skip the string: it ends at the first quote not escaped.
			for i++; i < len(data) && data[i] != '"'; i++ {
				switch {
				case data[i] < 0x20:
					// Invalid; fastjson misses it before an escape.
					return false
				case data[i] == '\\':
					i++
				}
			}
		}
	}
	return true
}

// Seal builds the envelope of a prepared event appended after prev at the
// given revision, position and time, with its hash.
func Seal(prev Hash, stream string, rev uint64, pos Position, recordedAt time.Time, e EventData) Envelope {
	env := Envelope{
		EventID:       e.ID,
		Stream:        stream,
		Revision:      rev,
		Position:      pos,
		Type:          e.Type,
		SchemaVersion: e.SchemaVersion,
		OccurredOn:    e.OccurredOn,
		RecordedAt:    NormalizeTime(recordedAt),
		Actor:         e.Actor,
		CommandID:     e.CommandID,
		CorrelationID: e.CorrelationID,
		CausationID:   e.CausationID,
		Data:          e.Data,
		PrevHash:      prev,
		CommandDigest: e.CommandDigest,
	}
	env.Hash = ComputeHash(prev, &env)
	return env
}

// SameContent tells whether a stored envelope holds what e asks to append to
// stream: the test behind idempotent re-append.
func SameContent(stored *Envelope, stream string, e *EventData) bool {
	return stored.EventID == e.ID && stored.Stream == stream && stored.Type == e.Type &&
		stored.SchemaVersion == e.SchemaVersion && stored.OccurredOn == e.OccurredOn &&
		bytes.Equal(stored.Data, e.Data)
}

// VerifyReport summarises a successful Verify.
type VerifyReport struct {
	Events  uint64
	Streams int
	Head    Position
}

// Chains checks the hash chains of events given in log order (the whole
// log, or one stream): in each stream revisions start at 0 and follow each
// other, each PrevHash is the previous event's Hash, and each Hash is
// recomputed from the event. It is the one routine every check of the
// chain goes through (Verify, the audit trail, the notary's verification).
// Memory grows with the number of streams, not of events.
type Chains struct {
	tails  map[string]*chainTail
	events uint64
	head   Position
	// tail, when set, gives the hash of a stream's event already verified
	// before this checker started (see NewChainsAfter).
	tail func(stream string, rev uint64) (Hash, error)
}

type chainTail struct {
	next uint64
	hash Hash
}

// NewChains returns a checker that has seen no event.
func NewChains() *Chains { return &Chains{tails: make(map[string]*chainTail)} }

// NewChainsAfter returns a checker of the events that follow those already
// verified (a projection following the log checks what it applies, from
// where it stopped): a stream first met at revision r > 0 continues from
// the hash of its event r-1 as tail gives it.
func NewChainsAfter(tail func(stream string, rev uint64) (Hash, error)) *Chains {
	return &Chains{tails: make(map[string]*chainTail), tail: tail}
}

// StoredTail reads a stream's event from the store, for NewChainsAfter.
func StoredTail(ctx context.Context, s Store) func(string, uint64) (Hash, error) {
	return func(stream string, rev uint64) (Hash, error) {
		evs, err := s.ReadStream(ctx, stream, rev, 1)
		if err != nil {
			return Hash{}, err
		}
		if len(evs) == 0 || evs[0].Revision != rev {
			return Hash{}, &CorruptionError{Stream: stream, Revision: rev, Reason: "the event before the next one is missing from its stream"}
		}
		return evs[0].Hash, nil
	}
}

// Check checks the next event and returns its hash recomputed, or a
// *CorruptionError naming it.
func (c *Chains) Check(e *Envelope) (Hash, error) {
	l := LinkOf(e)
	return l.Computed, c.CheckLink(&l)
}

// CheckLink is Check of an event read as a Link (its hash recomputed
// already).
func (c *Chains) CheckLink(l *Link) error {
	t := c.tails[l.Stream]
	if t == nil {
		t = &chainTail{}
		if l.Revision > 0 && c.tail != nil {
			h, err := c.tail(l.Stream, l.Revision-1)
			if err != nil {
				return err
			}
			t.next, t.hash = l.Revision, h
		}
		c.tails[l.Stream] = t
	}
	fail := func(reason string) error {
		return &CorruptionError{Stream: l.Stream, Revision: l.Revision, Position: l.Position, EventID: l.EventID.String(), Reason: reason}
	}
	switch {
	case l.Revision != t.next:
		return fail(fmt.Sprintf("revision %d where %d was expected", l.Revision, t.next))
	case l.PrevHash != t.hash:
		return fail("prev_hash is not the hash of the previous event")
	case l.Computed != l.Hash:
		return fail(fmt.Sprintf("stored hash %s, recomputed %s", l.Hash, l.Computed))
	}
	t.next++
	t.hash = l.Hash
	c.events++
	c.head = l.Position
	return nil
}

// Report summarises what was checked.
func (c *Chains) Report() VerifyReport {
	return VerifyReport{Events: c.events, Streams: len(c.tails), Head: c.head}
}

// VerifyPage is how many events Verify and the other walks of the whole log
// read at a time.
const VerifyPage = 2048

// EachPage calls fn with every event of the global log, a page at a time,
// in position order: the one routine that pages through the whole log.
func EachPage(ctx context.Context, s Store, fn func([]Envelope) error) error {
	return EachPageAfter(ctx, s, 0, fn)
}

// DensePositions is a store whose positions are 1, 2, 3, … without a gap
// (the embedded store's: the one writer gives each event the next).
// EachPageAhead then reads two pages at once, each from where dense
// positions put it, and checks that they began and ended there.
type DensePositions interface{ DensePositions() bool }

// aheadPage is a page read ahead: the events (or links) after a position.
type aheadPage[T any] struct {
	batch []T
	after Position
	err   error
}

// pageReader reads up to limit items of the events after a position, in
// position order (ReadAll, ReadLinks); at gives an item's position.
type pageReader[T any] struct {
	read func(ctx context.Context, after Position, limit int) ([]T, error)
	at   func(*T) Position
}

// EachPageAhead is EachPage with the next pages read while fn works on the
// current one: for the walks of the whole log that do work per event (the
// checks of verify), which then take both cores. On a store of dense
// positions two readers take the pages in turn; a page not where dense
// positions put it (a gap: a row removed) sends the walk on from the last
// page delivered, one page at a time, as EachPage reads: fn sees the same
// events in the same order either way. The reading stops when fn fails,
// and EachPageAhead returns only once it has.
func EachPageAhead(ctx context.Context, s Store, fn func([]Envelope) error) error {
	return eachPageAhead(ctx, s, pageReader[Envelope]{s.ReadAll, func(e *Envelope) Position { return e.Position }}, fn)
}

// EachLinkAhead is EachPageAhead for the check of the hash chains: each
// event read as a Link (ReadLinks), its hash recomputed by the goroutine
// that read it when the store is a LinkReader.
func EachLinkAhead(ctx context.Context, s Store, fn func([]Link) error) error {
	read := func(ctx context.Context, after Position, limit int) ([]Link, error) {
		return ReadLinks(ctx, s, after, limit)
	}
	return eachPageAhead(ctx, s, pageReader[Link]{read, func(l *Link) Position { return l.Position }}, fn)
}

func eachPageAhead[T any](ctx context.Context, s Store, r pageReader[T], fn func([]T) error) error {
	var from Position
	if d, ok := s.(DensePositions); ok && d.DensePositions() {
		last, done, err := eachDense(ctx, r, fn)
		if done || err != nil {
			return err
		}
		from = last
	}
	return eachAhead(ctx, r, from, fn)
}

// eachDense reads pages 0, 2, 4, … and 1, 3, 5, … on two goroutines and
// hands them to fn in order; done is false when a page was not where dense
// positions put it (last: the last position fn was given).
func eachDense[T any](ctx context.Context, r pageReader[T], fn func([]T) error) (last Position, done bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	readers := [2]chan aheadPage[T]{make(chan aheadPage[T], 1), make(chan aheadPage[T], 1)}
	for k, out := range readers {
		go func() {
			defer close(out)
			for after := Position(k * VerifyPage); ; after += 2 * VerifyPage {
				batch, err := r.read(ctx, after, VerifyPage)
				select {
				case out <- aheadPage[T]{batch, after, err}:
				case <-ctx.Done():
					return
				}
				if err != nil || len(batch) < VerifyPage {
					return
				}
			}
		}()
	}
	defer func() {
		cancel()
		for _, r := range readers { // both readers are done before the store may be closed
			for range r {
			}
		}
	}()
	for k := 0; ; k++ {
		p, ok := <-readers[k%2]
		switch {
		case !ok:
			return last, false, nil
		case p.err != nil:
			return last, true, fmt.Errorf("read the log after %d: %w", p.after, p.err)
		case len(p.batch) > 0 && (r.at(&p.batch[0]) != p.after+1 || r.at(&p.batch[len(p.batch)-1]) != p.after+Position(len(p.batch))):
			return last, false, nil
		}
		if len(p.batch) > 0 {
			if err := fn(p.batch); err != nil {
				return last, true, err
			}
			last = r.at(&p.batch[len(p.batch)-1])
		}
		if len(p.batch) < VerifyPage {
			return last, true, nil
		}
	}
}

// eachAhead reads the pages after from one after the other on a goroutine,
// the next while fn works on the current.
func eachAhead[T any](ctx context.Context, r pageReader[T], from Position, fn func([]T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	pages := make(chan aheadPage[T], 1)
	go func() {
		defer close(pages)
		for after := from; ; {
			batch, err := r.read(ctx, after, VerifyPage)
			select {
			case pages <- aheadPage[T]{batch, after, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(batch) < VerifyPage {
				return
			}
			after = r.at(&batch[len(batch)-1])
		}
	}()
	defer func() {
		cancel()
		for range pages { // the reader is done before the store may be closed
		}
	}()
	for p := range pages {
		if p.err != nil {
			return fmt.Errorf("read the log after %d: %w", p.after, p.err)
		}
		if len(p.batch) > 0 {
			if err := fn(p.batch); err != nil {
				return err
			}
		}
	}
	return nil
}

// EachPageAfter is EachPage from the event after a position.
func EachPageAfter(ctx context.Context, s Store, after Position, fn func([]Envelope) error) error {
	for {
		batch, err := s.ReadAll(ctx, after, VerifyPage)
		if err != nil {
			return fmt.Errorf("read the log after %d: %w", after, err)
		}
		if len(batch) > 0 {
			if err := fn(batch); err != nil {
				return err
			}
			after = batch[len(batch)-1].Position
		}
		if len(batch) < VerifyPage {
			return nil
		}
	}
}

// StreamPage is how many events EachInStream reads at a time.
const StreamPage = 512

// EachInStream calls fn with every event of one stream, a page at a time,
// in revision order: the one routine that pages through a stream.
func EachInStream(ctx context.Context, s Store, stream string, fn func([]Envelope) error) error {
	var from uint64
	for {
		page, err := s.ReadStream(ctx, stream, from, StreamPage)
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
			from = page[len(page)-1].Revision + 1
		}
		if len(page) < StreamPage {
			return nil
		}
	}
}

// Verify walks the whole global log of s and checks every stream's hash
// chain (see Chains). It returns a *CorruptionError naming the first event
// that fails.
func Verify(ctx context.Context, s Store) (VerifyReport, error) {
	c := NewChains()
	err := EachLinkAhead(ctx, s, func(batch []Link) error {
		for i := range batch {
			if err := c.CheckLink(&batch[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var ce *CorruptionError
		if !errors.As(err, &ce) {
			err = fmt.Errorf("verify: %w", err)
		}
	}
	return c.Report(), err
}
