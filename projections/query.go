package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/textfold"
)

// The read side's SQL: rows of the read models as plain values. The query
// package composes them (catch-up, as-of and known-at windows, netting)
// for the CLI and the HTTP API.

// Window restricts what a query sees: what is dated on or before a business
// date, and what the ledger had recorded by a time. A zero AsOf does not
// restrict; KnownAt restricts when Known is set or it is not zero (the zero
// time is an ordinary time, before anything was recorded: a window known
// at 0001-01-01T00:00:00Z sees nothing).
type Window struct {
	AsOf    domain.Date
	KnownAt time.Time
	Known   bool
}

// Knows tells whether the window bounds the recorded time.
func (w Window) Knows() bool { return w.Known || !w.KnownAt.IsZero() }

// KnownAtTime returns the recorded-time bound, nil when there is none (what
// the answers echo).
func (w Window) KnownAtTime() *time.Time {
	if !w.Knows() {
		return nil
	}
	t := w.KnownAt
	return &t
}

// Sees tells whether an event dated occurredOn ("" for none) and recorded
// at recordedAt is within the window: the one definition every query uses.
func (w Window) Sees(occurredOn string, recordedAt time.Time) bool {
	if !w.AsOf.IsZero() && occurredOn > w.AsOf.String() {
		return false
	}
	return !w.Knows() || !recordedAt.After(w.KnownAt)
}

// knownAt is the window's recorded-time bound as text comparable with the
// read models' recorded_at (RFC 3339, UTC, microseconds), or the end of
// time.
func (w Window) knownAt() string {
	if !w.Knows() {
		return "9999"
	}
	return w.KnownAt.UTC().Format(eventstore.RecordedAtFormat)
}

// ParseKnownAt reads a known-at bound as the CLI, the API and the console
// take it: a date YYYY-MM-DD (the end of that day, UTC), or an RFC 3339
// time, seconds optional (2024-03-01T12:00Z, 2024-03-01T12:00:00.5+01:00).
func ParseKnownAt(s string) (time.Time, error) {
	if d, err := domain.ParseDate(s); err == nil {
		return d.Time().Add(24*time.Hour - time.Microsecond), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a date YYYY-MM-DD (the end of that day, UTC) nor an RFC 3339 time such as 2024-03-01T12:00:00Z (seconds optional)", s)
}

// asOf is the window's business-date bound as text, or the end of time.
func (w Window) asOf() string {
	if w.AsOf.IsZero() {
		return "9999"
	}
	return w.AsOf.String()
}

// PaymentRow is one decision of the payments read model, its breakdown
// read back from its column (query.Payment is what the read side answers).
type PaymentRow struct {
	PaymentID    uuid.UUID
	ContractID   uuid.UUID
	Scheme       string
	Kind         string
	ContractYear int
	Mission      string
	DueOn        domain.Date
	DecidedOn    domain.Date
	Status       string
	Amount       domain.Money
	Rulebook     string
	Table        string
	Rule         string
	Reason       string
	Lines        []domain.Line
	Withheld     *domain.Withholding
	Corrects     []uuid.UUID
	Position     uint64
	RecordedAt   string
}

// Contract is a CPTS contract's terms as the read model holds them.
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

// ErrUnknownContract is returned for a contract the read models do not hold.
type ErrUnknownContract struct{ ID uuid.UUID }

func (e ErrUnknownContract) Error() string { return fmt.Sprintf("no contract %s in the ledger", e.ID) }

// SummaryRow is what the read models hold of every contract, whatever its
// scheme (query.Summary is what the read side answers).
type SummaryRow struct {
	ContractID   uuid.UUID
	Scheme       string
	Rulebook     string
	Tier         string // CPTS only
	CPAM         string
	ARS          string // CPTS only
	Name         string // the CPTS's name, or the doctor's RPPS number
	SignedOn     domain.Date
	TerminatedOn domain.Date
}

const summarySQL = `SELECT contract_id, scheme, rulebook, tier, cpam, ars, cpts_name AS name, name_folded, signed_on, COALESCE(terminated_on, '') AS terminated_on,
	signed_recorded_at, COALESCE(terminated_recorded_at, '') AS terminated_recorded_at
	FROM contracts
	UNION ALL SELECT contract_id, 'assistant', rulebook, '', cpam, '', ` + aidNameSQL + `, 'rpps ' || rpps, signed_on, COALESCE(terminated_on, ''),
	signed_recorded_at, COALESCE(terminated_recorded_at, '') FROM aid_contracts`

// aidNameSQL is an aid contract's name: its doctor's RPPS number, or the
// mark of their erased (or unreadable) data alone.
const aidNameSQL = `CASE WHEN rpps GLOB '[0-9]*' THEN 'RPPS ' || rpps ELSE rpps END`

// summaryAtSQL is the one definition of a contract as of a date (?1), as
// known at a time (?2): it exists once its signature is dated and recorded
// within the window; its tier is the last one the window sees in
// tier_history (a correction of its terms dated or recorded after the
// window does not count); it is terminated when its termination is.
const summaryAtSQL = `SELECT contract_id, scheme, rulebook,
	COALESCE((SELECT h.tier FROM tier_history h WHERE h.contract_id = k.contract_id AND h.business_date <= ?1 AND h.recorded_at <= ?2
		ORDER BY h.position DESC LIMIT 1), k.tier) AS tier,
	cpam, ars, name, name_folded, signed_on,
	CASE WHEN k.seen_termination <> '' AND k.seen_termination <= ?1 THEN k.seen_termination ELSE '' END AS terminated_on
	FROM (SELECT s.*, ` + terminatedAsOfSQL + ` AS seen_termination FROM (` + summarySQL + `) s) k
	WHERE k.signed_on <= ?1 AND k.signed_recorded_at <= ?2`

// terminatedAsOfSQL is the one definition, for the contract page, the
// searches and the alerts, of the termination a window (?1 its date, ?2
// its time) sees for the contract s: the last termination or correction
// of its date that is dated on or before the date (a correction by the
// day it was made) and recorded by the time. A termination corrected
// after the date is seen as it stood before its correction.
const terminatedAsOfSQL = `COALESCE((SELECT t.terminated_on FROM terminations t WHERE t.contract_id = s.contract_id
	AND t.business_date <= ?1 AND t.recorded_at <= ?2 ORDER BY t.position DESC LIMIT 1), '')`

// SummaryAt returns a contract as of the window's date, as known at its
// time: ErrUnknownContract when it was not signed, or not recorded, by
// then.
func (db *DB) SummaryAt(ctx context.Context, id uuid.UUID, w Window) (SummaryRow, error) {
	ss, err := db.summariesAt(ctx, w, `WHERE contract_id = ?3`, id.String())
	if err != nil {
		return SummaryRow{}, err
	}
	if len(ss) == 0 {
		return SummaryRow{}, ErrUnknownContract{id}
	}
	return ss[0], nil
}

// SummariesAt returns every contract the window sees, as it sees them, in
// signature order.
func (db *DB) SummariesAt(ctx context.Context, w Window) ([]SummaryRow, error) {
	return db.summariesAt(ctx, w, `ORDER BY signed_on, contract_id`)
}

func (db *DB) summariesAt(ctx context.Context, w Window, tail string, args ...any) ([]SummaryRow, error) {
	return db.scanSummaries(ctx, `SELECT contract_id, scheme, rulebook, tier, cpam, ars, name, signed_on, terminated_on FROM (`+summaryAtSQL+`) `+tail,
		append([]any{w.asOf(), w.knownAt()}, args...)...)
}

func (db *DB) summaries(ctx context.Context, tail string, args ...any) ([]SummaryRow, error) {
	return db.scanSummaries(ctx, `SELECT contract_id, scheme, rulebook, tier, cpam, ars, name, signed_on, terminated_on FROM (`+summarySQL+`) `+tail, args...)
}

func (db *DB) scanSummaries(ctx context.Context, query string, args ...any) ([]SummaryRow, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []SummaryRow{}
	for rows.Next() {
		var s SummaryRow
		var id, signed, terminated string
		if err := rows.Scan(&id, &s.Scheme, &s.Rulebook, &s.Tier, &s.CPAM, &s.ARS, &s.Name, &signed, &terminated); err != nil {
			return nil, err
		}
		var rd stored
		s.ContractID, s.SignedOn, s.TerminatedOn = rd.id(id), rd.date(signed), rd.optDate(terminated)
		if err := rd.check("contract " + id); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Contracts returns every CPTS contract, in signature order.
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

// Payments returns a contract's decisions in the order they were made,
// within the window: decided on or before its date, recorded by its time.
func (db *DB) Payments(ctx context.Context, id uuid.UUID, w Window) ([]PaymentRow, error) {
	out := []PaymentRow{}
	err := db.payments(ctx, `WHERE p.contract_id = ? AND p.decided_on <= ? AND p.recorded_at <= ?`, []any{id.String(), w.asOf(), w.knownAt()},
		func(p PaymentRow) error {
			out = append(out, p)
			return nil
		})
	return out, err
}

// PayableContracts returns the contracts (and letters of intent) with a
// decision of a positive amount due on or before through, in id order:
// those a payment run looks at. Which of their payments are ordered is
// the contracts' own streams' to say.
func (db *DB) PayableContracts(ctx context.Context, through domain.Date) ([]uuid.UUID, error) {
	ids, err := db.strings(ctx, `SELECT DISTINCT contract_id FROM payments WHERE amount_cents > 0 AND due_on <= ? ORDER BY contract_id`, through.String())
	if err != nil {
		return nil, err
	}
	out := make([]uuid.UUID, 0, len(ids))
	for _, s := range ids {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("payments: contract id %q: %w", s, err)
		}
		out = append(out, id)
	}
	return out, nil
}

// EachPayment calls fn with every decision of every contract within the
// window, by contract then decision order.
func (db *DB) EachPayment(ctx context.Context, w Window, fn func(PaymentRow) error) error {
	return db.payments(ctx, `WHERE p.decided_on <= ? AND p.recorded_at <= ?`, []any{w.asOf(), w.knownAt()}, fn)
}

func (db *DB) payments(ctx context.Context, where string, args []any, fn func(PaymentRow) error) error {
	rows, err := db.r.QueryContext(ctx, `SELECT p.payment_id, p.contract_id, p.kind, p.contract_year, COALESCE(p.mission, ''),
		p.due_on, p.decided_on, p.status, p.amount, p.rulebook, COALESCE(p.aid_table, ''), p.rule, COALESCE(p.reason, ''),
		p.position, p.recorded_at, p.lines, COALESCE(p.corrects, ''), p.scheme, COALESCE(p.withheld, '')
		FROM payments p `+where+` ORDER BY p.contract_id, p.position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			pid, cid, kind, mission, due, decided, status, amount, rulebook, table, rule, reason, recorded, corrects, scheme, withheld string
			year                                                                                                                       int
			pos                                                                                                                        int64
			lines                                                                                                                      []byte
		)
		if err := rows.Scan(&pid, &cid, &kind, &year, &mission, &due, &decided, &status, &amount, &rulebook, &table, &rule, &reason,
			&pos, &recorded, &lines, &corrects, &scheme, &withheld); err != nil {
			return err
		}
		amt, err := domain.ParseMoney(amount)
		if err != nil {
			return err
		}
		var rd stored
		p := PaymentRow{PaymentID: rd.id(pid), ContractID: rd.id(cid), Kind: kind, ContractYear: year,
			Mission: mission, DueOn: rd.date(due), DecidedOn: rd.date(decided), Status: status,
			Amount: amt, Rulebook: rulebook, Table: table, Rule: rule, Reason: reason, Position: uint64(pos), RecordedAt: recorded,
			Scheme: scheme}
		if err := json.Unmarshal(lines, &p.Lines); err != nil {
			return fmt.Errorf("projections: payment %s lines: %w", pid, err)
		}
		if withheld != "" {
			p.Withheld = new(domain.Withholding)
			if err := json.Unmarshal([]byte(withheld), p.Withheld); err != nil {
				return fmt.Errorf("projections: payment %s withheld: %w", pid, err)
			}
		}
		if corrects != "" {
			if err := json.Unmarshal([]byte(corrects), &p.Corrects); err != nil {
				return fmt.Errorf("projections: payment %s corrects: %w", pid, err)
			}
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

// AlertRow is a deadline with the fact that met it and the contract's
// termination, as the window sees them.
type AlertRow struct {
	ContractID   uuid.UUID
	Name         string
	CPAM, ARS    string
	Mission      string
	Kind         string
	Months       int
	Deadline     domain.Date
	DoneOn       domain.Date
	TerminatedOn domain.Date
}

// AlertRows returns every deadline of the contracts signed (and
// recorded) within the window, with the last fact that met it and the last
// termination that the window sees (dated on or before its date, recorded
// by its time), by deadline.
func (db *DB) AlertRows(ctx context.Context, w Window) ([]AlertRow, error) {
	// A deadline is a CPTS contract's or an aid contract's (its
	// commitment): each table looked up by its key, no union scanned.
	rows, err := db.r.QueryContext(ctx, `SELECT s.contract_id, s.name, s.cpam, s.ars, s.mission, s.kind, s.months, s.deadline,
		COALESCE((SELECT f.done_on FROM fact_history f WHERE f.contract_id = s.contract_id AND f.mission = s.mission AND f.kind = s.kind
			AND f.business_date <= ?1 AND f.recorded_at <= ?2 ORDER BY f.position DESC LIMIT 1), ''),
		`+terminatedAsOfSQL+`
		FROM (SELECT d.*, COALESCE(c.cpts_name, CASE WHEN a.rpps GLOB '[0-9]*' THEN 'RPPS ' || a.rpps ELSE a.rpps END) AS name, COALESCE(c.cpam, a.cpam) AS cpam, COALESCE(c.ars, '') AS ars,
				COALESCE(c.signed_on, a.signed_on) AS signed_on, COALESCE(c.signed_recorded_at, a.signed_recorded_at) AS signed_recorded_at
			FROM deadline_dates d LEFT JOIN contracts c USING (contract_id) LEFT JOIN aid_contracts a USING (contract_id)) s
		WHERE s.signed_on <= ?1 AND s.signed_recorded_at <= ?2
			AND (s.taken_up = 0 OR EXISTS (SELECT 1 FROM fact_history f WHERE f.contract_id = s.contract_id AND f.mission = s.mission
				AND f.kind = 'start' AND f.business_date <= ?1 AND f.recorded_at <= ?2))
		ORDER BY s.deadline, s.contract_id, s.mission, s.kind`, w.asOf(), w.knownAt())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AlertRow
	for rows.Next() {
		var a AlertRow
		var id, deadline, done, terminated string
		if err := rows.Scan(&id, &a.Name, &a.CPAM, &a.ARS, &a.Mission, &a.Kind, &a.Months, &deadline, &done, &terminated); err != nil {
			return nil, err
		}
		var rd stored
		a.ContractID, a.Deadline, a.DoneOn, a.TerminatedOn = rd.id(id), rd.date(deadline), rd.optDate(done), rd.optDate(terminated)
		if err := rd.check("deadline of contract " + id); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Alert is a deadline's state as of a date (domain.md 2.9).
type Alert = cpts.Alert

// TotalRow is what was decided in a calendar year for one value of a
// dimension, in one scheme.
type TotalRow struct {
	Key          string
	Scheme       string
	CalendarYear int
	Payments     int
	DecidedCents int64
}

// Dimensions by which totals are grouped.
var dimensions = map[string]string{
	"year":   `''`,
	"scheme": `p.scheme`,
	"cpam":   `COALESCE(c.cpam, a.cpam, l.cpam, '')`,
	"ars":    `COALESCE(c.ars, l.ars, '')`, // the aid has no ARS
	// The tier as of the window, as known at it (summaryAtSQL).
	"tier": `COALESCE((SELECT h.tier FROM tier_history h WHERE h.contract_id = p.contract_id AND h.business_date <= ?1 AND h.recorded_at <= ?2
		ORDER BY h.position DESC LIMIT 1), c.tier, l.tier, '')`,
}

// IsDimension tells whether totals can be grouped by name.
func IsDimension(name string) bool { _, ok := dimensions[name]; return ok }

// TotalRows returns the amounts decided within the window per calendar
// year of decision, grouped by a dimension (year, scheme, cpam, ars or
// tier) and by scheme; sums are over integer cents.
func (db *DB) TotalRows(ctx context.Context, by string, w Window) ([]TotalRow, error) {
	key, ok := dimensions[by]
	if !ok {
		return nil, fmt.Errorf("projections: totals by %q: want year, scheme, cpam, ars or tier", by)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+key+`, p.scheme, CAST(substr(p.decided_on, 1, 4) AS INTEGER), COUNT(*), SUM(p.amount_cents)
		FROM payments p LEFT JOIN contracts c USING (contract_id) LEFT JOIN aid_contracts a USING (contract_id)
			LEFT JOIN letters l ON l.letter_id = p.contract_id
		WHERE p.decided_on <= ?1 AND p.recorded_at <= ?2
		GROUP BY 1, 2, 3 ORDER BY 1, 3, 2`, w.asOf(), w.knownAt())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TotalRow
	for rows.Next() {
		var t TotalRow
		if err := rows.Scan(&t.Key, &t.Scheme, &t.CalendarYear, &t.Payments, &t.DecidedCents); err != nil {
			return nil, err
		}
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

// ContractFilter narrows a contract search; empty fields keep all.
type ContractFilter struct {
	// Window: the contracts as of its date, as known at its time (the zero
	// window: as they are now).
	Window                  Window
	Scheme, CPAM, ARS, Tier string
	Terminated              *bool  // nil: both
	Q                       string // a part of the name (case, accents and punctuation aside) or the start of the id
	After                   *Cursor
	Limit                   int
}

// Cursor is where a page of a search ends: contracts come by name, then id.
type Cursor struct {
	Name string    `json:"n"`
	ID   uuid.UUID `json:"i"`
}

// SearchContracts returns up to f.Limit contracts of any scheme that the
// filter keeps, after the cursor, by name then id.
func (db *DB) SearchContracts(ctx context.Context, f ContractFilter) ([]SummaryRow, error) {
	where, args := searchWhere(f)
	return db.searchSummaries(ctx, f.Window, where+` AND (name, contract_id) > (?9, ?10) ORDER BY name, contract_id LIMIT ?11`, args)
}

// CountContracts returns how many contracts the filter keeps, and how
// many of them come before its cursor (the page's first is before+1).
func (db *DB) CountContracts(ctx context.Context, f ContractFilter) (total, before int, err error) {
	where, args := searchWhere(f)
	from, window := summarySQL, []any{"", ""}
	if f.Window != (Window{}) {
		from, window = summaryAtSQL, []any{f.Window.asOf(), f.Window.knownAt()}
	}
	count := func(tail string) (n int, err error) {
		err = db.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT contract_id FROM (`+from+`) `+where+tail+`)`, append(window, args...)...).Scan(&n)
		return n, err
	}
	if total, err = count(""); err != nil || f.After == nil {
		return total, 0, err
	}
	before, err = count(` AND (name, contract_id) <= (?9, ?10)`)
	return total, before, err
}

// CursorAt returns the cursor after which the contract at index i (from
// 0, in the search's order) comes: the start of a page; ok is false for
// i ≤ 0 (the first page needs none).
func (db *DB) CursorAt(ctx context.Context, f ContractFilter, i int) (c Cursor, ok bool, err error) {
	if i <= 0 {
		return Cursor{}, false, nil
	}
	where, args := searchWhere(f)
	from, window := summarySQL, []any{"", ""}
	if f.Window != (Window{}) {
		from, window = summaryAtSQL, []any{f.Window.asOf(), f.Window.knownAt()}
	}
	var name, id string
	err = db.r.QueryRowContext(ctx, `SELECT name, contract_id FROM (`+from+`) `+where+` ORDER BY name, contract_id LIMIT 1 OFFSET ?13`,
		append(append(window, args...), i-1)...).Scan(&name, &id)
	if err != nil {
		return Cursor{}, false, err
	}
	var rd stored
	c = Cursor{Name: name, ID: rd.id(id)}
	return c, true, rd.check("contract " + id)
}

// searchWhere is the one statement of what a search keeps, and its
// arguments (?3 to ?12; ?1 and ?2 are the window's).
func searchWhere(f ContractFilter) (string, []any) {
	after := Cursor{}
	if f.After != nil {
		after = *f.After
	}
	terminated := -1
	if f.Terminated != nil {
		terminated = map[bool]int{false: 0, true: 1}[*f.Terminated]
	}
	where := `WHERE (?3 = '' OR scheme = ?3) AND (?4 = '' OR cpam = ?4) AND (?5 = '' OR ars = ?5) AND (?6 = '' OR tier = ?6)
		AND (?7 < 0 OR (terminated_on != '') = (?7 = 1))
		AND (?8 = '' OR instr(name_folded, ?12) > 0 OR contract_id LIKE replace(replace(lower(?8), '%', ''), '_', '') || '%')`
	// The name is matched folded the French way (case, accents, hyphens
	// and apostrophes: internal/textfold), against the column folded when
	// the row was written; the id by its start.
	return where, []any{f.Scheme, f.CPAM, f.ARS, f.Tier, terminated, f.Q, after.Name, after.ID.String(), f.Limit, textfold.Fold(f.Q)}
}

func (db *DB) searchSummaries(ctx context.Context, w Window, where string, args []any) ([]SummaryRow, error) {
	if w == (Window{}) {
		// Now: the current columns are what a window ending now sees (the
		// last tier, the last termination), without reading their history
		// for every contract (?1 and ?2 unused).
		return db.summaries(ctx, where, append([]any{"", ""}, args...)...)
	}
	return db.summariesAt(ctx, w, where, args...)
}

// Parties returns the CPAMs and ARSs of the contracts, each sorted: the
// values a filter can take.
func (db *DB) Parties(ctx context.Context) (cpams, arss []string, err error) {
	if cpams, err = db.strings(ctx, `SELECT cpam FROM contracts UNION SELECT cpam FROM aid_contracts ORDER BY 1`); err != nil {
		return nil, nil, err
	}
	arss, err = db.strings(ctx, `SELECT DISTINCT ars FROM contracts WHERE ars <> '' ORDER BY 1`)
	return cpams, arss, err
}

func (db *DB) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PersonalRow is an aid contract as an erasure finds it: the key its
// doctor's data are sealed under and the day they were erased (zero: not).
type PersonalRow struct {
	ContractID uuid.UUID
	KeyID      string
	ErasedOn   domain.Date
}

// PersonalRows returns the aid contracts of a doctor, by RPPS number (the
// read model holds it opened), and those sealed under the key keyID
// (which find a doctor whose contracts were erased already).
func (db *DB) PersonalRows(ctx context.Context, rpps, keyID string) ([]PersonalRow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT contract_id, personal_key, COALESCE(erased_on, '') FROM aid_contracts
		WHERE rpps = ?1 OR (?2 <> '' AND personal_key = ?2) ORDER BY signed_on, contract_id`, rpps, keyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PersonalRow
	for rows.Next() {
		var id, key, erased string
		if err := rows.Scan(&id, &key, &erased); err != nil {
			return nil, err
		}
		var rd stored
		r := PersonalRow{ContractID: rd.id(id), KeyID: key, ErasedOn: rd.optDate(erased)}
		if err := rd.check("aid contract " + id); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ErasedKeys returns the ids of the keys whose person's data the log says
// are erased (PersonalDataErased).
func (db *DB) ErasedKeys(ctx context.Context) (map[string]bool, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT DISTINCT personal_key FROM aid_contracts WHERE erased_on IS NOT NULL AND personal_key <> ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}
