package embedded

import (
	"context"
	"fmt"
	"sync"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/sqlitec"
	sqlite3 "modernc.org/sqlite/lib"
)

const (
	readAllSQL = `SELECT ` + selectCols + ` FROM events WHERE position > ?1 ORDER BY position`
	streamSQL  = `SELECT ` + selectCols + ` FROM events WHERE stream = ?3 AND revision >= ?1 ORDER BY revision`
	headSQL    = `SELECT COALESCE(MAX(position), 0) FROM events`
	leavesSQL  = `SELECT position, event_id, hash FROM events WHERE position > ?1 ORDER BY position`
)

// reader is one read-only connection with its prepared statements, the read
// path of ReadAll, ReadStream and Head (see conn.go).
type reader struct {
	*conn
	readAll, readStream, head, leaves uintptr
}

func openReader(path string) (*reader, error) {
	// The same settings as the database/sql reading pool: wait for the
	// lock a checkpoint may hold, never write, map the file.
	c, err := openConn(path, sqlite3.SQLITE_OPEN_READWRITE, `PRAGMA query_only=1; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768`)
	if err != nil {
		return nil, err
	}
	r := &reader{conn: c}
	if err := c.PrepareAll(map[*uintptr]string{&r.readAll: readAllSQL, &r.readStream: streamSQL, &r.head: headSQL, &r.leaves: leavesSQL}); err != nil {
		c.Close()
		return nil, err
	}
	return r, nil
}

// bindStream binds stream to parameter 3 of readStream.
func (r *reader) bindStream(stream string) error {
	if err := r.StartBind(len(stream)); err != nil {
		return err
	}
	if rc := r.BindText(r.readStream, 3, stream); rc != sqlite3.SQLITE_OK {
		return r.Errorf(rc, "bind stream")
	}
	return nil
}

// readLeaves reads the position, id and hash of up to limit events after a
// position: what the notary's tree needs, without the events' data.
func (r *reader) readLeaves(after int64, limit int) ([]eventstore.Leaf, error) {
	tls, st := r.TLS, r.leaves
	defer sqlite3.Xsqlite3_reset(tls, st)
	sqlite3.Xsqlite3_bind_int64(tls, st, 1, after)
	out := make([]eventstore.Leaf, 0, min(limit, 1<<16))
	for len(out) < limit {
		switch rc := sqlite3.Xsqlite3_step(tls, st); rc {
		case sqlite3.SQLITE_ROW:
			var l eventstore.Leaf
			l.Position = eventstore.Position(sqlite3.Xsqlite3_column_int64(tls, st, 0))
			for _, col := range [...]struct {
				col int32
				dst []byte
			}{{1, l.EventID[:]}, {2, l.Hash[:]}} {
				p := sqlite3.Xsqlite3_column_blob(tls, st, col.col)
				if n := int(sqlite3.Xsqlite3_column_bytes(tls, st, col.col)); n != len(col.dst) {
					return nil, fmt.Errorf("embedded: event at position %d has a malformed id or hash column", l.Position)
				}
				copy(col.dst, sqlitec.Mem(p, len(col.dst)))
			}
			out = append(out, l)
		case sqlite3.SQLITE_DONE:
			return out, nil
		default:
			return nil, r.Errorf(rc, "read leaves")
		}
	}
	return out, nil
}

func (r *reader) readHead() (int64, error) {
	v, _, err := r.ReadInt(r.head, "read head")
	return v, err
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
		r.Close()
	}
	<-p.slots
}

func (p *readerPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, r := range idle {
		r.Close()
	}
}
