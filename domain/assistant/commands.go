package assistant

import (
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"

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

// Party returns who the contract is with and its CPAM (domain.Signature).
func (c SignAidContract) Party() (name, cpam string) { return "RPPS " + c.Doctor.RPPS, c.CPAM }

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

// DecideDuePayments and TerminateContract are the commands every scheme
// shares.
type (
	DecideDuePayments = domain.DecideDuePayments
	TerminateContract = domain.TerminateContract
)

func (SignAidContract) CommandType() string  { return CmdSignAidContract }
func (HireAssistant) CommandType() string    { return CmdHireAssistant }
func (ReportPatientele) CommandType() string { return CmdReportPatientele }

type wireSign struct {
	domain.WireHeader
	CPAM   string `json:"cpam"`
	Doctor *struct {
		RPPS                string                `json:"rpps"`
		Specialty           string                `json:"specialty"`
		Sector              domain.NumberOrString `json:"sector"`
		OPTAM               *bool                 `json:"optam"`
		GroupPractice       *bool                 `json:"group_practice"`
		UnderservedZone     *bool                 `json:"underserved_zone"`
		CoordinatedPractice *bool                 `json:"coordinated_practice"`
		Percentile          domain.NumberOrString `json:"patientele_percentile"`
		BornOn              string                `json:"born_on"`
		CCAMFeeShare        domain.NumberOrString `json:"ccam_fee_share"`
	} `json:"doctor"`
	Option             string                `json:"option"`
	SignedOn           string                `json:"signed_on"`
	Band               string                `json:"band"`
	PatienteleBaseline domain.NumberOrString `json:"patientele_baseline"`
	PatienteleTarget   domain.NumberOrString `json:"patientele_target"`
}

type wireHire struct {
	domain.WireHeader
	HiredOn string `json:"hired_on"`
}

type wireReport struct {
	domain.WireHeader
	ContractYear domain.NumberOrString `json:"contract_year"`
	ReportedOn   string                `json:"reported_on"`
	Patientele   domain.NumberOrString `json:"patientele"`
}

// decodeSign checks and converts a SignAidContract's fields, each fault
// recorded in d.V.
func decodeSign(d *domain.CommandDecoder, w wireSign) SignAidContract {
	vs, f := &d.V, d.Fields()
	boolField := func(field string, b *bool) bool {
		if b == nil {
			vs.Add(domain.CodeMissingField, field, "is required (true or false)")
			return false
		}
		return *b
	}
	c := SignAidContract{CommandMeta: d.Meta(w.WireHeader), CPAM: w.CPAM, Option: w.Option, Band: w.Band,
		SignedOn: f.Date("signed_on", w.SignedOn)}
	f.Name("cpam", w.CPAM)
	f.Name("option", w.Option)
	f.Name("band", w.Band)
	if w.Doctor == nil {
		vs.Add(domain.CodeMissingField, "doctor", "is required")
	} else {
		doc := w.Doctor
		c.Doctor = Doctor{RPPS: doc.RPPS, Specialty: doc.Specialty,
			OPTAM: boolField("doctor.optam", doc.OPTAM), GroupPractice: boolField("doctor.group_practice", doc.GroupPractice),
			UnderservedZone:     boolField("doctor.underserved_zone", doc.UnderservedZone),
			CoordinatedPractice: boolField("doctor.coordinated_practice", doc.CoordinatedPractice)}
		f.Name("doctor.rpps", doc.RPPS)
		f.Name("doctor.specialty", doc.Specialty)
		if s, ok := f.Int("doctor.sector", doc.Sector.Number()); ok {
			c.Doctor.Sector = int(s)
		}
		decodeDeclared(vs, f, &c.Doctor, string(doc.Percentile), string(doc.CCAMFeeShare))
		if doc.BornOn != "" {
			c.Doctor.BornOn = decodeBirth(vs, doc.BornOn)
		}
	}
	if b, ok := f.Int("patientele_baseline", w.PatienteleBaseline.Number()); ok {
		c.PatienteleBaseline = b
	}
	if t, ok := f.Int("patientele_target", w.PatienteleTarget.Number()); ok {
		c.PatienteleTarget = t
	}
	return c
}

// DecodeCommand decodes one command line of this scheme; every field that
// is missing or does not parse is named in a *domain.RejectedError.
func DecodeCommand(raw []byte) (domain.Command, error) {
	return decodeCommand(raw, defaultRules.Calendar())
}

func decodeCommand(raw []byte, dates domain.Calendar) (domain.Command, error) {
	d, err := domain.NewCommandDecoder(raw, dates)
	if err != nil {
		return nil, err
	}
	if cmd, ok, err := d.DecodeShared(); ok {
		return cmd, err
	}
	if cmd, ok, err := decodeCorrection(d); ok {
		return cmd, err
	}
	if cmd, ok, err := decodeLater(d); ok {
		return cmd, err
	}
	if d.Header.Type == CmdErasePersonalData {
		return decodeErase(d)
	}
	f, meta := d.Fields(), d.Meta
	var cmd domain.Command
	switch d.Header.Type {
	case CmdSignAidContract:
		var w wireSign
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		cmd = decodeSign(d, w)
	case CmdHireAssistant:
		var w wireHire
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		cmd = HireAssistant{CommandMeta: meta(w.WireHeader), HiredOn: f.Date("hired_on", w.HiredOn)}
	case CmdReportPatientele:
		var w wireReport
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		c := ReportPatientele{CommandMeta: meta(w.WireHeader), ReportedOn: f.Date("reported_on", w.ReportedOn)}
		if y, ok := f.Int("contract_year", w.ContractYear.Number()); ok {
			c.ContractYear = int(y)
		}
		if p, ok := f.Int("patientele", w.Patientele.Number()); ok {
			c.Patientele = p
		}
		cmd = c
	default:
		return nil, domain.UnknownCommand(d.Header.Type, CmdSignAidContract)
	}
	return d.Result(cmd)
}

// decodeDeclared reads what a doctor declares at signature where a
// rulebook asks it: the patientèle's percentile (a whole number, 0 to
// 100) and the share of CCAM fees (0 to 1).
func decodeDeclared(vs *domain.Violations, f domain.Fields, d *Doctor, percentile, share string) {
	if percentile != "" {
		if p, ok := f.Int("doctor.patientele_percentile", json.Number(percentile)); ok {
			if p < 0 || p > 100 {
				vs.Add(domain.CodeInvalidValue, "doctor.patientele_percentile", fmt.Sprintf("a percentile is 0 to 100, got %d", p))
			}
			v := int(p)
			d.PatientelePercentile = &v
		}
	}
	if share != "" {
		if s, ok := f.Decimal("doctor.ccam_fee_share", json.Number(share)); ok {
			if s.IsNegative() || s.GreaterThan(decimal.NewFromInt(1)) {
				vs.Add(domain.CodeInvalidValue, "doctor.ccam_fee_share", fmt.Sprintf("a share of fees is 0 to 1, got %s", s))
			}
			d.CCAMFeeShare = &s
		}
	}
}

// decodeBirth reads a doctor's birth date: a date, from 1900 (a birth is
// outside the span of dates the rulebooks judge).
func decodeBirth(vs *domain.Violations, s string) *domain.Date {
	d, err := domain.ParseDate(s)
	if err != nil || d.Before(domain.MustDate("1900-01-01")) {
		vs.Add(domain.CodeInvalidDate, "doctor.born_on", fmt.Sprintf("must be a date YYYY-MM-DD from 1900, got %q", s))
		return nil
	}
	return &d
}
