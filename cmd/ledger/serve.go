package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cptsledger/ledger/internal/cli"
	"github.com/cptsledger/ledger/internal/dirlock"
	"github.com/cptsledger/ledger/internal/natsserver"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/server"
)

// natsFlags are the connection flags shared by serve and tail.
type natsFlags struct {
	url, user, password, token, creds, nkey string
	tlsCA, tlsCert, tlsKey                  string
	tlsInsecure                             bool
}

func (n *natsFlags) register(fs *flag.FlagSet, defaultURL string) {
	fs.StringVar(&n.url, "nats-url", cli.EnvOr("LEDGER_NATS_URL", defaultURL), "NATS server URL(s), comma-separated (env LEDGER_NATS_URL)")
	fs.StringVar(&n.user, "nats-user", cli.EnvOr("LEDGER_NATS_USER", ""), "NATS user (env LEDGER_NATS_USER)")
	fs.StringVar(&n.password, "nats-password", cli.EnvOr("LEDGER_NATS_PASSWORD", ""), "NATS password (env LEDGER_NATS_PASSWORD)")
	fs.StringVar(&n.token, "nats-token", cli.EnvOr("LEDGER_NATS_TOKEN", ""), "NATS token (env LEDGER_NATS_TOKEN)")
	fs.StringVar(&n.creds, "nats-creds", cli.EnvOr("LEDGER_NATS_CREDS", ""), "NATS credentials file (JWT + NKey seed)")
	fs.StringVar(&n.nkey, "nats-nkey", cli.EnvOr("LEDGER_NATS_NKEY", ""), "NATS NKey seed file")
	fs.StringVar(&n.tlsCA, "nats-tls-ca", "", "CA certificate file to verify the NATS server")
	fs.StringVar(&n.tlsCert, "nats-tls-cert", "", "client certificate file (mutual TLS)")
	fs.StringVar(&n.tlsKey, "nats-tls-key", "", "client key file (mutual TLS)")
	fs.BoolVar(&n.tlsInsecure, "nats-tls-insecure", false, "do not verify the server's certificate (testing only)")
}

// options turns the flags into nats.go options (natsserver.ClientOptions).
func (n *natsFlags) options(name string) ([]nats.Option, error) {
	if (n.tlsCert == "") != (n.tlsKey == "") {
		return nil, cli.Usage("--nats-tls-cert and --nats-tls-key go together")
	}
	opts, err := natsserver.ClientOptions(name, natsserver.Client{User: n.user, Password: n.password, Token: n.token, Creds: n.creds,
		NKeySeedFile: n.nkey, TLSCA: n.tlsCA, TLSCert: n.tlsCert, TLSKey: n.tlsKey, TLSInsecure: n.tlsInsecure})
	if err != nil {
		return nil, cli.Fail(err.Error())
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
	witnesses       cli.FilesFlag  // URLs of the witnesses that cosign
}

// parseServe parses and checks serve's flags, and loads the signer key if
// one is given.
func parseServe(e *cli.Env, args []string) (*serveFlags, error) {
	f := &serveFlags{}
	fs := e.Flags("serve")
	f.nats.register(fs, "")
	fs.StringVar(&f.listen, "nats-listen", cli.EnvOr("LEDGER_NATS_LISTEN", "127.0.0.1:4222"), "address of the embedded NATS server, when --nats-url is not given")
	fs.DurationVar(&f.dupWindow, "dup-window", 10*time.Minute, "JetStream duplicate window of the LEDGER stream")
	fs.IntVar(&f.replicas, "nats-replicas", 1, "replicas of the LEDGER and LEDGER_CHECKPOINTS streams: 3 on a JetStream cluster (1 for the embedded server)")
	fs.DurationVar(&f.statsEvery, "log-every", 30*time.Second, "how often to log the relay's lag")
	fs.StringVar(&f.keyFile, "signing-key", "", "signer key: sign a checkpoint whenever the log has grown and publish it on ledger.checkpoints (env LEDGER_SIGNING_KEY)")
	fs.DurationVar(&f.checkpointEvery, "checkpoint-every", time.Minute, "how often to look for growth to sign, with --signing-key")
	fs.Var(&f.witnesses, "witness", "the URL of a witness that cosigns each checkpoint before it is published (repeatable; with --signing-key)")
	fs.DurationVar(&f.maxRelayLag, "max-relay-lag", time.Minute, "how long the NATS relay may have events waiting without advancing before /readyz answers 503")
	fs.DurationVar(&f.verifyEvery, "verify-every", 24*time.Hour, "how often to check the whole log's hash chains again (it is checked at start, and every event as it is projected)")
	f.http.register(fs)
	if err := e.Parse(fs, args); err != nil {
		return nil, err
	}
	if f.verifyEvery < time.Second {
		return nil, cli.Usage("--verify-every must be at least 1s")
	}
	if err := f.http.check(); err != nil {
		return nil, err
	}
	if f.replicas < 1 || f.replicas > 5 {
		return nil, cli.Usage("--nats-replicas must be 1 to 5 (JetStream's limit)")
	}
	if len(f.witnesses) > 0 && f.keyFile == "" && os.Getenv("LEDGER_SIGNING_KEY") == "" {
		return nil, cli.Usage("--witness cosigns the checkpoints serve signs: give --signing-key too")
	}
	if f.keyFile != "" || os.Getenv("LEDGER_SIGNING_KEY") != "" {
		var err error
		if f.sign, err = signer(f.keyFile); err != nil {
			return nil, err
		}
		if f.checkpointEvery < time.Second/10 {
			return nil, cli.Usage("--checkpoint-every must be at least 100ms")
		}
	}
	return f, nil
}

// lockServe takes the data directory's serve lock: one serve per data
// directory, since two would share the relay's checkpoint and the embedded
// NATS store, and skip events for ever.
func lockServe(e *cli.Env) (*dirlock.Lock, error) {
	if err := os.MkdirAll(e.Global.Data, 0o700); err != nil {
		return nil, err
	}
	lock, err := dirlock.Acquire(filepath.Join(e.Global.Data, "serve.lock"))
	var held *dirlock.HeldError
	if errors.As(err, &held) {
		who := "another ledger serve or demo"
		if held.PID > 0 {
			who += fmt.Sprintf(" (pid %d)", held.PID)
		}
		return nil, cli.Fail(fmt.Sprintf("%s is running on the data directory %s (lock %s): stop it first; one serve per data directory", who, e.Global.Data, held.Path))
	}
	return lock, err
}

// runServe runs the projections, the NATS relay, the notary's follower (and
// checkpoints, with a signer key) and the HTTP API until interrupted
// (server.Run): here, its flags, the serve lock and the store.
func runServe(e *cli.Env, args []string) error {
	f, err := parseServe(e, args)
	if err != nil {
		return err
	}
	if err := e.RequireLedger(); err != nil {
		return err
	}
	lock, err := lockServe(e)
	if err != nil {
		return err
	}
	defer lock.Release()
	opts, err := f.nats.options("ledger serve")
	if err != nil {
		return err
	}
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	return server.Run(e.Ctx, server.Config{DataDir: e.Global.Data, Schemes: e.Schemes, Keys: e.Keys, ReplayHistory: replayHistory,
		Log: cli.NewInfoLogger(e.Stderr), NATSURL: f.nats.url, NATSListen: f.listen, NATSOptions: opts,
		DupWindow: f.dupWindow, Replicas: f.replicas, StatsEvery: f.statsEvery, MaxRelayLag: f.maxRelayLag,
		Signer: f.sign, Witnesses: f.witnesses, CheckpointEvery: f.checkpointEvery, VerifyEvery: f.verifyEvery,
		HTTPAddr: f.http.addr, TLSCert: f.http.cert, TLSKey: f.http.key}, store)
}

// httpFlags are serve's HTTP API flags.
type httpFlags struct {
	addr, cert, key string
}

func (h *httpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.addr, "http", cli.EnvOr("LEDGER_HTTP", "127.0.0.1:8080"), "address of the HTTP API; '' turns it off (env LEDGER_HTTP)")
	fs.StringVar(&h.cert, "tls-cert", "", "certificate file: serve HTTPS")
	fs.StringVar(&h.key, "tls-key", "", "key file of --tls-cert")
}

func (h *httpFlags) check() error {
	if (h.cert == "") != (h.key == "") {
		return cli.Usage("--tls-cert and --tls-key go together")
	}
	return nil
}
