package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/cptsledger/ledger/eventstore"
	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The read path drives SQLite through modernc.org/sqlite's C API
// (modernc.org/sqlite/lib, the same SQLite the database/sql driver wraps)
// rather than through database/sql. Reading the log is the hot path of every
// projection, relay and Verify, and through database/sql each of the 15
// columns of an event is boxed into an interface, converted by Scan and
// copied twice: ~27 allocations and ~4 µs per event. Here one event costs one
// allocation (its text and data in one buffer) and reads run ~2.7 times
// faster (docs/benchmarks.md). The schema, the file and the transactions
// are the same; only the Go side of the row decoding changes.

const (
	readAllSQL = `SELECT ` + selectCols + ` FROM events WHERE position > ?1 ORDER BY position LIMIT ?2`
	streamSQL  = `SELECT ` + selectCols + ` FROM events WHERE stream = ?3 AND revision >= ?1 ORDER BY revision LIMIT ?2`
	headSQL    = `SELECT COALESCE(MAX(position), 0) FROM events`
)

// reader is one read-only connection with its prepared statements. It is
// used by one goroutine at a time (readerPool hands it out), which is what
// its libc.TLS and SQLITE_OPEN_NOMUTEX require.
type reader struct {
	tls                       *libc.TLS
	db                        uintptr
	readAll, readStream, head uintptr
	text                      uintptr // C copy of the stream name bound to readStream
	textCap                   int
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

func openReader(path string) (_ *reader, err error) {
	r := &reader{tls: libc.NewTLS()}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	name, err := libc.CString(path)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(r.tls, name)
	pdb := libc.Xmalloc(r.tls, 8)
	if pdb == 0 {
		return nil, errors.New("embedded: out of C memory")
	}
	defer libc.Xfree(r.tls, pdb)
	rc := sqlite3.Xsqlite3_open_v2(r.tls, name, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	r.db = cword(pdb)
	if rc != sqlite3.SQLITE_OK {
		return nil, r.errorf(rc, "open %s", path)
	}
	// The same settings as the database/sql reading pool: wait for the
	// lock a checkpoint may hold, never write, map the file.
	sqlite3.Xsqlite3_busy_timeout(r.tls, r.db, 30000)
	if err := r.exec(`PRAGMA query_only=1; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768`); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst *uintptr
		sql string
	}{{&r.readAll, readAllSQL}, {&r.readStream, streamSQL}, {&r.head, headSQL}} {
		if *p.dst, err = r.prepare(p.sql); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *reader) exec(sql string) error {
	z, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(r.tls, z)
	if rc := sqlite3.Xsqlite3_exec(r.tls, r.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return r.errorf(rc, "%s", sql)
	}
	return nil
}

func (r *reader) prepare(sql string) (uintptr, error) {
	z, err := libc.CString(sql)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(r.tls, z)
	pp := libc.Xmalloc(r.tls, 8)
	if pp == 0 {
		return 0, errors.New("embedded: out of C memory")
	}
	defer libc.Xfree(r.tls, pp)
	if rc := sqlite3.Xsqlite3_prepare_v2(r.tls, r.db, z, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return 0, r.errorf(rc, "prepare %q", sql)
	}
	return cword(pp), nil
}

// errorf names SQLite's own message for rc on this connection.
func (r *reader) errorf(rc int32, format string, args ...any) error {
	msg := "out of memory"
	if r.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(r.tls, r.db))
	}
	return fmt.Errorf("embedded: %s: sqlite %d: %s", fmt.Sprintf(format, args...), rc, msg)
}

func (r *reader) close() {
	for _, st := range []uintptr{r.readAll, r.readStream, r.head} {
		if st != 0 {
			sqlite3.Xsqlite3_finalize(r.tls, st)
		}
	}
	if r.db != 0 {
		sqlite3.Xsqlite3_close_v2(r.tls, r.db)
	}
	if r.text != 0 {
		libc.Xfree(r.tls, r.text)
	}
	r.tls.Close()
}

// bindStream binds stream to parameter 3 of readStream from a C buffer the
// reader owns (SQLITE_STATIC: SQLite reads it until the next reset).
func (r *reader) bindStream(stream string) error {
	if len(stream)+1 > r.textCap {
		if r.text != 0 {
			libc.Xfree(r.tls, r.text)
		}
		r.textCap = max(64, 2*len(stream))
		if r.text = libc.Xmalloc(r.tls, uint64(r.textCap)); r.text == 0 {
			r.textCap = 0
			return errors.New("embedded: out of C memory")
		}
	}
	copy(cmem(r.text, r.textCap), stream)
	if rc := sqlite3.Xsqlite3_bind_text(r.tls, r.readStream, 3, r.text, int32(len(stream)), 0); rc != sqlite3.SQLITE_OK {
		return r.errorf(rc, "bind stream")
	}
	return nil
}

// readEvents runs st (after, or from, as ?1 and the limit as ?2) and decodes
// its rows.
func (r *reader) readEvents(st uintptr, from int64, limit int) ([]eventstore.Envelope, error) {
	defer sqlite3.Xsqlite3_reset(r.tls, st)
	sqlite3.Xsqlite3_bind_int64(r.tls, st, 1, from)
	sqlite3.Xsqlite3_bind_int64(r.tls, st, 2, int64(limit))
	out := make([]eventstore.Envelope, 0, min(limit, 1024))
	for {
		switch rc := sqlite3.Xsqlite3_step(r.tls, st); rc {
		case sqlite3.SQLITE_ROW:
			out = append(out, eventstore.Envelope{})
			if err := r.decode(st, &out[len(out)-1]); err != nil {
				return nil, err
			}
		case sqlite3.SQLITE_DONE:
			return out, nil
		default:
			return nil, r.errorf(rc, "read events")
		}
	}
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

func (r *reader) decode(st uintptr, e *eventstore.Envelope) error {
	tls := r.tls
	pos := sqlite3.Xsqlite3_column_int64(tls, st, colPosition)
	// Fixed-size columns: a wrong size means the row was not written by
	// this store (or was edited), which Verify would also name.
	for _, c := range [...]struct {
		col int32
		dst []byte
	}{{colEventID, e.EventID[:]}, {colPrevHash, e.PrevHash[:]}, {colHash, e.Hash[:]}} {
		p := sqlite3.Xsqlite3_column_blob(tls, st, c.col)
		if n := int(sqlite3.Xsqlite3_column_bytes(tls, st, c.col)); n != len(c.dst) {
			return fmt.Errorf("embedded: event at position %d has a malformed id or hash column", pos)
		}
		copy(c.dst, cmem(p, len(c.dst)))
	}
	// One buffer for the text columns and the data: strings are views of
	// it, Data its last part (capacity capped, so an append copies).
	var ptrs [len(textCols)]uintptr
	var lens [len(textCols)]int
	total := 0
	for i, c := range textCols {
		if c == colData {
			ptrs[i] = sqlite3.Xsqlite3_column_blob(tls, st, c)
		} else {
			ptrs[i] = sqlite3.Xsqlite3_column_text(tls, st, c)
		}
		lens[i] = int(sqlite3.Xsqlite3_column_bytes(tls, st, c))
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

func (r *reader) readHead() (int64, error) {
	defer sqlite3.Xsqlite3_reset(r.tls, r.head)
	if rc := sqlite3.Xsqlite3_step(r.tls, r.head); rc != sqlite3.SQLITE_ROW {
		return 0, r.errorf(rc, "read head")
	}
	return sqlite3.Xsqlite3_column_int64(r.tls, r.head, 0), nil
}

// readerPool lends readers to at most max goroutines at once (others wait),
// keeps the idle ones open, and closes a reader lent out when the pool
// closed meanwhile as it comes back.
type readerPool struct {
	path   string
	slots  chan struct{} // one token per reader lent out
	mu     sync.Mutex
	idle   []*reader
	closed bool
}

func newReaderPool(path string, max int) *readerPool {
	return &readerPool{path: path, slots: make(chan struct{}, max)}
}

func (p *readerPool) get(ctx context.Context) (*reader, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, eventstore.ErrClosed
	}
	if n := len(p.idle); n > 0 {
		r := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return r, nil
	}
	p.mu.Unlock()
	r, err := openReader(p.path)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return r, nil
}

func (p *readerPool) put(r *reader) {
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.idle = append(p.idle, r)
	}
	p.mu.Unlock()
	if closed {
		r.close()
	}
	<-p.slots
}

func (p *readerPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, r := range idle {
		r.close()
	}
}
