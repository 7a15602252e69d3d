package embedded

import (
	"bytes"
	"fmt"
	"strings"
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

// decode reads the row st stands on (the columns of selectCols) into e:
// its text and data copied into one buffer of e's own.
func (c *conn) decode(st uintptr, e *eventstore.Envelope) error {
	return c.decodeRow(st, e, false)
}

// view reads the row st stands on into e without copying: e's text and
// data are views of SQLite's memory, valid until the statement steps or
// resets, for hashing where the row is (readLinks); e must not be kept.
func (c *conn) view(st uintptr, e *eventstore.Envelope) error {
	return c.decodeRow(st, e, true)
}

func (c *conn) decodeRow(st uintptr, e *eventstore.Envelope, view bool) error {
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
	var text [len(textCols)][]byte
	total := 0
	for i, col := range textCols {
		var p uintptr
		if col == colData {
			p = sqlite3.Xsqlite3_column_blob(tls, st, col)
		} else {
			p = sqlite3.Xsqlite3_column_text(tls, st, col)
		}
		text[i] = sqlitec.Mem(p, int(sqlite3.Xsqlite3_column_bytes(tls, st, col)))
		total += len(text[i])
	}
	if !view {
		// One buffer for the text columns and the data: strings are views
		// of it, Data its last part (capacity capped, so an append copies).
		buf := make([]byte, 0, total)
		for i, b := range text {
			start := len(buf)
			buf = append(buf, b...)
			text[i] = buf[start:len(buf):len(buf)]
		}
	}
	str := func(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
	e.Stream, e.Type, e.OccurredOn, e.Actor = str(text[0]), str(text[1]), str(text[2]), str(text[3])
	e.CommandID, e.CorrelationID, e.CausationID, e.Data = str(text[4]), str(text[5]), str(text[6]), text[7]
	e.Position = eventstore.Position(pos)
	e.Revision = uint64(sqlite3.Xsqlite3_column_int64(tls, st, colRevision))
	e.SchemaVersion = int(sqlite3.Xsqlite3_column_int64(tls, st, colSchemaVersion))
	e.RecordedAt = time.UnixMicro(sqlite3.Xsqlite3_column_int64(tls, st, colRecordedAt)).UTC()
	e.CommandDigest = nil
	if n := int(sqlite3.Xsqlite3_column_bytes(tls, st, colCommandDigest)); n > 0 && !view {
		e.CommandDigest = bytes.Clone(sqlitec.Mem(sqlite3.Xsqlite3_column_blob(tls, st, colCommandDigest), n))
	}
	return nil
}

// readLinks reads up to limit events after from with st (the columns of
// selectCols), each hashed where SQLite holds it (view): nothing of the
// event is copied out but its stream's name.
func (c *conn) readLinks(st uintptr, from int64, limit int) ([]eventstore.Link, error) {
	defer sqlite3.Xsqlite3_reset(c.TLS, st)
	sqlite3.Xsqlite3_bind_int64(c.TLS, st, 1, from)
	out := make([]eventstore.Link, 0, min(limit, 2*eventstore.VerifyPage))
	var e eventstore.Envelope
	for len(out) < limit {
		switch rc := sqlite3.Xsqlite3_step(c.TLS, st); rc {
		case sqlite3.SQLITE_ROW:
			if err := c.view(st, &e); err != nil {
				return nil, err
			}
			l := eventstore.LinkOf(&e)
			l.Stream = strings.Clone(e.Stream)
			out = append(out, l)
		case sqlite3.SQLITE_DONE:
			return out, nil
		default:
			return nil, c.Errorf(rc, "read events")
		}
	}
	return out, nil
}

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
