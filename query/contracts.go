package query

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/projections"
)

// Contract statuses in searches.
const (
	StatusLive       = "live"
	StatusTerminated = "terminated"
)

// Limits of a contract search.
const (
	DefaultPage = 50
	MaxPage     = 500
	MaxSearch   = 200 // bytes of q and of each filter
)

// ContractSummary is a contract of any scheme in a search, with its status.
type ContractSummary struct {
	Summary
	Status string `json:"status"`
}

func summaryOf(r projections.SummaryRow) ContractSummary {
	s := summaryFrom(r)
	status := StatusLive
	if !s.TerminatedOn.IsZero() {
		status = StatusTerminated
	}
	return ContractSummary{Summary: s, Status: status}
}

// ContractSearch is a search's filters; empty ones keep all.
type ContractSearch struct {
	// Window: the contracts as of its date (signed by then, terminated by
	// then), as known at its time; the zero window: as they are now.
	Window                  Window
	Scheme, CPAM, ARS, Tier string
	Status                  string // live, terminated or ""
	Q                       string // a part of the name, or the start of the id
	Limit                   int    // 1 to MaxPage; 0: DefaultPage
	Cursor                  string // from the previous page's next_cursor
}

// ContractPage is a page of a search; NextCursor, when set, gives the next.
type ContractPage struct {
	Contracts  []ContractSummary `json:"contracts"`
	NextCursor string            `json:"next_cursor,omitempty"`
	// Total is how many contracts the search keeps; From is the place of
	// the page's first among them (from 1; 0 when none).
	Total int `json:"total"`
	From  int `json:"from"`
	// HasPrevious: a page comes before this one; PrevCursor asks for it
	// ("" for the first page).
	HasPrevious bool   `json:"has_previous"`
	PrevCursor  string `json:"prev_cursor,omitempty"`
}

// Check names every filter that breaks its rule.
func (l *Ledger) Check(s ContractSearch) domain.Violations {
	var vs domain.Violations
	if s.Scheme != "" {
		if _, ok := l.scheme(s.Scheme); !ok {
			vs.Add(domain.CodeInvalidValue, "scheme", fmt.Sprintf("no scheme %q", s.Scheme))
		}
	}
	if s.Status != "" && s.Status != StatusLive && s.Status != StatusTerminated {
		vs.Add(domain.CodeInvalidValue, "status", "want live or terminated")
	}
	if s.Limit < 0 || s.Limit > MaxPage {
		vs.Add(domain.CodeInvalidValue, "limit", fmt.Sprintf("want 1 to %d", MaxPage))
	}
	for field, v := range map[string]string{"q": s.Q, "cpam": s.CPAM, "ars": s.ARS, "tier": s.Tier} {
		if len(v) > MaxSearch {
			vs.Add(domain.CodeTooLong, field, fmt.Sprintf("at most %d bytes", MaxSearch))
		}
	}
	if _, err := decodeCursor(s.Cursor); err != nil {
		vs.Add(domain.CodeInvalidValue, "cursor", "not a cursor this ledger gave")
	}
	if _, err := ARSFilter(s.ARS); err != nil {
		vs = append(vs, err.(*domain.RejectedError).Violations...)
	}
	slices.SortFunc(vs, func(a, b domain.Violation) int { return strings.Compare(a.Field, b.Field) })
	return vs
}

func decodeCursor(s string) (*projections.Cursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c projections.Cursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func encodeCursor(c projections.Cursor) string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// SearchContracts returns a page of the contracts the search keeps, by
// name then id. The search must pass Check.
func (l *Ledger) SearchContracts(ctx context.Context, s ContractSearch) (ContractPage, error) {
	if err := l.Check(s).Err(); err != nil {
		return ContractPage{}, err
	}
	s.ARS, _ = ARSFilter(s.ARS)
	after, _ := decodeCursor(s.Cursor)
	limit := s.Limit
	if limit == 0 {
		limit = DefaultPage
	}
	f := projections.ContractFilter{Window: s.Window, Scheme: s.Scheme, CPAM: s.CPAM, ARS: s.ARS, Tier: s.Tier, Q: s.Q, After: after, Limit: limit + 1}
	if s.Status != "" {
		terminated := s.Status == StatusTerminated
		f.Terminated = &terminated
	}
	page := ContractPage{Contracts: []ContractSummary{}}
	err := l.with(ctx, func(db *projections.DB) error {
		found, err := db.SearchContracts(ctx, f)
		if err != nil {
			return err
		}
		if len(found) > limit {
			found = found[:limit]
			last := found[len(found)-1]
			page.NextCursor = encodeCursor(projections.Cursor{Name: last.Name, ID: last.ContractID})
		}
		for _, c := range found {
			page.Contracts = append(page.Contracts, summaryOf(c))
		}
		return l.placePage(ctx, db, f, limit, &page)
	})
	return page, err
}

// placePage says where a page stands among the contracts a search keeps:
// how many there are, the place of its first, and the cursor of the page
// before it.
func (l *Ledger) placePage(ctx context.Context, db *projections.DB, f projections.ContractFilter, limit int, page *ContractPage) error {
	total, before, err := db.CountContracts(ctx, f)
	if err != nil {
		return err
	}
	page.Total = total
	if len(page.Contracts) > 0 {
		page.From = before + 1
	}
	if before == 0 {
		return nil
	}
	page.HasPrevious = true
	prev, ok, err := db.CursorAt(ctx, f, before-limit)
	if ok {
		page.PrevCursor = encodeCursor(prev)
	}
	return err
}

// ContractDetail is a contract's terms and state as the read models hold
// them now.
type ContractDetail struct {
	ContractSummary
	CPTS      *CPTSTerms `json:"cpts,omitempty"`
	Aid       *AidTerms  `json:"aid,omitempty"`
	Deadlines []Deadline `json:"deadlines,omitempty"`
	// NextDeadline is a CPTS contract's next deadline still to be worked
	// as of the window's date (today by default), with its status for the
	// default due-soon window (cpts.NextAlert); absent when none is open.
	NextDeadline  *cpts.Alert  `json:"next_deadline,omitempty"`
	ReportedYears []int        `json:"reported_years"`
	Payments      int          `json:"payments"`
	DecidedTotal  domain.Money `json:"decided_total"`
	// LetterOfIntent is the letter the contract follows, with its aid
	// (decided before the contract, in the letter's stream: not counted
	// in Payments and DecidedTotal).
	LetterOfIntent *LetterOfIntent `json:"letter_of_intent,omitempty"`
	// BankAccount is the confirmed account the beneficiary is paid to on
	// the window's date (its IBAN masked but for its last four
	// characters), and PendingAccounts the accounts recorded and awaiting
	// their second person: a change of account in progress.
	BankAccount     *BankAccount  `json:"bank_account,omitempty"`
	PendingAccounts []BankAccount `json:"pending_accounts"`
}

// BankAccount is a beneficiary's account as a person reads it: masked.
type BankAccount struct {
	AccountID   uuid.UUID   `json:"account_id"`
	IBAN        string      `json:"iban"`
	BIC         string      `json:"bic,omitempty"`
	Holder      string      `json:"holder"`
	EffectiveOn domain.Date `json:"effective_on"`
	RecordedBy  string      `json:"recorded_by"`
	ConfirmedBy string      `json:"confirmed_by,omitempty"`
}

func bankAccountOf(a domain.BankAccount) BankAccount {
	return BankAccount{AccountID: a.AccountID, IBAN: domain.MaskIBAN(a.IBAN), BIC: a.BIC, Holder: a.Holder, EffectiveOn: a.EffectiveOn,
		RecordedBy: a.RecordedBy, ConfirmedBy: a.ConfirmedBy}
}

// accounts sets the contract's account in force on the date, and those
// pending.
func (d *ContractDetail) accounts(state domain.State, on domain.Date) {
	d.PendingAccounts = []BankAccount{}
	p, ok := state.(domain.Payable)
	if !ok {
		return
	}
	t := p.Payee().Treasury
	if a, ok := t.InForce(on); ok {
		v := bankAccountOf(a)
		d.BankAccount = &v
	}
	for _, a := range t.Pending() {
		d.PendingAccounts = append(d.PendingAccounts, bankAccountOf(a))
	}
}

// CPTSTerms are a CPTS contract's terms.
type CPTSTerms struct {
	CPTSID        string   `json:"cpts_id"`
	Population    int      `json:"population"`
	SNPRegulation bool     `json:"snp_regulation"`
	Missions      []string `json:"missions"`
}

// Letter returns a letter of intent with its aid, as the window sees them:
// ErrUnknownContract when it sees none (a letter is not a contract, but an
// id names one or the other).
func (l *Ledger) Letter(ctx context.Context, id uuid.UUID, w Window) (LetterOfIntent, error) {
	var out LetterOfIntent
	err := l.with(ctx, func(db *projections.DB) error {
		r, ok, err := db.LetterAt(ctx, id, w)
		if err != nil {
			return err
		}
		if !ok {
			return ErrUnknownContract{ID: id}
		}
		aid, err := db.Payments(ctx, id, w)
		if err != nil {
			return err
		}
		out = letterFrom(r, aid)
		return nil
	})
	return out, err
}

// letterOf returns the letter the contract follows with its aid, as the
// window sees them, or nil.
func letterOf(ctx context.Context, db *projections.DB, contract uuid.UUID, w Window) (*LetterOfIntent, error) {
	r, ok, err := db.LetterOf(ctx, contract, w)
	if err != nil || !ok {
		return nil, err
	}
	aid, err := db.Payments(ctx, r.LetterID, w)
	if err != nil {
		return nil, err
	}
	l := letterFrom(r, aid)
	return &l, nil
}

// Contract returns a contract's terms and state as they are now.
func (l *Ledger) Contract(ctx context.Context, id uuid.UUID) (ContractDetail, error) {
	return l.ContractAt(ctx, id, Window{})
}

// ContractAt returns a contract's terms and state as of the window's date,
// as known at its time: ErrUnknownContract when it was not signed, or not
// recorded, by then. The terms, deadlines, reports and hiring are its own
// events folded by its scheme (stateAt); the payments are those the read
// model holds within the window.
func (l *Ledger) ContractAt(ctx context.Context, id uuid.UUID, w Window) (ContractDetail, error) {
	var d ContractDetail
	err := l.with(ctx, func(db *projections.DB) error {
		s, err := db.SummaryAt(ctx, id, w)
		if err != nil {
			return err
		}
		d.ContractSummary = summaryOf(s)
		ps, err := db.Payments(ctx, id, w)
		if err != nil {
			return err
		}
		for _, p := range ps {
			d.DecidedTotal = d.DecidedTotal.Add(p.Amount)
		}
		d.Payments = len(ps)
		d.LetterOfIntent, err = letterOf(ctx, db, id, w)
		return err
	})
	if err != nil {
		return d, err
	}
	state, err := l.stateAt(ctx, id, w)
	if err != nil {
		return d, err
	}
	describe(&d, state)
	asOf := w.AsOf
	if asOf.IsZero() {
		asOf = today()
	}
	d.accounts(state, asOf)
	switch c := state.(type) {
	case *cpts.Contract:
		if next, ok := c.NextAlert(asOf, cpts.DueSoonDays); ok {
			d.NextDeadline = &next
		}
	case *assistant.Contract:
		// The commitment to a coordinated practice, an alert like the
		// CPTS deadlines while the contract is live.
		if cm := c.Commitment(); cm != nil && (!c.Terminated() || c.TerminatedOn.After(asOf)) && !c.Terms.SignedOn.After(asOf) {
			a := cpts.Alert{ContractID: c.ID, Mission: assistant.DeadlineCoordinatedPractice, Kind: assistant.DeadlineKindCommitment,
				Months: cm.Months, Deadline: cm.Deadline, Status: cpts.DeadlineStatus(cm.Deadline, cm.Done, asOf, cpts.DueSoonDays)}
			if cpts.AlertOpen(a.Status) {
				d.NextDeadline = &a
			}
		}
	}
	return d, nil
}

// stateAt folds a contract's events as of the window's date, as known at
// its time: those recorded by the time and dated by the date (a fact by
// its date, a correction by the day it was made, as the read models date
// them).
func (l *Ledger) stateAt(ctx context.Context, id uuid.UUID, w Window) (domain.State, error) {
	scheme, stream, err := l.streamOf(ctx, id)
	if err != nil {
		return nil, err
	}
	state := scheme.NewState(id)
	seen := map[uuid.UUID]bool{}
	err = eventstore.EachInStream(ctx, l.store, stream, func(page []eventstore.Envelope) error {
		for i := range page {
			env := &page[i]
			if !sees(w, env) {
				continue
			}
			e, err := scheme.DecodeEvent(env.Type, env.SchemaVersion, env.Data)
			if err != nil {
				return fmt.Errorf("query: %s revision %d: %w", stream, env.Revision, err)
			}
			// A correction whose corrected fact the window leaves out (a
			// fact dated after the date, corrected before it) is left out
			// too (domain.OutsideWindow); any other event the state
			// refuses is an error, window or not.
			if domain.OutsideWindow(e, func(id uuid.UUID) bool { return seen[id] }) {
				continue
			}
			if err := state.Apply(e); err != nil {
				return fmt.Errorf("query: %s revision %d: %w", stream, env.Revision, err)
			}
			seen[env.EventID] = true
		}
		return nil
	})
	return state, err
}

// describe fills a contract's detail from its state.
func describe(d *ContractDetail, state domain.State) {
	d.ReportedYears = []int{}
	switch c := state.(type) {
	case *cpts.Contract:
		t := c.Terms
		// The missions signed, and those taken up since (crisis, under an
		// earlier rulebook).
		d.CPTS = &CPTSTerms{CPTSID: t.CPTS.ID, Population: t.Population, SNPRegulation: t.SNPRegulation, Missions: c.Missions()}
		d.Deadlines = []Deadline{}
		for _, dl := range c.Deadlines() {
			d.Deadlines = append(d.Deadlines, Deadline{Mission: dl.Mission, Kind: dl.Kind, Months: dl.Months,
				Deadline: dl.Deadline, DoneOn: dl.Done})
		}
		slices.SortStableFunc(d.Deadlines, func(a, b Deadline) int {
			return cmp.Or(a.Deadline.Compare(b.Deadline), cmp.Compare(a.Mission, b.Mission), cmp.Compare(a.Kind, b.Kind))
		})
		d.ReportedYears = append(d.ReportedYears, slices.Sorted(maps.Keys(c.Reports))...)
	case *assistant.Contract:
		t := c.Terms
		d.Aid = &AidTerms{RPPS: t.Doctor.RPPS, Specialty: t.Doctor.Specialty, Option: t.Option, Band: t.Band,
			PatienteleBaseline: t.PatienteleBaseline, PatienteleTarget: t.PatienteleTarget, HiredOn: c.HiredOn}
		if x := c.Extension; x != nil {
			d.Aid.Extension = &AidExtension{AddedFTE: x.AddedFTE, On: x.On}
		}
		if cm := c.Commitment(); cm != nil {
			d.Deadlines = []Deadline{{Mission: assistant.DeadlineCoordinatedPractice, Kind: assistant.DeadlineKindCommitment,
				Months: cm.Months, Deadline: cm.Deadline, DoneOn: cm.Done}}
		}
		// Appended to the empty list: slices.Sorted of no key is nil, which
		// the JSON would show as null where the API promises an array.
		d.ReportedYears = append(d.ReportedYears, slices.Sorted(maps.Keys(c.Reports))...)
	}
}

// CPAMOf returns the CPAM of a contract, read from its signature in the
// event store (authoritative: what an agent limited to one CPAM may write
// is decided on it), or ErrUnknownContract.
func (l *Ledger) CPAMOf(ctx context.Context, id uuid.UUID) (string, error) {
	scheme, stream, err := l.streamOf(ctx, id)
	if err != nil {
		return "", err
	}
	evs, err := l.store.ReadStream(ctx, stream, 0, 1)
	if err != nil {
		return "", err
	}
	if len(evs) == 0 {
		return "", ErrUnknownContract{ID: id}
	}
	e, err := scheme.DecodeEvent(evs[0].Type, evs[0].SchemaVersion, evs[0].Data)
	if err != nil {
		return "", err
	}
	_, cpam := partyOf(e)
	return cpam, nil
}

// EachContract calls fn with every contract the search keeps, page after
// page (its Limit and Cursor are ignored): the one way to read them all.
func (l *Ledger) EachContract(ctx context.Context, s ContractSearch, fn func(ContractSummary) error) error {
	s.Limit, s.Cursor = MaxPage, ""
	for {
		page, err := l.SearchContracts(ctx, s)
		if err != nil {
			return err
		}
		for _, c := range page.Contracts {
			if err := fn(c); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		s.Cursor = page.NextCursor
	}
}

// ARSFilter reads an ARS filter as commands read an ARS: one of the
// eighteen agencies, normalised to its official spelling ("" is no
// filter); another is refused naming the closest (a typo would otherwise
// list nothing and look like an answer).
func ARSFilter(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	official, ok, closest := cpts.ParseARS(s)
	if !ok {
		return "", domain.Violations{{Code: domain.CodeInvalidValue, Field: "ars", Rule: fmt.Sprintf("%q is not one of the %d regional health agencies: did you mean %q?", s, len(cpts.Agencies()), closest)}}.Err()
	}
	return official, nil
}
