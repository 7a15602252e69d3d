package cpts_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

// oldRules are the rulebooks as the ledger held them before amendment 2's
// signed figures: the seed funding after the amendment at the proposal's
// +50 % (the figures now kept as superseded).
func oldRules(t *testing.T) *cpts.Rules {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, name := range []string{"aci-cpts-2019.json", "aci-cpts-2019-avenant-2.json"} {
		b, err := os.ReadFile("rulebooks/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, "avenant") {
			s := string(b)
			for _, r := range [][2]string{{`"after": "87500"`, `"after": "75000"`}, {`"after": "105000"`, `"after": "90000"`},
				{`"after": "131250"`, `"after": "112500"`}, {`"after": "157500"`, `"after": "135000"`}} {
				if !strings.Contains(s, r[0]) {
					t.Fatalf("the amendment's data has no %s", r[0])
				}
				s = strings.Replace(s, r[0], r[1], 1)
			}
			b = []byte(s)
		}
		fsys["rulebooks/"+name] = &fstest.MapFile{Data: b}
	}
	rules, err := cpts.LoadRules(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// decidedByTheOldRelease runs a contract's commands under the old rules
// and returns its events, as an old ledger holds them.
func decidedByTheOldRelease(t *testing.T, population int, signedOn, terminatedOn string) []cpts.Event {
	t.Helper()
	l := &lifecycle{t: t, c: cpts.NewContractWith(uuid.MustParse(contractID), oldRules(t))}
	var events []cpts.Event
	events = append(events, l.do(cpts.CmdSignContract, signFields(population, signedOn, false))...)
	for _, m := range []string{"access", "pathways", "prevention"} {
		events = append(events, l.do(cpts.CmdStartMission, `"mission":"`+m+`","started_on":"`+signedOn+`"`)...)
	}
	if terminatedOn != "" {
		events = append(events, l.do(cpts.CmdTerminateContract, `"terminated_on":"`+terminatedOn+`","reason":"calendar not met"`)...)
		return append(events, l.do(cpts.CmdDecideDuePayments, `"as_of":"2022-12-31"`)...)
	}
	// Years 1 to 3 reported and settled (year 3 holds 2022-03-31 for a
	// contract signed in November 2019).
	signed := domain.MustDate(signedOn)
	for k := 1; k <= 3; k++ {
		on := signed.AddYears(k).AddDays(10)
		if on.After(domain.MustDate("2022-12-31")) {
			break
		}
		events = append(events, l.do(cpts.CmdReportIndicators, fmt.Sprintf(`"contract_year":%d,"reported_on":%q,"values":[{"mission":"access","code":"access-1","value":"100"},{"mission":"pathways","code":"pathways-1","value":"100"},{"mission":"prevention","code":"prevention-1","value":"100"}]`, k, on))...)
	}
	return append(events, l.do(cpts.CmdDecideDuePayments, `"as_of":"2022-12-31"`)...)
}

// upgraded replays an old ledger's events under the embedded rules.
func upgraded(t *testing.T, events []cpts.Event) *lifecycle {
	t.Helper()
	l := newLifecycle(t)
	for _, e := range events {
		if err := l.c.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	l.n = 100
	return l
}

func signedCorrection(t *testing.T) domain.RuleCorrection {
	t.Helper()
	cs := cpts.Default().(domain.RuleCorrections).RuleCorrections(domain.MustDate("2026-12-07"))
	if len(cs) != 1 || cs[0].CommandID != cpts.SignedFiguresAmendmentID {
		t.Fatalf("rule corrections: %+v", cs)
	}
	return cs[0]
}

// A T1 contract signed in 2019 whose top-up an old release decided at
// 25 000 (+50 %): the correction reaches it and is needed; once published
// (2026-12-07), its next decision notes it and pays 12 500.00 more
// (37 500 − 25 000) as a regularisation of year 3, citing it, due on the
// correction's date. Decided again: nothing more.
func TestSignedFiguresRegulariseAnOldTopup(t *testing.T) {
	for _, tc := range []struct {
		population int
		tier, was  string
		more       string
	}{{30_000, "T1", "25000.00", "12500.00"}, {50_000, "T2", "30000.00", "15000.00"}, {100_000, "T3", "37500.00", "18750.00"}, {200_000, "T4", "45000.00", "22500.00"}} {
		t.Run(tc.tier, func(t *testing.T) {
			events := decidedByTheOldRelease(t, tc.population, "2019-11-15", "")
			l := upgraded(t, events)
			wantAmount(t, l.payment(cpts.KindAmorcageTopup, 3, ""), "decided", tc.was)
			corr := signedCorrection(t)
			if !corr.Reaches(events[0]) || !corr.Needed(l.c) {
				t.Fatal("the correction does not reach or is not needed by a contract decided at +50 %")
			}
			r := &reference{t: t}
			r.must(string(corr.Line))
			decided := l.decideWith("2026-12-07", r)
			if len(decided) < 2 {
				t.Fatalf("decided %v", decided)
			}
			applied, ok := decided[0].(cpts.RulebookAmendmentApplied)
			if !ok || applied.AmendmentID != cpts.SignedFiguresAmendmentID {
				t.Fatalf("first event %T %+v, want the correction noted", decided[0], decided[0])
			}
			var reg *cpts.PaymentDecided
			for _, p := range payments(decided) {
				if p.Kind == domain.KindRegularisation {
					reg = &p
				}
			}
			if reg == nil || reg.Amount.String() != tc.more || reg.ContractYear != 3 || reg.DueOn.String() != "2026-12-07" ||
				!strings.Contains(reg.Reason, "as signed: seed funding +75 %") {
				t.Fatalf("regularisation %+v, want %s in year 3 on 2026-12-07 citing the correction", reg, tc.more)
			}
			if corr.Needed(l.c) {
				t.Fatal("still needed once noted")
			}
			if again := l.decideWith("2026-12-08", r); len(payments(again)) != 0 {
				t.Fatalf("decided again: %v", summary(payments(again)))
			}
		})
	}
}

// A contract terminated before 2022-03-31 had no top-up, a contract signed
// in 2022 none either: the correction is not needed, and, published all
// the same, changes nothing for them. A contract decided with the signed
// figures (a fresh ledger) does not need it.
func TestSignedFiguresLeaveOthersUntouched(t *testing.T) {
	r := &reference{t: t}
	corr := signedCorrection(t)
	r.must(string(corr.Line))
	for name, events := range map[string][]cpts.Event{
		"terminated 2022-03-30": decidedByTheOldRelease(t, 30_000, "2019-11-15", "2022-03-30"),
		"signed 2022-01-01":     decidedByTheOldRelease(t, 30_000, "2022-01-01", ""),
	} {
		l := upgraded(t, events)
		if corr.Needed(l.c) {
			t.Errorf("%s: needed", name)
		}
		for _, p := range payments(l.decideWith("2026-12-07", r)) {
			if p.Kind == domain.KindRegularisation || p.Kind == cpts.KindAmorcageTopup {
				t.Errorf("%s: decided %s %s", name, p.Kind, p.Amount)
			}
		}
	}
	fresh := newLifecycle(t)
	fresh.sign(30_000, "2019-11-15", false)
	fresh.decideDue("2022-06-30")
	wantAmount(t, fresh.payment(cpts.KindAmorcageTopup, 3, ""), "decided", "37500.00")
	if corr.Needed(fresh.c) {
		t.Error("a contract decided with the signed figures needs the correction")
	}
}

// Published a second time, the correction is refused; an operator's
// amendment of the top-up is compared with the signed figure once the
// correction is recorded.
func TestSignedFiguresOnce(t *testing.T) {
	r := &reference{t: t}
	corr := signedCorrection(t)
	r.must(string(corr.Line))
	line := strings.Replace(string(corr.Line), `"command_id":"`+cpts.SignedFiguresAmendmentID+`"`, `"command_id":"again"`, 1)
	if _, err := r.submit(line); err == nil || !strings.Contains(err.Error(), "published once") {
		t.Fatalf("second publication: %v", err)
	}
}
