package assistant

import (
	"fmt"

	"github.com/cptsledger/ledger/domain"
)

// Command types of the scheme; DecideDuePayments and TerminateContract are
// shared with the CPTS scheme.
const (
	CmdSignAidContract   = "SignAidContract"
	CmdHireAssistant     = "HireAssistant"
	CmdReportPatientele  = "ReportPatientele"
	CmdDecideDuePayments = domain.CmdDecideDuePayments
	CmdTerminateContract = domain.CmdTerminateContract
)

// SignAidContract signs an aid contract.
type SignAidContract struct {
	domain.CommandMeta
	CPAM               string
	Doctor             Doctor
	Option             string
	SignedOn           domain.Date
	Band               string
	PatienteleBaseline int64
	PatienteleTarget   int64
}

// HireAssistant records the hiring.
type HireAssistant struct {
	domain.CommandMeta
	HiredOn domain.Date
}

// ReportPatientele reports the patientèle of a contract year.
type ReportPatientele struct {
	domain.CommandMeta
	ContractYear int
	ReportedOn   domain.Date
	Patientele   int64
}

// DecideDuePayments decides every payment due on or before AsOf.
type DecideDuePayments struct {
	domain.CommandMeta
	AsOf domain.Date
}

// TerminateContract ends the contract early.
type TerminateContract struct {
	domain.CommandMeta
	TerminatedOn domain.Date
	Reason       string
}

func (SignAidContract) CommandType() string   { return CmdSignAidContract }
func (HireAssistant) CommandType() string     { return CmdHireAssistant }
func (ReportPatientele) CommandType() string  { return CmdReportPatientele }
func (DecideDuePayments) CommandType() string { return CmdDecideDuePayments }
func (TerminateContract) CommandType() string { return CmdTerminateContract }

type wireHeader struct {
	Type       string `json:"type"`
	CommandID  string `json:"command_id"`
	ContractID string `json:"contract_id"`
}

type wireSign struct {
	wireHeader
	CPAM   string `json:"cpam"`
	Doctor *struct {
		RPPS                string                `json:"rpps"`
		Specialty           string                `json:"specialty"`
		Sector              domain.NumberOrString `json:"sector"`
		OPTAM               *bool                 `json:"optam"`
		GroupPractice       *bool                 `json:"group_practice"`
		UnderservedZone     *bool                 `json:"underserved_zone"`
		CoordinatedPractice *bool                 `json:"coordinated_practice"`
	} `json:"doctor"`
	Option             string                `json:"option"`
	SignedOn           string                `json:"signed_on"`
	Band               string                `json:"band"`
	PatienteleBaseline domain.NumberOrString `json:"patientele_baseline"`
	PatienteleTarget   domain.NumberOrString `json:"patientele_target"`
}

type wireHire struct {
	wireHeader
	HiredOn string `json:"hired_on"`
}

type wireReport struct {
	wireHeader
	ContractYear domain.NumberOrString `json:"contract_year"`
	ReportedOn   string                `json:"reported_on"`
	Patientele   domain.NumberOrString `json:"patientele"`
}

type wireDecide struct {
	wireHeader
	AsOf string `json:"as_of"`
}

type wireTerminate struct {
	wireHeader
	TerminatedOn string `json:"terminated_on"`
	Reason       string `json:"reason"`
}

// DecodeCommand decodes one command line of this scheme; every field that
// is missing or does not parse is named in a *domain.RejectedError.
func DecodeCommand(raw []byte) (domain.Command, error) {
	h, err := domain.PeekHeader(raw)
	if err != nil {
		return nil, err
	}
	var vs domain.Violations
	f := domain.Fields{V: &vs}
	meta := func(w wireHeader) domain.CommandMeta {
		f.Required("command_id", w.CommandID)
		return domain.CommandMeta{CommandID: w.CommandID, ContractID: f.UUID("contract_id", w.ContractID)}
	}
	boolField := func(field string, b *bool) bool {
		if b == nil {
			vs.Add("missing_field", field, "is required (true or false)")
			return false
		}
		return *b
	}
	var cmd domain.Command
	switch h.Type {
	case CmdSignAidContract:
		var w wireSign
		if err := domain.DecodeStrict(raw, &w); err != nil {
			return nil, err
		}
		c := SignAidContract{CommandMeta: meta(w.wireHeader), CPAM: w.CPAM, Option: w.Option, Band: w.Band,
			SignedOn: f.Date("signed_on", w.SignedOn)}
		f.Required("cpam", w.CPAM)
		f.Required("option", w.Option)
		f.Required("band", w.Band)
		if w.Doctor == nil {
			vs.Add("missing_field", "doctor", "is required")
		} else {
			d := w.Doctor
			c.Doctor = Doctor{RPPS: d.RPPS, Specialty: d.Specialty,
				OPTAM: boolField("doctor.optam", d.OPTAM), GroupPractice: boolField("doctor.group_practice", d.GroupPractice),
				UnderservedZone:     boolField("doctor.underserved_zone", d.UnderservedZone),
				CoordinatedPractice: boolField("doctor.coordinated_practice", d.CoordinatedPractice)}
			f.Required("doctor.rpps", d.RPPS)
			f.Required("doctor.specialty", d.Specialty)
			if s, ok := f.Int("doctor.sector", d.Sector.Number()); ok {
				c.Doctor.Sector = int(s)
			}
		}
		if b, ok := f.Int("patientele_baseline", w.PatienteleBaseline.Number()); ok {
			c.PatienteleBaseline = b
		}
		if t, ok := f.Int("patientele_target", w.PatienteleTarget.Number()); ok {
			c.PatienteleTarget = t
		}
		cmd = c
	case CmdHireAssistant:
		var w wireHire
		if err := domain.DecodeStrict(raw, &w); err != nil {
			return nil, err
		}
		cmd = HireAssistant{CommandMeta: meta(w.wireHeader), HiredOn: f.Date("hired_on", w.HiredOn)}
	case CmdReportPatientele:
		var w wireReport
		if err := domain.DecodeStrict(raw, &w); err != nil {
			return nil, err
		}
		c := ReportPatientele{CommandMeta: meta(w.wireHeader), ReportedOn: f.Date("reported_on", w.ReportedOn)}
		if y, ok := f.Int("contract_year", w.ContractYear.Number()); ok {
			c.ContractYear = int(y)
		}
		if p, ok := f.Int("patientele", w.Patientele.Number()); ok {
			c.Patientele = p
		}
		cmd = c
	case CmdDecideDuePayments:
		var w wireDecide
		if err := domain.DecodeStrict(raw, &w); err != nil {
			return nil, err
		}
		cmd = DecideDuePayments{CommandMeta: meta(w.wireHeader), AsOf: f.Date("as_of", w.AsOf)}
	case CmdTerminateContract:
		var w wireTerminate
		if err := domain.DecodeStrict(raw, &w); err != nil {
			return nil, err
		}
		f.Required("reason", w.Reason)
		cmd = TerminateContract{CommandMeta: meta(w.wireHeader), TerminatedOn: f.Date("terminated_on", w.TerminatedOn), Reason: w.Reason}
	case "":
		return nil, domain.Reject("missing_field", "type", "is required: the command type, e.g. \"SignAidContract\"")
	default:
		return nil, domain.Reject("unknown_command", "type", fmt.Sprintf("%q is not a command type", h.Type))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return cmd, nil
}
