package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
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
// without checking the rest. The line must be one JSON object, in valid
// UTF-8, without duplicate keys; keys are matched exactly (a key that
// differs from a field's name only by case is not that field).
func PeekHeader(raw []byte) (Header, error) {
	var h Header
	if err := checkLine(raw); err != nil {
		return h, err
	}
	if err := jsonv2.Unmarshal(raw, &h); err != nil {
		return h, decodeViolation(err)
	}
	return h, nil
}

// checkLine refuses what no command line can be: too long, not UTF-8, not a
// JSON object.
func checkLine(raw []byte) error {
	if len(raw) > MaxCommandBytes {
		return Reject(CodeLineTooLong, "", fmt.Sprintf("a command is at most %d bytes (1 MiB), got %d", MaxCommandBytes, len(raw)))
	}
	if !utf8.Valid(raw) {
		at := 0
		for at < len(raw) {
			r, n := utf8.DecodeRune(raw[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return Reject(CodeInvalidUTF8, "", fmt.Sprintf("the line is not valid UTF-8 (byte %d): the ledger stores text exactly as sent, so it refuses what it cannot store", at))
	}
	if trimmed := bytes.TrimLeft(raw, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return Reject(CodeMalformedJSON, "", "not a JSON object")
	}
	return nil
}

// DecodeStrict decodes one JSON object into v, rejecting unknown fields,
// duplicate keys, keys that match a field only when case is ignored,
// invalid UTF-8 and trailing data (encoding/json/v2 semantics), and turns
// decoding errors into violations that name the field.
func DecodeStrict(raw []byte, v any) error {
	if err := checkLine(raw); err != nil {
		return err
	}
	if err := jsonv2.Unmarshal(raw, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return decodeViolation(err)
	}
	return nil
}

// fieldOf turns a JSON pointer (/indicators/2/weight) into the field names
// violations use (indicators[2].weight).
func fieldOf(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

func decodeViolation(err error) error {
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return Reject(CodeDuplicateField, fieldOf(syn.JSONPointer), "appears twice in the object: a key is given once")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Reject(CodeMalformedJSON, "", "the JSON object is incomplete")
	case errors.As(err, &syn):
		return Reject(CodeMalformedJSON, "", fmt.Sprintf("not valid JSON at byte %d: %v", syn.ByteOffset, syn.Err))
	case errors.As(err, &sem) && errors.Is(sem.Err, jsonv2.ErrUnknownName):
		return Reject(CodeUnknownField, fieldOf(sem.JSONPointer), "is not a field of this command (names are matched exactly, case included)")
	case errors.As(err, &sem):
		field := fieldOf(sem.JSONPointer)
		if field == "" {
			field = "(command)"
		}
		want := "another type"
		if sem.GoType != nil {
			want = "a JSON " + jsonKind(sem.GoType.Kind().String())
		}
		return Reject(CodeInvalidType, field, fmt.Sprintf("must be %s, not a JSON %s", want, kindName(sem.JSONKind)))
	}
	return Reject(CodeMalformedJSON, "", err.Error())
}

// kindName names a JSON kind in words.
func kindName(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "value"
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
	// Dates, when set, is the span every date must fall in.
	Dates Calendar
}

// Required records a violation when s is empty and reports whether it is set.
func (f Fields) Required(field, s string) bool {
	if strings.TrimSpace(s) == "" {
		f.V.Add(CodeMissingField, field, "is required")
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
		f.V.Add(CodeInvalidDate, field, "must be a date YYYY-MM-DD, got "+quote(s))
		return Date{}
	}
	if !f.Dates.IsZero() && !f.Dates.Contains(d) {
		f.V.Add(CodeDateOutOfRange, field, fmt.Sprintf("%s is outside the dates the rulebooks cover (%s)", d, f.Dates))
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
		f.V.Add(CodeInvalidUUID, field, "must be a UUID like 0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80, got "+quote(s))
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
	if !f.checkNumberText(field, s) {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		f.V.Add(CodeInvalidNumber, field, "must be a decimal number, got "+quote(s))
		return decimal.Decimal{}, false
	}
	if d.Abs().Cmp(MaxDecimal) >= 0 || -d.Exponent() > MaxDecimalPlaces && !d.Equal(d.Round(MaxDecimalPlaces)) {
		f.V.Add(CodeInvalidNumber, field, fmt.Sprintf("must be less than 10^12 in magnitude, with at most %d decimal places, got %s", MaxDecimalPlaces, quote(s)))
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
	if !f.checkNumberText(field, s) {
		return 0, false
	}
	v, err := n.Int64()
	if err != nil {
		f.V.Add(CodeInvalidNumber, field, "must be a whole number, got "+quote(s))
		return 0, false
	}
	if v > MaxWholeNumber || v < -MaxWholeNumber {
		f.V.Add(CodeInvalidNumber, field, fmt.Sprintf("must be at most %d in magnitude, got %d", MaxWholeNumber, v))
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
