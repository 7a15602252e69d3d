package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/query"
)

const t2 = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"

// t2Ledger records the example T2 contract, then corrects its population
// to 90 000 (tier T3) by a correction dated 2023-02-01; it returns the time
// the ledger had recorded everything before the correction.
func t2Ledger(t *testing.T) (*testLedger, time.Time) {
	t.Helper()
	l := t2Example(t)
	t1 := lastRecorded(t, l.store)
	signature := app.EventID(cpts.Stream(uuid.MustParse(t2)), "t2-sign", 0)
	line := fmt.Sprintf(`{"type":"CorrectContractTerms","command_id":"t2-census","contract_id":%q,"corrects":%q,"corrected_on":"2023-02-01","reason":"census","population":90000}`, t2, signature)
	if res, err := l.cmds.Submit(context.Background(), []byte(line)); err != nil || !res.OK {
		t.Fatalf("the correction: %+v %v", res.Error, err)
	}
	return l, t1
}

// t2Example records the example T2 contract (examples/t2-contract.jsonl).
func t2Example(t *testing.T) *testLedger {
	t.Helper()
	l := newLedger(t)
	raw, err := os.ReadFile("../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if res, err := l.cmds.Submit(context.Background(), []byte(line)); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
	return l
}

// A contract the ledger had not recorded yet, or not signed as of the
// date, is no contract in every query (finding 1), including at the zero
// time, which is an ordinary time (finding 3).
func TestAContractNotYetRecordedIsUnknown(t *testing.T) {
	l, _ := t2Ledger(t)
	ctx := context.Background()
	id := uuid.MustParse(t2)
	for name, w := range map[string]query.Window{
		"known at 2000":            {KnownAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"known at the zero time":   {Known: true},
		"as of before the signing": {AsOf: domain.MustDate("2019-11-14")},
	} {
		_, errB := l.reads.Balance(ctx, id, w)
		_, errP := l.reads.Payments(ctx, id, w)
		_, errA := l.reads.Audit(ctx, id, w)
		errE := l.reads.Export(ctx, query.ExportFilter{Contract: id}, w, domain.Money.String, func([]string) error { return nil })
		for what, err := range map[string]error{"balance": errB, "payments": errP, "audit": errA, "export": errE} {
			if !query.IsUnknown(err) {
				t.Errorf("%s, %s: %v, want no such contract", name, what, err)
			}
		}
	}
	// One second after the zero time is the same as the zero time.
	if _, err := l.reads.Balance(ctx, id, query.Window{KnownAt: time.Time{}.Add(time.Second)}); !query.IsUnknown(err) {
		t.Fatalf("known at 0001-01-01T00:00:01Z: %v", err)
	}
	if _, err := l.reads.Balance(ctx, id, query.Window{AsOf: domain.MustDate("2019-11-15")}); err != nil {
		t.Fatalf("as of the signing day: %v", err)
	}
}

// The tier is the one the ledger said then (finding 2): before the
// correction was recorded, or as of a date before the correction's, T2;
// after both, T3; in a balance, the totals by tier and the export.
func TestTheTierAsOfAndAsKnownAt(t *testing.T) {
	l, t1 := t2Ledger(t)
	ctx := context.Background()
	id := uuid.MustParse(t2)
	for _, c := range []struct {
		name string
		w    query.Window
		tier string
	}{
		{"now", query.Window{}, "T3"},
		{"known at T1", query.Window{KnownAt: t1}, "T2"},
		{"as of 2022-04-01", query.Window{AsOf: domain.MustDate("2022-04-01")}, "T2"},
		{"as of 2023-01-31", query.Window{AsOf: domain.MustDate("2023-01-31")}, "T2"},
		{"as of 2023-02-01", query.Window{AsOf: domain.MustDate("2023-02-01")}, "T3"},
		{"as of 2023-02-01, known at T1", query.Window{AsOf: domain.MustDate("2023-02-01"), KnownAt: t1}, "T2"},
	} {
		b, err := l.reads.Balance(ctx, id, c.w)
		if err != nil || b.Tier != c.tier {
			t.Errorf("%s: balance tier %q %v, want %s", c.name, b.Tier, err, c.tier)
		}
		totals, err := l.reads.Totals(ctx, "tier", c.w)
		if err != nil {
			t.Fatal(err)
		}
		for _, tot := range totals {
			if tot.CalendarYear != nil && tot.Key != c.tier {
				t.Errorf("%s: totals by tier file payments under %q, want %s", c.name, tot.Key, c.tier)
			}
		}
		rows := 0
		err = l.reads.Export(ctx, query.ExportFilter{Contract: id, PerPayment: true}, c.w, domain.Money.String, func(row []string) error {
			rows++
			if row[5] != c.tier {
				t.Errorf("%s: export tier %q, want %s", c.name, row[5], c.tier)
			}
			return nil
		})
		if err != nil || rows == 0 {
			t.Errorf("%s: export: %d rows, %v", c.name, rows, err)
		}
	}
}

// --known-at takes a date (the end of that day, UTC) or an RFC 3339 time,
// seconds optional.
func TestParseKnownAt(t *testing.T) {
	for in, want := range map[string]string{
		"2024-03-01":                  "2024-03-01T23:59:59.999999Z",
		"2024-03-01T12:00:00Z":        "2024-03-01T12:00:00Z",
		"2024-03-01T12:00Z":           "2024-03-01T12:00:00Z",
		"2024-03-01T13:00:00.5+01:00": "2024-03-01T12:00:00.5Z",
		"0001-01-01T00:00:00Z":        "0001-01-01T00:00:00Z",
	} {
		got, err := query.ParseKnownAt(in)
		if err != nil || got.Format(time.RFC3339Nano) != want {
			t.Errorf("%s: %s %v, want %s", in, got.Format(time.RFC3339Nano), err, want)
		}
	}
	for _, bad := range []string{"", "2024-13-01", "2024-03-01 12:00", "yesterday", "2024-03-01T12Z"} {
		if _, err := query.ParseKnownAt(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// submitAll submits lines that must be accepted.
func (l *testLedger) submitAll(t *testing.T, lines ...string) {
	t.Helper()
	for _, line := range lines {
		if res, err := l.cmds.Submit(context.Background(), []byte(line)); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
}

// regularisationsOf returns a contract's regularisations in decision order.
func regularisationsOf(t *testing.T, l *testLedger, id uuid.UUID) []query.Payment {
	t.Helper()
	ps, err := l.reads.Payments(context.Background(), id, query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	var out []query.Payment
	for _, p := range ps {
		if p.Kind == domain.KindRegularisation {
			out = append(out, p)
		}
	}
	return out
}

// A decision as of a date applies exactly the corrections dated on or
// before it (finding 4): year 1's snp-24h reported 64, corrected to 46
// dated 2023-02-01, then to 72 dated 2023-03-01, both recorded before any
// decision; the decision as of 2023-02-15 regularises 46 against 64
// (−1 393.18) citing the first correction only, the one as of 2023-03-01
// regularises 72 against 46 (+2 012.38) citing the second.
func TestADecisionAppliesTheCorrectionsDatedByIt(t *testing.T) {
	l := t2Example(t)
	id := uuid.MustParse(t2)
	report := app.EventID(cpts.Stream(id), "t2-report-1", 0)
	values := func(snp string) string {
		return `[{"mission":"access","code":"mt-found","value":"80"},{"mission":"access","code":"snp-24h","value":"` + snp + `"},{"mission":"pathways","code":"pathways-run","value":"4"},{"mission":"prevention","code":"actions","value":"3"}]`
	}
	l.submitAll(t,
		fmt.Sprintf(`{"type":"CorrectReport","command_id":"c46","contract_id":%q,"corrects":%q,"corrected_on":"2023-02-01","reason":"snp 64 -> 46","values":%s}`, t2, report, values("46")),
		fmt.Sprintf(`{"type":"CorrectReport","command_id":"c72","contract_id":%q,"corrects":%q,"corrected_on":"2023-03-01","reason":"snp 46 -> 72","values":%s}`, t2, report, values("72")))
	before := len(regularisationsOf(t, l, id))
	l.submitAll(t, fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d1","contract_id":%q,"as_of":"2023-02-15"}`, t2))
	rs := regularisationsOf(t, l, id)[before:]
	var year1 []query.Payment
	for _, r := range rs {
		if r.ContractYear == 1 {
			year1 = append(year1, r)
		}
	}
	if len(year1) != 1 || year1[0].Amount.String() != "-1393.18" || strings.Contains(year1[0].Reason, "46 -> 72") {
		t.Fatalf("as of 2023-02-15, year 1: %s", describe(year1))
	}
	l.submitAll(t, fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d2","contract_id":%q,"as_of":"2023-03-01"}`, t2))
	year1 = nil
	for _, r := range regularisationsOf(t, l, id)[before+len(rs):] {
		if r.ContractYear == 1 {
			year1 = append(year1, r)
		}
	}
	if len(year1) != 1 || year1[0].Amount.String() != "2012.38" || !strings.Contains(year1[0].Reason, "46 -> 72") ||
		strings.Contains(year1[0].Reason, "64 -> 46") {
		t.Fatalf("as of 2023-03-01, year 1: %s", describe(year1))
	}
}

func describe(ps []query.Payment) string {
	var b strings.Builder
	for _, p := range ps {
		reason := p.Reason
		fmt.Fprintf(&b, "\n  year %d %s due %s: %s (%s)", p.ContractYear, p.Kind, p.DueOn, p.Amount, reason)
	}
	return b.String()
}

// The decided total of a settled year depends on the facts and their
// dates, not on the order they were recorded in (finding 5): the example
// T2 contract (its amorcage top-up of 2022-03-31 decided under T2,
// 30 000.00) corrected to T3 by a census dated 2022-06-01, and year 3
// reported with every indicator at target, in both orders: year 3 totals
// the same, its top-up counted at T3 (37 500.00).
func TestASettledYearDoesNotDependOnTheOrderOfRecording(t *testing.T) {
	id := uuid.MustParse(t2)
	signature := app.EventID(cpts.Stream(id), "t2-sign", 0)
	census := fmt.Sprintf(`{"type":"CorrectContractTerms","command_id":"census","contract_id":%q,"corrects":%q,"corrected_on":"2022-06-01","reason":"census","population":90000}`, t2, signature)
	decideCensus := fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d-census","contract_id":%q,"as_of":"2022-06-01"}`, t2)
	report3 := fmt.Sprintf(`{"type":"ReportIndicators","command_id":"r3","contract_id":%q,"contract_year":3,"reported_on":"2022-11-20","values":[{"mission":"access","code":"mt-found","value":"100"},{"mission":"access","code":"snp-24h","value":"80"},{"mission":"pathways","code":"pathways-run","value":"4"},{"mission":"prevention","code":"actions","value":"6"},{"mission":"quality","code":"reviews","value":"10"}]}`, t2)
	decide3 := fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d-3","contract_id":%q,"as_of":"2022-12-01"}`, t2)
	year3 := func(order ...string) (domain.Money, string) {
		l := t2Example(t)
		l.submitAll(t, order...)
		b, err := l.reads.Balance(context.Background(), id, query.Window{})
		if err != nil {
			t.Fatal(err)
		}
		for _, y := range b.ByYear {
			if y.ContractYear == 3 {
				return y.Decided, describe(regularisationsOf(t, l, id))
			}
		}
		t.Fatal("no year 3")
		return domain.Money{}, ""
	}
	censusFirst, r1 := year3(census, decideCensus, report3, decide3)
	reportFirst, r2 := year3(report3, decide3, census, decideCensus)
	if !censusFirst.Equal(reportFirst) {
		t.Fatalf("year 3: %s with the census first, %s with the report first\ncensus first:%s\nreport first:%s", censusFirst, reportFirst, r1, r2)
	}
}

// A regularisation cites its own corrections only (finding 6): the T2
// example terminated ("dissolution") and its recovery decided, then year
// 1's report corrected: the regularisation's reason is the correction's,
// not the termination's too.
func TestARegularisationCitesItsOwnCorrections(t *testing.T) {
	l := t2Example(t)
	id := uuid.MustParse(t2)
	report := app.EventID(cpts.Stream(id), "t2-report-1", 0)
	l.submitAll(t,
		fmt.Sprintf(`{"type":"TerminateContract","command_id":"end","contract_id":%q,"terminated_on":"2022-05-01","reason":"dissolution"}`, t2),
		fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d-end","contract_id":%q,"as_of":"2022-06-01"}`, t2))
	before := len(regularisationsOf(t, l, id))
	l.submitAll(t,
		fmt.Sprintf(`{"type":"CorrectReport","command_id":"c46","contract_id":%q,"corrects":%q,"corrected_on":"2022-07-01","reason":"snp 64 -> 46","values":[{"mission":"access","code":"mt-found","value":"80"},{"mission":"access","code":"snp-24h","value":"46"},{"mission":"pathways","code":"pathways-run","value":"4"},{"mission":"prevention","code":"actions","value":"3"}]}`, t2, report),
		fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d-c46","contract_id":%q,"as_of":"2022-08-01"}`, t2))
	rs := regularisationsOf(t, l, id)[before:]
	if len(rs) != 1 || rs[0].Reason != "snp 64 -> 46" || rs[0].DueOn.String() != "2022-07-01" {
		t.Fatalf("the correction's regularisation:%s", describe(rs))
	}
}

// Order independence (issue 26): the example T2 contract, then a census
// moving it to a random tier, a correction of year 1's report and year 3's
// report with random values, recorded in two orders — each fact as its
// date comes, a decision after each; or the report and its decision first,
// the corrections after — give the same decided total for every settled
// year once a decision has seen them all.
func TestSettledYearsDoNotDependOnTheOrderOfRecording(t *testing.T) {
	id := uuid.MustParse(t2)
	signature := app.EventID(cpts.Stream(id), "t2-sign", 0)
	report1 := app.EventID(cpts.Stream(id), "t2-report-1", 0)
	rng := rand.New(rand.NewPCG(26, 27))
	rounds := 12
	if testing.Short() {
		rounds = 3
	}
	for round := range rounds {
		day := func() domain.Date { return domain.MustDate("2022-04-02").AddDays(rng.IntN(240)) }
		termsOn, reportOn := day(), day()
		population := []int{30000, 62000, 90000, 200000}[rng.IntN(4)]
		if population == 62000 {
			population = 61000 // a change, in the same tier
		}
		v := func(max int) string { return fmt.Sprint(rng.IntN(max + 1)) }
		values := func() string {
			return `[{"mission":"access","code":"mt-found","value":"` + v(100) + `"},{"mission":"access","code":"snp-24h","value":"` + v(80) +
				`"},{"mission":"pathways","code":"pathways-run","value":"` + v(4) + `"},{"mission":"prevention","code":"actions","value":"` + v(6) + `"}]`
		}
		year3 := `[{"mission":"access","code":"mt-found","value":"` + v(100) + `"},{"mission":"access","code":"snp-24h","value":"` + v(80) +
			`"},{"mission":"pathways","code":"pathways-run","value":"` + v(4) + `"},{"mission":"prevention","code":"actions","value":"` + v(6) +
			`"},{"mission":"quality","code":"reviews","value":"` + v(10) + `"}]`
		census := fmt.Sprintf(`{"type":"CorrectContractTerms","command_id":"census","contract_id":%q,"corrects":%q,"corrected_on":%q,"reason":"census","population":%d}`, t2, signature, termsOn, population)
		fix := fmt.Sprintf(`{"type":"CorrectReport","command_id":"fix1","contract_id":%q,"corrects":%q,"corrected_on":%q,"reason":"year 1 fixed","values":%s}`, t2, report1, reportOn, values())
		report := fmt.Sprintf(`{"type":"ReportIndicators","command_id":"r3","contract_id":%q,"contract_year":3,"reported_on":"2022-11-20","values":%s}`, t2, year3)
		decide := func(n int, on string) string {
			return fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d%d","contract_id":%q,"as_of":%q}`, n, t2, on)
		}
		type fact struct {
			on   domain.Date
			line string
		}
		asTheyCome := []fact{{termsOn, census}, {reportOn, fix}, {domain.MustDate("2022-11-20"), report}}
		slices.SortStableFunc(asTheyCome, func(a, b fact) int { return a.on.Compare(b.on) })
		var a []string
		for i, f := range asTheyCome {
			a = append(a, f.line, decide(i, f.on.String()))
		}
		a = append(a, decide(9, "2022-12-01"))
		b := []string{report, decide(1, "2022-12-01"), census, fix, decide(2, "2022-12-01")}
		totals := func(lines []string) map[int]string {
			l := t2Example(t)
			l.submitAll(t, lines...)
			bal, err := l.reads.Balance(context.Background(), id, query.Window{})
			if err != nil {
				t.Fatal(err)
			}
			out := map[int]string{}
			for _, y := range bal.ByYear {
				if y.ContractYear <= 3 {
					out[y.ContractYear] = y.Decided.String()
				}
			}
			return out
		}
		if ta, tb := totals(a), totals(b); fmt.Sprint(ta) != fmt.Sprint(tb) {
			t.Errorf("round %d (population %d on %s, year 1 fixed on %s): years 1-3 %v as the facts came, %v with the corrections last",
				round, population, termsOn, reportOn, ta, tb)
		}
		// And both are what a ledger that held the right facts from the
		// start decides: the dues under the corrected facts.
		reference := newLedger(t)
		raw, _ := os.ReadFile("../examples/t2-contract.jsonl")
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			line = strings.Replace(line, `"population":62000`, fmt.Sprintf(`"population":%d`, population), 1)
			if strings.Contains(line, `"command_id":"t2-report-1"`) {
				var m map[string]any
				json.Unmarshal([]byte(line), &m)
				var vs any
				json.Unmarshal([]byte(fix[strings.Index(fix, `"values":`)+len(`"values":`):len(fix)-1]), &vs)
				m["values"] = vs
				b, _ := json.Marshal(m)
				line = string(b)
			}
			reference.submitAll(t, line)
		}
		reference.submitAll(t, report, decide(1, "2022-12-01"))
		bal, err := reference.reads.Balance(context.Background(), id, query.Window{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]string{}
		for _, y := range bal.ByYear {
			if y.ContractYear <= 3 {
				want[y.ContractYear] = y.Decided.String()
			}
		}
		if ta := totals(a); fmt.Sprint(ta) != fmt.Sprint(want) {
			t.Errorf("round %d (population %d on %s, year 1 fixed on %s): years 1-3 %v, a ledger with the right facts from the start %v",
				round, population, termsOn, reportOn, ta, want)
		}
	}
}

// A contract's detail as of a date and as known at a time: the terms, the
// dates deadlines were met and the years reported that the window sees, no
// more (the contract page of the console shows it whole).
func TestTheContractAsOfAndAsKnownAt(t *testing.T) {
	l, before := t2Ledger(t)
	id := uuid.MustParse(t2)
	ctx := context.Background()
	detail := func(w query.Window) query.ContractDetail {
		t.Helper()
		d, err := l.reads.ContractAt(ctx, id, w)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	done := func(d query.ContractDetail, mission, kind string) domain.Date {
		for _, dl := range d.Deadlines {
			if dl.Mission == mission && dl.Kind == kind {
				return dl.DoneOn
			}
		}
		t.Fatalf("no %s %s deadline", mission, kind)
		return domain.Date{}
	}
	now := detail(query.Window{})
	if now.CPTS.Population != 90000 || now.Tier != "T3" || len(now.ReportedYears) != 2 || done(now, "access", "deploy").IsZero() {
		t.Fatalf("now: population %d, tier %s, reported %v, access deployed %s", now.CPTS.Population, now.Tier, now.ReportedYears, done(now, "access", "deploy"))
	}
	// As of 2020-06-01: access started (2020-03-01), not deployed; no report.
	then := detail(query.Window{AsOf: domain.MustDate("2020-06-01")})
	if then.CPTS.Population != 62000 || then.Tier != "T2" || len(then.ReportedYears) != 0 ||
		done(then, "access", "start") != domain.MustDate("2020-03-01") || !done(then, "access", "deploy").IsZero() || then.Payments != 0 {
		t.Fatalf("as of 2020-06-01: %+v", then)
	}
	// As known before the census correction: the population signed.
	known := detail(query.Window{KnownAt: before, Known: true})
	if known.CPTS.Population != 62000 || known.Tier != "T2" || len(known.ReportedYears) != 2 {
		t.Fatalf("as known before the correction: population %d, tier %s, reported %v", known.CPTS.Population, known.Tier, known.ReportedYears)
	}
	// Before the signature: no such contract.
	if _, err := l.reads.ContractAt(ctx, id, query.Window{AsOf: domain.MustDate("2019-10-01")}); !query.IsUnknown(err) {
		t.Fatalf("as of before the signature: %v", err)
	}
}
