package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
)

// verify --models-memory: the first check folds the whole log and keeps
// the fold; the next brings it forward by the events since and says so;
// an edit of the read models is found either way; the insider who edits
// the kept copy too sends the check back to a full fold, which finds it; a
// memory in the data directory is refused.
func TestVerifyRemembersItsFold(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	memory := filepath.Join(t.TempDir(), "auditor", "models.memory")
	if err := os.MkdirAll(filepath.Dir(memory), 0o700); err != nil {
		t.Fatal(err)
	}
	contract := "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl")
	mustLedger(t, "--data", dir, "balance", "--contract", contract)
	type report struct {
		OK         bool `json:"ok"`
		ReadModels struct {
			Position    int64  `json:"position"`
			Incremental bool   `json:"incremental"`
			From        int64  `json:"from"`
			Folded      int64  `json:"folded"`
			FullBecause string `json:"full_because"`
			Mismatches  []struct{ Table, Stored, Rebuilt string }
		} `json:"read_models"`
	}
	verify := func(wantCode int) report {
		t.Helper()
		code, out, errb := ledgerRun(t, "--json", "--data", dir, "verify", "--models-memory", memory)
		var rep report
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != wantCode {
			t.Fatalf("verify --models-memory: exit %d, want %d (%v)\n%s\n%s", code, wantCode, err, out, errb)
		}
		return rep
	}
	first := verify(0)
	if !first.OK || first.ReadModels.Incremental || !strings.Contains(first.ReadModels.FullBecause, "no memory") {
		t.Fatalf("first: %+v", first)
	}
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/aid-contract.jsonl")
	out := mustLedger(t, "--data", dir, "verify", "--models-memory", memory)
	if !strings.Contains(out, "the fold of the log kept by the last check, brought forward from position") {
		t.Fatalf("the second verify does not say it brought the kept fold forward:\n%s", out)
	}
	second := verify(0)
	if !second.ReadModels.Incremental || second.ReadModels.From != second.ReadModels.Position || second.ReadModels.Position <= first.ReadModels.Position {
		t.Fatalf("second: %+v (first at %d)", second, first.ReadModels.Position)
	}
	// The insider edits the live file and the kept copy alike.
	for _, f := range []string{"projections.db", "checked-copy.db"} {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if res, err := db.Exec(`UPDATE payments SET amount = '160000.00' WHERE amount = '60000.00'`); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s: %d rows edited", f, n)
		}
		db.Close()
	}
	third := verify(1)
	if third.OK || third.ReadModels.Incremental || !strings.Contains(third.ReadModels.FullBecause, "changed since the last check") || len(third.ReadModels.Mismatches) != 2 {
		t.Fatalf("the kept copy edited with the read models: %+v", third)
	}
	mustLedger(t, "--data", dir, "rebuild")
	if rep := verify(0); !rep.OK || !rep.ReadModels.Incremental {
		t.Fatalf("after the rebuild: %+v", rep)
	}
	code, _, errb := ledgerRun(t, "--data", dir, "verify", "--models-memory", filepath.Join(dir, "memory"))
	if code != 2 || !strings.Contains(errb, "must be outside the data directory") {
		t.Fatalf("a memory in the data directory: exit %d %s", code, errb)
	}
	code, _, errb = ledgerRun(t, "--data", dir, "verify", "--models-memory", filepath.Join(memory, "nowhere", "memory"))
	if code != 2 || !strings.Contains(errb, "its directory must exist") {
		t.Fatalf("a memory in no directory: exit %d %s", code, errb)
	}
}

// verify --models-memory killed (SIGKILL) while it folds the whole log
// into its new copy, then while it brings the copy forward: the next run
// does not trust what the killed one left — it folds the whole log again,
// saying why, finds the read models identical, and the run after that is
// incremental again. Each kill waits for a condition (the file the phase
// writes exists), tried again if the run ended first.
func TestVerifyKilledLeavesNoFoldTrusted(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	bin := ledgerBinary(t)
	base := t.TempDir()
	data, memory := filepath.Join(base, "data"), filepath.Join(base, "auditor.memory")
	lines, _ := gen.National(gen.Options{Seed: 5, Contracts: 160, Today: domain.MustDate("2025-06-30"), DecideMonthly: true})
	half := len(lines) / 2
	for i, part := range [][][]byte{lines[:half], lines[half:]} {
		file := filepath.Join(base, fmt.Sprintf("part-%d.jsonl", i))
		if err := os.WriteFile(file, append(bytes.Join(part, []byte("\n")), '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ledger(t, bin, "--data", data, "submit", "--file", filepath.Join(base, "part-0.jsonl"))
	ledger(t, bin, "--data", data, "rebuild")
	copyFile := filepath.Join(data, "checked-copy.db")

	killVerify(t, bin, data, memory, copyFile+".tmp")
	if rep := verifyWithMemory(t, bin, data, memory); rep.Incremental || rep.FullBecause == "" {
		t.Fatalf("after a kill during the first fold: %+v", rep)
	}
	ledger(t, bin, "--data", data, "submit", "--file", filepath.Join(base, "part-1.jsonl"))
	ledger(t, bin, "--data", data, "contracts") // the read models catch up, so the next check forwards its copy
	killVerify(t, bin, data, memory, copyFile+"-wal")
	rep := verifyWithMemory(t, bin, data, memory)
	if rep.Incremental || !strings.Contains(rep.FullBecause, "since the last check") {
		t.Fatalf("after a kill while the copy was brought forward: %+v", rep)
	}
	if rep := verifyWithMemory(t, bin, data, memory); !rep.Incremental {
		t.Fatalf("the run after: %+v", rep)
	}
}

type checkReport struct {
	Incremental bool   `json:"incremental"`
	FullBecause string `json:"full_because"`
	Mismatches  []any  `json:"mismatches"`
}

// verifyWithMemory runs verify --models-memory, which must pass.
func verifyWithMemory(t *testing.T, bin, data, memory string) checkReport {
	t.Helper()
	var rep struct {
		OK         bool        `json:"ok"`
		ReadModels checkReport `json:"read_models"`
	}
	out := ledger(t, bin, "--json", "--data", data, "verify", "--models-memory", memory)
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || len(rep.ReadModels.Mismatches) > 0 {
		t.Fatalf("verify --models-memory: %v\n%s", err, out)
	}
	return rep.ReadModels
}

// killVerify starts verify --models-memory and kills it once the file
// marker exists; a run that ends before is tried again (up to 20 times).
func killVerify(t *testing.T, bin, data, memory, marker string) {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		cmd := exec.Command(bin, "--data", data, "verify", "--models-memory", memory)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		for {
			if _, err := os.Stat(marker); err == nil {
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				t.Logf("killed once %s existed (attempt %d)", filepath.Base(marker), attempt+1)
				return
			}
			select {
			case <-done:
			default:
				runtime.Gosched()
				continue
			}
			break
		}
	}
	t.Fatalf("verify never reached %s in 20 runs", marker)
}
