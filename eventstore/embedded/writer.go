package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/sqlitec"
	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"
)

// writeConn is the store's one writing connection and its statements. The
// writer goroutine owns it; Open uses it before that goroutine starts and
// Close after it ends.
type writeConn struct {
	*conn
	begin, commit, rollback, dataVersion, head, hasID, byPos, tail, insert, savepoint, rollbackTo, release uintptr
	claimOwner, claimInsert, unclaimed, unclaimedAdd                                                       uintptr
}

func openWriter(path string, log *slog.Logger) (*writeConn, error) {
	// synchronous=FULL: a commit returns once the WAL is fsynced, so an
	// acknowledged append survives a power cut.
	c, err := openConn(path, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE,
		fmt.Sprintf(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=%d;`, writerCheckpointPages))
	if err != nil {
		return nil, err
	}
	if err := migrate(c, log); err != nil {
		c.Close()
		return nil, err
	}
	w := &writeConn{conn: c}
	// BEGIN IMMEDIATE takes the write lock at once, so that two processes
	// never deadlock upgrading a read lock.
	err = c.PrepareAll(map[*uintptr]string{
		&w.begin:       `BEGIN IMMEDIATE`,
		&w.commit:      `COMMIT`,
		&w.rollback:    `ROLLBACK`,
		&w.dataVersion: `PRAGMA data_version`,
		&w.head:        headSQL,
		// The (stream, event_id) index answers hasID alone; the event is
		// read only when it is there (a retry), which is rare.
		&w.hasID:        `SELECT position FROM events WHERE stream = ?1 AND event_id = ?2`,
		&w.byPos:        `SELECT ` + selectCols + ` FROM events WHERE position = ?1`,
		&w.tail:         `SELECT revision, hash FROM events WHERE stream = ?1 ORDER BY revision DESC LIMIT 1`,
		&w.insert:       `INSERT INTO events (` + selectCols + `) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)`,
		&w.savepoint:    `SAVEPOINT batch`,
		&w.rollbackTo:   `ROLLBACK TO batch`,
		&w.release:      `RELEASE batch`,
		&w.claimOwner:   `SELECT stream FROM claims WHERE key = ?1`,
		&w.claimInsert:  `INSERT INTO claims (key, stream) VALUES (?1, ?2)`,
		&w.unclaimed:    `SELECT value FROM counts WHERE name = '` + unclaimedStreams + `'`,
		&w.unclaimedAdd: `UPDATE counts SET value = value + 1 WHERE name = '` + unclaimedStreams + `'`,
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return w, nil
}

// abort rolls back the transaction, if SQLite has not already.
func (w *writeConn) abort() {
	if sqlite3.Xsqlite3_get_autocommit(w.TLS, w.DB) == 0 {
		_ = w.Run(w.rollback, "rollback")
	}
}

// insertEvent inserts one sealed event.
// bindDigest binds a command digest, or NULL for none.
func (w *writeConn) bindDigest(st uintptr, i int32, d []byte) int32 {
	if len(d) == 0 {
		return sqlite3.Xsqlite3_bind_null(w.TLS, st, i)
	}
	return w.BindBlob(st, i, d)
}

func (w *writeConn) insertEvent(env *eventstore.Envelope) error {
	n := len(env.EventID) + len(env.Stream) + len(env.Type) + len(env.OccurredOn) + len(env.Actor) + len(env.CommandID) +
		len(env.CorrelationID) + len(env.CausationID) + len(env.Data) + len(env.PrevHash) + len(env.Hash) + len(env.CommandDigest)
	if err := w.StartBind(n); err != nil {
		return err
	}
	tls, st := w.TLS, w.insert
	for _, rc := range [...]int32{
		sqlite3.Xsqlite3_bind_int64(tls, st, 1, int64(env.Position)),
		w.BindBlob(st, 2, env.EventID[:]),
		w.BindText(st, 3, env.Stream),
		sqlite3.Xsqlite3_bind_int64(tls, st, 4, int64(env.Revision)),
		w.BindText(st, 5, env.Type),
		sqlite3.Xsqlite3_bind_int64(tls, st, 6, int64(env.SchemaVersion)),
		w.BindText(st, 7, env.OccurredOn),
		sqlite3.Xsqlite3_bind_int64(tls, st, 8, env.RecordedAt.UnixMicro()),
		w.BindText(st, 9, env.Actor),
		w.BindText(st, 10, env.CommandID),
		w.BindText(st, 11, env.CorrelationID),
		w.BindText(st, 12, env.CausationID),
		w.BindBlob(st, 13, env.Data),
		w.BindBlob(st, 14, env.PrevHash[:]),
		w.BindBlob(st, 15, env.Hash[:]),
		w.bindDigest(st, 16, env.CommandDigest),
	} {
		if rc != sqlite3.SQLITE_OK {
			return w.Errorf(rc, "bind event")
		}
	}
	return w.Run(st, "insert event")
}

// readTail returns the last revision and hash of stream (rev NoRevision
// when it has no event).
func (w *writeConn) readTail(stream string) (streamTail, error) {
	t := streamTail{rev: eventstore.NoRevision}
	if err := w.StartBind(len(stream)); err != nil {
		return t, err
	}
	if rc := w.BindText(w.tail, 1, stream); rc != sqlite3.SQLITE_OK {
		return t, w.Errorf(rc, "bind stream")
	}
	defer sqlite3.Xsqlite3_reset(w.TLS, w.tail)
	switch rc := sqlite3.Xsqlite3_step(w.TLS, w.tail); rc {
	case sqlite3.SQLITE_DONE:
		return t, nil
	case sqlite3.SQLITE_ROW:
		p := sqlite3.Xsqlite3_column_blob(w.TLS, w.tail, 1)
		if n := int(sqlite3.Xsqlite3_column_bytes(w.TLS, w.tail, 1)); n != len(t.hash) {
			return t, fmt.Errorf("embedded: the last event of %s has a malformed hash column", stream)
		}
		t.rev = sqlite3.Xsqlite3_column_int64(w.TLS, w.tail, 0)
		copy(t.hash[:], sqlitec.Mem(p, len(t.hash)))
		return t, nil
	default:
		return t, w.Errorf(rc, "read tail of %s", stream)
	}
}

// lookup returns the event of stream with that id, or nil.
func (w *writeConn) lookup(stream string, id uuid.UUID) (*eventstore.Envelope, error) {
	if err := w.StartBind(len(stream) + len(id)); err != nil {
		return nil, err
	}
	if rc := w.BindText(w.hasID, 1, stream); rc != sqlite3.SQLITE_OK {
		return nil, w.Errorf(rc, "bind stream")
	}
	if rc := w.BindBlob(w.hasID, 2, id[:]); rc != sqlite3.SQLITE_OK {
		return nil, w.Errorf(rc, "bind event id")
	}
	pos, ok, err := w.ReadInt(w.hasID, "look up event "+id.String()+" of "+stream)
	if err != nil || !ok {
		return nil, err
	}
	evs, err := w.readEvents(w.byPos, pos, 1)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return &evs[0], nil
}

// writer is the one goroutine that writes: it takes the requests waiting at
// that moment (up to MaxGroup) and commits them in one transaction.
func (s *Store) writer() {
	defer s.wg.Done()
	defer close(s.exited)
	group := make([]*appendReq, 0, s.opts.MaxGroup)
	prev, lastCommit := 0, time.Duration(0) // the last group's size, and how long its commit took
	for {
		select {
		case <-s.done:
			// Requests that made it into the queue before Close are
			// still committed: their callers are waiting. The group
			// still holds the last group committed, answered already:
			// start afresh.
			group = group[:0]
			for {
				select {
				case r := <-s.reqs:
					group = append(group, r)
					if len(group) == cap(group) {
						s.commit(group)
						group = group[:0]
					}
				default:
					if len(group) > 0 {
						s.commit(group)
					}
					return
				}
			}
		case r := <-s.reqs:
			group = append(group[:0], r)
			if prev > 1 {
				// Others appended with the last group: let the goroutines
				// runnable now run first, so that those about to append
				// join this group instead of waiting a whole commit for
				// the next one. (Alone, an appender has nothing to wait
				// for.)
				runtime.Gosched()
			}
			s.drain(&group)
			if len(group) < prev/2 {
				// Fewer are waiting than were served last time: the others
				// are on their way back (a client over HTTP takes longer
				// to send its next command than the commit took). Wait for
				// them a moment, at most as long as the last commit took,
				// rather than commit a half group and make them wait a
				// whole commit more.
				s.linger(&group, prev, lastCommit)
			}
			prev, lastCommit = len(group), s.commit(group)
			if prev > 1 {
				// Let the callers just answered run before the next
				// group. Woken by their answers, they wait in this
				// goroutine's run queue, and would wait there while it
				// commits the next group: 0.66 ms a command on average in
				// a scheduler trace of 32 clients over HTTP on two cores,
				// where sending the answer takes the handler tens of µs.
				// The two yields doubled the groups of that load (4–6
				// appends to 10–13) and raised its rate by 12–17 %
				// (docs/benchmarks.md).
				runtime.Gosched()
			}
		}
	}
}

// commit commits a group, counts it (WriterStats), and returns how long it
// took.
func (s *Store) commit(group []*appendReq) time.Duration {
	// Counted before its callers are answered, so that a caller sees its
	// own group counted; its time is added after.
	s.stats.groups.Add(1)
	s.stats.appends.Add(int64(len(group)))
	start := time.Now()
	s.commitGroup(group)
	took := time.Since(start)
	s.stats.busy.Add(int64(took))
	return took
}

// drain adds the requests waiting now to the group, up to MaxGroup.
func (s *Store) drain(group *[]*appendReq) {
	for len(*group) < s.opts.MaxGroup {
		select {
		case r := <-s.reqs:
			*group = append(*group, r)
		default:
			return
		}
	}
}

// linger adds requests to the group as they come, until it holds half of
// prev or wait (capped at 1 ms) has passed.
func (s *Store) linger(group *[]*appendReq, prev int, wait time.Duration) {
	timer := time.NewTimer(min(wait, time.Millisecond))
	defer timer.Stop()
	for len(*group) < prev/2 && len(*group) < s.opts.MaxGroup {
		select {
		case r := <-s.reqs:
			*group = append(*group, r)
			s.drain(group)
		case <-timer.C:
			return
		case <-s.done:
			return
		}
	}
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
	// unclaimed is how many streams were created without a claim.
	unclaimed int64
}

type streamTail struct {
	rev  int64
	hash eventstore.Hash
}

// maxCachedTails bounds the cache; past it the cache starts afresh.
const maxCachedTails = 65536

// group is one write transaction of the writer.
type group struct {
	w         *writeConn
	head      eventstore.Position
	tails     map[string]streamTail // this transaction's view, cache included
	written   map[string]streamTail // what this transaction wrote
	unclaimed int64                 // streams created without a claim, this transaction's included
	now       time.Time
}

func (s *Store) commitGroup(reqs []*appendReq) {
	w := s.w
	replies := make([]appendReply, len(reqs))
	fail := func(err error) {
		w.abort()
		s.cache.valid = false
		for _, r := range reqs {
			r.reply <- appendReply{err: err}
		}
	}
	if err := w.Run(w.begin, "begin"); err != nil {
		fail(err)
		return
	}
	dv, _, err := w.ReadInt(w.dataVersion, "read data version")
	if err != nil {
		fail(err)
		return
	}
	if !s.cache.valid || s.cache.dataVersion != dv || len(s.cache.tails) > maxCachedTails {
		// Another process has written (or this is the first transaction):
		// start from what the file says.
		s.cache = tailCache{dataVersion: dv, tails: make(map[string]streamTail)}
		head, _, err := w.ReadInt(w.head, "read head")
		if err != nil {
			fail(err)
			return
		}
		s.cache.head = eventstore.Position(head)
		if s.cache.unclaimed, _, err = w.ReadInt(w.unclaimed, "read the count of unclaimed streams"); err != nil {
			fail(err)
			return
		}
	}
	g := &group{w: w, head: s.cache.head, tails: s.cache.tails, written: make(map[string]streamTail), unclaimed: s.cache.unclaimed, now: s.opts.Now()}
	for i, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			replies[i].err = err
			continue
		}
		res, err := g.appendOne(r)
		if err != nil && res.wrote {
			// A write failed for another reason than a refused row (an
			// I/O error, a full disk): SQLite may have undone the whole
			// transaction, so nothing of the group is committed.
			fail(err)
			return
		}
		replies[i] = appendReply{res: res.AppendResult, err: err}
	}
	if err := w.Run(w.commit, "commit"); err != nil {
		fail(err)
		return
	}
	s.cache.valid = true
	s.cache.head = g.head
	s.cache.unclaimed = g.unclaimed
	for stream, t := range g.written {
		s.cache.tails[stream] = t
	}
	if len(g.written) > 0 {
		s.notify.broadcast()
		s.committed()
	}
	for i, r := range reqs {
		r.reply <- replies[i]
	}
}

type groupResult struct {
	eventstore.AppendResult
	wrote bool // the transaction may hold part of this request: fail the group
}

func (g *group) appendOne(r *appendReq) (groupResult, error) {
	t, err := g.streamTail(r.stream)
	if err != nil {
		return groupResult{}, err
	}
	if !r.expected.Matches(t.rev) {
		// A retried append whose events are stored already returns the
		// original result whatever its expected revision says now.
		stored, err := g.w.lookup(r.stream, r.events[0].ID)
		if err != nil {
			return groupResult{}, err
		}
		if stored != nil {
			res, err := g.original(r, stored)
			return groupResult{AppendResult: res}, err
		}
		return groupResult{}, &eventstore.WrongRevisionError{Stream: r.stream, Expected: r.expected, Actual: t.rev}
	}
	if r.everyStreamClaimed && g.unclaimed > 0 {
		return groupResult{}, eventstore.ErrUnclaimedStreams
	}
	// Inserting tells a new append from a retry: an id stored already makes
	// the (stream, event_id) index refuse its row, and the batch's
	// savepoint (or, for one event without a claim, the statement) undoes
	// what it wrote.
	multi := len(r.events) > 1 || len(r.claims) > 0
	if multi {
		if err := g.w.Run(g.w.savepoint, "savepoint"); err != nil {
			return groupResult{wrote: true}, err
		}
	}
	for _, key := range r.claims {
		if err := g.claim(r.stream, key); err != nil {
			return g.undo(r, err)
		}
	}
	res := groupResult{AppendResult: eventstore.AppendResult{Stream: r.stream, FirstRevision: uint64(t.rev + 1), FirstPosition: g.head + 1}}
	prev := t.hash
	for i, e := range r.events {
		env := eventstore.Seal(prev, r.stream, uint64(t.rev+1)+uint64(i), g.head+1+eventstore.Position(i), g.now, e)
		if err := g.w.insertEvent(&env); err != nil {
			return g.refused(r, i, err)
		}
		prev = env.Hash
		res.LastRevision = env.Revision
		res.LastPosition = env.Position
	}
	if t.rev == eventstore.NoRevision && len(r.claims) == 0 {
		if err := g.w.Run(g.w.unclaimedAdd, "count a stream created without a claim"); err != nil {
			return groupResult{wrote: true}, err
		}
		g.unclaimed++
	}
	if multi {
		if err := g.w.Run(g.w.release, "release savepoint"); err != nil {
			return groupResult{wrote: true}, err
		}
	}
	g.head = res.LastPosition
	nt := streamTail{rev: int64(res.LastRevision), hash: prev}
	g.tails[r.stream] = nt
	g.written[r.stream] = nt
	return res, nil
}

// claim records that stream owns key, or returns a *ClaimedError when
// another stream does. It runs inside the append's savepoint.
func (g *group) claim(stream, key string) error {
	w := g.w
	if err := w.StartBind(len(key)); err != nil {
		return err
	}
	if rc := w.BindText(w.claimOwner, 1, key); rc != sqlite3.SQLITE_OK {
		return w.Errorf(rc, "bind claim")
	}
	owner, found, err := w.ReadText(w.claimOwner, "read the owner of claim "+key)
	switch {
	case err != nil:
		return err
	case found && owner != stream:
		return &eventstore.ClaimedError{Key: key, Stream: stream, Owner: owner}
	case found:
		return nil
	}
	if err := w.StartBind(len(key) + len(stream)); err != nil {
		return err
	}
	if rc := w.BindText(w.claimInsert, 1, key); rc != sqlite3.SQLITE_OK {
		return w.Errorf(rc, "bind claim")
	}
	if rc := w.BindText(w.claimInsert, 2, stream); rc != sqlite3.SQLITE_OK {
		return w.Errorf(rc, "bind claim")
	}
	return w.Run(w.claimInsert, "insert claim")
}

// undo rolls back r's savepoint after err, which concerns r alone (a claim
// refused): the other requests of the group go on.
func (g *group) undo(r *appendReq, err error) (groupResult, error) {
	if rbErr := g.w.Run(g.w.rollbackTo, "rollback to savepoint"); rbErr != nil {
		return groupResult{wrote: true}, fmt.Errorf("%w (after %v)", rbErr, err)
	}
	if relErr := g.w.Run(g.w.release, "release savepoint"); relErr != nil {
		return groupResult{wrote: true}, relErr
	}
	var ce *eventstore.ClaimedError
	if errors.As(err, &ce) {
		return groupResult{}, err
	}
	return groupResult{wrote: true}, err
}

// refused undoes a request whose i-th insert failed with err and tells why:
// a retry of an append stored already (its original result), an id stored
// by another append (ErrEventIDConflict), or the error itself.
func (g *group) refused(r *appendReq, i int, err error) (groupResult, error) {
	if !sqlitec.IsConstraint(err) {
		return groupResult{wrote: true}, fmt.Errorf("embedded: insert into %s: %w", r.stream, err)
	}
	if len(r.events) > 1 || len(r.claims) > 0 {
		if rbErr := g.w.Run(g.w.rollbackTo, "rollback to savepoint"); rbErr != nil {
			return groupResult{wrote: true}, fmt.Errorf("%w (after %v)", rbErr, err)
		}
		if relErr := g.w.Run(g.w.release, "release savepoint"); relErr != nil {
			return groupResult{wrote: true}, relErr
		}
	}
	stored, lerr := g.w.lookup(r.stream, r.events[i].ID)
	switch {
	case lerr != nil:
		return groupResult{}, lerr
	case stored == nil:
		return groupResult{}, fmt.Errorf("embedded: insert into %s: %w", r.stream, err)
	case i == 0:
		res, err := g.original(r, stored)
		return groupResult{AppendResult: res}, err
	default:
		return groupResult{}, fmt.Errorf("append to %s: event %s stored already by another append: %w", r.stream, r.events[i].ID, eventstore.ErrEventIDConflict)
	}
}

func (g *group) streamTail(stream string) (streamTail, error) {
	if t, ok := g.tails[stream]; ok {
		return t, nil
	}
	t, err := g.w.readTail(stream)
	if err != nil {
		return t, err
	}
	g.tails[stream] = t
	return t, nil
}

// original checks that a retried append is the one stored and returns its
// original result.
func (g *group) original(r *appendReq, first *eventstore.Envelope) (eventstore.AppendResult, error) {
	last := first
	for i := range r.events {
		stored := first
		if i > 0 {
			var err error
			if stored, err = g.w.lookup(r.stream, r.events[i].ID); err != nil {
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
