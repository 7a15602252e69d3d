package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A typo in a filter is bad usage (exit 2) naming what it may have meant,
// never an empty table with exit 0; a name typed without its accents or
// its case finds the contract.
func TestFiltersRefuseTyposAndSearchFolds(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", data, "submit", "--file", "../../examples/t2-contract.jsonl")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"alerts", "--cpam", "Loiret"}, `--cpam "Loiret": no contract names this CPAM; did you mean "CPAM du Loiret"?`},
		{[]string{"schedule", "--cpam", "Loiret"}, `did you mean "CPAM du Loiret"?`},
		{[]string{"alerts", "--ars", "ARS Bretagne"}, `no contract names this ARS; known: ARS Centre-Val de Loire`},
		{[]string{"contracts", "--tier", "t2"}, `--tier "t2" is not a tier of the rulebooks; did you mean "T2"?`},
		{[]string{"contracts", "--tier", "T5"}, `--tier "T5" is not a tier of the rulebooks`},
		{[]string{"contracts", "--limit", "0"}, `--limit must be 1 to 500, got 0`},
		{[]string{"contracts", "--cpam", "cpam du loiret"}, `did you mean "CPAM du Loiret"?`},
	} {
		code, out, errb := ledgerRun(t, append([]string{"--data", data}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errb, tc.want) {
			t.Errorf("ledger %s: exit %d, stdout %q\n%s", strings.Join(tc.args, " "), code, out, errb)
		}
	}
	for _, q := range []string{"VAL DE LOIRE", "val-de-loire", "Vâl de Loire"} {
		if out := mustLedger(t, "--data", data, "contracts", "--q", q); !strings.Contains(out, "CPTS du Val de Loire") {
			t.Errorf("--q %q: %s", q, out)
		}
	}
}
