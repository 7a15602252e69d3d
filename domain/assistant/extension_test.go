package assistant_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
)

func (l *lifecycle) extend(on, fte string, zone bool) {
	l.t.Helper()
	l.do(assistant.CmdExtendAssistant, fmt.Sprintf(`"on":%q,"added_fte":%q,"priority_zone":%t`, on, fte, zone))
}

func (l *lifecycle) wantExtension(kind string, k int, due, amount string) {
	l.t.Helper()
	p, ok := l.c.Payment(kind, k)
	if !ok {
		l.t.Fatalf("no %s for year %d; decided: %v", kind, k, l.c.Payments)
	}
	if p.DueOn.String() != due || p.Amount.String() != amount || p.Table != "2024" || p.Rulebook != "am-2024" {
		l.t.Fatalf("%s y%d: due %s amount %s table %s rulebook %s, want due %s amount %s table 2024 rulebook am-2024", kind, k, p.DueOn, p.Amount, p.Table, p.Rulebook, due, amount)
	}
	if len(p.Lines) != 1 || p.Lines[0].Component != assistant.ComponentExtension || !p.Lines[0].Amount.Equal(p.Amount) || p.Lines[0].Basis == "" {
		l.t.Fatalf("%s y%d lines %+v: want one extension line with its basis", kind, k, p.Lines)
	}
}

// fullTimeGP signs a GP for a full-time assistant on 2024-07-01 (baseline
// 1 000, target 1 100), hires on 2024-07-15 and reports year 2 at p.
func fullTimeGP(t *testing.T, year2 int) *lifecycle {
	l := newLifecycle(t)
	l.sign(gp2024, "1", "2024-07-01", "below_p90", 1000, 1100)
	l.hire("2024-07-15")
	l.report(1, "2025-07-10", 1050)
	l.report(2, "2026-07-10", year2)
	return l
}

// The 2024 extension, by hand. A GP with a full-time assistant (signed
// 2024-07-01, baseline 1 000, target 1 100) reaches 1 120 in year 2 (rate 1)
// and adds 1/2 FTE on 2026-10-01, in year 3 (2026-07-01 to 2027-06-30, 365
// days), in a priority zone. The added share's year-3 aid is the 2024
// table's 1/2 row, 11 000, × 273/365 days = 8 227.397…: half, 4 113.70, on
// 2026-10-01; the rest × rate 1, 8 227.397… − 4 113.70 = 4 113.70 (to the
// cent), with the year's instalment 2 on 2027-01-01. Year 4 (366 days) is
// whole: 5 500 at its start; year 3's patientèle, 1 080, gives rate
// (1 080 − 1 000) / (1 100 − 1 000) = 0.8, so 11 000 × 0.8 − 5 500 = 3 300
// on 2028-01-01, beside the contract's own 22 000 × 0.8 − 11 000 = 6 600.
func TestExtensionGolden(t *testing.T) {
	l := fullTimeGP(t, 1120)
	l.extend("2026-10-01", "1/2", true)
	l.report(3, "2027-07-20", 1080)
	l.decide("2028-02-01")
	l.want(assistant.KindYearPayment, 1, "2024-07-15", "38000.00", "2024")
	l.want(assistant.KindYearPayment, 2, "2025-07-01", "28000.00", "2024")
	l.want(assistant.KindInstalment1, 3, "2026-07-01", "11000.00", "2024")
	l.want(assistant.KindInstalment2, 3, "2027-01-01", "11000.00", "2024")
	l.wantExtension(assistant.KindExtensionInstalment1, 3, "2026-10-01", "4113.70")
	l.wantExtension(assistant.KindExtensionInstalment2, 3, "2027-01-01", "4113.70")
	l.want(assistant.KindInstalment1, 4, "2027-07-01", "11000.00", "2024")
	l.want(assistant.KindInstalment2, 4, "2028-01-01", "6600.00", "2024")
	l.wantExtension(assistant.KindExtensionInstalment1, 4, "2027-07-01", "5500.00")
	l.wantExtension(assistant.KindExtensionInstalment2, 4, "2028-01-01", "3300.00")
	if n := len(l.c.Payments); n != 10 {
		t.Fatalf("%d payments decided, want 10: %v", n, l.c.Payments)
	}
	// A second extension is refused.
	l.reject(assistant.CmdExtendAssistant, `"on":"2027-08-01","added_fte":"1/2","priority_zone":true`, "extension_exists", "on")
}

// Each condition of the extension refused on its own, naming it.
func TestExtensionRefusals(t *testing.T) {
	ext := func(on, fte string, zone bool) string {
		return fmt.Sprintf(`"on":%q,"added_fte":%q,"priority_zone":%t`, on, fte, zone)
	}
	met := fullTimeGP(t, 1120)
	met.reject(assistant.CmdExtendAssistant, ext("2026-06-30", "1", true), "extension_too_early", "on")
	met.reject(assistant.CmdExtendAssistant, ext("2026-10-01", "1", false), "extension_outside_priority_zone", "priority_zone")
	met.reject(assistant.CmdExtendAssistant, ext("2026-10-01", "1/3", true), "invalid_value", "added_fte")
	met.reject(assistant.CmdExtendAssistant, `"on":"2026-10-01","added_fte":"1"`, "missing_field", "priority_zone")

	missed := fullTimeGP(t, 1050) // rate 0.5
	missed.reject(assistant.CmdExtendAssistant, ext("2026-10-01", "1", true), "extension_objective_not_met", "on")

	unreported := newLifecycle(t)
	unreported.sign(gp2024, "1", "2024-07-01", "below_p90", 1000, 1100)
	unreported.hire("2024-07-15")
	unreported.reject(assistant.CmdExtendAssistant, ext("2026-10-01", "1", true), "extension_objective_not_met", "on")

	half := newLifecycle(t)
	half.sign(gp2024, "1/2", "2024-07-01", "below_p90", 1000, 1100)
	half.hire("2024-07-15")
	half.report(2, "2026-07-10", 1200)
	half.reject(assistant.CmdExtendAssistant, ext("2026-10-01", "1/2", true), "extension_needs_full_time", "contract_id")

	cardio := newLifecycle(t)
	cardio.sign(doctor{"cardiology", 1, false, true, false, true, `,"patientele_percentile":45`}, "1", "2024-07-01", "below_p90", 1000, 1100)
	cardio.hire("2024-07-15")
	cardio.report(2, "2026-07-10", 1200)
	cardio.reject(assistant.CmdExtendAssistant, ext("2026-10-01", "1/2", true), "extension_specialty", "contract_id")

	// An avenant-7 contract for a full-time assistant (under-served zone):
	// not before the 2024 convention, from it in year 5.
	old := newLifecycle(t)
	old.sign(doctor{"general_practice", 1, false, true, true, true, ""}, "1", "2020-03-01", "below_p90", 900, 1000)
	old.hire("2020-03-10")
	old.report(3, "2023-03-05", 1000)
	old.reject(assistant.CmdExtendAssistant, ext("2023-06-01", "1/2", true), "extension_not_open", "on")
	old.extend("2024-09-01", "1/2", true)
	old.decide("2024-09-01")
	// Year 5 (2024-03-01 to 2025-02-28, 365 days): 181 days from
	// 2024-09-01; the 2024 table's 1/2 row, 11 000 × 181/365 × 0.5 =
	// 2 727.397… → 2 727.40.
	p, ok := old.c.Payment(assistant.KindExtensionInstalment1, 5)
	if !ok || p.Amount.String() != "2727.40" || p.DueOn.String() != "2024-09-01" || p.Table != "2024" {
		t.Fatalf("year-5 extension instalment 1: %+v (%t), want 2727.40 on 2024-09-01 from table 2024", p, ok)
	}
}

// Avenant 7's commitment to a coordinated practice, by hand. A GP signs on
// 2020-03-01 without one (1/2 FTE, 2019 table): the deadline is 2022-03-01.
// Year 1 (12 600 on hiring, 5 400 at its end) and year 2 (13 500) fall due
// as usual; year 3's instalment 1, due on 2022-03-01, the deadline itself,
// waits while no coordinated practice is recorded, and falls due on the day
// the doctor joins one, 2022-05-10: 5 250. Instalment 2 (due 2022-09-01,
// after the joining) is not moved: 10 500 × 1 − 5 250 = 5 250.
func TestCoordinatedPracticeCommitment(t *testing.T) {
	solo := doctor{"general_practice", 1, false, true, false, false, ""}
	l := newLifecycle(t)
	l.sign(solo, "1/2", "2020-03-01", "below_p90", 900, 1000)
	cm := l.c.Commitment()
	if cm == nil || cm.Deadline.String() != "2022-03-01" || cm.Months != 24 {
		t.Fatalf("commitment %+v, want a 24-month deadline on 2022-03-01", cm)
	}
	l.hire("2020-03-15")
	l.report(2, "2022-03-05", 1000)
	l.decide("2022-04-01")
	l.want(assistant.KindHiringAdvance, 1, "2020-03-15", "12600.00", "2019")
	l.want(assistant.KindYearBalance, 1, "2021-03-01", "5400.00", "2019")
	l.want(assistant.KindYearPayment, 2, "2021-03-01", "13500.00", "2019")
	if p, ok := l.c.Payment(assistant.KindInstalment1, 3); ok {
		t.Fatalf("instalment 1 of year 3 decided while the commitment is missed: %+v", p)
	}
	l.reject(assistant.CmdRecordCoordinatedPractice, `"joined_on":"2020-02-01","form":"cpts"`, "date_before_signature", "joined_on")
	l.reject(assistant.CmdRecordCoordinatedPractice, `"joined_on":"2022-05-10","form":"club"`, "invalid_value", "form")
	l.do(assistant.CmdRecordCoordinatedPractice, `"joined_on":"2022-05-10","form":"cpts"`)
	l.decide("2022-09-01")
	l.want(assistant.KindInstalment1, 3, "2022-05-10", "5250.00", "2019")
	l.want(assistant.KindInstalment2, 3, "2022-09-01", "5250.00", "2019")
	if cm := l.c.Commitment(); cm.Done.String() != "2022-05-10" {
		t.Fatalf("commitment met on %s, want 2022-05-10", cm.Done)
	}
	l.reject(assistant.CmdRecordCoordinatedPractice, `"joined_on":"2022-06-10","form":"msp"`, "commitment_recorded", "joined_on")

	// A doctor in a coordinated practice at signature has no commitment.
	in := newLifecycle(t)
	in.sign(gpUndeclared, "1/2", "2020-03-01", "below_p90", 900, 1000)
	if in.c.Commitment() != nil {
		t.Fatal("a doctor in a coordinated practice at signature has a commitment")
	}
	in.reject(assistant.CmdRecordCoordinatedPractice, `"joined_on":"2021-05-10","form":"msp"`, "no_commitment", "contract_id")

	// Joined before the deadline: nothing is suspended.
	early := newLifecycle(t)
	early.sign(solo, "1/2", "2020-03-01", "below_p90", 900, 1000)
	early.hire("2020-03-15")
	early.do(assistant.CmdRecordCoordinatedPractice, `"joined_on":"2021-11-02","form":"msp"`)
	early.decide("2022-03-01")
	early.want(assistant.KindInstalment1, 3, "2022-03-01", "5250.00", "2019")
}

// The same facts give the same payments whenever they are decided: a
// contract extended (2024) or committed to a coordinated practice (avenant
// 7), decided at each report and on each fact's day, or once years later,
// decides the same payments, due on the same days, for the same amounts.
func TestPropertyDecisionTimeDoesNotChangeExtensionsOrCommitments(t *testing.T) {
	extended, suspended, runs := 0, 0, 0
	defer func() {
		t.Logf("%d of %d lifecycles extended, %d held payments for a missed commitment", extended, runs, suspended)
	}()
	rapid.Check(t, func(rt *rapid.T) {
		runs++
		committed := rapid.Bool().Draw(rt, "avenant_7_commitment")
		signed, option, d := domain.MustDate("2024-06-22").AddDays(rapid.IntRange(0, 400).Draw(rt, "signed_offset")), "1", gp2024
		if committed {
			signed, option = domain.MustDate("2019-08-20").AddDays(rapid.IntRange(0, 900).Draw(rt, "signed_offset")), "1/2"
			d = doctor{"general_practice", 1, false, true, false, false, ""}
		}
		baseline := rapid.IntRange(800, 2000).Draw(rt, "baseline")
		target := baseline + rapid.IntRange(0, 200).Draw(rt, "target_delta")
		type fact struct {
			on         domain.Date
			typ, field string
		}
		years := domain.ContractYears{Signed: signed, Count: 5}
		facts := []fact{{signed.AddDays(rapid.IntRange(0, 300).Draw(rt, "hire_offset")), assistant.CmdHireAssistant, ""}}
		for k := 1; k <= 4; k++ {
			on := years.End(k).AddDays(rapid.IntRange(0, 90).Draw(rt, fmt.Sprintf("report_delay_%d", k)))
			p := rapid.IntRange(baseline/2, target+200).Draw(rt, fmt.Sprintf("patientele_%d", k))
			facts = append(facts, fact{on, assistant.CmdReportPatientele, fmt.Sprintf(`"contract_year":%d,"reported_on":%q,"patientele":%d`, k, on, p)})
		}
		if committed {
			on := signed.AddDays(rapid.IntRange(30, 1200).Draw(rt, "joined_offset"))
			facts = append(facts, fact{on, assistant.CmdRecordCoordinatedPractice, fmt.Sprintf(`"joined_on":%q,"form":"msp"`, on)})
		} else {
			on := years.Start(3).AddDays(rapid.IntRange(0, 700).Draw(rt, "extend_offset"))
			facts = append(facts, fact{on, assistant.CmdExtendAssistant, fmt.Sprintf(`"on":%q,"added_fte":"1/2","priority_zone":true`, on)})
		}
		slices.SortStableFunc(facts, func(a, b fact) int { return a.on.Compare(b.on) })
		run := func(decideEach bool) []string {
			l := &lifecycle{t: t, c: assistant.NewContract(uuid.MustParse(cid))}
			l.do(assistant.CmdSignAidContract, signFields(d, option, signed.String(), "below_p90", baseline, target))
			for _, f := range facts {
				if f.typ == assistant.CmdHireAssistant {
					f.field = fmt.Sprintf(`"hired_on":%q`, f.on)
				}
				if _, err := l.try(f.typ, f.field); err != nil {
					continue // refused (an extension whose conditions fail): refused alike in both runs
				}
				l.do(f.typ, f.field)
				if decideEach {
					l.decide(f.on.String())
				}
			}
			l.decide("2031-12-31")
			if !decideEach {
				if l.c.Extension != nil {
					extended++
				}
				if cm := l.c.Commitment(); cm != nil && cm.Done.After(cm.Deadline) {
					suspended++
				}
			}
			var out []string
			for _, p := range l.c.Payments {
				out = append(out, fmt.Sprintf("%s y%d due %s %s", p.Kind, p.ContractYear, p.DueOn, p.Amount))
			}
			slices.Sort(out)
			return out
		}
		if now, later := run(true), run(false); !slices.Equal(now, later) {
			rt.Fatalf("decided as the facts came:\n%s\ndecided once, later:\n%s", strings.Join(now, "\n"), strings.Join(later, "\n"))
		}
	})
}
