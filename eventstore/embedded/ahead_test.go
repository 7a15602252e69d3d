package embedded_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/eventstore"
)

// positions walks the log with walk and returns the positions fn was given.
func positions(t *testing.T, s eventstore.Store, walk func(context.Context, eventstore.Store, func([]eventstore.Envelope) error) error) []eventstore.Position {
	return walked(t, s, walk, func(e *eventstore.Envelope) eventstore.Position { return e.Position })
}

// linkPositions walks the log with EachLinkAhead.
func linkPositions(t *testing.T, s eventstore.Store) []eventstore.Position {
	return walked(t, s, eventstore.EachLinkAhead, func(l *eventstore.Link) eventstore.Position { return l.Position })
}

func walked[T any](t *testing.T, s eventstore.Store, walk func(context.Context, eventstore.Store, func([]T) error) error, at func(*T) eventstore.Position) []eventstore.Position {
	t.Helper()
	var out []eventstore.Position
	if err := walk(context.Background(), s, func(page []T) error {
		for i := range page {
			out = append(out, at(&page[i]))
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
		if got := linkPositions(t, s); !slices.Equal(got, want) {
			t.Fatalf("with position %d removed: the links ahead gave %d positions, EachPage %d", pos, len(got), len(want))
		}
	}
}

// ReadLinks, which hashes each event where SQLite holds it, gives what
// ReadAll and LinkOf give — every field, the recomputed hash — for events
// with empty and long fields (data past the hash's stack buffer), and for
// a row edited in the file (its recomputed hash then differs from the
// stored one, the same way on both paths).
func TestReadLinksIsReadAllHashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	defer s.Close()
	long := `{"text":"` + strings.Repeat("é", 3000) + `"}`
	for i, data := range []string{`{}`, long, `{"a":1}`} {
		ev := benchEvent()
		ev.Data = []byte(data)
		if i == 0 {
			ev.Actor, ev.CorrelationID, ev.CausationID = "", "", ""
		}
		if _, err := s.Append(context.Background(), fmt.Sprintf("links-%d", i%2), eventstore.Any(), []eventstore.EventData{ev}); err != nil {
			t.Fatal(err)
		}
	}
	same := func(when string) {
		t.Helper()
		all, err := s.ReadAll(context.Background(), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		links, err := s.ReadLinks(context.Background(), 0, 10)
		if err != nil || len(links) != len(all) {
			t.Fatalf("%s: %d links, %d events, %v", when, len(links), len(all), err)
		}
		for i := range all {
			if want := eventstore.LinkOf(&all[i]); links[i] != want {
				t.Fatalf("%s: link %d is %+v, ReadAll's %+v", when, i, links[i], want)
			}
		}
	}
	same("as written")
	rw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.Exec(`UPDATE events SET data = '{"a":2}' WHERE position = 3`); err != nil {
		t.Fatal(err)
	}
	same("edited")
	if links, _ := s.ReadLinks(context.Background(), 2, 1); len(links) != 1 || links[0].Computed == links[0].Hash {
		t.Fatalf("the edited row's link: %+v", links)
	}
}
