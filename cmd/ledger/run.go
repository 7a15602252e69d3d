package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/eventstore/esdb"
)

// Exit statuses (design.md section 6).
const (
	exitOK       = 0
	exitRejected = 1 // a rejected command or a failed check
	exitUsage    = 2
)

// env is what every subcommand gets: its streams, the global options, and
// a way to open the store.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	global globalFlags
	// schemes are the payment schemes the ledger serves: one value, given
	// to the command path and bounding the dates of the queries.
	schemes []domain.Scheme
	// progressShown is set while a progress bar's line is open.
	progressShown bool
}

type globalFlags struct {
	data    string
	store   string
	esdbURL string
	json    bool
}

// register adds the global flags to a flag set, so that they are accepted
// before and after the subcommand's name.
func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.data, "data", g.data, "data directory of the embedded store (env LEDGER_DATA)")
	fs.StringVar(&g.store, "store", g.store, "event store backend: embedded or esdb (env LEDGER_STORE)")
	fs.StringVar(&g.esdbURL, "esdb-url", g.esdbURL, "EventStoreDB connection string (env LEDGER_ESDB_URL)")
	fs.BoolVar(&g.json, "json", g.json, "print JSON instead of a table")
}

// requireLedger refuses a data directory that holds no ledger: a
// mistyped --data must not answer "ok" on an empty folder, nor create one.
// (With --store esdb the ledger is the server's.)
func (e *env) requireLedger() error {
	if e.global.store != "" && e.global.store != "embedded" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(e.global.data, "events.db")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return failed{fmt.Sprintf("no ledger in %s (no events.db there): check --data (or LEDGER_DATA); ledger init starts a new one", e.global.data)}
		}
		return err
	}
	return nil
}

// openStore opens the event store of an existing ledger.
func (e *env) openStore() (eventstore.Store, error) {
	if err := e.requireLedger(); err != nil {
		return nil, err
	}
	return e.createStore()
}

// createStore opens the event store, creating the ledger when the data
// directory holds none: for init, submit, demo and restore only.
func (e *env) createStore() (eventstore.Store, error) {
	switch e.global.store {
	case "", "embedded":
		return embedded.Open(e.ctx, filepath.Join(e.global.data, "events.db"), embedded.Options{Logger: e.log})
	case "esdb":
		if e.global.esdbURL == "" {
			return nil, usageError{"--store esdb needs --esdb-url (or LEDGER_ESDB_URL), e.g. esdb://localhost:2113?tls=false"}
		}
		return esdb.Open(e.global.esdbURL, esdb.Options{Logger: e.log})
	}
	return nil, usageError{fmt.Sprintf("--store %q: want embedded or esdb", e.global.store)}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

type command struct {
	name    string
	summary string
	usage   string
	run     func(e *env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"init", "start a new, empty ledger in the data directory", "init", runInit},
		{"submit", "apply commands from a JSON-lines file", "submit --file F   (F = - for standard input)", runSubmit},
		{"payments", "list a contract's payment decisions", "payments --contract ID", runPayments},
		{"balance", "decided amounts of a contract, by contract year", "balance --contract ID [--as-of DATE]", runBalance},
		{"alerts", "deadline alerts of every live contract", "alerts [--as-of DATE] [--within DAYS]", runAlerts},
		{"audit", "a contract's events with their envelope and hash chain", "audit --contract ID [--as-of DATE]", runAudit},
		{"verify", "check every hash chain, and the log against signed checkpoints", "verify [--checkpoint FILE]... [--verifier-key FILE]", runVerify},
		{"keygen", "make a signer key for checkpoints (prints its verifier key)", "keygen --name NAME --out FILE", runKeygen},
		{"checkpoint", "sign a checkpoint of the Merkle tree over the whole log", "checkpoint --signing-key FILE [--origin ORIGIN]", runCheckpoint},
		{"checkpoints", "list every checkpoint signed", "checkpoints", runCheckpoints},
		{"prove", "prove an event is in a checkpoint's tree, or two checkpoints consistent", "prove --event ID --checkpoint FILE | prove --from OLD --to NEW", runProve},
		{"verify-proof", "check a proof offline, with only the verifier key", "verify-proof --proof FILE --verifier-key FILE", runVerifyProof},
		{"backup", "write a consistent copy of the event store while the ledger runs", "backup --out FILE", runBackup},
		{"restore", "fill an empty data directory from a backup, verify it and build the read models", "restore --from FILE", runRestore},
		{"rebuild", "rebuild the read models from the whole log, with a progress bar", "rebuild", runRebuild},
		{"schedule", "what falls due: advances, reports awaited, balances, top-ups", "schedule [--as-of DATE] [--within DAYS]", runSchedule},
		{"totals", "decided amounts per calendar year, by scheme, CPAM, ARS or tier", "totals [--by year|scheme|cpam|ars|tier]", runTotals},
		{"export", "export payments as CSV, one row per breakdown line", "export payments --format csv [--sep ';'] [--contract ID]", runExport},
		{"demo", "generate a national history, submit it and report", "demo [--seed N] [--today DATE] [--contracts N]", runDemo},
		{"serve", "run the HTTP API, the projections and the NATS relay (embedded NATS server by default)", "serve [--http HOST:PORT] [--nats-url URL] [--nats-listen HOST:PORT]", runServe},
		{"token", "bearer tokens of the HTTP API: create (printed once), list, revoke", "token create --name NAME --role auditor|finance|agent|admin [--cpam CPAM] | token list | token revoke --name NAME", runToken},
		{"tail", "print the ledger's events from NATS as JSON lines", "tail [--subject PATTERN] [--from-start] [--limit N]", runTail},
		{"version", "print the version", "version", runVersion},
	}
}

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := globalFlags{data: envOr("LEDGER_DATA", "./data"), store: envOr("LEDGER_STORE", "embedded"), esdbURL: os.Getenv("LEDGER_ESDB_URL")}
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	fs.Usage = func() { printHelp(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" || name == "-h" {
		if len(rest) > 0 {
			if c, ok := lookup(rest[0]); ok {
				fmt.Fprintf(stdout, "ledger %s — %s\n\nusage: ledger [--data DIR] [--json] %s\n", c.name, c.summary, c.usage)
				return exitOK
			}
		}
		printHelp(stdout)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "ledger: unknown command %q\n", name)
		printHelp(stderr)
		return exitUsage
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, global: g, schemes: app.DefaultSchemes(),
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	err := c.run(e, rest)
	var ue usageError
	var fail failed
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ledger %s: %s\nusage: ledger %s\n", name, ue.msg, c.usage)
		return exitUsage
	case errors.As(err, &fail):
		if fail.msg != "" {
			fmt.Fprintf(stderr, "ledger %s: %s\n", name, fail.msg)
		}
		return exitRejected
	default:
		fmt.Fprintf(stderr, "ledger %s: %v\n", name, err)
		return exitRejected
	}
}

// failed is a command that ran but whose result is a failure (a rejected
// command, a broken chain): exit status 1.
type failed struct{ msg string }

func (f failed) Error() string { return f.msg }

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "ledger — event-sourced ledger of conventional payments (CPTS funding under the ACI)")
	fmt.Fprintln(w, "\nusage: ledger [--data DIR] [--store embedded|esdb] [--esdb-url URL] [--json] <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	for _, n := range names {
		c, _ := lookup(n)
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nexit status: 0 success, 1 a rejected command or failed check, 2 bad usage")
	fmt.Fprintln(w, "run 'ledger help <command>' for a command's flags")
}

// flags returns a flag set for a subcommand with the global flags on it.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ledger "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.global.register(fs)
	return fs
}

func (e *env) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func runVersion(e *env, args []string) error {
	if err := e.parse(e.flags("version"), args); err != nil {
		return err
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintf(e.stdout, "ledger %s\n", strings.TrimSpace(v))
	return nil
}

// newInfoLogger logs at info level on w: for long-running commands.
func newInfoLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
