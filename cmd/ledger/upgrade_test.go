package main

import (
	"database/sql"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	if string(csv) != string(wantCSV) {
		t.Fatalf("payments after the upgrade differ from the previous release's export")
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
	if got := storedHashes(t, filepath.Join(data, "events.db")); len(got) != len(before) {
		t.Fatalf("the refused signature wrote: %d events, want %d", len(got), len(before))
	}
}
