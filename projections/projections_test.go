package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/internal/gen"
)

type testLedger struct {
	dir   string
	store *embedded.Store
	set   *Set
	cmds  *app.Ledger // the embedded rulebooks: the generated histories
	// examples is under the rules the worked examples were computed for.
	examples *app.Ledger
}

func newLedger(t *testing.T) *testLedger {
	t.Helper()
	dir := t.TempDir()
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(dir, nil)
	t.Cleanup(func() { set.Close(); store.Close() })
	return &testLedger{dir: dir, store: store, set: set, cmds: app.New(store, app.Options{ReplayHistory: true, Actor: "test"}),
		examples: app.New(store, app.Options{ReplayHistory: true, Schemes: fixture.Schemes(), Actor: "test"})}
}

// submit submits lines, and catches the runner up every `every` lines.
func (l *testLedger) submit(t *testing.T, lines [][]byte, every int, runner *Runner) {
	t.Helper()
	l.submitTo(t, l.cmds, lines, every, runner)
}

// submitTo is submit through another command path.
func (l *testLedger) submitTo(t *testing.T, cmds *app.Ledger, lines [][]byte, every int, runner *Runner) {
	t.Helper()
	for i, line := range lines {
		res, err := cmds.Submit(context.Background(), line)
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

// plainFile opens a read-model file outside the Set, for the incremental
// runner.
func (l *testLedger) plainFile(t *testing.T, name string) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(l.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// current acquires the Set's current file for the rest of the test.
func (l *testLedger) current(t *testing.T) *DB {
	t.Helper()
	db, release, err := l.set.Acquire(context.Background(), l.store, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return db
}

// digestsOf is what the check compares of the file at path.
func digestsOf(t *testing.T, path string) map[string]tableDigest {
	t.Helper()
	d, _, err := digestTables(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// readModelTables are the tables the projections own (not the file's
// metadata).
func readModelTables() []string { return tables()[2:] }

// dump returns every row of every read model, and the checkpoints, sorted,
// one string a row.
func dump(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range append(readModelTables(), "checkpoints") {
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
	for _, table := range append(readModelTables(), "checkpoints") {
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

// indexList names the file's secondary indexes, by name descending.
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

func wantIndexes() []string {
	var out []string
	for _, p := range All() {
		for _, ix := range p.Indexes() {
			out = append(out, ix.Name)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// Rebuilding from zero gives, row by row, what incremental application
// gave, on a generated national history of 220 contracts — whether the
// rebuild's folds are flushed once or every 97 events, in the middle of
// contracts' histories.
func TestRebuildEqualsIncremental(t *testing.T) {
	l := newLedger(t)
	lines, contracts := gen.National(gen.Options{Seed: 42, Contracts: 220, Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
	if len(contracts) < 200 {
		t.Fatalf("only %d contracts generated", len(contracts))
	}
	inc := l.plainFile(t, "incremental.db")
	runner := NewRunner(l.store, inc, Options{Batch: 37})
	l.submit(t, lines, 997, runner) // catch up every 997 commands, in batches of 37 events
	if _, err := runner.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	incremental := dump(t, inc)
	if len(incremental["contracts"]) != len(contracts) || len(incremental["payments"]) == 0 {
		t.Fatalf("%d contracts, %d payments", len(incremental["contracts"]), len(incremental["payments"]))
	}
	head, _ := l.store.Head(context.Background())
	for _, every := range []int{0, 97} {
		prog, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{FlushEvery: every})
		if err != nil {
			t.Fatal(err)
		}
		if prog.Applied != uint64(head) || prog.Position != head {
			t.Fatalf("rebuild applied %d events up to %d, want %d", prog.Applied, prog.Position, head)
		}
		db := l.current(t)
		compareDumps(t, incremental, dump(t, db), fmt.Sprintf("rebuild flushing every %d vs incremental", every))
		// The check's digests see the same: every value stored with the
		// same SQLite type by the runner and by the rebuild.
		if a, b := digestsOf(t, inc.Path()), digestsOf(t, db.Path()); !maps.Equal(a, b) {
			t.Fatalf("rebuild flushing every %d: table digests differ from the incremental file's", every)
		}
		if got := indexList(t, db); !slices.Equal(got, wantIndexes()) {
			t.Fatalf("indexes after a rebuild: %v, want %v", got, wantIndexes())
		}
	}
}

// The same holds for corrections, regularisations, terminations and the
// aid scheme: the worked examples, with a catch-up every 13 commands.
func TestRebuildEqualsIncrementalWithCorrections(t *testing.T) {
	l := newLedger(t)
	inc := l.plainFile(t, "incremental.db")
	runner := NewRunner(l.store, inc, Options{Batch: 5})
	catchUp := func() {
		if _, err := runner.CatchUp(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []struct{ scheme, path string }{
		{"cpts", "../domain/cpts/testdata/aci-lifecycles.jsonl"},
		{"cpts", "../domain/cpts/testdata/aci-corrections.jsonl"},
		{"assistant", "../domain/assistant/testdata/aid-lifecycles.jsonl"},
	} {
		lines := fixture.Resolve(t, f.scheme, fixture.Lines(t, f.path))
		for len(lines) > 0 {
			n := min(13, len(lines))
			l.submitTo(t, l.examples, lines[:n], 0, nil)
			lines = lines[n:]
			catchUp()
		}
	}
	incremental := dump(t, inc)
	var regularisations, corrected int
	for _, row := range incremental["payments"] {
		if strings.Contains(row, domain.KindRegularisation) {
			regularisations++
		}
	}
	inc.r.QueryRow(`SELECT count(*) FROM payments WHERE corrects IS NOT NULL AND corrects != ''`).Scan(&corrected)
	if regularisations == 0 || corrected == 0 {
		t.Fatalf("%d regularisations, %d naming what they correct: the corrections were not projected", regularisations, corrected)
	}
	for _, every := range []int{0, 11} {
		if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{FlushEvery: every}); err != nil {
			t.Fatal(err)
		}
		compareDumps(t, incremental, dump(t, l.current(t)), fmt.Sprintf("rebuild flushing every %d vs incremental", every))
		if !maps.Equal(digestsOf(t, inc.Path()), digestsOf(t, l.current(t).Path())) {
			t.Fatalf("rebuild flushing every %d: table digests differ from the incremental file's", every)
		}
	}
}

// A rebuild stopped half-way leaves the current file in service and no
// file of its own behind.
func TestCancelledRebuildKeepsTheCurrentFile(t *testing.T) {
	l := newLedger(t)
	lines, _ := gen.National(gen.Options{Seed: 5, Contracts: 60, Today: domain.MustDate("2025-06-30"), DecideMonthly: true})
	l.submit(t, lines, 0, nil)
	before := dump(t, l.current(t))
	target, _ := os.Readlink(l.set.Link())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := l.set.Rebuild(ctx, l.store, BuildOptions{FlushEvery: 100, OnProgress: func(p Progress) {
		if p.Applied >= 300 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled rebuild: %v", err)
	}
	if now, _ := os.Readlink(l.set.Link()); now != target {
		t.Fatalf("the link moved from %s to %s on a cancelled rebuild", target, now)
	}
	if gens := l.set.generations(); len(gens) != 1 {
		t.Fatalf("generations after a cancelled rebuild: %v", gens)
	}
	compareDumps(t, before, dump(t, l.current(t)), "after a cancelled rebuild")
}

var errCrash = errors.New("simulated crash before the checkpoint commits")

// A crash between applying a batch and committing its checkpoint leaves
// neither: the batch is applied once when the runner resumes.
func TestCrashBeforeCheckpointAppliesOnce(t *testing.T) {
	l := newLedger(t)
	lines, _ := gen.National(gen.Options{Seed: 3, Contracts: 30, Today: domain.MustDate("2024-01-01"), DecideMonthly: true})
	l.submit(t, lines, 0, nil)
	db := l.plainFile(t, "incremental.db")
	batches := 0
	crashing := NewRunner(l.store, db, Options{Batch: 100, BeforeCommit: func([]Event) error {
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
	if _, err := NewRunner(l.store, db, Options{Batch: 100}).CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	resumed := dump(t, db)
	var payments, stored int
	db.r.QueryRow(`SELECT COUNT(*) FROM payments`).Scan(&payments)
	eventstore.EachPage(context.Background(), l.store, func(page []eventstore.Envelope) error {
		for _, e := range page {
			if e.Type == cpts.TypePaymentDecided {
				stored++
			}
		}
		return nil
	})
	if payments != stored || stored == 0 {
		t.Fatalf("%d payments in the read model for %d decisions in the store: not applied exactly once", payments, stored)
	}
	compareDumps(t, resumed, dump(t, l.current(t)), "resumed after crash vs rebuild")
}

// Two runners on the same file at once (the CLI while a server runs) apply
// each event once.
func TestTwoRunnersApplyOnce(t *testing.T) {
	l := newLedger(t)
	lines, _ := gen.National(gen.Options{Seed: 9, Contracts: 40, Today: domain.MustDate("2025-01-01"), DecideMonthly: true})
	l.submit(t, lines, 0, nil)
	one := l.plainFile(t, "incremental.db")
	other := l.plainFile(t, "incremental.db")
	errs := make(chan error, 2)
	for _, db := range []*DB{one, other} {
		go func() {
			_, err := NewRunner(l.store, db, Options{Batch: 50}).CatchUp(context.Background())
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	compareDumps(t, dump(t, one), dump(t, l.current(t)), "two concurrent runners vs rebuild")
}

// When another process empties the read models while a runner reads ahead,
// the runner starts again from the checkpoints instead of leaving a hole.
func TestCheckpointGoingBackUnderARunner(t *testing.T) {
	l := newLedger(t)
	lines, _ := gen.National(gen.Options{Seed: 11, Contracts: 30, Today: domain.MustDate("2024-12-31"), DecideMonthly: true})
	l.submit(t, lines, 0, nil)
	db := l.plainFile(t, "incremental.db")
	other := l.plainFile(t, "incremental.db")
	emptied := false
	runner := NewRunner(l.store, db, Options{Batch: 64, OnProgress: func(p Progress) {
		if emptied || p.Applied < 128 {
			return
		}
		emptied = true
		for _, table := range append(readModelTables(), "checkpoints") {
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
	compareDumps(t, dump(t, db), dump(t, l.current(t)), "runner after its checkpoints went back vs rebuild")
}

// A rebuild switches the link under a reader: the reader finishes on the
// file it holds, the next one gets the new file, and the generation before
// the previous one is removed.
func TestRebuildSwitchesUnderAReader(t *testing.T) {
	l := newLedger(t)
	lines, _ := gen.National(gen.Options{Seed: 21, Contracts: 20, Today: domain.MustDate("2025-01-01"), DecideMonthly: true})
	l.submit(t, lines[:len(lines)/2], 0, nil)
	first, release, err := l.set.Acquire(context.Background(), l.store, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	before := dump(t, first)
	l.submit(t, lines[len(lines)/2:], 0, nil)
	if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if !l.set.Changed(first) {
		t.Fatal("the set does not see the switch")
	}
	compareDumps(t, before, dump(t, first), "the reader's file after the switch")
	second := l.current(t)
	if second.Path() == first.Path() {
		t.Fatal("a reader after the switch got the old file")
	}
	head, _ := l.store.Head(context.Background())
	if cps, _ := second.Checkpoints(context.Background()); cps["payments"] != head {
		t.Fatalf("the new file is at %d, the log at %d", cps["payments"], head)
	}
	if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	gens := l.set.generations()
	if len(gens) != 2 || slices.Contains(gens, first.Path()) || !slices.Contains(gens, second.Path()) {
		t.Fatalf("generations after two switches: %v (first %s, second %s)", gens, first.Path(), second.Path())
	}
}

// A file of another format — an older binary's layout, a projection of
// another version, the first release's file — is rebuilt on acquire, and
// the user is told why.
func TestStaleFilesAreRebuilt(t *testing.T) {
	lines := fixture.Lines(t, "../domain/cpts/testdata/aci-lifecycles.jsonl")
	for name, staler := range map[string]func(t *testing.T, l *testLedger){
		"layout": func(t *testing.T, l *testLedger) {
			sqlExec(t, l.current(t).Path(), fmt.Sprintf(`PRAGMA user_version = %d`, FormatVersion-1))
		},
		"projection": func(t *testing.T, l *testLedger) {
			sqlExec(t, l.current(t).Path(), `UPDATE projections SET version = version + 1 WHERE name = 'payments'`)
		},
		"first release": func(t *testing.T, l *testLedger) {
			raw, err := os.ReadFile("../cmd/ledger/testdata/release-7df0286/projections.db")
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(l.set.Link())
			if err := os.WriteFile(l.set.Link(), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			l := newLedger(t)
			fixture.Submit(t, l.examples, "cpts", lines)
			want := dump(t, l.current(t))
			l.set.Close()
			staler(t, l)
			var told []string
			l.set = NewSet(l.dir, func(s string) { told = append(told, s) })
			got := dump(t, l.current(t))
			if len(told) != 1 || !strings.Contains(told[0], "building the read models again") {
				t.Fatalf("told %q", told)
			}
			compareDumps(t, want, got, "rebuilt after "+name)
			if st, err := os.Lstat(l.set.Link()); err != nil || st.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("%s is not a link after the rebuild: %v", l.set.Link(), err)
			}
		})
	}
}

// A damaged file is moved aside and the read models rebuilt.
func TestDamagedFileIsMovedAside(t *testing.T) {
	l := newLedger(t)
	fixture.Submit(t, l.examples, "cpts", fixture.Lines(t, "../domain/cpts/testdata/aci-lifecycles.jsonl"))
	db := l.current(t)
	want, path := dump(t, db), db.Path()
	l.set.Close()
	db.Close()
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	var told []string
	l.set = NewSet(l.dir, func(s string) { told = append(told, s) })
	compareDumps(t, want, dump(t, l.current(t)), "rebuilt after damage")
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 || len(told) != 1 || !strings.Contains(told[0], "moved to "+aside[0]) {
		t.Fatalf("moved aside: %v; told %q", aside, told)
	}
}

func sqlExec(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatal(err)
	}
}

// An event of a schema version the domain does not know stops the read
// models with an error naming it — a contract's signature and a payment
// alike — in a rebuild and in the incremental runner: nothing is projected
// from data read with the wrong shape.
func TestAnUnknownSchemaVersionStopsTheReadModels(t *testing.T) {
	for _, typ := range []string{cpts.TypeContractSigned, domain.TypePaymentDecided} {
		t.Run(typ, func(t *testing.T) {
			l := newLedger(t)
			l.submitTo(t, l.examples, fixture.Lines(t, "../examples/t2-contract.jsonl"), 0, nil)
			stream := domain.Stream(cpts.Scheme, uuid.New())
			_, err := l.store.Append(context.Background(), stream, eventstore.NoStream(), []eventstore.EventData{{
				ID: uuid.New(), Type: typ, SchemaVersion: domain.SchemaVersion + 1, OccurredOn: "2020-01-01",
				Actor: "test", CommandID: "v2", CorrelationID: "v2", CausationID: "v2", Data: []byte(`{"shape":"of tomorrow"}`)}})
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("schema version %d", domain.SchemaVersion+1)
			if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{}); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("rebuild: %v, want an error naming %q", err, want)
			}
			runner := NewRunner(l.store, l.plainFile(t, "incremental.db"), Options{Batch: 5})
			if _, err := runner.CatchUp(context.Background()); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), typ) {
				t.Fatalf("catch-up: %v, want an error naming %s and %q", err, typ, want)
			}
		})
	}
}
