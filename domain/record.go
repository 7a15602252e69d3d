package domain

import (
	"fmt"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
)

// PaymentRecord is a PaymentDecided as a read model stores it: every
// field decoded, except the breakdown (Lines), the withholding and the
// payments a regularisation corrects, kept as the JSON the event holds.
// Decoding the lines is most of the cost of folding the log, and a read
// model stores them as JSON: decoding them to encode them again would
// double a rebuild's time for the same text.
//
// It is the one second form of an event: decoded here, beside
// PaymentDecided, with the same schema-version check (an upcaster of
// PaymentDecided must be added to DecodePaymentRecord too), and
// TestPaymentRecordMirrorsPaymentDecided fails when a field of one is
// missing from the other.
type PaymentRecord struct {
	PaymentID    uuid.UUID      `json:"payment_id"`
	ContractID   uuid.UUID      `json:"contract_id"`
	Kind         string         `json:"kind"`
	ContractYear int            `json:"contract_year"`
	Mission      string         `json:"mission,omitempty"`
	DueOn        Date           `json:"due_on"`
	DecidedOn    Date           `json:"decided_on"`
	Status       string         `json:"status"`
	Amount       Money          `json:"amount"`
	Rulebook     string         `json:"rulebook"`
	Table        string         `json:"table,omitempty"`
	Rule         string         `json:"rule"`
	Lines        jsontext.Value `json:"lines"`
	Reason       string         `json:"reason,omitempty"`
	Withheld     jsontext.Value `json:"withheld,omitempty"`
	Corrects     jsontext.Value `json:"corrects,omitempty"`
}

func (PaymentRecord) EventType() string    { return TypePaymentDecided }
func (r PaymentRecord) BusinessDate() Date { return r.DecidedOn }

// DecodePaymentRecord decodes a stored PaymentDecided of any scheme as a
// PaymentRecord.
func DecodePaymentRecord(schemaVersion int, data []byte) (PaymentRecord, error) {
	var r PaymentRecord
	if schemaVersion != SchemaVersion {
		return r, fmt.Errorf("%s schema version %d is not known", TypePaymentDecided, schemaVersion)
	}
	if err := jsonv2.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("decode %s: %w", TypePaymentDecided, err)
	}
	return r, nil
}

// JSON returns a kept JSON value as text, or nil for an absent or null one
// (a column left NULL).
func (r PaymentRecord) JSON(v jsontext.Value) any {
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return string(v)
}
