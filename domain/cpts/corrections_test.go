package cpts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
)

// target is an event the lifecycle recorded, named by a correction.
type target struct {
	id uuid.UUID
	e  cpts.Event
}

// fact records an event produced by a command and returns it as a target.
func fact(events []cpts.Event) target {
	return target{id: uuid.New(), e: events[0]}
}

// correctionLine builds a correction command naming t.
func (l *lifecycle) correctionLine(typ string, t target, on, fields string) string {
	if fields != "" {
		fields = "," + fields
	}
	return l.cmd(typ, fmt.Sprintf(`"corrects":%q,"corrected_on":%q,"reason":"found wrong in review"%s`, t.id, on, fields))
}

// decideCorrection decodes a correction, resolves its target as the
// command path does, and decides it.
func (l *lifecycle) decideCorrection(line string, t target) ([]cpts.Event, error) {
	cmd, err := cpts.DecodeCommand([]byte(line))
	if err != nil {
		return nil, err
	}
	m := cmd.(domain.Correction).Correction()
	if m.Corrects == t.id {
		m.Target = domain.EventRef{ID: t.id, Found: true, Type: t.e.EventType(), OccurredOn: t.e.BusinessDate(), Event: t.e}
	}
	return cpts.Decide(l.c, cmd)
}

// correct applies a correction that must be accepted.
func (l *lifecycle) correct(typ string, t target, on, fields string) cpts.Event {
	l.t.Helper()
	events, err := l.decideCorrection(l.correctionLine(typ, t, on, fields), t)
	if err != nil {
		l.t.Fatalf("%s rejected: %v", typ, err)
	}
	for _, e := range events {
		if err := l.c.Apply(e); err != nil {
			l.t.Fatal(err)
		}
	}
	return events[0]
}

// rejectCorrection checks that a correction is rejected with the code and
// changes nothing.
func (l *lifecycle) rejectCorrection(typ string, t target, on, fields, code string) {
	l.t.Helper()
	before := fmt.Sprint(l.c.Payments, l.c.Starts, l.c.Reports, l.c.Terms, l.c.TerminatedOn, l.c.Corrections)
	events, err := l.decideCorrection(l.correctionLine(typ, t, on, fields), t)
	var re *domain.RejectedError
	if !errors.As(err, &re) || !re.Has(code) || len(events) != 0 {
		l.t.Fatalf("%s: %v (%d events), want %s", typ, err, len(events), code)
	}
	if after := fmt.Sprint(l.c.Payments, l.c.Starts, l.c.Reports, l.c.Terms, l.c.TerminatedOn, l.c.Corrections); after != before {
		l.t.Fatal("a rejected correction changed the state")
	}
}

func regularisations(ps []cpts.PaymentDecided) []cpts.PaymentDecided {
	var out []cpts.PaymentDecided
	for _, p := range ps {
		if p.Kind == domain.KindRegularisation {
			out = append(out, p)
		}
	}
	return out
}

// A T2 contract whose three core missions start at signature, its year 1
// reported and settled; then the report's access value is found wrong.
func settledT2(t *testing.T) (*lifecycle, target) {
	l := newLifecycle(t)
	l.sign(50_000, "2020-01-15", false)
	for _, m := range []string{"access", "pathways", "prevention"} {
		l.start(m, "2020-01-15")
		l.deploy(m, "2020-06-01")
	}
	rep := fact(l.do(cpts.CmdReportIndicators, `"contract_year":1,"reported_on":"2021-01-20","values":[{"mission":"access","code":"access-1","value":"50"},{"mission":"pathways","code":"pathways-1","value":"100"},{"mission":"prevention","code":"prevention-1","value":"0"}]`))
	l.decideDue("2021-02-01")
	return l, rep
}

// A report corrected after its balance: year 1's access value was 80, not
// 50. Year 1 (2020-01-15 → 2021-01-15) has 366 days, access ran all of them:
// the access variable line was 17 500 × 0.5 × 366/366 = 8 750.00 and is
// 17 500 × 0.8 = 14 000.00 now: one regularisation of +5 250.00, due on the
// correction's date, naming the balance it changes. Deciding again adds
// nothing.
func TestReportCorrectedAfterItsBalance(t *testing.T) {
	l, rep := settledT2(t)
	balance := l.payment(cpts.KindAnnualBalance, 1, "")
	wantLines(t, balance, "/operating=0.00"[:0]+"access/fixed=29500.00", "access/variable=8750.00", "pathways/fixed=35000.00", "pathways/variable=35000.00",
		"prevention/fixed=15000.00", "prevention/variable=0.00", "/advances=-59625.00")

	l.rejectCorrection(cpts.CmdCorrectReport, rep, "2021-01-19", `"values":[{"mission":"access","code":"access-1","value":"80"},{"mission":"pathways","code":"pathways-1","value":"100"},{"mission":"prevention","code":"prevention-1","value":"0"}]`, "corrected_before_event")
	l.rejectCorrection(cpts.CmdCorrectReport, rep, "2021-03-01", `"values":[{"mission":"access","code":"access-1","value":"50"},{"mission":"pathways","code":"pathways-1","value":"100"},{"mission":"prevention","code":"prevention-1","value":"0"}]`, "no_change")
	l.rejectCorrection(cpts.CmdCorrectReport, rep, "2021-03-01", `"values":[{"mission":"access","code":"access-1","value":"80"}]`, "missing_value")

	e := l.correct(cpts.CmdCorrectReport, rep, "2021-03-01", `"values":[{"mission":"access","code":"access-1","value":"80"},{"mission":"pathways","code":"pathways-1","value":"100"},{"mission":"prevention","code":"prevention-1","value":"0"}]`)
	if rc := e.(cpts.ReportCorrected); rc.ContractYear != 1 || rc.OldValues[0].Value.String() != "50" || rc.Values[0].Value.String() != "80" || rc.Corrects != rep.id {
		t.Fatalf("event %+v", rc)
	}
	// A decision dated before the correction does not see it.
	if got := l.decideDue("2021-02-15"); len(got) != 0 {
		t.Fatalf("decided before the correction's date: %s", summary(got))
	}
	got := l.decideDue("2021-03-01")
	if len(got) != 1 || got[0].Kind != domain.KindRegularisation {
		t.Fatalf("decided %s", summary(got))
	}
	r := got[0]
	wantLines(t, r, "access/variable=5250.00")
	if r.ContractYear != 1 || r.DueOn.String() != "2021-03-01" || r.Amount.String() != "5250.00" || r.Reason != "found wrong in review" ||
		len(r.Corrects) != 1 || r.Corrects[0] != balance.PaymentID {
		t.Fatalf("regularisation %+v", r)
	}
	if again := l.decideDue("2021-06-01"); len(again) != 0 {
		t.Fatalf("deciding again: %s", summary(again))
	}
}

// A start date moved across an anniversary: access was recorded as started
// on 2021-01-10, five days before the end of year 1; it started on
// 2021-01-25, in year 2. Year 1 is settled: its access lines were
// 29 500 × 5/366 = 403.01 fixed and 17 500 × 1 × 5/366 = 239.07 variable, and
// are 0 now: a regularisation of −642.08. Year 2 is not settled: it follows
// the corrected facts, which make a start advance due on 2021-01-25:
// 0.75 × 29 500 × 355/365 = 21 518.84 (2021-01-25 → 2022-01-15 is 355 days).
func TestStartDateMovedAcrossAnAnniversary(t *testing.T) {
	l := newLifecycle(t)
	l.sign(50_000, "2020-01-15", false)
	l.start("pathways", "2020-01-15")
	l.start("prevention", "2020-01-15")
	start := fact(l.do(cpts.CmdStartMission, `"mission":"access","started_on":"2021-01-10"`))
	l.decideDue("2021-01-12")
	wantAmount(t, l.payment(cpts.KindMissionStartAdvance, 1, "access"), cpts.StatusDecided, "302.25") // 0.75 × 29 500 × 5/366
	l.report(1, "2021-01-20", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideDue("2021-02-01")
	balance := l.payment(cpts.KindAnnualBalance, 1, "")
	wantLines(t, balance, "access/fixed=403.01", "access/variable=239.07", "pathways/fixed=35000.00", "pathways/variable=35000.00",
		"prevention/fixed=15000.00", "prevention/variable=15000.00", "/advances=-37802.25")

	l.rejectCorrection(cpts.CmdCorrectMissionDate, start, "2021-03-01", `"date":"2019-12-31"`, "date_before_signature")
	l.rejectCorrection(cpts.CmdCorrectMissionDate, start, "2021-03-01", `"date":"2021-01-10"`, "no_change")
	l.correct(cpts.CmdCorrectMissionDate, start, "2021-03-01", `"date":"2021-01-25"`)
	got := l.decideDue("2021-03-01")
	if len(got) != 2 {
		t.Fatalf("decided %s", summary(got))
	}
	wantAmount(t, got[0], cpts.StatusDecided, "21518.84")
	if got[0].Kind != cpts.KindMissionStartAdvance || got[0].ContractYear != 2 || got[0].DueOn.String() != "2021-01-25" {
		t.Fatalf("first decision %+v", got[0])
	}
	wantLines(t, got[1], "access/fixed=-403.01", "access/variable=-239.07")
	if got[1].Kind != domain.KindRegularisation || got[1].ContractYear != 1 || got[1].Corrects[0] != balance.PaymentID {
		t.Fatalf("regularisation %+v", got[1])
	}
}

// A termination back-dated to 2021-06-15 after the advances of years 2
// (2021-01-15) and 3 (2022-01-15) were decided. Year 2 is the year of
// termination: its recovery, due on 2021-06-15, keeps 75 % of what accrued
// in its 151 days: 0.75 × (60 000 + 79 500) × 151/365 = 43 283.22, less the
// advance 104 625.00: −61 341.78. Year 3 began after the termination: it is
// settled without a balance, and everything decided for it is recovered,
// line by line: −104 625.00, due on the termination date.
func TestBackDatedTerminationAfterTwoAdvances(t *testing.T) {
	l := newLifecycle(t)
	l.sign(50_000, "2020-01-15", false)
	for _, m := range []string{"access", "pathways", "prevention"} {
		l.start(m, "2020-01-15")
		l.deploy(m, "2021-01-01")
	}
	l.report(1, "2021-01-20", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideDue("2022-02-01")
	wantAmount(t, l.payment(cpts.KindAnnualAdvance, 2, ""), cpts.StatusDecided, "104625.00")
	adv3 := l.payment(cpts.KindAnnualAdvance, 3, "")
	wantAmount(t, adv3, cpts.StatusDecided, "104625.00")
	y1 := fmt.Sprint(l.c.Payments[:6])

	l.do(cpts.CmdTerminateContract, `"terminated_on":"2021-06-15","reason":"the CPTS dissolved in June 2021"`)
	got := l.decideDue("2022-03-01")
	if len(got) != 2 {
		t.Fatalf("decided %s", summary(got))
	}
	wantLines(t, got[0], "/recovery=-61341.78")
	if got[0].Kind != cpts.KindRecovery || got[0].ContractYear != 2 || got[0].DueOn.String() != "2021-06-15" {
		t.Fatalf("recovery %+v", got[0])
	}
	r := got[1]
	wantLines(t, r, "/operating=-45000.00", "access/fixed=-22125.00", "pathways/fixed=-26250.00", "prevention/fixed=-11250.00")
	if r.Kind != domain.KindRegularisation || r.ContractYear != 3 || r.DueOn.String() != "2021-06-15" || r.Reason != "the CPTS dissolved in June 2021" ||
		len(r.Corrects) != 1 || r.Corrects[0] != adv3.PaymentID {
		t.Fatalf("regularisation %+v", r)
	}
	if fmt.Sprint(l.c.Payments[:6]) != y1 {
		t.Fatal("year 1, settled before the termination, changed")
	}
	// The top-up due on 2022-03-31 falls after the termination: never due.
	if again := l.decideDue("2022-06-01"); len(again) != 0 {
		t.Fatalf("decided after: %s", summary(again))
	}
}

// A terms correction that changes the tier: the population was 40 000, not
// 39 999, so the contract is T2, not T1. Year 1 is settled: the signature's
// operating line was 50 000 and is 60 000 (+10 000); the balance's lines,
// over all 366 days at 100 % achievement, change by access fixed
// 29 500 − 25 000 = +4 500, access variable 17 500 − 15 000 = +2 500,
// pathways 35 000 − 25 000 = +10 000 each, prevention 15 000 − 10 000 =
// +5 000 each: +47 000.00 in all, naming the signature and the balance.
func TestTermsCorrectionChangesTheTier(t *testing.T) {
	l := newLifecycle(t)
	l.sign(39_999, "2020-01-15", false)
	sign := target{id: uuid.New(), e: cpts.ContractSigned{}}
	sign.e = l.c.Terms
	for _, m := range []string{"access", "pathways", "prevention"} {
		l.start(m, "2020-01-15")
		l.deploy(m, "2020-06-01")
	}
	l.report(1, "2021-01-20", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideDue("2021-02-01")
	signature, balance := l.payment(cpts.KindSignature, 1, ""), l.payment(cpts.KindAnnualBalance, 1, "")
	wantAmount(t, signature, cpts.StatusDecided, "50000.00")

	l.rejectCorrection(cpts.CmdCorrectContractTerms, sign, "2021-03-01", `"population":39999`, "no_change")
	l.rejectCorrection(cpts.CmdCorrectContractTerms, sign, "2021-03-01", `"indicators":[{"mission":"access","code":"other","weight":"1","target":"100"},{"mission":"pathways","code":"pathways-1","weight":"1","target":"100"},{"mission":"prevention","code":"prevention-1","weight":"1","target":"100"}]`, "indicators_reported")
	e := l.correct(cpts.CmdCorrectContractTerms, sign, "2021-03-01", `"population":40000`).(cpts.ContractTermsCorrected)
	if e.Old.Tier != "T1" || e.New.Tier != "T2" || e.New.Population != 40000 || l.c.Terms.Tier != "T2" {
		t.Fatalf("event %+v", e)
	}
	got := l.decideDue("2021-03-01")
	if len(got) != 1 {
		t.Fatalf("decided %s", summary(got))
	}
	wantLines(t, got[0], "/operating=10000.00", "access/fixed=4500.00", "access/variable=2500.00", "pathways/fixed=10000.00",
		"pathways/variable=10000.00", "prevention/fixed=5000.00", "prevention/variable=5000.00")
	if c := got[0].Corrects; len(c) != 2 || c[0] != signature.PaymentID || c[1] != balance.PaymentID {
		t.Fatalf("corrects %v", c)
	}
	// Year 2 follows the T2 terms: its balance pays T2 dues less the T1
	// advance decided.
	l.report(2, "2022-01-20", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideDue("2022-02-01")
	var y2 domain.Money
	for _, p := range l.c.Payments {
		if p.ContractYear == 2 {
			y2 = y2.Add(p.Amount)
		}
	}
	if y2.String() != "207000.00" { // 60 000 + 29 500 + 17 500 + 35 000 × 2 + 15 000 × 2: T2's full year
		t.Fatalf("year 2 decided %s, want T2's 207000.00", y2)
	}
}

// A correction naming no event of the contract, an event of another
// contract, an event of another type, or dated before the event it
// corrects, is rejected and changes nothing; and one that would recover
// money decided more than three years before is prescribed.
func TestCorrectionRejections(t *testing.T) {
	l, rep := settledT2(t)
	values := `"values":[{"mission":"access","code":"access-1","value":"80"},{"mission":"pathways","code":"pathways-1","value":"100"},{"mission":"prevention","code":"prevention-1","value":"0"}]`
	unknown := target{id: uuid.New(), e: rep.e}
	line := l.correctionLine(cpts.CmdCorrectReport, unknown, "2021-03-01", values)
	cmd, _ := cpts.DecodeCommand([]byte(line))
	cmd.(domain.Correction).Correction().Target = domain.EventRef{ID: unknown.id}
	if _, err := cpts.Decide(l.c, cmd); !hasCode(err, "unknown_event") {
		t.Fatalf("unknown event: %v", err)
	}
	cmd.(domain.Correction).Correction().Target = domain.EventRef{ID: unknown.id, OtherStream: "cpts-0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81"}
	if _, err := cpts.Decide(l.c, cmd); !hasCode(err, "wrong_event") || !strings.Contains(err.Error(), "belongs to cpts-0190a0e2") {
		t.Fatalf("another contract's event: %v", err)
	}
	l.rejectCorrection(cpts.CmdCorrectMissionDate, rep, "2021-03-01", `"date":"2020-02-01"`, "wrong_event")
	l.rejectCorrection(cpts.CmdCorrectReport, rep, "2021-01-01", values, "corrected_before_event")
	// Lowering access to 10 in 2024-03-01 would recover part of the balance
	// decided on 2021-02-01, more than three years before.
	lower := strings.Replace(values, `"value":"80"`, `"value":"10"`, 1)
	l.rejectCorrection(cpts.CmdCorrectReport, rep, "2024-03-01", lower, "prescribed")
	// Within three years it is accepted.
	l.correct(cpts.CmdCorrectReport, rep, "2024-01-31", lower)
	if r := regularisations(l.decideDue("2024-02-01")); len(r) != 1 || r[0].Amount.String() != "-7000.00" { // 17 500 × (0.1 − 0.5)
		t.Fatalf("regularisation %s", summary(r))
	}
}

func hasCode(err error, code string) bool {
	var re *domain.RejectedError
	return errors.As(err, &re) && re.Has(code)
}
