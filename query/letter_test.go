package query_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/query"
)

// A letter of intent (T2: 17 500) then the contract that follows it, and a
// letter never followed (T4: 30 000), through the command path and read
// back: the contract's page shows its letter and aid; the payments of a
// letter are its aid; one contract's export shows the aid first, beside
// it; the whole export and the totals count both aids, under their CPAM;
// the audit trail shows the letter's events before the contract's; a
// window before the letter sees none of it.
func TestLettersOfIntentReadBack(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	letter, alone, contract := uuid.New(), uuid.New(), uuid.New()
	for _, line := range []string{
		fmt.Sprintf(`{"type":"ValidateLetterOfIntent","command_id":"loi-1","letter_id":%q,"cpts":{"id":"cpts-ker","name":"CPTS de Kernével"},"ars":"ARS Bretagne","cpam":"CPAM du Finistère","population":50000,"validated_on":"2022-06-01"}`, letter),
		fmt.Sprintf(`{"type":"ValidateLetterOfIntent","command_id":"loi-2","letter_id":%q,"cpts":{"id":"cpts-ile","name":"CPTS des Îles"},"ars":"ARS Bretagne","cpam":"CPAM du Morbihan","population":200000,"validated_on":"2022-07-01"}`, alone),
		fmt.Sprintf(`{"type":"SignContract","command_id":"sign","contract_id":%q,"letter_id":%q,"cpts":{"id":"cpts-ker","name":"CPTS de Kernével"},"ars":"ARS Bretagne","cpam":"CPAM du Finistère","population":50000,"signed_on":"2022-09-01","missions":["access","pathways","prevention","crisis"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"},{"mission":"crisis","code":"c","weight":"1","target":"1"}]}`, contract, letter),
		fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d","contract_id":%q,"as_of":"2022-09-01"}`, contract),
	} {
		if r, err := l.embedded.Submit(ctx, []byte(line)); err != nil || !r.OK {
			t.Fatalf("%s: %+v %v", line, r, err)
		}
	}
	d, err := l.reads.ContractAt(ctx, contract, query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	loi := d.LetterOfIntent
	if loi == nil || loi.LetterID != letter || loi.Tier != "T2" || loi.Aid == nil || loi.Aid.Amount.String() != "17500.00" ||
		loi.Aid.Kind != cpts.KindLetterOfIntent || loi.ContractID == nil || *loi.ContractID != contract {
		t.Fatalf("the contract's letter: %+v", loi)
	}
	if d.DecidedTotal.String() != "60000.00" {
		t.Fatalf("the contract's own decisions: %s, want the signature's 60000.00 (the aid is the letter's)", d.DecidedTotal)
	}
	for id, want := range map[uuid.UUID]string{letter: "17500.00", alone: "30000.00"} {
		ps, err := l.reads.Payments(ctx, id, query.Window{})
		if err != nil || len(ps) != 1 || ps[0].Amount.String() != want {
			t.Fatalf("payments of letter %s: %+v %v", id, ps, err)
		}
	}
	var rows [][]string
	err = l.reads.Export(ctx, query.ExportFilter{Contract: contract, PerPayment: true}, query.Window{}, domain.Money.String, func(row []string) error {
		rows = append(rows, row)
		return nil
	})
	if err != nil || len(rows) != 2 || rows[0][0] != letter.String() || rows[0][7] != cpts.KindLetterOfIntent || rows[0][2] != "CPTS de Kernével" ||
		rows[0][3] != "CPAM du Finistère" || rows[1][0] != contract.String() || rows[1][7] != cpts.KindSignature {
		t.Fatalf("the contract's export: %v %v", rows, err)
	}
	totals, err := l.reads.Totals(ctx, "cpam", query.Window{})
	if err != nil {
		t.Fatal(err)
	}
	byCPAM := map[string]string{}
	for _, tt := range totals {
		byCPAM[tt.Key] = tt.Decided.String()
	}
	if byCPAM["CPAM du Finistère"] != "77500.00" || byCPAM["CPAM du Morbihan"] != "30000.00" || byCPAM["total"] != "107500.00" {
		t.Fatalf("totals by CPAM: %v", byCPAM)
	}
	trail, err := l.reads.Audit(ctx, contract, query.Window{})
	if err != nil || !trail.ChainOK || len(trail.Events) < 4 || trail.Events[0].Type != cpts.TypeLetterOfIntentValidated ||
		trail.Events[0].Stream != "cpts-"+letter.String() || trail.Events[2].Type != cpts.TypeContractSigned || trail.Events[2].Stream != "" {
		t.Fatalf("the contract's audit trail: %+v %v", trail, err)
	}
	before := query.Window{AsOf: domain.MustDate("2022-05-31")}
	if ps, err := l.reads.Payments(ctx, letter, before); err == nil || len(ps) != 0 {
		t.Fatalf("a letter before its validation: %v %v", ps, err)
	}
	early := query.Window{AsOf: domain.MustDate("2022-08-31")}
	if _, err := l.reads.ContractAt(ctx, contract, early); err == nil {
		t.Fatal("the contract before its signature")
	}
	if ps, err := l.reads.Payments(ctx, letter, early); err != nil || len(ps) != 1 {
		t.Fatalf("the letter as of 2022-08-31: %v %v", ps, err)
	}
}
