package projections

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/dirlock"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/internal/sqlitec"
)

// LinkName is the read models' stable name in the data directory: a
// symbolic link to the current generation's file.
const LinkName = "projections.db"

// rebuildLock keeps rebuilds of one data directory one at a time.
const rebuildLock = "projections.rebuild.lock"

// Set is the read models of a data directory: the current generation and
// the rebuilds that replace it. A long-running process (serve) keeps one
// Set: every Acquire finds the file the link points to now, so it moves to
// a new generation without a restart, while what holds the old one
// finishes on it.
type Set struct {
	dir    string
	notify func(string)
	// keys open the doctors' personal data the log seals (the data
	// directory's key store): the read models hold them in clear, or
	// domain.ErasedText once erased.
	keys *personal.Store

	mu     sync.Mutex
	cur    *DB
	target string // the link's target cur was opened from
}

// NewSet returns the read models of the data directory dir. notify, if
// set, is told once of what a user should know (a file rebuilt, one moved
// aside).
func NewSet(dir string, notify func(string)) *Set {
	if notify == nil {
		notify = func(string) {}
	}
	return &Set{dir: dir, notify: notify, keys: personal.At(dir)}
}

// Link returns the path of the link to the current file.
func (s *Set) Link() string { return filepath.Join(s.dir, LinkName) }

// BuildOptions tune a rebuild.
type BuildOptions struct {
	// OnProgress, if set, is called as the new file fills.
	OnProgress func(Progress)
	// FlushEvery is how many events the folds take in before they are
	// written (default 65 536): what bounds a rebuild's memory.
	FlushEvery int
	// UpTo, if set, stops the fold at that position instead of the
	// store's head (Check compares a file that is there).
	UpTo *eventstore.Position
	// AfterBuild, if set, runs once the new file is complete and synced,
	// before the switch; an error abandons the rebuild (tests crash there).
	AfterBuild func(path string) error
	// keys open the personal data (the Set's key store).
	keys domain.Keyring
	// onEvents, if set, sees every page of events folded, in order.
	onEvents func([]Event)
}

// Acquire returns the current read models, to use until release is
// called. When the data directory has none, or their file is of another
// format or damaged, a new one is built from the log first (blue/green:
// other processes keep using the old one meanwhile).
func (s *Set) Acquire(ctx context.Context, store eventstore.Store, opts BuildOptions) (*DB, func(), error) {
	for attempt := 0; ; attempt++ {
		db, err := s.current(ctx)
		var stale *StaleError
		var damaged *DamagedError
		switch {
		case err == nil:
			return db, func() { s.release(db) }, nil
		case attempt > 0:
			return nil, nil, err
		case errors.As(err, &damaged):
			aside := fmt.Sprintf("%s.corrupt-%s", damaged.Path, time.Now().UTC().Format("20060102T150405.000000000Z"))
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Rename(damaged.Path+suffix, aside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, nil, fmt.Errorf("%w; moving it aside failed: %v", damaged, err)
				}
			}
			s.notify(fmt.Sprintf("%s could not be read (%s): moved to %s; the read models are rebuilt from the log", damaged.Path, damaged.Reason, aside))
		case errors.As(err, &stale):
			s.notify(fmt.Sprintf("%s: %s; building the read models again from the log", stale.Path, stale.Reason))
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, nil, err
		}
		if _, err := s.rebuild(ctx, store, opts, true); err != nil {
			return nil, nil, err
		}
	}
}

// current opens (or reuses) the file the link points to now. It returns
// os.ErrNotExist when there is none.
func (s *Set) current(ctx context.Context) (*DB, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	target, err := s.resolve()
	if err != nil {
		return nil, err
	}
	if s.cur != nil && target == s.target {
		s.cur.refs.Add(1)
		return s.cur, nil
	}
	db, err := open(ctx, target, false)
	if err != nil {
		return nil, err
	}
	db.keys = s.keys
	db.refs.Add(2) // the Set's, and the caller's
	if s.cur != nil {
		s.releaseLocked(s.cur)
	}
	s.cur, s.target = db, target
	return db, nil
}

// resolve returns the path of the current file: the link's target, or the
// first release's regular file (stale).
// CurrentFile is the name, in the data directory, of the read-model file
// the link points to now: what a verdict on the read models concerns.
func (s *Set) CurrentFile() (string, error) {
	target, err := s.resolve()
	if err != nil {
		return "", err
	}
	return filepath.Base(target), nil
}

func (s *Set) resolve() (string, error) {
	link := s.Link()
	target, err := os.Readlink(link)
	if err == nil {
		if !filepath.IsAbs(target) {
			target = filepath.Join(s.dir, target)
		}
		if _, err := os.Stat(target); err != nil {
			return "", err
		}
		return target, nil
	}
	if st, serr := os.Lstat(link); serr == nil && st.Mode().IsRegular() {
		return link, nil // a file of an older release: Open calls it stale
	}
	return "", os.ErrNotExist
}

func (s *Set) release(db *DB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(db)
}

func (s *Set) releaseLocked(db *DB) {
	if db.refs.Add(-1) == 0 {
		db.Close()
	}
}

// Close gives up the Set's file; files still acquired close on release.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.releaseLocked(s.cur)
		s.cur, s.target = nil, ""
	}
	// The key store is closed too; a Set used again opens it again.
	err := s.keys.Close()
	s.keys = personal.At(s.dir)
	return err
}

// Changed tells whether the link now points elsewhere than the file db was
// opened from: a process following the log moves to the new file.
func (s *Set) Changed(db *DB) bool {
	target, err := s.resolve()
	return err != nil || target != db.path
}

// Rebuild builds a new generation from the whole log and switches the link
// to it; the current file serves meanwhile.
func (s *Set) Rebuild(ctx context.Context, store eventstore.Store, opts BuildOptions) (Progress, error) {
	return s.rebuild(ctx, store, opts, false)
}

// rebuild builds under the rebuild lock. When onlyIfNeeded, a current file
// another process built meanwhile is kept.
func (s *Set) rebuild(ctx context.Context, store eventstore.Store, opts BuildOptions, onlyIfNeeded bool) (Progress, error) {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return Progress{}, err
	}
	lock, err := dirlock.Wait(filepath.Join(s.dir, rebuildLock))
	if err != nil {
		return Progress{}, err
	}
	defer lock.Release()
	if onlyIfNeeded {
		if db, err := s.current(ctx); err == nil {
			s.release(db)
			return Progress{}, nil
		}
	}
	s.removeDebris()
	name := fmt.Sprintf("projections-%s.db", time.Now().UTC().Format("20060102T150405.000000000Z"))
	path := filepath.Join(s.dir, name)
	opts.keys = s.keys
	prog, err := build(ctx, store, path, opts)
	if err == nil && opts.AfterBuild != nil {
		err = opts.AfterBuild(path)
	}
	if err != nil {
		os.Remove(path)
		return prog, err
	}
	if err := s.point(name); err != nil {
		return prog, err
	}
	s.removeOld(name)
	return prog, nil
}

// point moves the link to name in one rename (a new link beside it first),
// then syncs the directory so that the switch survives a power cut.
func (s *Set) point(name string) error {
	tmp := s.Link() + ".new"
	os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return fmt.Errorf("projections: %w", err)
	}
	if err := os.Rename(tmp, s.Link()); err != nil {
		return fmt.Errorf("projections: switch to %s: %w", name, err)
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// generations lists the generation files of the directory, oldest first.
func (s *Set) generations() []string {
	names, _ := filepath.Glob(filepath.Join(s.dir, "projections-*.db"))
	sort.Strings(names)
	return names
}

// removeOld removes the generations older than the one before current, and
// what the first release's regular file left: the previous generation is
// kept, since processes may still be reading it.
func (s *Set) removeOld(current string) {
	gens := s.generations()
	for i, g := range gens {
		if filepath.Base(g) == current || i >= len(gens)-2 {
			continue
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(g + suffix)
		}
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(s.Link() + suffix)
	}
}

// removeDebris removes the files of a rebuild that a crash interrupted:
// generations newer than the link's target (all of them when the link
// points to none), never pointed to. It runs under the rebuild lock, so no
// rebuild is writing them.
func (s *Set) removeDebris() {
	target, err := s.resolve()
	current := filepath.Base(target)
	if err != nil || !strings.HasPrefix(current, "projections-") {
		current = ""
	}
	for _, g := range s.generations() {
		if filepath.Base(g) > current {
			for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
				os.Remove(g + suffix)
			}
		}
	}
}

// build fills a new file at path from the whole log. The file has neither
// journal nor sync while it fills (it is disposable until it is pointed
// to); its indexes are created at the end, then it is synced once. The log
// is read and decoded on one goroutine, folded on another, and the folds
// are written on a third, through SQLite's C API: a contract's rows are
// written once, when its fold is flushed, which happens every FlushEvery
// events, so memory stays bounded.
func build(ctx context.Context, store eventstore.Store, path string, opts BuildOptions) (Progress, error) {
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 1 << 11
	}
	c, err := createBuildFile(path)
	if err != nil {
		return Progress{}, err
	}
	defer c.Close()
	head, err := buildHead(ctx, store, opts)
	if err != nil {
		return Progress{}, err
	}
	start := time.Now()
	prog := Progress{Head: head}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	flushes := make(chan []Fold, 1)
	written := make(chan error, 1)
	go func() { written <- writeFolds(ctx, c, flushes) }()
	fail := func(err error) (Progress, error) {
		close(flushes)
		<-written // the writer is done with the connection before it closes
		return prog, err
	}
	folds := newFolds()
	held := 0
	send := func() error {
		select {
		case flushes <- folds:
		case err := <-written:
			written <- err
			return fmt.Errorf("projections: write %s: %w", path, err)
		}
		folds, held = newFolds(), 0
		return nil
	}
	for p := range pages(ctx, store, eventstore.NewChains(), opts.keys, 0, head, 4096) {
		if p.err != nil {
			return fail(p.err)
		}
		if err := addAll(folds, p.events, opts.onEvents); err != nil {
			return fail(err)
		}
		held += len(p.events)
		if held >= opts.FlushEvery {
			if err := send(); err != nil {
				return fail(err)
			}
		}
		prog.advance(p.events, start, opts.OnProgress)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := send(); err != nil {
		return fail(err)
	}
	close(flushes)
	if err := <-written; err != nil {
		return prog, fmt.Errorf("projections: write %s: %w", path, err)
	}
	if err := finish(c, path, prog.Position); err != nil {
		return prog, err
	}
	prog.Elapsed = time.Since(start)
	return prog, nil
}

// advance counts a page of events folded, and reports it.
func (p *Progress) advance(events []Event, start time.Time, report func(Progress)) {
	p.Applied += uint64(len(events))
	p.Position = events[len(events)-1].Position
	p.Elapsed = time.Since(start)
	if report != nil {
		report(*p)
	}
}

// buildHead is the position a build folds the log up to: the store's
// head, or opts.UpTo before it.
func buildHead(ctx context.Context, store eventstore.Store, opts BuildOptions) (eventstore.Position, error) {
	head, err := store.Head(ctx)
	if err == nil && opts.UpTo != nil && *opts.UpTo < head {
		head = *opts.UpTo
	}
	return head, err
}

// createBuildFile creates the file of a build, with every projection's
// tables and its early indexes: no journal, no sync (the file is
// disposable until it is pointed to).
func createBuildFile(path string) (*sqlitec.Conn, error) {
	c, err := sqlitec.Open("projections", path, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE,
		`PRAGMA page_size=16384; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-131072; PRAGMA locking_mode=EXCLUSIVE`)
	if err != nil {
		return nil, err
	}
	if err := c.Exec(schemaSQL(false)); err != nil {
		c.Close()
		return nil, fmt.Errorf("projections: create %s: %w", path, err)
	}
	return c, nil
}

// addAll folds events into every fold, and shows them to seen (if set).
func addAll(folds []Fold, events []Event, seen func([]Event)) error {
	if seen != nil {
		seen(events)
	}
	for i := range events {
		for _, f := range folds {
			if err := f.Add(&events[i]); err != nil {
				return fmt.Errorf("projections: position %d: %w", events[i].Position, err)
			}
		}
	}
	return nil
}

func newFolds() []Fold {
	ps := All()
	out := make([]Fold, len(ps))
	for i, p := range ps {
		out[i] = p.NewFold()
	}
	return out
}

// writeFolds writes each set of folds it receives, until the channel
// closes; after an error it only drains it. The whole build is one
// transaction: with no journal, a commit only writes the dirty pages, and
// committing once writes each page of the random-keyed tables once rather
// than at every flush (SQLite spills pages to the file when its cache
// fills, so memory stays bounded).
func writeFolds(ctx context.Context, c *sqlitec.Conn, flushes <-chan []Fold) error {
	var failed error
	w := newConnWriter(c)
	defer w.close()
	if failed = c.Exec("BEGIN"); failed != nil {
		for range flushes {
		}
		return failed
	}
	for folds := range flushes {
		if failed != nil {
			continue // drain: the builder stops at its next send
		}
		for _, f := range folds {
			if failed = f.Flush(ctx, w); failed != nil {
				break
			}
		}
	}
	if failed != nil {
		c.Exec("ROLLBACK")
		return failed
	}
	return c.Exec("COMMIT")
}

// finish creates the indexes, records the checkpoints, puts the file in WAL
// mode for its life in service, closes it and syncs it.
func finish(c *sqlitec.Conn, path string, last eventstore.Position) error {
	var b strings.Builder
	b.WriteString(createIndexes(true))
	for _, p := range All() {
		fmt.Fprintf(&b, "INSERT OR REPLACE INTO checkpoints (projection, position) VALUES ('%s', %d);\n", p.Name(), last)
	}
	b.WriteString("PRAGMA locking_mode=NORMAL; PRAGMA journal_mode=WAL;")
	if err := c.Exec(b.String()); err != nil {
		return fmt.Errorf("projections: finish %s: %w", path, err)
	}
	c.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
