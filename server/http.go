package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/auth"
	"github.com/cptsledger/ledger/console"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/httpapi"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
	"github.com/cptsledger/ledger/relay"
)

// AddrFile names, in the data directory, the file where serve writes the
// URL of its HTTP API once it listens (removed when it stops): what a
// script or a test reads to find a port chosen by the system (--http
// 127.0.0.1:0).
const AddrFile = "serve.http"

// serveHTTP starts the HTTP API; stopped is closed once it has shut down
// (gracefully, after ctx ends). A failure to serve goes to errs.
func serveHTTP(ctx context.Context, cfg Config, store eventstore.Store, models *projections.Set,
	r *relay.Relay, errs chan<- error, chain *chainWatch) (stopped <-chan struct{}, err error) {
	log := cfg.Log
	l, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("the HTTP API cannot listen on %s: %v (--http sets another address; --http '' turns it off)", cfg.HTTPAddr, err)
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s", scheme, l.Addr())
	addrFile := filepath.Join(cfg.DataDir, AddrFile)
	if err := os.WriteFile(addrFile, []byte(url+"\n"), 0o600); err != nil {
		l.Close()
		return nil, err
	}
	mw := &modelsWatch{dir: cfg.DataDir, models: models}
	reads := query.New(store, models, cfg.Schemes).Guarded(func() error {
		if err := chain.check(); err != nil {
			return err
		}
		return mw.check()
	})
	tokens := auth.Open(cfg.DataDir)
	web, err := console.New(console.Config{Reads: reads, Store: store, Tokens: tokens, Logger: log,
		LatestCheckpoint: func(ctx context.Context) (console.Checkpoint, bool, error) { return latestCheckpoint(ctx, cfg.DataDir) },
		ProveEvent: func(ctx context.Context, id uuid.UUID) ([]byte, error) {
			return proveEvent(ctx, cfg.DataDir, store, id)
		}})
	if err != nil {
		l.Close()
		return nil, err
	}
	commands := app.New(store, app.Options{Schemes: cfg.Schemes, Locate: notary.Locator(cfg.DataDir, store), ReplayHistory: cfg.ReplayHistory})
	if err := recordRuleCorrections(ctx, commands, log); err != nil {
		l.Close()
		return nil, err
	}
	api := httpapi.New(httpapi.Config{
		Replay: cfg.ReplayHistory, Store: store, Commands: commands, Reads: reads, Models: models,
		Tokens: tokens, Logger: log, Console: web.Handler(), Keys: cfg.Keys,
		ProjectionLag: func(ctx context.Context) (int64, error) { return projectionLag(ctx, store, models) },
		RelayLag: func(ctx context.Context) (int64, error) {
			lag, err := r.Lag(ctx)
			return int64(lag), err
		},
		Chain: chain.status,
		RelayStalled: func(ctx context.Context) (bool, error) {
			stalled, _, err := r.Stalled(ctx, cfg.MaxRelayLag)
			return stalled, err
		},
		RelayForeign: func() uint64 { return r.Stats().Foreign },
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer os.Remove(addrFile)
		if err := api.Serve(ctx, l, cfg.TLSCert, cfg.TLSKey); err != nil {
			errs <- fmt.Errorf("HTTP API: %w", err)
		}
	}()
	log.Info("HTTP API", "url", url)
	return done, nil
}

// projectionLag is how many events of the log the current read models have
// not applied.
func projectionLag(ctx context.Context, store eventstore.Store, models *projections.Set) (int64, error) {
	head, err := store.Head(ctx)
	if err != nil {
		return 0, err
	}
	db, release, err := models.Acquire(ctx, store, projections.BuildOptions{})
	if err != nil {
		return 0, err
	}
	defer release()
	cps, err := db.Checkpoints(ctx)
	if err != nil {
		return 0, err
	}
	lag := int64(0)
	for _, cp := range cps {
		lag = max(lag, int64(head)-int64(cp))
	}
	if lag < 0 {
		return 0, errors.New("the read models are ahead of the log")
	}
	return lag, nil
}

// latestCheckpoint is the last checkpoint signed in the data directory.
func latestCheckpoint(ctx context.Context, dir string) (console.Checkpoint, bool, error) {
	if !notary.Exists(dir) {
		return console.Checkpoint{}, false, nil
	}
	tree, err := notary.Open(ctx, dir)
	if err != nil {
		return console.Checkpoint{}, false, err
	}
	defer tree.Close()
	return console.LatestCheckpointOf(ctx, tree)
}

// proveEvent proves an event is in the last checkpoint signed, as ledger
// prove --event writes it.
func proveEvent(ctx context.Context, dir string, store eventstore.Store, id uuid.UUID) ([]byte, error) {
	if !notary.Exists(dir) {
		return nil, errors.New("no notary tree in the data directory")
	}
	tree, err := notary.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer tree.Close()
	return tree.ProveInLatest(ctx, store, id)
}

// recordRuleCorrections records the corrections of rule data a ledger
// upgraded from an older release needs (app.RecordRuleCorrections), before
// the API takes commands: the next decision of each contract concerned
// then regularises.
func recordRuleCorrections(ctx context.Context, commands *app.Ledger, log *slog.Logger) error {
	recorded, err := commands.RecordRuleCorrections(ctx)
	for _, r := range recorded {
		log.Info("rule data corrected: recorded", "command_id", r.CommandID, "events", r.Events, "contracts_to_regularise", r.Contracts)
	}
	if err != nil {
		return fmt.Errorf("record the corrections of rule data: %w", err)
	}
	return nil
}
