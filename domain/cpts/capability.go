package cpts

import (
	"fmt"
	"slices"

	"github.com/cptsledger/ledger/domain"
	"github.com/google/uuid"
)

// The CPTS scheme's reference facts (domain.ReferenceFacts): the rulebook
// amendments and the crisis recognitions, each rule of them here, once.
var _ domain.ReferenceFacts = definition{}

func (definition) ReferenceStreams() []string {
	return []string{RulebooksStream, CrisesStream, PayersStream}
}
func (definition) ReferenceCommands() []string               { return ReferenceCommands() }
func (definition) ReferenceStream(commandType string) string { return ReferenceStream(commandType) }
func (definition) NewReference() domain.Reference            { return &Reference{} }

func (d definition) DecodeReferenceCommand(raw []byte) (domain.Command, error) {
	return DecodeReferenceCommand(raw, d.rules.Calendar())
}

func (d definition) DecideReference(ref domain.Reference, cmd domain.Command) ([]domain.Event, error) {
	r, err := referenceOf(ref)
	if err != nil {
		return nil, err
	}
	return DecideReference(r, d.rules, cmd)
}

// ContractNamed: a crisis recognised for one contract names it.
func (definition) ContractNamed(cmd domain.Command) (uuid.UUID, bool) {
	if rc, ok := cmd.(RecogniseCrisis); ok && rc.ContractID != nil {
		return *rc.ContractID, true
	}
	return uuid.Nil, false
}

// CheckNamed refuses a recognition for one contract that is not a CPTS
// contract signed with the ARS that recognises the crisis.
func (definition) CheckNamed(cmd domain.Command, st domain.State) error {
	rc, ok := cmd.(RecogniseCrisis)
	if !ok || rc.ContractID == nil {
		return nil
	}
	c, _ := st.(*Contract)
	switch {
	case c == nil || !c.Signed:
		return domain.Reject(domain.CodeContractNotFound, "contract_id", fmt.Sprintf("no CPTS contract %s has been signed", *rc.ContractID))
	case !SameARS(c.Terms.ARS, rc.ARS):
		return domain.Reject(domain.CodeWrongContract, "contract_id", fmt.Sprintf("contract %s is followed by %s, not by %s", *rc.ContractID, c.Terms.ARS, rc.ARS))
	}
	return nil
}

// Reaches: a recognition corrected (ended, shortened, withdrawn) may take
// back crisis supplements from the contracts of its ARS (or its one
// contract); a retroactive amendment may change the amounts of any
// contract — a correction of its terms may have moved it to a tier the
// amendment sets since its signature. Nothing else takes money back.
func (definition) Reaches(ref domain.Reference, e domain.Event) func(signature domain.Event) bool {
	r, _ := ref.(*Reference)
	switch e := e.(type) {
	case CrisisRecognitionCorrected:
		i := -1
		if r != nil {
			i = slices.IndexFunc(r.Recognitions, func(x Recognition) bool { return x.ID == e.Corrects })
		}
		if i < 0 {
			return nil
		}
		rec := r.Recognitions[i]
		return func(sig domain.Event) bool {
			s, ok := sig.(ContractSigned)
			return ok && rec.Reaches(s.ARS, s.ContractID)
		}
	case RulebookAmendmentPublished:
		if !e.Retroactive {
			return nil // it fills amounts not published, or rules lines dated after its publication
		}
		return func(sig domain.Event) bool { _, ok := sig.(ContractSigned); return ok }
	}
	return nil
}

func (definition) CheckReference(st domain.State, ref domain.Reference, on domain.Date) error {
	c, ok := st.(*Contract)
	if !ok {
		return nil
	}
	r, err := referenceOf(ref)
	if err != nil {
		return err
	}
	return c.CheckReference(r, on)
}

// WithReference hands a DecideDuePayments the facts as they stand.
func (definition) WithReference(cmd domain.Command, ref domain.Reference) domain.Command {
	switch c := cmd.(type) {
	case domain.DecideDuePayments:
		c.Reference = ref
		return c
	case ValidateLetterOfIntent:
		c.Reference, _ = ref.(*Reference)
		return c
	}
	return cmd
}

// ForecastWith is Forecast with the reference facts the decisions would
// note first.
func (definition) ForecastWith(state domain.State, until domain.Date, ref domain.Reference) ([]domain.Due, error) {
	c, ok := state.(*Contract)
	if !ok {
		return nil, fmt.Errorf("%T is not this scheme's contract", state)
	}
	r, err := referenceOf(ref)
	if err != nil {
		return nil, err
	}
	return c.ForecastWith(until, r)
}

// referenceOf is the CPTS fold behind a domain.Reference (nil: none).
func referenceOf(ref domain.Reference) (*Reference, error) {
	if ref == nil {
		return nil, nil
	}
	r, ok := ref.(*Reference)
	if !ok {
		return nil, fmt.Errorf("cpts: %T is not the CPTS reference", ref)
	}
	return r, nil
}

// RulesOf returns the rulebooks of a CPTS scheme, or false for another
// scheme.
func RulesOf(s domain.Scheme) (*Rules, bool) {
	d, ok := s.(definition)
	if !ok {
		return nil, false
	}
	return d.rules, true
}
