package query_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/query"
)

// The crisis lines of the T1 of domain/cpts/testdata/crisis-cpts.jsonl as
// of dates and as known at times on both sides of the amendment that
// publishes T1's crisis amounts: before it, year 1's crisis plan and
// supplement are withheld at 0.00 and no regularisation exists; after,
// the regularisation pays them, citing the amendment. The rulebooks
// answer the same way.
func TestCrisisLinesOnBothSidesOfTheAmendment(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	cmds := l.embedded // the embedded rulebooks: aci-2022
	lines := fixture.Resolve(t, "cpts", fixture.Lines(t, "../domain/cpts/testdata/crisis-cpts.jsonl"))
	submit := func(from, to int) {
		for _, line := range lines[from:to] {
			if res, err := cmds.Submit(ctx, line); err != nil || !res.OK {
				t.Fatalf("%s: %+v %v", line, res.Error, err)
			}
		}
	}
	submit(0, 8) // through the decision as of 2023-07-01
	before := lastRecorded(t, l.store)
	submit(8, 9) // the amendment, published 2023-09-01
	amendment := lastRecorded(t, l.store)
	// What falls due: the next decision would note the amendment and
	// regularise year 1; the schedule says so before it is decided.
	items, err := l.reads.Schedule(ctx, query.Window{AsOf: domain.MustDate("2023-09-02")}, 30, query.ScheduleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var due []string
	for _, it := range items {
		if it.Kind == domain.KindRegularisation && it.Amount != nil {
			due = append(due, it.Amount.String())
		}
	}
	if len(due) != 1 || due[0] != "60000.00" {
		t.Fatalf("the schedule's regularisations after the publication: %v (items %+v)", due, items)
	}
	submit(9, len(lines))
	id := uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81")

	regularisation := func(w query.Window) *query.Payment {
		ps, err := l.reads.Payments(ctx, id, w)
		if err != nil {
			t.Fatal(err)
		}
		var found *query.Payment
		for i, p := range ps {
			if p.Kind == domain.KindRegularisation {
				found = &ps[i]
			}
			if p.Kind == "annual_balance" && p.ContractYear == 1 {
				for _, line := range p.Lines {
					if line.Mission != nil && *line.Mission == "crisis" && (line.Withheld == nil || !line.Amount.IsZero()) {
						t.Fatalf("year 1's balance, crisis line %+v: want withheld at 0.00", line)
					}
				}
			}
		}
		return found
	}
	for name, w := range map[string]query.Window{
		"known at before the amendment": {KnownAt: before},
		"known at its recording":        {KnownAt: amendment},
		"as of 2023-09-30":              {AsOf: domain.MustDate("2023-09-30")},
	} {
		if r := regularisation(w); r != nil {
			t.Errorf("%s: a regularisation %s", name, r.Amount)
		}
	}
	for name, w := range map[string]query.Window{"now": {}, "as of 2023-10-01": {AsOf: domain.MustDate("2023-10-01")}} {
		r := regularisation(w)
		if r == nil || r.Amount.String() != "60000.00" || len(r.Lines) != 2 || r.Lines[0].Amendment == nil || r.Lines[0].Amendment.ID != "test-t1-crisis" {
			t.Fatalf("%s: regularisation %+v, want 60000.00 citing the amendment", name, r)
		}
	}

	t1 := func(w query.Window) *string {
		rb, err := l.reads.Rulebooks(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rb.Versions {
			for _, a := range v.Amounts {
				if v.ID == "aci-2022" && a.Tier == "T1" && a.Mission == "crisis" && a.Component == "fixed" {
					return a.Amount
				}
			}
		}
		t.Fatal("no T1 crisis amount in aci-2022")
		return nil
	}
	if a := t1(query.Window{KnownAt: before}); a != nil {
		t.Fatalf("known at before the amendment, T1's crisis plan is %s", *a)
	}
	if a := t1(query.Window{AsOf: domain.MustDate("2023-08-31")}); a != nil {
		t.Fatalf("as of before its publication, T1's crisis plan is %s", *a)
	}
	if a := t1(query.Window{KnownAt: time.Now()}); a == nil || *a != "15000.00" {
		t.Fatalf("now, T1's crisis plan is %v", a)
	}
}

// A contract signed in 2020 takes the crisis mission up on 2022-06-01: its
// crisis deadlines count from 2022-04-01 (deployed by 2023-10-01), and
// exist only from its start — as of a date before it, no crisis alert.
func TestAlertsOfAMissionTakenUp(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	id := "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e82"
	for _, line := range []string{
		`{"type":"SignContract","command_id":"s","contract_id":"` + id + `","cpts":{"id":"c","name":"CPTS de 2020"},"ars":"ARS Centre-Val de Loire","cpam":"CPAM Test","population":50000,"signed_on":"2020-01-15","missions":["access","pathways","prevention"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`,
		`{"type":"StartMission","command_id":"c","contract_id":"` + id + `","mission":"crisis","started_on":"2022-06-01"}`,
	} {
		if res, err := l.embedded.Submit(ctx, []byte(line)); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
	crisis := func(asOf string) []query.Alert {
		all, err := l.reads.Alerts(ctx, query.Window{AsOf: domain.MustDate(asOf)}, 60, query.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []query.Alert
		for _, a := range all {
			if a.Mission == "crisis" {
				out = append(out, a)
			}
		}
		return out
	}
	if got := crisis("2022-05-01"); len(got) != 0 {
		t.Fatalf("as of 2022-05-01, before the mission was taken up: %+v", got)
	}
	got := crisis("2023-09-15")
	if len(got) != 2 || got[0].Kind != "start" || got[0].Status != "met" || got[0].Deadline.String() != "2022-10-01" ||
		got[1].Kind != "deploy" || got[1].Status != "due_soon" || got[1].Deadline.String() != "2023-10-01" {
		t.Fatalf("as of 2023-09-15: %+v", got)
	}
}
