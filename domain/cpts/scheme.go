package cpts

import (
	"fmt"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// definition is the CPTS scheme as the command path sees it.
type definition struct{ rules *Rules }

var defaultDefinition = definition{rules: defaultRules}

// Default returns the CPTS scheme with the embedded rulebooks.
func Default() domain.Scheme { return defaultDefinition }

// NewScheme returns the CPTS scheme ruled by another set of rulebooks
// (ExamplesRules for the worked examples).
func NewScheme(rules *Rules) domain.Scheme { return definition{rules: rules} }

// Examples returns the CPTS scheme under ExamplesRules.
func Examples() domain.Scheme { return NewScheme(ExamplesRules()) }

func (definition) Name() string { return Scheme }

// Rules returns the rulebooks the scheme judges by.
func (d definition) Rules() *Rules { return d.rules }

func (definition) Commands() []string {
	return []string{CmdSignContract, CmdStartMission, CmdDeployMission, CmdReportIndicators,
		CmdCorrectReport, CmdCorrectMissionDate, CmdCorrectContractTerms, CmdValidateLetterOfIntent}
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
		return nil, fmt.Errorf("cpts: state %T is not a CPTS contract", state)
	}
	return Decide(c, cmd)
}

func (definition) DecodeEvent(typ string, v int, data []byte) (domain.Event, error) {
	return DecodeEvent(typ, v, data)
}

func (definition) EventTypes() []string { return EventTypes() }
