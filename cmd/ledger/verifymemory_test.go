package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
}
