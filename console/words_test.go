package console

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
)

// Every formula the domain computes has words in both languages, naming
// the same operands as the domain's English.
func TestEveryFormulaHasWords(t *testing.T) {
	for _, code := range domain.FormulaCodes() {
		tpl, ok := formulas[code]
		if !ok {
			t.Errorf("formula %s: no words in the console", code)
			continue
		}
		want := slices.Sorted(slices.Values(domain.FormulaArgs(code)))
		for i, s := range tpl {
			var got []string
			for _, ph := range domain.Placeholders(s) {
				name, _, _ := strings.Cut(ph, ":")
				if name != "" && !slices.Contains(got, name) {
					got = append(got, name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("formula %s, language %d: operands %v, the domain's %v", code, i, got, want)
			}
		}
	}
}

func TestFormulaInFrench(t *testing.T) {
	l := domain.NewLine("access", "fixed", domain.MustMoney("32876.71"), domain.FormulaFixedAdvanceProrata,
		"rate", "0.75", "fixed", "60000", "days", 342, "year_days", 365)
	if want := "0.75 × 60000 fixed × 342/365 days"; l.Basis != want {
		t.Fatalf("basis %q, want %q", l.Basis, want)
	}
	got := string(formulaText("fr", l.Formula, l.Basis))
	if want := "75\u00a0% × 60\u202f000,00\u00a0€ de part fixe × 342/365 jours"; got != want {
		t.Fatalf("French %q, want %q", got, want)
	}
	v := domain.NewLine("", "variable", domain.MustMoney("1"), domain.FormulaVariableProrata,
		"variable", "20000", "achievement", "0.812345", "days", 365, "year_days", 365)
	if got := string(formulaText("fr", v.Formula, v.Basis)); !strings.Contains(got, "81,2345\u00a0%") {
		t.Fatalf("achievement in French: %q", got)
	}
}

func TestWithheldInFrench(t *testing.T) {
	w := &domain.Withholding{Code: domain.WithheldCalendarNotMet, On: domain.MustDate("2021-02-08"),
		Late: []domain.LateDeadline{{Mission: "access", Kind: "start", Months: 6, Deadline: domain.MustDate("2020-08-08")}}}
	got := string(withheldText("fr", w, w.English()))
	want := "calendrier non respecté au 08/02/2021 — accès aux soins : délai de démarrage de 6 mois échu le 08/08/2020"
	if got != want {
		t.Fatalf("%q\nwant %q", got, want)
	}
}

func TestEventWords(t *testing.T) {
	data, _ := json.Marshal(map[string]any{"kind": "annual_advance", "contract_year": 2, "mission": "", "amount": "45000.00",
		"status": "withheld", "decided_on": "2021-02-08"})
	got := string(eventText("fr", "PaymentDecided", data))
	if want := "Avance annuelle de l&#39;année 2 : 45\u202f000,00\u00a0€, suspendu le 08/02/2021"; got != want {
		t.Fatalf("%q\nwant %q", got, want)
	}
	if got := eventText("fr", "Unknown", data); got != "Unknown" {
		t.Fatalf("an event without words: %q", got)
	}
}
