package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/sqlitec"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/uuid"
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
}

// All returns the ledger's projections.
func All() []Projection {
	return []Projection{contractsProjection{}, aidContractsProjection{}, paymentsProjection{}, deadlinesProjection{},
		terminationsProjection{}, reportsProjection{}}
}

// Event is a stored event with the contract its stream belongs to. Each
// projection decodes only the event types it needs, into the fields it
// needs: decoding is most of the cost of a rebuild.
type Event struct {
	eventstore.Envelope
	Contract uuid.UUID
	Scheme   string // "" for streams of no known scheme, which the projections skip
	decoded  any    // the data decoded ahead (see toEvents), or nil
}

// toEvents wraps envelopes for the projections and decodes the data of the
// most frequent types ahead: on the goroutine that reads the log, so that
// decoding runs on one core while the other writes.
func toEvents(envs []eventstore.Envelope) []Event {
	events := make([]Event, 0, len(envs))
	for _, env := range envs {
		ev := Event{Envelope: env}
		if scheme, id, ok := domain.ParseStream(env.Stream); ok && (scheme == cpts.Scheme || scheme == assistant.Scheme) {
			ev.Contract, ev.Scheme = id, scheme
		}
		switch {
		case ev.Scheme != "" && ev.Type == domain.TypePaymentDecided:
			ev.decoded = decodeAhead[paymentData](ev)
		case ev.Scheme == cpts.Scheme && ev.Type == cpts.TypeContractSigned:
			ev.decoded = decodeAhead[cpts.ContractSigned](ev)
		}
		events = append(events, ev)
	}
	return events
}

// decodeAhead returns the event's data as a *T, or nil if it does not
// decode: the projection then decodes it again and reports the error.
func decodeAhead[T any](ev Event) any {
	var v T
	if decode(ev, &v) != nil {
		return nil
	}
	return &v
}

// dataOf returns the event's data as a *T, decoded ahead or now.
// Projections share the value: they must not change it.
func dataOf[T any](ev *Event) (*T, error) {
	if v, ok := ev.decoded.(*T); ok {
		return v, nil
	}
	var v T
	if err := decode(*ev, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// decode reads an event's data into v, naming the event on failure. It
// uses encoding/json/v2's decoder (go-json-experiment), three times faster
// than encoding/json's on a payment and a third of the allocations: decoding
// is most of a rebuild's reading.
func decode(ev Event, v any) error {
	if err := jsonv2.Unmarshal(ev.Data, v); err != nil {
		return fmt.Errorf("%s at position %d: %w", ev.Type, ev.Position, err)
	}
	return nil
}

// centsOf reads an amount written with exactly two decimals ("-1250.50") as
// integer cents, without going through a binary fraction.
func centsOf(amount string) (int64, error) {
	i := strings.IndexByte(amount, '.')
	if i < 0 || len(amount)-i != 3 {
		return 0, fmt.Errorf("amount %q does not have two decimals", amount)
	}
	return strconv.ParseInt(amount[:i]+amount[i+1:], 10, 64)
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
