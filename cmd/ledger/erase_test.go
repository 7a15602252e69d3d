package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The doctor whose data are erased: two aid contracts, an account in their
// name and a termination whose reason names them.
const (
	erasedRPPS   = "10001234562"
	erasedName   = "Docteur Aline Effacée"
	erasedFirst  = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea2" // the extension's lifecycle
	erasedSecond = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea5"
	keptRPPS     = "10001234561" // another doctor, whose data stay
)

// personalLedger fills the data directory with the 2024 lifecycles, a
// second contract of the doctor to erase, their account and a termination.
func personalLedger(t *testing.T, run func(args ...string) string, data string) {
	t.Helper()
	run("--data", data, "submit", "--file", "../../domain/assistant/testdata/aid-2024-lifecycles.jsonl")
	extra := filepath.Join(t.TempDir(), "extra.jsonl")
	os.WriteFile(extra, []byte(strings.Join([]string{
		`{"type":"SignAidContract","command_id":"e-sign","contract_id":"` + erasedSecond + `","cpam":"CPAM Test","doctor":{"rpps":"` + erasedRPPS + `","specialty":"general_practice","sector":1,"optam":false,"group_practice":true,"underserved_zone":false,"coordinated_practice":true,"patientele_percentile":60},"option":"1/2","signed_on":"2025-02-01","band":"below_p90","patientele_baseline":1000,"patientele_target":1050}`,
		`{"type":"RecordBankAccount","command_id":"e-acct","contract_id":"` + erasedFirst + `","iban":"FR7630006000011234567890189","holder":"` + erasedName + `","effective_on":"2023-07-01"}`,
		`{"type":"TerminateContract","command_id":"e-end","contract_id":"` + erasedSecond + `","terminated_on":"2025-06-01","reason":"` + erasedName + ` retires"}`,
	}, "\n")+"\n"), 0o600)
	run("--data", data, "submit", "--file", extra)
}

// Erasure end to end, with serve running beside it: sign aid contracts,
// checkpoint, back up, erase one doctor (refused first without a legal
// basis, nothing written), then the checkpoint verifies, the proof of the
// doctor's signature verifies, and nothing of them is readable — not in
// the audit trail, the contract, the search, the export, the API, the
// console, what NATS carried, nor any file of the data directory — while
// the other doctors read as before. A restore with the key store of the
// backup taken before refuses the erased doctor's key.
func TestEraseEndToEnd(t *testing.T) {
	base := t.TempDir()
	data := filepath.Join(base, "data")
	s := startServe(t, data)
	must := func(args ...string) string { return mustLedger(t, args...) }
	personalLedger(t, must, data)
	key, pub, cp := filepath.Join(base, "signer.key"), filepath.Join(base, "verifier.pub"), filepath.Join(base, "cp")
	os.WriteFile(pub, []byte(must("keygen", "--name", "erase-test", "--out", key)), 0o600)
	os.WriteFile(cp, []byte(must("--data", data, "checkpoint", "--signing-key", key)), 0o600)
	must("--data", data, "backup", "--out", filepath.Join(base, "before.db"))
	token := strings.TrimSpace(must("--data", data, "token", "create", "--name", "fanny", "--role", "finance"))
	if !strings.Contains(must("--data", data, "contract", erasedFirst), erasedRPPS) {
		t.Fatal("before the erasure, the contract does not show the doctor's RPPS number")
	}

	// An auditor's check kept its fold, with the doctor's data in clear:
	// the erasure removes it (the scan of every file below would find it).
	memory := filepath.Join(base, "auditor.memory")
	must("--data", data, "verify", "--models-memory", memory)
	if _, err := os.Stat(filepath.Join(data, "checked-copy.db")); err != nil {
		t.Fatalf("verify --models-memory kept no fold: %v", err)
	}

	code, _, errb := ledgerRun(t, "--data", data, "erase", "--person", erasedRPPS, "--reason", "retention over")
	if code != 1 || !strings.Contains(errb, "kept until") || strings.Contains(must("--data", data, "--json", "audit", "--contract", erasedFirst), "PersonalDataErased") {
		t.Fatalf("an erasure before the retention period: exit %d %s", code, errb)
	}
	out := must("--data", data, "erase", "--person", erasedRPPS, "--reason", "the doctor asked", "--legal-basis", "GDPR art. 17(1)(a), court order 2026-118")
	if !strings.Contains(out, erasedFirst) || !strings.Contains(out, erasedSecond) || !strings.Contains(out, "destroyed") {
		t.Fatalf("erase: %s", out)
	}

	if _, err := os.Stat(filepath.Join(data, "checked-copy.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the check's kept fold after the erasure: %v", err)
	}
	must("--data", data, "verify", "--checkpoint", cp, "--verifier-key", pub)
	proofs := 0
	for _, id := range eventsOf(t, data, erasedFirst, erasedSecond) { // every event of the doctor's, in the checkpoint
		proof := filepath.Join(base, "proof.json")
		os.WriteFile(proof, []byte(must("--data", data, "prove", "--event", id, "--checkpoint", cp)), 0o600)
		must("verify-proof", "--proof", proof, "--verifier-key", pub)
		proofs++
	}
	if proofs < 15 {
		t.Fatalf("%d proofs of the doctor's events", proofs)
	}

	var trail []struct {
		Type     string                  `json:"type"`
		Personal *struct{ State string } `json:"personal"`
	}
	audit := must("--data", data, "--json", "audit", "--contract", erasedFirst)
	json.Unmarshal([]byte(audit), &trail)
	if len(trail) == 0 || trail[0].Personal == nil || trail[0].Personal.State != "erased" || trail[len(trail)-1].Type != "PersonalDataErased" {
		t.Fatalf("the audit trail after the erasure: %.600s", audit)
	}
	reads := map[string]string{
		"audit":    audit,
		"contract": must("--data", data, "contract", erasedFirst),
		"second":   must("--data", data, "--json", "contract", erasedSecond),
		"search":   must("--data", data, "contracts", "--scheme", "assistant"),
		"export":   must("--data", data, "export", "payments"),
		"api":      apiGet(t, s.http, token, "/api/v1/contracts/"+erasedFirst),
		"console":  consoleGet(t, s.http, token, "/contracts/"+erasedFirst),
		"list":     consoleGet(t, s.http, token, "/contracts?scheme=assistant"),
		"tail":     tailAll(t, data),
	}
	for what, text := range reads {
		if strings.Contains(text, erasedRPPS) || strings.Contains(text, erasedName) {
			t.Errorf("%s shows the erased doctor:\n%.2000s", what, text)
		}
	}
	for _, what := range []string{"contract", "second", "search", "api", "console"} {
		if !strings.Contains(reads[what], "[effacé]") && !strings.Contains(reads[what], `[effac\u00e9]`) {
			t.Errorf("%s does not say [effacé]:\n%.1500s", what, reads[what])
		}
	}
	if !strings.Contains(reads["search"], "RPPS "+keptRPPS) || !strings.Contains(reads["tail"], "PersonalDataErased") {
		t.Errorf("the other doctors, or the erasure on NATS, are missing:\n%s", reads["search"])
	}
	noFileHolds(t, data, erasedRPPS, erasedName)

	restored := filepath.Join(base, "restored")
	must("--data", data, "backup", "--out", filepath.Join(base, "after.db"))
	out = must("--data", restored, "restore", "--from", filepath.Join(base, "after.db"), "--keys", filepath.Join(base, "before.db.keys"))
	if !strings.Contains(out, "1 refused") {
		t.Fatalf("a restore with the key store of before the erasure: %s", out)
	}
	if c := must("--data", restored, "contract", erasedFirst); strings.Contains(c, erasedRPPS) || !strings.Contains(c, "[effacé]") {
		t.Fatalf("the restored ledger reads the erased doctor:\n%s", c)
	}
	if c := must("--data", restored, "contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea1"); !strings.Contains(c, keptRPPS) {
		t.Fatalf("the restored ledger lost another doctor's data:\n%s", c)
	}
	must("--data", restored, "verify", "--checkpoint", cp, "--verifier-key", pub)

	// Restored without the key store: the sealed data read [clé absente],
	// and what would write more of a doctor's data is refused.
	withheld := filepath.Join(base, "withheld")
	must("--data", withheld, "restore", "--from", filepath.Join(base, "after.db"), "--without-keys")
	if c := must("--data", withheld, "contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea1"); strings.Contains(c, keptRPPS) || !strings.Contains(c, "[clé absente]") {
		t.Fatalf("a ledger restored without its key store:\n%s", c)
	}
	acct := filepath.Join(base, "acct.jsonl")
	os.WriteFile(acct, []byte(`{"type":"RecordBankAccount","command_id":"w-acct","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ea1","iban":"FR7630006000011234567890189","holder":"Someone","effective_on":"2026-12-01"}`+"\n"), 0o600)
	if code, out, _ := ledgerRun(t, "--data", withheld, "submit", "--file", acct); code != 1 || !strings.Contains(out, "personal_key_missing") {
		t.Fatalf("a command writing a doctor's data without their key: exit %d %s", code, out)
	}
}

// eventsOf returns the ids of the contracts' events, but their erasure
// (recorded after the checkpoint).
func eventsOf(t *testing.T, data string, contracts ...string) []string {
	t.Helper()
	var ids []string
	for _, c := range contracts {
		var trail []struct {
			EventID string `json:"event_id"`
			Type    string `json:"type"`
		}
		json.Unmarshal([]byte(mustLedger(t, "--data", data, "--json", "audit", "--contract", c)), &trail)
		for _, e := range trail {
			if e.Type != "PersonalDataErased" {
				ids = append(ids, e.EventID)
			}
		}
	}
	return ids
}

func apiGet(t *testing.T, base, token, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return string(b)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// consoleGet signs in to the console with the token and reads a page.
func consoleGet(t *testing.T, base, token, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfInput.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in page: %.300s", b)
	}
	res, err = c.PostForm(base+"/login", url.Values{"token": {token}, "csrf": {string(m[1])}, "next": {path}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("console %s: %d %.300s", path, res.StatusCode, b)
	}
	return string(b)
}

// tailAll reads every event NATS carried, from the start.
func tailAll(t *testing.T, data string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	var v struct {
		Events int `json:"events"`
	}
	json.Unmarshal([]byte(mustLedger(t, "--data", data, "--json", "verify", "--log-only")), &v)
	events := v.Events
	deadline := time.Now().Add(30 * time.Second)
	for {
		out.Reset()
		errb.Reset()
		sub, subCancel := context.WithTimeout(ctx, 5*time.Second)
		run(sub, []string{"--data", data, "tail", "--from-start", "--limit", itoa(int64(events))}, nil, &out, &errb)
		subCancel()
		if strings.Count(out.String(), "\n") >= events || time.Now().After(deadline) {
			break
		}
	}
	if strings.Count(out.String(), "\n") < events {
		t.Fatalf("tail read %d of %d events: %s", strings.Count(out.String(), "\n"), events, errb.String())
	}
	return out.String()
}

// noFileHolds fails when a file of the data directory holds any of the
// texts (SQLite and JetStream store text as written, in UTF-8).
func noFileHolds(t *testing.T, dir string, texts ...string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // a file removed meanwhile
		}
		for _, s := range texts {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s still holds %q", p, s)
			}
		}
		return nil
	})
}

// An erasure killed after its first contract recorded: verify says a key
// survived its erasure; the same erase run again records the second
// contract, destroys the key, and verify passes.
func TestEraseKilledThenRunAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	bin, dir := ledgerBinary(t), t.TempDir()
	data := filepath.Join(dir, "data")
	personalLedger(t, func(args ...string) string { return ledger(t, bin, args...) }, data)
	args := []string{"--data", data, "--log-level", "debug", "erase", "--person", erasedRPPS, "--reason", "the doctor asked", "--legal-basis", "court order"}
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed, sc := false, bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "erase: contract recorded") && !killed {
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatal("the erasure ended before it could be killed")
	}
	var out, errb bytes.Buffer
	v := exec.Command(bin, "--data", data, "verify")
	v.Stdout, v.Stderr = &out, &errb
	if err := v.Run(); err == nil || !strings.Contains(errb.String(), "erased") {
		t.Fatalf("verify after the kill: %v\n%s%s", err, out.String(), errb.String())
	}
	again := ledger(t, bin, append([]string{"--data", data}, args[4:]...)...)
	if !strings.Contains(again, "recorded before") || !strings.Contains(again, "destroyed") {
		t.Fatalf("the erasure run again: %s", again)
	}
	ledger(t, bin, "--data", data, "verify")
	for _, c := range []string{erasedFirst, erasedSecond} {
		if got := ledger(t, bin, "--data", data, "contract", c); strings.Contains(got, erasedRPPS) || !strings.Contains(got, "[effacé]") {
			t.Fatalf("contract %s after the erasure run again:\n%s", c, got)
		}
	}
}
