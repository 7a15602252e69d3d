// Package natsserver runs an in-process nats-server with JetStream: the
// default of `ledger serve` (no server to install) and the real server the
// tests talk to.
package natsserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options of an embedded server.
type Options struct {
	// Listen is host:port; port -1 picks a free one (tests).
	Listen string
	// StoreDir holds JetStream's file storage.
	StoreDir string
	// ServerName names the server in logs and monitoring.
	ServerName string
	// Users, when set, are the only clients the server takes (EnsureUsers):
	// serve's publisher and the consumers' subscriber. Without, anyone may
	// connect (the relay's own tests).
	Users *Users
}

// CheckFree tells, at once, whether the address can be listened on: the
// server itself would only fail to become ready after a while.
func CheckFree(listen string) error {
	if _, port, err := net.SplitHostPort(listen); err == nil && (port == "-1" || port == "0") {
		return nil // a free port is picked
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("the NATS address %s is in use or cannot be listened on (%v): choose another with --nats-listen, or give --nats-url to use a running server", listen, err)
	}
	return l.Close()
}

// Start starts a server and waits until it accepts connections.
func Start(opts Options) (*server.Server, error) {
	host, portText, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("natsserver: listen address %q: %w", opts.Listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("natsserver: port %q: %w", portText, err)
	}
	name := opts.ServerName
	if name == "" {
		name = "ledger-embedded"
	}
	so := &server.Options{}
	if opts.Users != nil {
		if err := ConfigureAccounts(so, *opts.Users); err != nil {
			return nil, err
		}
	}
	so.ServerName, so.Host, so.Port = name, host, port
	so.JetStream, so.StoreDir = true, opts.StoreDir
	// The disk decides, not a share of the space free at start: a limit
	// computed then (75 % of what was free) would stay low once space is
	// given back, and JetStream refuse writes for ever.
	so.JetStreamMaxStore = MaxStore
	so.NoSigs, so.NoLog = true, true
	s, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("natsserver: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsserver: not ready on %s within 10 s", opts.Listen)
	}
	return s, nil
}

// MaxStore is the embedded JetStream's storage limit: 1 TiB, that is, the
// disk's own.
const MaxStore = 1 << 40

// Supervisor keeps the embedded server's JetStream working, without a
// restart of serve, after its store hit a full disk. JetStream then either
// disables itself ("out of space, will be DISABLED") or keeps a stream
// whose store failed a write, which acknowledges nothing more; nothing in
// the server undoes either once space is back. The supervisor enables a
// disabled JetStream again (its streams recovered from the store
// directory), trying every period, and restarts one that stopped
// acknowledging when told so (Kick: the relay's acknowledgement timed
// out), at most once every 15 seconds.
type Supervisor struct {
	s        *server.Server
	storeDir string
	log      *slog.Logger
	kick     chan struct{}
}

// NewSupervisor returns the supervisor of s, whose JetStream store is in
// storeDir.
func NewSupervisor(s *server.Server, storeDir string, log *slog.Logger) *Supervisor {
	return &Supervisor{s: s, storeDir: storeDir, log: log, kick: make(chan struct{}, 1)}
}

// Kick says JetStream did not acknowledge in time.
func (v *Supervisor) Kick() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// Run supervises until ctx ends, looking every period.
func (v *Supervisor) Run(ctx context.Context, every time.Duration) {
	// Its limits as started (StoreDir holds the "jetstream" directory that
	// EnableJetStream adds again: given without it).
	var cfg *server.JetStreamConfig
	if c := v.s.JetStreamConfig(); c != nil {
		copied := *c
		copied.StoreDir = v.storeDir
		cfg = &copied
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	disabled := false
	var restarted time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-v.kick:
			if v.s.JetStreamEnabled() && time.Since(restarted) > 15*time.Second {
				v.log.Warn("nats: JetStream does not acknowledge; restarting it (its streams are recovered from the store directory)")
				restarted = time.Now()
				if err := v.s.ShutdownJetStream(); err != nil {
					v.log.Warn("nats: JetStream did not stop", "err", err)
				}
			}
		}
		if v.s.JetStreamEnabled() {
			if disabled {
				v.log.Info("nats: JetStream enabled again")
				disabled = false
			}
			continue
		}
		if !disabled {
			v.log.Error("nats: JetStream is disabled (its store was out of space, or it was restarted); enabling it again once it can write")
			disabled = true
		}
		again := &server.JetStreamConfig{StoreDir: v.storeDir, MaxStore: MaxStore}
		if cfg != nil {
			c := *cfg
			again = &c
		}
		if err := v.s.EnableJetStream(again); err != nil {
			v.log.Warn("nats: JetStream cannot be enabled yet", "err", err, "retry_in", every)
			continue
		}
		v.log.Info("nats: JetStream enabled again")
		disabled = false
	}
}
