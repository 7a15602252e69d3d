package query_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/query"
)

// signNamed signs a CPTS contract under the embedded rulebooks with a name.
func signNamed(t *testing.T, l *testLedger, name string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	line := fmt.Sprintf(`{"type":"SignContract","command_id":"sign-%s","contract_id":%q,"cpts":{"id":%q,"name":%q},"ars":"ARS Normandie","cpam":"CPAM de l'Eure","population":50000,"signed_on":"2022-09-01","missions":["access","pathways","prevention","crisis"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"},{"mission":"crisis","code":"c","weight":"1","target":"1"}]}`,
		id, id, "cpts-"+id.String()[:8], name)
	if r, err := l.embedded.Submit(context.Background(), []byte(line)); err != nil || !r.OK {
		t.Fatalf("%s: %+v %v", name, r, err)
	}
	return id
}

// The search folds case and accents the French way, and the hyphens and
// apostrophes of place names: "etang", "ÉTANG", "Étang" find "CPTS Étang";
// "ile de france" finds "Île-de-France"; "BÉRRE" finds "Étang de Berre".
func TestSearchFoldsTheFrenchWay(t *testing.T) {
	l := newLedger(t)
	etang := signNamed(t, l, "CPTS Étang")
	berre := signNamed(t, l, "CPTS de l’Étang de Berre")
	idf := signNamed(t, l, "CPTS Île-de-France Ouest")
	evreux := signNamed(t, l, "CPTS d'Évreux")
	coeur := signNamed(t, l, "CPTS Cœur de Loire")
	for q, want := range map[string][]uuid.UUID{
		"etang":         {etang, berre},
		"ÉTANG":         {etang, berre},
		"Étang":         {etang, berre},
		"BÉRRE":         {berre},
		"l'etang":       {berre},
		"ile de france": {idf},
		"ÎLE-DE-FRANCE": {idf},
		"evreux":        {evreux},
		"d’évreux":      {evreux},
		"coeur":         {coeur},
		"lyon":          nil,
	} {
		page, err := l.reads.SearchContracts(context.Background(), query.ContractSearch{Q: q, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var got []uuid.UUID
		for _, c := range page.Contracts {
			got = append(got, c.ContractID)
		}
		slices.SortFunc(got, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		slices.SortFunc(want, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		if !slices.Equal(got, want) {
			t.Errorf("--q %q found %v, want %v", q, got, want)
		}
	}
	// The start of an id still finds its contract.
	if page, _ := l.reads.SearchContracts(context.Background(), query.ContractSearch{Q: evreux.String()[:13], Limit: 50}); len(page.Contracts) != 1 {
		t.Errorf("an id's start: %d found", len(page.Contracts))
	}
}

// A page says how many contracts the search keeps, where it stands among
// them, and how to go back: seven contracts, three a page.
func TestSearchPagesCountAndGoBack(t *testing.T) {
	l := newLedger(t)
	for _, n := range []string{"A", "B", "C", "D", "E", "F", "G"} {
		signNamed(t, l, "CPTS "+n)
	}
	ctx := context.Background()
	search := query.ContractSearch{Limit: 3}
	p1, err := l.reads.SearchContracts(ctx, search)
	if err != nil || p1.Total != 7 || p1.From != 1 || p1.HasPrevious || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	search.Cursor = p1.NextCursor
	p2, _ := l.reads.SearchContracts(ctx, search)
	if p2.Total != 7 || p2.From != 4 || !p2.HasPrevious || p2.PrevCursor != "" || p2.Contracts[0].Name != "CPTS D" {
		t.Fatalf("page 2: %+v", p2)
	}
	search.Cursor = p2.NextCursor
	p3, _ := l.reads.SearchContracts(ctx, search)
	if p3.From != 7 || len(p3.Contracts) != 1 || !p3.HasPrevious || p3.PrevCursor == "" || p3.NextCursor != "" {
		t.Fatalf("page 3: %+v", p3)
	}
	search.Cursor = p3.PrevCursor
	back, _ := l.reads.SearchContracts(ctx, search)
	if back.From != 4 || back.Contracts[0].Name != "CPTS D" {
		t.Fatalf("back from page 3: %+v", back)
	}
	none, _ := l.reads.SearchContracts(ctx, query.ContractSearch{Q: "zzz", Limit: 3})
	if none.Total != 0 || none.From != 0 || none.HasPrevious {
		t.Fatalf("nothing found: %+v", none)
	}
}
