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
	"sync"
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
	if port == 0 {
		port = server.RANDOM_PORT // 0 means the default 4222 to nats-server
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
// the server undoes either once space is back. The supervisor restarts the
// embedded server — on the same address and store directory, its streams
// recovered from the store; clients reconnect — when its JetStream is
// disabled (trying every period until it starts), and when told that it
// stopped acknowledging (Kick: the relay's acknowledgement timed out), at
// most once every 15 seconds. (Enabling JetStream again inside a running
// server races with its API dispatch, which the race detector shows: a
// whole restart does not.)
type Supervisor struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}

	mu     sync.Mutex
	s      *server.Server
	closed bool
}

// NewSupervisor returns the supervisor of s, started with opts.
func NewSupervisor(s *server.Server, opts Options, log *slog.Logger) *Supervisor {
	if a := s.Addr(); a != nil {
		opts.Listen = a.String() // a port picked at start is kept: clients reconnect to it
	}
	return &Supervisor{opts: opts, log: log, kick: make(chan struct{}, 1), s: s}
}

// Kick says JetStream did not acknowledge in time.
func (v *Supervisor) Kick() {
	select {
	case v.kick <- struct{}{}:
	default:
	}
}

// Shutdown stops the server for good (serve's end).
func (v *Supervisor) Shutdown() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if v.s != nil {
		v.s.Shutdown()
		v.s.WaitForShutdown()
	}
}

// Run supervises until ctx ends, looking every period.
func (v *Supervisor) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var restarted time.Time
	for {
		why := ""
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if !v.jetStreamUp() {
				why = "its JetStream is disabled (its store was out of space?)"
			}
		case <-v.kick:
			if time.Since(restarted) > 15*time.Second {
				why = "its JetStream does not acknowledge"
			}
		}
		if why == "" {
			continue
		}
		restarted = time.Now()
		if err := v.restart(why); err != nil {
			v.log.Warn("nats: the embedded server cannot start yet", "err", err, "retry_in", every)
		}
	}
}

func (v *Supervisor) jetStreamUp() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.closed || v.s != nil && v.s.JetStreamEnabled()
}

// restart stops the server and starts it again.
func (v *Supervisor) restart(why string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	if v.s != nil {
		v.log.Error("nats: restarting the embedded server: " + why)
		v.s.Shutdown()
		v.s.WaitForShutdown()
		v.s = nil
	}
	s, err := Start(v.opts)
	if err != nil {
		return err
	}
	v.s = s
	v.log.Info("nats: JetStream enabled again", "url", s.ClientURL())
	return nil
}
