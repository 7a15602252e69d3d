package query_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/benchledger"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

func TestMain(m *testing.M) {
	code := m.Run()
	benchledger.Remove()
	os.Exit(code)
}

// benchLedger opens the query layer on the generated national ledger with
// its read models built, as the CLI and the HTTP API use it.
func benchLedger(b *testing.B) (*query.Ledger, []uuid.UUID) {
	path, ids := benchledger.National(b)
	store, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	models := projections.NewSet(b.TempDir(), nil)
	b.Cleanup(func() { models.Close() })
	l := query.New(store, models, app.DefaultSchemes())
	_, release, err := l.Fresh(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	release()
	return l, ids
}

// BenchmarkAudit reads one contract's audit trail: its events from the
// store, the hash chain checked, as of a date (the read models brought up
// to date first, as every query does).
func BenchmarkAudit(b *testing.B) {
	l, ids := benchLedger(b)
	w := query.Window{AsOf: domain.MustDate("2023-06-30")}
	ids = signedBy(b, l, ids, w)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := l.Audit(context.Background(), ids[i%len(ids)], w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBalanceAsOf computes one contract's balance as of a date from
// the read models.
func BenchmarkBalanceAsOf(b *testing.B) {
	l, ids := benchLedger(b)
	w := query.Window{AsOf: domain.MustDate("2023-06-30")}
	ids = signedBy(b, l, ids, w)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := l.Balance(context.Background(), ids[i%len(ids)], w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkContractAt reads one contract's detail as of a date: its
// summary and payments from the read models, its terms, deadlines and
// reports folded from its own events (the console's contract page).
func BenchmarkContractAt(b *testing.B) {
	l, ids := benchLedger(b)
	w := query.Window{AsOf: domain.MustDate("2023-06-30")}
	ids = signedBy(b, l, ids, w)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := l.ContractAt(context.Background(), ids[i%len(ids)], w); err != nil {
			b.Fatal(err)
		}
	}
}

// signedBy keeps the contracts signed as of the window's date: the others
// are no contract then (contract_not_found), which is not what is measured.
func signedBy(b *testing.B, l *query.Ledger, ids []uuid.UUID, w query.Window) []uuid.UUID {
	var out []uuid.UUID
	for _, id := range ids {
		_, err := l.Balance(context.Background(), id, w)
		switch {
		case err == nil:
			out = append(out, id)
		case !query.IsUnknown(err):
			b.Fatal(err)
		}
	}
	if len(out) == 0 {
		b.Fatal("no contract signed by the date")
	}
	return out
}

// BenchmarkSearchContracts reads a page of 50 contracts by name: as they
// are now, and as of a date (the termination each window sees, from the
// terminations read model, one definition with the alerts').
func BenchmarkSearchContracts(b *testing.B) {
	l, _ := benchLedger(b)
	for _, tc := range []struct {
		name string
		w    query.Window
		q    string
		want int
	}{{"now", query.Window{}, "", 50}, {"as_of", query.Window{AsOf: domain.MustDate("2023-06-30")}, "", 50},
		// A name typed as a person types it: matched against the folded
		// column (case, accents, punctuation), every contract considered.
		{"name_now", query.Window{}, "CPTS 01", 50}, {"name_rare", query.Window{}, "Évreux", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				page, err := l.SearchContracts(context.Background(), query.ContractSearch{Window: tc.w, Limit: 50, Q: tc.q})
				if err != nil || len(page.Contracts) != tc.want {
					b.Fatalf("%d contracts %v", len(page.Contracts), err)
				}
			}
		})
	}
}

// BenchmarkSchedule asks the schedule of the next 60 days: today's, as the
// finance team's page asks it all day (the log folded once, then only its
// tail), and as of a past date (the log folded anew each time).
func BenchmarkSchedule(b *testing.B) {
	l, _ := benchLedger(b)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		w    query.Window
	}{{"today", query.Window{}}, {"as_of", query.Window{AsOf: domain.MustDate("2024-06-30")}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Schedule(ctx, c.w, 60, query.ScheduleFilter{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
