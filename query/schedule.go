package query

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
)

// ScheduleItem is something that falls due for a contract: a payment not
// decided yet, with the amount that would be decided, or a report awaited.
type ScheduleItem struct {
	ContractID   uuid.UUID     `json:"contract_id"`
	Scheme       string        `json:"scheme"`
	CPTSName     string        `json:"cpts_name"` // the CPTS's name, or the doctor's RPPS for the aid
	CPAM         string        `json:"cpam"`
	Kind         string        `json:"kind"`
	ContractYear int           `json:"contract_year"`
	Mission      string        `json:"mission,omitempty"`
	DueOn        domain.Date   `json:"due_on"`
	Amount       *domain.Money `json:"amount,omitempty"`
	Status       string        `json:"status,omitempty"`
	Overdue      bool          `json:"overdue"` // due before the as-of date and not yet decided or reported
}

// ScheduleFilter narrows the schedule; empty fields keep all.
type ScheduleFilter struct {
	CPAM string
}

// Schedule lists, for every contract, what falls due on or before
// w.AsOf + within days and has not happened as of w.AsOf: from the domain,
// by a dry run of DecideDuePayments over the window on each contract as
// the window sees it (facts and decisions dated on or before w.AsOf,
// recorded by w.KnownAt), nothing written. Items due before w.AsOf are
// overdue.
//
// The schedule of today as known now — the finance team's page, asked
// all day — folds the log once and then only its new events (logFold,
// kept by the Ledger); any other window folds the log anew.
func (l *Ledger) Schedule(ctx context.Context, w Window, within int, f ScheduleFilter) ([]ScheduleItem, error) {
	// Read from the log, not the read models: the guard is asked here,
	// as every query of the read models asks it (Fresh).
	if l.guard != nil {
		if err := l.guard(); err != nil {
			return nil, err
		}
	}
	if w.AsOf.IsZero() {
		w.AsOf = today()
	}
	if w.Knows() || w.AsOf != today() {
		fold := &logFold{w: w}
		if err := fold.catchUp(ctx, l); err != nil {
			return nil, err
		}
		return fold.forecast(w, within, f)
	}
	l.schedule.mu.Lock()
	defer l.schedule.mu.Unlock()
	if l.schedule.fold == nil || l.schedule.fold.w != w {
		l.schedule.fold = &logFold{w: w}
	}
	if err := l.schedule.fold.catchUp(ctx, l); err != nil {
		l.schedule.fold = nil // folded in part: start again next time
		return nil, err
	}
	return l.schedule.fold.forecast(w, within, f)
}

// scheduleCache is the fold of the log for today's schedule.
type scheduleCache struct {
	mu   sync.Mutex
	fold *logFold
}

// logFold is every contract's state and every scheme's reference facts as
// a window sees them, folded from the log up to after.
type logFold struct {
	w         Window
	after     eventstore.Position
	contracts map[string]*contractFold
	order     []string
	refs      map[string]domain.Reference // by scheme
	// refVersion counts the reference events folded: a contract's
	// forecast made before the last one is made again.
	refVersion int
}

// contractFold is one contract's state with the party its signature names,
// and its last forecast: kept while neither the contract, nor the
// reference facts, nor the date forecast to change (the schedule asked
// all day forecasts again only the contracts that moved).
type contractFold struct {
	scheme     domain.Scheme
	state      domain.State
	id         uuid.UUID
	name, cpam string

	dues       []domain.Due
	duesUntil  domain.Date
	duesRef    int
	duesStored bool
}

// catchUp folds the events appended since the fold last read the log.
func (f *logFold) catchUp(ctx context.Context, l *Ledger) error {
	if f.contracts == nil {
		f.contracts, f.refs = map[string]*contractFold{}, map[string]domain.Reference{}
		for _, s := range l.schemes {
			if rf, ok := s.(domain.ReferenceFacts); ok {
				f.refs[s.Name()] = rf.NewReference()
			}
		}
	}
	return eventstore.EachPageAfter(ctx, l.store, f.after, func(page []eventstore.Envelope) error {
		for i := range page {
			if err := f.add(l, &page[i]); err != nil {
				return err
			}
			f.after = page[i].Position
		}
		return nil
	})
}

// add folds one event, when the window sees it.
func (f *logFold) add(l *Ledger, env *eventstore.Envelope) error {
	if !sees(f.w, env) {
		return nil
	}
	for _, s := range l.schemes {
		if rf, ok := s.(domain.ReferenceFacts); ok && slices.Contains(rf.ReferenceStreams(), env.Stream) {
			e, err := rf.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return err
			}
			f.refVersion++
			return f.refs[s.Name()].Apply(env.EventID, e)
		}
	}
	name, id, ok := domain.ParseStream(env.Stream)
	scheme, known := l.scheme(name)
	if !ok || !known {
		return nil
	}
	c := f.contracts[env.Stream]
	if c == nil {
		c = &contractFold{scheme: scheme, state: scheme.NewState(id), id: id}
		f.contracts[env.Stream] = c
		f.order = append(f.order, env.Stream)
	}
	e, err := scheme.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
	if err != nil {
		return err
	}
	if err := c.state.Apply(e); err != nil {
		return err
	}
	c.duesStored = false
	if c.name == "" {
		c.name, c.cpam = partyOf(e)
	}
	return nil
}

// forecast is what falls due on every contract folded: a dry run of its
// decisions (Forecast never changes the state it is given).
func (f *logFold) forecast(w Window, within int, filter ScheduleFilter) ([]ScheduleItem, error) {
	until := w.AsOf.AddDays(within)
	out := []ScheduleItem{}
	for _, key := range f.order {
		c := f.contracts[key]
		if filter.CPAM != "" && c.cpam != filter.CPAM {
			continue
		}
		dues, err := f.duesOf(c, until)
		if err != nil {
			return nil, err
		}
		for _, d := range dues {
			out = append(out, ScheduleItem{ContractID: c.id, Scheme: c.scheme.Name(), CPTSName: c.name, CPAM: c.cpam, Kind: d.Kind,
				ContractYear: d.ContractYear, Mission: d.Mission, DueOn: d.DueOn, Amount: d.Amount, Status: d.Status, Overdue: d.DueOn.Before(w.AsOf)})
		}
	}
	slices.SortStableFunc(out, func(a, b ScheduleItem) int {
		return cmp.Or(a.DueOn.Compare(b.DueOn), strings.Compare(a.ContractID.String(), b.ContractID.String()), strings.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// duesOf is what falls due on a contract by until: its last forecast when
// still true, else a new one (kept).
func (f *logFold) duesOf(c *contractFold, until domain.Date) ([]domain.Due, error) {
	if c.duesStored && c.duesUntil == until && c.duesRef == f.refVersion {
		return c.dues, nil
	}
	var dues []domain.Due
	var err error
	if rf, ok := c.scheme.(domain.ReferenceFacts); ok {
		dues, err = rf.ForecastWith(c.state, until, f.refs[c.scheme.Name()])
	} else {
		dues, err = c.scheme.Forecast(c.state, until)
	}
	if err != nil {
		return nil, err
	}
	c.dues, c.duesUntil, c.duesRef, c.duesStored = dues, until, f.refVersion, true
	return dues, nil
}

// partyOf returns the name and CPAM a signature event names.
func partyOf(e domain.Event) (name, cpam string) {
	if p, ok := e.(domain.Signature); ok {
		return p.Party()
	}
	return "", ""
}
