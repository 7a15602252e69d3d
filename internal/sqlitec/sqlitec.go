// Package sqlitec drives SQLite through modernc.org/sqlite's C API
// (modernc.org/sqlite/lib, the same SQLite the database/sql driver wraps)
// rather than through database/sql: what the event store's reads and writes
// and the read models' rebuild use where database/sql's cost per value —
// each boxed into an interface, converted, copied into fresh C memory, and a
// goroutine per statement to watch the context — is most of the work.
//
// A Conn is one SQLite connection with a scratch buffer in C memory for the
// text and blobs bound to its statements. It is used by one goroutine at a
// time, which is what its libc.TLS and SQLITE_OPEN_NOMUTEX require.
package sqlitec

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Conn is one SQLite connection (see the package comment).
type Conn struct {
	Path       string // the database file, named in errors
	TLS        *libc.TLS
	DB         uintptr
	prefix     string    // what errors start with: the package using the connection
	stmts      []uintptr // finalized by Close
	scratch    uintptr   // bound text and blobs (SQLITE_STATIC: read until the next reset)
	scratchCap int
	off        int // bytes of scratch used since the last StartBind
}

// Mem views n bytes of C memory at p as a Go slice, valid until SQLite
// reuses that memory (the next step, reset or finalize on the statement).
// The memory is allocated by modernc.org/libc outside the Go heap (mmap), so
// the garbage collector neither moves nor frees it; the conversion goes
// through &p because p is an address SQLite returned, not a Go pointer.
func Mem(p uintptr, n int) []byte {
	if p == 0 || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&p))), n)
}

// Word reads the pointer-sized word SQLite wrote at p (an out parameter).
func Word(p uintptr) uintptr {
	return *(*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&p)))
}

// Open opens the database file at path, waiting up to 30 s for locks
// other connections hold, then runs pragmas.
func Open(prefix, path string, flags int32, pragmas string) (_ *Conn, err error) {
	c := &Conn{Path: path, TLS: libc.NewTLS(), prefix: prefix}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	name, err := libc.CString(path)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.TLS, name)
	pdb := libc.Xmalloc(c.TLS, 8)
	if pdb == 0 {
		return nil, errors.New(c.prefix + ": out of C memory")
	}
	defer libc.Xfree(c.TLS, pdb)
	rc := sqlite3.Xsqlite3_open_v2(c.TLS, name, pdb, flags|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.DB = Word(pdb)
	if rc != sqlite3.SQLITE_OK {
		return nil, c.Errorf(rc, "open")
	}
	sqlite3.Xsqlite3_busy_timeout(c.TLS, c.DB, 30000)
	if err := c.Exec(pragmas); err != nil {
		return nil, err
	}
	return c, nil
}

// Exec runs one or more SQL statements that take no parameters.
func (c *Conn) Exec(sql string) error {
	z, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.TLS, z)
	if rc := sqlite3.Xsqlite3_exec(c.TLS, c.DB, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		what := strings.Join(strings.Fields(sql), " ")
		if len(what) > 60 {
			what = what[:60] + "…"
		}
		return c.Errorf(rc, "%s", what)
	}
	return nil
}

// Prepare compiles sql into a statement that Close finalizes.
func (c *Conn) Prepare(sql string) (uintptr, error) {
	st, err := c.compile(sql)
	if err != nil {
		return 0, err
	}
	c.stmts = append(c.stmts, st)
	return st, nil
}

// compile compiles sql into a statement the caller finalizes.
func (c *Conn) compile(sql string) (uintptr, error) {
	z, err := libc.CString(sql)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.TLS, z)
	pp := libc.Xmalloc(c.TLS, 8)
	if pp == 0 {
		return 0, errors.New(c.prefix + ": out of C memory")
	}
	defer libc.Xfree(c.TLS, pp)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.TLS, c.DB, z, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.Errorf(rc, "prepare %q", sql)
	}
	return Word(pp), nil
}

// PrepareAll prepares each statement into its destination.
func (c *Conn) PrepareAll(stmts map[*uintptr]string) error {
	for dst, sql := range stmts {
		st, err := c.Prepare(sql)
		if err != nil {
			return err
		}
		*dst = st
	}
	return nil
}

// Errorf names SQLite's own message for rc on this connection.
func (c *Conn) Errorf(rc int32, format string, args ...any) error {
	msg := "out of memory"
	if c.DB != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.TLS, c.DB))
	}
	return &Error{code: rc, msg: fmt.Sprintf("%s: %s: %s: sqlite %d: %s", c.prefix, c.Path, fmt.Sprintf(format, args...), rc, msg)}
}

// Error is an error SQLite returned, with its result code.
type Error struct {
	code int32
	msg  string
}

func (e *Error) Error() string { return e.msg }

// IsConstraint tells whether err is SQLite refusing a row for a constraint
// (here: a unique index).
func IsConstraint(err error) bool {
	var se *Error
	return errors.As(err, &se) && se.code&0xff == sqlite3.SQLITE_CONSTRAINT
}

func (c *Conn) Close() {
	if c.TLS == nil {
		return // closed already
	}
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.TLS, st)
	}
	c.stmts = nil
	if c.DB != 0 {
		sqlite3.Xsqlite3_close_v2(c.TLS, c.DB)
		c.DB = 0
	}
	if c.scratch != 0 {
		libc.Xfree(c.TLS, c.scratch)
		c.scratch = 0
	}
	c.TLS.Close()
	c.TLS = nil
}

// StartBind makes room for n bytes of text and blobs to bind, and starts
// filling the scratch buffer from its beginning: what was bound before must
// no longer be read, so the statements it was bound to must have been reset.
func (c *Conn) StartBind(n int) error {
	if n > c.scratchCap || c.scratch == 0 {
		if c.scratch != 0 {
			libc.Xfree(c.TLS, c.scratch)
		}
		c.scratchCap = max(4096, 2*n)
		if c.scratch = libc.Xmalloc(c.TLS, uint64(c.scratchCap)); c.scratch == 0 {
			c.scratchCap = 0
			return errors.New(c.prefix + ": out of C memory")
		}
	}
	c.off = 0
	return nil
}

// place copies b into c's scratch buffer and returns its C address, never 0
// (SQLite binds a null pointer as NULL, and an empty text must stay empty).
func place[T ~string | ~[]byte](c *Conn, b T) uintptr {
	p := c.scratch + uintptr(c.off)
	copy(Mem(p, c.scratchCap-c.off), b)
	c.off += len(b)
	return p
}

// BindText binds s to parameter i of st, from the scratch buffer.
func (c *Conn) BindText(st uintptr, i int32, s string) int32 {
	return sqlite3.Xsqlite3_bind_text(c.TLS, st, i, place(c, s), int32(len(s)), 0)
}

// BindBlob binds b to parameter i of st, from the scratch buffer.
func (c *Conn) BindBlob(st uintptr, i int32, b []byte) int32 {
	return sqlite3.Xsqlite3_bind_blob(c.TLS, st, i, place(c, b), int32(len(b)), 0)
}

// Run steps st, which returns no row, and resets it.
func (c *Conn) Run(st uintptr, what string) error {
	rc := sqlite3.Xsqlite3_step(c.TLS, st)
	if rc != sqlite3.SQLITE_DONE && rc != sqlite3.SQLITE_ROW {
		err := c.Errorf(rc, "%s", what)
		sqlite3.Xsqlite3_reset(c.TLS, st)
		return err
	}
	sqlite3.Xsqlite3_reset(c.TLS, st)
	return nil
}

// QueryInt runs one SQL statement that takes no parameter and returns the
// first column of its first row (0 when it returns none).
func (c *Conn) QueryInt(sql string) (int64, error) {
	st, err := c.compile(sql)
	if err != nil {
		return 0, err
	}
	defer sqlite3.Xsqlite3_finalize(c.TLS, st)
	v, _, err := c.ReadInt(st, sql)
	return v, err
}

// ReadText runs st and returns the first column of its first row as text;
// ok is false when it returns no row.
func (c *Conn) ReadText(st uintptr, what string) (v string, ok bool, err error) {
	defer sqlite3.Xsqlite3_reset(c.TLS, st)
	switch rc := sqlite3.Xsqlite3_step(c.TLS, st); rc {
	case sqlite3.SQLITE_ROW:
		p := sqlite3.Xsqlite3_column_text(c.TLS, st, 0)
		return string(Mem(p, int(sqlite3.Xsqlite3_column_bytes(c.TLS, st, 0)))), true, nil
	case sqlite3.SQLITE_DONE:
		return "", false, nil
	default:
		return "", false, c.Errorf(rc, "%s", what)
	}
}

// ReadInt runs st and returns the first column of its first row; ok is
// false when it returns no row.
func (c *Conn) ReadInt(st uintptr, what string) (v int64, ok bool, err error) {
	defer sqlite3.Xsqlite3_reset(c.TLS, st)
	switch rc := sqlite3.Xsqlite3_step(c.TLS, st); rc {
	case sqlite3.SQLITE_ROW:
		return sqlite3.Xsqlite3_column_int64(c.TLS, st, 0), true, nil
	case sqlite3.SQLITE_DONE:
		return 0, false, nil
	default:
		return 0, false, c.Errorf(rc, "%s", what)
	}
}

// Code returns SQLite's result code.
func (e *Error) Code() int32 { return e.code }

// BindInt64 binds v to parameter i of st.
func (c *Conn) BindInt64(st uintptr, i int32, v int64) int32 {
	return sqlite3.Xsqlite3_bind_int64(c.TLS, st, i, v)
}

// BindNull binds NULL to parameter i of st.
func (c *Conn) BindNull(st uintptr, i int32) int32 {
	return sqlite3.Xsqlite3_bind_null(c.TLS, st, i)
}

// BindTextOrNull binds s, or NULL when s is empty, to parameter i of st.
func (c *Conn) BindTextOrNull(st uintptr, i int32, s string) int32 {
	if s == "" {
		return c.BindNull(st, i)
	}
	return c.BindText(st, i, s)
}

// Finalize finalizes a statement Prepare returned, before Close.
func (c *Conn) Finalize(st uintptr) {
	for i, s := range c.stmts {
		if s == st {
			c.stmts = append(c.stmts[:i], c.stmts[i+1:]...)
			sqlite3.Xsqlite3_finalize(c.TLS, st)
			return
		}
	}
}
