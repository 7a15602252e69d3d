package main

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storedHashes reads every event's position and hash straight from an
// events.db, with SQL: what the file holds, whichever binary reads it.
func storedHashes(t *testing.T, path string) map[int64]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT position, hash FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var pos int64
		var h []byte
		if err := rows.Scan(&pos, &h); err != nil {
			t.Fatal(err)
		}
		out[pos] = hex.EncodeToString(h)
	}
	return out
}

// A data directory written by the previous release (testdata/release-7df0286,
// its files byte for byte) opens with this binary: the event store is
// migrated, the read-model file of the old layout is rebuilt (said once on
// stderr), and every event, hash and payment survives.
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	bin := ledgerBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	copyDir(t, "testdata/release-7df0286", data)
	before := storedHashes(t, filepath.Join(data, "events.db"))
	wantVerify, _ := os.ReadFile("testdata/release-7df0286/verify.txt")
	wantCSV, _ := os.ReadFile("testdata/release-7df0286/payments.csv")

	cmd := exec.Command(bin, "--data", data, "export", "payments", "--format", "csv")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	csv, err := cmd.Output()
	if err != nil {
		t.Fatalf("export on the old data: %v\n%s", err, stderr.String())
	}
	// Every column of the previous release's export, as it was; a column
	// added since (execution_status) follows them.
	got, want := strings.Split(strings.TrimSpace(string(csv)), "\n"), strings.Split(strings.TrimSpace(string(wantCSV)), "\n")
	if len(got) != len(want) {
		t.Fatalf("payments after the upgrade: %d lines, the previous release's export %d", len(got), len(want))
	}
	for i := range want {
		added := ",decided"
		if i == 0 {
			added = ",execution_status"
		}
		if got[i] != want[i]+added {
			t.Fatalf("payments after the upgrade, line %d:\n%s\nthe previous release's:\n%s", i+1, got[i], want[i])
		}
	}
	if !strings.Contains(stderr.String(), "building the read models again") {
		t.Fatalf("the old read-model file was not said to be rebuilt: %q", stderr.String())
	}
	// The first line is the previous release's; the lines after it (the
	// read models, the scope) are new.
	if got := ledger(t, bin, "--data", data, "verify"); strings.SplitN(got, "\n", 2)[0] != strings.TrimSpace(string(wantVerify)) {
		t.Fatalf("verify after the upgrade: %q, the previous release said %q", got, wantVerify)
	}
	after := storedHashes(t, filepath.Join(data, "events.db"))
	if len(after) != len(before) || len(before) != 569 {
		t.Fatalf("%d events before, %d after", len(before), len(after))
	}
	for pos, h := range before {
		if after[pos] != h {
			t.Fatalf("the hash of event %d changed in the upgrade", pos)
		}
	}
	// A second run says nothing more: the upgrade happened once.
	cmd = exec.Command(bin, "--data", data, "totals")
	stderr.Reset()
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() != 0 {
		t.Fatalf("second run: %v %q", err, stderr.String())
	}
	// The old contracts claimed no id: the t2 contract's id, signed as an
	// aid contract, is refused all the same, and nothing is written.
	aid, _ := os.ReadFile("../../examples/aid-contract.jsonl")
	first, _, _ := strings.Cut(string(aid), "\n")
	first = strings.Replace(strings.Replace(first, "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e90", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80", 1), `"aid-sign"`, `"aid-on-t2"`, 1)
	file := filepath.Join(t.TempDir(), "aid-on-t2.jsonl")
	os.WriteFile(file, []byte(first+"\n"), 0o644)
	out, _ := exec.Command(bin, "--data", data, "submit", "--file", file).Output()
	if !strings.Contains(string(out), `"contract_id_taken"`) {
		t.Fatalf("an aid signature with the id of the old t2 contract: %s", out)
	}
	// The submit recorded amendment 2's signed figures (the old release
	// decided top-ups at +50 %: TestUpgradeRegularisesTheTopups), and the
	// refused signature nothing.
	if got := storedHashes(t, filepath.Join(data, "events.db")); len(got) != len(before)+1 {
		t.Fatalf("the refused signature wrote: %d events, want %d (the old ones and the correction)", len(got), len(before)+1)
	}
}

// The previous release decided amendment 2's top-ups at +50 % (its
// rulebook held the proposal's figures). Upgraded, the ledger records the
// signed figures' correction once, at its first write, and each contract's
// next decision pays the difference as a regularisation citing it, on the
// day recorded: +12 500 for T1, +15 000 for T2, +18 750 for T3, +22 500
// for T4 — for every contract whose year holding 2022-03-31 is settled;
// the one whose year 3 has no report yet gets it with its balance.
func TestUpgradeRegularisesTheTopups(t *testing.T) {
	bin := ledgerBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	copyDir(t, "testdata/release-7df0286", data)
	today := time.Now().UTC().Format(time.DateOnly)
	want := map[string]string{ // contract → regularisation (tier)
		"1f993bf4-0b08-56f3-b958-f56fe1e6e36c": "12500.00", "3c01f6cd-d4f0-54c8-ab7c-2c2102ba751e": "12500.00", // T1
		"79ac656b-9c72-5152-8d7e-8f80e575275c": "15000.00",                                                                                                         // T2
		"72a8fb5a-4c33-596e-bd75-89c90d897954": "18750.00", "7c4d24d1-9ebc-5076-929d-4039dcb6b7e5": "18750.00", "9c387068-0d5d-516c-85db-de42bd070e48": "18750.00", // T3
		"65b44117-e42b-5595-8bc2-6deb4a6e6c7f": "22500.00", "b1403d63-9020-5a52-918d-759a87fdc616": "22500.00", // T4
		"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80": "", // T2, year 3 not settled
	}
	var lines []string
	for id := range want {
		lines = append(lines, fmt.Sprintf(`{"type":"DecideDuePayments","command_id":"after-upgrade-%s","contract_id":%q,"as_of":%q}`, id, id, today))
	}
	file := filepath.Join(t.TempDir(), "decide.jsonl")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	for round := range 2 {
		cmd := exec.Command(bin, "--data", data, "submit", "--file", file)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil {
			t.Fatalf("submit: %v\n%s%s", err, out, stderr.String())
		}
		said := strings.Contains(stderr.String(), "rule data corrected: recorded aci-cpts-2019-av2-signed (9 contracts")
		if said != (round == 0) {
			t.Fatalf("round %d: the correction said %v: %q", round, said, stderr.String())
		}
	}
	checkRegularisations(t, bin, data, today, want)
	// The contract whose year 3 had no report gets the difference when its
	// report settles the year: the balance, then +15 000 citing the
	// correction (a regularisation before the balance would be deducted
	// by it as an advance).
	report := fmt.Sprintf(`{"type":"ReportIndicators","command_id":"t2-report-3","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","contract_year":3,"reported_on":"2022-12-01","values":[{"mission":"access","code":"mt-found","value":"90"},{"mission":"access","code":"snp-24h","value":"70"},{"mission":"pathways","code":"pathways-run","value":"4"},{"mission":"prevention","code":"actions","value":"6"},{"mission":"quality","code":"reviews","value":"8"}]}
{"type":"DecideDuePayments","command_id":"after-report-3","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80","as_of":%q}
`, today)
	os.WriteFile(file, []byte(report), 0o644)
	ledger(t, bin, "--data", data, "submit", "--file", file)
	want = map[string]string{"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80": "15000.00"}
	checkRegularisations(t, bin, data, today, want)
	// The correction is an event of the rulebooks stream, listed with the
	// amendments, recorded by the upgrade, and proved from a signed
	// checkpoint with the verifier key alone.
	var books struct {
		Amendments []struct {
			EventID string `json:"event_id"`
			ID      string `json:"amendment_id"`
			Actor   string `json:"actor"`
		} `json:"amendments"`
	}
	if err := json.Unmarshal([]byte(ledger(t, bin, "--data", data, "--json", "rulebooks")), &books); err != nil {
		t.Fatal(err)
	}
	if len(books.Amendments) != 1 || books.Amendments[0].ID != "aci-cpts-2019-av2-signed" || books.Amendments[0].Actor != "ledger-upgrade" {
		t.Fatalf("amendments after the upgrade: %+v", books.Amendments)
	}
	dir := t.TempDir()
	key, pub, cp, proof := filepath.Join(dir, "signer.key"), filepath.Join(dir, "verifier.pub"), filepath.Join(dir, "cp"), filepath.Join(dir, "proof.json")
	os.WriteFile(pub, []byte(ledger(t, bin, "keygen", "--name", "upgrade-test", "--out", key)), 0o600)
	os.WriteFile(cp, []byte(ledger(t, bin, "--data", data, "checkpoint", "--signing-key", key)), 0o600)
	os.WriteFile(proof, []byte(ledger(t, bin, "--data", data, "prove", "--event", books.Amendments[0].EventID, "--checkpoint", cp)), 0o600)
	if out := ledger(t, bin, "verify-proof", "--proof", proof, "--verifier-key", pub); !strings.Contains(out, "ok: event "+books.Amendments[0].EventID) ||
		!strings.Contains(out, "rulebooks-cpts") {
		t.Fatalf("verify-proof of the correction: %s", out)
	}
}

// checkRegularisations checks, for each contract, its regularisations:
// one of the amount wanted ("": none), due today, its one line citing the
// signed figures' correction.
func checkRegularisations(t *testing.T, bin, data, today string, want map[string]string) {
	t.Helper()
	for id, amount := range want {
		var got []struct {
			Kind   string `json:"kind"`
			DueOn  string `json:"due_on"`
			Amount string `json:"amount"`
			Reason string `json:"reason"`
			Lines  []struct {
				Amendment *struct {
					ID string `json:"id"`
				} `json:"amendment"`
			} `json:"lines"`
		}
		if err := json.Unmarshal([]byte(ledger(t, bin, "--data", data, "--json", "payments", "--contract", id)), &got); err != nil {
			t.Fatal(err)
		}
		var regs []string
		for _, p := range got {
			if p.Kind != "regularisation" {
				continue
			}
			if p.DueOn != today || len(p.Lines) != 1 || p.Lines[0].Amendment == nil || p.Lines[0].Amendment.ID != "aci-cpts-2019-av2-signed" ||
				!strings.Contains(p.Reason, "as signed: seed funding +75 %") {
				t.Errorf("%s: regularisation %+v does not cite the correction on %s", id, p, today)
			}
			regs = append(regs, p.Amount)
		}
		if amount == "" && len(regs) != 0 || amount != "" && (len(regs) != 1 || regs[0] != amount) {
			t.Errorf("%s: regularisations %v, want %q", id, regs, amount)
		}
	}
}
