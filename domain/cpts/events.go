package cpts

import (
	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Scheme is the name of the CPTS scheme in streams and subjects.
const Scheme = "cpts"

// Stream returns the stream of a contract: cpts-<contract_id>.
func Stream(contractID uuid.UUID) string { return domain.Stream(Scheme, contractID) }

// Event types.
const (
	TypeContractSigned     = "ContractSigned"
	TypeMissionStarted     = "MissionStarted"
	TypeMissionDeployed    = "MissionDeployed"
	TypeIndicatorsReported = "IndicatorsReported"
	TypePaymentDecided     = "PaymentDecided"
	TypeContractTerminated = domain.TypeContractTerminated
)

// Event is an event of the CPTS scheme.
type Event = domain.Event

// Party names the CPTS.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Indicator is one indicator of a mission, with its weight and target.
type Indicator struct {
	Mission string          `json:"mission"`
	Code    string          `json:"code"`
	Weight  decimal.Decimal `json:"weight"`
	Target  decimal.Decimal `json:"target"`
}

// ContractSigned: a CPTS, its CPAM and ARS sign the 5-year contract.
type ContractSigned struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	CPTS          Party       `json:"cpts"`
	ARS           string      `json:"ars"`
	CPAM          string      `json:"cpam"`
	Population    int         `json:"population"`
	Tier          string      `json:"tier"`
	SignedOn      domain.Date `json:"signed_on"`
	Missions      []string    `json:"missions"`
	SNPRegulation bool        `json:"snp_regulation"`
	Indicators    []Indicator `json:"indicators"`
	Rulebook      string      `json:"rulebook"`
	// LetterID is the letter of intent the contract follows (avenant 2),
	// if it names one.
	LetterID *uuid.UUID `json:"letter_id,omitempty"`
}

// MissionStarted: a mission begins.
type MissionStarted struct {
	ContractID uuid.UUID   `json:"contract_id"`
	Mission    string      `json:"mission"`
	StartedOn  domain.Date `json:"started_on"`
}

// MissionDeployed: a mission is fully deployed.
type MissionDeployed struct {
	ContractID uuid.UUID   `json:"contract_id"`
	Mission    string      `json:"mission"`
	DeployedOn domain.Date `json:"deployed_on"`
}

// IndicatorValue is the value of one indicator for a contract year.
type IndicatorValue struct {
	Mission string          `json:"mission"`
	Code    string          `json:"code"`
	Value   decimal.Decimal `json:"value"`
}

// IndicatorsReported: the indicators of a contract year are reported.
type IndicatorsReported struct {
	ContractID   uuid.UUID        `json:"contract_id"`
	ContractYear int              `json:"contract_year"`
	ReportedOn   domain.Date      `json:"reported_on"`
	Values       []IndicatorValue `json:"values"`
}

// Payment kinds.
const (
	KindSignature           = "signature"
	KindMissionStartAdvance = "mission_start_advance"
	KindAnnualAdvance       = "annual_advance"
	KindAnnualBalance       = "annual_balance"
	KindAmorcageTopup       = "amorcage_topup"
	KindRecovery            = "recovery"
)

// Payment statuses.
const (
	StatusDecided  = domain.StatusDecided
	StatusWithheld = domain.StatusWithheld
)

// Line is one line of a payment's breakdown.
type Line = domain.Line

// PaymentDecided: the payer decides one payment (or withholds it).
type PaymentDecided = domain.PaymentDecided

// ContractTerminated: the contract ends early.
type ContractTerminated = domain.ContractTerminated

func (ContractSigned) EventType() string     { return TypeContractSigned }
func (MissionStarted) EventType() string     { return TypeMissionStarted }
func (MissionDeployed) EventType() string    { return TypeMissionDeployed }
func (IndicatorsReported) EventType() string { return TypeIndicatorsReported }

func (e ContractSigned) BusinessDate() domain.Date { return e.SignedOn }

// Party returns the contract's beneficiary (the CPTS's name) and its CPAM.
func (e ContractSigned) Party() (name, cpam string) { return e.CPTS.Name, e.CPAM }

// Follows returns the letter of intent the contract follows, if it names
// one.
func (e ContractSigned) Follows() (uuid.UUID, bool) {
	if e.LetterID == nil {
		return uuid.Nil, false
	}
	return *e.LetterID, true
}

func (e MissionStarted) BusinessDate() domain.Date     { return e.StartedOn }
func (e MissionDeployed) BusinessDate() domain.Date    { return e.DeployedOn }
func (e IndicatorsReported) BusinessDate() domain.Date { return e.ReportedOn }

// SchemaVersion is the version of every CPTS event type's data; a change
// that is not additive gets a new version and an upcaster in DecodeEvent.
const SchemaVersion = domain.SchemaVersion

var decoders = domain.WithTreasury(domain.EventDecoders{
	TypeContractSigned:             domain.DecodeAs[ContractSigned],
	TypeLetterOfIntentValidated:    domain.DecodeAs[LetterOfIntentValidated],
	TypeMissionStarted:             domain.DecodeAs[MissionStarted],
	TypeMissionDeployed:            domain.DecodeAs[MissionDeployed],
	TypeIndicatorsReported:         domain.DecodeAs[IndicatorsReported],
	TypePaymentDecided:             domain.DecodeAs[PaymentDecided],
	TypeContractTerminated:         domain.DecodeAs[ContractTerminated],
	TypeReportCorrected:            domain.DecodeAs[ReportCorrected],
	TypeMissionDateCorrected:       domain.DecodeAs[MissionDateCorrected],
	TypeContractTermsCorrected:     domain.DecodeAs[ContractTermsCorrected],
	TypeTerminationCorrected:       domain.DecodeAs[TerminationCorrected],
	TypeRulebookAmendmentApplied:   domain.DecodeAs[RulebookAmendmentApplied],
	TypeCrisisNoted:                domain.DecodeAs[CrisisNoted],
	TypeRulebookAmendmentPublished: domain.DecodeAs[RulebookAmendmentPublished],
	TypeCrisisRecognised:           domain.DecodeAs[CrisisRecognised],
	TypeCrisisRecognitionCorrected: domain.DecodeAs[CrisisRecognitionCorrected],
	TypePayerAccountRecorded:       domain.DecodeAs[PayerAccountRecorded],
})

// MissionCrisis is the mission created by amendment 2 (domain.md §2.10).
const MissionCrisis = "crisis"

// EventTypes lists the event types of the scheme.
func EventTypes() []string {
	return append([]string{TypeContractSigned, TypeMissionStarted, TypeMissionDeployed, TypeIndicatorsReported,
		TypePaymentDecided, TypeContractTerminated, TypeReportCorrected, TypeMissionDateCorrected,
		TypeContractTermsCorrected, TypeTerminationCorrected, TypeRulebookAmendmentApplied, TypeCrisisNoted,
		TypeLetterOfIntentValidated}, domain.TreasuryEventTypes()...)
}

// DecodeEvent turns a stored event's type and data back into an Event.
func DecodeEvent(typ string, schemaVersion int, data []byte) (Event, error) {
	return decoders.Decode(Scheme, typ, schemaVersion, data)
}

// ContractOfStream returns the contract id of a cpts-<id> stream.
func ContractOfStream(stream string) (uuid.UUID, bool) {
	scheme, id, ok := domain.ParseStream(stream)
	return id, ok && scheme == Scheme
}
