package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/query"
)

// answers is what a ledger answers to every query on a set of contracts,
// as text to compare: the window's own echo left out.
func answers(t *testing.T, l *testLedger, ids []uuid.UUID, w query.Window) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	text := func(v any, err error) string {
		if query.IsUnknown(err) {
			return "no such contract"
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	for _, id := range ids {
		b, err := l.reads.Balance(ctx, id, w)
		b.AsOf, b.KnownAt = nil, nil
		out["balance "+id.String()] = text(b, err)
		ps, err := l.reads.Payments(ctx, id, w)
		for i := range ps {
			// Where and when each ledger stored it: its own, not an answer.
			ps[i].Position, ps[i].RecordedAt = 0, ""
		}
		out["payments "+id.String()] = text(ps, err)
	}
	for _, by := range []string{"year", "cpam", "ars", "tier"} {
		out["totals by "+by] = text(l.reads.Totals(ctx, by, w))
	}
	var csv strings.Builder
	err := l.reads.Export(ctx, query.ExportFilter{PerPayment: true}, w, domain.Money.String, func(row []string) error {
		csv.WriteString(strings.Join(row, ";") + "\n")
		return nil
	})
	out["export"] = text(csv.String(), err)
	return out
}

func compare(t *testing.T, what string, got, want map[string]string) int {
	t.Helper()
	same := 0
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s, %s:\n got  %s\n want %s", what, k, got[k], w)
			continue
		}
		same++
	}
	return same
}

// What the ledger said then (issue 26): a generated national history
// recorded in phases; for each phase's time T, every query known at T
// equals the same query on a fresh ledger holding only the commands
// recorded by T; and as of a date D, on a fresh ledger holding the commands
// dated on or before D (each command's business date: the generator emits
// them in that order).
func TestWhatTheLedgerSaidThen(t *testing.T) {
	seeds, contracts := []uint64{1, 2, 3}, 12
	if testing.Short() {
		seeds, contracts = []uint64{1}, 5
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			lines, cs := gen.National(gen.Options{Seed: seed, Contracts: contracts, Today: domain.MustDate("2025-06-30"), DecideMonthly: true})
			ids := []uuid.UUID{uuid.New()} // one that never exists
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
			submit := func(l *testLedger, ls [][]byte) {
				for _, line := range ls {
					if res, err := l.embedded.Submit(context.Background(), line); err != nil || !res.OK {
						t.Fatalf("%s: %+v %v", line, res.Error, err)
					}
				}
			}
			const phases = 4
			whole := newLedger(t)
			var times []time.Time
			var ends []int
			for p := 1; p <= phases; p++ {
				from, to := len(lines)*(p-1)/phases, len(lines)*p/phases
				submit(whole, lines[from:to])
				times, ends = append(times, lastRecorded(t, whole.store)), append(ends, to)
			}
			compared := 0
			for p := range phases {
				fresh := newLedger(t)
				submit(fresh, lines[:ends[p]])
				compared += compare(t, fmt.Sprintf("known at the end of phase %d", p+1), answers(t, whole, ids, query.Window{KnownAt: times[p]}), answers(t, fresh, ids, query.Window{}))
			}
			for _, d := range []string{"2020-06-30", "2022-01-01", "2023-12-31"} {
				asOf := domain.MustDate(d)
				n := 0
				for n < len(lines) && !lineDate(t, lines[n]).After(asOf) {
					n++
				}
				fresh := newLedger(t)
				submit(fresh, lines[:n])
				compared += compare(t, "as of "+d, answers(t, whole, ids, query.Window{AsOf: asOf}), answers(t, fresh, ids, query.Window{AsOf: asOf}))
			}
			t.Logf("seed %d: %d contracts, %d commands, %d answers identical", seed, len(cs), len(lines), compared)
		})
	}
}

// lineDate returns a generated command's business date.
func lineDate(t *testing.T, line []byte) domain.Date {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"signed_on", "started_on", "deployed_on", "reported_on", "as_of", "terminated_on", "hired_on", "corrected_on",
		"published_on", "recognised_on", "validated_on"} {
		if s, ok := m[k].(string); ok {
			return domain.MustDate(s)
		}
	}
	t.Fatalf("no business date in %s", line)
	return domain.Date{}
}
