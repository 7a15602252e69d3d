package cpts

import (
	"fmt"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// Contract is the state of one CPTS contract, folded from its events. It
// changes only through Apply.
type Contract struct {
	ID     uuid.UUID
	Signed bool
	// Terms is the signature event: the parties, tier, missions, indicators.
	Terms    ContractSigned
	Rulebook *Rulebook
	Years    domain.ContractYears

	Starts  map[string]domain.Date
	Deploys map[string]domain.Date
	Reports map[int]IndicatorsReported

	// Payments lists the decisions in the order they were made.
	Payments []PaymentDecided
	decided  map[paymentKey]int

	TerminatedOn      domain.Date
	TerminationReason string

	// Corrections are the corrections not yet taken into account by a
	// regularisation.
	Corrections []domain.CorrectionRecord

	// Amendments are the rulebook amendments noted, in order; Crises the
	// crisis recognitions noted, by recognition (reference.go).
	Amendments []RulebookAmendmentApplied
	Crises     map[uuid.UUID]CrisisNoted
	// applied holds the reference facts noted (appliedKey).
	applied map[string]bool

	// Letter is set on a letter of intent's stream: its validation (a
	// letter is not a contract: Signed stays false).
	Letter *LetterOfIntentValidated
	// Treasury holds the beneficiary's bank accounts and the orders to
	// pay it.
	Treasury domain.Treasury

	// history is every event applied, in order: what a decision as of a
	// date replays without the corrections dated after it (asOf).
	history []Event

	rules *Rules
}

type paymentKey struct {
	kind    string
	year    int
	mission string
}

// NewContract returns the empty state of a contract not yet signed, ruled
// by the embedded rulebooks.
func NewContract(id uuid.UUID) *Contract { return NewContractWith(id, defaultRules) }

// NewContractWith is NewContract with another set of rulebooks.
func NewContractWith(id uuid.UUID, rules *Rules) *Contract {
	return &Contract{
		ID: id, rules: rules,
		Starts: map[string]domain.Date{}, Deploys: map[string]domain.Date{},
		Reports: map[int]IndicatorsReported{}, decided: map[paymentKey]int{},
		Crises: map[uuid.UUID]CrisisNoted{}, applied: map[string]bool{},
	}
}

// Rules returns the rulebooks the contract is judged by.
func (c *Contract) Rules() *Rules { return c.rules }

// Terminated reports whether the contract was terminated.
func (c *Contract) Terminated() bool { return !c.TerminatedOn.IsZero() }

// Apply changes the state by one event. It returns an error only for an
// event that cannot belong to this contract (a log that was not written by
// Decide).
func (c *Contract) Apply(e Event) error {
	if err := c.apply(e); err != nil {
		return err
	}
	c.history = append(c.history, e)
	return nil
}

// Payee is the contract as the treasury reads it; a letter of intent is
// paid as a signed contract is.
func (c *Contract) Payee() domain.Payee {
	p := domain.Payee{ContractID: c.ID, Scheme: Scheme, Stream: domain.Stream(Scheme, c.ID), Signed: c.Signed || c.Letter != nil,
		TerminatedOn: c.TerminatedOn, Payments: c.Payments, Treasury: &c.Treasury, CPAM: c.Terms.CPAM}
	if c.Rulebook != nil {
		p.PrescriptionYears = c.Rulebook.RecoveryPrescriptionYears
	}
	if c.Letter != nil {
		p.CPAM = c.Letter.CPAM
	}
	return p
}

func (c *Contract) apply(e Event) error {
	if ok, err := c.Treasury.Apply(e); ok {
		return err
	}
	switch e := e.(type) {
	case ContractSigned:
		rb, ok := c.rules.ByID(e.Rulebook)
		if !ok {
			return fmt.Errorf("cpts: contract %s signed under unknown rulebook %q", c.ID, e.Rulebook)
		}
		c.Signed = true
		c.Terms = e
		c.Rulebook = rb
		c.Years = domain.ContractYears{Signed: e.SignedOn, Count: rb.ContractYears}
	case LetterOfIntentValidated:
		c.Letter = &e
	case MissionStarted:
		c.Starts[e.Mission] = e.StartedOn
	case MissionDeployed:
		c.Deploys[e.Mission] = e.DeployedOn
	case IndicatorsReported:
		c.Reports[e.ContractYear] = e
	case PaymentDecided:
		key := paymentKey{e.Kind, e.ContractYear, e.Mission}
		if e.Kind == domain.KindRegularisation {
			// Several per year: each its own key.
			key.mission = fmt.Sprint("#", len(c.Payments))
		}
		// A decision as of a date took into account every correction
		// dated on or before it (its regularisations are among the
		// payments decided with it): they are no longer pending, and a
		// later regularisation does not cite them.
		c.Corrections = domain.Settle(c.Corrections, e.DecidedOn)
		c.decided[key] = len(c.Payments)
		c.Payments = append(c.Payments, e)
	case ContractTerminated:
		c.TerminatedOn = e.TerminatedOn
		c.TerminationReason = e.Reason
		// A termination dated before decisions already made corrects
		// them: it counts as a correction dated on the termination.
		c.Corrections = append(c.Corrections, domain.CorrectionRecord{CorrectedOn: e.TerminatedOn, Reason: e.Reason})
	default:
		if !c.applyCorrection(e) && !c.applyReference(e) {
			return fmt.Errorf("cpts: event %T is not a CPTS event", e)
		}
	}
	return nil
}

// HasMission reports whether the contract includes a mission: signed
// with it, or taken up later by starting it (a mission a later rulebook
// created for earlier contracts too).
func (c *Contract) HasMission(m string) bool {
	if slices.Contains(c.Terms.Missions, m) {
		return true
	}
	_, started := c.Starts[m]
	return started && c.joinable(m)
}

// joinable reports whether mission m, which the contract's own rulebook
// does not have, is one a later rulebook lets earlier contracts take up.
func (c *Contract) joinable(m string) bool {
	if _, own := c.Rulebook.Mission(m); own {
		return false
	}
	_, ok := c.rules.Joining(m)
	return ok
}

// Missions returns the contract's missions in rulebook order, the missions
// taken up later after its own.
func (c *Contract) Missions() []string {
	out := slices.Clone(c.Terms.Missions)
	for m := range c.Starts {
		if !slices.Contains(out, m) && c.joinable(m) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return c.missionOrder(a) - c.missionOrder(b) })
	return out
}

// missionOrder is the position of a mission in the contract's rulebook, a
// mission taken up later after them.
func (c *Contract) missionOrder(m string) int {
	if i := c.Rulebook.MissionOrder(m); i >= 0 || m == "" {
		return i
	}
	if rb, ok := c.rules.Joining(m); ok {
		return len(c.Rulebook.Missions) + rb.MissionOrder(m)
	}
	return -1
}

// Payment returns the decision of a payment, if made.
func (c *Contract) Payment(kind string, year int, mission string) (PaymentDecided, bool) {
	i, ok := c.decided[paymentKey{kind, year, mission}]
	if !ok {
		return PaymentDecided{}, false
	}
	return c.Payments[i], true
}

// YearClosed reports whether year k's balance has been decided.
func (c *Contract) YearClosed(k int) bool {
	_, ok := c.decided[paymentKey{KindAnnualBalance, k, ""}]
	return ok
}

// PeriodEnd returns the end (exclusive) of what counts in year k: End(k), or
// the termination date when the contract ended inside year k.
func (c *Contract) PeriodEnd(k int) domain.Date {
	end := c.Years.End(k)
	if c.Terminated() && c.TerminatedOn.Before(end) {
		return domain.MaxDate(c.TerminatedOn, c.Years.Start(k))
	}
	return end
}

// LastYear returns the last contract year that has begun: 5, or the year of
// termination.
func (c *Contract) LastYear() int {
	if c.Terminated() {
		if k := c.Years.Of(c.TerminatedOn); k > 0 {
			return k
		}
	}
	return c.Years.Count
}

// ActiveDays returns the days of year k during which mission m was running.
func (c *Contract) ActiveDays(k int, m string) int {
	started, ok := c.Starts[m]
	if !ok {
		return 0
	}
	from := domain.MaxDate(c.Years.Start(k), started)
	return max(0, from.DaysUntil(c.PeriodEnd(k)))
}

// ActiveMissions returns the missions running at some point in year k, in
// rulebook order.
func (c *Contract) ActiveMissions(k int) []string {
	var out []string
	for _, m := range c.Missions() {
		if c.ActiveDays(k, m) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// IndicatorsOf returns a mission's indicators in signature order.
func (c *Contract) IndicatorsOf(m string) []Indicator {
	var out []Indicator
	for _, in := range c.Terms.Indicators {
		if in.Mission == m {
			out = append(out, in)
		}
	}
	return out
}

// Party returns the contract's beneficiary and CPAM, from its signature
// ("" before it is signed).
func (c *Contract) Party() (name, cpam string) {
	if !c.Signed {
		return "", ""
	}
	return c.Terms.Party()
}
