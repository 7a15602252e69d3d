package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
)

// Progress tells how far a run is: for progress bars and logs.
type Progress struct {
	Applied  uint64              // events applied in this run
	Position eventstore.Position // last position applied
	Head     eventstore.Position // last position in the store when the run started
	Elapsed  time.Duration
}

// Rate returns events applied per second.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Applied) / p.Elapsed.Seconds()
}

// Options tune a Runner.
type Options struct {
	// Batch is the number of events applied per transaction (default 2048).
	Batch int
	// Logger receives progress and errors; nil discards them.
	Logger *slog.Logger
	// OnProgress, if set, is called after each committed batch.
	OnProgress func(Progress)
	// BeforeCommit, if set, runs after a batch is applied and before its
	// transaction commits; an error rolls the batch back. Tests use it to
	// simulate a crash between applying and checkpointing.
	BeforeCommit func(batch []Event) error
	// UpTo, if set, stops the catching up at that position instead of the
	// store's head (the read-model check brings its copy to the position
	// of the file it compares).
	UpTo *eventstore.Position
}

// Runner applies the global log to the read models of one file, page by
// page: each page is folded by every projection and flushed in one
// transaction with the checkpoints.
type Runner struct {
	store  eventstore.Store
	db     *DB
	opts   Options
	chains *eventstore.Chains
}

// chainsFor returns the runner's chain checker: it goes on from the events
// the runner verified before, and from the stored tail of a stream it has
// not met (verified when it was applied).
func (r *Runner) chainsFor(ctx context.Context) *eventstore.Chains {
	if r.chains == nil {
		r.chains = eventstore.NewChainsAfter(eventstore.StoredTail(ctx, r.store))
	}
	return r.chains
}

// NewRunner returns a runner for the read models of db.
func NewRunner(store eventstore.Store, db *DB, opts Options) *Runner {
	if opts.Batch <= 0 {
		opts.Batch = 2048
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{store: store, db: db, opts: opts}
}

// Checkpoints returns each projection's checkpoint.
func (r *Runner) Checkpoints(ctx context.Context) (map[string]eventstore.Position, error) {
	return r.db.Checkpoints(ctx)
}

// errCheckpointBack tells that a checkpoint went back under the runner while
// it read ahead; the runner starts again from the checkpoints.
var errCheckpointBack = errors.New("projections: a checkpoint went back (read models emptied by another process)")

func minCheckpoint(cps map[string]eventstore.Position) eventstore.Position {
	first := true
	var m eventstore.Position
	for _, p := range cps {
		if first || p < m {
			m, first = p, false
		}
	}
	return m
}

// CatchUp applies every event after the checkpoints up to the store's head
// at the time of the call, then returns. If another process moves the
// checkpoints back meanwhile, it starts again from them.
func (r *Runner) CatchUp(ctx context.Context) (Progress, error) {
	for attempt := 0; ; attempt++ {
		prog, err := r.catchUp(ctx)
		if !errors.Is(err, errCheckpointBack) || attempt == 3 {
			return prog, err
		}
	}
}

// pages reads the log from after to head in pages of size, decoding each
// page ahead, on its own goroutine: reading and applying use both cores.
//
// Every event read is checked against its stream's hash chain (chains)
// before it is folded: nothing is projected, hence served, from a log that
// fails its chain; the first broken event ends the reading with a
// *eventstore.CorruptionError.
func pages(ctx context.Context, store eventstore.Store, chains *eventstore.Chains, keys domain.Keyring, after, head eventstore.Position, size int) <-chan page {
	out := make(chan page, 2)
	go func() {
		defer close(out)
		for after < head {
			evs, err := store.ReadAll(ctx, after, size)
			if err == nil && len(evs) == 0 {
				err = fmt.Errorf("projections: the log ends at %d, before the head %d", after, head)
			}
			for len(evs) > 0 && evs[len(evs)-1].Position > head {
				evs = evs[:len(evs)-1] // events appended since head was read: up to head only
			}
			if err == nil {
				err = checkChains(chains, evs)
			}
			var events []Event
			if err == nil {
				events, err = toEvents(evs, keys)
			}
			select {
			case out <- page{after, events, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			after = evs[len(evs)-1].Position
		}
	}()
	return out
}

// checkChains checks a page of events against their streams' chains.
func checkChains(chains *eventstore.Chains, evs []eventstore.Envelope) error {
	for i := range evs {
		if _, err := chains.Check(&evs[i]); err != nil {
			var ce *eventstore.CorruptionError
			if errors.As(err, &ce) {
				return err
			}
			return fmt.Errorf("projections: check the chain at position %d: %w", evs[i].Position, err)
		}
	}
	return nil
}

type page struct {
	after  eventstore.Position
	events []Event
	err    error
}

func (r *Runner) catchUp(ctx context.Context) (Progress, error) {
	r.chains = nil // an attempt again reads from the checkpoints: check from there
	head, err := r.store.Head(ctx)
	if err != nil {
		return Progress{}, err
	}
	if r.opts.UpTo != nil && *r.opts.UpTo < head {
		head = *r.opts.UpTo
	}
	cps, err := r.Checkpoints(ctx)
	if err != nil {
		return Progress{}, err
	}
	from := minCheckpoint(cps)
	prog := Progress{Position: from, Head: head}
	if from >= head {
		return prog, nil
	}
	start := time.Now()
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for p := range pages(readCtx, r.store, r.chainsFor(ctx), r.db.keys, from, head, r.opts.Batch) {
		if p.err != nil {
			return prog, p.err
		}
		if err := r.apply(ctx, p.after, p.events, cps); err != nil {
			return prog, err
		}
		prog.Applied += uint64(len(p.events))
		prog.Position = p.events[len(p.events)-1].Position
		prog.Elapsed = time.Since(start)
		if r.opts.OnProgress != nil {
			r.opts.OnProgress(prog)
		}
	}
	r.opts.Logger.Info("projections caught up", "applied", prog.Applied, "position", prog.Position, "events_per_s", int(prog.Rate()))
	return prog, nil
}

// Follow catches up, then applies new events as they are committed, until
// ctx ends.
func (r *Runner) Follow(ctx context.Context) error {
	if _, err := r.CatchUp(ctx); err != nil {
		return err
	}
	cps, err := r.Checkpoints(ctx)
	if err != nil {
		return err
	}
	after := minCheckpoint(cps)
	chains := r.chainsFor(ctx)
	return r.store.Subscribe(ctx, after, func(evs []eventstore.Envelope) error {
		if err := checkChains(chains, evs); err != nil {
			return err
		}
		events, err := toEvents(evs, r.db.keys)
		if err != nil {
			return err
		}
		if err := r.apply(ctx, after, events, cps); err != nil {
			return err
		}
		after = evs[len(evs)-1].Position
		return nil
	})
}

// apply folds a batch, read after the position after, into every
// projection and flushes them in one transaction with each projection's new
// checkpoint. cps is updated after the commit.
func (r *Runner) apply(ctx context.Context, after eventstore.Position, events []Event, cps map[string]eventstore.Position) error {
	last := events[len(events)-1].Position
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("projections: begin: %w", err)
	}
	defer tx.Rollback()
	// Another process (the CLI while a server runs) may have applied some of
	// these events since cps was read: the checkpoints in the transaction
	// are the truth.
	if err := readCheckpoints(ctx, tx, cps); err != nil {
		return err
	}
	w := newWriter(tx)
	defer w.close()
	for _, p := range All() {
		cp := cps[p.Name()]
		if cp >= last {
			continue
		}
		if cp < after {
			// The checkpoint went back (another process rebuilt or
			// emptied the file): this batch starts too late; read again.
			return errCheckpointBack
		}
		fold := p.NewFold()
		for i := range events {
			if events[i].Position <= cp {
				continue
			}
			if err := fold.Add(&events[i]); err != nil {
				return fmt.Errorf("projections: %s at position %d: %w", p.Name(), events[i].Position, err)
			}
		}
		if err := fold.Flush(ctx, w); err != nil {
			return fmt.Errorf("projections: %s: %w", p.Name(), err)
		}
		if err := saveCheckpoint(ctx, tx, p.Name(), last); err != nil {
			return err
		}
	}
	if r.opts.BeforeCommit != nil {
		if err := r.opts.BeforeCommit(events); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("projections: commit: %w", err)
	}
	for _, p := range All() {
		if cps[p.Name()] < last {
			cps[p.Name()] = last
		}
	}
	return nil
}

func saveCheckpoint(ctx context.Context, tx *sql.Tx, name string, pos eventstore.Position) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (projection, position) VALUES (?, ?)
		ON CONFLICT (projection) DO UPDATE SET position = excluded.position`, name, int64(pos)); err != nil {
		return fmt.Errorf("projections: checkpoint %s: %w", name, err)
	}
	return nil
}
