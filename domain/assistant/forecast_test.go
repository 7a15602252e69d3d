package assistant_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
)

// The schedule is a dry run: forecasting changes nothing, and what it
// forecasts until a date is, payment for payment and to the cent, what
// DecideDuePayments then decides as of that date, on the worked aid
// lifecycles.
func TestForecastIsWhatIsThenDecided(t *testing.T) {
	until := domain.MustDate("2027-11-22")
	for _, path := range []string{"testdata/aid-lifecycles.jsonl"} {
		contracts := replay(t, path)
		forecast := 0
		for id, c := range contracts {
			dues, err := c.Forecast(until)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := c.Forecast(until)
			if fmt.Sprint(dues) != fmt.Sprint(again) {
				t.Fatalf("%s: a second forecast differs: the first changed the contract", id)
			}
			var want []string
			for _, d := range dues {
				if d.Kind != domain.KindReportAwaited {
					want = append(want, fmt.Sprintf("%s y%d %s %s %s %s", d.Kind, d.ContractYear, d.Mission, d.DueOn, d.Status, d.Amount))
				}
			}
			cmd, err := assistant.DecodeCommand(fmt.Appendf(nil, `{"type":"DecideDuePayments","command_id":"f","contract_id":"%s","as_of":"%s"}`, id, until))
			if err != nil {
				t.Fatal(err)
			}
			events, err := assistant.Decide(c, cmd)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			var got []string
			for _, e := range events {
				if p, ok := e.(assistant.PaymentDecided); ok {
					got = append(got, fmt.Sprintf("%s y%d %s %s %s %s", p.Kind, p.ContractYear, p.Mission, p.DueOn, p.Status, p.Amount))
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("%s: forecast\n %v\ndecided\n %v", id, want, got)
			}
			forecast += len(want)
		}
		if forecast == 0 {
			t.Fatalf("%s: nothing forecast until %s: the test proved nothing", path, until)
		}
	}
}
