package assistant_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
)

// correct decides a correction of event e (given the id id), as the
// command path would, resolving its target first.
func (l *lifecycle) correct(typ string, id uuid.UUID, e domain.Event, fields string) ([]domain.Event, error) {
	cmd, err := assistant.DecodeCommand([]byte(l.line(typ, fmt.Sprintf(`"corrects":%q,%s`, id, fields))))
	if err != nil {
		return nil, err
	}
	cmd.(domain.Correction).Correction().Target = domain.EventRef{ID: id, Found: true, Type: e.EventType(), OccurredOn: e.BusinessDate(), Event: e}
	events, err := assistant.Decide(l.c, cmd)
	if err == nil {
		for _, ev := range events {
			if err := l.c.Apply(ev); err != nil {
				l.t.Fatal(err)
			}
		}
	}
	return events, err
}

// An aid patientèle correction that turns instalment 2 negative. The
// contract (am-2019, half an FTE, baseline 900, target 1 000) reported 980
// patients for year 2: rate (980 − 900) / (1 000 − 900) = 0.8, and year 3
// was settled with instalment 1 = 50 % × 10 500 = 5 250.00 and instalment 2
// = 10 500 × 0.8 − 5 250 = 3 150.00. It was 920: rate 0.2, and instalment 2
// would be 10 500 × 0.2 − 5 250 = −3 150.00. Year 3 is due 2 100.00, was
// decided 8 400.00: a regularisation of −6 300.00, money to recover. Dated
// more than three years after instalment 2 was decided, the same correction
// is prescribed.
func TestPatienteleCorrectionTurnsInstalment2Negative(t *testing.T) {
	l := newLifecycle(t)
	l.sign(gp, "1/2", "2021-03-01", "below_p90", 900, 1000)
	l.hire("2021-03-20")
	reported := l.do(assistant.CmdReportPatientele, `"contract_year":2,"reported_on":"2023-03-05","patientele":980`)[0]
	l.decide("2023-10-01")
	l.want(assistant.KindInstalment1, 3, "2023-03-01", "5250.00", "2019")
	l.want(assistant.KindInstalment2, 3, "2023-09-01", "3150.00", "2019")
	inst2, _ := l.c.Payment(assistant.KindInstalment2, 3)
	id := uuid.New()

	if _, err := l.correct(assistant.CmdCorrectPatientele, id, reported, `"corrected_on":"2027-01-15","reason":"count revised","patientele":920`); !rejectedWith(err, "prescribed") {
		t.Fatalf("a correction recovering money decided on 2023-10-01, dated 2027-01-15: %v", err)
	}
	if _, err := l.correct(assistant.CmdCorrectPatientele, id, reported, `"corrected_on":"2024-01-15","reason":"count revised","patientele":980`); !rejectedWith(err, "no_change") {
		t.Fatalf("no change: %v", err)
	}
	events, err := l.correct(assistant.CmdCorrectPatientele, id, reported, `"corrected_on":"2024-01-15","reason":"count revised by the CPAM","patientele":920`)
	if err != nil {
		t.Fatal(err)
	}
	if e := events[0].(assistant.PatienteleCorrected); e.OldPatientele != 980 || e.Patientele != 920 || e.ContractYear != 2 {
		t.Fatalf("event %+v", e)
	}
	decided := l.do(assistant.CmdDecideDuePayments, `"as_of":"2024-01-15"`)
	var regs []domain.PaymentDecided
	for _, e := range decided {
		if p := e.(domain.PaymentDecided); p.Kind == domain.KindRegularisation {
			regs = append(regs, p)
		}
	}
	if len(regs) != 1 {
		t.Fatalf("decided %v", decided)
	}
	r := regs[0]
	if r.ContractYear != 3 || r.Amount.String() != "-6300.00" || r.DueOn.String() != "2024-01-15" || r.Reason != "count revised by the CPAM" ||
		len(r.Corrects) != 1 || r.Corrects[0] != inst2.PaymentID || len(r.Lines) != 1 || r.Lines[0].Component != "aid" {
		t.Fatalf("regularisation %+v", r)
	}
	if again := l.do(assistant.CmdDecideDuePayments, `"as_of":"2024-02-01"`); len(again) != 0 {
		t.Fatalf("deciding again: %v", again)
	}
}

func rejectedWith(err error, code string) bool {
	re, ok := err.(*domain.RejectedError)
	return ok && re.Has(code)
}

// After random corrections of a random aid lifecycle (patientèle reports,
// the hiring, a termination back-dated or moved), every settled year has
// been decided exactly what it is due under the corrected facts — its aid
// times the objective's rate from year 3, nothing for a year begun after
// the termination — and deciding again decides nothing.
func TestPropertyCorrectionsRegulariseSettledAidYears(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		signed := domain.MustDate("2019-08-20").AddDays(rapid.IntRange(0, 1500).Draw(rt, "signed_offset"))
		baseline := rapid.IntRange(800, 2000).Draw(rt, "baseline")
		target := baseline + rapid.IntRange(0, 300).Draw(rt, "target_delta")
		l := &lifecycle{t: t, c: assistant.NewContract(uuid.MustParse(cid))}
		option := "1/2"
		l.do(assistant.CmdSignAidContract, signFields(doctor{"general_practice", 1, false, true, true, true, `,"patientele_percentile":50`}, option, signed.String(), "below_p90", baseline, target))
		years := l.c.Years
		hired := l.do(assistant.CmdHireAssistant, fmt.Sprintf(`"hired_on":%q`, signed.AddDays(rapid.IntRange(0, 300).Draw(rt, "hire_offset"))))[0]
		reports := map[int]domain.Event{}
		var termination domain.Event
		last := 5
		if rapid.Bool().Draw(rt, "terminated") {
			last = rapid.IntRange(2, 5).Draw(rt, "last_year")
		}
		for k := 1; k <= last; k++ {
			on := years.End(k).AddDays(rapid.IntRange(0, 100).Draw(rt, fmt.Sprint("delay_", k)))
			reports[k] = l.do(assistant.CmdReportPatientele, fmt.Sprintf(`"contract_year":%d,"reported_on":%q,"patientele":%d`, k, on,
				rapid.IntRange(0, target+200).Draw(rt, fmt.Sprint("p_", k))))[0]
			l.decide(on.AddDays(200).String())
		}
		if last < 5 {
			termination = l.do(assistant.CmdTerminateContract, fmt.Sprintf(`"terminated_on":%q,"reason":"left"`, years.Start(last).AddDays(250)))[0]
		}
		l.decide(years.End(5).AddDays(300).String())
		on := years.End(5).AddDays(rapid.IntRange(300, 500).Draw(rt, "corrected_after"))
		for i := range rapid.IntRange(1, 3).Draw(rt, "corrections") {
			var e domain.Event
			var typ, fields string
			switch rapid.IntRange(0, 2).Draw(rt, fmt.Sprint("what_", i)) {
			case 0:
				k := rapid.IntRange(1, last).Draw(rt, fmt.Sprint("year_", i))
				e, typ, fields = reports[k], assistant.CmdCorrectPatientele, fmt.Sprintf(`"patientele":%d`, rapid.IntRange(0, target+200).Draw(rt, fmt.Sprint("np_", i)))
			case 1:
				e, typ, fields = hired, assistant.CmdCorrectHiring, fmt.Sprintf(`"hired_on":%q`, signed.AddDays(rapid.IntRange(0, 360).Draw(rt, fmt.Sprint("nh_", i))))
			default:
				if termination == nil {
					continue
				}
				e, typ, fields = termination, assistant.CmdCorrectTermination, fmt.Sprintf(`"terminated_on":%q`, signed.AddDays(rapid.IntRange(1, 5*365-2).Draw(rt, fmt.Sprint("nt_", i))))
			}
			_, err := l.correct(typ, uuid.New(), e, fmt.Sprintf(`"corrected_on":%q,"reason":"review",%s`, on, fields))
			if _, ok := err.(*domain.RejectedError); err != nil && !ok {
				rt.Fatal(err)
			}
		}
		l.decide(on.String())
		if again := l.do(assistant.CmdDecideDuePayments, fmt.Sprintf(`"as_of":%q`, on)); len(again) != 0 {
			rt.Fatalf("deciding again decided %v", again)
		}
		c := l.c
		for k := 1; k <= 5; k++ {
			var decided domain.Money
			n := 0
			for _, p := range c.Payments {
				if p.ContractYear == k {
					decided, n = decided.Add(p.Amount), n+1
				}
			}
			after := c.Terminated() && !years.Start(k).Before(c.TerminatedOn)
			final := map[bool]string{true: assistant.KindYearPayment, false: assistant.KindInstalment2}[k <= 2]
			if k == 1 && c.Rulebook.SplitsYear1() {
				final = assistant.KindYearBalance
			}
			_, settled := c.Payment(final, k)
			switch {
			case after && n > 0:
				if !decided.IsZero() {
					rt.Fatalf("year %d began after the termination on %s and keeps %s decided: %v", k, c.TerminatedOn, decided, c.Payments)
				}
			case settled:
				// What falls due before the termination (if any): each
				// instalment rounded on its own.
				aid, _, _ := c.Aid(k)
				live := func(d domain.Date) bool { return !c.Terminated() || d.Before(c.TerminatedOn) }
				var due domain.Money
				switch {
				case k == 1 && c.Rulebook.SplitsYear1():
					if live(c.HiredOn) {
						due = due.Add(aid.Mul(domain.ExactDecimal(c.Rulebook.Year1.OnHiring)).Cents())
					}
					if live(years.End(1)) {
						due = due.Add(aid.Mul(domain.ExactDecimal(c.Rulebook.Year1.AtEndOfYear)).Cents())
					}
				case k == 1 && live(c.HiredOn), k == 2 && live(years.Start(2)):
					due = aid.Cents()
				case k >= 3:
					half := aid.Mul(domain.ExactDecimal(c.Rulebook.Instalment1Rate)).Cents()
					if live(years.Start(k)) {
						due = half
					}
					rate, ok := c.Rate(k)
					if ok && live(domain.MaxDate(years.Start(k).AddMonths(6), c.Reports[k-1].ReportedOn)) {
						due = due.Add(aid.Mul(rate).Sub(half.Exact()).Cents())
					}
				}
				if !decided.Equal(due) {
					rt.Fatalf("settled year %d decided %s, due under the corrected facts %s: %v", k, decided, due, c.Payments)
				}
			}
		}
	})
}
