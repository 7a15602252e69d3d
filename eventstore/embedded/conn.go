package embedded

import (
	"bytes"
	"fmt"
	"time"
	"unsafe"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/sqlitec"
	sqlite3 "modernc.org/sqlite/lib"
)

// The store drives SQLite through modernc.org/sqlite's C API
// (modernc.org/sqlite/lib, the same SQLite the database/sql driver wraps)
// rather than through database/sql, for its reads and its writes. Through
// database/sql each of the 15 columns of an event is boxed into an
// interface, converted and copied into fresh C memory on the way in, and
// boxed, scanned and copied twice on the way out: ~27 allocations and ~4 µs
// per event read, ~3 µs per event written. Here an event read costs one
// allocation (its text and data in one buffer) and an event written none (its
// text is copied into a buffer the connection owns and bound in place). The
// schema, the file and the transactions are the same as with any SQL client.

// conn is one SQLite connection of the store (see sqlitec.Conn).
type conn struct{ *sqlitec.Conn }

// openConn opens the database file at path, waiting up to 30 s for locks
// other connections hold, then runs pragmas.
func openConn(path string, flags int32, pragmas string) (*conn, error) {
	c, err := sqlitec.Open("embedded", path, flags, pragmas)
	if err != nil {
		return nil, err
	}
	return &conn{c}, nil
}

// Column numbers in selectCols.
const (
	colPosition = iota
	colEventID
	colStream
	colRevision
	colType
	colSchemaVersion
	colOccurredOn
	colRecordedAt
	colActor
	colCommandID
	colCorrelationID
	colCausationID
	colData
	colPrevHash
	colHash
	colCommandDigest
	numCols
)

// textCols are the columns copied into the event's one buffer, data last.
var textCols = [...]int32{colStream, colType, colOccurredOn, colActor, colCommandID, colCorrelationID, colCausationID, colData}

// decode reads the row st stands on (the columns of selectCols) into e.
func (c *conn) decode(st uintptr, e *eventstore.Envelope) error {
	tls := c.TLS
	pos := sqlite3.Xsqlite3_column_int64(tls, st, colPosition)
	// Fixed-size columns: a wrong size means the row was not written by
	// this store (or was edited), which Verify would also name.
	for _, col := range [...]struct {
		col int32
		dst []byte
	}{{colEventID, e.EventID[:]}, {colPrevHash, e.PrevHash[:]}, {colHash, e.Hash[:]}} {
		p := sqlite3.Xsqlite3_column_blob(tls, st, col.col)
		if n := int(sqlite3.Xsqlite3_column_bytes(tls, st, col.col)); n != len(col.dst) {
			return fmt.Errorf("embedded: event at position %d has a malformed id or hash column", pos)
		}
		copy(col.dst, sqlitec.Mem(p, len(col.dst)))
	}
	// One buffer for the text columns and the data: strings are views of
	// it, Data its last part (capacity capped, so an append copies).
	var ptrs [len(textCols)]uintptr
	var lens [len(textCols)]int
	total := 0
	for i, col := range textCols {
		if col == colData {
			ptrs[i] = sqlite3.Xsqlite3_column_blob(tls, st, col)
		} else {
			ptrs[i] = sqlite3.Xsqlite3_column_text(tls, st, col)
		}
		lens[i] = int(sqlite3.Xsqlite3_column_bytes(tls, st, col))
		total += lens[i]
	}
	buf := make([]byte, total)
	off := 0
	str := func(i int) string {
		n := lens[i]
		if n == 0 {
			return ""
		}
		copy(buf[off:off+n], sqlitec.Mem(ptrs[i], n))
		s := unsafe.String(&buf[off], n)
		off += n
		return s
	}
	e.Stream = str(0)
	e.Type = str(1)
	e.OccurredOn = str(2)
	e.Actor = str(3)
	e.CommandID = str(4)
	e.CorrelationID = str(5)
	e.CausationID = str(6)
	n := lens[7]
	copy(buf[off:off+n], sqlitec.Mem(ptrs[7], n))
	e.Data = buf[off : off+n : off+n]
	e.Position = eventstore.Position(pos)
	e.Revision = uint64(sqlite3.Xsqlite3_column_int64(tls, st, colRevision))
	e.SchemaVersion = int(sqlite3.Xsqlite3_column_int64(tls, st, colSchemaVersion))
	e.RecordedAt = time.UnixMicro(sqlite3.Xsqlite3_column_int64(tls, st, colRecordedAt)).UTC()
	e.CommandDigest = nil
	if n := int(sqlite3.Xsqlite3_column_bytes(tls, st, colCommandDigest)); n > 0 {
		e.CommandDigest = bytes.Clone(sqlitec.Mem(sqlite3.Xsqlite3_column_blob(tls, st, colCommandDigest), n))
	}
	return nil
}

// readEvents runs st (after, or from, as ?1, other parameters bound
// already) and decodes up to limit of its rows. The limit is not an SQL
// LIMIT: SQLite plans with a bound LIMIT's value, so a statement whose
// LIMIT changes from one run to the next is prepared again at each (a
// fifth of the CPU of a command, measured); stepping stops here instead.
func (c *conn) readEvents(st uintptr, from int64, limit int) ([]eventstore.Envelope, error) {
	defer sqlite3.Xsqlite3_reset(c.TLS, st)
	sqlite3.Xsqlite3_bind_int64(c.TLS, st, 1, from)
	// Grown as rows come: most reads are of a short stream, or of none. A
	// read that passes 64 rows is nearly always a page of a walk of the
	// whole log, full: its room up to the limit is taken then, at once —
	// growing it by doublings cost a third of verify's reading (the
	// copies, and the write barriers of copying envelopes while the
	// collector runs).
	var out []eventstore.Envelope
	for len(out) < limit {
		switch rc := sqlite3.Xsqlite3_step(c.TLS, st); rc {
		case sqlite3.SQLITE_ROW:
			if len(out) == 64 && limit > 64 {
				out = append(make([]eventstore.Envelope, 0, min(limit, 2*eventstore.VerifyPage)), out...)
			}
			out = append(out, eventstore.Envelope{})
			if err := c.decode(st, &out[len(out)-1]); err != nil {
				return nil, err
			}
		case sqlite3.SQLITE_DONE:
			return out, nil
		default:
			return nil, c.Errorf(rc, "read events")
		}
	}
	return out, nil
}
