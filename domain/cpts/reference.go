package cpts

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Reference facts: what the decisions of every contract may depend on and
// no contract's stream holds first — the rulebook amendments an operator
// publishes, and the crises an ARS recognises. Each has its own stream,
// hash-chained, checkpointed and relayed like every other. A decision
// copies the facts it takes into account into the contract's stream
// (RulebookAmendmentApplied, CrisisNoted) before the payments they change:
// why — the contract's stream alone then says what each decision knew, so
// that replaying it, asking it "as known at", and regularising a settled
// year work as for a correction of the contract's own facts.

// The streams of the reference facts.
const (
	RulebooksStream = "rulebooks-cpts"
	CrisesStream    = "crises-cpts"
)

// Event types of the reference streams, and of their copies in a
// contract's stream.
const (
	TypeRulebookAmendmentPublished = "RulebookAmendmentPublished"
	TypeCrisisRecognised           = "CrisisRecognised"
	TypeCrisisRecognitionCorrected = "CrisisRecognitionCorrected"
	TypeRulebookAmendmentApplied   = "RulebookAmendmentApplied"
	TypeCrisisNoted                = "CrisisNoted"
)

// AmountSet is one amount an amendment sets: a tier's annual amount of a
// mission's component.
type AmountSet struct {
	Tier      string          `json:"tier"`
	Mission   string          `json:"mission,omitempty"` // none: an amount of the agreement itself
	Component string          `json:"component"`
	Amount    decimal.Decimal `json:"amount"`
}

// RulebookAmendmentPublished: an operator publishes amounts of a rulebook
// version from a date (domain.md §2.10).
type RulebookAmendmentPublished struct {
	AmendmentID string      `json:"amendment_id"`
	Amends      string      `json:"amends"`
	EffectiveOn domain.Date `json:"effective_on"`
	PublishedOn domain.Date `json:"published_on"`
	Amounts     []AmountSet `json:"amounts"`
	// Retroactive: the amendment changes amounts already published from a
	// date before its publication, and says so; settled years are then
	// regularised.
	Retroactive bool   `json:"retroactive"`
	Source      string `json:"source"`
	Reason      string `json:"reason"`
}

// CrisisRecognised: an ARS recognises a serious health crisis, for one
// contract or for every contract of the ARS, from a date to a date (zero:
// not ended).
type CrisisRecognised struct {
	ARS          string      `json:"ars"`
	ContractID   *uuid.UUID  `json:"contract_id,omitempty"`
	From         domain.Date `json:"from"`
	To           domain.Date `json:"to,omitzero"`
	RecognisedOn domain.Date `json:"recognised_on"`
	Reason       string      `json:"reason"`
}

// CrisisRecognitionCorrected: a recognition's period is corrected (ended,
// shortened, moved) or the recognition withdrawn.
type CrisisRecognitionCorrected struct {
	Corrects    uuid.UUID   `json:"corrects"`
	From        domain.Date `json:"from"`
	To          domain.Date `json:"to,omitzero"`
	Withdrawn   bool        `json:"withdrawn"`
	CorrectedOn domain.Date `json:"corrected_on"`
	Reason      string      `json:"reason"`
}

// RulebookAmendmentApplied: a decision takes a published amendment into
// account for this contract (the amounts of its tier).
type RulebookAmendmentApplied struct {
	ContractID       uuid.UUID   `json:"contract_id"`
	AmendmentEventID uuid.UUID   `json:"amendment_event_id"`
	AmendmentID      string      `json:"amendment_id"`
	Amends           string      `json:"amends"`
	EffectiveOn      domain.Date `json:"effective_on"`
	PublishedOn      domain.Date `json:"published_on"`
	Amounts          []AmountSet `json:"amounts"`
	Reason           string      `json:"reason"`
}

// CrisisNoted: a decision takes a crisis recognition (or its correction)
// into account for this contract.
type CrisisNoted struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	Recognition   uuid.UUID   `json:"recognition"`
	SourceEventID uuid.UUID   `json:"source_event_id"`
	ARS           string      `json:"ars"`
	From          domain.Date `json:"from"`
	To            domain.Date `json:"to,omitzero"`
	Withdrawn     bool        `json:"withdrawn"`
	NotedOn       domain.Date `json:"noted_on"`
	Reason        string      `json:"reason"`
}

func (RulebookAmendmentPublished) EventType() string { return TypeRulebookAmendmentPublished }
func (CrisisRecognised) EventType() string           { return TypeCrisisRecognised }
func (CrisisRecognitionCorrected) EventType() string { return TypeCrisisRecognitionCorrected }
func (RulebookAmendmentApplied) EventType() string   { return TypeRulebookAmendmentApplied }
func (CrisisNoted) EventType() string                { return TypeCrisisNoted }

func (e RulebookAmendmentPublished) BusinessDate() domain.Date { return e.PublishedOn }
func (e CrisisRecognised) BusinessDate() domain.Date           { return e.RecognisedOn }
func (e CrisisRecognitionCorrected) BusinessDate() domain.Date { return e.CorrectedOn }
func (e RulebookAmendmentApplied) BusinessDate() domain.Date   { return e.PublishedOn }
func (e CrisisNoted) BusinessDate() domain.Date                { return e.NotedOn }

// Covers reports whether the crisis period overlaps [from, before).
func (e CrisisNoted) Covers(from, before domain.Date) bool {
	if e.Withdrawn || !e.From.Before(before) {
		return false
	}
	return e.To.IsZero() || !e.To.Before(from)
}

// PublishedAmendment is an amendment with the id of its event.
type PublishedAmendment struct {
	EventID uuid.UUID
	RulebookAmendmentPublished
}

// Recognition is the current state of one crisis recognition: its first
// event's id, and the version its last event gives.
type Recognition struct {
	ID      uuid.UUID // the CrisisRecognised event's id
	Version uuid.UUID // the id of the event that gave the current state
	CrisisRecognised
	Withdrawn bool
	On        domain.Date // the date of the current version
}

// Reaches tells whether a crisis recognition concerns a contract followed
// by the ARS ars: one of its ARS, when it is for every contract of the
// ARS, or that one contract. The one rule of a crisis's reach: a decision
// notes the recognitions that reach its contract, and a recognition
// corrected is judged on the contracts it reaches.
func (r CrisisRecognised) Reaches(ars string, contract uuid.UUID) bool {
	return SameARS(r.ARS, ars) && (r.ContractID == nil || *r.ContractID == contract)
}

// Reference is the state of the reference streams, folded in order: what
// the decisions of contracts take into account, and what a new amendment
// or recognition is checked against.
type Reference struct {
	Amendments   []PublishedAmendment
	Recognitions []Recognition
	// Payers are the payers' accounts, in the order recorded.
	Payers []PayerAccountRecorded
}

// Apply folds one event of a reference stream.
func (r *Reference) Apply(eventID uuid.UUID, e Event) error {
	switch e := e.(type) {
	case PayerAccountRecorded:
		r.Payers = append(r.Payers, e)
	case RulebookAmendmentPublished:
		r.Amendments = append(r.Amendments, PublishedAmendment{EventID: eventID, RulebookAmendmentPublished: e})
	case CrisisRecognised:
		r.Recognitions = append(r.Recognitions, Recognition{ID: eventID, Version: eventID, CrisisRecognised: e, On: e.RecognisedOn})
	case CrisisRecognitionCorrected:
		i := slices.IndexFunc(r.Recognitions, func(x Recognition) bool { return x.ID == e.Corrects })
		if i < 0 {
			return fmt.Errorf("cpts: correction of an unknown crisis recognition %s", e.Corrects)
		}
		rec := &r.Recognitions[i]
		rec.Version, rec.From, rec.To, rec.Withdrawn, rec.On = eventID, e.From, e.To, e.Withdrawn, e.CorrectedOn
		rec.Reason = e.Reason
	default:
		return fmt.Errorf("cpts: %T is not an event of a reference stream", e)
	}
	return nil
}

// Amendment returns the amendment with that id.
func (r *Reference) Amendment(id string) (PublishedAmendment, bool) {
	i := slices.IndexFunc(r.Amendments, func(a PublishedAmendment) bool { return a.AmendmentID == id })
	if i < 0 {
		return PublishedAmendment{}, false
	}
	return r.Amendments[i], true
}

// Copy copies the reference (the command path keeps one and hands
// snapshots to decisions).
func (r *Reference) Copy() *Reference {
	if r == nil {
		return nil
	}
	return &Reference{Amendments: slices.Clone(r.Amendments), Recognitions: slices.Clone(r.Recognitions), Payers: slices.Clone(r.Payers)}
}

// Clone implements domain.Reference.
func (r *Reference) Clone() domain.Reference { return r.Copy() }

// notes returns the reference facts a decision as of asOf takes into
// account for the first time: the amendments published by then that set
// amounts of the contract's tier for a rulebook it uses, and the versions
// of the crisis recognitions of its ARS (or of it) dated by then.
func (c *Contract) notes(ref *Reference, asOf domain.Date) []Event {
	if ref == nil {
		return nil
	}
	var out []Event
	for _, a := range ref.Amendments {
		if a.PublishedOn.After(asOf) || c.applied[appliedKey(a.EventID, c.Terms.Tier)] || !c.usesRulebook(a.Amends) {
			continue
		}
		var rows []AmountSet
		for _, s := range a.Amounts {
			if s.Tier == c.Terms.Tier && (c.HasMission(s.Mission) || s.Mission == "" && c.ruledBy(a.Amends, s.Component)) {
				rows = append(rows, s)
			}
		}
		if len(rows) == 0 {
			continue
		}
		out = append(out, RulebookAmendmentApplied{ContractID: c.ID, AmendmentEventID: a.EventID, AmendmentID: a.AmendmentID,
			Amends: a.Amends, EffectiveOn: a.EffectiveOn, PublishedOn: a.PublishedOn, Amounts: rows, Reason: a.Reason})
	}
	for _, r := range ref.Recognitions {
		if !c.HasMission(MissionCrisis) {
			break // noted when the contract takes the mission up
		}
		if r.On.After(asOf) || c.applied[appliedKey(r.Version, "")] || !r.Reaches(c.Terms.ARS, c.ID) {
			continue
		}
		if _, known := c.Crises[r.ID]; !known && r.Withdrawn {
			continue // withdrawn before this contract took it into account
		}
		out = append(out, CrisisNoted{ContractID: c.ID, Recognition: r.ID, SourceEventID: r.Version, ARS: r.ARS,
			From: r.From, To: r.To, Withdrawn: r.Withdrawn, NotedOn: r.On, Reason: r.Reason})
	}
	return out
}

// applyReference changes the state by a noted reference fact; ok is false
// for another event. A noted fact counts as a correction dated on its
// publication: a settled year it changes is regularised.
func (c *Contract) applyReference(e Event) bool {
	var on domain.Date
	var reason string
	switch e := e.(type) {
	case RulebookAmendmentApplied:
		c.Amendments = append(c.Amendments, e)
		for _, s := range e.Amounts {
			c.applied[appliedKey(e.AmendmentEventID, s.Tier)] = true
		}
		on, reason = e.PublishedOn, e.Reason
	case CrisisNoted:
		c.Crises[e.Recognition] = e
		c.applied[appliedKey(e.SourceEventID, "")] = true
		on, reason = e.NotedOn, e.Reason
	default:
		return false
	}
	c.Corrections = append(c.Corrections, domain.CorrectionRecord{CorrectedOn: on, Reason: reason})
	return true
}

// ruledBy reports whether an amount of the agreement under rulebook id
// rules this contract: the operating amount of its own rulebook, the
// top-up when it is eligible for it (a letter-of-intent aid is the
// letter's, not the contract's).
func (c *Contract) ruledBy(id, component string) bool {
	if id != c.Rulebook.ID {
		return false
	}
	switch component {
	case ComponentOperating:
		return true
	case ComponentSeedTopup:
		for _, a := range c.rules.AmendmentsOf(id) {
			if !c.Terms.SignedOn.After(a.SignedOnOrBefore) {
				return true
			}
		}
	}
	return false
}

// appliedKey names a reference fact noted: an amendment's rows of a tier
// (a contract whose tier a correction changes notes the rows of its new
// tier), a recognition's version.
func appliedKey(event uuid.UUID, tier string) string { return event.String() + "/" + tier }

// usesRulebook reports whether amounts of the rulebook id may rule this
// contract: its own, or the one a mission it took up comes from.
func (c *Contract) usesRulebook(id string) bool {
	if c.Rulebook.ID == id {
		return true
	}
	for _, m := range c.Missions() {
		if rb := c.bookOf(m); rb != nil && rb.ID == id {
			return true
		}
	}
	return false
}

// bookOf returns the rulebook whose amounts and deadlines rule mission m
// for this contract: its own, or, for a mission it took up later (crisis
// under an earlier rulebook), the rulebook that created it.
func (c *Contract) bookOf(m string) *Rulebook {
	if _, ok := c.Rulebook.Mission(m); ok {
		return c.Rulebook
	}
	if rb, ok := c.rules.Joining(m); ok {
		return rb
	}
	return nil
}

// Cite is where a line's amount comes from: the rulebook version, and the
// event of the amendment that set it, if one did.
type Cite struct {
	Rulebook  string
	Amendment *RulebookAmendmentApplied
}

// missionAmounts returns the amounts of mission m in force on d for the
// contract's tier: its rulebook's, then each amendment noted and in effect
// by d, in the order they were published (amountsInForce).
func (c *Contract) missionAmounts(m string, d domain.Date) (MissionAmounts, Cite) {
	rb := c.bookOf(m)
	if rb == nil {
		return MissionAmounts{}, Cite{}
	}
	a, _, last := amountsInForce(rb, c.Terms.Tier, m, d, len(c.Amendments), func(i int) (string, domain.Date, []AmountSet) {
		am := &c.Amendments[i]
		return am.Amends, am.EffectiveOn, am.Amounts
	})
	cite := Cite{Rulebook: rb.ID}
	if last >= 0 {
		cite.Amendment = &c.Amendments[last]
	}
	return a, cite
}

// amountsInForce is the one rule of the amounts in force: a tier's amounts
// of a mission under rulebook rb on d (zero: whatever the date) are the
// rulebook's, then, for each of the n amendments in the order they were
// published (amendment(i): what it amends, from when, its rows) that
// amends rb and is in effect on d, its rows for that tier and mission. by
// names, per component, the amendment that set it last; last is the last
// amendment that set any (-1: none).
func amountsInForce(rb *Rulebook, tier, mission string, d domain.Date, n int, amendment func(i int) (amends string, effective domain.Date, rows []AmountSet)) (a MissionAmounts, by map[string]int, last int) {
	a, by, last = rb.Amounts[tier].Missions[mission], map[string]int{}, -1
	for i := range n {
		amends, effective, rows := amendment(i)
		if amends != rb.ID || !d.IsZero() && effective.After(d) {
			continue
		}
		for _, s := range rows {
			if s.Tier == tier && s.Mission == mission {
				a, by[s.Component], last = a.With(s.Component, s.Amount), i, i
			}
		}
	}
	return a, by, last
}

// The amounts of the agreement itself an amendment may set: a row without
// a mission.
const (
	ComponentOperating      = "operating"        // the operating amount of every year
	ComponentSeedTopup      = "seed_topup"       // amendment 2's top-up of the seed funding
	ComponentLetterOfIntent = "letter_of_intent" // the aid once the ARS validates a letter of intent
)

// AgreementComponents lists the components of a row without a mission.
func AgreementComponents() []string {
	return []string{ComponentOperating, ComponentSeedTopup, ComponentLetterOfIntent}
}

// agreementBase returns rb's own amount of an agreement component for a
// tier; ok is false when rb holds no such amount (a version without a
// top-up or a letter-of-intent aid).
func (r *Rules) agreementBase(rb *Rulebook, tier, component string) (decimal.Decimal, bool) {
	switch component {
	case ComponentOperating:
		a, ok := rb.Amounts[tier]
		return a.Operating, ok
	case ComponentSeedTopup:
		for _, a := range r.AmendmentsOf(rb.ID) {
			if sf, ok := a.SeedFunding[tier]; ok {
				return sf.Topup(), true
			}
		}
	case ComponentLetterOfIntent:
		v, ok := rb.LetterOfIntent[tier]
		return v, ok
	}
	return decimal.Decimal{}, false
}

// agreementInForce is the rule of the amounts in force for an amount of
// the agreement itself: rb's (base), then, for each of the n amendments in
// the order they were published that amends rb and is in effect on d
// (zero: whatever the date), its row without a mission for that tier and
// component. last is the amendment that set it last (-1: none).
func agreementInForce(base decimal.Decimal, rb *Rulebook, tier, component string, d domain.Date, n int, amendment func(i int) (amends string, effective domain.Date, rows []AmountSet)) (v decimal.Decimal, last int) {
	v, last = base, -1
	for i := range n {
		amends, effective, rows := amendment(i)
		if amends != rb.ID || !d.IsZero() && effective.After(d) {
			continue
		}
		for _, s := range rows {
			if s.Tier == tier && s.Mission == "" && s.Component == component {
				v, last = s.Amount, i
			}
		}
	}
	return v, last
}

// agreementAmount returns an amount of the agreement in force on d for the
// contract's tier under its rulebook, with where it comes from.
func (c *Contract) agreementAmount(component string, d domain.Date) (decimal.Decimal, Cite) {
	base, _ := c.rules.agreementBase(c.Rulebook, c.Terms.Tier, component)
	v, last := agreementInForce(base, c.Rulebook, c.Terms.Tier, component, d, len(c.Amendments), func(i int) (string, domain.Date, []AmountSet) {
		am := &c.Amendments[i]
		return am.Amends, am.EffectiveOn, am.Amounts
	})
	cite := Cite{Rulebook: c.Rulebook.ID}
	if last >= 0 {
		cite.Amendment = &c.Amendments[last]
	}
	return v, cite
}

// AgreementInForce is agreementInForce over the amendments published: an
// amount of the agreement of a tier under rb on d (zero: with every
// amendment); ok is false when rb holds no such amount; by is the
// amendment that set it, if one did.
func (r *Reference) AgreementInForce(rules *Rules, rb *Rulebook, tier, component string, d domain.Date) (v decimal.Decimal, by *PublishedAmendment, ok bool) {
	base, ok := rules.agreementBase(rb, tier, component)
	if !ok {
		return decimal.Decimal{}, nil, false
	}
	v, last := agreementInForce(base, rb, tier, component, d, len(r.Amendments), func(i int) (string, domain.Date, []AmountSet) {
		am := r.Amendments[i]
		return am.Amends, am.EffectiveOn, am.Amounts
	})
	if last >= 0 {
		by = &r.Amendments[last]
	}
	return v, by, true
}

// AmountsInForce is amountsInForce over the amendments published: a tier's
// amounts of a mission under rb on d (zero: with every amendment), and,
// per component, the amendment that set it.
func (r *Reference) AmountsInForce(rb *Rulebook, tier, mission string, d domain.Date) (MissionAmounts, map[string]PublishedAmendment) {
	a, by, _ := amountsInForce(rb, tier, mission, d, len(r.Amendments), func(i int) (string, domain.Date, []AmountSet) {
		am := r.Amendments[i]
		return am.Amends, am.EffectiveOn, am.Amounts
	})
	out := make(map[string]PublishedAmendment, len(by))
	for c, i := range by {
		out[c] = r.Amendments[i]
	}
	return a, out
}

// CheckReference applies the correction rules' prescription to a reference
// fact about to be recorded (ref holds it, on its date): when the contract
// would note it and a settled year's regularisation would then recover
// money decided more than recovery_prescription_years before that date,
// the fact is refused (prescribed), naming the contract — as a correction
// of the contract's own facts would be (docs/domain.md §4).
func (c *Contract) CheckReference(ref *Reference, on domain.Date) error {
	if !c.Signed {
		return nil
	}
	notes := c.notes(ref, on)
	if len(notes) == 0 {
		return nil
	}
	err := domain.PrescriptionAfter(c.clone(), notes, (*Contract).regularisations, c.Rulebook.RecoveryPrescriptionYears, on)
	var re *domain.RejectedError
	if errors.As(err, &re) {
		for i := range re.Violations {
			re.Violations[i].Rule = fmt.Sprintf("contract %s (%s): %s", c.ID, c.Terms.CPTS.Name, re.Violations[i].Rule)
		}
	}
	return err
}
