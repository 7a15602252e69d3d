package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/relay"
	"github.com/cptsledger/ledger/server"
)

// tailTarget fills in what tail connects to when the flags do not say: the
// NATS server a serve of the data directory runs (server.NATSAddrFile), else
// 127.0.0.1:4222; and, for the embedded server, the subscriber's
// credentials kept in the data directory.
func tailTarget(e *cli.Env, nf *natsFlags) {
	if nf.url == "" {
		nf.url = "nats://127.0.0.1:4222"
		if raw, err := os.ReadFile(filepath.Join(e.Global.Data, server.NATSAddrFile)); err == nil {
			nf.url = strings.TrimSpace(string(raw))
		}
	}
	if nf.user == "" && nf.token == "" && nf.creds == "" && nf.nkey == "" {
		if seed := natsserver.SeedFile(e.Global.Data, natsserver.RoleSubscriber); fileExists(seed) {
			nf.nkey = seed
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// runTail prints the ledger's events from NATS as JSON lines: the small
// downstream consumer that downstream teams copy.
func runTail(e *cli.Env, args []string) error {
	fs := e.Flags("tail")
	var nf natsFlags
	nf.register(fs, "")
	subject := fs.String("subject", "ledger.>", "subject filter, e.g. ledger.cpts.*.PaymentDecided")
	fromStart := fs.Bool("from-start", false, "start from the first event of the stream (default: only new events)")
	limit := fs.Int("limit", 0, "stop after this many events (0: never)")
	if err := e.Parse(fs, args); err != nil {
		return err
	}
	tailTarget(e, &nf)
	opts, err := nf.options("ledger tail")
	if err != nil {
		return err
	}
	nc, err := nats.Connect(nf.url, opts...)
	if errors.Is(err, nats.ErrNoServers) {
		return cli.Fail(fmt.Sprintf("no NATS server answers at %s: the ledger's events are on the NATS server that ledger serve runs — start it (ledger --data %s serve) and run tail again, or name another server with --nats-url", nf.url, e.Global.Data))
	}
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", nf.url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return relay.Tail(e.Ctx, js, relay.TailOptions{Subject: *subject, FromStart: *fromStart, Limit: *limit}, e.Stdout)
}
