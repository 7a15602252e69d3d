// Package projections holds the read models of the ledger — contracts,
// payments and balances, deadlines and the facts that met them,
// terminations, reports — as tables of an SQLite file that a finance
// analyst can query with SQL, the runner that keeps them up to date from
// the global log, the rebuild that makes a new file beside the live one
// and switches to it, and the queries over them. The audit trail and the
// schedule are read from the event store itself.
//
// Every read model is derived from the events alone. The runner stores
// each projection's checkpoint (the global position of the last event it
// applied) in the same transaction as its rows, so an event is applied
// exactly once even across crashes; a rebuild gives, row for row, what
// following the log live gives.
//
// # Files
//
// In the data directory, projections.db is a symbolic link to the current
// read-model file, projections-<generation>.db (SQLite follows the link,
// and names the file's WAL after its target). A rebuild fills a new
// generation with neither journal nor sync, creates its indexes, syncs it
// once, then moves the link in one rename: readers that hold the old file
// finish on it, the next ones open the new one, and a crash at any moment
// leaves the old one in service. A file of another format — an older
// binary's, a projection whose version changed — is rebuilt so, and a
// damaged one is moved aside (projections-<generation>.db.corrupt-<time>).
package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"

	"modernc.org/sqlite" // the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
)

// The read-model file's format: an application id that says whose file it
// is ("LPRJ"), the layout's version (user_version), and each projection's
// version in the table projections. The first release wrote none of them.
const (
	ApplicationID = 0x4C50524A
	FormatVersion = 3
)

// DamagedError is a read-model file that cannot be read as one: malformed,
// or not a ledger read-model file.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("projections: %s cannot be read as a ledger read-model file: %s", e.Path, e.Reason)
}

// StaleError is a read-model file of another format than this binary's:
// it is rebuilt.
type StaleError struct {
	Path   string
	Reason string
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("projections: %s is to be rebuilt: %s", e.Path, e.Reason)
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

// DB is one read-model file: one writer connection (the runner) and a pool
// of readers (the queries).
type DB struct {
	path string
	w    *sql.DB
	r    *sql.DB
	refs atomic.Int32 // users of the file (see Set); Close at 0
	// keys open the personal data of the events folded into it (the
	// Set's key store; nil: sealed fields read domain.KeyMissingText).
	keys domain.Keyring
}

func dsn(path, pragmas string) string {
	return "file:" + filepath.ToSlash(path) + "?_pragma=busy_timeout(30000)" + pragmas
}

// Open opens the read-model file at path, creating it when it does not
// exist. A file that is not a ledger read-model file, or is malformed, is a
// *DamagedError; one of another format, a *StaleError.
func Open(ctx context.Context, path string) (*DB, error) { return open(ctx, path, true) }

// open opens the file at path; unless create, a file that does not exist
// is an error, also for the connections the pools open later (a generation
// removed after a switch is never created again, empty, by a late reader).
func open(ctx context.Context, path string, create bool) (*DB, error) {
	mode := "&mode=rw"
	if create {
		mode = "&mode=rwc"
	}
	// The read models are rebuildable and their checkpoints commit with
	// them, so synchronous=NORMAL (atomic, not fsynced on every commit) is
	// enough: a commit lost to a power cut takes its checkpoint with it,
	// and the events are applied again. The writer keeps up to 64 MiB of
	// pages in its cache.
	w, err := sql.Open("sqlite", dsn(path, mode+"&_pragma=synchronous(NORMAL)&_pragma=journal_mode(WAL)&_pragma=cache_size(-65536)&_txlock=immediate"))
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
	r, err := sql.Open("sqlite", dsn(path, "&mode=rw&_pragma=synchronous(NORMAL)&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("projections: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return &DB{path: path, w: w, r: r}, nil
}

// prepareFile checks the file's application id and formats, creates the
// tables of a new file, and reads the first page of every table, so that a
// damaged file is found here rather than halfway through a query.
func prepareFile(ctx context.Context, w *sql.DB, path string) error {
	var appID, version, objects int64
	if err := w.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return err
	}
	if err := w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return err
	}
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&objects); err != nil {
		return err
	}
	switch {
	case objects == 0:
		return createSchema(ctx, w, true)
	case appID != ApplicationID:
		var ours int
		w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'checkpoints'`).Scan(&ours)
		if appID == 0 && ours == 1 {
			return &StaleError{path, "a read-model file of the first release"}
		}
		return &DamagedError{Path: path, Reason: fmt.Sprintf("not a ledger read-model file (SQLite application id %#x)", appID)}
	case version != FormatVersion:
		return &StaleError{path, fmt.Sprintf("read-model format %d, this binary's is %d", version, FormatVersion)}
	}
	if reason, err := staleProjections(ctx, w); err != nil || reason != "" {
		if err != nil {
			return err
		}
		return &StaleError{path, reason}
	}
	for _, t := range tables() {
		var n int
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t+` LIMIT 1)`).Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// metaSchema is what the file holds beside the projections' tables: each
// projection's version and checkpoint.
const metaSchema = `
CREATE TABLE IF NOT EXISTS projections (
	name    TEXT PRIMARY KEY,
	version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
	projection TEXT PRIMARY KEY,
	position   INTEGER NOT NULL
) WITHOUT ROWID;`

// createSchema creates the tables of every projection, their indexes when
// withIndexes (a rebuild creates them at the end), and records the
// versions.
func createSchema(ctx context.Context, w *sql.DB, withIndexes bool) error {
	_, err := w.ExecContext(ctx, schemaSQL(withIndexes))
	return err
}

// schemaSQL is the SQL that createSchema runs.
func schemaSQL(withIndexes bool) string {
	var b strings.Builder
	b.WriteString(metaSchema)
	for _, p := range All() {
		b.WriteString(p.Schema())
		fmt.Fprintf(&b, "\nINSERT OR REPLACE INTO projections (name, version) VALUES ('%s', %d);\n", p.Name(), p.Version())
	}
	b.WriteString(createIndexes(withIndexes))
	fmt.Fprintf(&b, "PRAGMA application_id = %d; PRAGMA user_version = %d;", ApplicationID, FormatVersion)
	return b.String()
}

// createIndexes is the SQL that creates the projections' secondary
// indexes: all of them, or only the early ones (before a rebuild's load).
func createIndexes(all bool) string {
	var b strings.Builder
	for _, p := range All() {
		for _, ix := range p.Indexes() {
			if !all && !ix.Early {
				continue
			}
			unique := ""
			if ix.Unique {
				unique = "UNIQUE "
			}
			fmt.Fprintf(&b, "CREATE %sINDEX IF NOT EXISTS %s ON %s;\n", unique, ix.Name, ix.On)
		}
	}
	return b.String()
}

// staleProjections names the first projection whose version in the file is
// not this binary's (or that the file lacks), or "".
func staleProjections(ctx context.Context, w *sql.DB) (string, error) {
	have := map[string]int{}
	rows, err := w.QueryContext(ctx, `SELECT name, version FROM projections`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var v int
		if err := rows.Scan(&name, &v); err != nil {
			return "", err
		}
		have[name] = v
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	for _, p := range All() {
		if v, ok := have[p.Name()]; !ok || v != p.Version() {
			return fmt.Sprintf("projection %s is version %d in the file, %d in this binary", p.Name(), v, p.Version()), nil
		}
	}
	return "", nil
}

// tables lists every table the file holds.
func tables() []string {
	out := []string{"projections", "checkpoints"}
	for _, p := range All() {
		for _, stmt := range strings.Split(p.Schema(), ";") {
			if _, rest, ok := strings.Cut(stmt, "CREATE TABLE IF NOT EXISTS "); ok {
				out = append(out, strings.Fields(rest)[0])
			}
		}
	}
	return out
}

// SQL returns a read-only handle for ad-hoc queries.
func (db *DB) SQL() *sql.DB { return db.r }

// Path returns the file.
func (db *DB) Path() string { return db.path }

// Close closes the file.
func (db *DB) Close() error { return errors.Join(db.w.Close(), db.r.Close()) }

// Checkpoints returns each projection's checkpoint (0 for one without).
func (db *DB) Checkpoints(ctx context.Context) (map[string]eventstore.Position, error) {
	tx, err := db.w.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	cps := map[string]eventstore.Position{}
	return cps, readCheckpoints(ctx, tx, cps)
}

// readCheckpoints sets cps to the checkpoints stored, one per projection; a
// projection without one is at 0.
func readCheckpoints(ctx context.Context, tx *sql.Tx, cps map[string]eventstore.Position) error {
	for _, p := range All() {
		cps[p.Name()] = 0
	}
	rows, err := tx.QueryContext(ctx, `SELECT projection, position FROM checkpoints`)
	if err != nil {
		return fmt.Errorf("projections: read checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return err
		}
		if _, ok := cps[name]; ok {
			cps[name] = eventstore.Position(pos)
		}
	}
	return rows.Err()
}
