package projections

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/sqlitec"
)

// Projection is one read model: it owns its tables (Schema), their
// secondary indexes, and a version that changes whenever they or what is
// written in them change; a read-model file made with another version is
// rebuilt. Adding a read model is one file: a type implementing
// Projection, listed in All.
//
// A projection writes through a Fold: the runner adds events to it in log
// order, then asks it to flush, inside the transaction that also stores the
// checkpoint. The incremental runner flushes every page of events; a
// rebuild flushes rarely, so that a contract's rows are written once, in
// their final form. A fold's writes are upserts, correct whatever was
// flushed before.
type Projection interface {
	Name() string
	Version() int
	Schema() string
	Indexes() []Index
	// Reads names the event types the projection's fold reads: only
	// those are decoded (decoding is most of the cost of a rebuild).
	Reads() []string
	NewFold() Fold
}

// Fold accumulates the rows a projection writes.
type Fold interface {
	// Add folds one event (events come in log order).
	Add(ev *Event) error
	// Held is how many contracts (or rows) the fold holds: the builder
	// flushes past a bound, to keep memory bounded.
	Held() int
	// Flush writes what the fold holds and forgets it.
	Flush(ctx context.Context, w *Writer) error
}

// Index is a secondary index of a projection's table. A rebuild creates
// the indexes once the tables are full (sorting once beats inserting into a
// b-tree at random); a new file has them from the start, for the
// incremental runner.
type Index struct {
	Name, On string
	Unique   bool
	// Early: created before a rebuild's load too, because a statement of
	// the load looks it up (without it, each such statement scans the
	// table: quadratic in the rows loaded).
	Early bool
}

// All returns the ledger's projections.
func All() []Projection {
	return []Projection{contractsProjection{}, aidContractsProjection{}, paymentsProjection{}, deadlinesProjection{},
		terminationsProjection{}, reportsProjection{}, lettersProjection{}, executionsProjection{}}
}

// Event is a stored event with the contract its stream belongs to and its
// data as its scheme decodes it.
type Event struct {
	eventstore.Envelope
	Contract uuid.UUID
	Scheme   string // "" for streams of no known scheme, which the projections skip
	// Payload is the event decoded by its scheme's decoder (domain: the
	// schema version checked, upcasters in one place) — a payment as a
	// domain.PaymentRecord, its breakdown kept as JSON — or nil when
	// Scheme is "". Projections share it: they must not change it.
	Payload domain.Event
}

// schemeDecoders are the event decoders of the schemes the read models
// show: the only way the projections read an event's data.
var schemeDecoders = map[string]func(keys domain.Keyring, typ string, schemaVersion int, data []byte) (domain.Event, error){
	cpts.Scheme: func(_ domain.Keyring, typ string, v int, data []byte) (domain.Event, error) {
		return cpts.DecodeEvent(typ, v, data)
	},
	assistant.Scheme: assistant.DecodeWith,
}

// projected are the event types some projection reads (Reads).
var projected = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range All() {
		for _, t := range p.Reads() {
			m[t] = true
		}
	}
	return m
}()

// toEvents wraps envelopes for the projections and decodes each event of a
// scheme that a projection reads, on the goroutine that reads the log, so
// that decoding runs on one core while the other writes. An event that
// does not decode is an error naming it: a read model never skips what it
// cannot read.
func toEvents(envs []eventstore.Envelope, keys domain.Keyring) ([]Event, error) {
	events := make([]Event, len(envs))
	decode := func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			ev, err := toEvent(envs[i], keys)
			if err != nil {
				return err
			}
			events[i] = ev
		}
		return nil
	}
	if len(envs) < 1024 {
		return events, decode(0, len(envs))
	}
	// A page of the log decoded in two halves at once: decoding is most of
	// a rebuild's reading, and the writer leaves a core idle part of the
	// time.
	mid := len(envs) / 2
	var first error
	var wg sync.WaitGroup
	wg.Go(func() { first = decode(0, mid) })
	second := decode(mid, len(envs))
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return events, second
}

// toEvent wraps one envelope, its data decoded when a projection reads
// its type.
func toEvent(env eventstore.Envelope, keys domain.Keyring) (Event, error) {
	ev := Event{Envelope: env}
	scheme, id, ok := domain.ParseStream(env.Stream)
	decode, known := schemeDecoders[scheme]
	if !ok || !known {
		return ev, nil
	}
	ev.Contract, ev.Scheme = id, scheme
	if !projected[env.Type] {
		return ev, nil
	}
	var err error
	if env.Type == domain.TypePaymentDecided {
		ev.Payload, err = domain.DecodePaymentRecord(env.SchemaVersion, env.Data)
	} else {
		ev.Payload, err = decode(keys, env.Type, env.SchemaVersion, env.Data)
	}
	if err != nil {
		return ev, fmt.Errorf("projections: %s at position %d: %w", env.Type, env.Position, err)
	}
	return ev, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// recordedAt is the form recorded times take in the read models: the hash's
// (RFC 3339, UTC, microseconds), which sorts as text.
func recordedAt(ev *Event) string { return ev.RecordedAt.UTC().Format(eventstore.RecordedAtFormat) }

// Writer executes a fold's statements, each prepared once per flush: in
// the incremental runner's database/sql transaction, or, in a rebuild, on
// the builder's own connection through SQLite's C API (sqlitec), where a
// statement costs a third of what it costs through database/sql.
type Writer struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt

	c      *sqlitec.Conn
	cstmts map[string]uintptr
}

func newWriter(tx *sql.Tx) *Writer { return &Writer{tx: tx, stmts: map[string]*sql.Stmt{}} }

func newConnWriter(c *sqlitec.Conn) *Writer { return &Writer{c: c, cstmts: map[string]uintptr{}} }

// Exec runs query with args: integers, booleans, strings, byte slices and
// nil.
func (w *Writer) Exec(ctx context.Context, query string, args ...any) error {
	if w.c != nil {
		return w.execConn(query, args)
	}
	st, ok := w.stmts[query]
	if !ok {
		var err error
		if st, err = w.tx.PrepareContext(ctx, query); err != nil {
			return err
		}
		w.stmts[query] = st
	}
	_, err := st.ExecContext(ctx, args...)
	return err
}

func (w *Writer) execConn(query string, args []any) error {
	st, ok := w.cstmts[query]
	if !ok {
		var err error
		if st, err = w.c.Prepare(query); err != nil {
			return err
		}
		w.cstmts[query] = st
	}
	size := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			size += len(v)
		case []byte:
			size += len(v)
		}
	}
	if err := w.c.StartBind(size); err != nil {
		return err
	}
	for i, a := range args {
		n := int32(i + 1)
		var rc int32
		switch v := a.(type) {
		case nil:
			rc = w.c.BindNull(st, n)
		case string:
			rc = w.c.BindText(st, n, v)
		case []byte:
			rc = w.c.BindBlob(st, n, v)
		case int:
			rc = w.c.BindInt64(st, n, int64(v))
		case int64:
			rc = w.c.BindInt64(st, n, v)
		case bool:
			rc = w.c.BindInt64(st, n, map[bool]int64{false: 0, true: 1}[v])
		default:
			return fmt.Errorf("projections: cannot bind a %T", a)
		}
		if rc != 0 {
			return w.c.Errorf(rc, "bind parameter %d", n)
		}
	}
	return w.c.Run(st, query)
}

// close finalizes what the writer prepared.
func (w *Writer) close() {
	for _, st := range w.stmts {
		st.Close()
	}
	w.stmts = map[string]*sql.Stmt{}
	for _, st := range w.cstmts {
		w.c.Finalize(st)
	}
	w.cstmts = map[string]uintptr{}
}

// byContract keeps a fold's per-contract state in the order contracts were
// first seen, so that flushes write in a stable order.
type byContract[T any] struct {
	m     map[uuid.UUID]*T
	order []uuid.UUID
}

func (b *byContract[T]) get(id uuid.UUID) *T {
	if b.m == nil {
		b.m = map[uuid.UUID]*T{}
	}
	v, ok := b.m[id]
	if !ok {
		v = new(T)
		b.m[id] = v
		b.order = append(b.order, id)
	}
	return v
}

func (b *byContract[T]) each(fn func(uuid.UUID, *T) error) error {
	for _, id := range b.order {
		if err := fn(id, b.m[id]); err != nil {
			return err
		}
	}
	b.m, b.order = nil, nil
	return nil
}

func (b *byContract[T]) len() int { return len(b.order) }
