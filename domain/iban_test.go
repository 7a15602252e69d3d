package domain_test

import (
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain"
)

func TestIBAN(t *testing.T) {
	for in, want := range map[string]string{
		"FR76 3000 6000 0112 3456 7890 189": "FR7630006000011234567890189",
		"fr7630006000011234567890189":       "FR7630006000011234567890189",
		"DE89 3704 0044 0532 0130 00":       "DE89370400440532013000",
		"BE71 0961 2345 6769":               "BE71096123456769",
	} {
		got, err := domain.ParseIBAN(in)
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"FR76 3000 6000 0112 3456 7890 188": "check digits",  // one digit off
		"FR67 3000 6000 0112 3456 7890 189": "check digits",  // check digits swapped
		"FR76 3000 6000 0112 3456 7890 18":  "has 27",        // a digit short
		"US12 3456 7890 1234 5678":          "not a country", // not SEPA
		"FR76 3000 6000 0112 3456 7890 18é": "position",      // not a letter or digit
		"7630006000011234567890189FR":       "position 1",    // no country
		"":                                  "15 to 34",      // empty
		strings.Repeat("1", 40):             "not 40",        // too long
	} {
		if _, err := domain.ParseIBAN(in); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want an error saying %q", in, err, why)
		}
	}
	if got := domain.MaskIBAN("FR7630006000011234567890189"); got != "FR*********************0189" {
		t.Errorf("mask: %q", got)
	}
}

func TestBIC(t *testing.T) {
	for in, want := range map[string]string{"agrifrpp": "AGRIFRPP", "BNPAFRPPXXX": "BNPAFRPPXXX", "CEPAFRPP751": "CEPAFRPP751"} {
		if got, err := domain.ParseBIC(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, in := range []string{"AGRIFRP", "AGRI1RPP", "AGRIFRPPXX", "AGRIFRPP-XX"} {
		if _, err := domain.ParseBIC(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
