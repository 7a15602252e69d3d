package assistant

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// Payment kinds (domain.md 3.3).
const (
	KindHiringAdvance = "hiring_advance"
	KindYearBalance   = "year_balance"
	KindYearPayment   = "year_payment"
	KindInstalment1   = "instalment_1"
	KindInstalment2   = "instalment_2"
)

var kindRank = map[string]int{KindHiringAdvance: 0, KindYearBalance: 1, KindYearPayment: 2, KindInstalment1: 3, KindInstalment2: 4,
	KindExtensionInstalment1: 5, KindExtensionInstalment2: 6}

var ruleText = map[string]string{
	KindHiringAdvance:         "avenant 7 art. 9-5 / docs/domain.md §3.3: 70 % of year 1's aid on hiring",
	KindYearBalance:           "docs/domain.md §3.3: the remaining 30 % of year 1's aid at the end of year 1",
	KindYearPayment:           "docs/domain.md §3.3: the year's aid in full (year 1 on hiring under am-2023 and am-2024; year 2 at its start)",
	KindInstalment1:           "docs/domain.md §3.3: half of the year's aid at its start, from year 3",
	KindInstalment2:           "docs/domain.md §3.3: the year's aid × the objective rate reached the year before, less the first instalment (negative: a recovery)",
	KindExtensionInstalment1:  "docs/domain.md §3.4: half of the added share's aid for the year, from the extension (prorata of the days in its first year)",
	KindExtensionInstalment2:  "docs/domain.md §3.4: the added share's aid for the year × the objective rate reached the year before, less its first instalment",
	domain.KindRegularisation: "docs/domain.md §4: what a settled year's aid is under the corrected facts, minus what was decided for it",
}

var paymentNamespace = uuid.MustParse("b5a0c2e4-6d7f-5a8b-9c0d-1e2f3a4b5c6d")

// PaymentID returns the id of a payment: one per contract, kind and year.
func PaymentID(contract uuid.UUID, kind string, year int) uuid.UUID {
	return uuid.NewSHA1(paymentNamespace, fmt.Appendf(nil, "%s/%s/%d", contract, kind, year))
}

type candidate struct {
	kind  string
	year  int
	dueOn domain.Date
}

// candidates lists the payments due on or before asOf, not yet decided, in
// decision order. Nothing is due before the hiring, nor on or after a
// termination.
func (c *Contract) candidates(asOf domain.Date) []candidate {
	if !c.Hired() {
		return nil
	}
	var out []candidate
	add := func(kind string, k int, due domain.Date) {
		due, ok := c.suspendedUntil(due)
		if !ok || due.After(asOf) || (c.Terminated() && !due.Before(c.TerminatedOn)) {
			return
		}
		if _, done := c.decided[paymentKey{kind, k}]; done {
			return
		}
		out = append(out, candidate{kind, k, due})
	}
	if c.Rulebook.SplitsYear1() {
		add(KindHiringAdvance, 1, c.HiredOn)
		add(KindYearBalance, 1, c.Years.End(1))
	} else {
		add(KindYearPayment, 1, c.HiredOn)
	}
	add(KindYearPayment, 2, c.Years.Start(2))
	for k := 3; k <= c.Years.Count; k++ {
		add(KindInstalment1, k, c.Years.Start(k))
		if r, ok := c.Reports[k-1]; ok {
			add(KindInstalment2, k, domain.MaxDate(c.Years.Start(k).AddMonths(c.Rulebook.Instalment2AfterMonths), r.ReportedOn))
		}
	}
	c.extensionCandidates(add)
	slices.SortStableFunc(out, func(a, b candidate) int {
		return cmp.Or(a.dueOn.Compare(b.dueOn), cmp.Compare(kindRank[a.kind], kindRank[b.kind]), cmp.Compare(a.year, b.year))
	})
	return out
}

// decideDue decides every payment due on or before asOf, in due-date order,
// then (when regularise) the regularisations the corrections dated on or
// before asOf call for.
func (c *Contract) decideDue(asOf domain.Date, regularise bool) ([]domain.Event, error) {
	if asOf.IsZero() {
		return nil, domain.Reject(domain.CodeMissingField, "as_of", "is required")
	}
	work := c.asOf(asOf).clone()
	pending := slices.Clone(work.Corrections) // the decisions below settle them
	var events []domain.Event
	decide := func(p PaymentDecided) error {
		if err := work.Apply(p); err != nil {
			return err
		}
		events = append(events, p)
		return nil
	}
	for _, cand := range work.candidates(asOf) {
		p, err := work.compute(cand, asOf)
		if err != nil {
			return nil, err
		}
		if err := decide(p); err != nil {
			return nil, err
		}
	}
	if regularise {
		for _, p := range work.regularise(asOf, pending) {
			if err := decide(p); err != nil {
				return nil, err
			}
		}
	}
	return events, nil
}

// compute decides one payment: one line (none, aid), rounded to the cent.
func (c *Contract) compute(cand candidate, decidedOn domain.Date) (PaymentDecided, error) {
	if cand.kind == KindExtensionInstalment1 || cand.kind == KindExtensionInstalment2 {
		return c.computeExtension(cand, decidedOn)
	}
	aid, table, err := c.Aid(cand.year)
	if err != nil {
		return PaymentDecided{}, err
	}
	rb := c.Rulebook
	var amount domain.Money
	var formula string
	var args []any
	switch cand.kind {
	case KindHiringAdvance:
		amount = aid.Mul(domain.ExactDecimal(rb.Year1.OnHiring)).Cents()
		formula, args = domain.FormulaAidYear1Share, []any{"rate", rb.Year1.OnHiring, "aid", aid.Decimal(2)}
	case KindYearBalance:
		amount = aid.Mul(domain.ExactDecimal(rb.Year1.AtEndOfYear)).Cents()
		formula, args = domain.FormulaAidYear1Share, []any{"rate", rb.Year1.AtEndOfYear, "aid", aid.Decimal(2)}
	case KindYearPayment:
		amount = aid.Cents()
		formula, args = domain.FormulaAidYear, []any{"year", cand.year, "aid", aid.Decimal(2)}
	case KindInstalment1:
		amount, _, _, _ = c.instalment(aid, cand.year, "")
		formula, args = domain.FormulaAidInstalment1, []any{"rate", rb.Instalment1Rate, "year", cand.year, "aid", aid.Decimal(2)}
	case KindInstalment2:
		var rate domain.Exact
		var first domain.Money
		var err error
		if amount, rate, first, err = c.instalment(aid, cand.year, KindInstalment1); err != nil {
			return PaymentDecided{}, err
		}
		r := c.Reports[cand.year-1]
		formula, args = domain.FormulaAidInstalment2, []any{"year", cand.year, "aid", aid.Decimal(2), "rate", rate.Decimal(6),
			"patientele", r.Patientele, "baseline", c.Terms.PatienteleBaseline, "target", c.Terms.PatienteleTarget, "first", first}
	}
	args = append(args, "table", table, "option", c.Terms.Option, "band", c.Terms.Band)
	return c.payment(cand, decidedOn, rb.ID, table, domain.NewLine("", "aid", amount, formula, args...)), nil
}

// instalment is a year's instalment from year 3 on an aid (the year's, or
// the added share's): without firstKind, the first, the aid × the
// rulebook's instalment_1_rate; with it, the second, the aid × the
// objective rate less the first (negative: a recovery). Each rounded once.
func (c *Contract) instalment(aid domain.Exact, year int, firstKind string) (amount domain.Money, rate domain.Exact, first domain.Money, err error) {
	if firstKind == "" {
		return aid.Mul(domain.ExactDecimal(c.Rulebook.Instalment1Rate)).Cents(), domain.Exact{}, domain.Money{}, nil
	}
	rate, _ = c.Rate(year)
	p, ok := c.Payment(firstKind, year)
	if !ok {
		return domain.Money{}, rate, first, fmt.Errorf("assistant: the second instalment of year %d before its first (%s)", year, firstKind)
	}
	return aid.Mul(rate).Sub(p.Amount.Exact()).Cents(), rate, p.Amount, nil
}

// payment is a decision of one line.
func (c *Contract) payment(cand candidate, decidedOn domain.Date, rulebook, table string, line domain.Line) PaymentDecided {
	return PaymentDecided{
		PaymentID: PaymentID(c.ID, cand.kind, cand.year), ContractID: c.ID, Kind: cand.kind, ContractYear: cand.year,
		DueOn: cand.dueOn, DecidedOn: decidedOn, Status: domain.StatusDecided, Amount: line.Amount, Rulebook: rulebook,
		Table: table, Rule: ruleText[cand.kind], Lines: []domain.Line{line},
	}
}

// RuleTexts lists the rule each kind of payment cites: a test checks that
// the sections it names exist.
func RuleTexts() []string { return slices.Collect(maps.Values(ruleText)) }
