package console

import (
	"fmt"
	"io"
	"net/http"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/query"
)

// writeCSV sends a CSV download. In French — the console's language —
// for a spreadsheet: ';' between fields, decimal commas, a byte order
// mark, the headers and the codes in words, dates JJ/MM/AAAA (frenchCells).
// In English, the stable machine columns ledger export gives.
func writeCSV(w http.ResponseWriter, lang, name string, write func(io.Writer, query.CSVStyle) error) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if lang == "en" {
		return write(w, query.CSVStyle{Sep: ','})
	}
	if _, err := io.WriteString(w, query.BOM); err != nil {
		return err
	}
	return write(w, query.CSVStyle{Sep: ';', Cells: frenchCells})
}

// csvHeaders are the French headers of the downloads' columns.
var csvHeaders = map[string]string{
	"contract_id": "Contrat", "scheme": "Dispositif", "beneficiary": "Bénéficiaire", "cpam": "CPAM", "ars": "ARS",
	"tier": "Taille", "payment_id": "Paiement", "kind": "Nature", "contract_year": "Année du contrat",
	"due_on": "Échéance", "decided_on": "Décidé le", "status": "Statut", "rulebook": "Règlement",
	"aid_table": "Barème de l'aide", "regularises": "Régularise", "amount": "Montant (€)", "to_pay": "Reste à payer (€)",
	"line_mission": "Mission", "line_component": "Composante", "line_amount": "Montant de la ligne (€)",
	"payment_amount": "Montant du paiement (€)", "deadline": "Échéance", "name": "Nom", "mission": "Mission",
	"months": "Délai (mois)", "signed_on": "Signé le", "terminated_on": "Résilié le", "overdue": "En retard",
	"execution_status": "Exécution",
}

// csvWords are the columns whose cells are codes the console has words for.
var csvWords = map[string]bool{"scheme": true, "kind": true, "status": true, "mission": true, "line_mission": true, "line_component": true,
	"execution_status": true}

// csvDates are the columns of business dates.
var csvDates = map[string]bool{"due_on": true, "decided_on": true, "deadline": true, "signed_on": true, "terminated_on": true}

// frenchCells writes a download's cells in French (query.CSVCells).
func frenchCells(column, cell string, header bool) string {
	switch {
	case header:
		if h, ok := csvHeaders[column]; ok {
			return h
		}
		return cell
	case cell == "":
		return cell
	case csvWords[column]:
		return translate("fr", cell)
	case csvDates[column]:
		if d, err := domain.ParseDate(cell); err == nil {
			y, m, day := d.YMD()
			return fmt.Sprintf("%02d/%02d/%04d", day, m, y)
		}
	case column == "overdue":
		return map[string]string{"true": "oui", "false": "non"}[cell]
	}
	return cell
}
