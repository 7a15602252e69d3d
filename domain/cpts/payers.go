package cpts

import (
	"github.com/cptsledger/ledger/domain"
)

// The payer's accounts: each CPAM pays from an account of its own, a fact
// recorded like the rulebook amendments, in a reference stream of its own
// (payers-cpts), which the payment runs of every scheme read. The last
// account recorded for a CPAM, effective by a run's execution date, pays.

// PayersStream is the stream of the payers' accounts.
const PayersStream = "payers-cpts"

// CmdRecordPayerAccount records the account a CPAM pays from.
const CmdRecordPayerAccount = "RecordPayerAccount"

// TypePayerAccountRecorded is its event.
const TypePayerAccountRecorded = "PayerAccountRecorded"

// PayerAccountRecorded: the account a CPAM pays from, from EffectiveOn.
type PayerAccountRecorded struct {
	CPAM        string      `json:"cpam"`
	IBAN        string      `json:"iban"`
	BIC         string      `json:"bic,omitempty"`
	Name        string      `json:"name"`
	EffectiveOn domain.Date `json:"effective_on"`
}

func (PayerAccountRecorded) EventType() string           { return TypePayerAccountRecorded }
func (e PayerAccountRecorded) BusinessDate() domain.Date { return e.EffectiveOn }

// RecordPayerAccount is its command; EffectiveOn, when the line gives none,
// is the day the ledger records it (set by the command path).
type RecordPayerAccount struct {
	CommandID string
	PayerAccountRecorded
}

func (RecordPayerAccount) CommandType() string { return CmdRecordPayerAccount }
func (c RecordPayerAccount) Meta() domain.CommandMeta {
	return domain.CommandMeta{CommandID: c.CommandID}
}
func (c RecordPayerAccount) Stamp(day domain.Date) domain.Command {
	if c.EffectiveOn.IsZero() {
		c.EffectiveOn = day
	}
	return c
}

type wirePayer struct {
	Type        string `json:"type"`
	CommandID   string `json:"command_id"`
	CPAM        string `json:"cpam"`
	IBAN        string `json:"iban"`
	BIC         string `json:"bic"`
	Name        string `json:"name"`
	EffectiveOn string `json:"effective_on"`
}

func decodePayer(d *domain.CommandDecoder, commandID func(string) string) (Command, error) {
	var w wirePayer
	if err := d.Decode(&w); err != nil {
		return nil, err
	}
	f := d.Fields()
	c := RecordPayerAccount{CommandID: commandID(w.CommandID), PayerAccountRecorded: PayerAccountRecorded{CPAM: w.CPAM, Name: w.Name}}
	f.Name("cpam", w.CPAM)
	c.IBAN, c.BIC = f.IBAN("iban", w.IBAN), f.BIC("bic", w.BIC)
	f.Holder("name", w.Name)
	if w.EffectiveOn != "" {
		c.EffectiveOn = f.Date("effective_on", w.EffectiveOn)
	}
	return d.Result(c)
}

func decidePayer(c RecordPayerAccount) ([]Event, error) {
	if c.EffectiveOn.IsZero() {
		return nil, domain.Reject(domain.CodeMissingField, "effective_on", "is required when a history is replayed: the day the account pays from")
	}
	return []Event{c.PayerAccountRecorded}, nil
}

// PayerAccount implements domain.PayerAccounts: the account recorded last
// for the CPAM among those effective on day d.
func (r *Reference) PayerAccount(cpam string, d domain.Date) (domain.PayerAccount, bool) {
	for j := len(r.Payers) - 1; j >= 0; j-- {
		p := r.Payers[j]
		if domain.SameCPAM(p.CPAM, cpam) && !p.EffectiveOn.After(d) {
			return domain.PayerAccount{CPAM: p.CPAM, IBAN: p.IBAN, BIC: p.BIC, Name: p.Name}, true
		}
	}
	return domain.PayerAccount{}, false
}
