package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
)

// payableLedger submits a generated history, then a bank account for
// every beneficiary recorded by one person and confirmed by another, and
// each CPAM's payer account.
func payableLedger(t *testing.T, bin, dir string) {
	t.Helper()
	lines, _ := gen.National(gen.Options{Seed: 11, Contracts: 60, Today: domain.MustDate("2024-06-30"), DecideMonthly: true})
	lines = append(lines, gen.Aid(gen.AidOptions{Seed: 11, Contracts: 100, Today: domain.MustDate("2024-06-30")})...)
	var record, confirm, payers []string
	cpams := map[string]bool{}
	for _, l := range lines {
		var c struct {
			Type, ContractID, LetterID, CPAM string
		}
		var raw map[string]any
		json.Unmarshal(l, &raw)
		c.Type, _ = raw["type"].(string)
		c.ContractID, _ = raw["contract_id"].(string)
		c.LetterID, _ = raw["letter_id"].(string)
		c.CPAM, _ = raw["cpam"].(string)
		id, stream := c.ContractID, "cpts-"
		switch c.Type {
		case "SignAidContract":
			stream = "assistant-"
		case "ValidateLetterOfIntent":
			id = c.LetterID
		case "SignContract":
		default:
			continue
		}
		record = append(record, fmt.Sprintf(`{"type":"RecordBankAccount","command_id":"acct","contract_id":%q,"iban":"FR7630006000011234567890189","holder":"Beneficiary %s","effective_on":"2019-09-01"}`, id, id[:8]))
		confirm = append(confirm, fmt.Sprintf(`{"type":"ConfirmBankAccount","command_id":"confirm","contract_id":%q,"account":%q}`, id, domain.EventID(stream+id, "acct", 0)))
		if !cpams[c.CPAM] {
			cpams[c.CPAM] = true
			payers = append(payers, fmt.Sprintf(`{"type":"RecordPayerAccount","command_id":"payer-%d","cpam":%q,"iban":"FR7630001007941234567890185","name":%q,"effective_on":"2019-09-01"}`, len(cpams), c.CPAM, c.CPAM))
		}
	}
	write := func(name string, ls [][]byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, append(bytes.Join(ls, []byte("\n")), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	asBytes := func(ss []string) (out [][]byte) {
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	data := filepath.Join(dir, "data")
	ledger(t, bin, "--data", data, "submit", "--file", write("history.jsonl", lines))
	if out := ledger(t, bin, "--data", data, "submit", "--actor", "agnes", "--file", write("record.jsonl", asBytes(append(record, payers...)))); strings.Contains(out, `"ok":false`) {
		t.Fatal(out)
	}
	ledger(t, bin, "--data", data, "submit", "--actor", "carole", "--file", write("confirm.jsonl", asBytes(confirm)))
}

// TestPayRunKilledThenRunAgain kills `ledger pay run` with SIGKILL once it
// has recorded some contracts' orders, runs the same run again, and
// checks that no payment was ordered twice, that every payment due was
// ordered, and that the file is the one an uninterrupted run of a copy
// writes, byte for byte.
func TestPayRunKilledThenRunAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	bin, dir := ledgerBinary(t), t.TempDir()
	payableLedger(t, bin, dir)
	data := filepath.Join(dir, "data")
	// A copy, paid in one go: the reference.
	reference := filepath.Join(dir, "reference")
	ledger(t, bin, "--data", data, "backup", "--out", filepath.Join(dir, "copy.db"))
	ledger(t, bin, "--data", reference, "restore", "--from", filepath.Join(dir, "copy.db"))
	run := []string{"pay", "run", "--through", "2024-06-30", "--execution-date", "2024-07-01", "--run", "KILLED-1", "--actor", "fanny"}
	refOut := filepath.Join(dir, "reference.xml")
	var want struct {
		Orders int    `json:"orders"`
		Total  string `json:"total"`
	}
	json.Unmarshal([]byte(ledger(t, bin, append([]string{"--data", reference, "--json"}, append(run, "--out", refOut)...)...)), &want)
	if want.Orders < 100 {
		t.Fatalf("the reference run ordered %d payments: too few to interrupt", want.Orders)
	}

	out := filepath.Join(dir, "killed.xml")
	cmd := exec.Command(bin, append([]string{"--data", data, "--log-level", "debug"}, append(run, "--out", out)...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	recorded, sc := 0, bufio.NewScanner(stderr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "payment run: orders recorded") {
			recorded++
			if recorded == 10 {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
	}
	cmd.Wait()
	if recorded < 10 {
		t.Fatalf("the run ended after %d contracts, before it could be killed", recorded)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a killed run left a file: %v", err)
	}
	ledger(t, bin, "--data", data, "verify")
	var got struct {
		Orders int    `json:"orders"`
		Total  string `json:"total"`
	}
	json.Unmarshal([]byte(ledger(t, bin, append([]string{"--data", data, "--json"}, append(run, "--out", out)...)...)), &got)
	// Nothing ordered twice: the run's orders, counted again from every
	// contract's stream, are the uninterrupted run's, to the cent.
	if got != want {
		t.Fatalf("after the kill the run ordered %+v, an uninterrupted one %+v", got, want)
	}
	a, _ := os.ReadFile(refOut)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(withoutCreation(a), withoutCreation(b)) {
		t.Fatal("the file of the run killed and run again differs from the uninterrupted run's")
	}
}

func withoutCreation(b []byte) []byte {
	i, j := bytes.Index(b, []byte("<CreDtTm>")), bytes.Index(b, []byte("</CreDtTm>"))
	if i < 0 || j < i {
		return b
	}
	return append(append([]byte{}, b[:i]...), b[j:]...)
}

// TestTwoPayRunsRace runs two `ledger pay run` processes at once, with
// different run ids, on the same ledger: every payment due is ordered
// exactly once, by one run or the other, and each file holds its own
// run's transfers.
func TestTwoPayRunsRace(t *testing.T) {
	if testing.Short() {
		t.Skip("process race skipped in -short mode")
	}
	bin, dir := ledgerBinary(t), t.TempDir()
	payableLedger(t, bin, dir)
	data := filepath.Join(dir, "data")
	type out struct {
		Orders int    `json:"orders"`
		Total  string `json:"total"`
	}
	results := make([]out, 2)
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			cmd := exec.Command(bin, "--data", data, "--json", "pay", "run", "--through", "2024-06-30", "--execution-date", "2024-07-01",
				"--run", fmt.Sprintf("RACE-%d", i), "--actor", "fanny", "--out", filepath.Join(dir, fmt.Sprintf("race-%d.xml", i)))
			raw, err := cmd.Output()
			if err == nil {
				err = json.Unmarshal(raw, &results[i])
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// A third run finds nothing left; the two together ordered what one
	// run over a copy taken before them orders.
	var third out
	json.Unmarshal([]byte(ledger(t, bin, "--data", data, "--json", "pay", "run", "--through", "2024-06-30", "--execution-date", "2024-07-01", "--run", "RACE-3", "--actor", "fanny")), &third)
	if third.Orders != 0 {
		t.Fatalf("a third run ordered %d payments: the racing runs left some", third.Orders)
	}
	total := domain.MustMoney(results[0].Total).Add(domain.MustMoney(results[1].Total))
	rec := ledger(t, bin, "--data", data, "--json", "reconcile", "--month", "2024-07")
	// Each payment ordered is one difference of the month (ordered, not
	// booked), counted once; the runs count their transfers: a payment
	// ordered twice would make them differ. What the runs sent is what the
	// month shows ordered.
	var r struct {
		OrderedInMonth string `json:"ordered_in_month"`
		Differences    []struct {
			ExecutionStatus string `json:"execution_status"`
		} `json:"differences"`
	}
	json.Unmarshal([]byte(rec), &r)
	ordered := 0
	for _, d := range r.Differences {
		if d.ExecutionStatus == "ordered" {
			ordered++
		}
	}
	if ordered != results[0].Orders+results[1].Orders || r.OrderedInMonth != total.String() || ordered == 0 {
		t.Fatalf("the two runs sent %d + %d transfers (%s); the month shows %d payments ordered (%s)", results[0].Orders, results[1].Orders, total, ordered, r.OrderedInMonth)
	}
	t.Logf("run 0: %d orders, run 1: %d orders, %s together", results[0].Orders, results[1].Orders, total)
}
