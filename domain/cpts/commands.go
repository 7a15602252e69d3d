package cpts

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// Command types.
const (
	CmdSignContract      = "SignContract"
	CmdStartMission      = "StartMission"
	CmdDeployMission     = "DeployMission"
	CmdReportIndicators  = "ReportIndicators"
	CmdDecideDuePayments = domain.CmdDecideDuePayments
	CmdTerminateContract = domain.CmdTerminateContract
)

// Command is a decoded CPTS command: its fields have the right types, which
// says nothing yet of the rules (Decide checks those).
type Command = domain.Command

// CommandMeta is the part every command shares.
type CommandMeta = domain.CommandMeta

// SignContract signs a contract.
type SignContract struct {
	CommandMeta
	CPTS          Party
	ARS           string
	CPAM          string
	Population    int64
	SignedOn      domain.Date
	Missions      []string
	SNPRegulation bool
	Indicators    []Indicator
	// LetterID is the letter of intent the contract follows, if any.
	// Omitted when nil: the format-1 digest of a signature (json.Marshal
	// of this struct, domain/digest.go) stays what it was.
	LetterID *uuid.UUID `json:",omitempty"`
}

// Party returns who the contract is with and its CPAM (domain.Signature).
func (c SignContract) Party() (name, cpam string) { return c.CPTS.Name, c.CPAM }

// StartMission records a mission's start.
type StartMission struct {
	CommandMeta
	Mission   string
	StartedOn domain.Date
}

// DeployMission records a mission's full deployment.
type DeployMission struct {
	CommandMeta
	Mission    string
	DeployedOn domain.Date
}

// ReportIndicators reports a contract year's indicator values.
type ReportIndicators struct {
	CommandMeta
	ContractYear int
	ReportedOn   domain.Date
	Values       []IndicatorValue
}

// DecideDuePayments and TerminateContract are the commands every scheme
// shares.
type (
	DecideDuePayments = domain.DecideDuePayments
	TerminateContract = domain.TerminateContract
)

func (SignContract) CommandType() string     { return CmdSignContract }
func (StartMission) CommandType() string     { return CmdStartMission }
func (DeployMission) CommandType() string    { return CmdDeployMission }
func (ReportIndicators) CommandType() string { return CmdReportIndicators }

// The wire forms: what a command line holds, before any conversion.

// wireParty is who a signature or a letter of intent is with: the CPTS,
// its ARS and CPAM, and the population it serves.
type wireParty struct {
	CPTS *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"cpts"`
	ARS        string                `json:"ars"`
	CPAM       string                `json:"cpam"`
	Population domain.NumberOrString `json:"population"`
}

// decode checks and converts the party's fields, each fault recorded in
// d's violations; ars is the agency's official spelling.
func (w wireParty) decode(d *domain.CommandDecoder) (cpts Party, ars, cpam string, population int64) {
	f := d.Fields()
	if w.CPTS == nil {
		d.V.Add(domain.CodeMissingField, "cpts", "is required: {\"id\":…,\"name\":…}")
	} else {
		cpts = Party{ID: w.CPTS.ID, Name: w.CPTS.Name}
		f.Name("cpts.id", w.CPTS.ID)
		f.Name("cpts.name", w.CPTS.Name)
	}
	ars = checkARS(f, "ars", w.ARS)
	f.Name("cpam", w.CPAM)
	if p, ok := f.Int("population", w.Population.Number()); ok {
		population = p
	}
	return cpts, ars, w.CPAM, population
}

type wireSign struct {
	domain.WireHeader
	wireParty
	SignedOn      string   `json:"signed_on"`
	Missions      []string `json:"missions"`
	SNPRegulation *bool    `json:"snp_regulation"`
	LetterID      string   `json:"letter_id"`
	Indicators    []struct {
		Mission string                `json:"mission"`
		Code    string                `json:"code"`
		Weight  domain.NumberOrString `json:"weight"`
		Target  domain.NumberOrString `json:"target"`
	} `json:"indicators"`
}

type wireStart struct {
	domain.WireHeader
	Mission   string `json:"mission"`
	StartedOn string `json:"started_on"`
}

type wireDeploy struct {
	domain.WireHeader
	Mission    string `json:"mission"`
	DeployedOn string `json:"deployed_on"`
}

type wireReport struct {
	domain.WireHeader
	ContractYear domain.NumberOrString `json:"contract_year"`
	ReportedOn   string                `json:"reported_on"`
	Values       []struct {
		Mission string                `json:"mission"`
		Code    string                `json:"code"`
		Value   domain.NumberOrString `json:"value"`
	} `json:"values"`
}

// DecodeCommand decodes one command line of this scheme. Every field that
// is missing or does not parse is reported, by name, in a
// *domain.RejectedError.
func DecodeCommand(raw []byte) (Command, error) { return decodeCommand(raw, defaultRules.Calendar()) }

func decodeCommand(raw []byte, dates domain.Calendar) (Command, error) {
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
	f, meta := d.Fields(), d.Meta
	var cmd Command
	switch d.Header.Type {
	case CmdSignContract:
		c, err := decodeSign(d)
		if err != nil {
			return nil, err
		}
		cmd = c
	case CmdStartMission:
		var w wireStart
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		f.Name("mission", w.Mission)
		cmd = StartMission{CommandMeta: meta(w.WireHeader), Mission: w.Mission, StartedOn: f.Date("started_on", w.StartedOn)}
	case CmdDeployMission:
		var w wireDeploy
		if err := d.Decode(&w); err != nil {
			return nil, err
		}
		f.Name("mission", w.Mission)
		cmd = DeployMission{CommandMeta: meta(w.WireHeader), Mission: w.Mission, DeployedOn: f.Date("deployed_on", w.DeployedOn)}
	case CmdReportIndicators:
		c, err := decodeReport(d)
		if err != nil {
			return nil, err
		}
		cmd = c
	case CmdValidateLetterOfIntent:
		c, err := decodeLetter(d)
		if err != nil {
			return nil, err
		}
		cmd = c
	default:
		return nil, domain.UnknownCommand(d.Header.Type, CmdSignContract)
	}
	return d.Result(cmd)
}

// decodeSign decodes a SignContract, adding every field at fault to d's
// violations.
func decodeSign(d *domain.CommandDecoder) (SignContract, error) {
	vs, f := &d.V, d.Fields()
	var w wireSign
	if err := d.Decode(&w); err != nil {
		return SignContract{}, err
	}
	c := SignContract{CommandMeta: d.Meta(w.WireHeader), SignedOn: f.Date("signed_on", w.SignedOn), Missions: w.Missions}
	c.CPTS, c.ARS, c.CPAM, c.Population = w.wireParty.decode(d)
	if w.LetterID != "" {
		id := f.UUID("letter_id", w.LetterID)
		c.LetterID = &id
	}
	if w.Missions == nil {
		vs.Add(domain.CodeMissingField, "missions", "is required")
	} else if f.List("missions", len(w.Missions)) {
		for i, m := range w.Missions {
			f.OptionalName(fmt.Sprintf("missions[%d]", i), m)
		}
	}
	if w.SNPRegulation == nil {
		vs.Add(domain.CodeMissingField, "snp_regulation", "is required (true or false)")
	} else {
		c.SNPRegulation = *w.SNPRegulation
	}
	if w.Indicators == nil {
		vs.Add(domain.CodeMissingField, "indicators", "is required")
	} else if !f.List("indicators", len(w.Indicators)) {
		w.Indicators = nil
	}
	for i, in := range w.Indicators {
		field := fmt.Sprintf("indicators[%d]", i)
		f.Name(field+".mission", in.Mission)
		f.Name(field+".code", in.Code)
		weight, _ := f.Decimal(field+".weight", in.Weight.Number())
		target, _ := f.Decimal(field+".target", in.Target.Number())
		c.Indicators = append(c.Indicators, Indicator{Mission: in.Mission, Code: in.Code, Weight: weight, Target: target})
	}
	return c, nil
}

// decodeReport decodes a ReportIndicators, adding every field at fault to
// d's violations.
func decodeReport(d *domain.CommandDecoder) (ReportIndicators, error) {
	vs, f := &d.V, d.Fields()
	var w wireReport
	if err := d.Decode(&w); err != nil {
		return ReportIndicators{}, err
	}
	c := ReportIndicators{CommandMeta: d.Meta(w.WireHeader), ReportedOn: f.Date("reported_on", w.ReportedOn)}
	if y, ok := f.Int("contract_year", w.ContractYear.Number()); ok {
		c.ContractYear = int(y)
	}
	if w.Values == nil {
		vs.Add(domain.CodeMissingField, "values", "is required")
	} else if !f.List("values", len(w.Values)) {
		w.Values = nil
	}
	for i, v := range w.Values {
		field := fmt.Sprintf("values[%d]", i)
		f.Name(field+".mission", v.Mission)
		f.Name(field+".code", v.Code)
		val, _ := f.Decimal(field+".value", v.Value.Number())
		c.Values = append(c.Values, IndicatorValue{Mission: v.Mission, Code: v.Code, Value: val})
	}
	return c, nil
}
