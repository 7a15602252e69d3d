package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The red team's ninth finding: the contract page as of a date applied a
// correction of the termination made after that date (it said live while
// the alerts of the same date treated the contract as terminated), and
// ledger contracts took no window. One definition now serves the page,
// the search and the alerts: the termination as it stood on the date.
func TestATerminationIsSeenAsItStoodOnTheDate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	lines := `{"type":"TerminateContract","command_id":"end","contract_id":"` + t2ID + `","terminated_on":"2023-03-01","reason":"dissolution"}` + "\n"
	file := filepath.Join(t.TempDir(), "end.jsonl")
	os.WriteFile(file, []byte(lines), 0o600)
	mustLedger(t, "--data", dir, "submit", "--file", file)
	var audit []struct {
		EventID string `json:"event_id"`
		Type    string `json:"type"`
	}
	if err := json.Unmarshal([]byte(mustLedger(t, "--json", "--data", dir, "audit", "--contract", t2ID)), &audit); err != nil {
		t.Fatal(err)
	}
	var termination string
	for _, e := range audit {
		if e.Type == "ContractTerminated" {
			termination = e.EventID
		}
	}
	correct := `{"type":"CorrectTermination","command_id":"end-fix","contract_id":"` + t2ID + `","corrects":"` + termination + `","terminated_on":"2023-09-01","corrected_on":"2023-06-10","reason":"the assembly voted later"}` + "\n"
	os.WriteFile(file, []byte(correct), 0o600)
	mustLedger(t, "--data", dir, "submit", "--file", file)

	status := func(asOf string) (string, string) {
		var c struct {
			Status       string `json:"status"`
			TerminatedOn string `json:"terminated_on"`
		}
		if err := json.Unmarshal([]byte(mustLedger(t, "--json", "--data", dir, "contract", t2ID, "--as-of", asOf)), &c); err != nil {
			t.Fatal(err)
		}
		return c.Status, c.TerminatedOn
	}
	search := func(asOf string) string {
		var page struct {
			Contracts []struct {
				Status       string `json:"status"`
				TerminatedOn string `json:"terminated_on"`
			} `json:"contracts"`
		}
		if err := json.Unmarshal([]byte(mustLedger(t, "--json", "--data", dir, "contracts", "--as-of", asOf)), &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Contracts) == 0 {
			return "none"
		}
		return page.Contracts[0].Status + " " + page.Contracts[0].TerminatedOn
	}
	for _, tc := range []struct{ asOf, status, on string }{
		{"2023-04-15", "terminated", "2023-03-01"}, // the correction, made on 2023-06-10, is not known yet
		{"2023-07-01", "live", ""},                 // corrected: it ends on 2023-09-01
		{"2023-10-01", "terminated", "2023-09-01"},
	} {
		if st, on := status(tc.asOf); st != tc.status || on != tc.on {
			t.Errorf("contract as of %s: %s %s, want %s %s", tc.asOf, st, on, tc.status, tc.on)
		}
		if got := strings.TrimSpace(search(tc.asOf)); got != strings.TrimSpace(tc.status+" "+tc.on) {
			t.Errorf("contracts as of %s: %q, want %q", tc.asOf, got, tc.status+" "+tc.on)
		}
		// The alerts of the same date agree: a terminated contract has none.
		alerts := mustLedger(t, "--data", dir, "alerts", "--as-of", tc.asOf, "--within", "3650")
		if has := strings.Contains(alerts, t2ID); has != (tc.status == "live") {
			t.Errorf("alerts as of %s list the contract: %v, while it is %s", tc.asOf, has, tc.status)
		}
	}
	if got := search("2019-11-14"); got != "none" {
		t.Errorf("contracts as of a date before the signature: %s", got)
	}
}

// A copy of a reference fact keeps the fact's own date: a recognition of
// 2022-12-01 noted by a contract signed on 2023-03-01 is a CrisisNoted
// dated 2022-12-01 (when the crisis was recognised), recorded when the
// contract's decision copied it. The audit trail as of a date before the
// signature has no contract; as of a later date it shows the copy with
// its date (docs/domain.md, reference facts).
func TestACopiedReferenceFactKeepsItsDate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id := "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e86"
	lines := strings.Join([]string{
		`{"type":"RecogniseCrisis","command_id":"cr","ars":"ARS Bretagne","from":"2022-10-01","to":"2023-03-31","recognised_on":"2022-12-01","reason":"épidémies"}`,
		`{"type":"SignContract","command_id":"s","contract_id":"` + id + `","cpts":{"id":"c","name":"CPTS de Brest"},"ars":"ARS Bretagne","cpam":"CPAM du Finistère","population":100000,"signed_on":"2023-03-01","missions":["access","pathways","prevention","crisis"],"snp_regulation":false,"indicators":[{"mission":"access","code":"a","weight":"1","target":"1"},{"mission":"pathways","code":"p","weight":"1","target":"1"},{"mission":"prevention","code":"v","weight":"1","target":"1"}]}`,
		`{"type":"StartMission","command_id":"m","contract_id":"` + id + `","mission":"crisis","started_on":"2023-03-01"}`,
		`{"type":"DecideDuePayments","command_id":"d","contract_id":"` + id + `","as_of":"2023-04-01"}`,
	}, "\n") + "\n"
	file := filepath.Join(t.TempDir(), "c.jsonl")
	os.WriteFile(file, []byte(lines), 0o600)
	mustLedger(t, "--data", dir, "submit", "--file", file)
	if code, _, _ := ledgerRun(t, "--data", dir, "audit", "--contract", id, "--as-of", "2023-02-01"); code != 1 {
		t.Fatalf("the audit trail before the signature: exit %d, want no such contract", code)
	}
	var audit []struct {
		Type       string `json:"type"`
		OccurredOn string `json:"occurred_on"`
	}
	if err := json.Unmarshal([]byte(mustLedger(t, "--json", "--data", dir, "audit", "--contract", id, "--as-of", "2023-04-01")), &audit); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range audit {
		if e.Type == "CrisisNoted" {
			found = e.OccurredOn == "2022-12-01"
		}
	}
	if !found {
		t.Fatalf("the copy of the recognition in the audit trail: %+v", audit)
	}
}
