package main

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/chainstatus"
	"github.com/cptsledger/ledger/internal/testwait"
)

// readModels opens the current read-model file as an insider would.
func readModels(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "projections.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A payment edited in the read models (160000.00 instead of 60000.00) was
// served with an "ok" from verify: verify now folds the log again and
// compares every row, names the contract and both values, and exits 1;
// --log-only keeps the log's check alone and says so; a rebuild repairs.
func TestVerifyChecksTheReadModels(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	if out := mustLedger(t, "--data", dir, "verify"); !strings.Contains(out, "read models: none yet") {
		t.Fatalf("verify before any read model: %s", out)
	}
	mustLedger(t, "--data", dir, "balance", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80")
	out := mustLedger(t, "--data", dir, "verify")
	for _, want := range []string{"identical to a fresh fold of the log", "scope: the log is internally consistent", "not proven against a signed checkpoint"} {
		if !strings.Contains(out, want) {
			t.Fatalf("verify of an untouched ledger does not say %q:\n%s", want, out)
		}
	}
	res, err := readModels(t, dir).Exec(`UPDATE payments SET amount = '160000.00' WHERE amount = '60000.00'`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d payments of 60000.00 edited, want 1", n)
	}
	code, out, errb := ledgerRun(t, "--data", dir, "verify")
	if code != 1 || !strings.Contains(out, "160000.00") || !strings.Contains(out, "60000.00") || !strings.Contains(out, "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80") ||
		!strings.Contains(errb, "read models differ from the log") {
		t.Fatalf("verify of an edited read model: exit %d\n%s\n%s", code, out, errb)
	}
	code, out, _ = ledgerRun(t, "--json", "--data", dir, "verify")
	var rep struct {
		OK         bool `json:"ok"`
		ReadModels struct {
			Mismatches []struct{ Table, ContractID, Stored, Rebuilt string }
		} `json:"read_models"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK || len(rep.ReadModels.Mismatches) != 2 {
		t.Fatalf("verify --json of an edited read model: exit %d %v\n%s", code, err, out)
	}
	if out := mustLedger(t, "--data", dir, "verify", "--log-only"); !strings.Contains(out, "read models were not compared with it (--log-only, or none yet)") {
		t.Fatalf("verify --log-only: %s", out)
	}
	// The red team's seventh finding: the edited read model was still
	// served. Until a rebuild, every query refuses, naming the table and
	// the contract.
	for _, args := range [][]string{{"payments", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"}, {"totals"}, {"contracts"}} {
		code, out, errb := ledgerRun(t, append([]string{"--data", dir}, args...)...)
		if code != 1 || strings.Contains(out, "160000.00") || !strings.Contains(errb, "table payments, contract 0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80") || !strings.Contains(errb, "ledger rebuild") {
			t.Fatalf("%v from an edited read model: exit %d\n%s\n%s", args, code, out, errb)
		}
	}
	mustLedger(t, "--data", dir, "rebuild")
	mustLedger(t, "--data", dir, "verify")
	if out := mustLedger(t, "--data", dir, "payments", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"); strings.Contains(out, "160000.00") {
		t.Fatalf("payments after the rebuild:\n%s", out)
	}
}

// A projection's checkpoint moved forward by hand (which would have it
// skip the events up to it, later payments hidden) is named by verify as
// what it is, not as a busy server, and the read models are not served.
func TestAProjectionCheckpointMovedForwardIsNamed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	mustLedger(t, "--data", dir, "balance", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80")
	if _, err := readModels(t, dir).Exec(`UPDATE checkpoints SET position = position + 1000 WHERE projection = 'payments'`); err != nil {
		t.Fatal(err)
	}
	code, out, errb := ledgerRun(t, "--data", dir, "verify")
	if code != 1 || strings.Contains(errb, "busy server") || !strings.Contains(out, "payments at position 1019") || !strings.Contains(out, "moved forward by hand") {
		t.Fatalf("verify of a checkpoint moved forward: exit %d\n%s\n%s", code, out, errb)
	}
	if code, _, errb := ledgerRun(t, "--data", dir, "payments", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"); code != 1 || !strings.Contains(errb, "table checkpoints") {
		t.Fatalf("payments after: exit %d %s", code, errb)
	}
}

// An event's data edited in events.db: rebuild refused (exit 1, naming the
// first broken position) and every query refused from then on, until the
// log is whole again and verify says so.
func TestNothingIsServedFromABrokenChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	contract := "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"
	before := mustLedger(t, "--data", dir, "payments", "--contract", contract)
	pos, restore := raisePayment(t, dir)
	code, _, errb := ledgerRun(t, "--data", dir, "rebuild")
	if code != 1 || !strings.Contains(errb, "position "+itoa(pos)) || !strings.Contains(errb, "hash chain") {
		t.Fatalf("rebuild of a rewritten log: exit %d\n%s", code, errb)
	}
	for _, args := range [][]string{{"payments", "--contract", contract}, {"balance", "--contract", contract}, {"totals"}, {"alerts"}} {
		code, out, errb := ledgerRun(t, append([]string{"--data", dir}, args...)...)
		if code != 1 || strings.Contains(out, "160000.00") || !strings.Contains(errb, "hash-chain check") {
			t.Fatalf("%v after a failed check: exit %d\n%s\n%s", args, code, out, errb)
		}
	}
	// The verdict's file deleted: unknown, not healthy — the query checks
	// the log again and still refuses.
	if err := os.Remove(filepath.Join(dir, "chain-status.json")); err != nil {
		t.Fatal(err)
	}
	if code, out, errb := ledgerRun(t, "--data", dir, "payments", "--contract", contract); code != 1 || strings.Contains(out, "160000.00") || !strings.Contains(errb, "hash-chain check") {
		t.Fatalf("payments after the verdict's file was deleted: exit %d\n%s\n%s", code, out, errb)
	}
	// The log restored (the event put back): verify finds it whole, and the
	// queries answer again, from the log as it was.
	restore()
	mustLedger(t, "--data", dir, "verify")
	if after := mustLedger(t, "--data", dir, "payments", "--contract", contract); after != before {
		t.Fatalf("payments after the log was restored:\n%s\nwant\n%s", after, before)
	}
	if _, err := os.Stat(filepath.Join(dir, "chain-status.json")); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// serve checks the whole log at start and every --verify-every: an event
// rewritten in events.db while it runs turns ledger_chain_ok to 0, /readyz
// to 503 and the queries to 503 chain_broken; the log put back, the next
// check finds it whole and serving resumes.
func TestServeFlagsABrokenChain(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, "--verify-every", "1s")
	token := strings.TrimSpace(mustLedger(t, "--data", dir, "token", "create", "--name", "audrey", "--role", "auditor"))
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	metric := func() string { return chainOK(t, s) }
	ready := func() int { code, _ := get(t, "", s.http+"/readyz"); return code }
	testwait.Until(t, 30*time.Second, "a first whole check", func() bool {
		st, ok, _ := chainstatus.Read(dir)
		return ok && st.OK && st.Position == 19 && metric() == "1" && ready() == http.StatusOK
	})
	_, restore := raisePayment(t, dir)
	testwait.Until(t, 30*time.Second, "the rewrite flagged", func() bool { return metric() == "0" && ready() == http.StatusServiceUnavailable })
	code, body := get(t, token, s.http+"/api/v1/contracts/"+t2ID+"/payments")
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"chain_broken"`) || strings.Contains(string(body), "160000") {
		t.Fatalf("payments from a broken log: %d %s", code, body)
	}
	if !strings.Contains(s.stderr.String(), "level=ERROR") {
		t.Fatalf("no error logged:\n%s", s.stderr.String())
	}
	restore()
	testwait.Until(t, 30*time.Second, "the log whole again", func() bool { return metric() == "1" && ready() == http.StatusOK })
	if code, body := get(t, token, s.http+"/api/v1/contracts/"+t2ID+"/payments"); code != http.StatusOK {
		t.Fatalf("payments once the log is whole: %d %s", code, body)
	}
}

// raisePayment edits, as an insider, the first payment of 60000.00 in
// events.db to 160000.00 (its chain left as it was), and returns its
// position and how to put it back.
func raisePayment(t *testing.T, dir string) (int64, func()) {
	t.Helper()
	db := insider(t, dir)
	var pos int64
	var data string
	if err := db.QueryRow(`SELECT position, CAST(data AS TEXT) FROM events WHERE CAST(data AS TEXT) LIKE '%"amount":"60000.00"%' ORDER BY position LIMIT 1`).Scan(&pos, &data); err != nil {
		t.Fatal(err)
	}
	set := func(v string) {
		if _, err := db.Exec(`UPDATE events SET data = ? WHERE position = ?`, []byte(v), pos); err != nil {
			t.Fatal(err)
		}
	}
	set(strings.Replace(data, "60000.00", "160000.00", 1))
	return pos, func() { set(data) }
}

// The red team's fourth finding: deleting chain-status.json turned a
// running serve's broken-chain verdict back into healthy. serve keeps its
// verdict in memory: with the file deleted it stays broken (/readyz 503,
// ledger_chain_ok 0, queries 503), and it is cleared only by serve's own
// check passing — which a verify finding the log whole again asks for.
func TestADeletedVerdictIsNotHealthy(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, "--verify-every", "24h")
	token := strings.TrimSpace(mustLedger(t, "--data", dir, "token", "create", "--name", "audrey", "--role", "auditor"))
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	ready := func() int { code, _ := get(t, "", s.http+"/readyz"); return code }
	metric := func() string { return chainOK(t, s) }
	testwait.Until(t, 30*time.Second, "serve ready", func() bool { return ready() == http.StatusOK })
	_, restore := raisePayment(t, dir)
	if code, _, _ := ledgerRun(t, "--data", dir, "verify"); code != 1 {
		t.Fatalf("verify of a rewritten log: exit %d", code)
	}
	testwait.Until(t, 30*time.Second, "the verdict taken up by serve", func() bool { return ready() == http.StatusServiceUnavailable })
	if err := os.Remove(filepath.Join(dir, "chain-status.json")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		code, body := get(t, token, s.http+"/api/v1/contracts/"+t2ID+"/payments")
		if code != http.StatusServiceUnavailable || strings.Contains(string(body), "160000") || ready() != http.StatusServiceUnavailable || metric() != "0" {
			t.Fatalf("with the verdict's file deleted: payments %d %s, /readyz %d, ledger_chain_ok %s", code, body, ready(), metric())
		}
	}
	// A verdict file written by hand saying ok is not believed either.
	if err := os.WriteFile(filepath.Join(dir, "chain-status.json"), []byte(`{"ok":true,"checked_at":"2099-01-01T00:00:00Z","by":"verify","position":19}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 30*time.Second, "serve's own check, still broken", func() bool {
		st, ok, _ := chainstatus.Read(dir)
		return ok && !st.OK && st.By == "serve"
	})
	if ready() != http.StatusServiceUnavailable {
		t.Fatal("serve believed a verdict file saying ok")
	}
	restore()
	mustLedger(t, "--data", dir, "verify")
	testwait.Until(t, 30*time.Second, "serve's own check passing", func() bool { return ready() == http.StatusOK && metric() == "1" })
	if code, body := get(t, token, s.http+"/api/v1/contracts/"+t2ID+"/payments"); code != http.StatusOK {
		t.Fatalf("payments once the log is whole: %d %s", code, body)
	}
}

// serve does not answer from read models that verify found different from
// the log: the API answers 503 read_models_differ naming the table and the
// contract, also once the verdict's file is deleted, until a rebuild
// replaces the file.
func TestServeRefusesReadModelsFoundDifferent(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir)
	token := strings.TrimSpace(mustLedger(t, "--data", dir, "token", "create", "--name", "audrey", "--role", "auditor"))
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	url := s.http + "/api/v1/contracts/" + t2ID + "/payments"
	testwait.Until(t, 30*time.Second, "the payments served", func() bool {
		code, body := get(t, token, url)
		return code == http.StatusOK && strings.Contains(string(body), "60000.00")
	})
	if _, err := readModels(t, dir).Exec(`UPDATE payments SET amount = '160000.00' WHERE amount = '60000.00'`); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := ledgerRun(t, "--data", dir, "verify"); code != 1 {
		t.Fatalf("verify of an edited read model: exit %d", code)
	}
	refused := func(what string) {
		t.Helper()
		code, body := get(t, token, url)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"read_models_differ"`) || strings.Contains(string(body), "160000") ||
			!strings.Contains(string(body), "table payments, contract "+t2ID) {
			t.Fatalf("%s: %d %s", what, code, body)
		}
	}
	refused("payments after verify found them edited")
	if err := os.Remove(filepath.Join(dir, "models-status.json")); err != nil {
		t.Fatal(err)
	}
	refused("payments with the verdict's file deleted")
	mustLedger(t, "--data", dir, "rebuild")
	testwait.Until(t, 30*time.Second, "the rebuilt read models served", func() bool {
		code, body := get(t, token, url)
		return code == http.StatusOK && strings.Contains(string(body), "60000.00") && !strings.Contains(string(body), "160000")
	})
}

// chainOK is the value of the metric ledger_chain_ok that serve s exports.
func chainOK(t *testing.T, s *served) string {
	t.Helper()
	_, body := get(t, "", s.http+"/metrics")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "ledger_chain_ok "); ok {
			return v
		}
	}
	return ""
}
