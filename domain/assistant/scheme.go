package assistant

import (
	"fmt"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

type definition struct {
	rules *Rules
	// keys seal and open the doctors' personal data (WithKeys); nil: they
	// are written in clear and sealed ones read KeyMissingText.
	keys domain.Keyring
}

// Default returns the assistant scheme with the embedded rulebooks.
func Default() domain.Scheme { return definition{rules: defaultRules} }

func (definition) Name() string { return Scheme }

func (definition) Commands() []string {
	return []string{CmdSignAidContract, CmdHireAssistant, CmdReportPatientele, CmdCorrectPatientele, CmdCorrectHiring,
		CmdExtendAssistant, CmdRecordCoordinatedPractice, CmdErasePersonalData}
}

func (d definition) DecodeCommand(raw []byte) (domain.Command, error) {
	return decodeCommand(raw, d.rules.Calendar())
}

func (d definition) Calendar() domain.Calendar { return d.rules.Calendar() }

func (definition) Forecast(state domain.State, until domain.Date) ([]domain.Due, error) {
	c, ok := state.(*Contract)
	if !ok {
		return nil, fmt.Errorf("%T is not this scheme's contract", state)
	}
	return c.Forecast(until)
}

func (d definition) NewState(id uuid.UUID) domain.State { return NewContractWith(id, d.rules) }

func (definition) Decide(state domain.State, cmd domain.Command) ([]domain.Event, error) {
	c, ok := state.(*Contract)
	if !ok {
		return nil, fmt.Errorf("assistant: state %T is not an aid contract", state)
	}
	return Decide(c, cmd)
}

func (d definition) DecodeEvent(typ string, v int, data []byte) (domain.Event, error) {
	return DecodeWith(d.keys, typ, v, data)
}

func (definition) EventTypes() []string { return EventTypes() }
