package domain

import (
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/uuid"
)

// DecideDuePayments decides every payment due on or before AsOf: the same
// command in every scheme.
type DecideDuePayments struct {
	CommandMeta
	AsOf Date
	// Reference is what the command path read of the reference facts the
	// scheme's decisions may depend on (cpts: rulebook amendments and
	// crisis recognitions), or nil. It is not part of the command: never
	// encoded, nor in its digest.
	Reference Reference `json:"-"`
}

// TerminateContract ends a contract early: the same command in every
// scheme.
type TerminateContract struct {
	CommandMeta
	TerminatedOn Date
	Reason       string
	// RecordedOn is the day the ledger records the command, set by the
	// command path (zero: a replayed history): the prescription of what
	// a back-dated termination takes back is judged on the later of it
	// and TerminatedOn (JudgedOn). Not part of the command: never
	// encoded, nor in its digest.
	RecordedOn Date `json:"-"`
}

func (DecideDuePayments) CommandType() string { return CmdDecideDuePayments }
func (TerminateContract) CommandType() string { return CmdTerminateContract }

// WireHeader is the header of a command line as written, before checks.
type WireHeader struct {
	Type       string `json:"type"`
	CommandID  string `json:"command_id"`
	ContractID string `json:"contract_id"`
}

// WireCorrection is what every correction command line holds.
type WireCorrection struct {
	WireHeader
	Corrects    string `json:"corrects"`
	CorrectedOn string `json:"corrected_on"`
	Reason      string `json:"reason"`
}

// Meta checks and converts the correction's fields.
func (w WireCorrection) Meta(f Fields) CorrectionMeta {
	return f.DecodeCorrection(w.Corrects, w.CorrectedOn, w.Reason)
}

// CommandDecoder carries what decoding one command line needs in every
// scheme: the line, its header, and the violations found so far.
type CommandDecoder struct {
	Raw    []byte
	Header Header
	V      Violations
	// Dates is the span every date of the command must fall in.
	Dates Calendar
}

// NewCommandDecoder reads a line's header; dates is the span of dates the
// scheme judges.
func NewCommandDecoder(raw []byte, dates Calendar) (*CommandDecoder, error) {
	h, err := PeekHeader(raw)
	if err != nil {
		return nil, err
	}
	return &CommandDecoder{Raw: raw, Header: h, Dates: dates}, nil
}

// Fields returns the field converters that record into the decoder.
func (d *CommandDecoder) Fields() Fields { return Fields{V: &d.V, Dates: d.Dates} }

// Decode reads the whole line into v, strictly.
func (d *CommandDecoder) Decode(v any) error { return DecodeStrict(d.Raw, v) }

// Meta checks and converts the command id and contract id.
func (d *CommandDecoder) Meta(w WireHeader) CommandMeta {
	return d.MetaOf(w.CommandID, "contract_id", w.ContractID)
}

// MetaOf checks a command id and the id of the aggregate the command is
// about, under its field's name (a letter of intent: letter_id).
func (d *CommandDecoder) MetaOf(commandID, idField, id string) CommandMeta {
	f := d.Fields()
	if f.Required("command_id", commandID) {
		f.checkText("command_id", commandID, MaxCommandIDLength, textName)
	}
	return CommandMeta{CommandID: commandID, ContractID: f.UUID(idField, id)}
}

// Result returns cmd, or the violations found.
func (d *CommandDecoder) Result(cmd Command) (Command, error) {
	if err := d.V.Err(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// DecodeShared decodes the commands every scheme has (DecideDuePayments,
// TerminateContract); ok is false for any other type.
func (d *CommandDecoder) DecodeShared() (cmd Command, ok bool, err error) {
	f := d.Fields()
	switch d.Header.Type {
	case CmdDecideDuePayments:
		var w struct {
			WireHeader
			AsOf string `json:"as_of"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		cmd, err = d.Result(DecideDuePayments{CommandMeta: d.Meta(w.WireHeader), AsOf: f.Date("as_of", w.AsOf)})
		return cmd, true, err
	case CmdTerminateContract:
		var w struct {
			WireHeader
			TerminatedOn string `json:"terminated_on"`
			Reason       string `json:"reason"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		f.Reason("reason", w.Reason)
		cmd, err = d.Result(TerminateContract{CommandMeta: d.Meta(w.WireHeader), TerminatedOn: f.Date("terminated_on", w.TerminatedOn), Reason: w.Reason})
		return cmd, true, err
	case CmdCorrectTermination:
		var w struct {
			WireCorrection
			TerminatedOn string `json:"terminated_on"`
		}
		if err := d.Decode(&w); err != nil {
			return nil, true, err
		}
		cmd, err = d.Result(&CorrectTermination{CommandMeta: d.Meta(w.WireHeader), CorrectionMeta: w.Meta(f),
			TerminatedOn: f.Date("terminated_on", w.TerminatedOn)})
		return cmd, true, err
	}
	return d.decodeTreasury()
}

// UnknownCommand is the rejection of a line whose type no scheme has.
func UnknownCommand(typ, example string) error {
	if typ == "" {
		return Reject(CodeMissingField, "type", fmt.Sprintf("is required: the command type, e.g. %q", example))
	}
	return Reject(CodeUnknownCommand, "type", fmt.Sprintf("%q is not a command type", typ))
}

// CheckTarget applies what every command's target obeys: the command names
// this contract, and the contract has been signed unless the command signs
// it.
func CheckTarget(contract uuid.UUID, signed bool, cmd Command, signs bool) error {
	if cmd.Meta().ContractID != contract {
		return Reject(CodeWrongContract, "contract_id", fmt.Sprintf("the command is for contract %s, not %s", cmd.Meta().ContractID, contract))
	}
	if !signs && !signed {
		return Reject(CodeContractNotFound, "contract_id", fmt.Sprintf("no contract %s has been signed", contract))
	}
	return nil
}

// EventDecoders maps a scheme's event types to their decoders.
type EventDecoders map[string]func([]byte) (Event, error)

// DecodeAs decodes an event of type T. It uses encoding/json/v2's decoder
// (go-json-experiment), about three times faster than encoding/json's with
// a third of the allocations: every fold of the log decodes every event.
// What it reads was written by encoding/json from the same types: names
// match exactly, and no duplicate name or invalid UTF-8 can be stored.
func DecodeAs[T Event](data []byte) (Event, error) {
	var v T
	err := jsonv2.Unmarshal(data, &v)
	return v, err
}

// Decode turns a stored event's type and data back into an event of the
// scheme; a schema version other than SchemaVersion needs an upcaster here.
func (d EventDecoders) Decode(scheme, typ string, schemaVersion int, data []byte) (Event, error) {
	dec, ok := d[typ]
	if !ok {
		return nil, fmt.Errorf("%s: unknown event type %q", scheme, typ)
	}
	if schemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: %s schema version %d is not known", scheme, typ, schemaVersion)
	}
	e, err := dec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: decode %s: %w", scheme, typ, err)
	}
	return e, nil
}
