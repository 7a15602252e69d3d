// Package server assembles `ledger serve`: the read models following the
// log, the NATS relay (to an embedded server or a cluster), the notary's
// follower and signer, the watch over the log's hash chains, and the HTTP
// API with its console. cmd/ledger parses the flags and opens the store;
// everything that runs while serve runs is here.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/relay"
)

// Config is what serve runs with, its flags parsed and its files loaded.
type Config struct {
	// DataDir is the data directory: read models, relay state, notary
	// tree, verdicts, the embedded NATS server's store, the address files.
	DataDir string
	Schemes []domain.Scheme
	// Keys is the key store of the doctors' personal data (the one the
	// schemes seal with), served to the key-reader role.
	Keys domain.Keyring
	// ReplayHistory is app.Options.ReplayHistory (tests of generated
	// histories only).
	ReplayHistory bool
	Log           *slog.Logger

	// NATSURL is the NATS server to publish to; "" starts the embedded
	// one on NATSListen.
	NATSURL     string
	NATSListen  string
	NATSOptions []nats.Option
	DupWindow   time.Duration
	Replicas    int
	StatsEvery  time.Duration
	MaxRelayLag time.Duration

	// Signer, if set, signs a checkpoint every CheckpointEvery when the
	// log has grown, cosigned by Witnesses (URLs) before it is published.
	Signer          *notary.Signer
	Witnesses       []string
	CheckpointEvery time.Duration
	VerifyEvery     time.Duration

	// HTTPAddr is the address of the HTTP API ("": none), served over
	// TLS with TLSCert and TLSKey when they are set.
	HTTPAddr        string
	TLSCert, TLSKey string
}

// Run serves until ctx ends or a component fails.
func Run(ctx context.Context, cfg Config, store eventstore.Store) error {
	log := cfg.Log
	js, url, closeNATS, stuck, err := connectNATS(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeNATS()
	state, err := relay.OpenState(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer state.Close()
	models := projections.NewSet(cfg.DataDir, func(msg string) { log.Warn(msg) })
	defer models.Close()

	r := relay.New(store, js, state, relay.Options{Duplicates: cfg.DupWindow, Replicas: cfg.Replicas, Logger: log, OnAckTimeout: stuck})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	// The whole log is checked before anything is served: serve's verdict
	// is its own, never a file's that anyone could delete.
	chain := newChainWatch(cfg.DataDir, store, log)
	chain.fullCheck(ctx)
	// The HTTP API (and its address file) first, the writers after: on a
	// disk that fills up, serve is up and says so (/readyz) rather than
	// failing to start because the relay took the last block.
	if cfg.HTTPAddr != "" {
		stopped, err := serveHTTP(ctx, cfg, store, models, r, errs, chain)
		if err != nil {
			return err
		}
		// Before the store closes: in-flight commands finish first.
		defer func() { cancel(); <-stopped }()
	}
	go func() { errs <- r.Run(ctx) }()
	stop, err := startNotary(ctx, cfg, store, js)
	if err != nil {
		return err
	}
	// Deferred after the trees' Close, so run before them: the goroutines
	// using the trees are told to stop first.
	defer stop()
	defer cancel()
	go chain.run(ctx, cfg.VerifyEvery)
	// The projections follow the log, on whichever file is current: a
	// rebuild elsewhere switches them to its file. A failure is retried,
	// since a concurrent CLI may hold the read-model lock for a moment.
	go retry(ctx, log, "projections", func() error {
		return chain.projectionsFailed(ctx, followModels(ctx, log, models, store))
	})
	log.Info("serving", "data", cfg.DataDir, "nats", url, "stream", relay.StreamName, "http", cfg.HTTPAddr)
	return superviseRelay(ctx, log, r, errs, cfg.StatsEvery)
}

// startNotary starts the notary's follower, which keeps the Merkle tree up
// to date, and, with a signer, the checkpointer, which signs and publishes
// checkpoints as the log grows. Each goroutine has its own handle on the
// tree; stop closes them.
func startNotary(ctx context.Context, cfg Config, store eventstore.Store, js jetstream.JetStream) (stop func(), err error) {
	follower, err := notary.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	closers := []func(){func() { follower.Close() }}
	stop = func() {
		for _, c := range closers {
			c()
		}
	}
	go retry(ctx, cfg.Log, "notary follower", func() error { return follower.Follow(ctx, store) })
	if cfg.Signer != nil {
		signing, err := notary.Open(ctx, cfg.DataDir)
		if err != nil {
			stop()
			return nil, err
		}
		closers = append(closers, func() { signing.Close() })
		c := &checkpointer{log: cfg.Log, tree: signing, store: store, js: js, signer: cfg.Signer, witnesses: cfg.Witnesses, replicas: cfg.Replicas}
		go c.loop(ctx, cfg.CheckpointEvery)
	}
	return stop, nil
}

// superviseRelay logs the relay's lag every so often, until the context
// ends or a component fails.
func superviseRelay(ctx context.Context, log *slog.Logger, r *relay.Relay, errs <-chan error, every time.Duration) error {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping", "published", r.Stats().Published, "position", r.Stats().Position)
			return nil
		case err := <-errs:
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		case <-ticker.C:
			lag, err := r.Lag(ctx)
			st := r.Stats()
			log.Info("relay", "position", st.Position, "lag_events", lag, "published", st.Published, "duplicates", st.Duplicates, "err", err)
		}
	}
}

// followModels applies new events to the current read models until ctx
// ends, moving to a new file as soon as a rebuild switches to it.
func followModels(ctx context.Context, log *slog.Logger, models *projections.Set, store eventstore.Store) error {
	db, release, err := models.Acquire(ctx, store, projections.BuildOptions{})
	if err != nil {
		return err
	}
	defer release()
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-tick.C:
				if models.Changed(db) {
					log.Info("read models switched to a new file", "file", models.Link())
					cancel()
					return
				}
			}
		}
	}()
	err = projections.NewRunner(store, db, projections.Options{Logger: log}).Follow(fctx)
	if ctx.Err() == nil && fctx.Err() != nil {
		return errSwitched
	}
	return err
}

// errSwitched ends a follow on a file a rebuild replaced: retry follows the
// new one.
var errSwitched = errors.New("read models switched")

// retry runs f until ctx ends, waiting a second after each failure: a
// follower that loses its store or a lock for a moment resumes.
func retry(ctx context.Context, log *slog.Logger, what string, f func() error) {
	for {
		err := f()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errSwitched) {
			continue
		}
		log.Warn(what+" stopped; resuming", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// checkpointer is serve's signer: it signs a checkpoint whenever the log
// has grown, has it cosigned by the configured witnesses, and publishes
// the checkpoints the stream does not hold yet.
type checkpointer struct {
	log       *slog.Logger
	tree      *notary.Tree
	store     eventstore.Store
	js        jetstream.JetStream
	signer    *notary.Signer
	witnesses []string
	replicas  int
	published int64 // the size last published; -1 until the stream is read
}

// loop runs every period until ctx ends. Failures (NATS away, a witness
// away) are logged and retried at the next period.
func (c *checkpointer) loop(ctx context.Context, every time.Duration) {
	c.published = -1
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		var fork *notary.ForkError
		var refused *notary.WitnessError
		switch err := c.signAndPublish(ctx); {
		case errors.As(err, &fork):
			// Nothing is signed while the tree disagrees with what the key
			// signed last: said at error level each period.
			c.log.Error("checkpoints: refusing to sign a fork of the log", "last_size", fork.Last.Size, "next_size", fork.Next.Size, "err", err)
		case errors.As(err, &refused) && refused.Status == http.StatusUnprocessableEntity:
			c.log.Error("checkpoints: a witness refused the checkpoint as a fork; nothing published", "err", err)
		case err != nil && ctx.Err() == nil:
			c.log.Warn("checkpoints: will retry", "err", err, "retry_in", every)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *checkpointer) signAndPublish(ctx context.Context) error {
	if _, err := c.tree.CatchUp(ctx, c.store, notary.Hooks{}); err != nil {
		return err
	}
	latest, ok, err := c.tree.Latest(ctx)
	if err != nil {
		return err
	}
	if c.tree.Size() > 0 && (!ok || c.tree.Size() > latest.Size) {
		st, err := c.tree.Checkpoint(ctx, c.store, c.signer, "")
		if err != nil {
			return err
		}
		c.log.Info("checkpoint signed", "tree_size", st.Size, "root", st.Root, "key", st.KeyName)
	}
	if c.published < 0 {
		if err := relay.EnsureCheckpointStream(ctx, c.js, c.replicas); err != nil {
			return err
		}
		last, err := relay.LastPublishedCheckpoint(ctx, c.js)
		if err != nil {
			return err
		}
		c.published = last
	}
	pending, err := c.tree.CheckpointsAfter(ctx, c.published)
	if err != nil {
		return err
	}
	if len(c.witnesses) > 0 && len(pending) > 1 {
		// Witnesses cosign forward only: the latest, which proves the
		// others' trees prefixes of its own.
		pending = pending[len(pending)-1:]
	}
	for _, st := range pending {
		if st, err = c.tree.CosignAll(ctx, st, c.witnesses); err != nil {
			return err
		}
		if err := relay.PublishCheckpoint(ctx, c.js, st.Origin, st.Size, []byte(st.Note)); err != nil {
			return err
		}
		c.published = st.Size
		c.log.Info("checkpoint published", "subject", relay.CheckpointSubject, "tree_size", st.Size, "witnesses", len(c.witnesses))
	}
	return nil
}
