// Package query is the read side every front end shares (the CLI, the HTTP
// API, the console): it brings the read models up to date, runs the query,
// and returns plain Go values with the JSON shapes of the public interface.
// Front ends only parse and format; the JSON of an HTTP response is the
// CLI's --json output for the same query because both marshal these
// values.
//
// Every query takes a Window: as of a business date (facts and decisions
// dated on or before it) and as known at a time (only what the ledger had
// recorded by then), either or both.
package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/projections"
)

// Window restricts a query to what is dated on or before AsOf and was
// recorded by KnownAt; zero fields do not restrict.
type Window = projections.Window

// ErrUnknownContract is returned for a contract the ledger does not hold.
type ErrUnknownContract = projections.ErrUnknownContract

// Ledger answers queries over an event store and its read models.
type Ledger struct {
	store   eventstore.Store
	models  *projections.Set
	schemes []domain.Scheme
	guard   func() error
	// schedule is today's schedule's fold of the log (schedule.go).
	schedule *scheduleCache
}

// Guarded makes every query first ask guard, and refuse with its error:
// serve refuses to answer from a log that its last check found broken
// (chainstatus.Guard).
func (l *Ledger) Guarded(guard func() error) *Ledger {
	l.guard = guard
	return l
}

// New returns the read side over store and models; schemes are the
// ledger's payment schemes (the same value the command path is given).
func New(store eventstore.Store, models *projections.Set, schemes []domain.Scheme) *Ledger {
	return &Ledger{store: store, models: models, schemes: schemes, schedule: &scheduleCache{}}
}

// Store returns the event store.
func (l *Ledger) Store() eventstore.Store { return l.store }

// Fresh acquires the read models and brings them up to the store's head;
// release must be called when done. Front ends that need the read models
// themselves (the console's charts) use it; the queries below call it.
func (l *Ledger) Fresh(ctx context.Context) (*projections.DB, func(), error) {
	if l.guard != nil {
		if err := l.guard(); err != nil {
			return nil, nil, err
		}
	}
	db, release, err := l.models.Acquire(ctx, l.store, projections.BuildOptions{})
	if err != nil {
		return nil, nil, err
	}
	if _, err := projections.NewRunner(l.store, db, projections.Options{}).CatchUp(ctx); err != nil {
		release()
		return nil, nil, err
	}
	return db, release, nil
}

// with runs fn on fresh read models.
func (l *Ledger) with(ctx context.Context, fn func(*projections.DB) error) error {
	db, release, err := l.Fresh(ctx)
	if err != nil {
		return err
	}
	defer release()
	return fn(db)
}

// MaxWithinDays bounds a query's window ahead of its date (alerts, the
// schedule): ten years.
const MaxWithinDays = 3660

// Calendar is the span of dates the ledger's schemes judge: what a query's
// as-of date must fall in.
func (l *Ledger) Calendar() domain.Calendar { return domain.CalendarOf(l.schemes) }

// CheckWindow refuses an as-of date outside the calendar.
func (l *Ledger) CheckWindow(w Window) error {
	if !w.AsOf.IsZero() && !l.Calendar().Contains(w.AsOf) {
		return fmt.Errorf("%s is outside the dates the rulebooks cover (%s)", w.AsOf, l.Calendar())
	}
	return nil
}

// scheme returns the scheme named name.
func (l *Ledger) scheme(name string) (domain.Scheme, bool) {
	for _, s := range l.schemes {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// streamOf returns the scheme and stream of a contract, from the event
// store, or ErrUnknownContract.
func (l *Ledger) streamOf(ctx context.Context, id uuid.UUID) (domain.Scheme, string, error) {
	for _, s := range l.schemes {
		stream := domain.Stream(s.Name(), id)
		evs, err := l.store.ReadStream(ctx, stream, 0, 1)
		if err != nil {
			return nil, "", err
		}
		if len(evs) > 0 {
			return s, stream, nil
		}
	}
	return nil, "", ErrUnknownContract{ID: id}
}

// sees tells whether an event is within the window.
func sees(w Window, e *eventstore.Envelope) bool { return w.Sees(e.OccurredOn, e.RecordedAt) }

// ParseKnownAt reads a known-at bound: a date (the end of that day, UTC) or
// an RFC 3339 time, seconds optional; the CLI, the API and the console take
// the same forms.
func ParseKnownAt(s string) (time.Time, error) { return projections.ParseKnownAt(s) }

// IsUnknown tells whether err is a contract the ledger does not hold.
func IsUnknown(err error) bool {
	var u ErrUnknownContract
	return errors.As(err, &u)
}

// today is the default as-of date.
func today() domain.Date { return domain.DateOf(time.Now()) }

// EncodeJSON writes v as every front end prints a query's result: indented
// by two spaces, HTML characters as they are, one value per line. The CLI's
// --json output and the HTTP API's bodies both go through it, so that they
// are the same bytes.
func EncodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
