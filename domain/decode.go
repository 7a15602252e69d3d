package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Header is what every command carries.
type Header struct {
	Type       string `json:"type"`
	CommandID  string `json:"command_id"`
	ContractID string `json:"contract_id"`
}

// PeekHeader reads the type, command id and contract id of a command line
// without checking the rest.
func PeekHeader(raw []byte) (Header, error) {
	var h Header
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, decodeViolation(err)
	}
	return h, nil
}

// DecodeStrict decodes one JSON object into v, rejecting unknown fields and
// trailing data, and turns decoding errors into violations that name the
// field.
func DecodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return decodeViolation(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Reject("malformed_json", "", "the line holds more than one JSON value")
	}
	return nil
}

func decodeViolation(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Reject("malformed_json", "", fmt.Sprintf("not valid JSON at byte %d: %v", syn.Offset, syn))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(command)"
		}
		return Reject("invalid_type", field, fmt.Sprintf("must be a JSON %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return Reject("unknown_field", name, "is not a field of this command")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Reject("malformed_json", "", "the JSON object is incomplete")
	}
	return Reject("malformed_json", "", err.Error())
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return goKind
}

// Fields converts the text fields of a command into values, recording a
// violation for each one that does not parse.
type Fields struct {
	V *Violations
}

// Required records a violation when s is empty and reports whether it is set.
func (f Fields) Required(field, s string) bool {
	if strings.TrimSpace(s) == "" {
		f.V.Add("missing_field", field, "is required")
		return false
	}
	return true
}

// Date parses a required YYYY-MM-DD date.
func (f Fields) Date(field, s string) Date {
	if !f.Required(field, s) {
		return Date{}
	}
	d, err := ParseDate(s)
	if err != nil {
		f.V.Add("invalid_date", field, "must be a date YYYY-MM-DD, got "+quote(s))
	}
	return d
}

// UUID parses a required UUID in its canonical 36-character form.
func (f Fields) UUID(field, s string) uuid.UUID {
	if !f.Required(field, s) {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 || id == uuid.Nil {
		f.V.Add("invalid_uuid", field, "must be a UUID like 0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80, got "+quote(s))
		return uuid.Nil
	}
	return id
}

// Decimal parses a required decimal number given as a string (or number).
func (f Fields) Decimal(field string, n json.Number) (decimal.Decimal, bool) {
	s := string(n)
	if !f.Required(field, s) {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		f.V.Add("invalid_number", field, "must be a decimal number, got "+quote(s))
		return decimal.Decimal{}, false
	}
	return d, true
}

// Int parses a required whole number.
func (f Fields) Int(field string, n json.Number) (int64, bool) {
	s := string(n)
	if !f.Required(field, s) {
		return 0, false
	}
	v, err := n.Int64()
	if err != nil {
		f.V.Add("invalid_number", field, "must be a whole number, got "+quote(s))
		return 0, false
	}
	return v, true
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// NumberOrString accepts a JSON number or a string holding one: commands
// write amounts and rates as strings, but a script may send numbers.
type NumberOrString json.Number

// UnmarshalJSON implements json.Unmarshaler.
func (n *NumberOrString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*n = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = NumberOrString(s)
		return nil
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return &json.UnmarshalTypeError{Value: "non-number", Type: typeOfNumber}
	}
	*n = NumberOrString(num)
	return nil
}

// Number returns n as a json.Number.
func (n NumberOrString) Number() json.Number { return json.Number(n) }

var typeOfNumber = reflect.TypeOf(json.Number(""))
