package embedded_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cptsledger/ledger/eventstore"
)

// positions walks the log with walk and returns the positions fn was given.
func positions(t *testing.T, s eventstore.Store, walk func(context.Context, eventstore.Store, func([]eventstore.Envelope) error) error) []eventstore.Position {
	t.Helper()
	var out []eventstore.Position
	if err := walk(context.Background(), s, func(page []eventstore.Envelope) error {
		for _, e := range page {
			out = append(out, e.Position)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// EachPageAhead, two pages at once on this store of dense positions, gives
// fn what EachPage gives: the whole log in order, at a page's edge and
// between; with a row removed from the file (a gap where a page must
// begin, then one inside a page) it reads on one page at a time and still
// gives what EachPage gives.
func TestEachPageAheadIsEachPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	defer s.Close()
	for i := 0; i < 5*eventstore.VerifyPage+17; i += 100 {
		events := make([]eventstore.EventData, min(100, 5*eventstore.VerifyPage+17-i))
		for j := range events {
			events[j] = benchEvent()
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("s-%d", i%700), eventstore.Any(), events); err != nil {
			t.Fatal(err)
		}
	}
	want := positions(t, s, eventstore.EachPage)
	if got := positions(t, s, eventstore.EachPageAhead); len(want) != 5*eventstore.VerifyPage+17 || !slices.Equal(got, want) {
		t.Fatalf("ahead %d positions, EachPage %d", len(got), len(want))
	}
	rw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	for _, pos := range []int{2*eventstore.VerifyPage + 1, 3*eventstore.VerifyPage + 500} {
		if _, err := rw.Exec(`DELETE FROM events WHERE position = ?`, pos); err != nil {
			t.Fatal(err)
		}
		want := positions(t, s, eventstore.EachPage)
		if got := positions(t, s, eventstore.EachPageAhead); !slices.Equal(got, want) || slices.Contains(got, eventstore.Position(pos)) {
			t.Fatalf("with position %d removed: ahead gave %d positions, EachPage %d", pos, len(got), len(want))
		}
	}
}
