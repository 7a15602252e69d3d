// Package cli is the machinery of the ledger's command line, apart from
// its commands: the global flags, the dispatcher, help and completion, the
// store and the read side a command opens, and the errors that set the
// exit status. cmd/ledger holds the commands themselves, one file each,
// and hands them to Program.Run.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/eventstore/esdb"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/internal/private"
	"github.com/cptsledger/ledger/query"
)

// Exit statuses (design.md section 6).
const (
	ExitOK       = 0
	ExitRejected = 1 // a rejected command or a failed check
	ExitUsage    = 2
)

// Env is what every command gets: its streams, the global options, and a
// way to open the store and the read side.
type Env struct {
	Ctx    context.Context
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	Global Globals
	// Schemes are the payment schemes the ledger serves: one value, given
	// to the command path and bounding the dates of the queries.
	Schemes []domain.Scheme
	// Keys is the data directory's key store: the schemes seal and open
	// the doctors' personal data with it (docs/privacy.md).
	Keys *personal.Store

	program *Program
	// progressShown is set while a progress bar's line is open.
	progressShown bool
	// command is the command being run (for its help).
	command Command
	// capture, for completion: Parse records the flag set and stops.
	capture  bool
	captured *flag.FlagSet
	// level is the log level: --log-level may come after the command.
	level slog.LevelVar
}

// Globals are the flags every command accepts, before or after its name.
type Globals struct {
	Data     string
	Store    string
	ESDBURL  string
	JSON     bool
	logLevel string
	level    slog.Level
	version  bool
}

// register adds the global flags to a flag set, so that they are accepted
// before and after the command's name.
func (g *Globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.Data, "data", g.Data, "data directory of the embedded store (env LEDGER_DATA)")
	fs.StringVar(&g.Store, "store", g.Store, "event store backend: embedded or esdb (env LEDGER_STORE)")
	fs.StringVar(&g.ESDBURL, "esdb-url", g.ESDBURL, "EventStoreDB connection string (env LEDGER_ESDB_URL)")
	fs.BoolVar(&g.JSON, "json", g.JSON, "print JSON instead of a table")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "log level: debug (with the EventStoreDB client's own lines), info, warn or error (env LEDGER_LOG_LEVEL)")
	fs.BoolVar(&g.version, "version", false, "print the version and exit")
}

// parseLevel reads --log-level.
func (g *Globals) parseLevel() error {
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

// Embedded tells whether the ledger is the embedded store of the data
// directory (not an EventStoreDB server's).
func (g *Globals) Embedded() bool { return g.Store == "" || g.Store == "embedded" }

// RequireLedger refuses a data directory that holds no ledger: a
// mistyped --data must not answer "ok" on an empty folder, nor create one.
// (With --store esdb the ledger is the server's.)
func (e *Env) RequireLedger() error {
	if !e.Global.Embedded() {
		return nil
	}
	if _, err := os.Stat(filepath.Join(e.Global.Data, "events.db")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Fail(fmt.Sprintf("no ledger in %s (no events.db there): check --data (or LEDGER_DATA); ledger init starts a new one", e.Global.Data))
		}
		return err
	}
	private.Check(e.Global.Data, func(msg string) { fmt.Fprintln(e.Stderr, "ledger: warning: "+msg) })
	return nil
}

// OpenStore opens the event store of an existing ledger.
func (e *Env) OpenStore() (eventstore.Store, error) {
	if err := e.RequireLedger(); err != nil {
		return nil, err
	}
	return e.CreateStore()
}

// CreateStore opens the event store, creating the ledger when the data
// directory holds none: for init, submit, demo and restore only.
func (e *Env) CreateStore() (eventstore.Store, error) {
	switch e.Global.Store {
	case "", "embedded":
		return embedded.Open(e.Ctx, filepath.Join(e.Global.Data, "events.db"), embedded.Options{Logger: e.Log})
	case "esdb":
		if e.Global.ESDBURL == "" {
			return nil, Usage("--store esdb needs --esdb-url (or LEDGER_ESDB_URL), e.g. esdb://localhost:2113?tls=false")
		}
		return esdb.Open(e.Global.ESDBURL, esdb.Options{Logger: e.Log})
	}
	return nil, Usage(fmt.Sprintf("--store %q: want embedded or esdb", e.Global.Store))
}

// usageError is bad usage: exit status 2, with the command's synopsis.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// Usage is an error of usage (a missing or malformed flag): exit 2.
func Usage(msg string) error { return usageError{msg} }

// failed is a command that ran but whose result is a failure (a rejected
// command, a broken chain): exit status 1.
type failed struct{ msg string }

func (f failed) Error() string { return f.msg }

// Fail is a command that ran and failed: exit 1, msg printed (if any).
func Fail(msg string) error { return failed{msg} }

// PrintJSON prints v as the ledger's JSON on standard output.
func (e *Env) PrintJSON(v any) error { return query.EncodeJSON(e.Stdout, v) }

// NewInfoLogger logs at info level on w: for long-running commands.
func NewInfoLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// OpenEmbedded opens the embedded store of an existing ledger, for what
// only it can do (a consistent file copy); why names the job for the
// refusal under another backend.
func (e *Env) OpenEmbedded(why string) (*embedded.Store, error) {
	if !e.Global.Embedded() {
		return nil, Fail(why)
	}
	if err := e.RequireLedger(); err != nil {
		return nil, err
	}
	return embedded.Open(e.Ctx, filepath.Join(e.Global.Data, "events.db"), embedded.Options{Logger: e.Log})
}

// RecordRuleCorrections records, at a command's first write, the
// corrections of rule data a ledger written by an older release needs
// (app.Ledger.RecordRuleCorrections), and says so on standard error.
func (e *Env) RecordRuleCorrections(ledger *app.Ledger) error {
	recorded, err := ledger.RecordRuleCorrections(e.Ctx)
	for _, r := range recorded {
		fmt.Fprintf(e.Stderr, "ledger: rule data corrected: recorded %s (%d contracts decided with the figures it corrects: their next decision regularises)\n", r.CommandID, r.Contracts)
	}
	return err
}

// ReadDocument reads one JSON command from a file (- for standard input),
// at most domain.MaxCommandBytes, written on one line or several, and
// returns it on one line for the command path; a file of several JSON
// values is refused (what says what the command takes). A malformed
// document is returned as it is, for the decoder to name its fault.
func (e *Env) ReadDocument(file, what string) ([]byte, error) {
	var in io.Reader = e.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	raw, err := io.ReadAll(io.LimitReader(in, domain.MaxCommandBytes+1))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var first json.RawMessage
	if dec.Decode(&first) == nil {
		if _, err := dec.Token(); err != io.EOF {
			return nil, Usage(fmt.Sprintf("%s holds more than one JSON value: %s", file, what))
		}
		var compact bytes.Buffer
		if json.Compact(&compact, first) == nil {
			raw = compact.Bytes()
		}
	}
	return raw, nil
}
