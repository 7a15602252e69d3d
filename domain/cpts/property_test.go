package cpts_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

type dated struct {
	on    domain.Date
	order int // same-day order: facts, terminations, reports, then decisions
	typ   string
	body  string
}

// genLifecycle draws a valid contract lifecycle: a signature, starts and
// deployments, yearly reports, maybe a termination, and quarterly decisions.
func genLifecycle(t *rapid.T) []dated {
	signed := domain.MustDate("2019-08-25").AddDays(rapid.IntRange(0, 5*365).Draw(t, "signed_offset"))
	population := rapid.OneOf(rapid.IntRange(1, 200_000), rapid.SampledFrom([]int{39_999, 40_000, 79_999, 80_000, 175_000, 175_001})).Draw(t, "population")
	regulation := rapid.Bool().Draw(t, "regulation")
	missions := []string{"access", "pathways", "prevention"}
	for _, m := range []string{"quality", "support"} {
		if rapid.Bool().Draw(t, "with_"+m) {
			missions = append(missions, m)
		}
	}
	years := domain.ContractYears{Signed: signed, Count: 5}
	end := years.End(5)
	var terminated domain.Date
	switch rapid.IntRange(0, 7).Draw(t, "terminate") {
	case 0, 1:
		terminated = signed.AddDays(rapid.IntRange(1, signed.DaysUntil(end)-1).Draw(t, "terminated_offset"))
	case 2: // on an anniversary: the year of termination has no day
		terminated = years.Start(rapid.IntRange(2, 5).Draw(t, "terminated_year"))
	}
	limit := end
	if !terminated.IsZero() {
		limit = terminated
	}
	var out []dated
	out = append(out, dated{signed, 0, cpts.CmdSignContract, signFields(population, signed.String(), regulation, missions...)})
	starts := map[string]domain.Date{}
	for _, m := range missions {
		if rapid.IntRange(0, 5).Draw(t, "never_"+m) == 0 {
			continue
		}
		s := signed.AddDays(rapid.IntRange(0, 3*365).Draw(t, "start_"+m))
		if rapid.IntRange(0, 5).Draw(t, "anniversary_"+m) == 0 {
			s = years.Start(rapid.IntRange(2, 4).Draw(t, "anniversary_year_"+m))
		}
		if !s.Before(limit) {
			continue
		}
		starts[m] = s
		out = append(out, dated{s, 0, cpts.CmdStartMission, fmt.Sprintf(`"mission":%q,"started_on":%q`, m, s)})
		if d := s.AddDays(rapid.IntRange(0, 800).Draw(t, "deploy_"+m)); d.Before(limit) && rapid.Bool().Draw(t, "deployed_"+m) {
			out = append(out, dated{d, 0, cpts.CmdDeployMission, fmt.Sprintf(`"mission":%q,"deployed_on":%q`, m, d)})
		}
	}
	if !terminated.IsZero() {
		out = append(out, dated{terminated, 1, cpts.CmdTerminateContract, fmt.Sprintf(`"terminated_on":%q,"reason":"calendar not met"`, terminated)})
	}
	lastYear := 5
	if !terminated.IsZero() {
		lastYear = years.Of(terminated)
	}
	for k := 1; k <= lastYear; k++ {
		periodEnd := years.End(k)
		if k == lastYear && !terminated.IsZero() {
			periodEnd = terminated
		}
		on := periodEnd.AddDays(rapid.IntRange(0, 120).Draw(t, fmt.Sprintf("report_delay_%d", k)))
		var values []string
		for _, m := range missions {
			s, ok := starts[m]
			if !ok || !domain.MaxDate(s, years.Start(k)).Before(periodEnd) {
				continue
			}
			v := rapid.IntRange(0, 150).Draw(t, fmt.Sprintf("value_%d_%s", k, m))
			values = append(values, fmt.Sprintf(`{"mission":%q,"code":"%s-1","value":"%d"}`, m, m, v))
		}
		out = append(out, dated{on, 2, cpts.CmdReportIndicators, fmt.Sprintf(`"contract_year":%d,"reported_on":%q,"values":[%s]`, k, on, strings.Join(values, ","))})
	}
	for d := signed; d.Before(end.AddYears(1)); d = d.AddMonths(3) {
		out = append(out, dated{d, 3, cpts.CmdDecideDuePayments, fmt.Sprintf(`"as_of":%q`, d)})
	}
	out = append(out, dated{end.AddYears(1), 3, cpts.CmdDecideDuePayments, fmt.Sprintf(`"as_of":%q`, end.AddYears(1))})
	slices.SortStableFunc(out, func(a, b dated) int {
		if c := a.on.Compare(b.on); c != 0 {
			return c
		}
		return a.order - b.order
	})
	return out
}

// For every closed year the decided amounts sum to the year's dues, no
// year exceeds the tier's maximum (plus the top-up in its year), and
// deciding again decides nothing.
func TestPropertyClosedYearsPayTheirDues(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		steps := genLifecycle(rt)
		l := &lifecycle{t: t, c: cpts.NewContractWith(mustUUID(contractID), cpts.ExamplesRules())}
		for _, s := range steps {
			line := l.cmd(s.typ, s.body)
			events, err := l.decide(line)
			if err != nil {
				rt.Fatalf("valid lifecycle rejected at %s: %s: %v", s.on, line, err)
			}
			for _, e := range events {
				if err := l.c.Apply(e); err != nil {
					rt.Fatal(err)
				}
			}
			if s.typ == cpts.CmdDecideDuePayments {
				if again, err := l.decide(line); err != nil || len(again) != 0 {
					rt.Fatalf("DecideDuePayments repeated decided %d more (%v)", len(again), err)
				}
			}
		}
		c := l.c
		rb := c.Rulebook
		for k := 1; k <= c.LastYear(); k++ {
			var decided domain.Money
			for _, p := range c.Payments {
				if p.ContractYear != k {
					continue
				}
				var lines domain.Money
				for _, ln := range p.Lines {
					lines = lines.Add(ln.Amount)
					if ln.Basis == "" || strings.Contains(ln.Basis, "%!") {
						rt.Fatalf("%s y%d line %s: basis %q does not show the computation", p.Kind, k, ln.Component, ln.Basis)
					}
				}
				if !lines.Equal(p.Amount) || (p.Status == cpts.StatusWithheld && !p.Amount.IsZero()) {
					rt.Fatalf("%s y%d: amount %s, lines sum %s, status %s", p.Kind, k, p.Amount, lines, p.Status)
				}
				if p.Kind != cpts.KindAmorcageTopup { // the one-off top-up is not a year's due
					decided = decided.Add(p.Amount)
				}
			}
			max := domain.ExactDecimal(rb.MaximumPerYear(c.Terms.Tier, c.Terms.SNPRegulation)).Cents()
			if decided.Cmp(max) > 0 {
				rt.Fatalf("year %d decided %s, more than the tier's maximum %s", k, decided, max)
			}
			if !c.YearClosed(k) {
				continue
			}
			if dues := yearDues(c, k); !decided.Equal(dues) {
				rt.Fatalf("closed year %d decided %s, dues %s:%s", k, decided, dues, summary(c.Payments))
			}
		}
	})
}

// yearDues recomputes what year k owes from the rulebook and the facts:
// operating (all of it at signature in year 1, prorated after), and per
// active mission its fixed and variable parts, each line rounded.
func yearDues(c *cpts.Contract, k int) domain.Money {
	rb, tier := c.Rulebook, c.Terms.Tier
	dk := int64(c.Years.Days(k))
	op := domain.ExactDecimal(rb.Operating(tier))
	var dues domain.Money
	if k == 1 {
		dues = op.Cents()
	} else {
		dues = op.Mul(domain.Ratio(int64(c.Years.Start(k).DaysUntil(c.PeriodEnd(k))), dk)).Cents()
	}
	for _, m := range c.ActiveMissions(k) {
		share := domain.Ratio(int64(c.ActiveDays(k, m)), dk)
		dues = dues.Add(domain.ExactDecimal(rb.FixedAnnual(tier, m, c.Terms.SNPRegulation)).Mul(share).Cents())
		dues = dues.Add(domain.ExactDecimal(rb.VariableAnnual(tier, m)).Mul(c.Achievement(k, m)).Mul(share).Cents())
	}
	return dues
}

// After random corrections of a random lifecycle, every settled year has
// been decided exactly its dues under the corrected facts (nothing for a
// year that began after the termination), and deciding again decides
// nothing.
func TestPropertyCorrectionsRegulariseSettledYears(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		steps := genLifecycle(rt)
		l := &lifecycle{t: t, c: cpts.NewContractWith(mustUUID(contractID), cpts.ExamplesRules())}
		facts := map[string][]target{} // by event type
		for _, s := range steps {
			events, err := l.decide(l.cmd(s.typ, s.body))
			if err != nil {
				rt.Fatalf("valid lifecycle rejected: %v", err)
			}
			for _, e := range events {
				if err := l.c.Apply(e); err != nil {
					rt.Fatal(err)
				}
			}
			if len(events) > 0 && s.typ != cpts.CmdDecideDuePayments {
				facts[events[0].EventType()] = append(facts[events[0].EventType()], target{id: mustUUID(uuidOf(len(facts), s.typ, s.on)), e: events[0]})
			}
		}
		c := l.c
		on := steps[len(steps)-1].on.AddDays(rapid.IntRange(1, 200).Draw(rt, "corrected_after"))
		for i := range rapid.IntRange(1, 3).Draw(rt, "corrections") {
			typ := rapid.SampledFrom([]string{cpts.TypeIndicatorsReported, cpts.TypeMissionStarted, cpts.TypeContractSigned, cpts.TypeContractTerminated}).Draw(rt, fmt.Sprint("what_", i))
			if len(facts[typ]) == 0 {
				continue
			}
			tg := rapid.SampledFrom(facts[typ]).Draw(rt, fmt.Sprint("target_", i))
			var cmdType, fields string
			switch e := tg.e.(type) {
			case cpts.IndicatorsReported:
				var vs []string
				for _, v := range c.Reports[e.ContractYear].Values {
					vs = append(vs, fmt.Sprintf(`{"mission":%q,"code":%q,"value":"%d"}`, v.Mission, v.Code, rapid.IntRange(0, 150).Draw(rt, fmt.Sprint("v_", i, v.Mission))))
				}
				cmdType, fields = cpts.CmdCorrectReport, `"values":[`+strings.Join(vs, ",")+`]`
			case cpts.MissionStarted:
				d := c.Terms.SignedOn.AddDays(rapid.IntRange(0, 4*365).Draw(rt, fmt.Sprint("date_", i)))
				cmdType, fields = cpts.CmdCorrectMissionDate, fmt.Sprintf(`"date":%q`, d)
			case cpts.ContractSigned:
				cmdType, fields = cpts.CmdCorrectContractTerms, fmt.Sprintf(`"population":%d,"snp_regulation":%t`,
					rapid.IntRange(1, 200_000).Draw(rt, fmt.Sprint("population_", i)), rapid.Bool().Draw(rt, fmt.Sprint("snp_", i)))
			case cpts.ContractTerminated:
				d := c.Terms.SignedOn.AddDays(rapid.IntRange(1, 5*365-2).Draw(rt, fmt.Sprint("terminated_", i)))
				cmdType, fields = cpts.CmdCorrectTermination, fmt.Sprintf(`"terminated_on":%q`, d)
			}
			events, err := l.decideCorrection(l.correctionLine(cmdType, tg, on.String(), fields), tg)
			var re *domain.RejectedError
			if errors.As(err, &re) {
				continue // a correction the rules refuse (no change, prescribed, a date out of bounds…)
			}
			if err != nil {
				rt.Fatal(err)
			}
			for _, e := range events {
				if err := c.Apply(e); err != nil {
					rt.Fatal(err)
				}
			}
		}
		l.decideDue(on.String())
		if again := l.decideDue(on.String()); len(again) != 0 {
			rt.Fatalf("deciding again decided %s", summary(again))
		}
		for k := 1; k <= c.Years.Count; k++ {
			var decided domain.Money
			any := false
			for _, p := range c.Payments {
				if p.ContractYear == k {
					decided, any = decided.Add(p.Amount), true
				}
			}
			after := c.Terminated() && !c.Years.Start(k).Before(c.TerminatedOn)
			switch {
			case after && any:
				if !decided.IsZero() {
					rt.Fatalf("year %d began after the termination on %s and keeps %s decided:%s", k, c.TerminatedOn, decided, summary(c.Payments))
				}
			case c.YearClosed(k):
				if want := yearDues(c, k).Add(topUp(c, k)); !decided.Equal(want) {
					rt.Fatalf("settled year %d decided %s, due under the corrected facts %s:%s", k, decided, want, summary(c.Payments))
				}
			}
		}
	})
}

// topUp is the amendment-2 top-up year k owes under the current facts:
// the rulebook's seed funding difference for the tier, for a contract
// signed by the eligibility date and not terminated by the effective date.
func topUp(c *cpts.Contract, k int) domain.Money {
	var m domain.Money
	for _, a := range c.Rules().AmendmentsOf(c.Rulebook.ID) {
		if c.Terms.SignedOn.After(a.SignedOnOrBefore) || (c.Terminated() && !a.EffectiveOn.Before(c.TerminatedOn)) || c.Years.Of(a.EffectiveOn) != k {
			continue
		}
		sf := a.SeedFunding[c.Terms.Tier]
		m = m.Add(domain.ExactDecimal(sf.After.Sub(sf.Before)).Cents())
	}
	return m
}

func uuidOf(n int, typ string, on domain.Date) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(n, typ, on))).String()
}
