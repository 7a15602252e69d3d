package cpts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
)

func agreementAmendment(id, amends, effective, published, rows string) string {
	return fmt.Sprintf(`{"type":"PublishRulebookAmendment","command_id":%q,"amendment_id":%q,"amends":%q,"effective_on":%q,"published_on":%q,"amounts":[%s],"source":"test","reason":"agreement amounts"}`,
		"cmd-"+id, id, amends, effective, published, rows)
}

// An amendment sets T1's operating amount to 55 000 from 2021-01-01: a T1
// contract signed 2019-11-15 gets year 2's advance (2020-11-15) on 50 000
// — 0.75 × 50 000 = 37 500 — and year 3's (2021-11-15) on 55 000 —
// 0.75 × 55 000 = 41 250, its line citing the amendment.
func TestAnAmendmentSetsTheOperatingAmount(t *testing.T) {
	r := &reference{t: t}
	l := newLifecycle(t)
	l.sign(30_000, "2019-11-15", false)
	for _, m := range []string{"access", "pathways", "prevention"} {
		l.start(m, "2019-11-15")
		l.deploy(m, "2020-06-01")
	}
	r.must(agreementAmendment("op-2021", "aci-cpts-2019", "2021-01-01", "2020-12-01", `{"tier":"T1","component":"operating","amount":"55000"}`))
	l.decideWith("2021-12-31", r)
	operating := func(k int) domain.Line {
		for _, line := range l.payment(cpts.KindAnnualAdvance, k, "").Lines {
			if line.Component == "operating" {
				return line
			}
		}
		t.Fatalf("year %d's advance has no operating line", k)
		return domain.Line{}
	}
	if y2 := operating(2); y2.Amount.String() != "37500.00" || y2.Amendment != nil {
		t.Fatalf("year 2's operating advance %s (amendment %v), want 37500.00 under the rulebook", y2.Amount, y2.Amendment)
	}
	if y3 := operating(3); y3.Amount.String() != "41250.00" || y3.Amendment == nil || y3.Amendment.ID != "op-2021" {
		t.Fatalf("year 3's operating advance %s (amendment %v), want 41250.00 citing op-2021", y3.Amount, y3.Amendment)
	}
}

// Rows without a mission name an amount of the agreement the rulebook
// holds; every fault is named, with the amounts it holds.
func TestAgreementRowsAreChecked(t *testing.T) {
	r := &reference{t: t}
	for _, tc := range []struct {
		amends, row, code, field, says string
	}{
		{"aci-cpts-2019", `{"tier":"T1","component":"letter_of_intent","amount":"15000"}`, cpts.CodeUnknownComponent, "amounts[0].component", "holds no letter_of_intent amount for T1 (operating, seed_topup)"},
		{"aci-2022", `{"tier":"T1","component":"seed_topup","amount":"1000"}`, cpts.CodeUnknownComponent, "amounts[0].component", "holds no seed_topup amount for T1 (operating, letter_of_intent)"},
		{"aci-2022", `{"tier":"T1","component":"seed","amount":"1000"}`, domain.CodeMissingField, "amounts[0].mission", ""},
		{"aci-2022", `{"tier":"T1","component":"operating","amount":"-1"}`, cpts.CodeAmountOutOfRange, "amounts[0].amount", ""},
	} {
		_, err := r.submit(agreementAmendment("bad", tc.amends, "2023-01-01", "2022-10-01", tc.row))
		var re *domain.RejectedError
		if !errors.As(err, &re) {
			t.Fatalf("%s: %v, want a rejection", tc.row, err)
		}
		found := false
		for _, v := range re.Violations {
			if v.Code == tc.code && v.Field == tc.field && strings.Contains(v.Rule, tc.says) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s under %s: %v, want %s on %s saying %q", tc.row, tc.amends, err, tc.code, tc.field, tc.says)
		}
	}
	// The letter-of-intent aid of aci-2022 (15 000 for T1) may be amended.
	r.must(agreementAmendment("loi-2024", "aci-2022", "2024-01-01", "2023-12-01", `{"tier":"T1","component":"letter_of_intent","amount":"16000"}`))
	rb, _ := cpts.DefaultRules().ByID("aci-2022")
	v, by, ok := r.ref.AgreementInForce(cpts.DefaultRules(), rb, "T1", cpts.ComponentLetterOfIntent, domain.MustDate("2024-06-01"))
	if !ok || v.String() != "16000" || by == nil || by.AmendmentID != "loi-2024" {
		t.Fatalf("letter-of-intent aid in force: %s by %v (%v)", v, by, ok)
	}
	if v, _, _ := r.ref.AgreementInForce(cpts.DefaultRules(), rb, "T1", cpts.ComponentLetterOfIntent, domain.MustDate("2023-06-01")); v.String() != "15000" {
		t.Fatalf("before the amendment: %s, want the rulebook's 15000", v)
	}
}
