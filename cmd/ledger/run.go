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
	"sort"

	"github.com/cptsledger/ledger/internal/buildinfo"

	"github.com/cptsledger/ledger/internal/private"

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
	// command is the command being run (for its help).
	command command
	// capture, for completion: parse records the flag set and stops.
	capture  bool
	captured *flag.FlagSet
	// level is the log level: --log-level may come after the command.
	level slog.LevelVar
}

type globalFlags struct {
	data     string
	store    string
	esdbURL  string
	json     bool
	logLevel string
	level    slog.Level
	version  bool
}

// register adds the global flags to a flag set, so that they are accepted
// before and after the subcommand's name.
func (g *globalFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.data, "data", g.data, "data directory of the embedded store (env LEDGER_DATA)")
	fs.StringVar(&g.store, "store", g.store, "event store backend: embedded or esdb (env LEDGER_STORE)")
	fs.StringVar(&g.esdbURL, "esdb-url", g.esdbURL, "EventStoreDB connection string (env LEDGER_ESDB_URL)")
	fs.BoolVar(&g.json, "json", g.json, "print JSON instead of a table")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log level: debug (with the EventStoreDB client's own lines), info, warn or error (env LEDGER_LOG_LEVEL)")
	fs.BoolVar(&g.version, "version", false, "print the version and exit")
}

// parseLevel reads --log-level.
func (g *globalFlags) parseLevel() error {
	switch g.logLevel {
	case "debug":
		g.level = slog.LevelDebug
	case "info":
		g.level = slog.LevelInfo
	case "", "warn":
		g.level = slog.LevelWarn
	case "error":
		g.level = slog.LevelError
	default:
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	return nil
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
	private.Check(e.global.data, func(msg string) { fmt.Fprintln(e.stderr, "ledger: warning: "+msg) })
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

// command is one subcommand: its name, what it does, its synopsis, an
// example, and its run function, which defines its flags — the one source
// of its help (ledger help CMD, ledger CMD -h) and of shell completion.
type command struct {
	name    string
	summary string
	usage   string
	example string
	run     func(e *env, args []string) error
}

var commands []command

func init() {
	const id = "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80"
	commands = []command{
		{"init", "start a new, empty ledger in the data directory", "init", "ledger --data /srv/ledger init", runInit},
		{"submit", "apply commands from a JSON-lines file", "submit --file F   (F = - for standard input)", "ledger submit --file examples/t2-contract.jsonl", runSubmit},
		{"contracts", "find contracts: by name or id, CPAM, ARS, tier, scheme, status", "contracts [--q TEXT] [--cpam C] [--ars A] [--tier T] [--scheme S] [--status live|terminated] [--as-of DATE] [--known-at TIME] [--limit N] [--cursor C]", "ledger contracts --q 'val de loire' --status live", runContracts},
		{"contract", "a contract's terms, status, balance and next deadline", "contract ID [--as-of DATE] [--known-at TIME]", "ledger contract " + id + " --as-of 2021-12-31", runContract},
		{"payments", "list a contract's payment decisions", "payments --contract ID [--as-of DATE] [--known-at TIME]", "ledger payments --contract " + id + " --as-of 2021-12-31", runPayments},
		{"balance", "decided amounts of a contract, by contract year", "balance --contract ID [--as-of DATE] [--known-at TIME]", "ledger balance --contract " + id, runBalance},
		{"alerts", "deadline alerts of every live contract", "alerts [--as-of DATE] [--known-at TIME] [--within DAYS] [--status S] [--cpam C] [--ars A]", "ledger alerts --status overdue --cpam 'CPAM du Loiret'", runAlerts},
		{"audit", "a contract's events with their envelope and hash chain", "audit --contract ID [--as-of DATE] [--known-at TIME]", "ledger audit --contract " + id, runAudit},
		{"verify", "check every hash chain, the log against signed checkpoints, and the read models against the log (without a checkpoint it proves internal consistency only: a consistent rewrite or a truncated log passes)", "verify [--checkpoint FILE]... [--verifier-key FILE] [--witness-key FILE]... [--witnesses N] [--log-only]", "ledger verify --checkpoint cp-19 --verifier-key verifier.pub", runVerify},
		{"keygen", "make a signer key for checkpoints (prints its verifier key)", "keygen --name NAME --out FILE", "ledger keygen --name cpam-ledger --out signer.key > verifier.pub", runKeygen},
		{"checkpoint", "sign a checkpoint of the Merkle tree over the whole log", "checkpoint --signing-key FILE [--origin ORIGIN] [--witness URL]...", "ledger checkpoint --signing-key signer.key --witness http://witness.example:7401 > cp-19", runCheckpoint},
		{"witness", "run a witness: cosign the ledger's checkpoints, each only when consistent with the last it cosigned", "witness --signing-key FILE --log-key FILE [--listen HOST:PORT] [--memory FILE]", "ledger witness --signing-key witness.key --log-key verifier.pub --listen 127.0.0.1:7401", runWitness},
		{"checkpoints", "list every checkpoint signed", "checkpoints", "ledger --json checkpoints", runCheckpoints},
		{"prove", "prove an event is in a checkpoint's tree, or two checkpoints consistent", "prove --event ID --checkpoint FILE | prove --from OLD --to NEW", "ledger prove --event b1f3afeb-3333-5d57-a818-406821badb68 --checkpoint cp-19 > proof.json", runProve},
		{"verify-proof", "check a proof offline, with only the verifier key", "verify-proof --proof FILE --verifier-key FILE [--witness-key FILE]... [--witnesses N]", "ledger verify-proof --proof proof.json --verifier-key verifier.pub", runVerifyProof},
		{"backup", "write a consistent copy of the event store while the ledger runs, and its signed checkpoints in FILE.checkpoints", "backup --out FILE", "ledger backup --out /backup/ledger-$(date +%F).db", runBackup},
		{"restore", "fill an empty data directory from a backup, verify it, build the read models and keep its signed checkpoints", "restore --from FILE", "ledger --data /srv/ledger-restored restore --from /backup/ledger-2026-11-27.db", runRestore},
		{"rebuild", "rebuild the read models from the whole log, beside the live ones; refused when a hash chain is broken", "rebuild", "ledger rebuild", runRebuild},
		{"rulebooks", "rulebook versions with the amounts in force per tier, the amendments published and the crises recognised", "rulebooks [--as-of DATE] [--known-at TIME]", "ledger rulebooks --as-of 2023-01-01", runRulebooks},
		{"rulebook", "publish a rulebook amendment (amounts per tier from a date), recorded in the rulebooks stream", "rulebook publish --file F [--actor NAME]", "ledger rulebook publish --file amendment.json", runRulebook},
		{"schedule", "what falls due: advances, reports awaited, balances, top-ups", "schedule [--as-of DATE] [--known-at TIME] [--within DAYS] [--cpam C]", "ledger schedule --within 31", runSchedule},
		{"totals", "decided amounts per calendar year, by scheme, CPAM, ARS or tier", "totals [--by year|scheme|cpam|ars|tier] [--as-of DATE] [--known-at TIME]", "ledger --json totals --by cpam", runTotals},
		{"export", "export payments as CSV, one row per breakdown line or per payment", "export payments [--per line|payment] [--sep C] [--bom] [--contract ID] [--as-of DATE] [--known-at TIME]", "ledger export payments --per payment --sep ';' > payments.csv", runExport},
		{"demo", "generate a national history in its own directory, submit it and report", "demo [--seed N] [--today DATE] [--contracts N] [--aid-contracts N]", "ledger --data ./demo-data demo", runDemo},
		{"serve", "run the HTTP API and console, the projections and the NATS relay", "serve [--http HOST:PORT] [--nats-url URL,...] [--nats-replicas N] [--nats-listen HOST:PORT] [--signing-key FILE] [--verify-every DURATION]", "ledger serve --http 127.0.0.1:8080", runServe},
		{"token", "bearer tokens of the HTTP API: create (printed once), list, revoke", "token create --name NAME --role auditor|finance|agent|admin [--cpam CPAM] | token list | token revoke --name NAME", "ledger token create --name audrey --role auditor", runToken},
		{"tail", "print the ledger's events from NATS as JSON lines (by default from the serve of the data directory, with its subscriber's credentials)", "tail [--subject PATTERN] [--from-start] [--limit N]", "ledger tail --subject 'ledger.cpts.*.PaymentDecided'", runTail},
		{"nats-creds", "print the credentials of a user of the embedded NATS server (an NKey seed, for --nats-nkey): subscriber for a consumer", "nats-creds --role subscriber|publisher", "ledger nats-creds --role subscriber > consumer.nk", runNATSCreds},
		{"completion", "print a shell completion script", "completion bash|zsh|fish", "source <(ledger completion bash)", runCompletion},
		{"version", "print the version", "version [--json]", "ledger version --json", runVersion},
	}
}

// run is the whole program, testable in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Whatever the umask the process was started with, what the ledger
	// creates in its data directory is its own (internal/private).
	private.Mask()
	g := globalFlags{data: envOr("LEDGER_DATA", defaultData), store: envOr("LEDGER_STORE", "embedded"), esdbURL: os.Getenv("LEDGER_ESDB_URL"),
		logLevel: os.Getenv("LEDGER_LOG_LEVEL")}
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "ledger: %v\n(ledger help lists the commands and the global flags)\n", err)
		return exitUsage
	}
	if g.version {
		fmt.Fprintln(stdout, buildinfo.Read())
		return exitOK
	}
	if err := g.parseLevel(); err != nil {
		fmt.Fprintf(stderr, "ledger: %v\n", err)
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" || name == "-h" || name == "--help" {
		if len(rest) > 0 {
			name, rest = rest[0], []string{"-h"}
		} else {
			printHelp(stdout)
			return exitOK
		}
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "ledger: unknown command %q\n", name)
		printHelp(stderr)
		return exitUsage
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, global: g, schemes: app.DefaultSchemes(), command: c}
	e.level.Set(g.level)
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &e.level}))
	err := c.run(e, rest)
	var ue usageError
	var fail failed
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ledger %s: %s\nusage: ledger %s\n(ledger help %s lists its flags)\n", name, ue.msg, c.usage, name)
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
	fmt.Fprintln(w, "\nusage: ledger [global flags] <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	width := 0
	for _, c := range commands {
		names = append(names, c.name)
		width = max(width, len(c.name))
	}
	sort.Strings(names)
	for _, n := range names {
		c, _ := lookup(n)
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nglobal flags (before or after the command):")
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	var g globalFlags
	g.register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nexit status: 0 success, 1 a rejected command or failed check, 2 bad usage")
	fmt.Fprintln(w, "run 'ledger help <command>' (or 'ledger <command> -h') for a command's flags and an example")
}

// flags returns a flag set for a subcommand with the global flags on it.
// The flag package prints nothing itself: an error is printed once, by
// run, and -h prints the command's help on standard output (parse).
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ledger "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e.global.register(fs)
	return fs
}

// parse parses a command's flags. With -h it prints the command's help —
// its synopsis, every flag with its default, an example — and returns
// flag.ErrHelp (exit 0). In capture mode (completion) it only records the
// flag set.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	if e.capture {
		e.captured = fs
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.commandHelp(fs)
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if err := e.global.parseLevel(); err != nil {
		return usageError{err.Error()}
	}
	e.level.Set(e.global.level)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// commandHelp prints the help of the command being run.
func (e *env) commandHelp(fs *flag.FlagSet) {
	c := e.command
	fmt.Fprintf(e.stdout, "ledger %s — %s\n\nusage: ledger [global flags] %s\n\nflags:\n", c.name, c.summary, c.usage)
	fs.SetOutput(e.stdout)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	// A command with subcommands (token create|list|revoke): the flags of
	// each, every one of them.
	if subs, ok := subcommands[c.name]; ok && c.name != "completion" && fs.Name() == "ledger "+c.name {
		sets := e.flagSets(c)
		for _, sub := range subs {
			fmt.Fprintf(e.stdout, "\nflags of %s %s:\n", c.name, sub)
			ownFlags(e.stdout, sets[sub])
		}
	}
	if c.example != "" {
		fmt.Fprintf(e.stdout, "\nexample:\n  %s\n", c.example)
	}
}

func runVersion(e *env, args []string) error {
	if err := e.parse(e.flags("version"), args); err != nil {
		return err
	}
	if e.global.json {
		return e.printJSON(buildinfo.Read())
	}
	fmt.Fprintln(e.stdout, buildinfo.Read())
	return nil
}

// newInfoLogger logs at info level on w: for long-running commands.
func newInfoLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
