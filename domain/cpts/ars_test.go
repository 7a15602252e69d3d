package cpts_test

import (
	"strings"
	"testing"

	"github.com/cptsledger/ledger/domain/cpts"
)

// The red team's sixth finding: an ARS was free text, and a slip recorded
// a crisis that reached no contract. Each spelling of an agency is
// recorded as its official name; anything else is refused, naming the
// closest official one, by SignContract and RecogniseCrisis alike.
func TestTheARSAreReferenceData(t *testing.T) {
	if n := len(cpts.Agencies()); n != 18 {
		t.Fatalf("%d agencies, want the 18 regional health agencies", n)
	}
	for in, want := range map[string]string{
		"ARS Grand Est":                  "ARS Grand Est",
		"ARS grand est":                  "ARS Grand Est",
		"  ARS Grand Est ":               "ARS Grand Est",
		"ARS\u00a0Grand\u00a0Est":        "ARS Grand Est",
		"ARS  Grand   Est":               "ARS Grand Est",
		"Grand Est":                      "ARS Grand Est",
		"ars île-de-france":              "ARS Île-de-France",
		"ARS I\u0302le-de-France":        "ARS Île-de-France", // decomposed: NFC
		"ARS Provence-Alpes-Côte d’Azur": "ARS Provence-Alpes-Côte d'Azur",
		"ARS PROVENCE-ALPES-CÔTE D'AZUR": "ARS Provence-Alpes-Côte d'Azur",
	} {
		if got, ok, _ := cpts.ParseARS(in); !ok || got != want {
			t.Errorf("ParseARS(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
	for in, closest := range map[string]string{
		"ARS Gr\u0430nd Est":  "ARS Grand Est", // a Cyrillic а
		"ARS Grand-Est":       "ARS Grand Est",
		"ARS Nowhere":         "",
		"ARS Hauts de France": "ARS Hauts-de-France",
		"Agence Grand Est":    "ARS Grand Est",
	} {
		got, ok, near := cpts.ParseARS(in)
		if ok || (closest != "" && near != closest) {
			t.Errorf("ParseARS(%q) = %q %v, closest %q; want refused, closest %q", in, got, ok, near, closest)
		}
	}
	// Through the decoders: the official spelling is what is recorded.
	line := signLine("s", strings.Replace(signFields(50_000, "2022-06-01", false), `"ars":"ARS Centre-Val de Loire"`, `"ars":" ars centre-val  de\u00a0loire"`, 1))
	cmd, err := cpts.DecodeCommand([]byte(line))
	if err != nil || cmd.(cpts.SignContract).ARS != "ARS Centre-Val de Loire" {
		t.Fatalf("a signature's ARS in another spelling: %+v %v", cmd, err)
	}
	bad := strings.Replace(line, `" ars centre-val  de\u00a0loire"`, `"ARS Centre-Val de Loir"`, 1)
	if _, err := cpts.DecodeCommand([]byte(bad)); err == nil || !strings.Contains(err.Error(), "unknown_ars") && !strings.Contains(err.Error(), `did you mean "ARS Centre-Val de Loire"`) {
		t.Fatalf("a misspelt ARS: %v", err)
	}
	rc, err := cpts.DecodeReferenceCommand([]byte(`{"type":"RecogniseCrisis","command_id":"cr","ars":"ARS grand est","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"r"}`), cpts.Default().Calendar())
	if err != nil || rc.(cpts.RecogniseCrisis).ARS != "ARS Grand Est" {
		t.Fatalf("a recognition's ARS in another spelling: %+v %v", rc, err)
	}
	_, err = cpts.DecodeReferenceCommand([]byte(`{"type":"RecogniseCrisis","command_id":"cr","ars":"ARS Gr\u0430nd Est","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"r"}`), cpts.Default().Calendar())
	if err == nil || !strings.Contains(err.Error(), `did you mean "ARS Grand Est"`) {
		t.Fatalf("a recognition by a look-alike ARS: %v", err)
	}
}
