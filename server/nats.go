package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cptsledger/ledger/internal/natsserver"
)

// NATSAddrFile names, in the data directory, the file where serve writes
// the URL of its embedded NATS server while it runs: tail reads it.
const NATSAddrFile = "serve.nats"

// connectNATS connects to cfg.NATSURL, or starts the embedded NATS server
// (JetStream in the data directory) and connects to it. disconnect closes
// the connection and stops the embedded server; stuck, set for the
// embedded server, is told when JetStream stops acknowledging.
func connectNATS(ctx context.Context, cfg Config) (js jetstream.JetStream, url string, disconnect func(), stuck func(), err error) {
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
	url = cfg.NATSURL
	opts := cfg.NATSOptions
	log := cfg.Log
	if url == "" {
		if err := natsserver.CheckFree(cfg.NATSListen); err != nil {
			return nil, "", disconnect, nil, err
		}
		// The embedded server takes only its two users: serve's publisher
		// and the consumers' read-only subscriber (ledger nats-creds).
		users, err := natsserver.EnsureUsers(cfg.DataDir)
		if err != nil {
			return nil, "", disconnect, nil, err
		}
		dir := filepath.Join(cfg.DataDir, "nats")
		nsOpts := natsserver.Options{Listen: cfg.NATSListen, StoreDir: dir, Users: &users}
		ns, err := natsserver.Start(nsOpts)
		if err != nil {
			return nil, "", disconnect, nil, err
		}
		// A disk that was full leaves JetStream disabled, or a stream that
		// acknowledges nothing more, unless the server starts again: serve
		// restarts it itself (no restart of serve).
		sup := natsserver.NewSupervisor(ns, nsOpts, log)
		closers = append(closers, sup.Shutdown)
		supervise, stop := context.WithCancel(ctx)
		go sup.Run(supervise, time.Second)
		closers = append(closers, stop)
		stuck = sup.Kick
		url = ns.ClientURL()
		addr := filepath.Join(cfg.DataDir, NATSAddrFile)
		if err := os.WriteFile(addr, []byte(url+"\n"), 0o600); err != nil {
			return nil, "", disconnect, nil, err
		}
		closers = append(closers, func() { os.Remove(addr) })
		seed, err := nats.NkeyOptionFromSeed(natsserver.SeedFile(cfg.DataDir, natsserver.RolePublisher))
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
