// Package assistant is the medical-assistant aid scheme (avenant 7 to the
// convention médicale, 2019, and its successors): the payer co-funds the
// salary of an assistant a doctor hires, degressively, in proportion to the
// assistant's FTE share the doctor employs, against a commitment to follow
// more patients (domain.md section 3).
//
// It shares with the CPTS scheme the dates and contract years, money and
// rounding, rule violations, rulebook loading and selection by date, the
// PaymentDecided and ContractTerminated events and the termination rules.
package assistant

import (
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/cptsledger/ledger/domain"
)

// Scheme is the name of the scheme in streams and subjects.
const Scheme = "assistant"

// Stream returns the stream of a contract: assistant-<contract_id>.
func Stream(contractID uuid.UUID) string { return domain.Stream(Scheme, contractID) }

// Event types.
const (
	TypeAidContractSigned  = "AidContractSigned"
	TypeAssistantHired     = "AssistantHired"
	TypePatienteleReported = "PatienteleReported"
	TypePaymentDecided     = domain.TypePaymentDecided
	TypeContractTerminated = domain.TypeContractTerminated
)

// Doctor is the doctor who signs, as declared at signature.
type Doctor struct {
	RPPS                string `json:"rpps"`
	Specialty           string `json:"specialty"`
	Sector              int    `json:"sector"`
	OPTAM               bool   `json:"optam"`
	GroupPractice       bool   `json:"group_practice"`
	UnderservedZone     bool   `json:"underserved_zone"`
	CoordinatedPractice bool   `json:"coordinated_practice"`
	// PatientelePercentile (0–100) and CCAMFeeShare (0 to 1), declared at
	// signature where the rulebook has the condition (am-2024).
	PatientelePercentile *int             `json:"patientele_percentile,omitempty"`
	CCAMFeeShare         *decimal.Decimal `json:"ccam_fee_share,omitempty"`
	// BornOn, declared at signature, gives a doctor of 65 or more the
	// objective of maintaining the patientèle (am-2024).
	BornOn *domain.Date `json:"born_on,omitempty"`
}

// AidContractSigned: a doctor signs for an FTE share of an assistant.
type AidContractSigned struct {
	ContractID         uuid.UUID   `json:"contract_id"`
	CPAM               string      `json:"cpam"`
	Doctor             Doctor      `json:"doctor"`
	Option             string      `json:"option"`
	SignedOn           domain.Date `json:"signed_on"`
	Band               string      `json:"band"`
	PatienteleBaseline int         `json:"patientele_baseline"`
	PatienteleTarget   int         `json:"patientele_target"`
	Rulebook           string      `json:"rulebook"`
	// PersonalKey is the id of the key the doctor's data are sealed
	// under (set when the stored event is read or sealed; not data).
	PersonalKey string `json:"-"`
}

// AssistantHired: the assistant starts.
type AssistantHired struct {
	ContractID uuid.UUID   `json:"contract_id"`
	HiredOn    domain.Date `json:"hired_on"`
}

// PatienteleReported: the doctor's patientèle at the end of a contract year.
type PatienteleReported struct {
	ContractID   uuid.UUID   `json:"contract_id"`
	ContractYear int         `json:"contract_year"`
	ReportedOn   domain.Date `json:"reported_on"`
	Patientele   int         `json:"patientele"`
}

// PaymentDecided and ContractTerminated are the shared events.
type (
	PaymentDecided     = domain.PaymentDecided
	ContractTerminated = domain.ContractTerminated
)

func (AidContractSigned) EventType() string           { return TypeAidContractSigned }
func (AssistantHired) EventType() string              { return TypeAssistantHired }
func (PatienteleReported) EventType() string          { return TypePatienteleReported }
func (e AidContractSigned) BusinessDate() domain.Date { return e.SignedOn }

// Party returns the contract's beneficiary (the doctor, by RPPS number) and
// its CPAM.
func (e AidContractSigned) Party() (name, cpam string) { return doctorName(e.Doctor.RPPS), e.CPAM }

// doctorName names a doctor by RPPS number, or by what stands for an
// erased (or unreadable) number alone.
func doctorName(rpps string) string {
	if rppsPattern.MatchString(rpps) {
		return "RPPS " + rpps
	}
	return rpps
}
func (e AssistantHired) BusinessDate() domain.Date     { return e.HiredOn }
func (e PatienteleReported) BusinessDate() domain.Date { return e.ReportedOn }

// SchemaVersion is the version of every event type's data.
const SchemaVersion = domain.SchemaVersion

var decoders = domain.WithTreasury(domain.EventDecoders{
	TypeAidContractSigned:         domain.DecodeAs[AidContractSigned],
	TypeAssistantHired:            domain.DecodeAs[AssistantHired],
	TypePatienteleReported:        domain.DecodeAs[PatienteleReported],
	TypePaymentDecided:            domain.DecodeAs[PaymentDecided],
	TypeContractTerminated:        domain.DecodeAs[ContractTerminated],
	TypePatienteleCorrected:       domain.DecodeAs[PatienteleCorrected],
	TypeHiringCorrected:           domain.DecodeAs[HiringCorrected],
	TypeTerminationCorrected:      domain.DecodeAs[domain.TerminationCorrected],
	TypeAssistantExtended:         domain.DecodeAs[AssistantExtended],
	TypeCoordinatedPracticeJoined: domain.DecodeAs[CoordinatedPracticeJoined],
	TypePersonalDataErased:        domain.DecodeAs[PersonalDataErased],
})

// EventTypes lists the event types of the scheme.
func EventTypes() []string {
	return append([]string{TypeAidContractSigned, TypeAssistantHired, TypePatienteleReported, TypePaymentDecided, TypeContractTerminated,
		TypePatienteleCorrected, TypeHiringCorrected, TypeTerminationCorrected, TypeAssistantExtended, TypeCoordinatedPracticeJoined,
		TypePersonalDataErased},
		domain.TreasuryEventTypes()...)
}

// DecodeEvent turns a stored event's type and data back into an event,
// its personal fields read as KeyMissingText: the scheme WithKeys opens
// them.
func DecodeEvent(typ string, schemaVersion int, data []byte) (domain.Event, error) {
	return DecodeWith(nil, typ, schemaVersion, data)
}
