package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Limits on what a command may hold. Every input has one, so that no line
// can make the ledger store, print or compute without bound (a 10 MB name
// printed on every schedule line, a decimal with a billion-digit exponent).
// docs/domain.md lists them.
const (
	// MaxCommandBytes is the longest command line (or HTTP command body
	// part) accepted: 1 MiB.
	MaxCommandBytes = 1 << 20
	// MaxCommandIDLength is the longest command id, in characters.
	MaxCommandIDLength = 128
	// MaxNameLength is the longest name or code (a CPTS's name, a CPAM, an
	// indicator code), in characters.
	MaxNameLength = 200
	// MaxReasonLength is the longest free text (a termination's or a
	// correction's reason), in characters.
	MaxReasonLength = 1000
	// MaxListLength bounds every list of a command (missions, indicators,
	// values).
	MaxListLength = 100
	// MaxWholeNumber bounds every whole number (a population, a patientèle).
	MaxWholeNumber = 1_000_000_000
	// MaxNumberLength is the longest decimal number, in characters, and
	// MaxDecimalPlaces the most digits after its point; MaxDecimal bounds
	// its magnitude.
	MaxNumberLength  = 24
	MaxDecimalPlaces = 6
)

// MaxDecimal bounds the magnitude of a decimal number in a command (an
// indicator's value, weight or target): less than 10^12.
var MaxDecimal = decimal.New(1, 12)

// Text kinds: what a text field may hold.
type textKind int

const (
	// textName is a name, code or id: one line, no control character.
	textName textKind = iota
	// textReason is free text: it may hold line breaks and tabs.
	textReason
)

// checkText records a violation when s is longer than max characters or
// holds a control character its kind does not allow. It reports whether s
// passed. Commands are decoded strictly, so s is valid UTF-8 already.
func (f Fields) checkText(field, s string, max int, kind textKind) bool {
	if n := utf8.RuneCountInString(s); n > max {
		f.V.Add(CodeTooLong, field, fmt.Sprintf("must be at most %d characters, got %d", max, n))
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(kind == textReason && (r == '\n' || r == '\t')) {
			f.V.Add(CodeControlCharacter, field, fmt.Sprintf("must not hold the control character %U", r))
			return false
		}
		// Bidi formatting characters (U+202E turns "CPTS evil" into what
		// reads as another name on a page or in a spreadsheet).
		if unicode.Is(unicode.Bidi_Control, r) {
			f.V.Add(CodeControlCharacter, field, fmt.Sprintf("must not hold the bidirectional formatting character %U", r))
			return false
		}
		// Invisible format characters (U+200B, U+00AD, U+FEFF: Unicode Cf)
		// and the line and paragraph separators: two names that read the
		// same would be two parties, a reason would break lines where no
		// reader sees a break.
		if unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			f.V.Add(CodeControlCharacter, field, fmt.Sprintf("must not hold the invisible format character %U", r))
			return false
		}
	}
	return true
}

// Name checks a required name or code: at most MaxNameLength characters, on
// one line.
func (f Fields) Name(field, s string) bool {
	return f.Required(field, s) && f.checkText(field, s, MaxNameLength, textName)
}

// OptionalName checks a name or code that may be empty.
func (f Fields) OptionalName(field, s string) bool {
	return f.checkText(field, s, MaxNameLength, textName)
}

// Reason checks a required free text: at most MaxReasonLength characters.
func (f Fields) Reason(field, s string) bool {
	return f.Required(field, s) && f.checkText(field, s, MaxReasonLength, textReason)
}

// List checks that a list has at most MaxListLength items.
func (f Fields) List(field string, n int) bool {
	if n > MaxListLength {
		f.V.Add(CodeTooMany, field, fmt.Sprintf("must hold at most %d items, got %d", MaxListLength, n))
		return false
	}
	return true
}

// checkNumberText refuses, before parsing, a number too long or written
// with an exponent: parsing "1e999999999" is cheap, computing with it is
// not.
func (f Fields) checkNumberText(field, s string) bool {
	if len(s) > MaxNumberLength {
		f.V.Add(CodeInvalidNumber, field, fmt.Sprintf("must be at most %d characters, got %d", MaxNumberLength, len(s)))
		return false
	}
	if strings.ContainsAny(s, "eE") {
		f.V.Add(CodeInvalidNumber, field, "must be written without an exponent, got "+quote(s))
		return false
	}
	return true
}
