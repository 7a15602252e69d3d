package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/domain/assistant"
	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// Event is a stored event with the contract its stream belongs to. Each
// projection decodes only the event types it needs, into the fields it
// needs: decoding is most of the cost of a rebuild.
type Event struct {
	eventstore.Envelope
	Contract uuid.UUID
	Scheme   string // "" for streams of no known scheme, which the projections skip
	decoded  any    // the data decoded ahead of the transaction (see toEvents), or nil
}

// toEvents wraps envelopes for the projections and decodes the data of the
// most frequent types ahead: the runner calls it on the goroutine that
// reads the log, so decoding JSON runs on one core while the other applies
// the previous page.
func toEvents(envs []eventstore.Envelope) []Event {
	events := make([]Event, 0, len(envs))
	for _, env := range envs {
		ev := Event{Envelope: env}
		if scheme, id, ok := domain.ParseStream(env.Stream); ok && (scheme == cpts.Scheme || scheme == assistant.Scheme) {
			ev.Contract, ev.Scheme = id, scheme
		}
		switch {
		case ev.Scheme != "" && ev.Type == domain.TypePaymentDecided:
			ev.decoded = decodeAhead[paymentData](ev)
		case ev.Scheme == cpts.Scheme && ev.Type == cpts.TypeContractSigned:
			ev.decoded = decodeAhead[cpts.ContractSigned](ev)
		}
		events = append(events, ev)
	}
	return events
}

// decodeAhead returns the event's data as a *T, or nil if it does not
// decode: the projection then decodes it again and reports the error.
func decodeAhead[T any](ev Event) any {
	var v T
	if decode(ev, &v) != nil {
		return nil
	}
	return &v
}

// dataOf returns the event's data as a *T, decoded ahead or now. Projections
// share the value: they must not change it.
func dataOf[T any](ev Event) (*T, error) {
	if v, ok := ev.decoded.(*T); ok {
		return v, nil
	}
	var v T
	if err := decode(ev, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Projection is one read model: its name (the key of its checkpoint) and how
// it applies events inside the runner's transaction.
type Projection interface {
	Name() string
	Apply(ctx context.Context, tx *sql.Tx, events []Event) error
}

// Progress tells how far the runner is: for progress bars and logs.
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
}

// Runner applies the global log to the projections.
type Runner struct {
	store eventstore.Store
	db    *DB
	projs []Projection
	opts  Options
}

// NewRunner returns a runner for the ledger's read models.
func NewRunner(store eventstore.Store, db *DB, opts Options) *Runner {
	if opts.Batch <= 0 {
		opts.Batch = 2048
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{store: store, db: db, projs: All(), opts: opts}
}

// Checkpoints returns each projection's checkpoint.
func (r *Runner) Checkpoints(ctx context.Context) (map[string]eventstore.Position, error) {
	out := map[string]eventstore.Position{}
	for _, p := range r.projs {
		out[p.Name()] = 0
	}
	tx, err := r.db.w.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return out, readCheckpoints(ctx, tx, out)
}

// errCheckpointBack tells that a checkpoint went back under the runner while
// it read ahead; the runner starts again from the checkpoints.
var errCheckpointBack = errors.New("projections: a checkpoint went back (read models rebuilt by another process)")

// readCheckpoints sets cps to the checkpoints stored; a projection without
// one (never run, or emptied by a rebuild in another process) is at 0.
func readCheckpoints(ctx context.Context, tx *sql.Tx, cps map[string]eventstore.Position) error {
	rows, err := tx.QueryContext(ctx, `SELECT projection, position FROM checkpoints WHERE projection NOT LIKE 'relay:%'`)
	if err != nil {
		return fmt.Errorf("projections: read checkpoints: %w", err)
	}
	defer rows.Close()
	for name := range cps {
		cps[name] = 0
	}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			return err
		}
		if _, ok := cps[name]; ok {
			cps[name] = eventstore.Position(pos)
		}
	}
	return rows.Err()
}

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

// Rebuild empties every read model and applies the whole log again. The
// secondary indexes are dropped meanwhile and created again at the end, even
// when ctx ends first (a crash leaves them to the next Open).
func (r *Runner) Rebuild(ctx context.Context) (_ Progress, err error) {
	tx, err := r.db.w.BeginTx(ctx, nil)
	if err != nil {
		return Progress{}, err
	}
	for _, ix := range secondaryIndexes {
		if _, err := tx.ExecContext(ctx, `DROP INDEX IF EXISTS `+ix.name); err != nil {
			tx.Rollback()
			return Progress{}, fmt.Errorf("projections: drop index %s: %w", ix.name, err)
		}
	}
	for _, t := range readModelTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
			tx.Rollback()
			return Progress{}, fmt.Errorf("projections: empty %s: %w", t, err)
		}
	}
	for _, p := range r.projs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE projection = ?`, p.Name()); err != nil {
			tx.Rollback()
			return Progress{}, fmt.Errorf("projections: reset checkpoint %s: %w", p.Name(), err)
		}
	}
	if err := tx.Commit(); err != nil {
		return Progress{}, err
	}
	defer func() {
		if _, ierr := r.db.w.ExecContext(context.WithoutCancel(ctx), createIndexes()); ierr != nil {
			err = errors.Join(err, fmt.Errorf("projections: create indexes: %w", ierr))
		}
	}()
	return r.CatchUp(ctx)
}

// CatchUp applies every event after the checkpoints up to the store's head
// at the time of the call, then returns. If another process rebuilds the
// read models meanwhile, it starts again from their checkpoints.
func (r *Runner) CatchUp(ctx context.Context) (Progress, error) {
	for attempt := 0; ; attempt++ {
		prog, err := r.catchUp(ctx)
		if !errors.Is(err, errCheckpointBack) || attempt == 3 {
			return prog, err
		}
	}
}

func (r *Runner) catchUp(ctx context.Context) (Progress, error) {
	head, err := r.store.Head(ctx)
	if err != nil {
		return Progress{}, err
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
	// The reader fetches the next page while the current one is applied,
	// so reading and applying use both cores.
	type page struct {
		after  eventstore.Position
		events []Event
		err    error
	}
	pages := make(chan page, 2)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(pages)
		after := from
		for after < head {
			evs, err := r.store.ReadAll(readCtx, after, r.opts.Batch)
			if err == nil && len(evs) == 0 {
				err = fmt.Errorf("projections: the log ends at %d, before the head %d", after, head)
			}
			select {
			case pages <- page{after, toEvents(evs), err}:
			case <-readCtx.Done():
				return
			}
			if err != nil {
				return
			}
			after = evs[len(evs)-1].Position
		}
	}()
	for p := range pages {
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
	return r.store.Subscribe(ctx, after, func(evs []eventstore.Envelope) error {
		if err := r.apply(ctx, after, toEvents(evs), cps); err != nil {
			return err
		}
		after = evs[len(evs)-1].Position
		return nil
	})
}

// apply applies a batch, read after the position after, to
// every projection in one transaction, with each projection's new
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
	for _, p := range r.projs {
		cp := cps[p.Name()]
		if cp >= last {
			continue
		}
		if cp < after {
			// The checkpoint went back (a rebuild in another process):
			// this batch starts too late; read again from the checkpoint.
			return errCheckpointBack
		}
		todo := events
		for len(todo) > 0 && todo[0].Position <= cp {
			todo = todo[1:]
		}
		if err := p.Apply(ctx, tx, todo); err != nil {
			return fmt.Errorf("projections: %s at position %d: %w", p.Name(), todo[0].Position, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (projection, position) VALUES (?, ?)
			ON CONFLICT (projection) DO UPDATE SET position = excluded.position`, p.Name(), int64(last)); err != nil {
			return fmt.Errorf("projections: checkpoint %s: %w", p.Name(), err)
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
	for _, p := range r.projs {
		if cps[p.Name()] < last {
			cps[p.Name()] = last
		}
	}
	return nil
}
