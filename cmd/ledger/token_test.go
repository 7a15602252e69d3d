package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tokens (issue 27): a CPAM no contract names is refused unless --new-cpam
// says so; a name is issued once, revoked or not; every token expires
// (default a year), and token list shows when.
func TestTokenCreateRules(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	code, _, errb := ledgerRun(t, "--data", dir, "token", "create", "--name", "loic", "--role", "agent", "--cpam", "CPAM du Loiet")
	if code != 2 || !strings.Contains(errb, "no contract of the ledger names this CPAM") {
		t.Fatalf("a misspelt CPAM: exit %d %s", code, errb)
	}
	mustLedger(t, "--data", dir, "token", "create", "--name", "loic", "--role", "agent", "--cpam", "CPAM du Loiret")
	mustLedger(t, "--data", dir, "token", "create", "--name", "nora", "--role", "agent", "--cpam", "CPAM du Nord", "--new-cpam", "--expires", "720h")
	mustLedger(t, "--data", dir, "token", "revoke", "--name", "loic")
	if code, _, errb := ledgerRun(t, "--data", dir, "token", "create", "--name", "loic", "--role", "finance"); code != 2 || !strings.Contains(errb, "issued a token already") {
		t.Fatalf("a name issued again: exit %d %s", code, errb)
	}
	if code, _, _ := ledgerRun(t, "--data", dir, "token", "create", "--name", "x", "--role", "finance", "--expires", "-1h"); code != 2 {
		t.Fatalf("a past expiry: exit %d", code)
	}
	// The red team's twelfth finding: a token for ever, and a name that
	// differs from another only in case.
	if code, _, errb := ledgerRun(t, "--data", dir, "token", "create", "--name", "x", "--role", "finance", "--expires", "999999h"); code != 2 || !strings.Contains(errb, "maximum token lifetime, 8760h") {
		t.Fatalf("a token for 114 years: exit %d %s", code, errb)
	}
	if code, _, errb := ledgerRun(t, "--data", dir, "token", "create", "--name", "LOIC", "--role", "finance"); code != 2 || !strings.Contains(errb, `as "loic"`) {
		t.Fatalf("a name differing only in case: exit %d %s", code, errb)
	}
	// The maximum is the operator's to set.
	t.Setenv("LEDGER_TOKEN_MAX_LIFETIME", "720h")
	if code, _, errb := ledgerRun(t, "--data", dir, "token", "create", "--name", "x", "--role", "finance", "--expires", "721h"); code != 2 || !strings.Contains(errb, "720h") {
		t.Fatalf("past a maximum of 720h: exit %d %s", code, errb)
	}
	var list []struct {
		Name      string `json:"name"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(mustLedger(t, "--json", "--data", dir, "token", "list")), &list); err != nil || len(list) != 2 || list[0].ExpiresAt == "" || list[1].ExpiresAt == "" {
		t.Fatalf("list: %+v %v", list, err)
	}
}

// submit reads standard input when --file is absent and it is not a
// terminal (issue 28).
func TestSubmitReadsStandardInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	raw, err := os.ReadFile("../../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--data", dir, "submit"}, bytes.NewReader(raw), &out, &errb); code != 0 || strings.Count(out.String(), `"ok":true`) != strings.Count(strings.TrimSpace(string(raw)), "\n")+1 {
		t.Fatalf("submit from standard input: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if code, _, errb := ledgerRun(t, "--data", dir, "submit"); code != 2 || !strings.Contains(errb, "--file is required") {
		t.Fatalf("submit with nothing to read: exit %d %s", code, errb)
	}
}

// A query on one contract takes its id as its first argument too.
func TestPositionalContractID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	for _, cmd := range []string{"payments", "balance", "audit"} {
		if got, want := mustLedger(t, "--data", dir, cmd, t2ID, "--as-of", "2021-06-30"), mustLedger(t, "--data", dir, cmd, "--contract", t2ID, "--as-of", "2021-06-30"); got != want {
			t.Fatalf("%s with a positional id:\n%s\nwant\n%s", cmd, got, want)
		}
	}
	if code, _, _ := ledgerRun(t, "--data", dir, "balance", t2ID, "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e81"); code != 2 {
		t.Fatalf("two different ids: exit %d", code)
	}
}
