package query_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

type testLedger struct {
	dir   string
	store *embedded.Store
	cmds  *app.Ledger // under the rules the worked examples were computed for
	// embedded is the command path under the embedded rulebooks (aci-2022):
	// the generated histories, the crisis mission.
	embedded *app.Ledger
	reads    *query.Ledger
}

func newLedger(t *testing.T) *testLedger {
	t.Helper()
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := projections.NewSet(dir, nil)
	t.Cleanup(func() { set.Close(); store.Close() })
	return &testLedger{dir: dir, store: store, cmds: app.New(store, app.Options{ReplayHistory: true, Schemes: fixture.Schemes(), Actor: "test"}),
		embedded: app.New(store, app.Options{ReplayHistory: true, Actor: "test"}), reads: query.New(store, set, app.DefaultSchemes())}
}

func (l *testLedger) feed(t *testing.T, scheme, path string) {
	t.Helper()
	fixture.Submit(t, l.cmds, scheme, fixture.Lines(t, path))
}

const (
	lifecycles  = "../domain/cpts/testdata/aci-lifecycles.jsonl"
	corrections = "../domain/cpts/testdata/aci-corrections.jsonl"
	aid         = "../domain/assistant/testdata/aid-lifecycles.jsonl"
)

func golden(t *testing.T) *testLedger {
	t.Helper()
	l := newLedger(t)
	l.feed(t, "cpts", lifecycles)
	return l
}

// The alerts give the worked examples' alerts, and each of the five
// statuses appears.
func TestAlertsGiveEveryStatus(t *testing.T) {
	l := golden(t)
	raw, err := os.ReadFile("../domain/cpts/testdata/aci-expected-alerts.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]cpts.Alert
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	key := func(a cpts.Alert) string {
		return fmt.Sprintf("%s %s %s %s %s", a.ContractID, a.Mission, a.Kind, a.Deadline, a.Status)
	}
	for date, want := range expected {
		got, err := l.reads.Alerts(context.Background(), query.Window{AsOf: domain.MustDate(date)}, 60, query.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var g, w []string
		for _, a := range got {
			g = append(g, key(a.Alert))
			seen[a.Status] = true
		}
		for _, a := range want {
			w = append(w, key(a))
		}
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Fatalf("alerts as of %s: %d, want %d", date, len(g), len(w))
		}
		overdue, _ := l.reads.Alerts(context.Background(), query.Window{AsOf: domain.MustDate(date)}, 60, query.AlertFilter{Status: cpts.AlertOverdue})
		for _, a := range overdue {
			if a.Status != cpts.AlertOverdue {
				t.Fatalf("filter by status overdue gave %+v", a)
			}
		}
	}
	for _, s := range []string{cpts.AlertPending, cpts.AlertDueSoon, cpts.AlertOverdue, cpts.AlertMet, cpts.AlertMetLate} {
		if !seen[s] {
			t.Errorf("no alert with status %s", s)
		}
	}
}

func TestBalanceAsOfExcludesLaterDecisions(t *testing.T) {
	l := golden(t)
	ctx := context.Background()
	id := uuid.MustParse("b1403d63-9020-5a52-918d-759a87fdc616") // T4, signed 2019-08-31
	full, err := l.reads.Balance(ctx, id, query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	asOf := domain.MustDate("2020-12-31")
	early, err := l.reads.Balance(ctx, id, query.Window{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := l.reads.Payments(ctx, id, query.Window{})
	var want domain.Money
	later := 0
	for _, p := range ps {
		if !p.DecidedOn.After(asOf) {
			want = want.Add(p.Amount)
		} else {
			later++
		}
	}
	if later == 0 || !early.DecidedTotal.Equal(want) || !early.DecidedTotal.Less(full.DecidedTotal) {
		t.Fatalf("as of %s: %s (want %s, %d later decisions excluded), full %s", asOf, early.DecidedTotal, want, later, full.DecidedTotal)
	}
	// Known at 2000, the ledger held no such contract: it says so, as a
	// ledger of then would, rather than answering zeros.
	if none, err := l.reads.Balance(ctx, id, query.Window{KnownAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}); !query.IsUnknown(err) {
		t.Fatalf("known at 2000: %+v %v", none, err)
	}
	if _, err := l.reads.Balance(ctx, uuid.New(), query.Window{}); !query.IsUnknown(err) {
		t.Fatalf("unknown contract: %v", err)
	}
}

func TestAuditTrailInRevisionOrderVerifies(t *testing.T) {
	l := golden(t)
	ctx := context.Background()
	id := uuid.MustParse("65b44117-e42b-5595-8bc2-6deb4a6e6c7f")
	trail, err := l.reads.Audit(ctx, id, query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	if !trail.ChainOK || len(trail.Events) < 10 || trail.Scheme != "cpts" {
		t.Fatalf("chain ok %v (%s), %d events", trail.ChainOK, trail.Problem, len(trail.Events))
	}
	for i, e := range trail.Events {
		if e.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d", i, e.Revision)
		}
	}
	early, _ := l.reads.Audit(ctx, id, query.Window{AsOf: domain.MustDate("2020-06-30")})
	if len(early.Events) == 0 || len(early.Events) >= len(trail.Events) || !early.ChainOK {
		t.Fatalf("as of 2020-06-30: %d of %d events", len(early.Events), len(trail.Events))
	}
	if _, err := l.reads.Audit(ctx, uuid.New(), query.Window{}); !query.IsUnknown(err) {
		t.Fatalf("unknown contract: %v", err)
	}
	// An insider changes the actor of the fourth event in the file: the
	// trail names it.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(l.dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE events SET actor = 'mallory' WHERE stream = ? AND revision = 3`, cpts.Stream(id)); err != nil {
		t.Fatal(err)
	}
	bad, err := l.reads.Audit(ctx, id, query.Window{})
	if err != nil || bad.ChainOK || bad.FirstBad == nil || bad.FirstBad.Revision != 3 || bad.Problem == "" {
		t.Fatalf("after a rewrite: ok %v, first bad %+v, %q, %v", bad.ChainOK, bad.FirstBad, bad.Problem, err)
	}
}

func TestScheduleListsWhatFallsDue(t *testing.T) {
	l := golden(t)
	asOf := domain.MustDate("2026-11-22")
	items, err := l.reads.Schedule(context.Background(), query.Window{AsOf: asOf}, 365, query.ScheduleFilter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, it := range items {
		kinds[it.Kind]++
		if it.DueOn.After(asOf.AddDays(365)) {
			t.Fatalf("item beyond the horizon: %+v", it)
		}
		if it.Overdue != it.DueOn.Before(asOf) {
			t.Fatalf("overdue %v for an item due %s as of %s", it.Overdue, it.DueOn, asOf)
		}
		if it.Kind == cpts.KindAnnualAdvance && (it.Amount == nil || (it.Amount.Sign() <= 0) != (it.Status == cpts.StatusWithheld)) {
			t.Fatalf("an advance without its amount: %+v", it)
		}
	}
	if kinds[cpts.KindAnnualAdvance] == 0 || kinds[domain.KindReportAwaited] == 0 {
		t.Fatalf("schedule kinds %v", kinds)
	}
	none, _ := l.reads.Schedule(context.Background(), query.Window{AsOf: asOf}, 365, query.ScheduleFilter{CPAM: "CPAM Nowhere"})
	if len(none) != 0 {
		t.Fatalf("%d items for a CPAM with no contract", len(none))
	}
}

func TestTotalsSumPayments(t *testing.T) {
	l := golden(t)
	l.feed(t, "assistant", aid)
	ctx := context.Background()
	for _, by := range []string{"year", "scheme", "cpam", "ars", "tier"} {
		totals, err := l.reads.Totals(ctx, by, query.Window{})
		if err != nil {
			t.Fatal(err)
		}
		var sum domain.Money
		n := 0
		for _, tt := range totals[:len(totals)-1] {
			sum = sum.Add(tt.Decided)
			n += tt.Payments
		}
		var want domain.Money
		payments := 0
		amount := slices.Index(query.ExportHeader(true), "amount")
		l.reads.Export(ctx, query.ExportFilter{PerPayment: true}, query.Window{}, domain.Money.String, func(row []string) error {
			want = want.Add(domain.MustMoney(row[amount]))
			payments++
			return nil
		})
		grand := totals[len(totals)-1]
		if !sum.Equal(want) || want.IsZero() || n != payments || grand.Key != "total" || !grand.Decided.Equal(want) || grand.Payments != payments {
			t.Fatalf("totals by %s sum to %s in %d payments (grand %+v), payments to %s in %d", by, sum, n, grand, want, payments)
		}
	}
	if _, err := l.reads.Totals(ctx, "planet", query.Window{}); err == nil {
		t.Fatal("totals by an unknown dimension accepted")
	}
}

// The aid scheme's payments, balances and audit trails go through the same
// read side as the CPTS ones.
func TestAidContracts(t *testing.T) {
	l := newLedger(t)
	l.feed(t, "assistant", aid)
	ctx := context.Background()
	id := uuid.MustParse("53b3649c-ca70-5822-85ae-28b31422be2f") // am-2019, 1/2, p90_p95
	ps, err := l.reads.Payments(ctx, id, query.Window{})
	if err != nil || len(ps) != 9 {
		t.Fatalf("%d payments (%v), want 9", len(ps), err)
	}
	if ps[0].Kind != "hiring_advance" || ps[0].Amount.String() != "12600.00" || ps[0].Table != "2019" || ps[0].Rulebook != "am-2019" {
		t.Fatalf("first payment %+v", ps[0])
	}
	// 12 600 + 5 400 + 13 500 + 6 250 − 3 099.17 + 6 250 + 2 014.46 + 6 250 + 671.49
	b, err := l.reads.Balance(ctx, id, query.Window{})
	if err != nil || b.Scheme != "assistant" || b.Rulebook != "am-2019" || b.DecidedTotal.String() != "49836.78" {
		t.Fatalf("balance %+v %v", b, err)
	}
	trail, err := l.reads.Audit(ctx, id, query.Window{})
	if err != nil || !trail.ChainOK || trail.Events[0].Type != "AidContractSigned" {
		t.Fatalf("audit: %v %+v", err, trail)
	}
	totals, _ := l.reads.Totals(ctx, "scheme", query.Window{})
	if len(totals) < 2 || totals[0].Key != "assistant" {
		t.Fatalf("totals by scheme %+v", totals)
	}
}

type regularisation struct {
	ContractYear int    `json:"contract_year"`
	DueOn        string `json:"due_on"`
	Amount       string `json:"amount"`
}

// The worked corrections, submitted through the command path to the real
// store, give through the read side every regularisation of the
// independent computation; each names the payments it corrects, and each of
// those names it back.
func TestGoldenRegularisationsThroughTheLedger(t *testing.T) {
	l := newLedger(t)
	l.feed(t, "cpts", corrections)
	raw, err := os.ReadFile("../domain/cpts/testdata/aci-expected-regularisations.json")
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string]struct {
		Regularisations []regularisation `json:"regularisations"`
	}
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected) < 10 {
		t.Fatalf("%d contracts expected", len(expected))
	}
	for id, want := range expected {
		ps, err := l.reads.Payments(context.Background(), uuid.MustParse(id), query.Window{})
		if err != nil {
			t.Fatal(err)
		}
		var got []regularisation
		named := map[uuid.UUID][]uuid.UUID{} // regularisation → the payments that name it back
		byID := map[uuid.UUID]query.Payment{}
		for _, p := range ps {
			byID[p.PaymentID] = p
			for _, r := range p.CorrectedBy {
				named[r] = append(named[r], p.PaymentID)
			}
		}
		for _, p := range ps {
			if p.Kind != domain.KindRegularisation {
				continue
			}
			got = append(got, regularisation{p.ContractYear, p.DueOn.String(), p.Amount.String()})
			if len(p.Corrects) == 0 || !slices.Equal(named[p.PaymentID], p.Corrects) {
				t.Fatalf("%s: regularisation %s corrects %v, named back by %v", id, p.PaymentID, p.Corrects, named[p.PaymentID])
			}
			for _, c := range p.Corrects {
				if byID[c].ContractYear != p.ContractYear {
					t.Fatalf("%s: regularisation of year %d corrects %+v", id, p.ContractYear, byID[c])
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want.Regularisations) {
			t.Errorf("%s: regularisations %v, want %v", id, got, want.Regularisations)
		}
	}
}

// lastRecorded is when the ledger recorded its last event.
func lastRecorded(t *testing.T, store eventstore.Store) time.Time {
	t.Helper()
	head, err := store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(context.Background(), head-1, 1)
	if err != nil || len(evs) != 1 {
		t.Fatalf("the last event: %v", err)
	}
	return evs[0].RecordedAt
}

// Known at a time before the corrections were recorded, every query gives
// what it gave then — payments, balance, alerts, audit trail, schedule —
// and after, the corrected view.
func TestKnownAtBeforeTheCorrections(t *testing.T) {
	l := newLedger(t)
	lines := fixture.Resolve(t, "cpts", fixture.Lines(t, corrections))
	first := slices.IndexFunc(lines, func(line []byte) bool {
		var h struct{ Type string }
		json.Unmarshal(line, &h)
		return h.Type == "CorrectReport" || h.Type == "CorrectMissionDate"
	})
	for _, line := range lines[:first] {
		if res, err := l.cmds.Submit(context.Background(), line); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
	ctx := context.Background()
	moved := uuid.MustParse("9844b9a6-9a43-5db0-9fab-1f6e9a8ec385") // access start 2024-03-03 → 2024-03-23
	asOf := query.Window{AsOf: domain.MustDate("2026-11-30")}
	type view struct {
		payments []query.Payment
		balance  query.Balance
		alerts   []query.Alert
		audit    query.AuditTrail
		schedule []query.ScheduleItem
	}
	read := func(w query.Window) view {
		t.Helper()
		var v view
		var err error
		if v.payments, err = l.reads.Payments(ctx, moved, w); err != nil {
			t.Fatal(err)
		}
		if v.balance, err = l.reads.Balance(ctx, moved, w); err != nil {
			t.Fatal(err)
		}
		aw := w
		aw.AsOf = asOf.AsOf
		all, err := l.reads.Alerts(ctx, aw, 60, query.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.ContractID == moved && a.Mission == "access" {
				v.alerts = append(v.alerts, a)
			}
		}
		if v.audit, err = l.reads.Audit(ctx, moved, w); err != nil {
			t.Fatal(err)
		}
		if v.schedule, err = l.reads.Schedule(ctx, aw, 3660, query.ScheduleFilter{}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	then := read(query.Window{})
	knownAt := lastRecorded(t, l.store)
	for _, line := range lines[first:] {
		if res, err := l.cmds.Submit(ctx, line); err != nil || !res.OK {
			t.Fatalf("%s: %+v %v", line, res.Error, err)
		}
	}
	// Another correction moves the access deployment after its deadline
	// (deadlines count from the signature and do not move).
	deployed := slices.IndexFunc(then.audit.Events, func(e query.AuditEvent) bool {
		return e.Type == cpts.TypeMissionDeployed && strings.Contains(string(e.Data), `"access"`)
	})
	if deployed < 0 {
		t.Fatal("no access deployment in the audit trail")
	}
	late := fmt.Sprintf(`{"type":"CorrectMissionDate","command_id":"late-deploy","contract_id":"%s","corrects":"%s","corrected_on":"2026-11-24","reason":"deployed later than filed","date":"2026-06-01"}`,
		moved, then.audit.Events[deployed].EventID)
	if res, err := l.cmds.Submit(ctx, []byte(late)); err != nil || !res.OK {
		t.Fatalf("%s: %+v %v", late, res.Error, err)
	}
	now := read(query.Window{})
	past := read(query.Window{KnownAt: knownAt})
	for what, pair := range map[string][2]any{
		"payments": {then.payments, past.payments}, "balance": {then.balance, past.balance},
		"alerts": {then.alerts, past.alerts}, "audit": {then.audit, past.audit}, "schedule": {then.schedule, past.schedule},
	} {
		if b, ok := pair[1].(query.Balance); ok {
			b.KnownAt = nil // the window is echoed
			pair[1] = b
		}
		a, _ := json.Marshal(pair[0])
		b, _ := json.Marshal(pair[1])
		if string(a) != string(b) {
			t.Errorf("%s known at %s differs from what it was then:\n then %s\n past %s", what, knownAt.Format(time.RFC3339Nano), a, b)
		}
	}
	if len(now.payments) != len(then.payments)+1 || now.payments[len(now.payments)-1].Kind != domain.KindRegularisation {
		t.Fatalf("after the correction, %d payments (then %d), last %+v", len(now.payments), len(then.payments), now.payments[len(now.payments)-1])
	}
	if want := then.balance.DecidedTotal.Add(domain.MustMoney("-2608.43")); !now.balance.DecidedTotal.Equal(want) ||
		!now.balance.RegularisedTotal.Equal(domain.MustMoney("-2608.43")) {
		t.Fatalf("balance now %+v, want total %s", now.balance, want)
	}
	if known := read(query.Window{KnownAt: lastRecorded(t, l.store)}); len(known.payments) != len(now.payments) {
		t.Fatalf("known at the last event: %d payments, %d now", len(known.payments), len(now.payments))
	}
	if len(now.alerts) == 0 || len(now.alerts) != len(then.alerts) {
		t.Fatalf("%d access alerts now, %d then", len(now.alerts), len(then.alerts))
	}
	for i, a := range now.alerts {
		was := then.alerts[i]
		if a.Deadline != was.Deadline || (a.Kind == cpts.DeadlineDeploy) != (was.Status == cpts.AlertMet && a.Status == cpts.AlertMetLate) {
			t.Fatalf("access as of %s: %+v now, %+v before the correction", asOf.AsOf, a, was)
		}
	}
	var corrections, regularisations int
	for _, e := range now.audit.Events[len(then.audit.Events):] {
		switch {
		case e.Type == cpts.TypeMissionDateCorrected && e.Corrects != nil:
			corrections++
		case e.Type == cpts.TypePaymentDecided && strings.Contains(string(e.Data), `"kind":"regularisation"`):
			regularisations++
		}
	}
	if corrections != 2 || regularisations != 1 {
		t.Fatalf("audit trail since: %d corrections, %d regularisations", corrections, regularisations)
	}
	corrected := slices.IndexFunc(now.audit.Events, func(e query.AuditEvent) bool { return len(e.CorrectedBy) > 0 })
	if corrected < 0 || now.audit.Events[corrected].Type != cpts.TypeMissionStarted || len(now.audit.Events[corrected].CorrectedBy) != 1 {
		t.Fatalf("no mission start named corrected in the audit trail")
	}
}

// Today's schedule folds the log once and then only what was appended:
// after more commands it equals the schedule of a read side that folds
// the whole log anew, and it changed with them.
func TestTodaysScheduleFollowsTheLog(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	lines := fixture.Lines(t, lifecycles)
	half := len(lines) / 2
	fixture.Submit(t, l.cmds, "cpts", lines[:half])
	anew := func() []query.ScheduleItem {
		items, err := query.New(l.store, projections.NewSet(t.TempDir(), nil), app.DefaultSchemes()).Schedule(ctx, query.Window{}, 3660, query.ScheduleFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	var before []query.ScheduleItem
	for round, want := range [][][]byte{lines[half:], nil} {
		got, err := l.reads.Schedule(ctx, query.Window{}, 3660, query.ScheduleFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if w := anew(); !reflect.DeepEqual(got, w) {
			t.Fatalf("round %d: today's schedule (%d items) differs from one folded anew (%d items)", round, len(got), len(w))
		}
		if round == 1 && reflect.DeepEqual(got, before) {
			t.Fatalf("the schedule did not change with %d more commands", len(lines)-half)
		}
		before = got
		fixture.Submit(t, l.cmds, "cpts", want)
	}
	if len(before) == 0 {
		t.Fatal("nothing falls due in the examples")
	}
}

// The schedule reads the log itself, and asks the guard first, as every
// query does: a ledger whose log a check found broken serves no schedule.
func TestScheduleAsksTheGuard(t *testing.T) {
	l := golden(t)
	refused := errors.New("the chain is broken")
	reads := query.New(l.store, projections.NewSet(t.TempDir(), nil), app.DefaultSchemes()).Guarded(func() error { return refused })
	if _, err := reads.Schedule(context.Background(), query.Window{}, 60, query.ScheduleFilter{}); !errors.Is(err, refused) {
		t.Fatalf("schedule behind a refusing guard: %v", err)
	}
}

// The audit trail shows every event as stored; only those its scheme's
// decoder reads (type and schema version known) are marked Decoded — what
// the console says in words.
func TestAuditMarksWhatItsSchemeDecodes(t *testing.T) {
	l := golden(t)
	ctx := context.Background()
	id := uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80")
	l.feed(t, "cpts", "../examples/t2-contract.jsonl")
	stream := domain.Stream(cpts.Scheme, id)
	evs, err := l.store.ReadStream(ctx, stream, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.store.Append(ctx, stream, eventstore.Exact(evs[len(evs)-1].Revision), []eventstore.EventData{{
		ID: uuid.New(), Type: cpts.TypeMissionStarted, SchemaVersion: domain.SchemaVersion + 1, OccurredOn: "2022-05-01",
		Actor: "test", CommandID: "v2", CorrelationID: "v2", CausationID: "v2", Data: []byte(`{"mission":{"code":"access"}}`)}}); err != nil {
		t.Fatal(err)
	}
	trail, err := l.reads.Audit(ctx, id, query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	last := trail.Events[len(trail.Events)-1]
	if last.Decoded || last.SchemaVersion != domain.SchemaVersion+1 {
		t.Fatalf("the event of an unknown schema version: %+v", last)
	}
	for _, e := range trail.Events[:len(trail.Events)-1] {
		if !e.Decoded {
			t.Fatalf("%s (revision %d) not decoded", e.Type, e.Revision)
		}
	}
}

// Schedules asked at once — today's (one fold, kept) and of other dates
// (folded anew) — answer as when asked one by one.
func TestSchedulesAskedAtOnce(t *testing.T) {
	l := golden(t)
	ctx := context.Background()
	windows := []query.Window{{}, {AsOf: domain.MustDate("2022-06-30")}}
	want := make([][]query.ScheduleItem, len(windows))
	for i, w := range windows {
		items, err := query.New(l.store, projections.NewSet(t.TempDir(), nil), app.DefaultSchemes()).Schedule(ctx, w, 365, query.ScheduleFilter{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = items
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			w := windows[g%len(windows)]
			got, err := l.reads.Schedule(ctx, w, 365, query.ScheduleFilter{})
			if err != nil {
				t.Error(err)
				return
			}
			if !reflect.DeepEqual(got, want[g%len(windows)]) {
				t.Errorf("goroutine %d: the schedule as of %s differs from one asked alone", g, w.AsOf)
			}
		})
	}
	wg.Wait()
}

// The 2024 rules' lifecycles through the store and the read models: the
// avenant-7 commitment to a coordinated practice is an alert like the CPTS
// deadlines (due soon, overdue, met late as of dates around it, met late in
// the contract's detail), the extension shows on the contract and its
// payments are read back with their line.
func TestAid2024ThroughTheReadModels(t *testing.T) {
	l := newLedger(t)
	l.feed(t, "assistant", "../domain/assistant/testdata/aid-2024-lifecycles.jsonl")
	ctx := context.Background()
	coord := uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea3")
	for date, want := range map[string]string{"2021-12-01": cpts.AlertPending, "2022-01-15": cpts.AlertDueSoon,
		"2022-04-01": cpts.AlertOverdue, "2022-06-01": cpts.AlertMetLate} {
		got, err := l.reads.Alerts(ctx, query.Window{AsOf: domain.MustDate(date)}, 60, query.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var mine []query.Alert
		for _, a := range got {
			if a.ContractID == coord {
				mine = append(mine, a)
			}
		}
		if len(mine) != 1 || mine[0].Mission != "coordinated_practice" || mine[0].Kind != "commitment" || mine[0].Months != 24 ||
			mine[0].Deadline.String() != "2022-03-01" || mine[0].Status != want {
			t.Fatalf("alerts of the committed contract as of %s: %+v, want one commitment due 2022-03-01, %s", date, mine, want)
		}
	}
	d, err := l.reads.ContractAt(ctx, coord, query.Window{AsOf: domain.MustDate("2022-04-01")})
	if err != nil || d.NextDeadline == nil || d.NextDeadline.Status != cpts.AlertOverdue || len(d.Deadlines) != 1 || !d.Deadlines[0].DoneOn.IsZero() {
		t.Fatalf("committed contract as of 2022-04-01: %+v %v, want its commitment overdue", d, err)
	}
	d, err = l.reads.Contract(ctx, coord)
	if err != nil || d.NextDeadline != nil || d.Deadlines[0].DoneOn.String() != "2022-05-10" {
		t.Fatalf("committed contract now: %+v %v, want its commitment met on 2022-05-10", d, err)
	}
	ext := uuid.MustParse("0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea2")
	d, err = l.reads.Contract(ctx, ext)
	if err != nil || d.Aid == nil || d.Aid.Extension == nil || d.Aid.Extension.AddedFTE != "1/2" || d.Aid.Extension.On.String() != "2025-10-01" || len(d.Deadlines) != 0 {
		t.Fatalf("extended contract: %+v %v", d, err)
	}
	ps, err := l.reads.Payments(ctx, ext, query.Window{})
	if err != nil || len(ps) != 10 {
		t.Fatalf("%d payments (%v), want 10", len(ps), err)
	}
	var added []string
	for _, p := range ps {
		if p.Kind == "extension_instalment_1" || p.Kind == "extension_instalment_2" {
			if len(p.Lines) != 1 || p.Lines[0].Component != "extension" {
				t.Fatalf("extension payment lines %+v", p.Lines)
			}
			added = append(added, p.Amount.String())
		}
	}
	if !slices.Equal(added, []string{"4113.70", "4113.70", "5500.00", "3300.00"}) {
		t.Fatalf("the added share's payments %v", added)
	}
}
