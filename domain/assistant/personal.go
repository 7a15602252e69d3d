package assistant

import (
	"fmt"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
)

// The aid is paid to doctors: what identifies one in the events of an aid
// contract's stream is sealed under the doctor's key (domain/personal.go,
// docs/privacy.md), and erased by destroying it (ErasePersonalData).

// personalFields are the fields of an aid contract's events that identify
// the doctor: the RPPS number and birth date, the bank account (an IBAN and
// a holder name are the doctor's), and the free texts written about them.
var personalFields = map[string][]domain.PersonalField{
	TypeAidContractSigned:           {{Path: "doctor.rpps", Text: true}, {Path: "doctor.born_on"}},
	TypeContractTerminated:          {{Path: "reason", Text: true}},
	TypeTerminationCorrected:        {{Path: "reason", Text: true}},
	TypePatienteleCorrected:         {{Path: "reason", Text: true}},
	TypeHiringCorrected:             {{Path: "reason", Text: true}},
	domain.TypeBankAccountRecorded:  {{Path: "iban", Text: true}, {Path: "bic", Text: true}, {Path: "holder", Text: true}},
	domain.TypePaymentOrdered:       {{Path: "iban", Text: true}, {Path: "bic", Text: true}, {Path: "holder", Text: true}},
	domain.TypeOverpaymentContested: {{Path: "reason", Text: true}},
	domain.TypeContestDecided:       {{Path: "reason", Text: true}},
}

// PersonalFields implements domain.PersonalScheme.
func (definition) PersonalFields(eventType string) []domain.PersonalField {
	return personalFields[eventType]
}

// PersonOf implements domain.PersonalScheme: the doctor, by RPPS number,
// from the signature among the events or in the state. A doctor whose
// number cannot be read (erased, or its key missing) is no one to seal for.
func (definition) PersonOf(state domain.State, events []domain.Event) (string, bool) {
	for _, e := range events {
		if s, ok := e.(AidContractSigned); ok {
			return s.Doctor.RPPS, rppsPattern.MatchString(s.Doctor.RPPS)
		}
	}
	c, ok := state.(*Contract)
	if !ok || !c.Signed {
		return "", false
	}
	return c.Terms.Doctor.RPPS, rppsPattern.MatchString(c.Terms.Doctor.RPPS)
}

// WithKeys returns the scheme sealing and opening its events' personal
// fields with keys (the data directory's key store).
func (d definition) WithKeys(keys domain.Keyring) domain.Scheme {
	d.keys = keys
	return d
}

// SealEvents implements domain.Sealer. A signature learns its key id (the
// state folded from it then knows what an erasure destroys).
func (d definition) SealEvents(state domain.State, events []domain.Event, ids []uuid.UUID, data [][]byte) error {
	if d.keys == nil {
		return nil
	}
	for i, e := range events {
		fields := personalFields[e.EventType()]
		if len(fields) == 0 {
			continue
		}
		person, ok := d.PersonOf(state, events)
		if !ok {
			return domain.Reject(CodePersonalKeyMissing, "contract_id", fmt.Sprintf("%s would write the doctor's personal data, but their RPPS number cannot be read: the key store does not hold their key (restore it with the log, docs/privacy.md)", e.EventType()))
		}
		sealed, err := domain.SealData(d.keys, person, ids[i], data[i], fields)
		if err != nil {
			return err
		}
		data[i] = sealed
		if s, ok := e.(AidContractSigned); ok {
			s.PersonalKey, _ = domain.SealedKey(sealed)
			events[i] = s
		}
	}
	return nil
}

// KeyDigest implements domain.Sealer: the digest of every command on an
// aid contract is keyed by its doctor's key.
func (d definition) KeyDigest(state domain.State, events []domain.Event, digest []byte) ([]byte, error) {
	if d.keys == nil {
		return digest, nil
	}
	person, ok := d.PersonOf(state, events)
	if !ok {
		return digest, nil
	}
	_, key, err := d.keys.KeyFor(person)
	if err != nil {
		return nil, err
	}
	return domain.KeyedDigest(key, digest), nil
}

// OpenPersonal implements domain.PersonalOpener.
func (d definition) OpenPersonal(eventType string, data []byte) ([]byte, *domain.Opened, error) {
	return domain.OpenData(d.keys, data, personalFields[eventType])
}

// DecodeWith opens an event's personal fields with keys (nil: none, they
// read KeyMissingText), then decodes it.
func DecodeWith(keys domain.Keyring, typ string, schemaVersion int, data []byte) (domain.Event, error) {
	opened, o, err := domain.OpenData(keys, data, personalFields[typ])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	e, err := decoders.Decode(Scheme, typ, schemaVersion, opened)
	if err != nil || o == nil {
		return e, err
	}
	if s, ok := e.(AidContractSigned); ok {
		s.PersonalKey = o.KeyID
		return s, nil
	}
	return e, nil
}

// Command and event of an erasure.
const (
	CmdErasePersonalData   = "ErasePersonalData"
	TypePersonalDataErased = "PersonalDataErased"
)

// ErasePersonalData records that the doctor's personal data are erased: the
// key that seals them is destroyed once every contract of the doctor has
// recorded it (ledger erase). ErasedOn is the day the ledger records it.
type ErasePersonalData struct {
	domain.CommandMeta
	Reason     string
	LegalBasis string
	ErasedOn   domain.Date
}

func (ErasePersonalData) CommandType() string { return CmdErasePersonalData }

// Stamp dates an erasure on the day the ledger records it.
func (c ErasePersonalData) Stamp(day domain.Date) domain.Command {
	if c.ErasedOn.IsZero() {
		c.ErasedOn = day
	}
	return c
}

// ActDate makes an erasure an act dated on its recording day: the
// retention period is judged on it.
func (c ErasePersonalData) ActDate() (string, domain.Date) { return "erased_on", c.ErasedOn }

// PersonalDataErased: the doctor's key is destroyed; what it sealed reads
// ErasedText everywhere. It holds no personal data: the key's id, the day,
// why and, before the end of the retention period, on what legal basis.
type PersonalDataErased struct {
	ContractID    uuid.UUID   `json:"contract_id"`
	KeyID         string      `json:"key_id"`
	ErasedOn      domain.Date `json:"erased_on"`
	RetentionEnds domain.Date `json:"retention_ends"`
	Reason        string      `json:"reason"`
	LegalBasis    string      `json:"legal_basis,omitempty"`
}

func (PersonalDataErased) EventType() string           { return TypePersonalDataErased }
func (e PersonalDataErased) BusinessDate() domain.Date { return e.ErasedOn }

type wireErase struct {
	domain.WireHeader
	Reason     string `json:"reason"`
	LegalBasis string `json:"legal_basis"`
	ErasedOn   string `json:"erased_on"`
}

func decodeErase(d *domain.CommandDecoder) (domain.Command, error) {
	var w wireErase
	if err := d.Decode(&w); err != nil {
		return nil, err
	}
	f := d.Fields()
	c := ErasePersonalData{CommandMeta: d.Meta(w.WireHeader), Reason: w.Reason, LegalBasis: w.LegalBasis}
	if f.Required("reason", w.Reason) {
		f.Reason("reason", w.Reason)
	}
	if w.LegalBasis != "" {
		f.Reason("legal_basis", w.LegalBasis)
	}
	if w.ErasedOn != "" {
		c.ErasedOn = f.Date("erased_on", w.ErasedOn)
	}
	return d.Result(c)
}

// RetentionEnds is the day the doctor's personal data may be erased from:
// the rulebook's retention period after the later of the signature and
// the last payment (decided, ordered, booked, returned, notified or
// repaid) of the contract (docs/domain.md §3.6, interpretation).
func (c *Contract) RetentionEnds() domain.Date {
	last := domain.MaxDate(c.Terms.SignedOn, c.Treasury.LastMovement())
	for _, p := range c.Payments {
		last = domain.MaxDate(last, p.DecidedOn)
	}
	return last.AddYears(c.Rulebook.PersonalDataRetentionYears)
}

func decideErase(c *Contract, cmd ErasePersonalData) ([]domain.Event, error) {
	var vs domain.Violations
	ends := c.RetentionEnds()
	switch {
	case c.Terms.PersonalKey == "":
		vs.Add(CodeNotSealed, "contract_id", "the doctor's data were recorded in clear (before personal data were sealed): no key erases them (docs/privacy.md)")
	case cmd.ErasedOn.IsZero():
		vs.Add(domain.CodeMissingField, "erased_on", "is required")
	case cmd.ErasedOn.Before(ends) && cmd.LegalBasis == "":
		vs.Add(CodeRetentionNotOver, "erased_on", fmt.Sprintf("the doctor's data are kept until %s (the later of the signature and the last payment + %d years, rulebook personal_data_retention_years); erasing before needs a legal basis (legal_basis)",
			ends, c.Rulebook.PersonalDataRetentionYears))
	}
	if err := vs.Err(); err != nil {
		return nil, err
	}
	return []domain.Event{PersonalDataErased{ContractID: c.ID, KeyID: c.Terms.PersonalKey, ErasedOn: cmd.ErasedOn, RetentionEnds: ends,
		Reason: cmd.Reason, LegalBasis: cmd.LegalBasis}}, nil
}
