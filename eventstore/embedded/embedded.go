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
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

var _ eventstore.Store = (*Store)(nil)

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
	wdb     *sql.DB // the one writing connection (MaxOpenConns 1)
	stmts   writeStmts
	rdb     *sql.DB     // database/sql reading pool, for DB() and tools
	readers *readerPool // the read path: ReadAll, ReadStream, Head
	reqs    chan *appendReq
	done    chan struct{}
	wg      sync.WaitGroup
	notify  notifier
	cache   tailCache // owned by the writer goroutine

	closeOnce sync.Once
	closeErr  error
}

type appendReq struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	reply    chan appendReply
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

const selectCols = `position, event_id, stream, revision, type, schema_version, occurred_on, recorded_at,
	actor, command_id, correlation_id, causation_id, data, prev_hash, hash`

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
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded: create directory: %w", err)
		}
	}
	// busy_timeout lets a second process wait for the write lock instead of
	// failing; _txlock=immediate takes the write lock at BEGIN, so two
	// writers never deadlock upgrading a read lock.
	base := "file:" + filepath.ToSlash(path) + "?_pragma=busy_timeout(30000)&_pragma=synchronous(FULL)"
	wdb, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if _, err := wdb.ExecContext(ctx, schema); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("embedded: create schema in %s: %w", path, err)
	}
	stmts, err := prepareWrites(ctx, wdb)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("embedded: prepare statements: %w", err)
	}
	rdb, err := sql.Open("sqlite", base+"&_pragma=query_only(1)&_pragma=mmap_size(1073741824)&_pragma=cache_size(-32768)")
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("embedded: open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	s := &Store{
		path:    path,
		log:     opts.Logger,
		opts:    opts,
		wdb:     wdb,
		stmts:   stmts,
		rdb:     rdb,
		readers: newReaderPool(path, 8),
		reqs:    make(chan *appendReq, opts.MaxGroup),
		done:    make(chan struct{}),
	}
	s.notify.init()
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// DB returns a read-only handle on the database, for inspection and tools.
func (s *Store) DB() *sql.DB { return s.rdb }

// Close stops the writer after the requests already queued and closes the
// database. Appends after Close return eventstore.ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		s.readers.close()
		s.closeErr = errors.Join(s.stmts.close(), s.wdb.Close(), s.rdb.Close())
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
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	prepared, err := eventstore.Prepare(stream, events)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	req := &appendReq{ctx: ctx, stream: stream, expected: expected, events: prepared, reply: make(chan appendReply, 1)}
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
	select {
	case r := <-req.reply:
		return r.res, r.err
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
}

// writer is the one goroutine that writes: it takes the requests waiting at
// that moment (up to MaxGroup) and commits them in one transaction.
func (s *Store) writer() {
	defer s.wg.Done()
	group := make([]*appendReq, 0, s.opts.MaxGroup)
	for {
		select {
		case <-s.done:
			// Requests that made it into the queue before Close are
			// still committed: their callers are waiting.
			for {
				select {
				case r := <-s.reqs:
					group = append(group, r)
					if len(group) == cap(group) {
						s.commitGroup(group)
						group = group[:0]
					}
				default:
					if len(group) > 0 {
						s.commitGroup(group)
					}
					return
				}
			}
		case r := <-s.reqs:
			group = append(group[:0], r)
		drain:
			for len(group) < s.opts.MaxGroup {
				select {
				case r := <-s.reqs:
					group = append(group, r)
				default:
					break drain
				}
			}
			s.commitGroup(group)
		}
	}
}

// writeStmts are the writer's statements, prepared once on its connection
// (parsing SQL costs more than running it).
type writeStmts struct {
	dataVersion, head, hasID, byPos, tail, insert, savepoint, rollbackTo, release *sql.Stmt
}

func prepareWrites(ctx context.Context, db *sql.DB) (writeStmts, error) {
	var w writeStmts
	var errs []error
	prep := func(q string) *sql.Stmt {
		st, err := db.PrepareContext(ctx, q)
		errs = append(errs, err)
		return st
	}
	w.dataVersion = prep(`PRAGMA data_version`)
	w.head = prep(`SELECT COALESCE(MAX(position), 0) FROM events`)
	// The (stream, event_id) index answers hasID alone; the event is read
	// only when it is there (a retry), which is rare.
	w.hasID = prep(`SELECT position FROM events WHERE stream = ? AND event_id = ?`)
	w.byPos = prep(`SELECT ` + selectCols + ` FROM events WHERE position = ?`)
	w.tail = prep(`SELECT revision, hash FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1`)
	w.insert = prep(`INSERT INTO events (` + selectCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	w.savepoint = prep(`SAVEPOINT batch`)
	w.rollbackTo = prep(`ROLLBACK TO batch`)
	w.release = prep(`RELEASE batch`)
	if err := errors.Join(errs...); err != nil {
		w.close()
		return writeStmts{}, err
	}
	return w, nil
}

func (w *writeStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.dataVersion, w.head, w.hasID, w.byPos, w.tail, w.insert, w.savepoint, w.rollbackTo, w.release} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// tailCache remembers, between the writer's transactions, the head of the
// log and the last revision and hash of recently written streams. It is
// valid only while no other connection has committed, which PRAGMA
// data_version tells at the start of each transaction.
type tailCache struct {
	valid       bool
	dataVersion int64
	head        eventstore.Position
	tails       map[string]streamTail
}

type streamTail struct {
	rev  int64
	hash eventstore.Hash
}

// maxCachedTails bounds the cache; past it the cache starts afresh.
const maxCachedTails = 65536

// group is one write transaction of the writer.
type group struct {
	ctx                                                        context.Context
	hasID, byPos, tail, insert, savepoint, rollbackTo, release *sql.Stmt
	head                                                       eventstore.Position
	tails                                                      map[string]streamTail // this transaction's view, cache included
	written                                                    map[string]streamTail // what this transaction wrote
	now                                                        time.Time
}

func (s *Store) commitGroup(reqs []*appendReq) {
	replies := make([]appendReply, len(reqs))
	ctx := context.Background()
	fail := func(err error) {
		s.cache.valid = false
		for _, r := range reqs {
			r.reply <- appendReply{err: err}
		}
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("embedded: begin: %w", err))
		return
	}
	var dv int64
	if err := tx.StmtContext(ctx, s.stmts.dataVersion).QueryRow().Scan(&dv); err != nil {
		tx.Rollback()
		fail(fmt.Errorf("embedded: read data version: %w", err))
		return
	}
	if !s.cache.valid || s.cache.dataVersion != dv || len(s.cache.tails) > maxCachedTails {
		// Another process has written (or this is the first transaction):
		// start from what the file says.
		s.cache = tailCache{dataVersion: dv, tails: make(map[string]streamTail)}
		var head int64
		if err := tx.StmtContext(ctx, s.stmts.head).QueryRow().Scan(&head); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("embedded: read head: %w", err))
			return
		}
		s.cache.head = eventstore.Position(head)
	}
	g := &group{ctx: ctx, hasID: tx.StmtContext(ctx, s.stmts.hasID), byPos: tx.StmtContext(ctx, s.stmts.byPos), tail: tx.StmtContext(ctx, s.stmts.tail),
		insert: tx.StmtContext(ctx, s.stmts.insert), savepoint: tx.StmtContext(ctx, s.stmts.savepoint),
		rollbackTo: tx.StmtContext(ctx, s.stmts.rollbackTo), release: tx.StmtContext(ctx, s.stmts.release), head: s.cache.head, tails: s.cache.tails,
		written: make(map[string]streamTail), now: s.opts.Now()}
	for i, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			replies[i].err = err
			continue
		}
		res, err := g.appendOne(r)
		if err != nil && res.wrote {
			// A write failed half-way (an I/O error: every check that
			// can reject a request runs before its first insert).
			// Nothing of the group is committed.
			tx.Rollback()
			fail(err)
			return
		}
		replies[i] = appendReply{res: res.AppendResult, err: err}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("embedded: commit: %w", err))
		return
	}
	s.cache.valid = true
	s.cache.head = g.head
	for stream, t := range g.written {
		s.cache.tails[stream] = t
	}
	if len(g.written) > 0 {
		s.notify.broadcast()
	}
	for i, r := range reqs {
		r.reply <- replies[i]
	}
}

type groupResult struct {
	eventstore.AppendResult
	wrote bool
}

func (g *group) appendOne(r *appendReq) (groupResult, error) {
	// Idempotency first: a retried append whose events are stored already
	// returns the original result whatever its expected revision says now.
	// The first id tells a retry from a new append; another id of the batch
	// stored already makes its insert fail on the (stream, event_id) index,
	// and the batch's savepoint undoes the inserts before it.
	stored, err := g.lookup(r.stream, r.events[0].ID)
	if err != nil {
		return groupResult{}, err
	}
	if stored != nil {
		res, err := g.original(r, stored)
		return groupResult{AppendResult: res}, err
	}

	t, err := g.streamTail(r.stream)
	if err != nil {
		return groupResult{}, err
	}
	if !r.expected.Matches(t.rev) {
		return groupResult{}, &eventstore.WrongRevisionError{Stream: r.stream, Expected: r.expected, Actual: t.rev}
	}
	multi := len(r.events) > 1
	if multi {
		if _, err := g.savepoint.Exec(); err != nil {
			return groupResult{}, fmt.Errorf("embedded: savepoint: %w", err)
		}
	}
	res := groupResult{AppendResult: eventstore.AppendResult{Stream: r.stream, FirstRevision: uint64(t.rev + 1), FirstPosition: g.head + 1}}
	prev := t.hash
	for i, e := range r.events {
		env := eventstore.Seal(prev, r.stream, uint64(t.rev+1)+uint64(i), g.head+1+eventstore.Position(i), g.now, e)
		_, err := g.insert.Exec(
			int64(env.Position), env.EventID[:], env.Stream, int64(env.Revision), env.Type, env.SchemaVersion,
			env.OccurredOn, env.RecordedAt.UnixMicro(), env.Actor, env.CommandID,
			env.CorrelationID, env.CausationID, []byte(env.Data), env.PrevHash[:], env.Hash[:])
		if err != nil {
			err = fmt.Errorf("embedded: insert into %s: %w", r.stream, err)
			if other, lerr := g.lookup(r.stream, e.ID); lerr == nil && other != nil {
				err = fmt.Errorf("append to %s: event %s stored already by another append: %w", r.stream, e.ID, eventstore.ErrEventIDConflict)
			}
			if i > 0 {
				if _, rbErr := g.rollbackTo.Exec(); rbErr != nil {
					return groupResult{wrote: true}, fmt.Errorf("embedded: rollback to savepoint: %w (after %v)", rbErr, err)
				}
				g.release.Exec()
			}
			return groupResult{}, err
		}
		prev = env.Hash
		res.LastRevision = env.Revision
		res.LastPosition = env.Position
	}
	if multi {
		if _, err := g.release.Exec(); err != nil {
			return groupResult{wrote: true}, fmt.Errorf("embedded: release savepoint: %w", err)
		}
	}
	g.head = res.LastPosition
	nt := streamTail{rev: int64(res.LastRevision), hash: prev}
	g.tails[r.stream] = nt
	g.written[r.stream] = nt
	return res, nil
}

func (g *group) streamTail(stream string) (streamTail, error) {
	if t, ok := g.tails[stream]; ok {
		return t, nil
	}
	t := streamTail{rev: eventstore.NoRevision}
	var rev int64
	var hash []byte
	err := g.tail.QueryRow(stream).Scan(&rev, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return t, fmt.Errorf("embedded: read tail of %s: %w", stream, err)
	default:
		t.rev = rev
		copy(t.hash[:], hash)
	}
	g.tails[stream] = t
	return t, nil
}

// lookup returns the event of stream with that id, or nil.
func (g *group) lookup(stream string, id uuid.UUID) (*eventstore.Envelope, error) {
	var pos int64
	switch err := g.hasID.QueryRow(stream, id[:]).Scan(&pos); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("embedded: look up event %s of %s: %w", id, stream, err)
	}
	rows, err := g.byPos.Query(pos)
	if err != nil {
		return nil, fmt.Errorf("embedded: look up event %s of %s: %w", id, stream, err)
	}
	evs, err := collect(rows, 1)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return &evs[0], nil
}

// original checks that a retried append is the one stored and returns its
// original result.
func (g *group) original(r *appendReq, first *eventstore.Envelope) (eventstore.AppendResult, error) {
	last := first
	for i := range r.events {
		stored := first
		if i > 0 {
			var err error
			if stored, err = g.lookup(r.stream, r.events[i].ID); err != nil {
				return eventstore.AppendResult{}, err
			}
			if stored == nil {
				return eventstore.AppendResult{}, fmt.Errorf("append to %s: %d of %d events stored already: %w", r.stream, i, len(r.events), eventstore.ErrEventIDConflict)
			}
			if stored.Revision != last.Revision+1 {
				return eventstore.AppendResult{}, fmt.Errorf("append to %s: events stored by several appends: %w", r.stream, eventstore.ErrEventIDConflict)
			}
		}
		if !eventstore.SameContent(stored, r.stream, &r.events[i]) {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: event %s: %w", r.stream, r.events[i].ID, eventstore.ErrEventIDConflict)
		}
		last = stored
	}
	return eventstore.AppendResult{Stream: r.stream, FirstRevision: first.Revision, LastRevision: last.Revision,
		FirstPosition: first.Position, LastPosition: last.Position, Duplicate: true}, nil
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

func collect(rows *sql.Rows, limit int) ([]eventstore.Envelope, error) {
	defer rows.Close()
	out := make([]eventstore.Envelope, 0, min(limit, 1024))
	for rows.Next() {
		out = append(out, eventstore.Envelope{})
		if err := scanEnvelope(rows, &out[len(out)-1]); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: read: %w", err)
	}
	return out, nil
}

func scanEnvelope(rows *sql.Rows, e *eventstore.Envelope) error {
	var (
		pos, rev, recorded, schemaVersion int64
		id, prev, hash                    sql.RawBytes
		data                              []byte
	)
	if err := rows.Scan(&pos, &id, &e.Stream, &rev, &e.Type, &schemaVersion, &e.OccurredOn, &recorded,
		&e.Actor, &e.CommandID, &e.CorrelationID, &e.CausationID, &data, &prev, &hash); err != nil {
		return fmt.Errorf("embedded: scan event: %w", err)
	}
	if len(id) != 16 || len(prev) != len(e.PrevHash) || len(hash) != len(e.Hash) {
		return fmt.Errorf("embedded: event at position %d has a malformed id or hash column", pos)
	}
	e.Position = eventstore.Position(pos)
	copy(e.EventID[:], id)
	e.Revision = uint64(rev)
	e.SchemaVersion = int(schemaVersion)
	e.RecordedAt = time.UnixMicro(recorded).UTC()
	e.Data = data
	copy(e.PrevHash[:], prev)
	copy(e.Hash[:], hash)
	return nil
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
