package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cptsledger/ledger/eventstore"
)

// Mismatch is a row of a read model that a fresh fold of the log does not
// give (Stored set, Rebuilt empty), a row the fold gives that the file
// lacks (the reverse), or both sides of a row that differs.
type Mismatch struct {
	Table      string `json:"table"`
	ContractID string `json:"contract_id,omitempty"`
	Stored     string `json:"stored,omitempty"`
	Rebuilt    string `json:"rebuilt,omitempty"`
}

// CheckReport says what Check compared.
type CheckReport struct {
	Position   eventstore.Position `json:"position"`
	Tables     int                 `json:"tables"`
	Rows       int64               `json:"rows"`
	Mismatches []Mismatch          `json:"mismatches"`
	// More counts the mismatching rows beyond those listed.
	More int64 `json:"more"`
}

// ErrNoReadModels is Check on a data directory that has no read models yet.
var ErrNoReadModels = errors.New("projections: the data directory has no read models")

// Check compares every row of the current read models with what the log
// gives: it brings the file up to the store's head, folds the log again
// into a scratch file (the rebuild's fold, up to the position the file is
// at), and compares the two table by table in one snapshot of the file. A
// row edited in the file, removed or added, is a Mismatch; up to limit of
// them are listed, grouped by contract. The scratch file is removed after.
func (s *Set) Check(ctx context.Context, store eventstore.Store, limit int) (CheckReport, error) {
	if _, err := s.resolve(); err != nil {
		return CheckReport{}, ErrNoReadModels
	}
	db, release, err := s.Acquire(ctx, store, BuildOptions{})
	if err != nil {
		return CheckReport{}, err
	}
	defer release()
	if _, err := NewRunner(store, db, Options{}).CatchUp(ctx); err != nil {
		return CheckReport{}, err
	}
	if rep, tampered, err := checkpointsBeyondHead(ctx, store, db); err != nil || tampered {
		return rep, err
	}
	scratch, err := os.MkdirTemp(s.dir, "verify-*.tmp")
	if err != nil {
		return CheckReport{}, err
	}
	defer os.RemoveAll(scratch)
	// A server may apply events meanwhile: the comparison is of the file's
	// snapshot at the position the scratch was built to, tried again when
	// the file moved on in between. Checkpoints that stay apart while
	// nothing moves them are not a busy server: they were set by hand.
	var previous map[string]eventstore.Position
	for attempt := 0; attempt < 3; attempt++ {
		cps, err := db.Checkpoints(ctx)
		if err != nil {
			return CheckReport{}, err
		}
		if previous != nil && maps.Equal(previous, cps) {
			return checkpointsApart(cps), nil
		}
		previous = cps
		at := minCheckpoint(cps)
		path := filepath.Join(scratch, fmt.Sprintf("fold-%d.db", attempt))
		if _, err := build(ctx, store, path, BuildOptions{UpTo: &at, keys: s.keys}); err != nil {
			return CheckReport{}, fmt.Errorf("projections: fold the log again: %w", err)
		}
		rep, moved, err := compare(ctx, db.path, path, at, limit)
		if err != nil || !moved {
			return rep, err
		}
	}
	return CheckReport{}, errors.New("projections: the read models kept moving while they were compared (a busy server): run the check again")
}

// compare compares the file at stored with the fold at rebuilt, in one read
// transaction of stored; moved tells that stored is no longer at position
// at.
func compare(ctx context.Context, stored, rebuilt string, at eventstore.Position, limit int) (CheckReport, bool, error) {
	rep := CheckReport{Position: at}
	conn, err := sql.Open("sqlite", dsn(stored, "&mode=ro&_pragma=query_only(1)"))
	if err != nil {
		return rep, false, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS fold`, "file:"+filepath.ToSlash(rebuilt)+"?mode=ro"); err != nil {
		return rep, false, fmt.Errorf("projections: attach the fold: %w", err)
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rep, false, err
	}
	defer tx.Rollback()
	cps := map[string]eventstore.Position{}
	if err := readCheckpoints(ctx, tx, cps); err != nil {
		return rep, false, err
	}
	for _, p := range cps {
		if p != at {
			return rep, true, nil
		}
	}
	for _, t := range tables() {
		if t == "projections" || t == "checkpoints" {
			continue
		}
		if err := compareTable(ctx, tx, t, limit, &rep); err != nil {
			return rep, false, fmt.Errorf("projections: compare %s: %w", t, err)
		}
	}
	return rep, false, nil
}

// compareTable adds the rows of one table that differ between the file
// (main) and the fold to rep.
func compareTable(ctx context.Context, tx *sql.Tx, table string, limit int, rep *CheckReport) error {
	rep.Tables++
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM main.`+table).Scan(&n); err != nil {
		return err
	}
	rep.Rows += n
	for _, side := range []struct{ from, minus string }{{"main", "fold"}, {"fold", "main"}} {
		rows, err := tx.QueryContext(ctx, `SELECT * FROM `+side.from+`.`+table+` EXCEPT SELECT * FROM `+side.minus+`.`+table)
		if err != nil {
			return err
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			if len(rep.Mismatches) >= limit {
				rep.More++
				continue
			}
			m := Mismatch{Table: table}
			var b strings.Builder
			for i, c := range cols {
				if c == "contract_id" {
					m.ContractID = fmt.Sprint(vals[i])
				}
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s=%s", c, render(vals[i]))
			}
			if side.from == "main" {
				m.Stored = b.String()
			} else {
				m.Rebuilt = b.String()
			}
			rep.Mismatches = append(rep.Mismatches, m)
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

func render(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return fmt.Sprintf("%q", v)
	case string:
		return fmt.Sprintf("%q", v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// checkpointsBeyondHead names, as tampering, a projection whose checkpoint
// is past the log's head once the runner caught up: a checkpoint moved
// forward by hand, which would have the projection skip the events up to
// it (later payments hidden).
func checkpointsBeyondHead(ctx context.Context, store eventstore.Store, db *DB) (CheckReport, bool, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return CheckReport{}, false, err
	}
	cps, err := db.Checkpoints(ctx)
	if err != nil {
		return CheckReport{}, false, err
	}
	rep := CheckReport{Position: head}
	for _, name := range slices.Sorted(maps.Keys(cps)) {
		if p := cps[name]; p > head {
			rep.Mismatches = append(rep.Mismatches, Mismatch{Table: "checkpoints", Stored: fmt.Sprintf("%s at position %d", name, p),
				Rebuilt: fmt.Sprintf("the log's head is position %d: a checkpoint moved forward by hand skips the events up to it", head)})
		}
	}
	return rep, len(rep.Mismatches) > 0, nil
}

// checkpointsApart names, as tampering, projections whose checkpoints
// differ from the others' and did not move between two comparisons.
func checkpointsApart(cps map[string]eventstore.Position) CheckReport {
	at := minCheckpoint(cps)
	rep := CheckReport{Position: at}
	for _, name := range slices.Sorted(maps.Keys(cps)) {
		if p := cps[name]; p != at {
			rep.Mismatches = append(rep.Mismatches, Mismatch{Table: "checkpoints", Stored: fmt.Sprintf("%s at position %d", name, p),
				Rebuilt: fmt.Sprintf("the other projections are at position %d, and nothing moved them: a checkpoint set by hand", at)})
		}
	}
	return rep
}
