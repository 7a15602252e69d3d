package console

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

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

// A small ledger's bars are drawn at their own scale: a national figure
// more than four times the tallest bar sits at the top edge, marked; one
// within reach sets the scale as before.
func TestSmallLedgersAtTheirOwnScale(t *testing.T) {
	ss := []series{{Class: "s-cpts", Label: "CPTS"}}
	slot := func(v, mark int64) group {
		return group{Label: "2023", Values: []decimal.Decimal{decimal.NewFromInt(v)}, Titles: []string{"v"},
			Marks: []groupMark{{At: 0.3, Value: decimal.NewFromInt(mark), Title: "national"}}}
	}
	c := draw(wideFrame, ss, []group{slot(200_000, 121_000_000)}, func(d decimal.Decimal) string { return d.String() }, "")
	if !c.OffScale || len(c.Marks) != 1 || !c.Marks[0].Over || c.Marks[0].Y != wideFrame.Top || c.Bars[0].H < wideFrame.PlotH/2 {
		t.Fatalf("a small ledger: off-scale %v, marks %+v, bar %.0f of %.0f", c.OffScale, c.Marks, c.Bars[0].H, wideFrame.PlotH)
	}
	c = draw(wideFrame, ss, []group{slot(100_000_000, 121_000_000)}, func(d decimal.Decimal) string { return d.String() }, "")
	if c.OffScale || c.Marks[0].Over {
		t.Fatalf("a national ledger: off-scale %v, marks %+v", c.OffScale, c.Marks)
	}
}
