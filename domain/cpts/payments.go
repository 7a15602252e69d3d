package cpts

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// paymentNamespace derives payment ids: one payment per contract, kind,
// year and mission, whatever command decides it.
var paymentNamespace = uuid.MustParse("6f1c2b1e-3f0a-4c8e-9a55-5d6f0e1c2a77")

// PaymentID returns the id of a payment.
func PaymentID(contract uuid.UUID, kind string, year int, mission string) uuid.UUID {
	return uuid.NewSHA1(paymentNamespace, fmt.Appendf(nil, "%s/%s/%d/%s", contract, kind, year, mission))
}

// Rules, by payment kind, as named in each decision.
var ruleText = map[string]string{
	KindSignature:             "ACI art. 9 / docs/domain.md §2.4: the seed funding (year 1 operating) is paid at signature",
	KindMissionStartAdvance:   "ACI art. 9 / docs/domain.md §2.4: advance of the fixed part, prorated from the start to the end of the contract year",
	KindAnnualAdvance:         "ACI art. 9 / docs/domain.md §2.4: advance of the operating and fixed parts at each anniversary, withheld when the calendar is not met",
	KindAnnualBalance:         "ACI art. 9 / docs/domain.md §2.4, §2.5: the year's dues (operating, fixed, variable by achievement) less its advances, on the report",
	KindAmorcageTopup:         "Avenant 2 / docs/domain.md §2.6: seed funding raised for contracts signed on or before the eligibility date",
	KindRecovery:              "docs/domain.md §2.7: on termination, the advances beyond 75 % of what accrued are recovered",
	KindLetterOfIntent:        "Avenant 2 / docs/domain.md §2.6: the letter-of-intent aid by tier, paid once the ARS validates the letter, before any contract",
	domain.KindRegularisation: "docs/domain.md §4: what a settled year's dues are under the corrected facts, minus what was decided for it",
}

// kindRank orders payments due on the same day: a recovery before a balance
// (domain.md 2.8), advances before both.
var kindRank = map[string]int{
	KindSignature: 0, KindMissionStartAdvance: 1, KindAnnualAdvance: 2, KindAmorcageTopup: 3,
	KindRecovery: 4, KindAnnualBalance: 5,
}

// candidate is a payment that the facts make due.
type candidate struct {
	kind    string
	year    int
	mission string
	dueOn   domain.Date
}

// candidates lists the payments due on or before asOf and not yet decided,
// in the order they are decided.
func (c *Contract) candidates(asOf domain.Date) []candidate {
	var out []candidate
	add := func(kind string, year int, mission string, due domain.Date) {
		if due.After(asOf) {
			return
		}
		if _, done := c.decided[paymentKey{kind, year, mission}]; done {
			return
		}
		out = append(out, candidate{kind, year, mission, due})
	}
	// beforeEnd: an advance or top-up falls due only before the termination.
	beforeEnd := func(d domain.Date) bool { return !c.Terminated() || d.Before(c.TerminatedOn) }

	add(KindSignature, 1, "", c.Terms.SignedOn)
	for _, m := range c.Missions() {
		s, ok := c.Starts[m]
		if !ok || c.Years.IsAnniversary(s) || !beforeEnd(s) {
			continue
		}
		add(KindMissionStartAdvance, c.Years.Of(s), m, s)
	}
	for k := 2; k <= c.Years.Count; k++ {
		if d := c.Years.Start(k); beforeEnd(d) {
			add(KindAnnualAdvance, k, "", d)
		}
	}
	for k := 1; k <= c.Years.Count; k++ {
		if r, ok := c.Reports[k]; ok {
			add(KindAnnualBalance, k, "", r.ReportedOn)
		}
	}
	for _, a := range c.rules.AmendmentsOf(c.Rulebook.ID) {
		if !c.Terms.SignedOn.After(a.SignedOnOrBefore) && beforeEnd(a.EffectiveOn) {
			if k := c.Years.Of(a.EffectiveOn); k > 0 {
				add(KindAmorcageTopup, k, "", a.EffectiveOn)
			}
		}
	}
	if k := c.Years.Of(c.TerminatedOn); c.Terminated() && !c.YearClosed(k) {
		// A year already settled when a back-dated termination reaches it
		// is regularised instead.
		add(KindRecovery, k, "", c.TerminatedOn)
	}
	slices.SortStableFunc(out, func(a, b candidate) int {
		return cmp.Or(a.dueOn.Compare(b.dueOn), cmp.Compare(kindRank[a.kind], kindRank[b.kind]),
			cmp.Compare(a.year, b.year), cmp.Compare(c.missionOrder(a.mission), c.missionOrder(b.mission)))
	})
	return out
}

// decideDue decides, in due-date order, every payment due on or before asOf
// and not yet decided, then (when regularise) the regularisations the
// corrections dated on or before asOf call for. Each decision sees the ones
// before it (a balance sees the year's advances). Running it again decides
// nothing new.
func (c *Contract) decideDue(asOf domain.Date, regularise bool, ref *Reference) ([]Event, error) {
	if asOf.IsZero() {
		return nil, domain.Reject(domain.CodeMissingField, "as_of", "is required")
	}
	work := c.asOf(asOf).clone()
	var events []Event
	decide := func(p Event) error {
		if err := work.Apply(p); err != nil {
			return err
		}
		events = append(events, p)
		return nil
	}
	// The reference facts first: the payments below are decided with them.
	for _, n := range c.notes(ref, asOf) {
		if err := decide(n); err != nil {
			return nil, err
		}
	}
	pending := slices.Clone(work.Corrections) // the decisions below settle them
	settledBefore := map[int]bool{}
	for k := 1; k <= work.Years.Count; k++ {
		settledBefore[k] = work.settled(k)
	}
	for _, cand := range work.candidates(asOf) {
		if p, ok := work.compute(cand, asOf); ok {
			if err := decide(p); err != nil {
				return nil, err
			}
		}
	}
	if regularise {
		for _, p := range work.regularise(asOf, pending) {
			if err := decide(p); err != nil {
				return nil, err
			}
		}
		for _, p := range work.regulariseNewlySettled(settledBefore, pending, asOf) {
			if err := decide(p); err != nil {
				return nil, err
			}
		}
	}
	return events, nil
}

// clone copies the state, so that changes to the copy leave c alone.
func (c *Contract) clone() *Contract {
	d := *c
	d.Payments = slices.Clone(c.Payments)
	d.decided = maps.Clone(c.decided)
	d.Starts, d.Deploys, d.Reports = maps.Clone(c.Starts), maps.Clone(c.Deploys), maps.Clone(c.Reports)
	d.Corrections = slices.Clone(c.Corrections)
	d.Amendments = slices.Clip(c.Amendments)
	d.Crises, d.applied = maps.Clone(c.Crises), maps.Clone(c.applied)
	d.history = slices.Clip(c.history) // the copy's appends do not reach c's
	return &d
}

// correctedOn returns the business date of a correction event.
func correctedOn(e Event) (domain.Date, bool) {
	switch e := e.(type) {
	case ReportCorrected:
		return e.CorrectedOn, true
	case MissionDateCorrected:
		return e.CorrectedOn, true
	case ContractTermsCorrected:
		return e.CorrectedOn, true
	case TerminationCorrected:
		return e.CorrectedOn, true
	case RulebookAmendmentApplied:
		return e.PublishedOn, true
	case CrisisNoted:
		return e.NotedOn, true
	}
	return domain.Date{}, false
}

// asOf returns the contract as a decision dated d sees it (domain.AsOf).
func (c *Contract) asOf(d domain.Date) *Contract {
	return domain.AsOf(c, c.history, c.Payments, d, correctedOn, func() *Contract { return NewContractWith(c.ID, c.rules) })
}

// compute decides one payment. ok is false when nothing is to be paid (a
// recovery that finds nothing to recover).
func (c *Contract) compute(cand candidate, decidedOn domain.Date) (PaymentDecided, bool) {
	rb := c.Rulebook
	p := PaymentDecided{
		PaymentID: PaymentID(c.ID, cand.kind, cand.year, cand.mission), ContractID: c.ID,
		Kind: cand.kind, ContractYear: cand.year, Mission: cand.mission, DueOn: cand.dueOn,
		DecidedOn: decidedOn, Status: StatusDecided, Rulebook: rb.ID, Rule: ruleText[cand.kind],
	}
	switch cand.kind {
	case KindSignature:
		p.Lines = []Line{c.operatingLine(c.Terms.SignedOn, domain.ExactInt(1), domain.FormulaSignatureOperating)}
	case KindMissionStartAdvance:
		line := c.startAdvanceLine(cand)
		p.Lines = []Line{line}
		if line.Withheld != nil {
			p.Status, p.Reason, p.Withheld = StatusWithheld, line.Withheld.English(), line.Withheld
		}
	case KindAnnualAdvance:
		if late := c.lateMissions(cand.dueOn); len(late) > 0 {
			w := domain.Withholding{Code: domain.WithheldCalendarNotMet, On: cand.dueOn, Late: late}
			p.Status, p.Reason, p.Withheld = StatusWithheld, w.English(), &w
			p.Lines = []Line{}
			break
		}
		p.Lines = c.annualAdvanceLines(cand.dueOn)
	case KindAnnualBalance:
		p.Lines = c.balanceLines(cand.year)
	case KindAmorcageTopup:
		p.Rulebook = c.amendmentOn(cand.dueOn).ID
		p.Lines = []Line{c.topupLine(cand.dueOn)}
	case KindRecovery:
		line, ok := c.recoveryLine(cand.year)
		if !ok {
			return PaymentDecided{}, false
		}
		p.Lines = []Line{line}
	}
	for _, l := range p.Lines {
		p.Amount = p.Amount.Add(l.Amount)
	}
	return p, true
}

func (c *Contract) amendmentOn(d domain.Date) *Amendment {
	for _, a := range c.rules.AmendmentsOf(c.Rulebook.ID) {
		if a.EffectiveOn.Equal(d) {
			return a
		}
	}
	panic("cpts: top-up without its amendment")
}

// operatingLine is factor × the tier's operating amount in force on d;
// args are the formula's operands other than the operating amount.
func (c *Contract) operatingLine(d domain.Date, factor domain.Exact, formula string, args ...any) Line {
	op, cite := c.agreementAmount(ComponentOperating, d)
	return c.cited(domain.NewLine("", "operating", domain.ExactDecimal(op).Mul(factor).Cents(), formula, append(args, "operating", op)...), cite)
}

// topupLine is amendment 2's top-up of the seed funding in force on d (the
// signed figure, or an amendment's): the seed funding after, less before.
func (c *Contract) topupLine(d domain.Date) Line {
	topup, cite := c.agreementAmount(ComponentSeedTopup, d)
	before := c.Rulebook.Operating(c.Terms.Tier)
	return c.cited(domain.NewLine("", "operating", domain.ExactDecimal(topup).Cents(), domain.FormulaSeedTopup,
		"tier", c.Terms.Tier, "after", before.Add(topup), "before", before), cite)
}

// fixedOn returns mission m's annual fixed amount for the contract in force
// on d: for access, the fixed part plus the SNP supplement, plus the
// regulation funding when the contract organises regulation; ok is false
// when the amount is not published.
func (c *Contract) fixedOn(m string, d domain.Date) (fixed decimal.Decimal, cite Cite, ok bool) {
	a, cite := c.missionAmounts(m, d)
	fixed, ok = a.Get(ComponentFixed)
	fixed = fixed.Add(a.SNPSupplement)
	if c.Terms.SNPRegulation {
		fixed = fixed.Add(a.SNPRegulation)
	}
	return fixed, cite, ok
}

func (c *Contract) advanceRate() domain.Exact { return domain.ExactDecimal(c.Rulebook.AdvanceRate) }

// cited adds to a line the rulebook its amount came from, when it is not
// the contract's, and the amendment that set it, if one did.
func (c *Contract) cited(l Line, cite Cite) Line {
	if cite.Rulebook != c.Rulebook.ID {
		l.Rulebook = cite.Rulebook
	}
	if a := cite.Amendment; a != nil {
		l.Rulebook = cite.Rulebook
		l.Amendment = &domain.AmendmentRef{EventID: a.AmendmentEventID, ID: a.AmendmentID}
	}
	return l
}

// notPublished is the line of an amount the rulebook does not know: 0.00,
// withheld until an amendment publishes it (domain.md §2.10).
func (c *Contract) notPublished(m, component string, d domain.Date, cite Cite) Line {
	line := domain.NewLine(m, component, domain.Money{}, domain.FormulaNotPublished,
		"component", component, "mission", m, "tier", c.Terms.Tier, "rulebook", cite.Rulebook)
	line.Withheld = &domain.Withholding{Code: domain.WithheldAmountNotPublished, On: d, Rulebook: cite.Rulebook,
		Tier: c.Terms.Tier, Mission: m, Component: component}
	return c.cited(line, cite)
}

// fixedLine is a line of mission m's fixed amount in force on d, times
// factor; args are the formula's operands other than the fixed amount.
func (c *Contract) fixedLine(m string, d domain.Date, factor domain.Exact, formula string, args ...any) Line {
	fixed, cite, ok := c.fixedOn(m, d)
	if !ok {
		return c.notPublished(m, ComponentFixed, d, cite)
	}
	line := domain.NewLine(m, "fixed", domain.ExactDecimal(fixed).Mul(factor).Cents(), formula, append(args, "fixed", fixed)...)
	return c.cited(line, cite)
}

func (c *Contract) startAdvanceLine(cand candidate) Line {
	k := cand.year
	days, yearDays := cand.dueOn.DaysUntil(c.Years.End(k)), c.Years.Days(k)
	return c.fixedLine(cand.mission, cand.dueOn, c.advanceRate().Mul(domain.Ratio(int64(days), int64(yearDays))),
		domain.FormulaFixedAdvanceProrata, "rate", c.Rulebook.AdvanceRate, "days", days, "year_days", yearDays)
}

// lateMissions lists the deadlines passed before d without their fact on or
// before d (domain.md 2.4, withholding).
//
// The calendar is judged on the contract as it stood on d: a mission taken
// up after d (the crisis mission of a contract signed under an earlier
// rulebook, started later) binds nothing before it — else the same advance
// would be paid when decided on its due date and withheld when decided a
// month later.
func (c *Contract) lateMissions(d domain.Date) []domain.LateDeadline {
	var late []domain.LateDeadline
	for _, dl := range c.Deadlines() {
		if c.takenUpAfter(dl.Mission, d) {
			continue
		}
		if dl.Deadline.Before(d) && (dl.Done.IsZero() || dl.Done.After(d)) {
			late = append(late, domain.LateDeadline{Mission: dl.Mission, Kind: dl.Kind, Months: dl.Months, Deadline: dl.Deadline})
		}
	}
	return late
}

// takenUpAfter tells a mission the contract did not sign but took up (by
// starting it) after d.
func (c *Contract) takenUpAfter(m string, d domain.Date) bool {
	if slices.Contains(c.Terms.Missions, m) {
		return false
	}
	s, ok := c.Starts[m]
	return ok && s.After(d)
}

func (c *Contract) annualAdvanceLines(d domain.Date) []Line {
	rate := c.Rulebook.AdvanceRate
	lines := []Line{c.operatingLine(d, c.advanceRate(), domain.FormulaOperatingAdvance, "rate", rate)}
	for _, m := range c.Missions() {
		if s, ok := c.Starts[m]; ok && !s.After(d) {
			lines = append(lines, c.fixedLine(m, d, c.advanceRate(), domain.FormulaFixedAdvance, "rate", rate))
		}
	}
	return lines
}

// Achievement returns the achievement rate of mission m in year k from the
// year's report: Σ weight × clamp(value / target, 0, 1) (domain.md 2.5).
func (c *Contract) Achievement(k int, m string) domain.Exact {
	r, ok := c.Reports[k]
	if !ok {
		return domain.Exact{}
	}
	var ach domain.Exact
	for _, in := range c.IndicatorsOf(m) {
		for _, v := range r.Values {
			if v.Mission == m && v.Code == in.Code {
				rate := domain.ExactDecimal(v.Value).Quo(domain.ExactDecimal(in.Target)).Clamp(domain.ExactInt(0), domain.ExactInt(1))
				ach = ach.Add(domain.ExactDecimal(in.Weight).Mul(rate))
			}
		}
	}
	return ach
}

// advancesOf sums what was decided for year k as advances: the annual
// advance, the mission-start advances, the recovery (withRecovery), and the
// regularisations decided before the year's balance (a year first settled
// by a back-dated termination, then live again); a regularisation after
// the balance adjusts the year's dues, not its advances.
func (c *Contract) advancesOf(k int, withRecovery bool) domain.Money {
	var total domain.Money
	for _, p := range c.Payments {
		if p.ContractYear != k {
			continue
		}
		switch p.Kind {
		case KindAnnualBalance:
			return total
		case KindAnnualAdvance, KindMissionStartAdvance, domain.KindRegularisation:
			total = total.Add(p.Amount)
		case KindRecovery:
			if withRecovery {
				total = total.Add(p.Amount)
			}
		}
	}
	return total
}

func (c *Contract) balanceLines(k int) []Line {
	yearDays := c.Years.Days(k)
	var lines []Line
	if k >= 2 {
		days := c.Years.Start(k).DaysUntil(c.PeriodEnd(k))
		lines = append(lines, c.operatingLine(c.Years.Start(k), domain.Ratio(int64(days), int64(yearDays)), domain.FormulaOperatingProrata, "days", days, "year_days", yearDays))
	}
	for _, m := range c.ActiveMissions(k) {
		days := c.ActiveDays(k, m)
		share := domain.Ratio(int64(days), int64(yearDays))
		// The amounts in force on the first day the mission counts in the
		// year (domain.md §2.10).
		on := domain.MaxDate(c.Years.Start(k), c.Starts[m])
		lines = append(lines, c.fixedLine(m, on, share, domain.FormulaFixedProrata, "days", days, "year_days", yearDays))
		if rb := c.bookOf(m); rb == nil || !rb.HasVariable(m) {
			continue
		}
		a, cite := c.missionAmounts(m, on)
		ach := c.Achievement(k, m)
		lines = append(lines, c.cited(domain.NewLine(m, "variable", domain.ExactDecimal(a.Variable).Mul(ach).Mul(share).Cents(), domain.FormulaVariableProrata,
			"variable", a.Variable, "achievement", ach.Decimal(6), "days", days, "year_days", yearDays), cite))
	}
	if line, ok := c.supplementLine(k); ok {
		lines = append(lines, line)
	}
	if line, ok := c.capLine(k, lines); ok {
		lines = append(lines, line)
	}
	adv := c.advancesOf(k, true)
	lines = append(lines, domain.NewLine("", "advances", adv.Neg(), domain.FormulaAdvancesDecided, "year", k))
	return lines
}

// supplementLine is the crisis supplement of year k: due once for a year
// in which a crisis recognised by the ARS covers a day the crisis mission
// ran (domain.md §2.10), at the amount in force on the first such day.
func (c *Contract) supplementLine(k int) (Line, bool) {
	started, ok := c.Starts[MissionCrisis]
	if !ok || c.ActiveDays(k, MissionCrisis) == 0 {
		return Line{}, false
	}
	from, before := domain.MaxDate(c.Years.Start(k), started), c.PeriodEnd(k)
	var first *CrisisNoted
	for _, cr := range c.Crises {
		if cr.Covers(from, before) && (first == nil || cr.From.Before(first.From) || cr.From.Equal(first.From) && cr.Recognition.String() < first.Recognition.String()) {
			first = &cr
		}
	}
	if first == nil {
		return Line{}, false
	}
	on := domain.MaxDate(from, first.From)
	a, cite := c.missionAmounts(MissionCrisis, on)
	amount, published := a.Get(ComponentCrisisSupplement)
	if !published {
		return c.notPublished(MissionCrisis, ComponentCrisisSupplement, on, cite), true
	}
	return c.cited(domain.NewLine(MissionCrisis, ComponentCrisisSupplement, domain.ExactDecimal(amount).Cents(), domain.FormulaCrisisSupplement,
		"supplement", amount, "from", first.From), cite), true
}

// capLine holds back what year k's dues exceed the tier's annual cap by,
// everything included: the lines of the balance and what the year paid
// outside it (the signature, a top-up). ok is false under the cap.
func (c *Contract) capLine(k int, dues []Line) (Line, bool) {
	rb := c.Rulebook
	if joined, ok := c.rules.Joining(MissionCrisis); ok && c.HasMission(MissionCrisis) {
		rb = joined // a contract that took up the crisis mission is under its version's cap
	}
	limit, ok := rb.AnnualCap[c.Terms.Tier]
	if !ok {
		return Line{}, false
	}
	var due domain.Money
	for _, l := range dues {
		due = due.Add(l.Amount)
	}
	for _, p := range c.Payments {
		if p.ContractYear == k && (p.Kind == KindSignature || p.Kind == KindAmorcageTopup) {
			due = due.Add(p.Amount)
		}
	}
	capped := domain.ExactDecimal(limit).Cents()
	if due.Cmp(capped) <= 0 {
		return Line{}, false
	}
	line := domain.NewLine("", "cap", capped.Sub(due), domain.FormulaAnnualCap, "tier", c.Terms.Tier, "cap", limit, "due", due)
	line.Withheld = &domain.Withholding{Code: domain.WithheldAnnualCap, On: c.Years.Start(k), Tier: c.Terms.Tier, Cap: limit.String()}
	if rb.ID != c.Rulebook.ID {
		line.Rulebook = rb.ID
	}
	return line, true
}

// recoveryLine computes the recovery of the year of termination:
// round(keep × accrued − advances) when negative (domain.md 2.7).
func (c *Contract) recoveryLine(k int) (Line, bool) {
	yearDays := int64(c.Years.Days(k))
	var accrued domain.Exact
	if k >= 2 {
		days := c.Years.Start(k).DaysUntil(c.PeriodEnd(k))
		op, _ := c.agreementAmount(ComponentOperating, c.Years.Start(k))
		accrued = domain.ExactDecimal(op).Mul(domain.Ratio(int64(days), yearDays))
	}
	for _, m := range c.ActiveMissions(k) {
		fixed, _, _ := c.fixedOn(m, domain.MaxDate(c.Years.Start(k), c.Starts[m]))
		accrued = accrued.Add(domain.ExactDecimal(fixed).Mul(domain.Ratio(int64(c.ActiveDays(k, m)), yearDays)))
	}
	advances := c.advancesOf(k, false)
	keep := domain.ExactDecimal(c.Rulebook.RecoveryKeepRate)
	amount := keep.Mul(accrued).Sub(advances.Exact()).Cents()
	if amount.Sign() >= 0 {
		return Line{}, false
	}
	return domain.NewLine("", "recovery", amount, domain.FormulaRecovery,
		"keep_rate", c.Rulebook.RecoveryKeepRate, "accrued", accrued.Decimal(2), "advances", advances), true
}

// RuleTexts lists the rule each kind of payment cites: a test checks that
// the sections it names exist.
func RuleTexts() []string { return slices.Collect(maps.Values(ruleText)) }
