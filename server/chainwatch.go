package server

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/chainstatus"
	"github.com/cptsledger/ledger/projections"
)

// chainWatch is serve's watch over the log's hash chains: the whole log is
// checked at start and every period (--verify-every), the events the
// projections apply are checked as they come (projections.Runner), and a
// failure of either is recorded in the data directory (chainstatus), so
// that neither serve nor the CLI serves figures from the log until a check
// finds it whole again. /readyz and the metrics read the verdict.
//
// serve keeps its own verdict in memory (own): a file deleted or made
// unreadable never turns a broken verdict healthy. Only serve's own whole
// check clears a broken verdict it holds; a verdict file that says ok
// after one that said broken (a CLI's verify) makes it check again at
// once, and it keeps refusing until that check passes.
type chainWatch struct {
	dir   string
	store eventstore.Store
	log   *slog.Logger

	mu       sync.Mutex
	lastFull time.Time
	own      *chainstatus.Status // nil until serve's first whole check
	verdict  *chainstatus.Cached // the file, read again only when it changed
	recheck  chan struct{}       // a whole check is wanted now
}

func newChainWatch(dir string, store eventstore.Store, log *slog.Logger) *chainWatch {
	return &chainWatch{dir: dir, store: store, log: log, verdict: chainstatus.NewCached(dir), recheck: make(chan struct{}, 1)}
}

// check is the guard of every query: nil when serve's own verdict and the
// file's both say the log is whole; a *BrokenError when either says it is
// broken; an *UnknownError before serve's first whole check.
func (w *chainWatch) check() error {
	fileErr := w.verdict.Check()
	w.mu.Lock()
	defer w.mu.Unlock()
	var broken *chainstatus.BrokenError
	if errors.As(fileErr, &broken) {
		if w.own == nil || w.own.OK || w.own.CheckedAt.Before(broken.Status.CheckedAt) {
			st := broken.Status
			w.own = &st // remembered: deleting the file will not erase it
		}
		return fileErr
	}
	switch {
	case w.own == nil:
		w.wantCheck()
		return &chainstatus.UnknownError{Why: "serve has not finished its first check of the whole log"}
	case !w.own.OK:
		w.wantCheck() // the file no longer says broken: check, do not believe
		return &chainstatus.BrokenError{Status: *w.own}
	}
	if fileErr != nil {
		w.log.Warn("chain: the verdict file cannot be read; serve keeps its own", "err", fileErr)
	}
	return nil
}

// wantCheck asks run for a whole check now. The caller holds w.mu.
func (w *chainWatch) wantCheck() {
	select {
	case w.recheck <- struct{}{}:
	default:
	}
}

// status returns whether the log may be served (check) and the time of
// serve's last whole check.
func (w *chainWatch) status() (ok bool, lastFull time.Time) {
	err := w.check()
	w.mu.Lock()
	lastFull = w.lastFull
	w.mu.Unlock()
	return err == nil, lastFull
}

// run checks the whole log every period, and at once when a check is
// wanted, until ctx ends. A check asked again while one runs is run once
// more after it; a check asked for by a verdict that keeps failing runs at
// most once a second.
func (w *chainWatch) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.recheck:
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		w.fullCheck(ctx)
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
	w.record(chainstatus.Broken(by, ce))
}

func (w *chainWatch) record(st chainstatus.Status) {
	w.mu.Lock()
	w.own = &st
	w.mu.Unlock()
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

// modelsWatch is serve's guard over the read models: a file that ledger
// verify found different from the log is not served until a rebuild
// replaces it. serve remembers such a verdict: deleting its file does not
// make the same read-model file served again. The verdict's file is read
// again only when it changed (one stat a request, as the chain's).
type modelsWatch struct {
	dir    string
	models *projections.Set

	mu     sync.Mutex
	info   os.FileInfo               // of the verdict file last read
	broken *chainstatus.ModelsStatus // the last verdict finding a file different
}

func (w *modelsWatch) check() error {
	current, err := w.models.CurrentFile()
	if err != nil {
		return nil // none yet: built from the log as it is followed
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if fi, err := os.Stat(filepath.Join(w.dir, chainstatus.ModelsFile)); err == nil && !sameFile(w.info, fi) {
		w.info = fi
		if st, ok, err := chainstatus.ReadModels(w.dir); err == nil && ok {
			switch {
			case !st.OK:
				w.broken = &st
			case w.broken != nil && st.File == w.broken.File && st.CheckedAt.After(w.broken.CheckedAt):
				w.broken = nil // a later comparison of the same file found it whole
			}
		}
	}
	if w.broken != nil && w.broken.File == current {
		return &chainstatus.ModelsDifferError{Status: *w.broken}
	}
	return nil
}

// sameFile tells a file read before (a) from one changed since (b).
func sameFile(a, b os.FileInfo) bool {
	return a != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
