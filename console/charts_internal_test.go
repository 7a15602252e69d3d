package console

import (
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// Every deadline is drawn inside its chart, also one years after the
// signature (a 2019 contract's crisis mission, deadlines from 2022-04-01).
func TestEveryDeadlineInsideItsChart(t *testing.T) {
	ds := []query.Deadline{
		{Mission: "access", Kind: "start", Months: 6, Deadline: domain.MustDate("2020-05-15")},
		{Mission: "crisis", Kind: "start", Months: 6, Deadline: domain.MustDate("2022-10-01")},
		{Mission: "crisis", Kind: "deploy", Months: 18, Deadline: domain.MustDate("2023-10-01")},
		{Mission: "pathways", Kind: "start", Months: 6, Deadline: domain.MustDate("2020-05-15"), DoneOn: domain.MustDate("2021-01-10")},
	}
	for _, narrow := range []bool{false, true} {
		c := drawDeadlines(ds, domain.MustDate("2019-11-15"), "fr", narrow)
		for _, r := range c.Rows {
			if r.DeadlineX < 0 || r.DeadlineX > c.W || r.Done && (r.DoneX < 0 || r.DoneX > c.W) {
				t.Errorf("narrow %v: %s drawn at %.0f (met at %.0f) in a chart %.0f wide", narrow, r.Label, r.DeadlineX, r.DoneX, c.W)
			}
		}
		for _, tk := range c.Ticks {
			if tk.X < 0 || tk.X > c.W {
				t.Errorf("narrow %v: tick %s at %.0f in a chart %.0f wide", narrow, tk.Label, tk.X, c.W)
			}
		}
	}
}

// A timeline entry begins with a capital, even when it begins with a
// label (a payment's kind).
func TestTimelineEntriesBeginWithACapital(t *testing.T) {
	got := string(eventText("fr", "PaymentDecided", []byte(`{"kind":"signature","contract_year":1,"amount":"60000.00","status":"decided","decided_on":"2020-10-01"}`)))
	if !strings.HasPrefix(got, "Versement à la signature de l&#39;année 1 : ") {
		t.Fatalf("a payment's entry: %q", got)
	}
	if got := string(capitalized("<span class=\"x\">été</span>")); got != "<span class=\"x\">Été</span>" {
		t.Fatalf("after a tag: %q", got)
	}
}
