package projections

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/google/uuid"
)

type fixture struct {
	store *embedded.Store
	db    *DB
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), filepath.Join(dir, "projections.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(); store.Close() })
	return &fixture{store: store, db: db, dir: dir}
}

func (f *fixture) submit(t *testing.T, lines [][]byte, every int, runner *Runner) {
	t.Helper()
	l := app.New(f.store, app.Options{Actor: "test"})
	for i, line := range lines {
		res, err := l.Submit(context.Background(), line)
		if err != nil || !res.OK {
			t.Fatalf("line %d: %+v %v", i+1, res.Error, err)
		}
		if runner != nil && every > 0 && i%every == every-1 {
			if _, err := runner.CatchUp(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// dump returns every row of every read model, sorted, one string a row.
func dump(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range readModelTables {
		rows, err := db.r.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		rows.Close()
		slices.Sort(out[table])
	}
	return out
}

func compareDumps(t *testing.T, a, b map[string][]string, what string) {
	t.Helper()
	for _, table := range readModelTables {
		if len(a[table]) != len(b[table]) {
			t.Fatalf("%s: table %s has %d rows, then %d", what, table, len(a[table]), len(b[table]))
		}
		for i := range a[table] {
			if a[table][i] != b[table][i] {
				t.Fatalf("%s: table %s row %d differs:\n %s\n %s", what, table, i, a[table][i], b[table][i])
			}
		}
	}
}

// Rebuilding from zero gives, row by row, what incremental application
// gave, on a generated national history of 220 contracts.
func TestRebuildEqualsIncremental(t *testing.T) {
	f := newFixture(t)
	lines, contracts := gen.National(gen.Options{Seed: 42, Contracts: 220, Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
	if len(contracts) < 200 {
		t.Fatalf("only %d contracts generated", len(contracts))
	}
	runner := NewRunner(f.store, f.db, Options{Batch: 37})
	f.submit(t, lines, 997, runner) // catch up every 997 commands, in batches of 37 events
	if _, err := runner.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	incremental := dump(t, f.db)
	head, _ := f.store.Head(context.Background())
	if len(incremental["contracts"]) != len(contracts) || len(incremental["payments"]) == 0 {
		t.Fatalf("%d contracts, %d payments", len(incremental["contracts"]), len(incremental["payments"]))
	}
	prog, err := NewRunner(f.store, f.db, Options{}).Rebuild(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if prog.Applied != uint64(head) || prog.Position != head {
		t.Fatalf("rebuild applied %d events up to %d, want %d", prog.Applied, prog.Position, head)
	}
	compareDumps(t, incremental, dump(t, f.db), "rebuild vs incremental")
	wantIndexes := []string{"payments_by_contract", "deadlines_by_date"}
	if got := indexList(t, f.db); !slices.Equal(got, wantIndexes) {
		t.Fatalf("indexes after a rebuild: %v, want %v", got, wantIndexes)
	}

	// A rebuild stopped half-way still leaves the indexes in place.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = NewRunner(f.store, f.db, Options{Batch: 100, OnProgress: func(p Progress) {
		if p.Applied >= 300 {
			cancel()
		}
	}}).Rebuild(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled rebuild: %v", err)
	}
	if got := indexList(t, f.db); !slices.Equal(got, wantIndexes) {
		t.Fatalf("indexes after a cancelled rebuild: %v, want %v", got, wantIndexes)
	}
}

// indexList names the read models' secondary indexes, by name descending.
func indexList(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.r.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name DESC`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		out = append(out, name)
	}
	return out
}

var errCrash = errors.New("simulated crash before the checkpoint commits")

// A crash between applying a batch and committing its checkpoint leaves
// neither: the batch is applied once when the runner resumes.
func TestCrashBeforeCheckpointAppliesOnce(t *testing.T) {
	f := newFixture(t)
	lines, _ := gen.National(gen.Options{Seed: 3, Contracts: 30, Today: domain.MustDate("2024-01-01"), DecideMonthly: true})
	f.submit(t, lines, 0, nil)
	batches := 0
	crashing := NewRunner(f.store, f.db, Options{Batch: 100, BeforeCommit: func([]Event) error {
		if batches++; batches == 3 {
			return errCrash
		}
		return nil
	}})
	if _, err := crashing.CatchUp(context.Background()); !errors.Is(err, errCrash) {
		t.Fatalf("catch-up: %v, want the simulated crash", err)
	}
	cps, _ := crashing.Checkpoints(context.Background())
	for name, cp := range cps {
		if cp != 200 {
			t.Fatalf("checkpoint %s at %d after two committed batches of 100, want 200", name, cp)
		}
	}
	if _, err := NewRunner(f.store, f.db, Options{Batch: 100}).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	resumed := dump(t, f.db)
	var payments int
	f.db.r.QueryRow(`SELECT COUNT(*) FROM payments`).Scan(&payments)
	var stored int
	all, _ := f.store.ReadAll(context.Background(), 0, 100000)
	for _, e := range all {
		if e.Type == cpts.TypePaymentDecided {
			stored++
		}
	}
	if payments != stored {
		t.Fatalf("%d payments in the read model for %d decisions in the store: not applied exactly once", payments, stored)
	}
	if _, err := NewRunner(f.store, f.db, Options{}).Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	compareDumps(t, resumed, dump(t, f.db), "resumed after crash vs rebuild")
}

func goldenFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	raw, err := os.ReadFile("../domain/cpts/testdata/aci-lifecycles.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	f.submit(t, lines, 0, nil)
	if _, err := NewRunner(f.store, f.db, Options{}).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

// The alerts read model gives the worked examples' alerts, and each of the
// five statuses appears.
func TestAlertsGiveEveryStatus(t *testing.T) {
	f := goldenFixture(t)
	raw, _ := os.ReadFile("../domain/cpts/testdata/aci-expected-alerts.json")
	var expected map[string][]cpts.Alert
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for date, want := range expected {
		got, err := f.db.Alerts(context.Background(), domain.MustDate(date), 60)
		if err != nil {
			t.Fatal(err)
		}
		key := func(a cpts.Alert) string {
			return fmt.Sprintf("%s %s %s %s %s", a.ContractID, a.Mission, a.Kind, a.Deadline, a.Status)
		}
		var g, w []string
		for _, a := range got {
			g = append(g, key(a))
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
	}
	for _, s := range []string{cpts.AlertPending, cpts.AlertDueSoon, cpts.AlertOverdue, cpts.AlertMet, cpts.AlertMetLate} {
		if !seen[s] {
			t.Errorf("no alert with status %s", s)
		}
	}
}

func TestBalanceAsOfExcludesLaterDecisions(t *testing.T) {
	f := goldenFixture(t)
	id := uuid.MustParse("b1403d63-9020-5a52-918d-759a87fdc616") // T4, signed 2019-08-31
	full, err := f.db.Balance(context.Background(), id, AsOf{})
	if err != nil {
		t.Fatal(err)
	}
	asOf := domain.MustDate("2020-12-31")
	early, err := f.db.Balance(context.Background(), id, AsOf{BusinessDate: asOf})
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := f.db.Payments(context.Background(), id, AsOf{})
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
	// As known at a recorded time before any decision: nothing.
	none, err := f.db.Balance(context.Background(), id, AsOf{KnownAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || !none.DecidedTotal.IsZero() {
		t.Fatalf("known at 2000: %s %v", none.DecidedTotal, err)
	}
}

func TestAuditTrailInRevisionOrderVerifies(t *testing.T) {
	f := goldenFixture(t)
	id := uuid.MustParse("65b44117-e42b-5595-8bc2-6deb4a6e6c7f")
	trail, err := Audit(context.Background(), f.store, id, domain.Date{})
	if err != nil {
		t.Fatal(err)
	}
	if !trail.ChainOK || len(trail.Events) < 10 {
		t.Fatalf("chain ok %v (%s), %d events", trail.ChainOK, trail.Problem, len(trail.Events))
	}
	for i, e := range trail.Events {
		if e.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d", i, e.Revision)
		}
	}
	early, _ := Audit(context.Background(), f.store, id, domain.MustDate("2020-06-30"))
	if len(early.Events) == 0 || len(early.Events) >= len(trail.Events) || !early.ChainOK {
		t.Fatalf("as of 2020-06-30: %d of %d events", len(early.Events), len(trail.Events))
	}
	// A changed event, a changed link and a missing event are each named.
	stored, _ := f.store.ReadStream(context.Background(), cpts.Stream(id), 0, 1000)
	for name, tamper := range map[string]func([]eventstore.Envelope) []eventstore.Envelope{
		"actor_changed": func(e []eventstore.Envelope) []eventstore.Envelope { e[3].Actor = "mallory"; return e },
		"link_changed":  func(e []eventstore.Envelope) []eventstore.Envelope { e[3].PrevHash[0] ^= 1; return e },
		"event_removed": func(e []eventstore.Envelope) []eventstore.Envelope { return append(e[:3], e[4:]...) },
	} {
		got := CheckChain(tamper(slices.Clone(stored)))
		if got.ChainOK || got.FirstBad == nil || got.FirstBad.Revision < 3 || got.FirstBad.Revision > 4 {
			t.Errorf("%s: ok %v, first bad %+v", name, got.ChainOK, got.FirstBad)
		}
	}
	if _, err := Audit(context.Background(), f.store, uuid.New(), domain.Date{}); !errors.As(err, new(ErrUnknownContract)) {
		t.Fatalf("unknown contract: %v", err)
	}
}

func TestScheduleListsWhatFallsDue(t *testing.T) {
	f := goldenFixture(t)
	items, err := f.db.Schedule(context.Background(), domain.MustDate("2026-11-22"), 365)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, it := range items {
		kinds[it.Kind]++
		if it.DueOn.After(domain.MustDate("2027-11-22")) {
			t.Fatalf("item beyond the horizon: %+v", it)
		}
	}
	if kinds[cpts.KindAnnualAdvance] == 0 || kinds["report_awaited"] == 0 {
		t.Fatalf("schedule kinds %v", kinds)
	}
}

func TestTotalsSumPayments(t *testing.T) {
	f := goldenFixture(t)
	totals, err := f.db.Totals(context.Background(), "tier")
	if err != nil {
		t.Fatal(err)
	}
	var sum domain.Money
	for _, tt := range totals {
		sum = sum.Add(tt.Decided)
	}
	var want domain.Money
	f.db.EachPayment(context.Background(), func(p Payment) error { want = want.Add(p.Amount); return nil })
	if !sum.Equal(want) || want.IsZero() {
		t.Fatalf("totals by tier sum to %s, payments to %s", sum, want)
	}
	if _, err := f.db.Totals(context.Background(), "planet"); err == nil {
		t.Fatal("totals by an unknown dimension accepted")
	}
}

// Two runners on the same read models at once (the CLI while a server
// runs) apply each event once.
func TestTwoRunnersApplyOnce(t *testing.T) {
	f := newFixture(t)
	lines, _ := gen.National(gen.Options{Seed: 9, Contracts: 40, Today: domain.MustDate("2025-01-01"), DecideMonthly: true})
	f.submit(t, lines, 0, nil)
	other, err := Open(context.Background(), f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	errs := make(chan error, 2)
	for _, db := range []*DB{f.db, other} {
		go func() {
			_, err := NewRunner(f.store, db, Options{Batch: 50}).CatchUp(context.Background())
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	concurrent := dump(t, f.db)
	if _, err := NewRunner(f.store, f.db, Options{}).Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	compareDumps(t, concurrent, dump(t, f.db), "two concurrent runners vs rebuild")
}

// The aid scheme's payments, balances and audit trails go through the same
// read models as the CPTS ones.
func TestAidContractsInTheReadModels(t *testing.T) {
	f := newFixture(t)
	raw, err := os.ReadFile("../domain/assistant/testdata/aid-lifecycles.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	f.submit(t, bytes.Split(bytes.TrimSpace(raw), []byte("\n")), 0, nil)
	if _, err := NewRunner(f.store, f.db, Options{}).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse("53b3649c-ca70-5822-85ae-28b31422be2f") // am-2019, 1/2, p90_p95
	ps, err := f.db.Payments(context.Background(), id, AsOf{})
	if err != nil || len(ps) != 9 {
		t.Fatalf("%d payments (%v), want 9", len(ps), err)
	}
	if ps[0].Kind != "hiring_advance" || ps[0].Amount.String() != "12600.00" || ps[0].Table != "2019" || ps[0].Scheme != "assistant" || ps[0].Rulebook != "am-2019" {
		t.Fatalf("first payment %+v", ps[0])
	}
	// 12 600 + 5 400 + 13 500 + 6 250 − 3 099.17 + 6 250 + 2 014.46 + 6 250 + 671.49
	b, err := f.db.Balance(context.Background(), id, AsOf{})
	if err != nil || b.Scheme != "assistant" || b.Rulebook != "am-2019" || b.DecidedTotal.String() != "49836.78" {
		t.Fatalf("balance %+v %v", b, err)
	}
	trail, err := Audit(context.Background(), f.store, id, domain.Date{})
	if err != nil || !trail.ChainOK || trail.Events[0].Type != "AidContractSigned" {
		t.Fatalf("audit: %v %+v", err, trail)
	}
	totals, _ := f.db.Totals(context.Background(), "scheme")
	if len(totals) == 0 || totals[0].Key != "assistant" {
		t.Fatalf("totals by scheme %+v", totals)
	}
	sums, _ := f.db.Summaries(context.Background())
	if len(sums) != 14 {
		t.Fatalf("%d contracts summarised, want 14", len(sums))
	}
}

// When another process empties the read models while a runner reads ahead,
// the runner starts again from the checkpoints instead of leaving a hole.
func TestCheckpointGoingBackUnderARunner(t *testing.T) {
	f := newFixture(t)
	lines, _ := gen.National(gen.Options{Seed: 11, Contracts: 30, Today: domain.MustDate("2024-12-31"), DecideMonthly: true})
	f.submit(t, lines, 0, nil)
	other, err := Open(context.Background(), f.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	emptied := false
	runner := NewRunner(f.store, f.db, Options{Batch: 64, OnProgress: func(p Progress) {
		if emptied || p.Applied < 128 {
			return
		}
		emptied = true
		for _, table := range append(readModelTables, "checkpoints") {
			if _, err := other.w.Exec(`DELETE FROM ` + table); err != nil {
				t.Error(err)
			}
		}
	}})
	if _, err := runner.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !emptied {
		t.Fatal("the read models were never emptied: the test proved nothing")
	}
	resumed := dump(t, f.db)
	if _, err := NewRunner(f.store, f.db, Options{}).Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	compareDumps(t, resumed, dump(t, f.db), "runner after its checkpoints went back vs rebuild")
}
