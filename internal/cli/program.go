package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/personal"
	"github.com/cptsledger/ledger/internal/private"
)

// Command is one command: its name, what it does, its synopsis, an
// example, and its run function, which defines its flags — the one source
// of its help (ledger help CMD, ledger CMD -h) and of shell completion.
type Command struct {
	Name    string
	Summary string
	Usage   string
	Example string
	Run     func(e *Env, args []string) error
}

// Program is a command line: its commands and what completion offers.
type Program struct {
	Name     string // "ledger"
	Title    string // the first line of its help
	Commands []Command
	// Subcommands are the words that follow a command with subcommands
	// (token create|list|revoke).
	Subcommands map[string][]string
	// Values are the values a flag takes, for completion: by "command
	// --flag", or by "--flag" for every command.
	Values func() map[string][]string
	// DefaultData is the data directory without --data or LEDGER_DATA.
	DefaultData string
	// Schemes are the payment schemes its commands serve.
	Schemes func() []domain.Scheme
	// Version is what --version prints.
	Version func() string
}

// Run runs the program on args and returns its exit status.
func (p *Program) Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Whatever the umask the process was started with, what the ledger
	// creates in its data directory is its own (internal/private).
	private.Mask()
	g := Globals{Data: EnvOr("LEDGER_DATA", p.DefaultData), Store: EnvOr("LEDGER_STORE", "embedded"), ESDBURL: os.Getenv("LEDGER_ESDB_URL"),
		logLevel: os.Getenv("LEDGER_LOG_LEVEL")}
	name, rest, code, done := p.globals(&g, args, stdout, stderr)
	if done {
		return code
	}
	c, ok := p.lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n", p.Name, name)
		p.printHelp(stderr)
		return ExitUsage
	}
	keys := personal.At(g.Data)
	defer keys.Close()
	e := &Env{Ctx: ctx, Stdin: stdin, Stdout: stdout, Stderr: stderr, Global: g, Schemes: app.WithKeys(p.Schemes(), keys), Keys: keys, command: c, program: p}
	e.level.Set(g.level)
	e.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &e.level}))
	return p.exit(c, c.Run(e, rest), stderr)
}

// globals parses the flags before the command's name and finds the
// command (help CMD is CMD -h); done when nothing is left to run.
func (p *Program) globals(g *Globals, args []string, stdout, stderr io.Writer) (name string, rest []string, code int, done bool) {
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			p.printHelp(stdout)
			return "", nil, ExitOK, true
		}
		fmt.Fprintf(stderr, "%s: %v\n(%s help lists the commands and the global flags)\n", p.Name, err, p.Name)
		return "", nil, ExitUsage, true
	}
	if g.version {
		fmt.Fprintln(stdout, p.Version())
		return "", nil, ExitOK, true
	}
	if err := g.parseLevel(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return "", nil, ExitUsage, true
	}
	rest = fs.Args()
	if len(rest) == 0 {
		p.printHelp(stderr)
		return "", nil, ExitUsage, true
	}
	name, rest = rest[0], rest[1:]
	if name == "help" || name == "-h" || name == "--help" {
		if len(rest) == 0 {
			p.printHelp(stdout)
			return "", nil, ExitOK, true
		}
		name, rest = rest[0], []string{"-h"}
	}
	return name, rest, 0, false
}

// exit prints a command's error once and turns it into an exit status.
func (p *Program) exit(c Command, err error, stderr io.Writer) int {
	var ue usageError
	var fail failed
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s %s: %s\nusage: %s %s\n(%s help %s lists its flags)\n", p.Name, c.Name, ue.msg, p.Name, c.Usage, p.Name, c.Name)
		return ExitUsage
	case errors.As(err, &fail):
		if fail.msg != "" {
			fmt.Fprintf(stderr, "%s %s: %s\n", p.Name, c.Name, fail.msg)
		}
		return ExitRejected
	default:
		fmt.Fprintf(stderr, "%s %s: %v\n", p.Name, c.Name, err)
		return ExitRejected
	}
}

func (p *Program) lookup(name string) (Command, bool) {
	for _, c := range p.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func (p *Program) printHelp(w io.Writer) {
	fmt.Fprintln(w, p.Title)
	fmt.Fprintf(w, "\nusage: %s [global flags] <command> [flags]\n", p.Name)
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(p.Commands))
	width := 0
	for _, c := range p.Commands {
		names = append(names, c.Name)
		width = max(width, len(c.Name))
	}
	sort.Strings(names)
	for _, n := range names {
		c, _ := p.lookup(n)
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintln(w, "\nglobal flags (before or after the command):")
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	var g Globals
	g.register(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nexit status: 0 success, 1 a rejected command or failed check, 2 bad usage")
	fmt.Fprintf(w, "run '%s help <command>' (or '%s <command> -h') for a command's flags and an example\n", p.Name, p.Name)
}

// Flags returns a flag set for a command with the global flags on it.
// The flag package prints nothing itself: an error is printed once, by
// Run, and -h prints the command's help on standard output (Parse).
func (e *Env) Flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(e.program.Name+" "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e.Global.register(fs)
	return fs
}

// Parse parses a command's flags. With -h it prints the command's help —
// its synopsis, every flag with its default, an example — and returns
// flag.ErrHelp (exit 0). In capture mode (completion) it only records the
// flag set.
func (e *Env) Parse(fs *flag.FlagSet, args []string) error {
	if e.capture {
		e.captured = fs
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.commandHelp(fs)
			return err
		}
		return Usage(err.Error())
	}
	if fs.NArg() > 0 {
		return Usage(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if err := e.Global.parseLevel(); err != nil {
		return Usage(err.Error())
	}
	e.level.Set(e.Global.level)
	return nil
}

// EnvOr is the value of the environment variable key, or def when unset or empty.
func EnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// commandHelp prints the help of the command being run: its synopsis, its
// own flags with their defaults (each once; the global ones named, ledger
// help describes them), the flags of each of its subcommands when it has
// several, and an example.
func (e *Env) commandHelp(fs *flag.FlagSet) {
	c, name := e.command, e.program.Name
	fmt.Fprintf(e.Stdout, "%s %s — %s\n\nusage: %s [global flags] %s\n", name, c.Name, c.Summary, name, c.Usage)
	subs := e.program.Subcommands[c.Name]
	several := len(subs) > 1 && c.Name != "completion" && fs.Name() == name+" "+c.Name
	if !several || countOwn(fs) > 0 {
		fmt.Fprintln(e.Stdout, "\nflags:")
		ownFlags(e.Stdout, fs)
	}
	if several {
		// A command with subcommands (token create|list|revoke): the
		// flags of each, every one of them.
		sets := e.flagSets(c)
		for _, sub := range subs {
			fmt.Fprintf(e.Stdout, "\nflags of %s %s:\n", c.Name, sub)
			ownFlags(e.Stdout, sets[sub])
		}
	}
	fmt.Fprintf(e.Stdout, "\nglobal flags, before or after the command: --data, --store, --esdb-url, --json, --log-level, --version (%s help)\n", name)
	if c.Example != "" {
		fmt.Fprintf(e.Stdout, "\nexample:\n  %s\n", c.Example)
	}
}
