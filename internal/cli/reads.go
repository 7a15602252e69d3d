package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/chainstatus"
	"github.com/cptsledger/ledger/internal/textout"
	"github.com/cptsledger/ledger/notary"
	"github.com/cptsledger/ledger/projections"
	"github.com/cptsledger/ledger/query"
)

// Models returns the read models of the data directory; messages a user
// should see (a file rebuilt, one moved aside) go to standard error.
func (e *Env) Models() *projections.Set {
	return projections.NewSet(e.Global.Data, func(msg string) { fmt.Fprintln(e.Stderr, "ledger: "+msg) })
}

// Reads runs fn on the read side (the store and its read models) and
// closes it: refused while the last check found the log broken or the
// read models different from it.
func (e *Env) Reads(fn func(*query.Ledger) error) error {
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	if err := e.guardChain(store); err != nil {
		return err
	}
	models := e.Models()
	defer models.Close()
	if err := e.guardModels(models); err != nil {
		return err
	}
	return e.ChainFailure("projections", unknown(fn(query.New(store, models, e.Schemes))))
}

// RebuildModels builds the read models again from the whole log, beside
// the live ones, with a progress bar on a terminal.
func (e *Env) RebuildModels(store eventstore.Store) (projections.Progress, error) {
	models := e.Models()
	defer models.Close()
	prog, err := models.Rebuild(e.Ctx, store, projections.BuildOptions{OnProgress: e.ProgressBar("events")})
	e.EndProgress()
	if err != nil {
		return prog, e.ChainFailure("rebuild", err)
	}
	return prog, nil
}

// CheckModels compares the current read models with the log (at most
// limit mismatches listed) and records the verdict; nil without an error
// when the data directory has no read models yet. With a memory (see
// ModelsMemory), roots are the log's, as the check of the log that ran
// before recomputed them.
func (e *Env) CheckModels(store eventstore.Store, limit int, memory string, roots map[int64]tlog.Hash) (*projections.CheckReport, error) {
	models := e.Models()
	defer models.Close()
	m, err := models.CheckWith(e.Ctx, store, projections.CheckOptions{Limit: limit, Memory: memory, LogRoot: func(n int64) (tlog.Hash, bool) {
		h, ok := roots[n]
		return h, ok
	}})
	switch {
	case errors.Is(err, projections.ErrNoReadModels):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if file, err := models.CurrentFile(); err == nil && e.Global.Data != "" {
		if err := chainstatus.WriteModels(e.Global.Data, chainstatus.OfModels(m, file)); err != nil {
			fmt.Fprintf(e.Stderr, "ledger: could not record the read models' verdict: %v\n", err)
		}
	}
	return &m, nil
}

// ForgetCheckedCopy removes the read-model check's kept copy (ledger
// erase: it held the personal data in clear).
func (e *Env) ForgetCheckedCopy() error {
	models := e.Models()
	defer models.Close()
	return models.ForgetCopy()
}

// RecordChain records the verdict of a whole check of the log (verify) in
// the data directory: a failure makes every query refuse until a check
// finds the log whole again. An error that is not a verdict (the store
// could not be read) records nothing.
func (e *Env) RecordChain(rep notary.LogReport, err error) {
	if st, ok := chainstatus.OfVerify(rep, err); ok {
		e.writeChain(st)
	}
}

// ChainFailure records a broken chain that a rebuild or a projection found
// in err, and returns err as the command's failure.
func (e *Env) ChainFailure(by string, err error) error {
	var ce *eventstore.CorruptionError
	if errors.As(err, &ce) {
		e.writeChain(chainstatus.Broken(by, ce))
		return Fail(fmt.Sprintf("FAILED: the log fails its hash chain at position %d (stream %s revision %d, event %s): %s; nothing was served or rebuilt from it",
			ce.Position, ce.Stream, ce.Revision, ce.EventID, ce.Reason))
	}
	return err
}

func (e *Env) writeChain(st chainstatus.Status) {
	if e.Global.Data == "" {
		return
	}
	if err := chainstatus.Write(e.Global.Data, st); err != nil {
		fmt.Fprintf(e.Stderr, "ledger: could not record the chain check's verdict: %v\n", err)
	}
}

// guardChain refuses a query when the last check found the log broken
// (chainstatus.GuardLog).
func (e *Env) guardChain(store eventstore.Store) error {
	err := chainstatus.GuardLog(e.Ctx, e.Global.Data, store, e.writeChain)
	var be *chainstatus.BrokenError
	if errors.As(err, &be) {
		return Fail("REFUSED: " + be.Error())
	}
	return err
}

// guardModels refuses a query when the last comparison found the current
// read-model file different from the log.
func (e *Env) guardModels(models *projections.Set) error {
	file, err := models.CurrentFile()
	if err != nil {
		return nil // none yet: the query builds them from the log
	}
	var de *chainstatus.ModelsDifferError
	if err := chainstatus.GuardModels(e.Global.Data, file); errors.As(err, &de) {
		return Fail("REFUSED: " + de.Error())
	} else if err != nil {
		return err
	}
	return nil
}

// unknown turns a missing contract into a failed check (exit 1).
func unknown(err error) error {
	if query.IsUnknown(err) {
		return Fail(err.Error())
	}
	return err
}

// OpenTree opens the notary's tree in the data directory.
func (e *Env) OpenTree() (*notary.Tree, error) {
	if err := e.RequireLedger(); err != nil {
		return nil, err
	}
	return notary.Open(e.Ctx, e.Global.Data)
}

// HasTree tells whether the data directory holds a notary's tree.
func (e *Env) HasTree() bool { return notary.Exists(e.Global.Data) }

// FilesFlag collects a repeated flag's values.
type FilesFlag []string

func (f *FilesFlag) String() string     { return strings.Join(*f, ",") }
func (f *FilesFlag) Set(v string) error { *f = append(*f, v); return nil }

// ContractFlag registers --contract.
func ContractFlag(fs interface {
	String(string, string, string) *string
}) *string {
	return fs.String("contract", "", "contract id (UUID)")
}

// ParseContract reads a contract id given on the command line.
func ParseContract(s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, Usage("--contract is required")
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, Usage(fmt.Sprintf("--contract %q is not a UUID", s))
	}
	return id, nil
}

// ParseContractQuery parses the flags of a query on one contract
// (payments, balance, audit): --contract and the bitemporal window.
func (e *Env) ParseContractQuery(name string, args []string, asOfHelp string) (uuid.UUID, query.Window, error) {
	fs := e.Flags(name)
	contract := ContractFlag(fs)
	window := e.WindowFlags(fs, asOfHelp)
	// The contract may also come first, without its flag:
	// ledger payments ID --as-of 2022-01-01.
	positional := ""
	if len(args) > 0 && args[0] != "" && !strings.HasPrefix(args[0], "-") {
		positional, args = args[0], args[1:]
	}
	if err := e.Parse(fs, args); err != nil {
		return uuid.Nil, query.Window{}, err
	}
	if positional != "" {
		if *contract != "" && *contract != positional {
			return uuid.Nil, query.Window{}, Usage("the contract is given twice (as an argument and --contract), differently")
		}
		*contract = positional
	}
	id, err := ParseContract(*contract)
	if err != nil {
		return uuid.Nil, query.Window{}, err
	}
	w, err := window()
	return id, w, err
}

// WindowFlags registers --as-of and --known-at, and returns how to read
// them after parsing.
func (e *Env) WindowFlags(fs *flag.FlagSet, asOfHelp string) func() (query.Window, error) {
	asOf := fs.String("as-of", "", asOfHelp)
	knownAt := fs.String("known-at", "", "only what the ledger had recorded by then: a date (the end of that day, UTC) or an RFC 3339 time, seconds optional (e.g. 2024-03-01T12:00:00Z); unset: now")
	return func() (query.Window, error) {
		var w query.Window
		var err error
		if w.AsOf, err = e.ParseAsOf(*asOf); err != nil {
			return w, err
		}
		if *knownAt != "" {
			if w.KnownAt, err = query.ParseKnownAt(*knownAt); err != nil {
				return w, Usage("--known-at: " + err.Error())
			}
			w.Known = true
		}
		return w, nil
	}
}

// DateWindowFlags registers --as-of (default today), --known-at and
// --within (days), and returns how to read them after parsing.
func (e *Env) DateWindowFlags(fs *flag.FlagSet, asOfHelp string, defaultWithin int, withinHelp string) func() (query.Window, int, error) {
	window := e.WindowFlags(fs, asOfHelp)
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
			return w, 0, Usage(fmt.Sprintf("--within must be 0 to %d days, got %d", query.MaxWithinDays, *within))
		}
		return w, *within, nil
	}
}

// ParseAsOf reads a business date given to a query: a date the schemes'
// rulebooks cover, or "" (none).
func (e *Env) ParseAsOf(s string) (domain.Date, error) {
	if s == "" {
		return domain.Date{}, nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return d, Usage("--as-of: " + err.Error())
	}
	if dates := domain.CalendarOf(e.Schemes); !dates.Contains(d) {
		return d, Usage(fmt.Sprintf("--as-of: %s is outside the dates the rulebooks cover (%s)", d, dates))
	}
	return d, nil
}

// ProgressBar reports a runner's progress on standard error, when it is a
// terminal: a log file or a pipe gets no carriage-return frames.
func (e *Env) ProgressBar(unit string) func(projections.Progress) {
	if !textout.IsTerminal(e.Stderr) {
		return nil
	}
	last := time.Time{}
	return func(p projections.Progress) {
		if time.Since(last) < 200*time.Millisecond && p.Position < p.Head {
			return
		}
		e.progressShown = true
		last = time.Now()
		pct := 100.0
		if p.Head > 0 {
			pct = float64(p.Position) * 100 / float64(p.Head)
		}
		const width = 30
		filled := int(pct / 100 * width)
		fmt.Fprintf(e.Stderr, "\r   [%s%s] %5.1f%%  %d/%d %s  %.0f/s", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			pct, p.Position, p.Head, unit, p.Rate())
	}
}

// EndProgress ends the line a progress bar drew, if one did.
func (e *Env) EndProgress() {
	if e.progressShown {
		fmt.Fprintln(e.Stderr)
		e.progressShown = false
	}
}

// CheckFilters refuses, as bad usage, the filters that break their rule
// (vs) or name nothing the ledger has (query.CheckParties): "Loiret" is
// not "CPAM du Loiret", and "t2" is not "T2".
func (e *Env) CheckFilters(q *query.Ledger, vs domain.Violations, f query.PartyFilter) error {
	more, err := q.CheckParties(e.Ctx, f)
	if err != nil {
		return err
	}
	if vs = append(vs, more...); len(vs) > 0 {
		var msgs []string
		for _, v := range vs {
			msgs = append(msgs, "--"+v.Field+" "+v.Rule)
		}
		return Usage(strings.Join(msgs, "; "))
	}
	return nil
}

// CheckpointReader reads a checkpoint named on the command line: a file,
// or, when no such file exists, its number in ledger checkpoints.
func (e *Env) CheckpointReader(tree *notary.Tree) func(name, arg string) ([]byte, error) {
	return func(name, arg string) ([]byte, error) {
		if arg == "" {
			return nil, Usage(name + " is required")
		}
		b, err := os.ReadFile(arg)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return b, err
		}
		id, perr := strconv.ParseInt(arg, 10, 64)
		if perr != nil {
			return nil, Fail(fmt.Sprintf("%s %s: no such file, nor a checkpoint number (ledger checkpoints lists them)", name, arg))
		}
		all, err := tree.Checkpoints(e.Ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range all {
			if c.ID == id {
				return []byte(c.Note), nil
			}
		}
		return nil, Fail(fmt.Sprintf("%s %d: no checkpoint of that number (ledger checkpoints lists %d)", name, id, len(all)))
	}
}

// ReadWrite opens the store, the command path recording as actor (replay:
// a history replayed on its own dates) and the guarded read side, for a
// command that reads the ledger and writes to it (pay run, pay import).
func (e *Env) ReadWrite(actor string, replay bool, fn func(*app.Ledger, *query.Ledger) error) error {
	return e.ReadWriteWith(app.Options{Actor: actor, ReplayHistory: replay}, fn)
}

// ReadWriteWith is ReadWrite with the command path's options (the schemes
// are the Env's).
func (e *Env) ReadWriteWith(opts app.Options, fn func(*app.Ledger, *query.Ledger) error) error {
	store, err := e.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	opts.Schemes = e.Schemes
	ledger := app.New(store, opts)
	return e.Reads(func(q *query.Ledger) error { return fn(ledger, q) })
}

// ModelsMemory checks that the read-model check's memory file is outside
// the data directory (whoever can write the data directory could edit the
// kept fold and its memory together), and returns the sizes of the log
// whose roots the check will need: the events its kept fold folded.
func (e *Env) ModelsMemory(memory string, logOnly bool) ([]int64, error) {
	if memory == "" || logOnly {
		return nil, nil
	}
	data, err1 := filepath.Abs(e.Global.Data)
	mem, err2 := filepath.Abs(memory)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if e.Global.Data == "" {
		data = "" // no data directory named: nothing to be inside
	}
	if st, err := os.Stat(mem); err == nil && st.IsDir() {
		return nil, Usage("--models-memory " + memory + ": a file, not a directory")
	}
	if st, err := os.Stat(filepath.Dir(mem)); err != nil || !st.IsDir() {
		return nil, Usage("--models-memory " + memory + ": its directory must exist (the check writes the file there)")
	}
	if rel, err := filepath.Rel(data, mem); data != "" && err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, Usage("--models-memory " + memory + ": must be outside the data directory (whoever can write the data directory could edit the read-model check's kept fold and its memory together)")
	}
	m, err := projections.ReadMemory(memory)
	if err != nil {
		return nil, nil // the check says why it folds the whole log
	}
	return []int64{m.Events}, nil
}
