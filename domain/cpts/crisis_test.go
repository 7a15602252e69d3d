package cpts_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// The crisis mission and the rulebook amendments (docs/domain.md §2.10),
// under the embedded rulebooks: aci-2022 from 2022-04-01. Every figure is
// computed by hand in the comments.

func newLifecycle2022(t *testing.T) *lifecycle {
	return &lifecycle{t: t, c: cpts.NewContract(uuid.MustParse(contractID))}
}

// reference is the reference streams of a test: each command decided and
// applied as the command path does, with a fixed event id per command.
type reference struct {
	t   *testing.T
	ref cpts.Reference
	n   int
}

// submit decides a reference command and returns its event id, or the
// rejection.
func (r *reference) submit(line string) (uuid.UUID, error) {
	r.t.Helper()
	cmd, err := cpts.DecodeReferenceCommand([]byte(line), cpts.DefaultRules().Calendar())
	if err != nil {
		return uuid.Nil, err
	}
	events, err := cpts.DecideReference(&r.ref, cpts.DefaultRules(), cmd)
	if err != nil {
		return uuid.Nil, err
	}
	r.n++
	id := uuid.NewSHA1(uuid.Nil, fmt.Appendf(nil, "ref/%d", r.n))
	for _, e := range events {
		if err := r.ref.Apply(id, e); err != nil {
			r.t.Fatal(err)
		}
	}
	return id, nil
}

func (r *reference) must(line string) uuid.UUID {
	r.t.Helper()
	id, err := r.submit(line)
	if err != nil {
		r.t.Fatalf("%s rejected: %v", line, err)
	}
	return id
}

func amendment(id, effective, published, rows string, extra ...string) string {
	return fmt.Sprintf(`{"type":"PublishRulebookAmendment","command_id":%q,"amendment_id":%q,"amends":"aci-2022","effective_on":%q,"published_on":%q,"amounts":[%s],"source":"test","reason":"crisis amounts"%s}`,
		"cmd-"+id, id, effective, published, rows, strings.Join(extra, ""))
}

func row(tier, mission, component, amount string) string {
	return fmt.Sprintf(`{"tier":%q,"mission":%q,"component":%q,"amount":%q}`, tier, mission, component, amount)
}

func crisis(id, ars, from, to, on string) string {
	return fmt.Sprintf(`{"type":"RecogniseCrisis","command_id":%q,"ars":%q,"from":%q,"to":%q,"recognised_on":%q,"reason":"epidemic"}`, id, ars, from, to, on)
}

// decideWith is DecideDuePayments with the reference as it stands.
func (l *lifecycle) decideWith(asOf string, r *reference) []cpts.Event {
	l.t.Helper()
	line := l.cmd(cpts.CmdDecideDuePayments, fmt.Sprintf(`"as_of":%q`, asOf))
	cmd, err := cpts.DecodeCommand([]byte(line))
	if err != nil {
		l.t.Fatal(err)
	}
	d := cmd.(domain.DecideDuePayments)
	d.Reference = r.ref.Copy()
	events, err := cpts.Decide(l.c, d)
	if err != nil {
		l.t.Fatalf("%s: %v", line, err)
	}
	for _, e := range events {
		if err := l.c.Apply(e); err != nil {
			l.t.Fatal(err)
		}
	}
	return events
}

func payments(events []cpts.Event) []cpts.PaymentDecided {
	var out []cpts.PaymentDecided
	for _, e := range events {
		if p, ok := e.(cpts.PaymentDecided); ok {
			out = append(out, p)
		}
	}
	return out
}

// signWithCrisis signs under aci-2022 with the four core missions (the
// crisis mission has no indicator: it has no variable part).
func (l *lifecycle) signWithCrisis(population int, signedOn string, regulation bool, optional ...string) {
	l.t.Helper()
	missions := append([]string{"access", "pathways", "prevention", "crisis"}, optional...)
	fields := signFields(population, signedOn, regulation, missions...)
	fields = strings.Replace(fields, `{"mission":"crisis","code":"crisis-1","weight":"1","target":"100"},`, "", 1)
	fields = strings.Replace(fields, `,{"mission":"crisis","code":"crisis-1","weight":"1","target":"100"}`, "", 1)
	l.do(cpts.CmdSignContract, fields)
}

// A T3 contract of aci-2022, every core mission from the signature: the
// crisis plan is paid like the other fixed parts (22 500 € a year), and a
// year in which the ARS recognises a crisis adds the supplement (67 500 €).
// Withdrawing the recognition after the balance regularises it.
func TestCrisisGoldenT3(t *testing.T) {
	l := newLifecycle2022(t)
	r := &reference{t: t}
	l.signWithCrisis(100_000, "2022-06-01", false)
	if l.c.Rulebook.ID != "aci-2022" {
		t.Fatalf("signed under %s, want aci-2022", l.c.Rulebook.ID)
	}
	for _, m := range []string{"access", "pathways", "prevention", "crisis"} {
		l.start(m, "2022-06-01")
		l.deploy(m, "2023-01-02")
	}
	rec := r.must(crisis("cr1", "ARS Centre-Val de Loire", "2022-10-01", "2023-03-31", "2022-12-01"))
	l.decideWith("2022-06-01", r)
	wantAmount(t, l.payment(cpts.KindSignature, 1, ""), cpts.StatusDecided, "75000.00")
	// 75 % × fixed × 365/365 (2022-06-01 to 2023-06-01): access 40 000
	// (25 000 + SNP 15 000), pathways 45 000, prevention 17 500, crisis 22 500.
	for m, want := range map[string]string{"access": "30000.00", "pathways": "33750.00", "prevention": "13125.00", "crisis": "16875.00"} {
		wantAmount(t, l.payment(cpts.KindMissionStartAdvance, 1, m), cpts.StatusDecided, want)
	}
	l.report(1, "2023-06-15", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	events := l.decideWith("2023-07-01", r)
	// The recognition, dated 2022-12-01, is noted before the payments.
	if n, ok := events[0].(cpts.CrisisNoted); !ok || n.Recognition != rec {
		t.Fatalf("first event %T %+v, want the crisis noted", events[0], events[0])
	}
	// Year 2's advance on 2023-06-01: 75 % × (75 000 + 40 000 + 45 000 + 17 500 + 22 500) = 150 000.
	wantAmount(t, l.payment(cpts.KindAnnualAdvance, 2, ""), cpts.StatusDecided, "150000.00")
	// Year 1's balance: 40 000 + 25 000 + 45 000 + 45 000 + 17 500 + 17 500 + 22 500 + 67 500 − 93 750 = 186 250.
	bal := l.payment(cpts.KindAnnualBalance, 1, "")
	wantLines(t, bal, "access/fixed=40000.00", "access/variable=25000.00", "pathways/fixed=45000.00", "pathways/variable=45000.00",
		"prevention/fixed=17500.00", "prevention/variable=17500.00", "crisis/fixed=22500.00", "crisis/crisis_supplement=67500.00", "/advances=-93750.00")
	wantAmount(t, bal, cpts.StatusDecided, "186250.00")

	// The ARS withdraws the recognition (naming no period: a withdrawal keeps
	// the recognition's): the settled year gives the
	// supplement back, by a regularisation citing the withdrawal.
	r.must(fmt.Sprintf(`{"type":"CorrectCrisisRecognition","command_id":"cr1-w","corrects":%q,"withdrawn":true,"corrected_on":"2023-09-01","reason":"recognised by mistake"}`, rec))
	regs := payments(l.decideWith("2023-10-01", r))
	if len(regs) != 1 || regs[0].Kind != domain.KindRegularisation || regs[0].ContractYear != 1 || regs[0].Amount.String() != "-67500.00" || regs[0].Reason != "recognised by mistake" {
		t.Fatalf("after the withdrawal: %s", summary(regs))
	}
}

// A T1 contract: aci-2022 does not publish T1's crisis amounts. The lines
// that need them are decided at 0.00 and withheld; an amendment published
// later fills them, and the year already settled is regularised, citing
// the amendment. A decision as of a date before the publication does not
// see it.
func TestCrisisAmountWithheldUntilPublished(t *testing.T) {
	l := newLifecycle2022(t)
	r := &reference{t: t}
	l.signWithCrisis(20_000, "2022-06-01", false)
	for _, m := range []string{"access", "pathways", "prevention", "crisis"} {
		l.start(m, "2022-06-01")
		l.deploy(m, "2023-01-02")
	}
	l.decideWith("2022-06-01", r)
	adv := l.payment(cpts.KindMissionStartAdvance, 1, "crisis")
	if adv.Status != cpts.StatusWithheld || !adv.Amount.IsZero() || adv.Withheld == nil || adv.Withheld.Code != domain.WithheldAmountNotPublished ||
		adv.Withheld.Tier != "T1" || adv.Withheld.Component != cpts.ComponentFixed || !strings.Contains(adv.Reason, "amount not published") {
		t.Fatalf("crisis start advance: %+v", adv)
	}
	l.report(1, "2023-06-10", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	am := r.must(amendment("t1-crisis", "2022-04-01", "2023-09-01", row("T1", "crisis", "fixed", "15000")+","+row("T1", "crisis", "crisis_supplement", "45000")))
	// As of 2023-07-01 the amendment (published 2023-09-01) is unknown.
	l.decideWith("2023-07-01", r)
	bal := l.payment(cpts.KindAnnualBalance, 1, "")
	var crisisLine *domain.Line
	for i := range bal.Lines {
		if bal.Lines[i].Mission == "crisis" {
			crisisLine = &bal.Lines[i]
		}
	}
	if crisisLine == nil || !crisisLine.Amount.IsZero() || crisisLine.Withheld == nil || crisisLine.Withheld.Code != domain.WithheldAmountNotPublished {
		t.Fatalf("year 1's balance, crisis line: %+v", crisisLine)
	}
	// Year 2's advance (2023-06-01): 75 % × (50 000 + 25 000 + 25 000 + 10 000) = 82 500, crisis withheld at 0.
	adv2 := l.payment(cpts.KindAnnualAdvance, 2, "")
	wantLines(t, adv2, "/operating=37500.00", "access/fixed=18750.00", "pathways/fixed=18750.00", "prevention/fixed=7500.00", "crisis/fixed=0.00")

	events := l.decideWith("2023-10-01", r)
	applied, ok := events[0].(cpts.RulebookAmendmentApplied)
	if !ok || applied.AmendmentEventID != am || len(applied.Amounts) != 2 {
		t.Fatalf("first event %T %+v, want the amendment applied", events[0], events[0])
	}
	regs := payments(events)
	// Year 1 is settled: the crisis plan's 15 000 × 365/365 comes by a
	// regularisation. Year 2 is not: its balance will pay what its advance
	// withheld.
	if len(regs) != 1 || regs[0].Kind != domain.KindRegularisation || regs[0].ContractYear != 1 || regs[0].Amount.String() != "15000.00" {
		t.Fatalf("after the publication: %s", summary(regs))
	}
	line := regs[0].Lines[0]
	if line.Mission != "crisis" || line.Amendment == nil || line.Amendment.EventID != am || line.Amendment.ID != "t1-crisis" || line.Rulebook != "aci-2022" {
		t.Fatalf("the regularisation's line does not cite the amendment: %+v", line)
	}
	if again := l.decideWith("2023-11-01", r); len(again) != 0 {
		t.Fatalf("decided again: %v", again)
	}
}

// Amendments are checked before they are published: a retroactive change
// of a published amount needs "retroactive": true; the same amendment
// twice is a duplicate; every amount is bounded.
func TestAmendmentValidation(t *testing.T) {
	r := &reference{t: t}
	t3 := row("T3", "crisis", "fixed", "30000")
	for _, tc := range []struct {
		name, line, code, field string
	}{
		{"retroactive", amendment("a1", "2022-04-01", "2023-09-01", t3), cpts.CodeAmendmentRetroactive, "effective_on"},
		{"negative", amendment("a2", "2023-01-01", "2022-12-01", row("T1", "crisis", "fixed", "-1")), cpts.CodeAmountOutOfRange, "amounts[0].amount"},
		{"too large", amendment("a3", "2023-01-01", "2022-12-01", row("T1", "crisis", "fixed", "1000000.01")), cpts.CodeAmountOutOfRange, "amounts[0].amount"},
		{"below a cent", amendment("a4", "2023-01-01", "2022-12-01", row("T1", "crisis", "fixed", "100.001")), cpts.CodeAmountOutOfRange, "amounts[0].amount"},
		{"before the rulebook", amendment("a5", "2022-03-31", "2022-03-01", row("T1", "crisis", "fixed", "100")), cpts.CodeEffectiveOutsideRulebook, "effective_on"},
		{"unknown tier", amendment("a6", "2023-01-01", "2022-12-01", row("T9", "crisis", "fixed", "100")), cpts.CodeUnknownTier, "amounts[0].tier"},
		{"unknown component", amendment("a7", "2023-01-01", "2022-12-01", row("T1", "pathways", "crisis_supplement", "100")), cpts.CodeUnknownComponent, "amounts[0].component"},
		{"set twice", amendment("a8", "2023-01-01", "2022-12-01", row("T1", "crisis", "fixed", "1")+","+row("T1", "crisis", "fixed", "2")), cpts.CodeDuplicateAmount, "amounts[1]"},
		{"nothing changes", amendment("a9", "2023-01-01", "2022-12-01", row("T3", "crisis", "fixed", "22500")), cpts.CodeDuplicateAmendment, "amounts"},
		{"unknown version", strings.Replace(amendment("a10", "2023-01-01", "2022-12-01", t3), `"amends":"aci-2022"`, `"amends":"aci-2030"`, 1), cpts.CodeUnknownRulebook, "amends"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.submit(tc.line)
			var re *domain.RejectedError
			if !errors.As(err, &re) || !slices.ContainsFunc(re.Violations, func(v domain.Violation) bool { return v.Code == tc.code && v.Field == tc.field }) {
				t.Fatalf("got %v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
	if len(r.ref.Amendments) != 0 {
		t.Fatalf("a rejected amendment was recorded: %+v", r.ref.Amendments)
	}
	// Said explicitly, the retroactive change is published; then the same
	// id, or the same amounts under another id, are duplicates.
	r.must(amendment("a1", "2022-04-01", "2023-09-01", t3, `,"retroactive":true`))
	for _, line := range []string{amendment("a1", "2024-01-01", "2023-09-01", row("T1", "crisis", "fixed", "5")), amendment("a11", "2022-04-01", "2023-09-01", t3, `,"retroactive":true`)} {
		_, err := r.submit(line)
		var re *domain.RejectedError
		if !errors.As(err, &re) || re.Code() != cpts.CodeDuplicateAmendment {
			t.Fatalf("%s: got %v, want duplicate_amendment", line, err)
		}
	}
	// Publishing an amount the rulebook did not know is not retroactive.
	r.must(amendment("t4", "2022-04-01", "2024-02-01", row("T4", "crisis", "fixed", "27000")))
}

// The crisis mission's deadlines: 6 and 18 months from the later of the
// signature and 2022-04-01; prevention starts within 12 months under
// aci-2022. A contract signed before takes the crisis mission up by
// starting it, not before 2022-04-01, and has no crisis deadline until it
// does.
func TestCrisisDeadlines(t *testing.T) {
	l := newLifecycle2022(t)
	l.signWithCrisis(50_000, "2022-08-31", false)
	got := map[string]string{}
	for _, d := range l.c.Deadlines() {
		got[d.Mission+"/"+d.Kind] = d.Deadline.String()
	}
	for k, want := range map[string]string{"crisis/start": "2023-02-28", "crisis/deploy": "2024-02-29", "prevention/start": "2023-08-31", "prevention/deploy": "2024-08-31"} {
		if got[k] != want {
			t.Fatalf("%s deadline %s, want %s (all: %v)", k, got[k], want, got)
		}
	}

	old := newLifecycle2022(t)
	old.sign(50_000, "2020-01-10", false)
	for _, d := range old.c.Deadlines() {
		if d.Mission == "crisis" || d.Mission == "prevention" && d.Kind == cpts.DeadlineStart {
			t.Fatalf("a 2020 contract has the deadline %+v before taking the crisis mission up", d)
		}
	}
	old.reject(cpts.CmdStartMission, `"mission":"crisis","started_on":"2022-03-31"`, cpts.CodeMissionNotInForce, "started_on")
	old.start("crisis", "2022-05-02")
	got = map[string]string{}
	for _, d := range old.c.Deadlines() {
		got[d.Mission+"/"+d.Kind] = d.Deadline.String() + " " + d.Done.String()
	}
	if got["crisis/start"] != "2022-10-01 2022-05-02" || got["crisis/deploy"] != "2023-10-01 " {
		t.Fatalf("crisis deadlines of the 2020 contract: %v", got)
	}
	alerts := old.c.Alerts(domain.MustDate("2023-09-15"), 60)
	if i := indexAlert(alerts, "crisis", cpts.DeadlineDeploy); i < 0 || alerts[i].Status != cpts.AlertDueSoon {
		t.Fatalf("alerts as of 2023-09-15: %+v", alerts)
	}
}

func indexAlert(as []cpts.Alert, mission, kind string) int {
	for i, a := range as {
		if a.Mission == mission && a.Kind == kind {
			return i
		}
	}
	return -1
}

// T4 may receive at most 580 000 € for a contract year: with an amendment
// that raises its crisis amounts and a recognised crisis, year 1's dues
// come to 610 000 €, and the balance withholds 30 000 € by a line naming
// the cap.
func TestT4AnnualCap(t *testing.T) {
	l := newLifecycle2022(t)
	r := &reference{t: t}
	r.must(amendment("t4", "2022-04-01", "2022-05-01", row("T4", "crisis", "fixed", "60000")+","+row("T4", "crisis", "crisis_supplement", "100000")))
	r.must(crisis("cr", "ARS Centre-Val de Loire", "2022-10-01", "2023-03-31", "2022-12-01"))
	l.signWithCrisis(200_000, "2022-06-01", true, "quality", "support")
	for _, m := range []string{"access", "pathways", "prevention", "crisis", "quality", "support"} {
		l.start(m, "2022-06-01")
		l.deploy(m, "2023-01-02")
	}
	l.report(1, "2023-06-15", map[string]string{"access": "100", "pathways": "100", "prevention": "100", "quality": "100", "support": "100"})
	l.decideWith("2023-07-01", r)
	bal := l.payment(cpts.KindAnnualBalance, 1, "")
	// Dues: operating 90 000 (at signature) + access 120 000 + 30 000 +
	// pathways 100 000 + prevention 40 000 + quality 40 000 + support
	// 30 000 + crisis 60 000 + supplement 100 000 = 610 000; cap 580 000.
	var capLine *domain.Line
	for i := range bal.Lines {
		if bal.Lines[i].Component == "cap" {
			capLine = &bal.Lines[i]
		}
	}
	if capLine == nil || capLine.Amount.String() != "-30000.00" || capLine.Withheld == nil || capLine.Withheld.Code != domain.WithheldAnnualCap || capLine.Withheld.Cap != "580000" {
		t.Fatalf("cap line %+v in %+v", capLine, bal.Lines)
	}
	var year domain.Money
	for _, p := range l.c.Payments {
		if p.ContractYear == 1 && (p.Kind == cpts.KindSignature || p.Kind == cpts.KindAnnualBalance) {
			year = year.Add(p.Amount)
		}
		if p.ContractYear == 1 && p.Kind == cpts.KindMissionStartAdvance {
			year = year.Add(p.Amount)
		}
	}
	if year.String() != "580000.00" {
		t.Fatalf("year 1 paid %s, want the cap 580000.00", year)
	}
}

// Golden cases of T1, T2 and T4 from an amendment published in the test
// (the figures the demo uses, illustrative): signed 2022-06-01, the four
// core missions from the signature, a crisis recognised in year 1, every
// indicator met. By hand, with F the crisis plan and S the supplement:
// start advance 0.75 × F; year 2's advance 0.75 × (operating + access
// fixed + SNP + pathways + prevention + F); year 1's balance Σ fixed +
// Σ variable + S − 0.75 × Σ fixed.
func TestCrisisGoldenPerTier(t *testing.T) {
	for _, tc := range []struct {
		tier                   string
		population             int
		fixed, supplement      string
		startAdvance, advance2 string
		balance                string
	}{
		// T1: 0.75 × 15 000; 0.75 × (50 000 + 25 000 + 25 000 + 10 000 + 15 000); 75 000 + 50 000 + 45 000 − 56 250.
		{"T1", 20_000, "15000", "45000", "11250.00", "93750.00", "113750.00"},
		// T2: 0.75 × 18 000; 0.75 × (60 000 + 29 500 + 35 000 + 15 000 + 18 000); 97 500 + 67 500 + 54 000 − 73 125.
		{"T2", 50_000, "18000", "54000", "13500.00", "118125.00", "145875.00"},
		// T4: 0.75 × 27 000; 0.75 × (90 000 + 50 000 + 50 000 + 20 000 + 27 000); 147 000 + 100 000 + 81 000 − 110 250.
		{"T4", 200_000, "27000", "81000", "20250.00", "177750.00", "217750.00"},
	} {
		t.Run(tc.tier, func(t *testing.T) {
			l := newLifecycle2022(t)
			r := &reference{t: t}
			r.must(amendment("am-"+tc.tier, "2022-04-01", "2022-05-01", row(tc.tier, "crisis", "fixed", tc.fixed)+","+row(tc.tier, "crisis", "crisis_supplement", tc.supplement)))
			r.must(crisis("cr", "ARS Centre-Val de Loire", "2022-10-01", "2023-03-31", "2022-12-01"))
			l.signWithCrisis(tc.population, "2022-06-01", false)
			if l.c.Terms.Tier != tc.tier {
				t.Fatalf("tier %s", l.c.Terms.Tier)
			}
			for _, m := range []string{"access", "pathways", "prevention", "crisis"} {
				l.start(m, "2022-06-01")
				l.deploy(m, "2023-01-02")
			}
			l.report(1, "2023-06-15", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
			l.decideWith("2023-07-01", r)
			adv := l.payment(cpts.KindMissionStartAdvance, 1, "crisis")
			wantAmount(t, adv, cpts.StatusDecided, tc.startAdvance)
			if a := adv.Lines[0].Amendment; a == nil || a.ID != "am-"+tc.tier {
				t.Fatalf("the crisis start advance does not cite the amendment: %+v", adv.Lines[0])
			}
			wantAmount(t, l.payment(cpts.KindAnnualAdvance, 2, ""), cpts.StatusDecided, tc.advance2)
			bal := l.payment(cpts.KindAnnualBalance, 1, "")
			wantAmount(t, bal, cpts.StatusDecided, tc.balance)
			for _, line := range bal.Lines {
				if line.Withheld != nil {
					t.Fatalf("a withheld line %+v", line)
				}
			}
		})
	}
}

// An amendment that raises T3's crisis plan from 2022-04-01, published in
// 2023 and saying it is retroactive, regularises the settled year 1
// (+7 500 = 30 000 − 22 500); one that raises it again from 2024-01-01
// only rules the lines whose date is after that: year 2 (from 2023-06-01)
// has 30 000, year 3's advance (2024-06-01) is 75 % of 40 000.
func TestAmendmentsInForceOnTheDatesTheyConcern(t *testing.T) {
	l := newLifecycle2022(t)
	r := &reference{t: t}
	l.signWithCrisis(100_000, "2022-06-01", false)
	for _, m := range []string{"access", "pathways", "prevention", "crisis"} {
		l.start(m, "2022-06-01")
		l.deploy(m, "2023-01-02")
	}
	l.report(1, "2023-06-15", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideWith("2023-07-01", r)
	r.must(amendment("retro", "2022-04-01", "2023-09-01", row("T3", "crisis", "fixed", "30000"), `,"retroactive":true`))
	r.must(amendment("later", "2024-01-01", "2023-12-01", row("T3", "crisis", "fixed", "40000")))
	regs := payments(l.decideWith("2023-12-01", r))
	if len(regs) != 1 || regs[0].Kind != domain.KindRegularisation || regs[0].ContractYear != 1 || regs[0].Amount.String() != "7500.00" ||
		regs[0].Lines[0].Amendment == nil || regs[0].Lines[0].Amendment.ID != "retro" {
		t.Fatalf("the retroactive amendment: %s", summary(regs))
	}
	l.report(2, "2024-06-15", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideWith("2024-07-01", r)
	crisisFixed := func(p cpts.PaymentDecided) string {
		for _, line := range p.Lines {
			if line.Mission == "crisis" && line.Component == "fixed" {
				return line.Amount.String()
			}
		}
		return "none"
	}
	// Year 2's balance: 30 000 × 366/366 (2023-06-01 to 2024-06-01 holds 29 Feb 2024), in force on 2023-06-01.
	if got := crisisFixed(l.payment(cpts.KindAnnualBalance, 2, "")); got != "30000.00" {
		t.Fatalf("year 2's crisis plan %s, want 30000.00", got)
	}
	// Year 3's advance, on 2024-06-01: 75 % × 40 000.
	if got := crisisFixed(l.payment(cpts.KindAnnualAdvance, 3, "")); got != "30000.00" {
		t.Fatalf("year 3's crisis advance %s, want 30000.00 (75 %% of 40 000)", got)
	}
}

// The red team's tenth finding: a T3 contract signed on 2021-10-18 under
// aci-cpts-2019 takes the crisis mission up on 2022-11-16. Its year-2
// annual advance, due 2022-10-18, was withheld (calendar_not_met, the
// crisis start deadline 2022-10-01) when decided on 2023-01-01, and paid
// when decided on 2022-10-18: on its due date the contract had no crisis
// mission. Decided on the due date or later, it is the same payment.
func TestAMissionTakenUpLaterBindsNothingBefore(t *testing.T) {
	run := func(decisions ...string) cpts.PaymentDecided {
		l := newLifecycle2022(t)
		l.sign(100_000, "2021-10-18", false)
		for _, m := range []string{"access", "pathways", "prevention"} {
			l.start(m, "2021-10-18")
			l.deploy(m, "2022-04-18")
		}
		l.report(1, "2022-10-18", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
		if len(decisions) > 1 {
			l.decideDue(decisions[0])
		}
		l.start("crisis", "2022-11-16")
		l.decideDue(decisions[len(decisions)-1])
		return l.payment(cpts.KindAnnualAdvance, 2, "")
	}
	onTime := run("2022-10-18", "2023-01-01")
	later := run("2023-01-01")
	if onTime.Status != cpts.StatusDecided {
		t.Fatalf("the advance decided on its due date: %s %s", onTime.Status, onTime.Reason)
	}
	if later.Status != onTime.Status || !later.Amount.Equal(onTime.Amount) {
		t.Fatalf("the advance decided on 2023-01-01: %s %s %s, on its due date: %s %s", later.Status, later.Amount, later.Reason, onTime.Status, onTime.Amount)
	}
}

// Property: for a contract signed under aci-cpts-2019 that takes the
// crisis mission up at any date, with its core missions started on time or
// late, deciding every month or once at the end gives the same payments —
// the calendar is judged on the contract as it stood on each due date.
func TestPropertyDecidingLaterChangesNoPayment(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		signed := domain.MustDate("2020-01-01").AddDays(rapid.IntRange(0, 600).Draw(rt, "signed, days after 2020-01-01"))
		population := rapid.SampledFrom([]int{30_000, 60_000, 100_000, 200_000}).Draw(rt, "population")
		starts := map[string]int{}
		for _, m := range []string{"access", "pathways", "prevention"} {
			starts[m] = rapid.IntRange(0, 9).Draw(rt, m+" start, months after the signature")
		}
		takeUp := domain.MustDate("2022-04-01").AddDays(rapid.IntRange(0, 900).Draw(rt, "crisis taken up, days after 2022-04-01"))
		end := signed.AddYears(5).AddMonths(2) // after the last report
		build := func(monthly bool) map[string]string {
			l := newLifecycle2022(t)
			l.sign(population, signed.String(), false)
			type fact struct {
				on domain.Date
				do func()
			}
			var facts []fact
			for m, months := range starts {
				on := signed.AddMonths(months)
				facts = append(facts, fact{on, func() { l.start(m, on.String()) }})
				deployed := on.AddMonths(6)
				facts = append(facts, fact{deployed, func() { l.deploy(m, deployed.String()) }})
			}
			facts = append(facts, fact{takeUp, func() { l.start("crisis", takeUp.String()) }})
			for k := 1; k <= 5; k++ {
				on := signed.AddYears(k)
				values := map[string]string{}
				for m, v := range map[string]string{"access": "80", "pathways": "100", "prevention": "50"} {
					if signed.AddMonths(starts[m]).Before(on) {
						values[m] = v // the missions that ran in the year
					}
				}
				if len(values) > 0 {
					facts = append(facts, fact{on, func() { l.report(k, on.String(), values) }})
				}
			}
			if monthly {
				for d := signed; !d.After(end); d = d.AddMonths(1) {
					facts = append(facts, fact{d, func() { l.decideDue(d.String()) }})
				}
			}
			facts = append(facts, fact{end, func() { l.decideDue(end.String()) }})
			slices.SortStableFunc(facts, func(a, b fact) int { return a.on.Compare(b.on) })
			for _, f := range facts {
				f.do()
			}
			out := map[string]string{}
			for _, p := range l.c.Payments {
				if p.Kind == cpts.KindAnnualAdvance || p.Kind == cpts.KindMissionStartAdvance {
					out[fmt.Sprintf("%s %d %s", p.Kind, p.ContractYear, p.Mission)] = p.Status + " " + p.Amount.String()
				}
			}
			return out
		}
		monthly, once := build(true), build(false)
		if !maps.Equal(monthly, once) {
			rt.Fatalf("decided every month:\n%v\ndecided once at the end:\n%v", monthly, once)
		}
	})
}
