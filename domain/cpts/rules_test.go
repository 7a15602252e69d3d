package cpts_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/shopspring/decimal"
)

func TestTierBoundaries(t *testing.T) {
	for _, tc := range []struct {
		population int
		tier       string
	}{
		{1, "T1"}, {39_999, "T1"}, {40_000, "T2"}, {79_999, "T2"},
		{80_000, "T3"}, {175_000, "T3"}, {175_001, "T4"}, {2_000_000, "T4"},
	} {
		t.Run(fmt.Sprintf("population_%d_is_%s", tc.population, tc.tier), func(t *testing.T) {
			l := newLifecycle(t)
			l.sign(tc.population, "2020-01-15", false)
			if l.c.Terms.Tier != tc.tier {
				t.Fatalf("tier %s, want %s", l.c.Terms.Tier, tc.tier)
			}
		})
	}
}

// The totals of domain.md 2.3 are the sums of the rulebook's lines.
func TestRulebookTotalsMatchPublishedMaximums(t *testing.T) {
	rb, ok := cpts.DefaultRules().ByID("aci-cpts-2019")
	if !ok {
		t.Fatal("rulebook aci-cpts-2019 missing")
	}
	for tier, want := range map[string][2]int64{
		"T1": {185_000, 220_000}, "T2": {242_000, 287_000}, "T3": {315_000, 370_000}, "T4": {380_000, 450_000},
	} {
		if got := rb.MaximumPerYear(tier, false); !got.Equal(decimal.NewFromInt(want[0])) {
			t.Errorf("%s without regulation: %s, published %d", tier, got, want[0])
		}
		if got := rb.MaximumPerYear(tier, true); !got.Equal(decimal.NewFromInt(want[1])) {
			t.Errorf("%s with regulation: %s, published %d", tier, got, want[1])
		}
	}
}

// Amendment 2 as signed (docs/domain.md §2.6): seed funding 87 500 /
// 105 000 / 131 250 / 157 500, top-ups 37 500 / 45 000 / 56 250 / 67 500;
// the October 2020 proposal's +50 % (75 000 / 90 000 / 112 500 / 135 000)
// kept as the superseded figures.
func TestAmendment2TopUpsAreTheSignedText(t *testing.T) {
	rules := cpts.DefaultRules()
	am := rules.AmendmentsOf("aci-cpts-2019")
	if len(am) != 1 {
		t.Fatalf("%d amendments, want 1", len(am))
	}
	for tier, want := range map[string][3]int64{"T1": {87_500, 37_500, 75_000}, "T2": {105_000, 45_000, 90_000}, "T3": {131_250, 56_250, 112_500}, "T4": {157_500, 67_500, 135_000}} {
		sf := am[0].SeedFunding[tier]
		if !sf.After.Equal(decimal.NewFromInt(want[0])) || !sf.Topup().Equal(decimal.NewFromInt(want[1])) || !sf.After.Equal(sf.Before.Mul(decimal.RequireFromString("1.75"))) {
			t.Errorf("%s: %s → %s, want +75 %% = %d (+%d)", tier, sf.Before, sf.After, want[0], want[1])
		}
		if old := am[0].Superseded.SeedFundingAfter[tier]; !old.Equal(decimal.NewFromInt(want[2])) {
			t.Errorf("%s: superseded %s, want the proposal's %d", tier, old, want[2])
		}
	}
	if am[0].Superseded.Source == "" {
		t.Error("the superseded figures have no source")
	}
}

func TestDeadlinesClampToMonthEnd(t *testing.T) {
	for _, tc := range []struct {
		signed string
		want   map[string]string // mission/kind → deadline
	}{
		{"2021-08-31", map[string]string{"access/start": "2022-02-28", "pathways/start": "2022-08-31", "access/deploy": "2023-02-28", "pathways/deploy": "2023-08-31", "prevention/deploy": "2023-08-31"}},
		{"2020-02-29", map[string]string{"access/start": "2020-08-29", "pathways/start": "2021-02-28", "access/deploy": "2021-08-29", "pathways/deploy": "2022-02-28", "prevention/deploy": "2022-02-28"}},
		{"2021-01-31", map[string]string{"access/start": "2021-07-31", "pathways/start": "2022-01-31", "access/deploy": "2022-07-31", "pathways/deploy": "2023-01-31", "prevention/deploy": "2023-01-31"}},
	} {
		t.Run("signed_"+tc.signed, func(t *testing.T) {
			l := newLifecycle(t)
			l.sign(50_000, tc.signed, false)
			got := map[string]string{}
			for _, d := range l.c.Deadlines() {
				got[d.Mission+"/"+d.Kind] = d.Deadline.String()
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("deadlines %v, want %v", got, tc.want)
			}
		})
	}
}

func TestContractYearsCountDays(t *testing.T) {
	y := domain.ContractYears{Signed: domain.MustDate("2020-02-29"), Count: 5}
	for k, want := range map[int][3]any{
		1: {"2020-02-29", "2021-02-28", 365},
		2: {"2021-02-28", "2022-02-28", 365},
		4: {"2023-02-28", "2024-02-29", 366},
		5: {"2024-02-29", "2025-02-28", 365},
	} {
		if y.Start(k).String() != want[0] || y.End(k).String() != want[1] || y.Days(k) != want[2] {
			t.Errorf("year %d: %s → %s (%d days), want %v", k, y.Start(k), y.End(k), y.Days(k), want)
		}
	}
	if y.IsAnniversary(y.Signed) || !y.IsAnniversary(domain.MustDate("2022-02-28")) {
		t.Error("the signature date is not an anniversary; start(3) is")
	}
}

// A full five-year T2 contract, every payment computed by hand.
//
// T2 (population 62 000), no regulation, signed 2019-11-15:
// operating 60 000; access fixed 17 500 + SNP 12 000 = 29 500, variable
// 17 500; pathways 35 000 / 35 000; prevention 15 000 / 15 000; quality
// 10 000 / 10 000. Year 1 = 2019-11-15 → 2020-11-15 = 366 days (29 Feb);
// years 2-4 = 365 days; year 5 = 2023-11-15 → 2024-11-15 = 366 days.
func TestFullFiveYearT2Contract(t *testing.T) {
	l := newLifecycle(t)
	l.sign(62_000, "2019-11-15", false, "access", "pathways", "prevention", "quality")
	l.start("prevention", "2019-11-15") // at signature: not an anniversary
	l.start("access", "2020-03-01")
	l.start("pathways", "2020-09-01")
	l.decideDue("2020-10-01")

	// signature: 100 % × 60 000 = 60 000.00
	wantAmount(t, l.payment(cpts.KindSignature, 1, ""), "decided", "60000.00")
	// prevention start advance: 0.75 × 15 000 × 366/366 = 11 250.00
	wantAmount(t, l.payment(cpts.KindMissionStartAdvance, 1, "prevention"), "decided", "11250.00")
	// access: 2020-03-01 → 2020-11-15 = 259 days; 0.75 × 29 500 × 259/366
	// = 5 730 375 / 366 = 15 656.762… → 15 656.76
	wantAmount(t, l.payment(cpts.KindMissionStartAdvance, 1, "access"), "decided", "15656.76")
	// pathways: 2020-09-01 → 2020-11-15 = 75 days; 0.75 × 35 000 × 75/366
	// = 1 968 750 / 366 = 5 379.098… → 5 379.10
	wantAmount(t, l.payment(cpts.KindMissionStartAdvance, 1, "pathways"), "decided", "5379.10")

	l.deploy("access", "2021-01-10")
	// Year 2 advance on 2020-11-15: no deadline missed (access start
	// 2020-05-15 met). 0.75 × (60 000 + 29 500 + 35 000 + 15 000)
	// = 45 000 + 22 125 + 26 250 + 11 250 = 104 625.00
	l.report(1, "2020-12-01", map[string]string{"access": "80", "pathways": "100", "prevention": "50"})
	l.decideDue("2021-01-01")
	adv2 := l.payment(cpts.KindAnnualAdvance, 2, "")
	wantLines(t, adv2, "/operating=45000.00", "access/fixed=22125.00", "pathways/fixed=26250.00", "prevention/fixed=11250.00")
	// Year 1 balance on 2020-12-01 (achievement access 0.8, pathways 1,
	// prevention 0.5):
	//   access fixed 29 500 × 259/366 = 20 875.683… → 20 875.68
	//   access variable 17 500 × 0.8 × 259/366 = 9 907.103… → 9 907.10
	//   pathways fixed and variable 35 000 × 75/366 = 7 172.131… → 7 172.13
	//   prevention fixed 15 000, variable 15 000 × 0.5 = 7 500.00
	//   advances −(11 250.00 + 15 656.76 + 5 379.10) = −32 285.86
	//   total 67 627.04 − 32 285.86 = 35 341.18
	bal1 := l.payment(cpts.KindAnnualBalance, 1, "")
	wantLines(t, bal1, "access/fixed=20875.68", "access/variable=9907.10", "pathways/fixed=7172.13", "pathways/variable=7172.13",
		"prevention/fixed=15000.00", "prevention/variable=7500.00", "/advances=-32285.86")
	wantAmount(t, bal1, "decided", "35341.18")

	l.deploy("prevention", "2021-05-01")
	l.deploy("pathways", "2021-06-01")
	l.start("quality", "2021-11-15") // on the 2nd anniversary: no start advance
	l.report(2, "2021-12-10", map[string]string{"access": "100", "pathways": "60", "prevention": "100"})
	l.decideDue("2022-04-01")
	if _, ok := l.c.Payment(cpts.KindMissionStartAdvance, 3, "quality"); ok {
		t.Fatal("a mission started on an anniversary got a start advance")
	}
	// Year 3 advance on 2021-11-15 includes quality: 104 625 + 0.75 × 10 000
	// = 112 125.00
	wantAmount(t, l.payment(cpts.KindAnnualAdvance, 3, ""), "decided", "112125.00")
	// Year 2 balance: 60 000 + 29 500 + 17 500 + 35 000 + 35 000 × 0.6
	// + 15 000 + 15 000 = 193 000; − 104 625 = 88 375.00
	wantAmount(t, l.payment(cpts.KindAnnualBalance, 2, ""), "decided", "88375.00")
	// Amendment 2 (signed before 2021-12-31): T2 seed 60 000 → 105 000,
	// top-up 45 000.00 due 2022-03-31, in year 3.
	top := l.payment(cpts.KindAmorcageTopup, 3, "")
	wantAmount(t, top, "decided", "45000.00")
	if top.Rulebook != "aci-cpts-2019-av2" || top.DueOn.String() != "2022-03-31" {
		t.Fatalf("top-up under %s due %s", top.Rulebook, top.DueOn)
	}

	l.report(3, "2022-12-05", map[string]string{"access": "100", "pathways": "100", "prevention": "100", "quality": "40"})
	l.report(4, "2023-12-01", map[string]string{"access": "120", "pathways": "0", "prevention": "100", "quality": "100"})
	l.report(5, "2024-11-20", map[string]string{"access": "100", "pathways": "100", "prevention": "100", "quality": "100"})
	l.decideDue("2025-01-01")
	// Year 3: 60 000 + 29 500 + 17 500 + 70 000 + 30 000 + 10 000 + 4 000
	// = 221 000; − 112 125 = 108 875.00
	wantAmount(t, l.payment(cpts.KindAnnualBalance, 3, ""), "decided", "108875.00")
	// Year 4 (access 120/100 clamps to 1, pathways 0): 60 000 + 47 000
	// + 35 000 + 30 000 + 20 000 = 192 000; − 112 125 = 79 875.00
	wantAmount(t, l.payment(cpts.KindAnnualBalance, 4, ""), "decided", "79875.00")
	wantAmount(t, l.payment(cpts.KindAnnualAdvance, 5, ""), "decided", "112125.00")
	// Year 5 (366 days, all at 100 %): 227 000 − 112 125 = 114 875.00
	wantAmount(t, l.payment(cpts.KindAnnualBalance, 5, ""), "decided", "114875.00")
	if n := len(l.c.Payments); n != 14 {
		t.Fatalf("%d payments, want 14: %s", n, summary(l.c.Payments))
	}
	if again := l.decideDue("2026-01-01"); len(again) != 0 {
		t.Fatalf("deciding again decided %d more payments", len(again))
	}
}

func TestAdvanceWithheldWhenAccessLate(t *testing.T) {
	l := newLifecycle(t)
	l.sign(30_000, "2020-01-15", false)
	l.start("pathways", "2020-03-01")
	l.start("prevention", "2020-03-01")
	// access start deadline 2020-07-15 passes; the access start comes late.
	l.start("access", "2021-02-01")
	l.decideDue("2021-01-20")
	p := l.payment(cpts.KindAnnualAdvance, 2, "")
	wantAmount(t, p, "withheld", "0.00")
	if len(p.Lines) != 0 || p.Reason == "" || !strings.Contains(p.Reason, "access start deadline 2020-07-15") {
		t.Fatalf("withheld advance: lines %v, reason %q", p.Lines, p.Reason)
	}
	// The balance of year 2 settles everything: nothing withheld is lost.
	l.deploy("access", "2021-05-01")
	l.report(1, "2021-01-20", map[string]string{"pathways": "100", "prevention": "100"})
	l.decideDue("2021-02-01")
	if p, ok := l.c.Payment(cpts.KindMissionStartAdvance, 2, "access"); !ok || p.Amount.IsZero() {
		t.Fatal("the late access start still gets its start advance")
	}
}

func TestTopUpForSignatureOn20211231AndNoneOn20220101(t *testing.T) {
	for _, tc := range []struct {
		signed string
		topup  bool
	}{{"2021-12-31", true}, {"2022-01-01", false}} {
		t.Run(tc.signed, func(t *testing.T) {
			l := newLifecycle(t)
			l.sign(100_000, tc.signed, false)
			l.decideDue("2022-06-01")
			p, ok := l.c.Payment(cpts.KindAmorcageTopup, 1, "")
			if ok != tc.topup {
				t.Fatalf("top-up decided: %v, want %v", ok, tc.topup)
			}
			if ok {
				wantAmount(t, p, "decided", "56250.00") // T3: 131 250 − 75 000
			}
		})
	}
}

// Termination in year 2 on 2021-07-15 (T1, signed 2020-01-15, access,
// pathways and prevention all started at signature).
func TestTerminationMidYearRecoversAndSettles(t *testing.T) {
	l := newLifecycle(t)
	l.sign(30_000, "2020-01-15", false)
	l.start("access", "2020-01-15")
	l.start("pathways", "2020-01-15")
	l.start("prevention", "2020-01-15")
	l.deploy("access", "2020-06-01")
	l.report(1, "2021-02-01", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideDue("2021-03-01")
	// Year 2 advance on 2021-01-15: 0.75 × (50 000 + 25 000 + 25 000
	// + 10 000) = 82 500.00
	wantAmount(t, l.payment(cpts.KindAnnualAdvance, 2, ""), "decided", "82500.00")
	l.terminate("2021-07-15")
	l.decideDue("2021-08-01")
	// Year 2 = 2021-01-15 → 2022-01-15 (365 days); 181 days until the
	// termination. accrued = (50 000 + 25 000 + 25 000 + 10 000) × 181/365
	// = 54 547.945…; recovery = 0.75 × 54 547.945… − 82 500
	// = 40 910.958… − 82 500 = −41 589.041… → −41 589.04
	rec := l.payment(cpts.KindRecovery, 2, "")
	wantAmount(t, rec, "decided", "-41589.04")
	if _, ok := l.c.Payment(cpts.KindAnnualAdvance, 3, ""); ok {
		t.Fatal("an advance was decided after the termination")
	}
	// The final report settles year 2 prorated to the termination:
	// operating 50 000 × 181/365 = 24 794.520… → 24 794.52; access fixed
	// 25 000 × 181/365 = 12 397.26, variable at 100 % 15 000 × 181/365
	// = 7 438.356… → 7 438.36; pathways 12 397.26 + 12 397.26; prevention
	// 4 958.90 + 4 958.90; advances −(82 500.00 − 41 589.04) = −40 910.96.
	l.report(2, "2021-08-10", map[string]string{"access": "100", "pathways": "100", "prevention": "100"})
	l.decideDue("2021-09-01")
	bal := l.payment(cpts.KindAnnualBalance, 2, "")
	wantLines(t, bal, "/operating=24794.52", "access/fixed=12397.26", "access/variable=7438.36", "pathways/fixed=12397.26",
		"pathways/variable=12397.26", "prevention/fixed=4958.90", "prevention/variable=4958.90", "/advances=-40910.96")
	// What the year got = its dues, prorated.
	got := l.payment(cpts.KindAnnualAdvance, 2, "").Amount.Add(rec.Amount).Add(bal.Amount)
	if got.String() != "79342.46" {
		t.Fatalf("year 2 decided %s in all, want 79 342.46 (the prorated dues)", got)
	}
	l.reject(cpts.CmdStartMission, `"mission":"access","started_on":"2021-08-01"`, "contract_terminated", "")
	l.reject(cpts.CmdReportIndicators, `"contract_year":3,"reported_on":"2022-02-01","values":[]`, "year_after_termination", "contract_year")
}

func TestMissionStartOnAnniversaryHasNoStartAdvance(t *testing.T) {
	l := newLifecycle(t)
	l.sign(50_000, "2020-06-10", false, "access", "pathways", "prevention", "support")
	l.start("access", "2020-07-01")
	l.start("pathways", "2020-07-01")
	l.start("prevention", "2020-07-01")
	l.start("support", "2021-06-10")
	l.decideDue("2021-07-01")
	if _, ok := l.c.Payment(cpts.KindMissionStartAdvance, 2, "support"); ok {
		t.Fatal("start advance for a start on the anniversary")
	}
	// The annual advance covers it: support fixed 7 500 × 0.75 = 5 625.00.
	wantLines(t, l.payment(cpts.KindAnnualAdvance, 2, ""), "/operating=45000.00", "access/fixed=22125.00",
		"pathways/fixed=26250.00", "prevention/fixed=11250.00", "support/fixed=5625.00")
}
