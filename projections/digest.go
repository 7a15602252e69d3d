package projections

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/sqlitec"
)

// tableDigest is what a check compares of one table: its rows, each value
// with its SQLite storage class, hashed in the order of the table's primary
// key (of all its columns when it has none), and how many there are. Two
// files whose tables have the same digest hold the same rows, repeated
// rows included (a set comparison, EXCEPT, would not see a row doubled).
type tableDigest struct {
	sum  [sha256.Size]byte
	rows int64
}

// digestTables reads, in one read transaction of the file at path, the
// digest of every table the check compares, and, when at is given (the
// live file's side), its checkpoints: moved is true, and nothing digested,
// when one is not at *at. (The fold's side is at the last event up to the
// position, which a checkpoint set by hand between events is not.)
func digestTables(path string, at *eventstore.Position) (digests map[string]tableDigest, moved bool, err error) {
	c, err := sqlitec.Open("projections", path, sqlite3.SQLITE_OPEN_READWRITE, `PRAGMA query_only=1; PRAGMA cache_size=-65536`)
	if err != nil {
		return nil, false, err
	}
	defer c.Close()
	if err := c.Exec("BEGIN"); err != nil {
		return nil, false, err
	}
	defer c.Exec("ROLLBACK")
	if at != nil {
		off, err := c.QueryInt(fmt.Sprintf(`SELECT count(*) FROM checkpoints WHERE position != %d`, int64(*at)))
		if err != nil || off > 0 {
			return nil, off > 0, err
		}
	}
	digests = map[string]tableDigest{}
	for _, t := range comparedTables() {
		d, err := digestTable(c, t)
		if err != nil {
			return nil, false, fmt.Errorf("projections: digest %s of %s: %w", t, path, err)
		}
		digests[t] = d
	}
	return digests, false, nil
}

// comparedTables are the tables a check compares: all but the file's own
// bookkeeping (versions, checkpoints), which it checks apart.
func comparedTables() []string {
	var out []string
	for _, t := range tables() {
		if t != "projections" && t != "checkpoints" {
			out = append(out, t)
		}
	}
	return out
}

// digestTable hashes the rows of table in its key's order.
func digestTable(c *sqlitec.Conn, table string) (tableDigest, error) {
	order, err := keyOrder(c, table)
	if err != nil {
		return tableDigest{}, err
	}
	st, err := c.Prepare(`SELECT * FROM ` + table + ` ORDER BY ` + order)
	if err != nil {
		return tableDigest{}, err
	}
	defer c.Finalize(st)
	h := sha256.New()
	var d tableDigest
	var row []byte
	for {
		switch rc := sqlite3.Xsqlite3_step(c.TLS, st); rc {
		case sqlite3.SQLITE_ROW:
			row = appendRow(c, st, row[:0])
			h.Write(row)
			d.rows++
		case sqlite3.SQLITE_DONE:
			h.Sum(d.sum[:0])
			return d, nil
		default:
			return tableDigest{}, c.Errorf(rc, "read %s", table)
		}
	}
}

// appendRow appends the row st stands on: per value its storage class,
// then its 8 bytes (integer, real) or its length and bytes (text, blob).
func appendRow(c *sqlitec.Conn, st uintptr, b []byte) []byte {
	n := sqlite3.Xsqlite3_column_count(c.TLS, st)
	for i := int32(0); i < n; i++ {
		typ := sqlite3.Xsqlite3_column_type(c.TLS, st, i)
		b = append(b, byte(typ))
		switch typ {
		case sqlite3.SQLITE_INTEGER:
			b = binary.BigEndian.AppendUint64(b, uint64(sqlite3.Xsqlite3_column_int64(c.TLS, st, i)))
		case sqlite3.SQLITE_FLOAT:
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(sqlite3.Xsqlite3_column_double(c.TLS, st, i)))
		case sqlite3.SQLITE_TEXT, sqlite3.SQLITE_BLOB:
			p := sqlite3.Xsqlite3_column_blob(c.TLS, st, i)
			size := int(sqlite3.Xsqlite3_column_bytes(c.TLS, st, i))
			b = binary.AppendUvarint(b, uint64(size))
			b = append(b, sqlitec.Mem(p, size)...)
		}
	}
	return b
}

// keyOrder is the ORDER BY of a table's digest: its primary key's columns,
// or all its columns when it has none (identical rows are then next to
// each other, whichever comes first).
func keyOrder(c *sqlitec.Conn, table string) (string, error) {
	st, err := c.Prepare(`SELECT name, pk FROM pragma_table_info('` + table + `') ORDER BY pk, cid`)
	if err != nil {
		return "", err
	}
	defer c.Finalize(st)
	var all, key []string
	for {
		switch rc := sqlite3.Xsqlite3_step(c.TLS, st); rc {
		case sqlite3.SQLITE_ROW:
			name := `"` + string(sqlitec.Mem(sqlite3.Xsqlite3_column_text(c.TLS, st, 0), int(sqlite3.Xsqlite3_column_bytes(c.TLS, st, 0)))) + `"`
			all = append(all, name)
			if sqlite3.Xsqlite3_column_int64(c.TLS, st, 1) > 0 {
				key = append(key, name)
			}
		case sqlite3.SQLITE_DONE:
			if len(all) == 0 {
				return "", fmt.Errorf("no table %s", table)
			}
			if len(key) == 0 {
				key = all
			}
			return strings.Join(key, ", "), nil
		default:
			return "", c.Errorf(rc, "columns of %s", table)
		}
	}
}
