package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/chainstatus"
)

// chainWatch is serve's watch over the log's hash chains: the whole log is
// checked at start and every period (--verify-every), the events the
// projections apply are checked as they come (projections.Runner), and a
// failure of either is recorded in the data directory (chainstatus), so
// that neither serve nor the CLI serves figures from the log until a check
// finds it whole again. /readyz and the metrics read the verdict.
type chainWatch struct {
	dir   string
	store eventstore.Store
	log   *slog.Logger

	mu       sync.Mutex
	lastFull time.Time
	verdict  *chainstatus.Cached // read again only when its file changed
}

// status returns the verdict recorded (a CLI's verify counts too) and the
// time of serve's last whole check.
func (w *chainWatch) status() (ok bool, lastFull time.Time) {
	w.mu.Lock()
	lastFull = w.lastFull
	w.mu.Unlock()
	err := w.verdict.Check()
	var broken *chainstatus.BrokenError
	if err != nil && !errors.As(err, &broken) {
		w.log.Error("chain: the verdict cannot be read", "err", err)
	}
	return err == nil, lastFull
}

// run checks the whole log now and then every period, until ctx ends.
func (w *chainWatch) run(ctx context.Context, every time.Duration) {
	for {
		w.fullCheck(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// fullCheck checks every stream's chain and records the verdict; a check
// that could not read the log records nothing.
func (w *chainWatch) fullCheck(ctx context.Context) {
	start := time.Now()
	rep, err := eventstore.Verify(ctx, w.store)
	var ce *eventstore.CorruptionError
	switch {
	case errors.As(err, &ce):
		w.broken("serve", ce)
	case err != nil:
		if ctx.Err() == nil {
			w.log.Warn("chain: the whole log could not be checked; trying again at the next period", "err", err)
		}
		return
	default:
		w.record(chainstatus.Status{OK: true, CheckedAt: time.Now().UTC(), By: "serve", Position: uint64(rep.Head)})
		w.log.Info("chain: the whole log verified", "events", rep.Events, "streams", rep.Streams, "seconds", time.Since(start).Seconds())
	}
	w.mu.Lock()
	w.lastFull = time.Now()
	w.mu.Unlock()
}

// broken records a chain found broken, and says so at error level.
func (w *chainWatch) broken(by string, ce *eventstore.CorruptionError) {
	w.log.Error("chain: the log fails its hash chain; nothing is served from it", "by", by, "position", ce.Position,
		"stream", ce.Stream, "revision", ce.Revision, "event_id", ce.EventID, "reason", ce.Reason)
	w.record(brokenStatus(by, ce))
}

func (w *chainWatch) record(st chainstatus.Status) {
	if err := chainstatus.Write(w.dir, st); err != nil {
		w.log.Error("chain: the verdict cannot be recorded", "err", err)
	}
}

// projectionsFailed records a broken chain the projections met, and waits
// until a check finds the log whole again (or ctx ends) before they try
// again: no point retrying every second on a rewritten log.
func (w *chainWatch) projectionsFailed(ctx context.Context, err error) error {
	var ce *eventstore.CorruptionError
	if !errors.As(err, &ce) {
		return err
	}
	w.broken("projections", ce)
	for {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Second):
		}
		if ok, _ := w.status(); ok {
			return err
		}
	}
}
