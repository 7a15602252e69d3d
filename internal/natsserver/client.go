package natsserver

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Client is how a client of the ledger (serve's publisher, tail)
// authenticates to a NATS server and checks it: at most one of user and
// password, token; a credentials file; an NKey seed file; TLS files.
type Client struct {
	User, Password, Token string
	Creds, NKeySeedFile   string
	TLSCA                 string
	TLSCert, TLSKey       string // mutual TLS: both or neither
	TLSInsecure           bool   // testing only
}

// ClientOptions are the nats.go options of a client named name: it
// reconnects for ever, waiting up to 2 s between attempts.
func ClientOptions(name string, c Client) ([]nats.Option, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second)}
	switch {
	case c.User != "" || c.Password != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	if c.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		opts = append(opts, o)
	}
	if c.TLSCA != "" {
		opts = append(opts, nats.RootCAs(c.TLSCA))
	}
	if c.TLSCert != "" || c.TLSKey != "" {
		if c.TLSCert == "" || c.TLSKey == "" {
			return nil, fmt.Errorf("a client certificate and its key go together")
		}
		opts = append(opts, nats.ClientCert(c.TLSCert, c.TLSKey))
	}
	if c.TLSInsecure {
		opts = append(opts, nats.Secure(&tls.Config{InsecureSkipVerify: true}))
	}
	return opts, nil
}
