// Package natsserver runs an in-process nats-server with JetStream: the
// default of `ledger serve` (no server to install) and the real server the
// tests talk to.
package natsserver

import (
	"fmt"
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
	so := &server.Options{
		ServerName: name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	}
	if opts.Users != nil {
		so.Nkeys = NkeyUsers(*opts.Users)
	}
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
