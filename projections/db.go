// Package projections holds the read models of the ledger — payments,
// balances, contracts, deadlines and reports — as tables of an SQLite file
// that a finance analyst can query with SQL, the runner that keeps them up to
// date from the global log, and the queries over them. The audit trail is
// read from the event store itself: it is the contract's stream, with its
// hash chain checked on the way.
//
// Every read model is derived from the events alone. Each projection keeps a
// checkpoint (the global position of the last event it applied) in the same
// transaction as its tables, so an event is applied exactly once even across
// crashes; Rebuild empties the tables and applies the whole log again, with
// the same result as following it live.
package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"modernc.org/sqlite" // the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is the read-model database: one writer connection (the runner) and a
// pool of readers (the queries).
type DB struct {
	path string
	w    *sql.DB
	r    *sql.DB
}

// The read-model file's format: an application id that says whose file it
// is ("LPRJ") and a format version, bumped whenever a table changes; a
// file of an older version is rebuilt, a newer one refused.
const (
	ApplicationID = 0x4C50524A
	FormatVersion = 1
)

// DamagedError is a read-model file that cannot be read as one: malformed,
// or not a ledger read-model file. The read models are derived data, so
// OpenRepairing moves such a file aside and builds a new one from the log.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("projections: %s cannot be read as a ledger read-model file: %s", e.Path, e.Reason)
}

// isDamage tells whether err is SQLite finding the file malformed or not a
// database.
func isDamage(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// OpenRepairing opens the read models at path; when the file is damaged it
// moves it (and its WAL) aside to path.corrupt-<time>, says so through
// notify, and opens a new, empty one that the next catch-up fills from the
// log.
func OpenRepairing(ctx context.Context, path string, notify func(string)) (*DB, error) {
	db, err := Open(ctx, path)
	var de *DamagedError
	if !errors.As(err, &de) {
		return db, err
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, aside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w; moving it aside failed: %v", de, err)
		}
	}
	if notify != nil {
		notify(fmt.Sprintf("%s could not be read (%s): moved to %s; the read models are rebuilt from the log", path, de.Reason, aside))
	}
	return Open(ctx, path)
}

// Open opens (creating if needed) the read-model database at path. A file
// that is not a ledger read-model file or is malformed is a *DamagedError;
// one of an older format is emptied, for the runner to rebuild.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("projections: create directory: %w", err)
	}
	// The read models are rebuildable and their checkpoint commits with
	// them, so synchronous=NORMAL (atomic, not fsynced on every commit) is
	// enough: a commit lost to a power cut takes its checkpoint with it,
	// and the events are applied again. The writer keeps up to 64 MiB of
	// pages in its cache (C memory, bounded): the read models' B-trees take
	// inserts keyed by contract, all over the file.
	base := "file:" + filepath.ToSlash(path) + "?_pragma=busy_timeout(30000)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_pragma=cache_size(-65536)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if err := prepareFile(ctx, w, path); err != nil {
		w.Close()
		if isDamage(err) {
			return nil, &DamagedError{Path: path, Reason: err.Error()}
		}
		return nil, err
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return &DB{path: path, w: w, r: r}, nil
}

// prepareFile checks the file's application id and format, empties a file
// of an older format, creates what is missing, and reads the first page of
// every table, so that a damaged file is found here rather than halfway
// through a query.
func prepareFile(ctx context.Context, w *sql.DB, path string) error {
	var appID, version int64
	if err := w.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return err
	}
	if err := w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	var tables int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'checkpoints'`).Scan(&tables); err != nil {
		return err
	}
	switch {
	case appID != 0 && appID != ApplicationID:
		return &DamagedError{Path: path, Reason: fmt.Sprintf("not a ledger read-model file (SQLite application id %#x)", appID)}
	case appID == ApplicationID && version > FormatVersion:
		return fmt.Errorf("projections: %s is read-model format %d, newer than this binary's (%d): use a newer ledger binary", path, version, FormatVersion)
	case appID == 0 && tables == 0:
		var any int
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&any); err != nil {
			return err
		}
		if any > 0 {
			return &DamagedError{Path: path, Reason: "an SQLite file with other tables"}
		}
	case version < FormatVersion:
		// The first release's file (no application id) or an older
		// format: its tables are dropped and the runner rebuilds them.
		if err := dropAll(ctx, w); err != nil {
			return err
		}
	}
	if _, err := w.ExecContext(ctx, schema+createIndexes()); err != nil {
		return fmt.Errorf("projections: create schema in %s: %w", path, err)
	}
	for _, t := range append([]string{"checkpoints"}, readModelTables...) {
		var n int
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t+` LIMIT 1)`).Scan(&n); err != nil {
			return err
		}
	}
	_, err := w.ExecContext(ctx, fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = %d`, ApplicationID, FormatVersion))
	return err
}

// dropAll drops every table and view of the file.
func dropAll(ctx context.Context, w *sql.DB) error {
	rows, err := w.QueryContext(ctx, `SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return err
	}
	var drops []string
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			rows.Close()
			return err
		}
		drops = append(drops, fmt.Sprintf(`DROP %s IF EXISTS "%s";`, strings.ToUpper(typ), name))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = w.ExecContext(ctx, strings.Join(drops, "\n"))
	return err
}

// SQL returns a read-only handle for ad-hoc queries.
func (db *DB) SQL() *sql.DB { return db.r }

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error { return errors.Join(db.w.Close(), db.r.Close()) }

// schema is the read models' tables. Amounts are kept twice: as text with
// two decimals, exactly as decided, and as integer cents for sums in SQL.
const schema = `
CREATE TABLE IF NOT EXISTS checkpoints (
	projection TEXT PRIMARY KEY,
	position   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS contracts (
	contract_id        TEXT PRIMARY KEY,
	scheme             TEXT NOT NULL,
	cpts_id            TEXT NOT NULL,
	cpts_name          TEXT NOT NULL,
	ars                TEXT NOT NULL,
	cpam               TEXT NOT NULL,
	population         INTEGER NOT NULL,
	tier               TEXT NOT NULL,
	rulebook           TEXT NOT NULL,
	signed_on          TEXT NOT NULL,
	snp_regulation     INTEGER NOT NULL,
	missions           TEXT NOT NULL,
	terminated_on      TEXT,
	termination_reason TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS aid_contracts (
	contract_id          TEXT PRIMARY KEY,
	cpam                 TEXT NOT NULL,
	rpps                 TEXT NOT NULL,
	specialty            TEXT NOT NULL,
	option               TEXT NOT NULL,
	band                 TEXT NOT NULL,
	rulebook             TEXT NOT NULL,
	signed_on            TEXT NOT NULL,
	patientele_baseline  INTEGER NOT NULL,
	patientele_target    INTEGER NOT NULL,
	hired_on             TEXT,
	terminated_on        TEXT,
	termination_reason   TEXT
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS payments (
	position      INTEGER PRIMARY KEY, -- the global position of the PaymentDecided event
	payment_id    TEXT NOT NULL,
	contract_id   TEXT NOT NULL,
	scheme        TEXT NOT NULL,
	kind          TEXT NOT NULL,
	contract_year INTEGER NOT NULL,
	mission       TEXT,
	due_on        TEXT NOT NULL,
	decided_on    TEXT NOT NULL,
	status        TEXT NOT NULL,
	amount        TEXT NOT NULL,
	amount_cents  INTEGER NOT NULL,
	rulebook      TEXT NOT NULL,
	aid_table     TEXT,          -- the aid table used (medical-assistant aid)
	rule          TEXT NOT NULL,
	reason        TEXT,
	lines         TEXT NOT NULL, -- JSON array of {mission, component, amount, basis}; see the payment_lines view
	recorded_at   TEXT NOT NULL
);

-- One row per breakdown line, for SQL users.
CREATE VIEW IF NOT EXISTS payment_lines AS
	SELECT p.payment_id, p.contract_id, l.key AS line, l.value ->> 'mission' AS mission, l.value ->> 'component' AS component,
		l.value ->> 'amount' AS amount, CAST(replace(l.value ->> 'amount', '.', '') AS INTEGER) AS amount_cents,
		l.value ->> 'basis' AS basis
	FROM payments p, json_each(p.lines) l;

CREATE TABLE IF NOT EXISTS balances (
	contract_id   TEXT NOT NULL,
	contract_year INTEGER NOT NULL,
	decided_cents INTEGER NOT NULL,
	payments      INTEGER NOT NULL,
	PRIMARY KEY (contract_id, contract_year)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS deadlines (
	contract_id TEXT NOT NULL,
	mission     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	months      INTEGER NOT NULL,
	deadline    TEXT NOT NULL,
	done_on     TEXT,
	PRIMARY KEY (contract_id, mission, kind)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS reports (
	contract_id   TEXT NOT NULL,
	contract_year INTEGER NOT NULL,
	reported_on   TEXT NOT NULL,
	PRIMARY KEY (contract_id, contract_year)
) WITHOUT ROWID;

-- Totals for finance teams: decided amounts per calendar year of decision,
-- by scheme, by CPAM, by ARS and by tier. Sums are over integer cents (exact).
CREATE VIEW IF NOT EXISTS totals_by_year AS
	SELECT substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p GROUP BY 1;
CREATE VIEW IF NOT EXISTS totals_by_scheme AS
	SELECT p.scheme, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p GROUP BY 1, 2;
CREATE VIEW IF NOT EXISTS totals_by_cpam AS
	SELECT COALESCE(c.cpam, a.cpam) AS cpam, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p LEFT JOIN contracts c USING (contract_id) LEFT JOIN aid_contracts a USING (contract_id) GROUP BY 1, 2;
CREATE VIEW IF NOT EXISTS totals_by_ars AS
	SELECT c.ars, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p JOIN contracts c USING (contract_id) GROUP BY 1, 2;
CREATE VIEW IF NOT EXISTS totals_by_tier AS
	SELECT c.tier, substr(p.decided_on, 1, 4) AS calendar_year, COUNT(*) AS payments, SUM(p.amount_cents) AS decided_cents
	FROM payments p JOIN contracts c USING (contract_id) GROUP BY 1, 2;
`

// secondaryIndexes are the read models' secondary indexes. Rebuild drops
// them and creates them again once the log is applied: sorting once costs
// less than inserting every row into a random place of a growing B-tree.
var secondaryIndexes = []struct{ name, on string }{
	{"payments_by_contract", "payments (contract_id)"},
	{"deadlines_by_date", "deadlines (deadline)"},
}

// createIndexes is the SQL that creates the missing secondary indexes.
func createIndexes() string {
	var b strings.Builder
	for _, ix := range secondaryIndexes {
		fmt.Fprintf(&b, "CREATE INDEX IF NOT EXISTS %s ON %s;\n", ix.name, ix.on)
	}
	return b.String()
}

// readModelTables are emptied by Rebuild.
var readModelTables = []string{"contracts", "aid_contracts", "payments", "balances", "deadlines", "reports"}

// Checkpoint returns the position stored under name (0 when none). Other
// followers of the log, such as the NATS relay, keep theirs here too.
func (db *DB) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	var pos int64
	err := db.w.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE projection = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: read checkpoint %s: %w", name, err)
	}
	return eventstore.Position(pos), nil
}

// SaveCheckpoint stores a position under name.
func (db *DB) SaveCheckpoint(ctx context.Context, name string, pos eventstore.Position) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO checkpoints (projection, position) VALUES (?, ?)
		ON CONFLICT (projection) DO UPDATE SET position = excluded.position`, name, int64(pos))
	if err != nil {
		return fmt.Errorf("projections: save checkpoint %s: %w", name, err)
	}
	return nil
}
