package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

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
	// Incremental: the kept copy of an earlier check was brought forward
	// from position From by Folded events, rather than the whole log folded
	// again (Folded events then). FullBecause says why a check given a
	// memory folded the whole log.
	Incremental bool                `json:"incremental"`
	From        eventstore.Position `json:"from"`
	Folded      uint64              `json:"folded"`
	FullBecause string              `json:"full_because,omitempty"`
}

// CheckOptions are the options of CheckWith.
type CheckOptions struct {
	// Limit is how many mismatching rows are listed (the others counted).
	Limit int
	// Memory, when set, is the file where the check remembers the fold it
	// keeps (see checkcopy.go): it should be outside the data directory.
	Memory string
	// LogRoot gives the root of the log's first n events as the caller's
	// check of the log recomputed them from the events as stored now
	// (notary.VerifyLogRoots); nil, or false for n, and the kept copy is
	// not used.
	LogRoot func(n int64) (tlog.Hash, bool)
}

// ErrNoReadModels is Check on a data directory that has no read models yet.
var ErrNoReadModels = errors.New("projections: the data directory has no read models")

// Check compares every row of the current read models with what the log
// gives, folding the whole log again (CheckWith without a memory).
func (s *Set) Check(ctx context.Context, store eventstore.Store, limit int) (CheckReport, error) {
	return s.CheckWith(ctx, store, CheckOptions{Limit: limit})
}

// CheckWith compares every row of the current read models with what the
// log gives: it brings the file up to the store's head, folds the log
// again up to the position the file is at — into a scratch file, or, with
// a memory, into the kept copy, brought forward when it can be — and
// compares the two table by table in one snapshot of the file. A row
// edited in the file, removed, added or repeated, is a Mismatch; up to
// opts.Limit of them are listed, grouped by contract.
func (s *Set) CheckWith(ctx context.Context, store eventstore.Store, opts CheckOptions) (CheckReport, error) {
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
	f, err := s.newFolder(opts)
	if err != nil {
		return CheckReport{}, err
	}
	defer f.close()
	// A server may apply events meanwhile: the comparison is of the file's
	// snapshot at the position the fold was brought to, tried again when
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
		path, err := f.foldTo(ctx, store, at)
		if err != nil {
			return CheckReport{}, err
		}
		rep, moved, err := compareFiles(ctx, db.path, path, at, opts.Limit)
		if err != nil || !moved {
			f.describe(&rep)
			if err == nil {
				err = f.done(at)
			}
			return rep, err
		}
	}
	return CheckReport{}, errors.New("projections: the read models kept moving while they were compared (a busy server): run the check again")
}

// compareFiles compares the file at stored with the fold at rebuilt, at
// position at: the digests of every table, read from both at once, then
// the rows of the tables whose digests differ. moved tells that stored is
// no longer at position at.
func compareFiles(ctx context.Context, stored, rebuilt string, at eventstore.Position, limit int) (CheckReport, bool, error) {
	rep := CheckReport{Position: at}
	var folded map[string]tableDigest
	var foldErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		folded, _, foldErr = digestTables(rebuilt, nil)
	}()
	live, moved, err := digestTables(stored, &at)
	<-done
	if err != nil || moved {
		return rep, moved, err
	}
	if foldErr != nil {
		return rep, false, foldErr
	}
	var differ []string
	for _, t := range comparedTables() {
		rep.Tables++
		rep.Rows += live[t].rows
		if live[t] != folded[t] {
			differ = append(differ, t)
		}
	}
	if len(differ) == 0 {
		return rep, false, nil
	}
	return listDifferences(ctx, stored, rebuilt, at, limit, differ, rep, live, folded)
}

// listDifferences lists the rows of the tables in differ that are in one
// file and not the other (a table whose rows are the same but counted
// differently has a row repeated: it is named with both counts).
func listDifferences(ctx context.Context, stored, rebuilt string, at eventstore.Position, limit int, differ []string,
	rep CheckReport, live, folded map[string]tableDigest) (CheckReport, bool, error) {
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
	for _, t := range differ {
		listed := len(rep.Mismatches) + int(rep.More)
		if err := compareTable(ctx, tx, t, limit, &rep); err != nil {
			return rep, false, fmt.Errorf("projections: compare %s: %w", t, err)
		}
		if len(rep.Mismatches)+int(rep.More) == listed {
			m := Mismatch{Table: t, Stored: fmt.Sprintf("%d rows", live[t].rows),
				Rebuilt: fmt.Sprintf("%d rows: the same rows, one of them repeated", folded[t].rows)}
			if len(rep.Mismatches) < limit {
				rep.Mismatches = append(rep.Mismatches, m)
			} else {
				rep.More++
			}
		}
	}
	return rep, false, nil
}

// compareTable adds the rows of one table that differ between the file
// (main) and the fold to rep.
func compareTable(ctx context.Context, tx *sql.Tx, table string, limit int, rep *CheckReport) error {
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
