// Package embedded is the default event store backend: one SQLite database
// file (pure-Go modernc.org/sqlite) in WAL mode with synchronous=FULL, so an
// acknowledged append has been fsynced.
//
// Appends from one process go through a single writer goroutine that groups
// the requests waiting at that moment into one transaction, each request in
// its own savepoint, so that they share one fsync (group commit) and one
// failing request does not undo the others. Global positions are assigned
// inside the write transaction as max+1; SQLite admits one writer at a time,
// so positions are contiguous and in commit order, and a reader's snapshot
// always holds a prefix of the log.
//
// Several processes may open the same file at once (the CLI while a server
// runs): SQLite's locking serialises their writes, and subscribers poll for
// commits made by other processes (Options.PollInterval).
package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

var (
	_ eventstore.Store      = (*Store)(nil)
	_ eventstore.LeafReader = (*Store)(nil)
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Logger receives operational messages; nil discards them.
	Logger *slog.Logger
	// MaxGroup caps how many append requests share one transaction
	// (default 256).
	MaxGroup int
	// PollInterval is how often an idle subscriber looks for events committed
	// by another process (default 100 ms). Events committed by this process
	// wake subscribers at once.
	PollInterval time.Duration
	// Now gives the recorded time of appended events (default time.Now).
	Now func() time.Time
}

// Store is an event store in one SQLite file.
type Store struct {
	path    string
	log     *slog.Logger
	opts    Options
	w       *writeConn  // the one writing connection, owned by the writer goroutine
	rdb     *sql.DB     // database/sql reading pool, for DB() and tools
	readers *readerPool // the read path: ReadAll, ReadStream, Head
	reqs    chan *appendReq
	ckpt    *conn         // the checkpointer's connection (checkpoint.go)
	kick    chan struct{} // a commit grew the WAL
	done    chan struct{}
	exited  chan struct{} // closed when the writer has answered its last request and returned
	wg      sync.WaitGroup
	notify  notifier
	cache   tailCache // owned by the writer goroutine
	stats   struct{ groups, appends, busy atomic.Int64 }

	closeOnce sync.Once
	closeErr  error
}

// WriterStats is what the writer has done since the store was opened: how
// many transactions (groups) it committed, how many append requests they
// held (both counted before the group's callers are answered), and how long
// it spent in them (added once they are). Appends/Groups is how well group
// commit works under a load: each group costs one fsync.
type WriterStats struct {
	Groups, Appends int64
	Busy            time.Duration
}

// WriterStats returns the writer's counts so far.
func (s *Store) WriterStats() WriterStats {
	return WriterStats{Groups: s.stats.groups.Load(), Appends: s.stats.appends.Load(), Busy: time.Duration(s.stats.busy.Load())}
}

type appendReq struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	claims   []string // the keys the append claims for its stream
	// everyStreamClaimed: refuse the append if a stream claimed nothing.
	everyStreamClaimed bool
	reply              chan appendReply
}

type appendReply struct {
	res eventstore.AppendResult
	err error
}

const schema = `
CREATE TABLE IF NOT EXISTS events (
	position       INTEGER PRIMARY KEY,
	event_id       BLOB    NOT NULL,
	stream         TEXT    NOT NULL,
	revision       INTEGER NOT NULL,
	type           TEXT    NOT NULL,
	schema_version INTEGER NOT NULL,
	occurred_on    TEXT    NOT NULL,
	recorded_at    INTEGER NOT NULL, -- microseconds since 1970-01-01 UTC
	actor          TEXT    NOT NULL,
	command_id     TEXT    NOT NULL,
	correlation_id TEXT    NOT NULL,
	causation_id   TEXT    NOT NULL,
	data           BLOB    NOT NULL,
	prev_hash      BLOB    NOT NULL,
	hash           BLOB    NOT NULL,
	UNIQUE (stream, revision),
	UNIQUE (stream, event_id)
);`

// selectCols are the events' columns; command_digest is added by
// migration 4 (format.go), so that the table is the first release's plus
// migrations, whatever the file's age.
const selectCols = `position, event_id, stream, revision, type, schema_version, occurred_on, recorded_at,
	actor, command_id, correlation_id, causation_id, data, prev_hash, hash, command_digest`

// Open opens (creating if needed) the event store in the SQLite file at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 256
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("embedded: create directory: %w", err)
		}
	}
	w, err := openWriter(path, opts.Logger)
	if err != nil {
		return nil, err
	}
	base := "file:" + filepath.ToSlash(path) + "?_pragma=busy_timeout(30000)"
	rdb, err := sql.Open("sqlite", base+"&_pragma=query_only(1)&_pragma=mmap_size(1073741824)&_pragma=cache_size(-32768)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("embedded: open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	// A connection opens the WAL when it first reads the file: until then a
	// checkpoint on it does nothing.
	ckpt, err := openConn(path, sqlite3.SQLITE_OPEN_READWRITE, `PRAGMA journal_mode=WAL`)
	if err != nil {
		w.Close()
		rdb.Close()
		return nil, fmt.Errorf("embedded: open %s for checkpoints: %w", path, err)
	}
	s := &Store{
		path:    path,
		log:     opts.Logger,
		opts:    opts,
		w:       w,
		rdb:     rdb,
		readers: newReaderPool(path, 8),
		reqs:    make(chan *appendReq, opts.MaxGroup),
		ckpt:    ckpt,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	s.notify.init()
	s.wg.Add(2)
	go s.writer()
	go s.checkpointer(ckpt)
	return s, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// DensePositions implements eventstore.DensePositions: the writer gives
// each event the next position (see the package comment), so a walk of the
// log may read two pages at once where they must begin (a gap — a row
// removed — is found, and the walk reads on one page at a time).
func (s *Store) DensePositions() bool { return true }

// DB returns a read-only handle on the database, for inspection and tools.
func (s *Store) DB() *sql.DB { return s.rdb }

// Close stops the writer after the requests already queued and closes the
// database. Appends after Close return eventstore.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.readers.close()
		s.ckpt.Close()
		s.w.Close()
		s.closeErr = s.rdb.Close()
	})
	return s.closeErr
}

func (s *Store) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Append implements eventstore.Store. When ctx ends while the append is in
// flight, Append returns ctx's error and the events may or may not be stored:
// retrying with the same event ids is safe.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	prepared, err := eventstore.Prepare(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	o := eventstore.OptionsOf(opts)
	if err := eventstore.CheckOptions(o); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	req := &appendReq{ctx: ctx, stream: stream, expected: expected, events: prepared, claims: o.Claims, everyStreamClaimed: o.EveryStreamClaimed,
		reply: make(chan appendReply, 1)}
	select {
	case <-s.done:
		return eventstore.AppendResult{}, eventstore.ErrClosed
	default:
	}
	select {
	case s.reqs <- req:
	case <-s.done:
		return eventstore.AppendResult{}, eventstore.ErrClosed
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
	return s.await(ctx, req)
}

// await waits for the writer's answer to a queued request. A request can
// reach the queue after the writer took its last ones (its caller passed
// the closed check as Close began, and select chose the queue over done):
// the writer answers every request it takes before it returns, so once it
// has, an answer is there now or never comes.
func (s *Store) await(ctx context.Context, req *appendReq) (eventstore.AppendResult, error) {
	select {
	case r := <-req.reply:
		return r.res, r.err
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	case <-s.exited:
		select {
		case r := <-req.reply:
			return r.res, r.err
		default:
			return eventstore.AppendResult{}, eventstore.ErrClosed
		}
	}
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []eventstore.Envelope
	err := s.withReader(ctx, func(r *reader) (err error) {
		if err := r.bindStream(stream); err != nil {
			return err
		}
		out, err = r.readEvents(r.readStream, int64(from), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: read stream %s: %w", stream, err)
	}
	return out, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Envelope, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []eventstore.Envelope
	err := s.withReader(ctx, func(r *reader) (err error) {
		out, err = r.readEvents(r.readAll, int64(after), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: read all after %d: %w", after, err)
	}
	return out, nil
}

// ReadLinks implements eventstore.LinkReader: each event after a position
// hashed where SQLite holds it, by the goroutine that reads it.
func (s *Store) ReadLinks(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Link, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []eventstore.Link
	err := s.withReader(ctx, func(r *reader) (err error) {
		out, err = r.readLinks(r.readAll, int64(after), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: read links after %d: %w", after, err)
	}
	return out, nil
}

// ReadLeaves implements eventstore.LeafReader: the position, id and hash of
// the events after a position, without their data.
func (s *Store) ReadLeaves(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Leaf, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []eventstore.Leaf
	err := s.withReader(ctx, func(r *reader) (err error) {
		out, err = r.readLeaves(int64(after), limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: read leaves after %d: %w", after, err)
	}
	return out, nil
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var head int64
	err := s.withReader(ctx, func(r *reader) (err error) {
		head, err = r.readHead()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("embedded: read head: %w", err)
	}
	return eventstore.Position(head), nil
}

// withReader runs f with a reader of the pool, once ctx is checked: a read
// is one page, so it is not interrupted midway.
func (s *Store) withReader(ctx context.Context, f func(*reader) error) error {
	if s.isClosed() {
		return eventstore.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err := s.readers.get(ctx)
	if err != nil {
		return err
	}
	defer s.readers.put(r)
	return f(r)
}

// Subscribe implements eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func([]eventstore.Envelope) error) error {
	const page = 1024
	ticker := time.NewTicker(s.opts.PollInterval)
	defer ticker.Stop()
	pos := after
	for {
		// Take the wake-up channel before reading, so that a commit
		// landing between the read and the wait is not missed.
		wake := s.notify.wait()
		batch, err := s.ReadAll(ctx, pos, page)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if len(batch) > 0 {
			if err := handle(batch); err != nil {
				return err
			}
			pos = batch[len(batch)-1].Position
			if len(batch) == page {
				if err := ctx.Err(); err != nil {
					return err
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return eventstore.ErrClosed
		case <-wake:
		case <-ticker.C:
		}
	}
}

// notifier wakes every waiter when the writer commits: wait returns a channel
// that is closed by the next broadcast.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *notifier) init() { n.ch = make(chan struct{}) }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
