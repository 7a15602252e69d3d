package embedded

import (
	"context"
	"sync"

	"github.com/cptsledger/ledger/eventstore"
	sqlite3 "modernc.org/sqlite/lib"
)

const (
	readAllSQL = `SELECT ` + selectCols + ` FROM events WHERE position > ?1 ORDER BY position LIMIT ?2`
	streamSQL  = `SELECT ` + selectCols + ` FROM events WHERE stream = ?3 AND revision >= ?1 ORDER BY revision LIMIT ?2`
	headSQL    = `SELECT COALESCE(MAX(position), 0) FROM events`
)

// reader is one read-only connection with its prepared statements, the read
// path of ReadAll, ReadStream and Head (see conn.go).
type reader struct {
	*conn
	readAll, readStream, head uintptr
}

func openReader(path string) (*reader, error) {
	// The same settings as the database/sql reading pool: wait for the
	// lock a checkpoint may hold, never write, map the file.
	c, err := openConn(path, sqlite3.SQLITE_OPEN_READWRITE, `PRAGMA query_only=1; PRAGMA mmap_size=1073741824; PRAGMA cache_size=-32768`)
	if err != nil {
		return nil, err
	}
	r := &reader{conn: c}
	if err := c.prepareAll(map[*uintptr]string{&r.readAll: readAllSQL, &r.readStream: streamSQL, &r.head: headSQL}); err != nil {
		c.close()
		return nil, err
	}
	return r, nil
}

// bindStream binds stream to parameter 3 of readStream.
func (r *reader) bindStream(stream string) error {
	if err := r.startBind(len(stream)); err != nil {
		return err
	}
	if rc := r.bindText(r.readStream, 3, stream); rc != sqlite3.SQLITE_OK {
		return r.errorf(rc, "bind stream")
	}
	return nil
}

func (r *reader) readHead() (int64, error) {
	v, _, err := r.readInt(r.head, "read head")
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
