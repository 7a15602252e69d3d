package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CLI habits (issue: for the people who use it, round two): a JSON-lines
// file saved with a byte order mark is read; export speaks JSON lines with
// --json or --format jsonl; help lists each flag once; tail, with no serve
// running, says to start one; the amendment's errors name the components
// and the rulebooks as words; rulebook publish prints one line.
func TestCLIHabits(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	raw, err := os.ReadFile("../../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	bom := filepath.Join(dir, "bom.jsonl")
	os.WriteFile(bom, append([]byte("\xef\xbb\xbf"), raw...), 0o600)
	if out := mustLedger(t, "--data", data, "submit", "--file", bom); strings.Count(out, `"ok":true`) != 13 {
		t.Fatalf("a file with a BOM: %s", out)
	}
	for _, args := range [][]string{{"--json", "export", "payments", "--per", "payment"}, {"export", "payments", "--format", "jsonl", "--per", "payment"}} {
		lines := strings.Split(strings.TrimSpace(mustLedger(t, append([]string{"--data", data}, args...)...)), "\n")
		var row map[string]string
		if len(lines) != 9 || json.Unmarshal([]byte(lines[0]), &row) != nil || row["kind"] != "signature" || row["amount"] != "60000.00" {
			t.Fatalf("%v: %d lines, first %s", args, len(lines), lines[0])
		}
	}
	if code, _, errb := ledgerRun(t, "--data", data, "--json", "export", "payments", "--format", "csv"); code != 2 || !strings.Contains(errb, "choose one") {
		t.Fatalf("--json with --format csv: %d %s", code, errb)
	}
	help := mustLedger(t, "help", "export")
	if strings.Count(help, "  -per string") != 1 || strings.Contains(help, "  -data string") {
		t.Fatalf("help export:\n%s", help)
	}
	code, _, errb := ledgerRun(t, "--data", data, "tail", "--nats-url", "nats://127.0.0.1:1", "--limit", "1")
	if code != 1 || !strings.Contains(errb, "no NATS server answers at nats://127.0.0.1:1") || !strings.Contains(errb, "serve") {
		t.Fatalf("tail without a server: %d %s", code, errb)
	}
	amendment := filepath.Join(dir, "am.json")
	os.WriteFile(amendment, []byte(`{"type":"PublishRulebookAmendment","command_id":"am","amendment_id":"a","amends":"aci-nope","effective_on":"2022-04-01","published_on":"2023-09-01","amounts":[{"tier":"T1","mission":"crisis","component":"variable","amount":"1"}],"source":"s","reason":"r"}`), 0o600)
	code, out, _ := ledgerRun(t, "--data", data, "rulebook", "publish", "--file", amendment)
	if code != 1 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `(aci-cpts-2019, aci-2022)`) {
		t.Fatalf("an amendment of an unknown rulebook: %d %s", code, out)
	}
	os.WriteFile(amendment, []byte(strings.Replace(`{"type":"PublishRulebookAmendment","command_id":"am2","amendment_id":"a","amends":"aci-2022","effective_on":"2022-04-01","published_on":"2023-09-01","amounts":[{"tier":"T1","mission":"crisis","component":"variable","amount":"1"}],"source":"s","reason":"r"}`, "\n", "", -1)), 0o600)
	if _, out, _ := ledgerRun(t, "--data", data, "rulebook", "publish", "--file", amendment); !strings.Contains(out, `is not an amount of mission \"crisis\" (fixed, crisis_supplement)`) {
		t.Fatalf("the crisis mission's components: %s", out)
	}
	// prove takes the checkpoints' numbers, as ledger checkpoints lists them.
	key, pub := filepath.Join(dir, "signer.key"), filepath.Join(dir, "verifier.pub")
	os.WriteFile(pub, []byte(mustLedger(t, "keygen", "--name", "habits", "--out", key)), 0o600)
	mustLedger(t, "--data", data, "checkpoint", "--signing-key", key)
	mustLedger(t, "--data", data, "submit", "--file", "../../examples/letter-of-intent.jsonl")
	mustLedger(t, "--data", data, "checkpoint", "--signing-key", key)
	proof := filepath.Join(dir, "proof.json")
	os.WriteFile(proof, []byte(mustLedger(t, "--data", data, "prove", "--from", "1", "--to", "2")), 0o600)
	if out := mustLedger(t, "verify-proof", "--proof", proof, "--verifier-key", pub); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("a consistency proof between checkpoints 1 and 2: %s", out)
	}
	if code, _, errb := ledgerRun(t, "--data", data, "prove", "--from", "1", "--to", "9"); code != 1 || !strings.Contains(errb, "--to 9: no checkpoint of that number (ledger checkpoints lists 2)") {
		t.Fatalf("a checkpoint number that does not exist: %d %s", code, errb)
	}
}

// ledger contract on a letter of intent's id prints the letter and its aid.
func TestContractOfALetter(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", data, "submit", "--file", "../../examples/letter-of-intent.jsonl")
	out := mustLedger(t, "--data", data, "contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70")
	for _, want := range []string{"letter of intent  0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70", "aid               17500.00 decided on 2022-05-02",
		"followed by       0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e71"} {
		if !strings.Contains(out, want) {
			t.Fatalf("%q not in\n%s", want, out)
		}
	}
	var l struct {
		Aid struct {
			Amount string `json:"amount"`
		} `json:"aid"`
	}
	if err := json.Unmarshal([]byte(mustLedger(t, "--data", data, "--json", "contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e70")), &l); err != nil || l.Aid.Amount != "17500.00" {
		t.Fatalf("--json: %+v %v", l, err)
	}
}
