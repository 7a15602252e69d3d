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
	path   string
	log    *slog.Logger
	opts   Options
	wconn  *sql.Conn
	wdb    *sql.DB
	rdb    *sql.DB
	reqs   chan *appendReq
	done   chan struct{}
	wg     sync.WaitGroup
	notify notifier

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
	event_id       BLOB    NOT NULL UNIQUE,
	stream         TEXT    NOT NULL,
	revision       INTEGER NOT NULL,
	type           TEXT    NOT NULL,
	schema_version INTEGER NOT NULL,
	occurred_on    TEXT    NOT NULL,
	recorded_at    TEXT    NOT NULL,
	actor          TEXT    NOT NULL,
	command_id     TEXT    NOT NULL,
	correlation_id TEXT    NOT NULL,
	causation_id   TEXT    NOT NULL,
	data           BLOB    NOT NULL,
	prev_hash      BLOB    NOT NULL,
	hash           BLOB    NOT NULL,
	UNIQUE (stream, revision)
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
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if _, err := wconn.ExecContext(ctx, schema); err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("embedded: create schema in %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("embedded: open %s for reading: %w", path, err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	s := &Store{
		path:  path,
		log:   opts.Logger,
		opts:  opts,
		wconn: wconn,
		wdb:   wdb,
		rdb:   rdb,
		reqs:  make(chan *appendReq, opts.MaxGroup),
		done:  make(chan struct{}),
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
		s.closeErr = errors.Join(s.wconn.Close(), s.wdb.Close(), s.rdb.Close())
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

func (s *Store) commitGroup(group []*appendReq) {
	replies := make([]appendReply, len(group))
	ctx := context.Background()
	fail := func(err error) {
		for _, r := range group {
			r.reply <- appendReply{err: err}
		}
	}
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("embedded: begin: %w", err))
		return
	}
	var head int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&head); err != nil {
		tx.Rollback()
		fail(fmt.Errorf("embedded: read head: %w", err))
		return
	}
	now := s.opts.Now()
	wrote := false
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			replies[i].err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT append`); err != nil {
			replies[i].err = fmt.Errorf("embedded: savepoint: %w", err)
			continue
		}
		res, err := appendOne(ctx, tx, r, eventstore.Position(head), now)
		if err != nil {
			if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO append`); rbErr != nil {
				// The transaction is in an unknown state: give up on
				// the whole group rather than commit half a request.
				tx.Rollback()
				fail(fmt.Errorf("embedded: rollback to savepoint: %w (after %v)", rbErr, err))
				return
			}
		}
		if _, relErr := tx.ExecContext(ctx, `RELEASE append`); relErr != nil {
			tx.Rollback()
			fail(fmt.Errorf("embedded: release savepoint: %w", relErr))
			return
		}
		replies[i] = appendReply{res: res, err: err}
		if err == nil && !res.Duplicate {
			head = int64(res.LastPosition)
			wrote = true
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("embedded: commit: %w", err))
		return
	}
	if wrote {
		s.notify.broadcast()
	}
	for i, r := range group {
		r.reply <- replies[i]
	}
}

func appendOne(ctx context.Context, tx *sql.Tx, r *appendReq, head eventstore.Position, now time.Time) (eventstore.AppendResult, error) {
	// Idempotency first: a retried append whose events are stored already
	// returns the original result whatever its expected revision says now.
	found := 0
	var first, last eventstore.Envelope
	for i := range r.events {
		e := &r.events[i]
		stored, ok, err := lookupByID(ctx, tx, e.ID)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if !ok {
			continue
		}
		if !eventstore.SameContent(&stored, r.stream, e) {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: event %s: %w", r.stream, e.ID, eventstore.ErrEventIDConflict)
		}
		if found > 0 && stored.Revision != last.Revision+1 {
			return eventstore.AppendResult{}, fmt.Errorf("append to %s: event %s stored by another append: %w", r.stream, e.ID, eventstore.ErrEventIDConflict)
		}
		if found == 0 {
			first = stored
		}
		last = stored
		found++
	}
	if found == len(r.events) {
		return eventstore.AppendResult{Stream: r.stream, FirstRevision: first.Revision, LastRevision: last.Revision,
			FirstPosition: first.Position, LastPosition: last.Position, Duplicate: true}, nil
	}
	if found > 0 {
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %d of %d events stored already: %w", r.stream, found, len(r.events), eventstore.ErrEventIDConflict)
	}

	actual := eventstore.NoRevision
	var prev eventstore.Hash
	var rev int64
	var hash []byte
	err := tx.QueryRowContext(ctx, `SELECT revision, hash FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1`, r.stream).Scan(&rev, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return eventstore.AppendResult{}, fmt.Errorf("embedded: read tail of %s: %w", r.stream, err)
	default:
		actual = rev
		copy(prev[:], hash)
	}
	if !r.expected.Matches(actual) {
		return eventstore.AppendResult{}, &eventstore.WrongRevisionError{Stream: r.stream, Expected: r.expected, Actual: actual}
	}
	res := eventstore.AppendResult{Stream: r.stream, FirstRevision: uint64(actual + 1), FirstPosition: head + 1}
	for i, e := range r.events {
		env := eventstore.Seal(prev, r.stream, uint64(actual+1)+uint64(i), head+1+eventstore.Position(i), now, e)
		_, err := tx.ExecContext(ctx, `INSERT INTO events (`+selectCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			int64(env.Position), env.EventID[:], env.Stream, int64(env.Revision), env.Type, env.SchemaVersion,
			env.OccurredOn, env.RecordedAt.Format(eventstore.RecordedAtFormat), env.Actor, env.CommandID,
			env.CorrelationID, env.CausationID, []byte(env.Data), env.PrevHash[:], env.Hash[:])
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("embedded: insert into %s: %w", r.stream, err)
		}
		prev = env.Hash
		res.LastRevision = env.Revision
		res.LastPosition = env.Position
	}
	return res, nil
}

func lookupByID(ctx context.Context, tx *sql.Tx, id uuid.UUID) (eventstore.Envelope, bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+selectCols+` FROM events WHERE event_id = ?`, id[:])
	if err != nil {
		return eventstore.Envelope{}, false, fmt.Errorf("embedded: look up event %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return eventstore.Envelope{}, false, rows.Err()
	}
	var env eventstore.Envelope
	if err := scanEnvelope(rows, &env); err != nil {
		return eventstore.Envelope{}, false, err
	}
	return env, true, rows.Err()
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.Envelope, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+selectCols+` FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?`,
		stream, int64(from), limit)
	if err != nil {
		return nil, fmt.Errorf("embedded: read stream %s: %w", stream, err)
	}
	return collect(rows, limit)
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Envelope, error) {
	if s.isClosed() {
		return nil, eventstore.ErrClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+selectCols+` FROM events WHERE position > ? ORDER BY position LIMIT ?`,
		int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("embedded: read all after %d: %w", after, err)
	}
	return collect(rows, limit)
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.isClosed() {
		return 0, eventstore.ErrClosed
	}
	var head int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(position), 0) FROM events`).Scan(&head); err != nil {
		return 0, fmt.Errorf("embedded: read head: %w", err)
	}
	return eventstore.Position(head), nil
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
		pos, rev         int64
		id, prev, hash   []byte
		recorded         string
		data             []byte
		schemaVersion    int64
		occurred, actor  string
		cmd, corr, cause string
	)
	if err := rows.Scan(&pos, &id, &e.Stream, &rev, &e.Type, &schemaVersion, &occurred, &recorded,
		&actor, &cmd, &corr, &cause, &data, &prev, &hash); err != nil {
		return fmt.Errorf("embedded: scan event: %w", err)
	}
	if len(id) != 16 || len(prev) != len(e.PrevHash) || len(hash) != len(e.Hash) {
		return fmt.Errorf("embedded: event at position %d has a malformed id or hash column", pos)
	}
	t, err := time.Parse(eventstore.RecordedAtFormat, recorded)
	if err != nil {
		return fmt.Errorf("embedded: event at position %d: recorded_at %q: %w", pos, recorded, err)
	}
	e.Position = eventstore.Position(pos)
	copy(e.EventID[:], id)
	e.Revision = uint64(rev)
	e.SchemaVersion = int(schemaVersion)
	e.OccurredOn = occurred
	e.RecordedAt = t
	e.Actor, e.CommandID, e.CorrelationID, e.CausationID = actor, cmd, corr, cause
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
