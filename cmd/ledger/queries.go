package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// models returns the read models of the data directory; messages a user
// should see (a file rebuilt, one moved aside) go to standard error.
func (e *env) models() *projections.Set {
	return projections.NewSet(e.global.data, func(msg string) { fmt.Fprintln(e.stderr, "ledger: "+msg) })
}

// reads runs fn on the read side (the store and its read models) and
// closes it.
func (e *env) reads(fn func(*query.Ledger) error) error {
	store, err := e.openStore()
	if err != nil {
		return err
	}
	defer store.Close()
	if err := e.guardChain(store); err != nil {
		return err
	}
	models := e.models()
	defer models.Close()
	if err := e.guardModels(models); err != nil {
		return err
	}
	return e.chainFailure("projections", unknown(fn(query.New(store, models, e.schemes))))
}

// unknown turns a missing contract into a failed check (exit 1).
func unknown(err error) error {
	if query.IsUnknown(err) {
		return failed{err.Error()}
	}
	return err
}

func (e *env) printJSON(v any) error { return query.EncodeJSON(e.stdout, v) }

func contractFlag(fs interface {
	String(string, string, string) *string
}) *string {
	return fs.String("contract", "", "contract id (UUID)")
}

func parseContract(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, usageError{"--contract is required"}
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, usageError{fmt.Sprintf("--contract %q is not a UUID", s)}
	}
	return id, nil
}

// parseContractQuery parses the flags of a query on one contract
// (payments, balance, audit): --contract and the bitemporal window.
func (e *env) parseContractQuery(name string, args []string, asOfHelp string) (uuid.UUID, query.Window, error) {
	fs := e.flags(name)
	contract := contractFlag(fs)
	window := e.windowFlags(fs, asOfHelp)
	// The contract may also come first, without its flag:
	// ledger payments ID --as-of 2022-01-01.
	positional := ""
	if len(args) > 0 && args[0] != "" && !strings.HasPrefix(args[0], "-") {
		positional, args = args[0], args[1:]
	}
	if err := e.parse(fs, args); err != nil {
		return uuid.Nil, query.Window{}, err
	}
	if positional != "" {
		if *contract != "" && *contract != positional {
			return uuid.Nil, query.Window{}, usageError{"the contract is given twice (as an argument and --contract), differently"}
		}
		*contract = positional
	}
	id, err := parseContract(*contract)
	if err != nil {
		return uuid.Nil, query.Window{}, err
	}
	w, err := window()
	return id, w, err
}

// windowFlags registers --as-of and --known-at, and returns how to read
// them after parsing.
func (e *env) windowFlags(fs *flag.FlagSet, asOfHelp string) func() (query.Window, error) {
	asOf := fs.String("as-of", "", asOfHelp)
	knownAt := fs.String("known-at", "", "only what the ledger had recorded by then: a date (the end of that day, UTC) or an RFC 3339 time, seconds optional (e.g. 2024-03-01T12:00:00Z); unset: now")
	return func() (query.Window, error) {
		var w query.Window
		var err error
		if w.AsOf, err = e.parseAsOf(*asOf); err != nil {
			return w, err
		}
		if *knownAt != "" {
			if w.KnownAt, err = query.ParseKnownAt(*knownAt); err != nil {
				return w, usageError{"--known-at: " + err.Error()}
			}
			w.Known = true
		}
		return w, nil
	}
}

// dateWindowFlags registers --as-of (default today), --known-at and
// --within (days), and returns how to read them after parsing.
func (e *env) dateWindowFlags(fs *flag.FlagSet, asOfHelp string, defaultWithin int, withinHelp string) func() (query.Window, int, error) {
	window := e.windowFlags(fs, asOfHelp)
	within := fs.Int("within", defaultWithin, withinHelp+fmt.Sprintf(" (0 to %d)", query.MaxWithinDays))
	return func() (query.Window, int, error) {
		w, err := window()
		if err != nil {
			return w, 0, err
		}
		if w.AsOf.IsZero() {
			w.AsOf = domain.DateOf(time.Now())
		}
		if *within < 0 || *within > query.MaxWithinDays {
			return w, 0, usageError{fmt.Sprintf("--within must be 0 to %d days, got %d", query.MaxWithinDays, *within)}
		}
		return w, *within, nil
	}
}

// parseAsOf reads a business date given to a query: a date the schemes'
// rulebooks cover, or "" (none).
func (e *env) parseAsOf(s string) (domain.Date, error) {
	if s == "" {
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return d, usageError{"--as-of: " + err.Error()}
	}
	if dates := domain.CalendarOf(e.schemes); !dates.Contains(d) {
		return d, usageError{fmt.Sprintf("--as-of: %s is outside the dates the rulebooks cover (%s)", d, dates)}
	}
	return d, nil
}
