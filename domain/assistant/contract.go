package assistant

import (
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/cptsledger/ledger/domain"
)

// Contract is the state of one aid contract, folded from its events.
type Contract struct {
	ID       uuid.UUID
	Signed   bool
	Terms    AidContractSigned
	Rulebook *Rulebook
	Years    domain.ContractYears

	HiredOn domain.Date
	Reports map[int]PatienteleReported

	// Extension is the added FTE share (2024 convention), nil without.
	Extension *AssistantExtended
	// CoordinatedOn is the day the doctor joined a coordinated practice,
	// the commitment of an am-2019 contract signed without one.
	CoordinatedOn domain.Date

	Payments []PaymentDecided
	decided  map[paymentKey]int

	TerminatedOn      domain.Date
	TerminationReason string

	// ErasedOn is the day the doctor's personal data were erased: the
	// contract takes no command after it.
	ErasedOn domain.Date

	// Treasury holds the beneficiary's bank accounts and the orders to
	// pay it.
	Treasury domain.Treasury

	// Corrections are the corrections not yet taken into account by a
	// regularisation.
	Corrections []domain.CorrectionRecord

	// history is every event applied, in order: what a decision as of a
	// date replays without the corrections dated after it (asOf).
	history []domain.Event

	rules *Rules
}

type paymentKey struct {
	kind string
	year int
}

// NewContract returns the empty state of a contract not yet signed.
func NewContract(id uuid.UUID) *Contract { return NewContractWith(id, defaultRules) }

// NewContractWith is NewContract with other rules.
func NewContractWith(id uuid.UUID, rules *Rules) *Contract {
	return &Contract{ID: id, rules: rules, Reports: map[int]PatienteleReported{}, decided: map[paymentKey]int{}}
}

// Terminated reports whether the contract was terminated.
func (c *Contract) Terminated() bool { return !c.TerminatedOn.IsZero() }

// Hired reports whether the assistant was hired.
func (c *Contract) Hired() bool { return !c.HiredOn.IsZero() }

// Apply changes the state by one event.
func (c *Contract) Apply(e domain.Event) error {
	if err := c.apply(e); err != nil {
		return err
	}
	c.history = append(c.history, e)
	return nil
}

// Payee is the contract as the treasury reads it.
func (c *Contract) Payee() domain.Payee {
	p := domain.Payee{ContractID: c.ID, Scheme: Scheme, Stream: domain.Stream(Scheme, c.ID), Signed: c.Signed,
		TerminatedOn: c.TerminatedOn, Payments: c.Payments, Treasury: &c.Treasury, CPAM: c.Terms.CPAM}
	if c.Rulebook != nil {
		p.PrescriptionYears = c.Rulebook.RecoveryPrescriptionYears
	}
	return p
}

func (c *Contract) apply(e domain.Event) error {
	if ok, err := c.Treasury.Apply(e); ok {
		return err
	}
	switch e := e.(type) {
	case AidContractSigned:
		rb, ok := c.rules.ByID(e.Rulebook)
		if !ok {
			return fmt.Errorf("assistant: contract %s signed under unknown rulebook %q", c.ID, e.Rulebook)
		}
		c.Signed, c.Terms, c.Rulebook = true, e, rb
		c.Years = domain.ContractYears{Signed: e.SignedOn, Count: rb.ContractYears}
	case AssistantHired:
		c.HiredOn = e.HiredOn
	case PatienteleReported:
		c.Reports[e.ContractYear] = e
	case AssistantExtended:
		c.Extension = &e
	case CoordinatedPracticeJoined:
		c.CoordinatedOn = e.JoinedOn
	case PersonalDataErased:
		c.ErasedOn = e.ErasedOn
	case PaymentDecided:
		key := paymentKey{e.Kind, e.ContractYear}
		if e.Kind == domain.KindRegularisation {
			// Several per year: each its own key.
			key.kind = fmt.Sprint(e.Kind, "#", len(c.Payments))
		}
		// A decision as of a date took into account every correction
		// dated on or before it (its regularisations are among the
		// payments decided with it): they are no longer pending, and a
		// later regularisation does not cite them.
		c.Corrections = domain.Settle(c.Corrections, e.DecidedOn)
		c.decided[key] = len(c.Payments)
		c.Payments = append(c.Payments, e)
	case ContractTerminated:
		c.TerminatedOn, c.TerminationReason = e.TerminatedOn, e.Reason
		// A termination dated before decisions already made corrects
		// them: it counts as a correction dated on the termination.
		c.Corrections = append(c.Corrections, domain.CorrectionRecord{CorrectedOn: e.TerminatedOn, Reason: e.Reason})
	default:
		if !c.applyCorrection(e) {
			return fmt.Errorf("assistant: event %T is not an aid event", e)
		}
	}
	return nil
}

// clone copies the state, so that changes to the copy leave c alone.
func (c *Contract) clone() *Contract {
	d := *c
	d.Payments = slices.Clone(c.Payments)
	d.decided = maps.Clone(c.decided)
	d.Reports = maps.Clone(c.Reports)
	d.Corrections = slices.Clone(c.Corrections)
	d.history = slices.Clip(c.history) // the copy's appends do not reach c's
	return &d
}

// correctedOn returns the business date of a correction event.
func correctedOn(e domain.Event) (domain.Date, bool) {
	switch e := e.(type) {
	case PatienteleCorrected:
		return e.CorrectedOn, true
	case HiringCorrected:
		return e.CorrectedOn, true
	case domain.TerminationCorrected:
		return e.CorrectedOn, true
	}
	return domain.Date{}, false
}

// asOf returns the contract as a decision dated d sees it (domain.AsOf).
func (c *Contract) asOf(d domain.Date) *Contract {
	return domain.AsOf(c, c.history, c.Payments, d, correctedOn, func() *Contract { return NewContractWith(c.ID, c.rules) })
}

// Payment returns a decided payment.
func (c *Contract) Payment(kind string, year int) (PaymentDecided, bool) {
	i, ok := c.decided[paymentKey{kind, year}]
	if !ok {
		return PaymentDecided{}, false
	}
	return c.Payments[i], true
}

// LastYear returns the last contract year that has begun: 5, or the year
// of termination.
func (c *Contract) LastYear() int {
	if c.Terminated() {
		if k := c.Years.Of(c.TerminatedOn); k > 0 {
			return k
		}
	}
	return c.Years.Count
}

// Aid returns the aid of contract year k, from the table in force on the
// year's first day, and that table's id.
func (c *Contract) Aid(k int) (domain.Exact, string, error) {
	t, ok := c.rules.TableOn(c.Years.Start(k))
	if !ok {
		return domain.Exact{}, "", fmt.Errorf("assistant: no aid table in force on %s", c.Years.Start(k))
	}
	aid, ok := t.Options[c.Terms.Option].Aid(k, c.Terms.Band)
	if !ok {
		return domain.Exact{}, t.ID, fmt.Errorf("assistant: table %s has no year-%d aid for option %s", t.ID, k, c.Terms.Option)
	}
	return domain.ExactDecimal(aid), t.ID, nil
}

// Rate returns the objective rate of year k ≥ 3 from the patientèle P
// reported for year k−1: 1 when P ≥ T; else clamp((P − B) / (T − B), 0, 1)
// when T > B, or clamp(P / B, 0, 1) when T = B (a "maintain" objective).
func (c *Contract) Rate(k int) (domain.Exact, bool) {
	r, ok := c.Reports[k-1]
	if !ok {
		return domain.Exact{}, false
	}
	p, b, t := int64(r.Patientele), int64(c.Terms.PatienteleBaseline), int64(c.Terms.PatienteleTarget)
	zero, one := domain.ExactInt(0), domain.ExactInt(1)
	if floor, ok := c.seniorFloor(k - 1); ok {
		// Maintain, less the tolerance: 1 from the floor, prorata below.
		return domain.ExactInt(p).Quo(floor).Clamp(zero, one), true
	}
	switch {
	case p >= t:
		return one, true
	case t > b:
		return domain.Ratio(p-b, t-b).Clamp(zero, one), true
	}
	return domain.Ratio(p, b).Clamp(zero, one), true
}

// seniorFloor is, for contract year k, the patientèle a doctor of the
// senior objective's age maintains (the baseline less its tolerance), when
// the rulebook has the objective and the doctor is that age by the year's
// last day (docs/domain.md §3, interpretation).
func (c *Contract) seniorFloor(k int) (domain.Exact, bool) {
	so, born := c.Rulebook.SeniorObjective, c.Terms.Doctor.BornOn
	if so == nil || born == nil || k < 1 {
		return domain.Exact{}, false
	}
	lastDay := c.Years.End(k).AddDays(-1)
	if born.AddYears(so.Age).After(lastDay) {
		return domain.Exact{}, false
	}
	floor := decimal.NewFromInt(int64(c.Terms.PatienteleBaseline)).Mul(decimal.NewFromInt(1).Sub(so.Tolerance))
	return domain.ExactDecimal(floor), true
}

// Party returns the contract's beneficiary and CPAM, from its signature
// ("" before it is signed).
func (c *Contract) Party() (name, cpam string) {
	if !c.Signed {
		return "", ""
	}
	return c.Terms.Party()
}
