package domain

import (
	"fmt"
	"strings"
)

// ibanLengths is the length of an IBAN per country of the SEPA scheme
// (ISO 13616; the SWIFT IBAN registry, release 98): a SEPA credit
// transfer is paid to one of these, and a length that does not match its
// country is a typo the check digits would not always catch.
var ibanLengths = map[string]int{
	"AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
	"ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
	"IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
	"PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}

// ParseIBAN checks an IBAN and returns it in its electronic form (upper
// case, no spaces): a SEPA country, that country's length, letters and
// digits only, and check digits that make the ISO 7064 mod 97-10 remainder
// 1. The message names what is wrong.
func ParseIBAN(s string) (string, error) {
	iban := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	if len(iban) < 5 || len(iban) > 34 {
		return "", fmt.Errorf("an IBAN has 15 to 34 characters (ISO 13616), not %d", len(iban))
	}
	for i, r := range iban {
		letter, digit := r >= 'A' && r <= 'Z', r >= '0' && r <= '9'
		if !(letter || digit) || (i < 2 && !letter) || (i >= 2 && i < 4 && !digit) {
			return "", fmt.Errorf("an IBAN is a country code (2 letters), 2 check digits, then letters and digits (ISO 13616): %q at position %d", r, i+1)
		}
	}
	want, ok := ibanLengths[iban[:2]]
	if !ok {
		return "", fmt.Errorf("%s is not a country of the SEPA scheme", iban[:2])
	}
	if len(iban) != want {
		return "", fmt.Errorf("an IBAN of %s has %d characters, not %d", iban[:2], want, len(iban))
	}
	if mod97(iban[4:]+iban[:4]) != 1 {
		return "", fmt.Errorf("the check digits %s do not match the rest of the IBAN (ISO 7064 mod 97-10): a typo", iban[2:4])
	}
	return iban, nil
}

// mod97 is the remainder of s, letters read as 10 to 35, divided by 97,
// computed digit by digit so that no number overflows.
func mod97(s string) int {
	r := 0
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			r = (r*100 + int(c-'A'+10)) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}

// ParseBIC checks a BIC (ISO 9362): 4 letters (the institution), 2 letters
// (a country), 2 letters or digits (the location), and optionally 3 letters
// or digits (the branch). It returns it in upper case.
func ParseBIC(s string) (string, error) {
	bic := strings.ToUpper(strings.TrimSpace(s))
	if len(bic) != 8 && len(bic) != 11 {
		return "", fmt.Errorf("a BIC has 8 or 11 characters (ISO 9362), not %d", len(bic))
	}
	for i, r := range bic {
		letter, digit := r >= 'A' && r <= 'Z', r >= '0' && r <= '9'
		if (i < 6 && !letter) || (i >= 6 && !(letter || digit)) {
			return "", fmt.Errorf("a BIC is 6 letters (institution and country), then letters or digits (ISO 9362): %q at position %d", r, i+1)
		}
	}
	return bic, nil
}

// MaskIBAN shows an IBAN as people are shown one they may not copy: the
// country, then stars, then the last 4 characters.
func MaskIBAN(iban string) string {
	if len(iban) <= 6 {
		return strings.Repeat("*", len(iban))
	}
	return iban[:2] + strings.Repeat("*", len(iban)-6) + iban[len(iban)-4:]
}
