package cpts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Commands on the reference streams (reference.go).
const (
	CmdPublishRulebookAmendment = "PublishRulebookAmendment"
	CmdRecogniseCrisis          = "RecogniseCrisis"
	CmdCorrectCrisisRecognition = "CorrectCrisisRecognition"
)

// ReferenceCommands lists the command types of the reference streams.
func ReferenceCommands() []string {
	return []string{CmdPublishRulebookAmendment, CmdRecogniseCrisis, CmdCorrectCrisisRecognition, CmdRecordPayerAccount}
}

// ReferenceStream returns the stream a reference command writes.
func ReferenceStream(commandType string) string {
	switch commandType {
	case CmdPublishRulebookAmendment:
		return RulebooksStream
	case CmdRecordPayerAccount:
		return PayersStream
	}
	return CrisesStream
}

// MaxAnnualAmount bounds an amount an amendment sets: no annual amount of
// the ACI reaches it (the largest cap, T4's, is 580 000 €).
var MaxAnnualAmount = decimal.NewFromInt(1_000_000)

// PublishRulebookAmendment publishes amounts of a rulebook version.
type PublishRulebookAmendment struct {
	CommandID string
	RulebookAmendmentPublished
}

// RecogniseCrisis records that an ARS recognises a crisis.
type RecogniseCrisis struct {
	CommandID string
	CrisisRecognised
}

// CorrectCrisisRecognition corrects or withdraws a recognition.
type CorrectCrisisRecognition struct {
	CommandID string
	CrisisRecognitionCorrected
}

func (PublishRulebookAmendment) CommandType() string { return CmdPublishRulebookAmendment }
func (RecogniseCrisis) CommandType() string          { return CmdRecogniseCrisis }
func (CorrectCrisisRecognition) CommandType() string { return CmdCorrectCrisisRecognition }

// ActDate implements domain.ActDated: an amendment's publication, a
// recognition and its correction are acts the ledger dates.
func (c PublishRulebookAmendment) ActDate() (string, domain.Date) {
	return "published_on", c.PublishedOn
}
func (c RecogniseCrisis) ActDate() (string, domain.Date) { return "recognised_on", c.RecognisedOn }
func (c CorrectCrisisRecognition) ActDate() (string, domain.Date) {
	return "corrected_on", c.CorrectedOn
}

func (c PublishRulebookAmendment) Meta() domain.CommandMeta {
	return domain.CommandMeta{CommandID: c.CommandID}
}
func (c RecogniseCrisis) Meta() domain.CommandMeta { return domain.CommandMeta{CommandID: c.CommandID} }
func (c CorrectCrisisRecognition) Meta() domain.CommandMeta {
	return domain.CommandMeta{CommandID: c.CommandID}
}

type wireHead struct {
	Type      string `json:"type"`
	CommandID string `json:"command_id"`
}

type wireAmendment struct {
	wireHead
	AmendmentID string `json:"amendment_id"`
	Amends      string `json:"amends"`
	EffectiveOn string `json:"effective_on"`
	PublishedOn string `json:"published_on"`
	Amounts     []struct {
		Tier      string                `json:"tier"`
		Mission   string                `json:"mission"`
		Component string                `json:"component"`
		Amount    domain.NumberOrString `json:"amount"`
	} `json:"amounts"`
	Retroactive bool   `json:"retroactive"`
	Source      string `json:"source"`
	Reason      string `json:"reason"`
}

type wireCrisis struct {
	wireHead
	ARS          string `json:"ars"`
	ContractID   string `json:"contract_id"`
	From         string `json:"from"`
	To           string `json:"to"`
	RecognisedOn string `json:"recognised_on"`
	Reason       string `json:"reason"`
}

type wireCrisisCorrection struct {
	wireHead
	Corrects    string `json:"corrects"`
	From        string `json:"from"`
	To          string `json:"to"`
	Withdrawn   bool   `json:"withdrawn"`
	CorrectedOn string `json:"corrected_on"`
	Reason      string `json:"reason"`
}

// DecodeReferenceCommand decodes a command of the reference streams; every
// field missing or malformed is named in a *domain.RejectedError.
func DecodeReferenceCommand(raw []byte, dates domain.Calendar) (Command, error) {
	d, err := domain.NewCommandDecoder(raw, dates)
	if err != nil {
		return nil, err
	}
	f := d.Fields()
	commandID := func(id string) string {
		if f.Required("command_id", id) {
			f.Name("command_id", id)
		}
		return id
	}
	optionalDate := func(field, s string) domain.Date {
		if s == "" {
			return domain.Date{}
		}
		return f.Date(field, s)
	}
	switch d.Header.Type {
	case CmdPublishRulebookAmendment:
		var w wireAmendment
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		c := decodeAmendment(d, commandID(w.CommandID), w)
		return d.Result(c)
	case CmdRecogniseCrisis:
		var w wireCrisis
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		c := RecogniseCrisis{CommandID: commandID(w.CommandID), CrisisRecognised: CrisisRecognised{ARS: w.ARS,
			From: f.Date("from", w.From), To: optionalDate("to", w.To), RecognisedOn: f.Date("recognised_on", w.RecognisedOn), Reason: w.Reason}}
		c.ARS = checkARS(f, "ars", w.ARS)
		f.Reason("reason", w.Reason)
		if w.ContractID != "" {
			id := f.UUID("contract_id", w.ContractID)
			c.ContractID = &id
		}
		return d.Result(c)
	case CmdCorrectCrisisRecognition:
		var w wireCrisisCorrection
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		// A withdrawal names no period: it keeps the recognition's.
		from := optionalDate("from", w.From)
		if !w.Withdrawn || w.From != "" {
			from = f.Date("from", w.From)
		}
		c := CorrectCrisisRecognition{CommandID: commandID(w.CommandID), CrisisRecognitionCorrected: CrisisRecognitionCorrected{
			Corrects: f.UUID("corrects", w.Corrects), From: from, To: optionalDate("to", w.To),
			Withdrawn: w.Withdrawn, CorrectedOn: f.Date("corrected_on", w.CorrectedOn), Reason: w.Reason}}
		f.Reason("reason", w.Reason)
		return d.Result(c)
	case CmdRecordPayerAccount:
		return decodePayer(d, commandID)
	}
	return nil, domain.UnknownCommand(d.Header.Type, CmdPublishRulebookAmendment)
}

// decodeAmendment checks and converts a PublishRulebookAmendment's fields,
// each fault recorded in d.V.
func decodeAmendment(d *domain.CommandDecoder, commandID string, w wireAmendment) PublishRulebookAmendment {
	f := d.Fields()
	c := PublishRulebookAmendment{CommandID: commandID, RulebookAmendmentPublished: RulebookAmendmentPublished{
		AmendmentID: w.AmendmentID, Amends: w.Amends, EffectiveOn: f.Date("effective_on", w.EffectiveOn),
		PublishedOn: f.Date("published_on", w.PublishedOn), Retroactive: w.Retroactive, Source: w.Source, Reason: w.Reason}}
	f.Name("amendment_id", w.AmendmentID)
	f.Name("amends", w.Amends)
	f.Reason("source", w.Source)
	f.Reason("reason", w.Reason)
	if w.Amounts == nil {
		d.V.Add(domain.CodeMissingField, "amounts", "is required: [{\"tier\":…,\"mission\":…,\"component\":…,\"amount\":…}]")
	} else if !f.List("amounts", len(w.Amounts)) {
		w.Amounts = nil
	}
	for i, a := range w.Amounts {
		field := fmt.Sprintf("amounts[%d]", i)
		f.Name(field+".tier", a.Tier)
		if a.Mission != "" || !slices.Contains(AgreementComponents(), a.Component) {
			// A row without a mission sets an amount of the agreement itself.
			f.Name(field+".mission", a.Mission)
		}
		f.Name(field+".component", a.Component)
		v, _ := f.Decimal(field+".amount", a.Amount.Number())
		c.Amounts = append(c.Amounts, AmountSet{Tier: a.Tier, Mission: a.Mission, Component: a.Component, Amount: v})
	}
	return c
}

// DecideReference checks a reference command against the reference as it
// stands and the rulebooks, and returns its event or every rule it breaks.
func DecideReference(ref *Reference, rules *Rules, cmd Command) ([]Event, error) {
	switch cmd := cmd.(type) {
	case PublishRulebookAmendment:
		return decidePublish(ref, rules, cmd.RulebookAmendmentPublished)
	case RecogniseCrisis:
		return decideRecognise(ref, rules, cmd.CrisisRecognised)
	case CorrectCrisisRecognition:
		return decideCorrectCrisis(ref, cmd.CrisisRecognitionCorrected)
	case RecordPayerAccount:
		return decidePayer(cmd)
	}
	return nil, domain.Reject(domain.CodeUnknownCommand, "type", fmt.Sprintf("%T is not a command of the reference streams", cmd))
}

func decidePublish(ref *Reference, rules *Rules, a RulebookAmendmentPublished) ([]Event, error) {
	var vs domain.Violations
	rb, ok := rules.ByID(a.Amends)
	if !ok {
		vs.Add(CodeUnknownRulebook, "amends", fmt.Sprintf("%q is not a CPTS rulebook version (%s)", a.Amends, rulebookIDs(rules)))
		return nil, vs.Err()
	}
	if prev, dup := ref.Amendment(a.AmendmentID); dup {
		vs.Add(CodeDuplicateAmendment, "amendment_id", fmt.Sprintf("amendment %q was published on %s (event %s): an amendment is published once", a.AmendmentID, prev.PublishedOn, prev.EventID))
	}
	last := rules.Calendar().Before.AddDays(-1)
	if !rb.InForce.To.IsZero() {
		last = domain.MinDate(last, rb.InForce.To)
	}
	if a.EffectiveOn.Before(rb.InForce.From) || a.EffectiveOn.After(last) {
		vs.Add(CodeEffectiveOutsideRulebook, "effective_on", fmt.Sprintf("%s is outside the days %s is in force (%s to %s)", a.EffectiveOn, rb.ID, rb.InForce.From, last))
	}
	checkAmountRows(&vs, rules, rb, a.Amounts)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	changes, backdated := amendmentChanges(ref, rules, rb, a)
	switch {
	case len(changes) == 0:
		vs.Add(CodeDuplicateAmendment, "amounts", fmt.Sprintf("every amount is already in force from %s under %s: the same amendment twice", a.EffectiveOn, rb.ID))
	case len(backdated) > 0 && !a.Retroactive:
		vs.Add(CodeAmendmentRetroactive, "effective_on", fmt.Sprintf("%s is before the publication on %s and changes amounts already published (%s): years already settled would change; an amendment that means it says \"retroactive\": true, and the settled years are then regularised",
			a.EffectiveOn, a.PublishedOn, backdated[0]))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{a}, nil
}

// checkAmountRows records the violations of an amendment's rows: each a
// tier and either a mission and a component the rulebook has, or no
// mission and an amount of the agreement the rulebook holds (operating,
// seed_topup, letter_of_intent), set once, to an amount in
// [0, MaxAnnualAmount] in euros and cents.
func checkAmountRows(vs *domain.Violations, rules *Rules, rb *Rulebook, rows []AmountSet) {
	seen := map[string]bool{}
	for i, s := range rows {
		field := fmt.Sprintf("amounts[%d]", i)
		if _, ok := rb.Amounts[s.Tier]; !ok {
			vs.Add(CodeUnknownTier, field+".tier", fmt.Sprintf("%q is not a tier of %s", s.Tier, rb.ID))
		}
		checkRowTarget(vs, rules, rb, field, s)
		if s.Amount.IsNegative() || s.Amount.GreaterThan(MaxAnnualAmount) || !s.Amount.Equal(s.Amount.Round(2)) {
			vs.Add(CodeAmountOutOfRange, field+".amount", fmt.Sprintf("must be 0 to %s euros, in cents at most, got %s", MaxAnnualAmount, s.Amount))
		}
		key := s.Tier + "/" + s.Mission + "/" + s.Component
		if seen[key] {
			vs.Add(CodeDuplicateAmount, field, fmt.Sprintf("%s of %s for %s is set twice", s.Component, missionText(s.Mission), s.Tier))
		}
		seen[key] = true
	}
}

// checkRowTarget records a row whose mission or component the rulebook
// does not have.
func checkRowTarget(vs *domain.Violations, rules *Rules, rb *Rulebook, field string, s AmountSet) {
	if s.Mission == "" {
		if _, ok := rules.agreementBase(rb, s.Tier, s.Component); !ok && slices.Contains(AgreementComponents(), s.Component) {
			vs.Add(CodeUnknownComponent, field+".component", fmt.Sprintf("%s holds no %s amount for %s (%s)", rb.ID, s.Component, s.Tier, agreementComponentsOf(rules, rb)))
		} else if !ok {
			vs.Add(CodeUnknownComponent, field+".component", fmt.Sprintf("%q is not an amount of the agreement (%s); a mission's amount names its mission", s.Component, agreementComponentsOf(rules, rb)))
		}
		return
	}
	if _, ok := rb.Mission(s.Mission); !ok {
		vs.Add(CodeUnknownMission, field+".mission", fmt.Sprintf("%q is not a mission of %s (%s)", s.Mission, rb.ID, missionCodes(rb)))
	} else if !componentOf(s.Mission, s.Component) {
		vs.Add(CodeUnknownComponent, field+".component", fmt.Sprintf("%q is not an amount of mission %q (%s)", s.Component, s.Mission, strings.Join(componentsOf(s.Mission), ", ")))
	}
}

// agreementComponentsOf lists the amounts of the agreement rb holds.
func agreementComponentsOf(rules *Rules, rb *Rulebook) string {
	var out []string
	for _, c := range AgreementComponents() {
		for _, t := range rb.Tiers {
			if _, ok := rules.agreementBase(rb, t.Code, c); ok {
				out = append(out, c)
				break
			}
		}
	}
	return strings.Join(out, ", ")
}

// missionText names a row's mission, or the agreement for a row without.
func missionText(m string) string {
	if m == "" {
		return "the agreement"
	}
	return m
}

func componentOf(mission, component string) bool {
	return slices.Contains(componentsOf(mission), component)
}

// componentsOf lists the amounts a mission has: access its SNP supplement
// and regulation besides its fixed and variable parts; crisis a fixed part
// (its plan) and its supplement, no variable part.
func componentsOf(mission string) []string {
	switch mission {
	case "access":
		return []string{ComponentFixed, ComponentVariable, ComponentSNPSupplement, ComponentSNPRegulation}
	case MissionCrisis:
		return []string{ComponentFixed, ComponentCrisisSupplement}
	}
	return []string{ComponentFixed, ComponentVariable}
}

// amendmentChanges returns the rows that change what is in force on the
// effective date (the rulebook and the amendments published before), and
// among them those that change an amount already published from a day
// before the publication: a retroactive change. Publishing an amount the
// rulebook did not know is never retroactive: the lines that needed it
// were withheld for it.
func amendmentChanges(ref *Reference, rules *Rules, rb *Rulebook, a RulebookAmendmentPublished) (changes, backdated []string) {
	for _, s := range a.Amounts {
		var v decimal.Decimal
		var published bool
		if s.Mission == "" {
			var by *PublishedAmendment
			v, by, published = ref.AgreementInForce(rules, rb, s.Tier, s.Component, a.EffectiveOn)
			if old, ok := rules.supersededTopup(rb, s.Tier); ok && by == nil && s.Component == ComponentSeedTopup {
				// The ledger's record of the top-up starts at the figure its
				// rulebook held: the signed one is a change to record
				// (SignedFiguresAmendmentID), not the same amount again.
				v = old
			}
		} else {
			cur, _ := ref.AmountsInForce(rb, s.Tier, s.Mission, a.EffectiveOn)
			v, published = cur.Get(s.Component)
		}
		if published && v.Equal(s.Amount) {
			continue
		}
		row := fmt.Sprintf("%s of %s for %s: %s → %s", s.Component, missionText(s.Mission), s.Tier, v, s.Amount)
		changes = append(changes, row)
		if published && a.EffectiveOn.Before(a.PublishedOn) {
			backdated = append(backdated, row)
		}
	}
	return changes, backdated
}

func rulebookIDs(rules *Rules) string {
	var ids []string
	for _, rb := range rules.Rulebooks() {
		ids = append(ids, rb.ID)
	}
	return strings.Join(ids, ", ")
}

func decideRecognise(ref *Reference, rules *Rules, c CrisisRecognised) ([]Event, error) {
	var vs domain.Violations
	if rb, ok := rules.Joining(MissionCrisis); ok && c.From.Before(rb.InForce.From) {
		vs.Add(CodeMissionNotInForce, "from", fmt.Sprintf("%s is before %s, from which the crisis mission exists (%s)", c.From, rb.InForce.From, rb.ID))
	}
	if !c.To.IsZero() && c.To.Before(c.From) {
		vs.Add(CodeCrisisPeriod, "to", fmt.Sprintf("%s is before the crisis's first day %s", c.To, c.From))
	}
	for _, r := range ref.Recognitions {
		if r.Withdrawn || !SameARS(r.ARS, c.ARS) || !sameScope(r.ContractID, c.ContractID) {
			continue
		}
		if overlaps(r.From, r.To, c.From, c.To) {
			vs.Add(CodeCrisisOverlaps, "from", fmt.Sprintf("recognition %s of %s already covers %s to %s: correct it (CorrectCrisisRecognition) rather than recognise the days twice", r.ID, r.ARS, r.From, endText(r.To)))
			break
		}
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{c}, nil
}

func decideCorrectCrisis(ref *Reference, c CrisisRecognitionCorrected) ([]Event, error) {
	var vs domain.Violations
	i := slices.IndexFunc(ref.Recognitions, func(r Recognition) bool { return r.ID == c.Corrects })
	if i < 0 {
		vs.Add(domain.CodeUnknownEvent, "corrects", fmt.Sprintf("no crisis recognition %s (ledger rulebooks lists them)", c.Corrects))
		return nil, vs.Err()
	}
	r := ref.Recognitions[i]
	if c.Withdrawn && c.From.IsZero() {
		c.From, c.To = r.From, r.To // a withdrawal that names no period
	}
	if c.CorrectedOn.Before(r.On) {
		vs.Add(domain.CodeCorrectedBeforeEvent, "corrected_on", fmt.Sprintf("%s is before the recognition's last date %s", c.CorrectedOn, r.On))
	}
	if !c.To.IsZero() && c.To.Before(c.From) {
		vs.Add(CodeCrisisPeriod, "to", fmt.Sprintf("%s is before the crisis's first day %s", c.To, c.From))
	}
	if r.Withdrawn {
		vs.Add(domain.CodeNoChange, "corrects", fmt.Sprintf("recognition %s was withdrawn on %s", r.ID, r.On))
	} else if c.From.Equal(r.From) && c.To.Equal(r.To) && !c.Withdrawn {
		vs.Add(domain.CodeNoChange, "", "the period is the one recognised")
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []Event{c}, nil
}

func sameScope(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// overlaps reports whether [af, at] and [bf, bt] share a day (a zero end:
// not ended).
func overlaps(af, at, bf, bt domain.Date) bool {
	return (at.IsZero() || !at.Before(bf)) && (bt.IsZero() || !bt.Before(af))
}

func endText(d domain.Date) string {
	if d.IsZero() {
		return "(not ended)"
	}
	return d.String()
}
