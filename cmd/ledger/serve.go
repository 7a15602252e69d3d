package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/dirlock"
	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/relay"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsFlags are the connection flags shared by serve and tail.
type natsFlags struct {
	url, user, password, token, creds, nkey string
	tlsCA, tlsCert, tlsKey                  string
	tlsInsecure                             bool
}

func (n *natsFlags) register(fs *flag.FlagSet, defaultURL string) {
	fs.StringVar(&n.url, "nats-url", envOr("LEDGER_NATS_URL", defaultURL), "NATS server URL(s), comma-separated (env LEDGER_NATS_URL)")
	fs.StringVar(&n.user, "nats-user", envOr("LEDGER_NATS_USER", ""), "NATS user (env LEDGER_NATS_USER)")
	fs.StringVar(&n.password, "nats-password", envOr("LEDGER_NATS_PASSWORD", ""), "NATS password (env LEDGER_NATS_PASSWORD)")
	fs.StringVar(&n.token, "nats-token", envOr("LEDGER_NATS_TOKEN", ""), "NATS token (env LEDGER_NATS_TOKEN)")
	fs.StringVar(&n.creds, "nats-creds", envOr("LEDGER_NATS_CREDS", ""), "NATS credentials file (JWT + NKey seed)")
	fs.StringVar(&n.nkey, "nats-nkey", envOr("LEDGER_NATS_NKEY", ""), "NATS NKey seed file")
	fs.StringVar(&n.tlsCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server")
	fs.StringVar(&n.tlsCert, "nats-tls-cert", "", "client certificate file (mutual TLS)")
	fs.StringVar(&n.tlsKey, "nats-tls-key", "", "client key file (mutual TLS)")
	fs.BoolVar(&n.tlsInsecure, "nats-tls-insecure", false, "do not verify the server's certificate (testing only)")
}

// options turns the flags into nats.go options; the connection reconnects
// for ever, waiting up to 2 s between attempts.
func (n *natsFlags) options(name string) ([]nats.Option, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second)}
	switch {
	case n.user != "" || n.password != "":
		opts = append(opts, nats.UserInfo(n.user, n.password))
	case n.token != "":
		opts = append(opts, nats.Token(n.token))
	}
	if n.creds != "" {
		opts = append(opts, nats.UserCredentials(n.creds))
	}
	if n.nkey != "" {
		o, err := nats.NkeyOptionFromSeed(n.nkey)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if n.tlsCA != "" {
		opts = append(opts, nats.RootCAs(n.tlsCA))
	}
	if n.tlsCert != "" || n.tlsKey != "" {
		if n.tlsCert == "" || n.tlsKey == "" {
			return nil, usageError{"--nats-tls-cert and --nats-tls-key go together"}
		}
		opts = append(opts, nats.ClientCert(n.tlsCert, n.tlsKey))
	}
	if n.tlsInsecure {
		opts = append(opts, nats.Secure(&tls.Config{InsecureSkipVerify: true}))
	}
	return opts, nil
}

// serveFlags are serve's own flags, beside the NATS and HTTP ones.
type serveFlags struct {
	nats            natsFlags
	http            httpFlags
	listen          string
	dupWindow       time.Duration
	replicas        int
	statsEvery      time.Duration
	keyFile         string
	checkpointEvery time.Duration
	verifyEvery     time.Duration
	maxRelayLag     time.Duration
	sign            *notary.Signer // from keyFile, nil without one
	witnesses       filesFlag      // URLs of the witnesses that cosign
}

// parseServe parses and checks serve's flags, and loads the signer key if
// one is given.
func parseServe(e *env, args []string) (*serveFlags, error) {
	f := &serveFlags{}
	fs := e.flags("serve")
	f.nats.register(fs, "")
	fs.StringVar(&f.listen, "nats-listen", envOr("LEDGER_NATS_LISTEN", "127.0.0.1:4222"), "address of the embedded NATS server, when --nats-url is not given")
	fs.DurationVar(&f.dupWindow, "dup-window", 10*time.Minute, "JetStream duplicate window of the LEDGER stream")
	fs.IntVar(&f.replicas, "nats-replicas", 1, "replicas of the LEDGER and LEDGER_CHECKPOINTS streams: 3 on a JetStream cluster (1 for the embedded server)")
	fs.DurationVar(&f.statsEvery, "log-every", 30*time.Second, "how often to log the relay's lag")
	fs.StringVar(&f.keyFile, "signing-key", "", "signer key: sign a checkpoint whenever the log has grown and publish it on ledger.checkpoints (env LEDGER_SIGNING_KEY)")
	fs.DurationVar(&f.checkpointEvery, "checkpoint-every", time.Minute, "how often to look for growth to sign, with --signing-key")
	fs.Var(&f.witnesses, "witness", "the URL of a witness that cosigns each checkpoint before it is published (repeatable; with --signing-key)")
	fs.DurationVar(&f.maxRelayLag, "max-relay-lag", time.Minute, "how long the NATS relay may have events waiting without advancing before /readyz answers 503")
	fs.DurationVar(&f.verifyEvery, "verify-every", 24*time.Hour, "how often to check the whole log's hash chains again (it is checked at start, and every event as it is projected)")
	f.http.register(fs)
	if err := e.parse(fs, args); err != nil {
		return nil, err
	}
	if f.verifyEvery < time.Second {
		return nil, usageError{"--verify-every must be at least 1s"}
	}
	if err := f.http.check(); err != nil {
		return nil, err
	}
	if f.replicas < 1 || f.replicas > 5 {
		return nil, usageError{"--nats-replicas must be 1 to 5 (JetStream's limit)"}
	}
	if len(f.witnesses) > 0 && f.keyFile == "" && os.Getenv("LEDGER_SIGNING_KEY") == "" {
		return nil, usageError{"--witness cosigns the checkpoints serve signs: give --signing-key too"}
	}
	if f.keyFile != "" || os.Getenv("LEDGER_SIGNING_KEY") != "" {
		var err error
		if f.sign, err = signer(f.keyFile); err != nil {
			return nil, err
		}
		if f.checkpointEvery < time.Second/10 {
			return nil, usageError{"--checkpoint-every must be at least 100ms"}
		}
	}
	return f, nil
}

// lockServe takes the data directory's serve lock: one serve per data
// directory, since two would share the relay's checkpoint and the embedded
// NATS store, and skip events for ever.
func lockServe(e *env) (*dirlock.Lock, error) {
	if err := os.MkdirAll(e.global.data, 0o700); err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(filepath.Join(e.global.data, "serve.lock"))
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		who := "another ledger serve or demo"
		if held.PID > 0 {
			who += fmt.Sprintf(" (pid %d)", held.PID)
		}
		return nil, failed{fmt.Sprintf("%s is running on the data directory %s (lock %s): stop it first; one serve per data directory", who, e.global.data, held.Path)}
	}
	return lock, err
}

// connectNATS connects to --nats-url, or starts the embedded NATS server
// (JetStream in the data directory) and connects to it. disconnect closes
// the connection and stops the embedded server; stuck, set for the
// embedded server, is told when JetStream stops acknowledging.
func connectNATS(e *env, log *slog.Logger, f *serveFlags) (js jetstream.JetStream, url string, disconnect func(), stuck func(), err error) {
	var closers []func()
	disconnect = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			disconnect()
		}
	}()
	url = f.nats.url
	opts, err := f.nats.options("ledger serve")
	if err != nil {
		return nil, "", disconnect, nil, err
	}
	if url == "" {
		if err := natsserver.CheckFree(f.listen); err != nil {
			return nil, "", disconnect, nil, failed{err.Error()}
		}
		// The embedded server takes only its two users: serve's publisher
		// and the consumers' read-only subscriber (ledger nats-creds).
		users, err := natsserver.EnsureUsers(e.global.data)
		if err != nil {
			return nil, "", disconnect, nil, failed{err.Error()}
		}
		dir := filepath.Join(e.global.data, "nats")
		nsOpts := natsserver.Options{Listen: f.listen, StoreDir: dir, Users: &users}
		ns, err := natsserver.Start(nsOpts)
		if err != nil {
			return nil, "", disconnect, nil, err
		}
		// A disk that was full leaves JetStream disabled, or a stream that
		// acknowledges nothing more, unless the server starts again: serve
		// restarts it itself (no restart of serve).
		sup := natsserver.NewSupervisor(ns, nsOpts, log)
		closers = append(closers, sup.Shutdown)
		supervise, stop := context.WithCancel(e.ctx)
		go sup.Run(supervise, time.Second)
		closers = append(closers, stop)
		stuck = sup.Kick
		url = ns.ClientURL()
		addr := filepath.Join(e.global.data, NATSAddrFile)
		if err := os.WriteFile(addr, []byte(url+"\n"), 0o600); err != nil {
			return nil, "", disconnect, nil, err
		}
		closers = append(closers, func() { os.Remove(addr) })
		seed, err := nats.NkeyOptionFromSeed(natsserver.SeedFile(e.global.data, natsserver.RolePublisher))
		if err != nil {
			return nil, "", disconnect, nil, err
		}
		opts = append(opts, seed)
		log.Info("embedded NATS server with JetStream", "url", url, "store_dir", dir)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, "", disconnect, nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	closers = append(closers, nc.Close)
	// Readers create their consumers through serve's gate (natsserver.Gate:
	// pull consumers only).
	if _, err := natsserver.Gate(nc); err != nil {
		return nil, "", disconnect, nil, err
	}
	js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	return js, url, disconnect, stuck, err
}

// runServe runs the projections, the NATS relay, the notary's follower (and
// checkpoints, with a signer key) and the HTTP API until interrupted.
func runServe(e *env, args []string) error {
	f, err := parseServe(e, args)
	if err != nil {
		return err
	}
	log := newInfoLogger(e.stderr)
	if err := e.requireLedger(); err != nil {
		return err
	}
	lock, err := lockServe(e)
	if err != nil {
		return err
	}
	defer lock.Release()
	js, url, closeNATS, stuck, err := connectNATS(e, log, f)
	if err != nil {
		return err
	}
	defer closeNATS()
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	state, err := relay.OpenState(e.ctx, e.global.data)
	if err != nil {
		return err
	}
	defer state.Close()
	models := projections.NewSet(e.global.data, func(msg string) { log.Warn(msg) })
	defer models.Close()

	r := relay.New(store, js, state, relay.Options{Duplicates: f.dupWindow, Replicas: f.replicas, Logger: log, OnAckTimeout: stuck})
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	errs := make(chan error, 2)
	// The whole log is checked before anything is served: serve's verdict
	// is its own, never a file's that anyone could delete.
	chain := newChainWatch(e.global.data, store, log)
	chain.fullCheck(ctx)
	// The HTTP API (and its address file) first, the writers after: on a
	// disk that fills up, serve is up and says so (/readyz) rather than
	// failing to start because the relay took the last block.
	if f.http.addr != "" {
		stopped, err := e.serveHTTP(ctx, log, f.http, store, models, r, errs, chain, f.maxRelayLag)
		if err != nil {
			return err
		}
		// Before the store closes: in-flight commands finish first.
		defer func() { cancel(); <-stopped }()
	}
	go func() { errs <- r.Run(ctx) }()
	// The notary's follower keeps the Merkle tree up to date; with a
	// signer key, checkpoints are signed and published as the log grows.
	// Each goroutine has its own handle on the tree.
	follower, err := e.openTree()
	if err != nil {
		return err
	}
	defer follower.Close()
	go retry(ctx, log, "notary follower", func() error { return follower.Follow(ctx, store) })
	if f.sign != nil {
		signing, err := e.openTree()
		if err != nil {
			return err
		}
		defer signing.Close()
		c := &checkpointer{log: log, tree: signing, store: store, js: js, signer: f.sign, witnesses: f.witnesses, replicas: f.replicas}
		go c.loop(ctx, f.checkpointEvery)
	}
	// Deferred after the trees' Close, so run before them: the goroutines
	// using the trees are told to stop first.
	defer cancel()
	go chain.run(ctx, f.verifyEvery)
	// The projections follow the log, on whichever file is current: a
	// rebuild elsewhere switches them to its file. A failure is retried,
	// since a concurrent CLI may hold the read-model lock for a moment.
	go retry(ctx, log, "projections", func() error {
		return chain.projectionsFailed(ctx, followModels(ctx, log, models, store))
	})
	log.Info("serving", "data", e.global.data, "nats", url, "stream", relay.StreamName, "http", f.http.addr)
	return superviseRelay(ctx, log, r, errs, f.statsEvery)
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
		if st, err = cosign(ctx, c.tree, st, c.witnesses); err != nil {
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

// runTail prints the ledger's events from NATS as JSON lines: the small
// downstream consumer that downstream teams copy.
// NATSAddrFile names, in the data directory, the file where serve writes
// the URL of its embedded NATS server while it runs: tail reads it.
const NATSAddrFile = "serve.nats"

// tailTarget fills in what tail connects to when the flags do not say: the
// NATS server a serve of the data directory runs (NATSAddrFile), else
// 127.0.0.1:4222; and, for the embedded server, the subscriber's
// credentials kept in the data directory.
func tailTarget(e *env, nf *natsFlags) {
	if nf.url == "" {
		nf.url = "nats://127.0.0.1:4222"
		if raw, err := os.ReadFile(filepath.Join(e.global.data, NATSAddrFile)); err == nil {
			nf.url = strings.TrimSpace(string(raw))
		}
	}
	if nf.user == "" && nf.token == "" && nf.creds == "" && nf.nkey == "" {
		if seed := natsserver.SeedFile(e.global.data, natsserver.RoleSubscriber); fileExists(seed) {
			nf.nkey = seed
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func runTail(e *env, args []string) error {
	fs := e.flags("tail")
	var nf natsFlags
	nf.register(fs, "")
	subject := fs.String("subject", "ledger.>", "subject filter, e.g. ledger.cpts.*.PaymentDecided")
	fromStart := fs.Bool("from-start", false, "start from the first event of the stream (default: only new events)")
	limit := fs.Int("limit", 0, "stop after this many events (0: never)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	tailTarget(e, &nf)
	opts, err := nf.options("ledger tail")
	if err != nil {
		return err
	}
	nc, err := nats.Connect(nf.url, opts...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", nf.url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	policy := jetstream.DeliverNewPolicy
	if *fromStart {
		policy = jetstream.DeliverAllPolicy
	}
	// An ordered consumer: ephemeral, in stream order, recreated by the
	// library after a disconnect from where it stopped.
	cons, err := js.OrderedConsumer(e.ctx, relay.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{*subject}, DeliverPolicy: policy})
	if err != nil {
		return fmt.Errorf("consume %s: %w", relay.StreamName, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	go func() { <-e.ctx.Done(); it.Stop() }()
	out := json.NewEncoder(e.stdout)
	for n := 0; *limit == 0 || n < *limit; n++ {
		msg, err := it.Next()
		if err != nil {
			if e.ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return err
		}
		if err := out.Encode(json.RawMessage(msg.Data())); err != nil {
			return err
		}
	}
	return nil
}

// runNATSCreds prints a user's NKey seed for the embedded NATS server,
// made if serve has not made it yet: a consumer connects with it
// (--nats-nkey FILE, nats.NkeyOptionFromSeed). The seed is a secret: it is
// printed, never logged.
func runNATSCreds(e *env, args []string) error {
	fs := e.flags("nats-creds")
	role := fs.String("role", natsserver.RoleSubscriber, "subscriber (read the streams) or publisher (serve's own: publish and manage them)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *role != natsserver.RoleSubscriber && *role != natsserver.RolePublisher {
		return usageError{fmt.Sprintf("--role %q: want subscriber or publisher", *role)}
	}
	if err := e.requireLedger(); err != nil {
		return err
	}
	if _, err := natsserver.EnsureUsers(e.global.data); err != nil {
		return failed{err.Error()}
	}
	raw, err := os.ReadFile(natsserver.SeedFile(e.global.data, *role))
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(raw)
	return err
}
