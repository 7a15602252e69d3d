package embedded

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/cptsledger/ledger/eventstore"
	"modernc.org/libc"
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

// conn is one SQLite connection with a scratch buffer in C memory for the
// text and blobs bound to its statements. It is used by one goroutine at a
// time, which is what its libc.TLS and SQLITE_OPEN_NOMUTEX require.
type conn struct {
	path       string // the database file, named in errors
	tls        *libc.TLS
	db         uintptr
	stmts      []uintptr // finalized by close
	scratch    uintptr   // bound text and blobs (SQLITE_STATIC: read until the next reset)
	scratchCap int
	off        int // bytes of scratch used since the last startBind
}

// cmem views n bytes of C memory at p as a Go slice, valid until SQLite
// reuses that memory (the next step, reset or finalize on the statement).
// The memory is allocated by modernc.org/libc outside the Go heap (mmap), so
// the garbage collector neither moves nor frees it; the conversion goes
// through &p because p is an address SQLite returned, not a Go pointer.
func cmem(p uintptr, n int) []byte {
	if p == 0 || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), n)
}

// cword reads the pointer-sized word SQLite wrote at p (an out parameter).
func cword(p uintptr) uintptr {
	return *(*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&p)))
}

// openConn opens the database file at path, waiting up to 30 s for locks
// other connections hold, then runs pragmas.
func openConn(path string, flags int32, pragmas string) (_ *conn, err error) {
	c := &conn{path: path, tls: libc.NewTLS()}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	name, err := libc.CString(path)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	pdb := libc.Xmalloc(c.tls, 8)
	if pdb == 0 {
		return nil, errors.New("embedded: out of C memory")
	}
	defer libc.Xfree(c.tls, pdb)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pdb, flags|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = cword(pdb)
	if rc != sqlite3.SQLITE_OK {
		return nil, c.errorf(rc, "open")
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 30000)
	if err := c.exec(pragmas); err != nil {
		return nil, err
	}
	return c, nil
}

// exec runs one or more SQL statements that take no parameters.
func (c *conn) exec(sql string) error {
	z, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, z)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		what := strings.Join(strings.Fields(sql), " ")
		if len(what) > 60 {
			what = what[:60] + "…"
		}
		return c.errorf(rc, "%s", what)
	}
	return nil
}

// prepare compiles sql into a statement that close finalizes.
func (c *conn) prepare(sql string) (uintptr, error) {
	z, err := libc.CString(sql)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, z)
	pp := libc.Xmalloc(c.tls, 8)
	if pp == 0 {
		return 0, errors.New("embedded: out of C memory")
	}
	defer libc.Xfree(c.tls, pp)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.errorf(rc, "prepare %q", sql)
	}
	st := cword(pp)
	c.stmts = append(c.stmts, st)
	return st, nil
}

// prepareAll prepares each statement into its destination.
func (c *conn) prepareAll(stmts map[*uintptr]string) error {
	for dst, sql := range stmts {
		st, err := c.prepare(sql)
		if err != nil {
			return err
		}
		*dst = st
	}
	return nil
}

// errorf names SQLite's own message for rc on this connection.
func (c *conn) errorf(rc int32, format string, args ...any) error {
	msg := "out of memory"
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return &sqliteError{code: rc, msg: fmt.Sprintf("embedded: %s: %s: sqlite %d: %s", c.path, fmt.Sprintf(format, args...), rc, msg)}
}

// sqliteError is an error SQLite returned, with its result code.
type sqliteError struct {
	code int32
	msg  string
}

func (e *sqliteError) Error() string { return e.msg }

// isConstraint tells whether err is SQLite refusing a row for a constraint
// (here: a unique index).
func isConstraint(err error) bool {
	var se *sqliteError
	return errors.As(err, &se) && se.code&0xff == sqlite3.SQLITE_CONSTRAINT
}

func (c *conn) close() {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
	c.stmts = nil
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	if c.scratch != 0 {
		libc.Xfree(c.tls, c.scratch)
		c.scratch = 0
	}
	c.tls.Close()
}

// startBind makes room for n bytes of text and blobs to bind, and starts
// filling the scratch buffer from its beginning: what was bound before must
// no longer be read, so the statements it was bound to must have been reset.
func (c *conn) startBind(n int) error {
	if n > c.scratchCap || c.scratch == 0 {
		if c.scratch != 0 {
			libc.Xfree(c.tls, c.scratch)
		}
		c.scratchCap = max(4096, 2*n)
		if c.scratch = libc.Xmalloc(c.tls, uint64(c.scratchCap)); c.scratch == 0 {
			c.scratchCap = 0
			return errors.New("embedded: out of C memory")
		}
	}
	c.off = 0
	return nil
}

// place copies b into c's scratch buffer and returns its C address, never 0
// (SQLite binds a null pointer as NULL, and an empty text must stay empty).
func place[T ~string | ~[]byte](c *conn, b T) uintptr {
	p := c.scratch + uintptr(c.off)
	copy(cmem(p, c.scratchCap-c.off), b)
	c.off += len(b)
	return p
}

// bindText binds s to parameter i of st, from the scratch buffer.
func (c *conn) bindText(st uintptr, i int32, s string) int32 {
	return sqlite3.Xsqlite3_bind_text(c.tls, st, i, place(c, s), int32(len(s)), 0)
}

// bindBlob binds b to parameter i of st, from the scratch buffer.
func (c *conn) bindBlob(st uintptr, i int32, b []byte) int32 {
	return sqlite3.Xsqlite3_bind_blob(c.tls, st, i, place(c, b), int32(len(b)), 0)
}

// run steps st, which returns no row, and resets it.
func (c *conn) run(st uintptr, what string) error {
	rc := sqlite3.Xsqlite3_step(c.tls, st)
	if rc != sqlite3.SQLITE_DONE && rc != sqlite3.SQLITE_ROW {
		err := c.errorf(rc, "%s", what)
		sqlite3.Xsqlite3_reset(c.tls, st)
		return err
	}
	sqlite3.Xsqlite3_reset(c.tls, st)
	return nil
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
	numCols
)

// textCols are the columns copied into the event's one buffer, data last.
var textCols = [...]int32{colStream, colType, colOccurredOn, colActor, colCommandID, colCorrelationID, colCausationID, colData}

// decode reads the row st stands on (the columns of selectCols) into e.
func (c *conn) decode(st uintptr, e *eventstore.Envelope) error {
	tls := c.tls
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
		copy(col.dst, cmem(p, len(col.dst)))
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
		copy(buf[off:off+n], cmem(ptrs[i], n))
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
	copy(buf[off:off+n], cmem(ptrs[7], n))
	e.Data = buf[off : off+n : off+n]
	e.Position = eventstore.Position(pos)
	e.Revision = uint64(sqlite3.Xsqlite3_column_int64(tls, st, colRevision))
	e.SchemaVersion = int(sqlite3.Xsqlite3_column_int64(tls, st, colSchemaVersion))
	e.RecordedAt = time.UnixMicro(sqlite3.Xsqlite3_column_int64(tls, st, colRecordedAt)).UTC()
	return nil
}

// readEvents runs st (after, or from, as ?1 and the limit as ?2, other
// parameters bound already) and decodes its rows.
func (c *conn) readEvents(st uintptr, from int64, limit int) ([]eventstore.Envelope, error) {
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	sqlite3.Xsqlite3_bind_int64(c.tls, st, 1, from)
	sqlite3.Xsqlite3_bind_int64(c.tls, st, 2, int64(limit))
	out := make([]eventstore.Envelope, 0, min(limit, 1024))
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
		case sqlite3.SQLITE_ROW:
			out = append(out, eventstore.Envelope{})
			if err := c.decode(st, &out[len(out)-1]); err != nil {
				return nil, err
			}
		case sqlite3.SQLITE_DONE:
			return out, nil
		default:
			return nil, c.errorf(rc, "read events")
		}
	}
}

// queryInt runs one SQL statement that takes no parameter and returns the
// first column of its first row (0 when it returns none).
func (c *conn) queryInt(sql string) (int64, error) {
	z, err := libc.CString(sql)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, z)
	pp := libc.Xmalloc(c.tls, 8)
	if pp == 0 {
		return 0, errors.New("embedded: out of C memory")
	}
	defer libc.Xfree(c.tls, pp)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.errorf(rc, "prepare %q", sql)
	}
	st := cword(pp)
	defer sqlite3.Xsqlite3_finalize(c.tls, st)
	v, _, err := c.readInt(st, sql)
	return v, err
}

// readText runs st and returns the first column of its first row as text;
// ok is false when it returns no row.
func (c *conn) readText(st uintptr, what string) (v string, ok bool, err error) {
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
	case sqlite3.SQLITE_ROW:
		p := sqlite3.Xsqlite3_column_text(c.tls, st, 0)
		return string(cmem(p, int(sqlite3.Xsqlite3_column_bytes(c.tls, st, 0)))), true, nil
	case sqlite3.SQLITE_DONE:
		return "", false, nil
	default:
		return "", false, c.errorf(rc, "%s", what)
	}
}

// readInt runs st and returns the first column of its first row; ok is
// false when it returns no row.
func (c *conn) readInt(st uintptr, what string) (v int64, ok bool, err error) {
	defer sqlite3.Xsqlite3_reset(c.tls, st)
	switch rc := sqlite3.Xsqlite3_step(c.tls, st); rc {
	case sqlite3.SQLITE_ROW:
		return sqlite3.Xsqlite3_column_int64(c.tls, st, 0), true, nil
	case sqlite3.SQLITE_DONE:
		return 0, false, nil
	default:
		return 0, false, c.errorf(rc, "%s", what)
	}
}
