package query

import (
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/projections"
	"github.com/google/uuid"
)

// The read side's types: what the queries answer — the JSON of the CLI and
// the API, the data of the console's pages. The read models' rows
// (projections) become them here, at one boundary, so that a change of a
// table is not a change of the interface.

// Summary is what every contract has, whatever its scheme.
type Summary struct {
	ContractID   uuid.UUID   `json:"contract_id"`
	Scheme       string      `json:"scheme"`
	Rulebook     string      `json:"rulebook"`
	Tier         string      `json:"tier,omitempty"` // CPTS only
	CPAM         string      `json:"cpam"`
	ARS          string      `json:"ars,omitempty"` // CPTS only
	Name         string      `json:"name"`          // the CPTS's name, or the doctor's RPPS number
	SignedOn     domain.Date `json:"signed_on"`
	TerminatedOn domain.Date `json:"terminated_on,omitempty"`
}

func summaryFrom(r projections.SummaryRow) Summary {
	return Summary{ContractID: r.ContractID, Scheme: r.Scheme, Rulebook: r.Rulebook, Tier: r.Tier, CPAM: r.CPAM, ARS: r.ARS,
		Name: r.Name, SignedOn: r.SignedOn, TerminatedOn: r.TerminatedOn}
}

// Payment is one decision with its breakdown (design section 6).
type Payment struct {
	PaymentID    uuid.UUID    `json:"payment_id"`
	ContractID   uuid.UUID    `json:"-"`
	Kind         string       `json:"kind"`
	ContractYear int          `json:"contract_year"`
	Mission      *string      `json:"mission,omitempty"`
	DueOn        domain.Date  `json:"due_on"`
	DecidedOn    domain.Date  `json:"decided_on"`
	Status       string       `json:"status"`
	Amount       domain.Money `json:"amount"`
	Rulebook     string       `json:"rulebook"`
	Table        string       `json:"table,omitempty"`
	Rule         string       `json:"rule"`
	Lines        []Line       `json:"lines"`
	Scheme       string       `json:"scheme"`
	Reason       string       `json:"reason,omitempty"`
	// Withheld is Reason as a code and its facts (domain.Withholding).
	Withheld *domain.Withholding `json:"withheld,omitempty"`
	// Corrects, on a regularisation, names the payments it corrects;
	// CorrectedBy, on a payment, the regularisations that corrected it
	// (within the query's window).
	Corrects    []uuid.UUID `json:"corrects,omitempty"`
	CorrectedBy []uuid.UUID `json:"corrected_by,omitempty"`
	Position    uint64      `json:"position"`
	RecordedAt  string      `json:"recorded_at"`
	// ExecutionStatus is what became of the payment within the window:
	// decided (not ordered, or returned and not ordered again), ordered,
	// paid or returned.
	ExecutionStatus string `json:"execution_status"`
}

// Line is one breakdown line.
type Line struct {
	Mission   *string      `json:"mission"`
	Component string       `json:"component"`
	Amount    domain.Money `json:"amount"`
	Basis     string       `json:"basis,omitempty"`
	// Formula is Basis as a code and its operands (domain.Formula).
	Formula *domain.Formula `json:"formula,omitempty"`
	// Rulebook, Amendment and Withheld: where the line's amount came from
	// when not the payment's rulebook, and why it is held back (domain.Line).
	Rulebook  string               `json:"rulebook,omitempty"`
	Amendment *domain.AmendmentRef `json:"amendment,omitempty"`
	Withheld  *domain.Withholding  `json:"withheld,omitempty"`
}

func paymentFrom(r projections.PaymentRow) Payment {
	p := Payment{PaymentID: r.PaymentID, ContractID: r.ContractID, Kind: r.Kind, ContractYear: r.ContractYear, Mission: optional(r.Mission),
		DueOn: r.DueOn, DecidedOn: r.DecidedOn, Status: r.Status, Amount: r.Amount, Rulebook: r.Rulebook, Table: r.Table, Rule: r.Rule,
		Lines: make([]Line, len(r.Lines)), Scheme: r.Scheme, Reason: r.Reason, Withheld: r.Withheld, Corrects: r.Corrects,
		Position: r.Position, RecordedAt: r.RecordedAt, ExecutionStatus: domain.ExecutionDecided}
	for i, l := range r.Lines {
		p.Lines[i] = Line{Mission: optional(l.Mission), Component: l.Component, Amount: l.Amount, Basis: l.Basis, Formula: l.Formula,
			Rulebook: l.Rulebook, Amendment: l.Amendment, Withheld: l.Withheld}
	}
	return p
}

func paymentsFrom(rs []projections.PaymentRow) []Payment {
	out := make([]Payment, len(rs))
	for i, r := range rs {
		out[i] = paymentFrom(r)
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Deadline is one deadline of a CPTS contract and the date it was met.
type Deadline struct {
	Mission  string      `json:"mission"`
	Kind     string      `json:"kind"`
	Months   int         `json:"months"`
	Deadline domain.Date `json:"deadline"`
	DoneOn   domain.Date `json:"done_on,omitzero"`
}

// AidTerms are a medical-assistant aid contract's terms.
type AidTerms struct {
	RPPS               string      `json:"rpps"`
	Specialty          string      `json:"specialty"`
	Option             string      `json:"option"`
	Band               string      `json:"band"`
	PatienteleBaseline int         `json:"patientele_baseline"`
	PatienteleTarget   int         `json:"patientele_target"`
	HiredOn            domain.Date `json:"hired_on,omitzero"`
	// Extension is the FTE share added under the 2024 convention.
	Extension *AidExtension `json:"extension,omitempty"`
}

// AidExtension is an aid contract's added FTE share and its first day.
type AidExtension struct {
	AddedFTE string      `json:"added_fte"`
	On       domain.Date `json:"on"`
}

// LetterOfIntent is a letter of intent the ARS validated (avenant 2) and
// its aid, as a window sees them: on the page of the contract that follows
// it, and in the exports beside it.
type LetterOfIntent struct {
	LetterID    uuid.UUID   `json:"letter_id"`
	CPTSID      string      `json:"cpts_id"`
	Name        string      `json:"name"`
	ARS         string      `json:"ars"`
	CPAM        string      `json:"cpam"`
	Population  int         `json:"population"`
	Tier        string      `json:"tier"`
	Rulebook    string      `json:"rulebook"`
	ValidatedOn domain.Date `json:"validated_on"`
	// Aid is the aid decided with the validation (absent when the window
	// does not see it).
	Aid *Payment `json:"aid,omitempty"`
	// ContractID is the contract that follows the letter, when the window
	// sees its signature.
	ContractID *uuid.UUID `json:"contract_id,omitempty"`
}

func letterFrom(r projections.LetterRow, aid []projections.PaymentRow) LetterOfIntent {
	l := LetterOfIntent{LetterID: r.LetterID, CPTSID: r.CPTSID, Name: r.CPTSName, ARS: r.ARS, CPAM: r.CPAM, Population: r.Population,
		Tier: r.Tier, Rulebook: r.Rulebook, ValidatedOn: r.ValidatedOn}
	if len(aid) > 0 {
		p := paymentFrom(aid[0])
		l.Aid = &p
	}
	if r.ContractID != uuid.Nil {
		id := r.ContractID
		l.ContractID = &id
	}
	return l
}

// letterSummary is a letter as a row of the exports and totals: its CPTS,
// CPAM, ARS and tier, "signed" on its validation.
func letterSummary(r projections.LetterRow) projections.SummaryRow {
	return projections.SummaryRow{ContractID: r.LetterID, Scheme: "cpts", Rulebook: r.Rulebook, Tier: r.Tier, CPAM: r.CPAM, ARS: r.ARS,
		Name: r.CPTSName, SignedOn: r.ValidatedOn}
}

// executions maps each payment to its execution status: the last order,
// booking or return of the rows (in the order recorded).
func executions(rows []projections.ExecutionRow) map[uuid.UUID]string {
	out := make(map[uuid.UUID]string, len(rows))
	for _, r := range rows {
		out[r.PaymentID] = r.Status
	}
	return out
}

// withExecutions sets each payment's execution status.
func withExecutions(ps []Payment, status map[uuid.UUID]string) []Payment {
	for i := range ps {
		if s, ok := status[ps[i].PaymentID]; ok {
			ps[i].ExecutionStatus = s
		}
	}
	return ps
}
