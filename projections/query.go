package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// The query results are plain values with the JSON shapes of the public
// interface (design section 6); the CLI and the HTTP API only format them.

// Payment is one decision with its breakdown.
type Payment struct {
	PaymentID    uuid.UUID    `json:"payment_id"`
	ContractID   uuid.UUID    `json:"-"`
	Kind         string       `json:"kind"`
	ContractYear int          `json:"contract_year"`
	Mission      *string      `json:"mission,omitempty"`
	DueOn        domain.Date  `json:"due_on"`
	DecidedOn    domain.Date  `json:"decided_on"`
	Status       string       `json:"status"`
	Amount       domain.Money `json:"amount"`
	Rulebook     string       `json:"rulebook"`
	Table        string       `json:"table,omitempty"`
	Rule         string       `json:"rule"`
	Lines        []Line       `json:"lines"`
	Scheme       string       `json:"scheme"`
	Reason       string       `json:"reason,omitempty"`
	Position     uint64       `json:"position"`
	RecordedAt   string       `json:"recorded_at"`
}

// Line is one breakdown line.
type Line struct {
	Mission   *string      `json:"mission"`
	Component string       `json:"component"`
	Amount    domain.Money `json:"amount"`
	Basis     string       `json:"basis,omitempty"`
}

// Contract is a contract's terms as the read model holds them.
type Contract struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	Scheme        string      `json:"scheme"`
	CPTSID        string      `json:"cpts_id"`
	CPTSName      string      `json:"cpts_name"`
	ARS           string      `json:"ars"`
	CPAM          string      `json:"cpam"`
	Population    int         `json:"population"`
	Tier          string      `json:"tier"`
	Rulebook      string      `json:"rulebook"`
	SignedOn      domain.Date `json:"signed_on"`
	SNPRegulation bool        `json:"snp_regulation"`
	Missions      []string    `json:"missions"`
	TerminatedOn  domain.Date `json:"terminated_on"`
}

// AsOf restricts a query to what was decided on or before a business date,
// and to what the ledger had recorded at a time. Zero fields do not
// restrict.
type AsOf struct {
	BusinessDate domain.Date
	KnownAt      time.Time
}

func (a AsOf) keeps(p Payment) bool {
	if !a.BusinessDate.IsZero() && p.DecidedOn.After(a.BusinessDate) {
		return false
	}
	if !a.KnownAt.IsZero() {
		t, err := time.Parse(eventstore.RecordedAtFormat, p.RecordedAt)
		if err != nil || t.After(a.KnownAt) {
			return false
		}
	}
	return true
}

// Balance is what was decided for a contract, by contract year.
type Balance struct {
	ContractID   uuid.UUID    `json:"contract_id"`
	Scheme       string       `json:"scheme"`
	Tier         string       `json:"tier"` // empty for the assistant scheme
	Rulebook     string       `json:"rulebook"`
	DecidedTotal domain.Money `json:"decided_total"`
	ByYear       []YearAmount `json:"by_year"`
	AsOf         *domain.Date `json:"as_of,omitempty"`
	KnownAt      *time.Time   `json:"known_at,omitempty"`
}

// YearAmount is a contract year's decided total.
type YearAmount struct {
	ContractYear int          `json:"contract_year"`
	Decided      domain.Money `json:"decided"`
}

// ErrUnknownContract is returned for a contract the read models do not hold.
type ErrUnknownContract struct{ ID uuid.UUID }

func (e ErrUnknownContract) Error() string { return fmt.Sprintf("no contract %s in the ledger", e.ID) }

// Contract returns a contract's terms.
func (db *DB) Contract(ctx context.Context, id uuid.UUID) (Contract, error) {
	cs, err := db.contracts(ctx, `WHERE contract_id = ?`, id.String())
	if err != nil {
		return Contract{}, err
	}
	if len(cs) == 0 {
		return Contract{}, ErrUnknownContract{id}
	}
	return cs[0], nil
}

// Summary is what every contract has, whatever its scheme.
type Summary struct {
	ContractID uuid.UUID
	Scheme     string
	Rulebook   string
	Tier       string // CPTS only
	CPAM       string
	Name       string // the CPTS's name, or the doctor's RPPS number
	SignedOn   domain.Date
}

// Summary returns a contract of any scheme.
func (db *DB) Summary(ctx context.Context, id uuid.UUID) (Summary, error) {
	var s Summary
	var signed string
	err := db.r.QueryRowContext(ctx, `SELECT scheme, rulebook, tier, cpam, cpts_name, signed_on FROM contracts WHERE contract_id = ?
		UNION ALL SELECT 'assistant', rulebook, '', cpam, 'RPPS ' || rpps, signed_on FROM aid_contracts WHERE contract_id = ?`,
		id.String(), id.String()).Scan(&s.Scheme, &s.Rulebook, &s.Tier, &s.CPAM, &s.Name, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrUnknownContract{id}
	}
	if err != nil {
		return s, err
	}
	var rd stored
	s.ContractID, s.SignedOn = id, rd.date(signed)
	return s, rd.check("contract " + id.String())
}

// Summaries returns every contract of every scheme, in signature order.
func (db *DB) Summaries(ctx context.Context) ([]Summary, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT contract_id, scheme, rulebook, tier, cpam, cpts_name, signed_on FROM contracts
		UNION ALL SELECT contract_id, 'assistant', rulebook, '', cpam, 'RPPS ' || rpps, signed_on FROM aid_contracts
		ORDER BY 7, 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var s Summary
		var id, signed string
		if err := rows.Scan(&id, &s.Scheme, &s.Rulebook, &s.Tier, &s.CPAM, &s.Name, &signed); err != nil {
			return nil, err
		}
		var rd stored
		s.ContractID, s.SignedOn = rd.id(id), rd.date(signed)
		if err := rd.check("contract " + id); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Contracts returns every contract, in signature order.
func (db *DB) Contracts(ctx context.Context) ([]Contract, error) {
	return db.contracts(ctx, `ORDER BY signed_on, contract_id`)
}

func (db *DB) contracts(ctx context.Context, where string, args ...any) ([]Contract, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT contract_id, scheme, cpts_id, cpts_name, ars, cpam, population, tier, rulebook,
		signed_on, snp_regulation, missions, COALESCE(terminated_on, '') FROM contracts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Contract
	for rows.Next() {
		var c Contract
		var id, signed, missions, terminated string
		if err := rows.Scan(&id, &c.Scheme, &c.CPTSID, &c.CPTSName, &c.ARS, &c.CPAM, &c.Population, &c.Tier, &c.Rulebook,
			&signed, &c.SNPRegulation, &missions, &terminated); err != nil {
			return nil, err
		}
		var rd stored
		c.ContractID = rd.id(id)
		c.SignedOn = rd.date(signed)
		c.Missions = strings.Split(missions, ",")
		c.TerminatedOn = rd.optDate(terminated)
		if err := rd.check("contract " + id); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Payments returns a contract's decisions in the order they were made.
func (db *DB) Payments(ctx context.Context, id uuid.UUID, asOf AsOf) ([]Payment, error) {
	if _, err := db.Summary(ctx, id); err != nil {
		return nil, err
	}
	var out []Payment
	err := db.payments(ctx, `WHERE p.contract_id = ?`, []any{id.String()}, func(p Payment) error {
		if asOf.keeps(p) {
			out = append(out, p)
		}
		return nil
	})
	if out == nil {
		out = []Payment{}
	}
	return out, err
}

// EachPayment calls fn with every decision of every contract, by contract
// then decision order.
func (db *DB) EachPayment(ctx context.Context, fn func(Payment) error) error {
	return db.payments(ctx, ``, nil, fn)
}

func (db *DB) payments(ctx context.Context, where string, args []any, fn func(Payment) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT p.payment_id, p.contract_id, p.kind, p.contract_year, COALESCE(p.mission, ''),
		p.due_on, p.decided_on, p.status, p.amount, p.rulebook, COALESCE(p.aid_table, ''), p.rule, COALESCE(p.reason, ''),
		p.position, p.recorded_at, p.lines, p.scheme
		FROM payments p `+where+` ORDER BY p.contract_id, p.position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pid, cid, kind, mission, due, decided, status, amount, rulebook, table, rule, reason, recorded, scheme string
			year                                                                                                   int
			pos                                                                                                    int64
			lines                                                                                                  []byte
		)
		if err := rows.Scan(&pid, &cid, &kind, &year, &mission, &due, &decided, &status, &amount, &rulebook, &table, &rule, &reason,
			&pos, &recorded, &lines, &scheme); err != nil {
			return err
		}
		amt, err := domain.ParseMoney(amount)
		if err != nil {
			return err
		}
		var decoded []cpts.Line
		if err := json.Unmarshal(lines, &decoded); err != nil {
			return fmt.Errorf("projections: payment %s lines: %w", pid, err)
		}
		var rd stored
		p := Payment{PaymentID: rd.id(pid), ContractID: rd.id(cid), Kind: kind, ContractYear: year,
			Mission: optional(mission), DueOn: rd.date(due), DecidedOn: rd.date(decided), Status: status,
			Amount: amt, Rulebook: rulebook, Table: table, Rule: rule, Reason: reason, Position: uint64(pos), RecordedAt: recorded,
			Lines: make([]Line, len(decoded)), Scheme: scheme}
		for i, l := range decoded {
			p.Lines[i] = Line{Mission: optional(l.Mission), Component: l.Component, Amount: l.Amount, Basis: l.Basis}
		}
		if err := rd.check("payment " + pid); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Balance returns what was decided for a contract by contract year, as of a
// business date or a recorded time when given.
func (db *DB) Balance(ctx context.Context, id uuid.UUID, asOf AsOf) (Balance, error) {
	c, err := db.Summary(ctx, id)
	if err != nil {
		return Balance{}, err
	}
	b := Balance{ContractID: id, Scheme: c.Scheme, Tier: c.Tier, Rulebook: c.Rulebook, ByYear: []YearAmount{}}
	if !asOf.BusinessDate.IsZero() {
		b.AsOf = &asOf.BusinessDate
	}
	if !asOf.KnownAt.IsZero() {
		b.KnownAt = &asOf.KnownAt
	}
	byYear := map[int]domain.Money{}
	if asOf == (AsOf{}) {
		// The balances table is kept per contract and year.
		rows, err := db.r.QueryContext(ctx, `SELECT contract_year, decided_cents FROM balances WHERE contract_id = ?`, id.String())
		if err != nil {
			return b, err
		}
		defer rows.Close()
		for rows.Next() {
			var y int
			var c int64
			if err := rows.Scan(&y, &c); err != nil {
				return b, err
			}
			byYear[y] = domain.MoneyFromCents(c)
		}
		if err := rows.Err(); err != nil {
			return b, err
		}
	} else {
		ps, err := db.Payments(ctx, id, asOf)
		if err != nil {
			return b, err
		}
		for _, p := range ps {
			byYear[p.ContractYear] = byYear[p.ContractYear].Add(p.Amount)
		}
	}
	for y := 1; y <= 5; y++ {
		if m, ok := byYear[y]; ok {
			b.ByYear = append(b.ByYear, YearAmount{y, m})
			b.DecidedTotal = b.DecidedTotal.Add(m)
		}
	}
	return b, nil
}

// Alerts returns the deadline alerts of every live contract as of a date,
// with a window of days for due_soon (domain.md 2.9), by deadline.
func (db *DB) Alerts(ctx context.Context, asOf domain.Date, window int) ([]cpts.Alert, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT d.contract_id, d.mission, d.kind, d.months, d.deadline, COALESCE(d.done_on, '')
		FROM deadlines d JOIN contracts c USING (contract_id)
		WHERE c.signed_on <= ? AND (c.terminated_on IS NULL OR c.terminated_on > ?)
		ORDER BY d.deadline, d.contract_id, d.mission, d.kind`, asOf.String(), asOf.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []cpts.Alert{}
	for rows.Next() {
		var id, mission, kind, deadline, done string
		var months int
		if err := rows.Scan(&id, &mission, &kind, &months, &deadline, &done); err != nil {
			return nil, err
		}
		var rd stored
		dl, doneOn, cid := rd.date(deadline), rd.optDate(done), rd.id(id)
		if err := rd.check("deadline of contract " + id); err != nil {
			return nil, err
		}
		out = append(out, cpts.Alert{ContractID: cid, Mission: mission, Kind: kind, Months: months,
			Deadline: dl, Status: cpts.DeadlineStatus(dl, doneOn, asOf, window)})
	}
	return out, rows.Err()
}

// AuditEvent is one event of a contract's audit trail with its envelope.
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
}

// AuditTrail is a contract's events in revision order and the result of
// checking their hash chain.
type AuditTrail struct {
	Events  []AuditEvent
	ChainOK bool
	// FirstBad names the first event whose chain does not verify (when
	// ChainOK is false), and Problem says why.
	FirstBad *AuditEvent
	Problem  string
}

// Audit returns a contract's audit trail: every event of its stream, read
// from the event store, with a business date on or before asOf (all when
// zero), and the result of checking the hash chain of the whole stream.
func Audit(ctx context.Context, store eventstore.Store, id uuid.UUID, asOf domain.Date) (AuditTrail, error) {
	for _, scheme := range []string{cpts.Scheme, assistant.Scheme} {
		trail, err := auditStream(ctx, store, domain.Stream(scheme, id), asOf)
		if !errors.As(err, new(ErrUnknownContract)) {
			return trail, err
		}
	}
	return AuditTrail{}, ErrUnknownContract{id}
}

func auditStream(ctx context.Context, store eventstore.Store, stream string, asOf domain.Date) (AuditTrail, error) {
	var envs []eventstore.Envelope
	err := eventstore.EachInStream(ctx, store, stream, func(page []eventstore.Envelope) error {
		envs = append(envs, page...)
		return nil
	})
	if err != nil {
		return AuditTrail{}, err
	}
	if len(envs) == 0 {
		_, id, _ := domain.ParseStream(stream)
		return AuditTrail{}, ErrUnknownContract{id}
	}
	trail := CheckChain(envs)
	for _, env := range envs {
		if asOf.IsZero() || env.OccurredOn <= asOf.String() {
			trail.Events = append(trail.Events, auditEvent(env))
		}
	}
	return trail, nil
}

// CheckChain checks one stream's hash chain with eventstore.Chains:
// revisions from 0 without gap, each prev_hash the previous hash, each hash
// recomputed from its event.
func CheckChain(envs []eventstore.Envelope) AuditTrail {
	trail := AuditTrail{Events: []AuditEvent{}, ChainOK: true}
	chains := eventstore.NewChains()
	for i := range envs {
		if _, err := chains.Check(&envs[i]); err != nil {
			var ce *eventstore.CorruptionError
			errors.As(err, &ce)
			bad := auditEvent(envs[i])
			trail.ChainOK, trail.FirstBad, trail.Problem = false, &bad, ce.Reason
			return trail
		}
	}
	return trail
}

func auditEvent(env eventstore.Envelope) AuditEvent {
	return AuditEvent{Revision: env.Revision, Position: uint64(env.Position), EventID: env.EventID, Type: env.Type,
		SchemaVersion: env.SchemaVersion, OccurredOn: env.OccurredOn, RecordedAt: env.RecordedAt.Format(eventstore.RecordedAtFormat),
		Actor: env.Actor, CommandID: env.CommandID, CorrelationID: env.CorrelationID, CausationID: env.CausationID,
		PrevHash: env.PrevHash, Hash: env.Hash, Data: env.Data}
}

// ScheduleItem is something that falls due for a contract.
type ScheduleItem struct {
	ContractID   uuid.UUID   `json:"contract_id"`
	CPTSName     string      `json:"cpts_name"`
	Kind         string      `json:"kind"` // annual_advance, report_awaited, annual_balance, amorcage_topup
	ContractYear int         `json:"contract_year"`
	DueOn        domain.Date `json:"due_on"`
	Overdue      bool        `json:"overdue"` // due before the as-of date and not yet decided or reported
}

// Schedule lists, for every live contract, what falls due on or before
// asOf + horizon days and has not happened yet: anniversary advances not
// decided, indicator reports awaited, balances awaiting decision, amendment
// top-ups. Items due before asOf are marked overdue.
func (db *DB) Schedule(ctx context.Context, asOf domain.Date, horizon int) ([]ScheduleItem, error) {
	contracts, err := db.Contracts(ctx)
	if err != nil {
		return nil, err
	}
	decided := map[string]bool{}
	rows, err := db.r.QueryContext(ctx, `SELECT contract_id, kind, contract_year FROM payments WHERE kind IN ('annual_advance', 'annual_balance', 'amorcage_topup')`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, kind string
		var y int
		if err := rows.Scan(&id, &kind, &y); err != nil {
			rows.Close()
			return nil, err
		}
		decided[fmt.Sprintf("%s/%s/%d", id, kind, y)] = true
	}
	rows.Close()
	reported := map[string]domain.Date{}
	rows, err = db.r.QueryContext(ctx, `SELECT contract_id, contract_year, reported_on FROM reports`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, on string
		var y int
		if err := rows.Scan(&id, &y, &on); err != nil {
			rows.Close()
			return nil, err
		}
		var rd stored
		reported[fmt.Sprintf("%s/%d", id, y)] = rd.date(on)
		if err := rd.check("report of contract " + id); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()

	rules := cpts.DefaultRules()
	until := asOf.AddDays(horizon)
	out := []ScheduleItem{}
	for _, c := range contracts {
		rb, ok := rules.ByID(c.Rulebook)
		if !ok || c.SignedOn.After(until) {
			continue
		}
		years := domain.ContractYears{Signed: c.SignedOn, Count: rb.ContractYears}
		live := func(d domain.Date) bool { return c.TerminatedOn.IsZero() || d.Before(c.TerminatedOn) }
		add := func(kind string, k int, due domain.Date) {
			if due.After(until) || decided[fmt.Sprintf("%s/%s/%d", c.ContractID, kind, k)] {
				return
			}
			out = append(out, ScheduleItem{ContractID: c.ContractID, CPTSName: c.CPTSName, Kind: kind, ContractYear: k, DueOn: due, Overdue: due.Before(asOf)})
		}
		last := years.Count
		if !c.TerminatedOn.IsZero() {
			last = years.Of(c.TerminatedOn)
		}
		for k := 1; k <= last; k++ {
			if k >= 2 && live(years.Start(k)) {
				add(cpts.KindAnnualAdvance, k, years.Start(k))
			}
			end := years.End(k)
			if k == last && !c.TerminatedOn.IsZero() {
				end = c.TerminatedOn
			}
			if on, ok := reported[fmt.Sprintf("%s/%d", c.ContractID, k)]; ok {
				add(cpts.KindAnnualBalance, k, on)
			} else if !end.After(until) {
				out = append(out, ScheduleItem{ContractID: c.ContractID, CPTSName: c.CPTSName, Kind: "report_awaited",
					ContractYear: k, DueOn: end, Overdue: end.Before(asOf)})
			}
		}
		for _, a := range rules.AmendmentsOf(rb.ID) {
			if !c.SignedOn.After(a.SignedOnOrBefore) && live(a.EffectiveOn) {
				add(cpts.KindAmorcageTopup, years.Of(a.EffectiveOn), a.EffectiveOn)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b ScheduleItem) int {
		if c := a.DueOn.Compare(b.DueOn); c != 0 {
			return c
		}
		return strings.Compare(a.ContractID.String()+a.Kind, b.ContractID.String()+b.Kind)
	})
	return out, nil
}

// Total is a decided amount grouped by a dimension and calendar year.
type Total struct {
	Key          string       `json:"key"`
	CalendarYear string       `json:"calendar_year"`
	Payments     int          `json:"payments"`
	Decided      domain.Money `json:"decided"`
}

// Totals returns decided amounts per calendar year of decision, grouped by
// "year", "scheme", "cpam", "ars" or "tier".
func (db *DB) Totals(ctx context.Context, by string) ([]Total, error) {
	var q string
	switch by {
	case "year":
		q = `SELECT '', calendar_year, payments, decided_cents FROM totals_by_year ORDER BY 2`
	case "scheme", "cpam", "ars", "tier":
		q = `SELECT ` + by + `, calendar_year, payments, decided_cents FROM totals_by_` + by + ` ORDER BY 1, 2`
	default:
		return nil, fmt.Errorf("projections: totals by %q: want year, scheme, cpam, ars or tier", by)
	}
	rows, err := db.r.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Total
	for rows.Next() {
		var t Total
		var c int64
		if err := rows.Scan(&t.Key, &t.CalendarYear, &t.Payments, &c); err != nil {
			return nil, err
		}
		t.Decided = domain.MoneyFromCents(c)
		out = append(out, t)
	}
	return out, rows.Err()
}

// stored reads back values the read models hold. A value that does not
// parse (a file damaged or edited by hand) is an error naming it, never a
// panic: the first one is kept and check returns it.
type stored struct{ err error }

func (s *stored) fail(what, v string, err error) {
	if s.err == nil {
		s.err = fmt.Errorf("%s %q: %w", what, v, err)
	}
}

func (s *stored) date(v string) domain.Date {
	d, err := domain.ParseDate(v)
	if err != nil {
		s.fail("date", v, err)
	}
	return d
}

// optDate reads a date that may be absent ("").
func (s *stored) optDate(v string) domain.Date {
	if v == "" {
		return domain.Date{}
	}
	return s.date(v)
}

func (s *stored) id(v string) uuid.UUID {
	id, err := uuid.Parse(v)
	if err != nil {
		s.fail("id", v, err)
	}
	return id
}

// check returns the first value that did not parse, naming the row.
func (s *stored) check(row string) error {
	if s.err != nil {
		return fmt.Errorf("projections: %s holds a value that does not parse (run ledger rebuild): %w", row, s.err)
	}
	return nil
}
