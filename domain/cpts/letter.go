package cpts

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// The letter of intent (avenant 2): before any contract, the ARS validates
// a CPTS's letter of intent, and the CPTS is paid an aid by tier
// (15 000 / 17 500 / 25 000 / 30 000 under aci-2022). A letter is an
// aggregate of this scheme with its own stream (cpts-<letter_id>), the
// aid decided with its validation; a contract signed later may name it
// (SignContract.letter_id): one letter, one aid, and at most one contract
// following it. A letter never followed keeps its aid.

// Command, event and payment kind of the letter of intent.
const (
	CmdValidateLetterOfIntent   = "ValidateLetterOfIntent"
	TypeLetterOfIntentValidated = "LetterOfIntentValidated"
	KindLetterOfIntent          = "letter_of_intent"
)

// LetterOfIntentValidated: the ARS validates a CPTS's letter of intent.
type LetterOfIntentValidated struct {
	LetterID    uuid.UUID   `json:"letter_id"`
	CPTS        Party       `json:"cpts"`
	ARS         string      `json:"ars"`
	CPAM        string      `json:"cpam"`
	Population  int         `json:"population"`
	Tier        string      `json:"tier"`
	Rulebook    string      `json:"rulebook"`
	ValidatedOn domain.Date `json:"validated_on"`
}

func (LetterOfIntentValidated) EventType() string           { return TypeLetterOfIntentValidated }
func (e LetterOfIntentValidated) BusinessDate() domain.Date { return e.ValidatedOn }

// Party returns the letter's CPTS and its CPAM.
func (e LetterOfIntentValidated) Party() (name, cpam string) { return e.CPTS.Name, e.CPAM }

// ValidateLetterOfIntent records the ARS's validation of a letter and
// decides its aid; its ContractID is the letter's id. Reference is the
// reference facts as they stand (an amendment of the aid), set by the
// command path (WithReference).
type ValidateLetterOfIntent struct {
	CommandMeta
	CPTS        Party
	ARS         string
	CPAM        string
	Population  int64
	ValidatedOn domain.Date
	Reference   *Reference
}

func (ValidateLetterOfIntent) CommandType() string { return CmdValidateLetterOfIntent }

// TakesReference implements domain.ReferenceTaker: the aid in force may be
// an amendment's.
func (ValidateLetterOfIntent) TakesReference() {}

// Party makes the validation a signature of the command path: it creates
// its stream, claims its id, and an identity limited to a CPAM may record
// only its own CPAM's letters.
func (c ValidateLetterOfIntent) Party() (name, cpam string) { return c.CPTS.Name, c.CPAM }

type wireLetter struct {
	Type      string `json:"type"`
	CommandID string `json:"command_id"`
	LetterID  string `json:"letter_id"`
	wireParty
	ValidatedOn string `json:"validated_on"`
}

// decodeLetter decodes a ValidateLetterOfIntent, adding every field at
// fault to d's violations.
func decodeLetter(d *domain.CommandDecoder) (ValidateLetterOfIntent, error) {
	var w wireLetter
	if err := d.Decode(&w); err != nil {
		return ValidateLetterOfIntent{}, err
	}
	c := ValidateLetterOfIntent{CommandMeta: d.MetaOf(w.CommandID, "letter_id", w.LetterID), ValidatedOn: d.Fields().Date("validated_on", w.ValidatedOn)}
	c.CPTS, c.ARS, c.CPAM, c.Population = w.wireParty.decode(d)
	return c, nil
}

// decideLetter validates a letter on its empty stream: the rulebook in
// force on the validation day must hold a letter-of-intent aid (aci-2022,
// from 2022-04-01); the tier comes from the population; the aid is the
// amount in force that day (the rulebook's, or an amendment's, cited).
func decideLetter(c *Contract, cmd ValidateLetterOfIntent) ([]Event, error) {
	switch {
	case c.Letter != nil:
		return nil, domain.Reject(CodeLetterValidated, "letter_id", fmt.Sprintf("letter %s was validated on %s and its aid decided: one letter, one aid", c.ID, c.Letter.ValidatedOn))
	case c.Signed:
		return nil, domain.Reject(domain.CodeContractExists, "letter_id", fmt.Sprintf("%s is the id of the contract signed on %s: a letter has an id of its own", c.ID, c.Terms.SignedOn))
	}
	var vs domain.Violations
	rb, ok := c.rules.InForce(cmd.ValidatedOn)
	if !ok || len(rb.LetterOfIntent) == 0 {
		vs.Add(CodeNoLetterOfIntentAid, "validated_on", fmt.Sprintf("no letter-of-intent aid on %s: avenant 2 created it from 2022-04-01 (aci-2022)", cmd.ValidatedOn))
		return nil, vs.Err()
	}
	var tier Tier
	if cmd.Population <= 0 {
		vs.Add(CodePopulationNotPositive, "population", fmt.Sprintf("must be a positive whole number, got %d", cmd.Population))
	} else if t, ok := rb.TierFor(int(cmd.Population)); ok {
		tier = t
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	v := LetterOfIntentValidated{LetterID: c.ID, CPTS: cmd.CPTS, ARS: cmd.ARS, CPAM: cmd.CPAM, Population: int(cmd.Population),
		Tier: tier.Code, Rulebook: rb.ID, ValidatedOn: cmd.ValidatedOn}
	return []Event{v, c.rules.letterAid(v, cmd.Reference)}, nil
}

// letterAid is the payment of a letter validated: the aid of its tier in
// force on the validation day, due and decided that day.
func (r *Rules) letterAid(v LetterOfIntentValidated, ref *Reference) PaymentDecided {
	rb, _ := r.ByID(v.Rulebook)
	if ref == nil {
		ref = &Reference{}
	}
	aid, by, _ := ref.AgreementInForce(r, rb, v.Tier, ComponentLetterOfIntent, v.ValidatedOn)
	line := domain.NewLine("", ComponentLetterOfIntent, domain.ExactDecimal(aid).Cents(), domain.FormulaLetterOfIntent, "tier", v.Tier, "aid", aid)
	if by != nil {
		line.Rulebook = rb.ID
		line.Amendment = &domain.AmendmentRef{EventID: by.EventID, ID: by.AmendmentID}
	}
	return PaymentDecided{PaymentID: PaymentID(v.LetterID, KindLetterOfIntent, 0, ""), ContractID: v.LetterID, Kind: KindLetterOfIntent,
		DueOn: v.ValidatedOn, DecidedOn: v.ValidatedOn, Status: StatusDecided, Amount: line.Amount, Rulebook: rb.ID,
		Rule: ruleText[KindLetterOfIntent], Lines: []Line{line}}
}

// notALetter refuses a command other than its validation on a letter's
// stream.
func notALetter(c *Contract, cmd Command) error {
	if c.Letter == nil {
		return nil
	}
	if _, ok := cmd.(ValidateLetterOfIntent); ok {
		return nil
	}
	return domain.Reject(domain.CodeContractNotFound, "contract_id", fmt.Sprintf("%s is a letter of intent validated on %s, not a contract: its aid was decided with it; the contract that follows it has its own id and names it (letter_id)", c.ID, c.Letter.ValidatedOn))
}

// Follows implements domain.Follower: a signature naming the letter of
// intent it follows, and the claim that lets one contract only follow it.
func (definition) Follows(cmd domain.Command) (uuid.UUID, string, bool) {
	s, ok := cmd.(SignContract)
	if !ok || s.LetterID == nil {
		return uuid.Nil, "", false
	}
	return *s.LetterID, "letter/" + s.LetterID.String(), true
}

// CheckFollows implements domain.Follower: the letter a signature names
// was validated, for the same CPTS, on or before the signature.
func (definition) CheckFollows(cmd domain.Command, followed domain.State) error {
	s, _ := cmd.(SignContract)
	l, _ := followed.(*Contract)
	if l == nil || l.Letter == nil {
		return domain.Reject(CodeUnknownLetter, "letter_id", fmt.Sprintf("no letter of intent %s has been validated", *s.LetterID))
	}
	var vs domain.Violations
	if l.Letter.CPTS.ID != s.CPTS.ID {
		vs.Add(CodeLetterOtherCPTS, "letter_id", fmt.Sprintf("letter %s is CPTS %q's (%s), not %q's", l.ID, l.Letter.CPTS.ID, l.Letter.CPTS.Name, s.CPTS.ID))
	}
	if s.SignedOn.Before(l.Letter.ValidatedOn) {
		vs.Add(CodeSignedBeforeLetter, "signed_on", fmt.Sprintf("%s is before the letter's validation on %s", s.SignedOn, l.Letter.ValidatedOn))
	}
	return vs.Err()
}

// Followed implements domain.Follower: the rejection of a signature naming
// a letter another contract follows (its claim was refused).
func (definition) Followed(letter uuid.UUID, owner string) error {
	by := owner
	if id, ok := ContractOfStream(owner); ok {
		by = id.String()
	}
	return domain.Reject(CodeLetterFollowed, "letter_id", fmt.Sprintf("letter %s is followed by contract %s: one letter, one contract", letter, by))
}
