package domain

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"
)

func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		names = append(names, f.Tag.Get("json"))
	}
	slices.Sort(names)
	return names
}

// A PaymentRecord has every field of a PaymentDecided, under the same JSON
// names, and reads what a PaymentDecided writes.
func TestPaymentRecordMirrorsPaymentDecided(t *testing.T) {
	if got, want := jsonNames(reflect.TypeFor[PaymentRecord]()), jsonNames(reflect.TypeFor[PaymentDecided]()); !slices.Equal(got, want) {
		t.Fatalf("PaymentRecord fields %v, PaymentDecided fields %v", got, want)
	}
	p := PaymentDecided{PaymentID: uuid.New(), ContractID: uuid.New(), Kind: KindRegularisation, ContractYear: 2,
		DueOn: MustDate("2021-04-30"), DecidedOn: MustDate("2021-05-01"), Status: "due", Amount: MustMoney("-12.50"),
		Rulebook: "r", Rule: "x", Lines: []Line{NewLine("m", "fixed", MustMoney("-12.50"), "fixed_amount", "amount", MustMoney("1.00"))},
		Withheld: &Withholding{Code: "c", On: MustDate("2021-05-01")}, Corrects: []uuid.UUID{uuid.New()}}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodePaymentRecord(SchemaVersion, data)
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := json.Marshal(p.Lines)
	withheld, _ := json.Marshal(p.Withheld)
	corrects, _ := json.Marshal(p.Corrects)
	if r.PaymentID != p.PaymentID || r.ContractID != p.ContractID || r.Kind != p.Kind || r.ContractYear != p.ContractYear ||
		r.DueOn != p.DueOn || r.DecidedOn != p.DecidedOn || r.Status != p.Status || !r.Amount.Equal(p.Amount) || r.Rulebook != p.Rulebook ||
		r.Rule != p.Rule || string(r.Lines) != string(lines) || r.JSON(r.Withheld) != string(withheld) || r.JSON(r.Corrects) != string(corrects) {
		t.Fatalf("record %+v of %s", r, data)
	}
	if _, err := DecodePaymentRecord(SchemaVersion+1, data); err == nil {
		t.Fatal("an unknown schema version decoded")
	}
}
