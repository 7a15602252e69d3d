package projections

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
	"github.com/cptsledger/ledger/notary"
)

// checkRemembering runs the check with a memory outside the data
// directory, the log's roots recomputed by the notary's verify as the
// command does.
func (l *testLedger) checkRemembering(t *testing.T, memory string) CheckReport {
	t.Helper()
	ctx := context.Background()
	var sizes []int64
	if m, err := ReadMemory(memory); err == nil {
		sizes = []int64{m.Events}
	}
	logRep, err := notary.VerifyLogRoots(ctx, l.store, nil, nil, sizes)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := l.set.CheckWith(ctx, l.store, CheckOptions{Limit: 20, Memory: memory, LogRoot: func(n int64) (tlog.Hash, bool) {
		h, ok := logRep.Roots[n]
		return h, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The check that remembers: the first folds the whole log and keeps the
// fold; the next brings it forward by the events since, and finds what the
// full check finds — an edited row, a row repeated; a kept copy edited (even
// with the live file, the same way), a memory that does not match the log,
// or a copy interrupted mid-way (simulated crashes: written, not sealed)
// sends it back to a full fold, saying why.
func TestTheCheckRemembersItsFold(t *testing.T) {
	l := newLedger(t)
	memory := filepath.Join(t.TempDir(), "models.memory")
	lines, _ := gen.National(gen.Options{Seed: 11, Contracts: 40, Today: domain.MustDate("2026-11-22"), DecideMonthly: true})
	half := len(lines) / 2
	l.submit(t, lines[:half], 0, nil)
	l.current(t)
	first := l.checkRemembering(t, memory)
	if first.Incremental || len(first.Mismatches) > 0 || !strings.Contains(first.FullBecause, "no memory") || first.Rows == 0 {
		t.Fatalf("first check: %+v", first)
	}
	if st, err := os.Stat(memory); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the memory file: %v %v", st, err)
	}
	l.submit(t, lines[half:], 0, nil)
	second := l.checkRemembering(t, memory)
	if !second.Incremental || second.From != first.Position || second.Folded == 0 || second.Position <= first.Position ||
		uint64(second.Position-first.Position) != second.Folded || len(second.Mismatches) > 0 {
		t.Fatalf("second check (from %d): %+v", first.Position, second)
	}
	if again := l.checkRemembering(t, memory); !again.Incremental || again.Folded != 0 || len(again.Mismatches) > 0 || again.Rows != second.Rows {
		t.Fatalf("a check with nothing new: %+v", again)
	}

	live := l.current(t).Path()
	copyFile := filepath.Join(l.dir, CopyName)
	sqlExec(t, live, `UPDATE payments SET amount = '999999.99' WHERE position = (SELECT max(position) FROM payments)`)
	if rep := l.checkRemembering(t, memory); !rep.Incremental || len(rep.Mismatches) != 2 || rep.Mismatches[0].Table != "payments" {
		t.Fatalf("an edited payment, checked incrementally: %+v", rep)
	}
	// The insider edits the kept copy the same way: its file no longer
	// hashes as remembered, the whole log is folded, the edit is found.
	sqlExec(t, copyFile, `UPDATE payments SET amount = '999999.99' WHERE position = (SELECT max(position) FROM payments)`)
	sqlExec(t, copyFile, `PRAGMA journal_mode=DELETE`)
	rep := l.checkRemembering(t, memory)
	if rep.Incremental || !strings.Contains(rep.FullBecause, "was changed since the last check") || len(rep.Mismatches) != 2 {
		t.Fatalf("the copy edited with the live file: %+v", rep)
	}
	if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	live = l.current(t).Path()

	// A row repeated (its unique index dropped first): the same rows as a
	// set, not as a multiset.
	var index string
	if err := l.current(t).SQL().QueryRow(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'deadline_dates' AND sql LIKE 'CREATE UNIQUE%'`).Scan(&index); err != nil {
		t.Fatal(err)
	}
	sqlExec(t, live, `DROP INDEX `+index)
	sqlExec(t, live, `INSERT INTO deadline_dates SELECT * FROM deadline_dates LIMIT 1`)
	rep = l.checkRemembering(t, memory)
	if !rep.Incremental || len(rep.Mismatches) != 1 || rep.Mismatches[0].Table != "deadline_dates" || !strings.Contains(rep.Mismatches[0].Rebuilt, "repeated") {
		t.Fatalf("a repeated row: %+v", rep)
	}
	if _, err := l.set.Rebuild(context.Background(), l.store, BuildOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, why string
		spoil     func(t *testing.T)
	}{
		{"copy written, not sealed", "opened and written since", func(t *testing.T) {
			// A crash after the copy was brought forward, before its memory.
			c, err := Open(context.Background(), copyFile)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.w.Exec(`INSERT OR REPLACE INTO projections (name, version) VALUES ('written', 1)`); err != nil {
				t.Fatal(err)
			}
			// The process dies here: its WAL is left, not checkpointed.
			copyWAL(t, copyFile)
			c.Close()
			restoreWAL(t, copyFile)
		}},
		{"copy folded again, not sealed", "was changed since", func(t *testing.T) {
			if _, err := l.set.foldCopy(context.Background(), l.store, 5); err != nil {
				t.Fatal(err)
			}
		}},
		{"copy removed", "is missing", func(t *testing.T) { os.Remove(copyFile) }},
		{"memory of another log", "are not those the kept copy folded", func(t *testing.T) {
			m, err := ReadMemory(memory)
			if err != nil {
				t.Fatal(err)
			}
			m.Peaks[0] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
			writeMemoryForTest(t, memory, m)
		}},
		{"memory of other versions", "version changed", func(t *testing.T) {
			m, _ := ReadMemory(memory)
			m.Versions["payments"]++
			writeMemoryForTest(t, memory, m)
		}},
		{"memory too large", "larger than 65536 bytes", func(t *testing.T) {
			b, _ := os.ReadFile(memory)
			padded := strings.Replace(string(b), "{", "{"+strings.Repeat(" ", 70_000), 1)
			os.WriteFile(memory, []byte(padded), 0o600)
		}},
		{"memory not read strictly", "is not a check's memory", func(t *testing.T) {
			b, _ := os.ReadFile(memory)
			os.WriteFile(memory, []byte(strings.Replace(string(b), `"format":1`, `"format":1,"format":1`, 1)), 0o600)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if rep := l.checkRemembering(t, memory); !rep.Incremental || len(rep.Mismatches) > 0 {
				t.Fatalf("before: %+v", rep)
			}
			c.spoil(t)
			rep := l.checkRemembering(t, memory)
			if rep.Incremental || !strings.Contains(rep.FullBecause, c.why) || len(rep.Mismatches) > 0 {
				t.Fatalf("after: %+v", rep)
			}
		})
	}

	// Erasing forgets the copy.
	if err := l.set.ForgetCopy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyFile); !os.IsNotExist(err) {
		t.Fatalf("the copy after ForgetCopy: %v", err)
	}
}

// copyWAL keeps aside the WAL a connection left, and restoreWAL puts it
// back after the connection closed (which checkpoints and removes it): what
// a killed process leaves.
func copyWAL(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path + "-wal")
	if err != nil || len(b) == 0 {
		t.Fatalf("no WAL to keep: %v", err)
	}
	if err := os.WriteFile(path+"-wal.kept", b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func restoreWAL(t *testing.T, path string) {
	t.Helper()
	if err := os.Rename(path+"-wal.kept", path+"-wal"); err != nil {
		t.Fatal(err)
	}
}

func writeMemoryForTest(t *testing.T, path string, m Memory) {
	t.Helper()
	b, err := marshalMemory(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
