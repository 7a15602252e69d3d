package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The demo's history has letters of intent before the contracts signed
// from 2022-04-01 (and some no contract followed), submitted by several
// workers without a rejection (a letter goes to the lane of the contract
// that follows it); its report gives amendment 2's top-ups and the letters
// by tier, each tier's aid being its letters × the rulebook's aid.
func TestTheDemoReportsAmendment2AndTheLetters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	out := mustLedger(t, "--data", dir, "demo", "--contracts", "120", "--aid-contracts", "0", "--today", "2024-06-01", "--workers", "4")
	if !strings.Contains(out, ", 0 rejected") {
		t.Fatalf("the demo rejected commands:\n%s", out)
	}
	section := regexp.MustCompile(`(?s)== Amendment 2 as signed.*?\n\n`).FindString(out)
	if !strings.Contains(section, "amorcage top-ups decided:") || !strings.Contains(section, "regularisations citing aci-cpts-2019-av2-signed: none") {
		t.Fatalf("the amendment's section:\n%s", section)
	}
	aid := map[string]int{"T1": 15000, "T2": 17500, "T3": 25000, "T4": 30000}
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^\s+(T[1-4])\s+(\d+)\s+(\d+)\s+([\d ]+)\.00$`).FindAllStringSubmatch(section, -1) {
		n, _ := strconv.Atoi(m[2])
		followed, _ := strconv.Atoi(m[3])
		sum, _ := strconv.Atoi(strings.ReplaceAll(m[4], " ", ""))
		if sum != n*aid[m[1]] || followed > n {
			t.Errorf("%s: %d letters, %d followed, aid %d, want %d", m[1], n, followed, sum, n*aid[m[1]])
		}
		total += n
	}
	if total == 0 || !strings.Contains(section, fmt.Sprintf("letters of intent validated by the ARS (from 2022-04-01): %d,", total)) {
		t.Fatalf("letters by tier add up to %d:\n%s", total, section)
	}
}
