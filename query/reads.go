package query

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/projections"
)

// Alert is a deadline's state as of a date (domain.md 2.9), with the
// contract's name, CPAM and ARS.
type Alert struct {
	cpts.Alert
	Name string `json:"name"`
	CPAM string `json:"cpam"`
	ARS  string `json:"ars"`
}

// AlertOpen, as a status filter, keeps the alerts still to work: overdue,
// due soon and pending.
const AlertOpen = "open"

// AlertStatuses are the values of an alerts status filter.
var AlertStatuses = []string{AlertOpen, cpts.AlertOverdue, cpts.AlertDueSoon, cpts.AlertPending, cpts.AlertMetLate, cpts.AlertMet}

// AlertFilter narrows the alerts; empty fields keep all.
type AlertFilter struct {
	Status, CPAM, ARS string
}

// keeps tells whether the filter keeps an alert.
func (f AlertFilter) keeps(a Alert) bool {
	status := f.Status == "" || f.Status == a.Status || (f.Status == AlertOpen && cpts.AlertOpen(a.Status))
	return status && (f.CPAM == "" || f.CPAM == a.CPAM) && (f.ARS == "" || cpts.SameARS(f.ARS, a.ARS))
}

// Alerts returns the deadline alerts of every contract live as of w.AsOf
// (today when zero), with a window of days for due_soon, by deadline: the
// facts and terminations the window sees.
func (l *Ledger) Alerts(ctx context.Context, w Window, within int, f AlertFilter) ([]Alert, error) {
	if w.AsOf.IsZero() {
		w.AsOf = today()
	}
	if f.Status != "" && !slices.Contains(AlertStatuses, f.Status) {
		return nil, domain.Violations{{Code: domain.CodeInvalidValue, Field: "status", Rule: "want one of " + strings.Join(AlertStatuses, ", ")}}.Err()
	}
	ars, err := ARSFilter(f.ARS)
	if err != nil {
		return nil, err
	}
	f.ARS = ars
	out := []Alert{}
	err = l.with(ctx, func(db *projections.DB) error {
		rows, err := db.AlertRows(ctx, w)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if !r.TerminatedOn.IsZero() && !r.TerminatedOn.After(w.AsOf) {
				continue // a contract terminated on or before the date has no alerts
			}
			a := Alert{Alert: cpts.Alert{ContractID: r.ContractID, Mission: r.Mission, Kind: r.Kind, Months: r.Months, Deadline: r.Deadline,
				Status: cpts.DeadlineStatus(r.Deadline, r.DoneOn, w.AsOf, within)}, Name: r.Name, CPAM: r.CPAM, ARS: r.ARS}
			if f.keeps(a) {
				out = append(out, a)
			}
		}
		return nil
	})
	return out, err
}

// ByUrgency orders alerts as they are to be worked: overdue, due soon,
// pending, met late, met (cpts.AlertUrgency), each by deadline.
func ByUrgency(alerts []Alert) {
	slices.SortStableFunc(alerts, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(cpts.AlertUrgency(a.Status), cpts.AlertUrgency(b.Status)), a.Deadline.Compare(b.Deadline))
	})
}

// Parties returns the CPAMs and ARSs the ledger knows, sorted: the values
// of the CPAM and ARS filters.
func (l *Ledger) Parties(ctx context.Context) (cpams, arss []string, err error) {
	err = l.with(ctx, func(db *projections.DB) error {
		cpams, arss, err = db.Parties(ctx)
		return err
	})
	return cpams, arss, err
}

// AuditEvent is one event of a contract's audit trail with its envelope;
// a correction names the event it corrects, and a corrected event the
// corrections of it.
type AuditEvent struct {
	Revision      uint64          `json:"revision"`
	Position      uint64          `json:"position"`
	EventID       uuid.UUID       `json:"event_id"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schema_version"`
	OccurredOn    string          `json:"occurred_on"`
	RecordedAt    string          `json:"recorded_at"`
	Actor         string          `json:"actor"`
	CommandID     string          `json:"command_id"`
	CorrelationID string          `json:"correlation_id"`
	CausationID   string          `json:"causation_id"`
	PrevHash      eventstore.Hash `json:"prev_hash"`
	Hash          eventstore.Hash `json:"hash"`
	Data          json.RawMessage `json:"data"`
	Corrects      *uuid.UUID      `json:"corrects,omitempty"`
	CorrectedBy   []uuid.UUID     `json:"corrected_by,omitempty"`
	// Stream is set on the events of another stream shown with the
	// contract's: those of the letter of intent it follows.
	Stream string `json:"stream,omitempty"`
	// Personal is the event's sealed personal fields, opened for the
	// reader (or what stands for them once erased): Data stays as stored,
	// the bytes its hash is of (docs/privacy.md).
	Personal *PersonalFields `json:"personal,omitempty"`
	// Opened is Data with the personal fields put back (or masked): what
	// the console's words read. Data itself when nothing is sealed.
	Opened json.RawMessage `json:"-"`
	// Decoded: the scheme's decoder read the data (its type and schema
	// version known): what may be said of it in words. Data is shown as
	// stored either way.
	Decoded bool `json:"-"`
}

// PersonalFields are an event's sealed fields as a reader sees them: the
// key they are sealed under, "open" (the fields in clear), "erased" or
// "key_missing" (the fields read [effacé] or [clé absente]).
type PersonalFields struct {
	KeyID  string                     `json:"key_id"`
	State  string                     `json:"state"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// AuditTrail is a contract's events in revision order and the result of
// checking the hash chain of its whole stream.
type AuditTrail struct {
	Scheme  string
	Events  []AuditEvent
	ChainOK bool
	// FirstBad names the first event whose chain does not verify (when
	// ChainOK is false), and Problem says why.
	FirstBad *AuditEvent
	Problem  string
}

// Audit returns a contract's audit trail: every event of its stream, read
// from the event store, within the window, and the result of checking the
// hash chain of the whole stream (eventstore.Chains). A contract that
// follows a letter of intent shows the letter's events first (their
// stream named), its chain checked too: the aid beside the contract.
func (l *Ledger) Audit(ctx context.Context, id uuid.UUID, w Window) (AuditTrail, error) {
	scheme, stream, err := l.streamOf(ctx, id)
	if err != nil {
		return AuditTrail{}, err
	}
	trail := AuditTrail{Scheme: scheme.Name(), Events: []AuditEvent{}, ChainOK: true}
	signed, err := auditStream(ctx, l.store, scheme, stream, w, &trail)
	if err == nil && !signed {
		// Not signed as of the window's date, or not recorded by its time:
		// as a ledger of then would answer, no such contract.
		return AuditTrail{}, ErrUnknownContract{ID: id}
	}
	if err != nil {
		return trail, err
	}
	letter, ok := followed(scheme, trail.Events[0])
	if !ok {
		return trail, nil
	}
	lt := AuditTrail{Events: []AuditEvent{}, ChainOK: true}
	letterStream := domain.Stream(scheme.Name(), letter)
	if _, err := auditStream(ctx, l.store, scheme, letterStream, w, &lt); err != nil {
		return trail, err
	}
	for i := range lt.Events {
		lt.Events[i].Stream = letterStream
	}
	trail.Events = append(lt.Events, trail.Events...)
	if !lt.ChainOK && trail.ChainOK {
		trail.ChainOK, trail.FirstBad, trail.Problem = false, lt.FirstBad, lt.Problem
	}
	return trail, nil
}

// auditStream adds to trail the events of a stream the window sees, and
// checks the hash chain of the whole stream; first tells whether the
// window sees its first event.
func auditStream(ctx context.Context, store eventstore.Store, scheme domain.Scheme, stream string, w Window, trail *AuditTrail) (first bool, err error) {
	chains := eventstore.NewChains()
	byID := map[uuid.UUID]int{}
	err = eventstore.EachInStream(ctx, store, stream, func(page []eventstore.Envelope) error {
		for i := range page {
			env := &page[i]
			if _, err := chains.Check(env); err != nil && trail.ChainOK {
				bad := auditEvent(scheme, env)
				trail.ChainOK, trail.FirstBad, trail.Problem = false, &bad, err.Error()
				if ce := (*eventstore.CorruptionError)(nil); errors.As(err, &ce) {
					trail.Problem = ce.Reason
				}
			}
			if !sees(w, env) {
				continue
			}
			first = first || env.Revision == 0
			ev := auditEvent(scheme, env)
			if ev.Corrects != nil {
				if j, ok := byID[*ev.Corrects]; ok {
					trail.Events[j].CorrectedBy = append(trail.Events[j].CorrectedBy, ev.EventID)
				}
			}
			byID[ev.EventID] = len(trail.Events)
			trail.Events = append(trail.Events, ev)
		}
		return nil
	})
	return first, err
}

// followed returns the aggregate a stream's first event says it follows
// (a CPTS contract's letter of intent), if it names one.
func followed(scheme domain.Scheme, first AuditEvent) (uuid.UUID, bool) {
	e, err := scheme.DecodeEvent(first.Type, first.SchemaVersion, first.Data)
	if err != nil {
		return uuid.Nil, false
	}
	f, ok := e.(interface{ Follows() (uuid.UUID, bool) })
	if !ok {
		return uuid.Nil, false
	}
	return f.Follows()
}

func auditEvent(scheme domain.Scheme, env *eventstore.Envelope) AuditEvent {
	ev := AuditEvent{Revision: env.Revision, Position: uint64(env.Position), EventID: env.EventID, Type: env.Type,
		SchemaVersion: env.SchemaVersion, OccurredOn: env.OccurredOn, RecordedAt: env.RecordedAt.Format(eventstore.RecordedAtFormat),
		Actor: env.Actor, CommandID: env.CommandID, CorrelationID: env.CorrelationID, CausationID: env.CausationID,
		PrevHash: env.PrevHash, Hash: env.Hash, Data: env.Data}
	ev.Opened = env.Data
	if o, ok := scheme.(domain.PersonalOpener); ok {
		if opened, p, err := o.OpenPersonal(env.Type, env.Data); err == nil && p != nil {
			ev.Opened, ev.Personal = opened, &PersonalFields{KeyID: p.KeyID, State: p.State, Fields: p.Fields}
		}
	}
	// The trail shows every event as stored, even one that no longer
	// decodes (a broken chain): only the link to what it corrects needs
	// its data, through the scheme's decoder.
	if e, err := scheme.DecodeEvent(env.Type, env.SchemaVersion, env.Data); err == nil {
		ev.Decoded = true
		if c, ok := e.(domain.CorrectionEvent); ok {
			id := c.CorrectedEvent()
			ev.Corrects = &id
		}
	}
	return ev
}

// Total is what was decided in a calendar year for one value of a
// dimension, in one scheme; the last row of a breakdown is the grand total
// (key "total", no calendar year).
type Total struct {
	Key          string       `json:"key"`
	Scheme       string       `json:"scheme"`
	CalendarYear *int         `json:"calendar_year"`
	Payments     int          `json:"payments"`
	Decided      domain.Money `json:"decided"`
}

// IsDimension tells whether totals can be grouped by name.
func IsDimension(name string) bool { return projections.IsDimension(name) }

// Totals returns the amounts decided within the window per calendar year
// of decision, grouped by year, scheme, cpam, ars or tier, each row for one
// scheme, then the grand total.
func (l *Ledger) Totals(ctx context.Context, by string, w Window) ([]Total, error) {
	out := []Total{}
	err := l.with(ctx, func(db *projections.DB) error {
		rows, err := db.TotalRows(ctx, by, w)
		if err != nil {
			return err
		}
		grand := Total{Key: "total", Scheme: "all"}
		for _, r := range rows {
			year := r.CalendarYear
			t := Total{Key: r.Key, Scheme: r.Scheme, CalendarYear: &year, Payments: r.Payments, Decided: domain.MoneyFromCents(r.DecidedCents)}
			out = append(out, t)
			grand.Payments += t.Payments
			grand.Decided = grand.Decided.Add(t.Decided)
		}
		out = append(out, grand)
		return nil
	})
	return out, err
}
