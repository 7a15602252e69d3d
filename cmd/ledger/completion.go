package main

import (
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/cptsledger/ledger/domain/cpts"
	"github.com/cptsledger/ledger/internal/completion"
	"github.com/cptsledger/ledger/query"
)

// subcommands are the words that follow a command with subcommands.
var subcommands = map[string][]string{"token": {"create", "list", "revoke"}, "export": {"payments"}, "rulebook": {"publish"},
	"completion": {"bash", "zsh", "fish"}}

// flagSets returns a command's flag sets, read by running it in capture
// mode (its run function is the one place its flags are defined): one per
// subcommand, or one under "" for a command without.
func (e *env) flagSets(c command) map[string]*flag.FlagSet {
	words := []string{""}
	if subs, ok := subcommands[c.name]; ok && c.name != "completion" {
		words = subs
	}
	out := map[string]*flag.FlagSet{}
	for _, w := range words {
		sub := &env{ctx: e.ctx, stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, global: e.global, schemes: e.schemes, command: c, capture: true}
		args := []string{}
		if w != "" {
			args = []string{w}
		}
		c.run(sub, args)
		if sub.captured != nil {
			out[w] = sub.captured
		}
	}
	return out
}

// flagsOf returns every flag of a command, of all its subcommands.
func (e *env) flagsOf(c command) []string {
	var out []string
	for _, fs := range e.flagSets(c) {
		fs.VisitAll(func(f *flag.Flag) {
			if !slices.Contains(out, "--"+f.Name) {
				out = append(out, "--"+f.Name)
			}
		})
	}
	slices.Sort(out)
	return out
}

// ownFlags prints the flags of a flag set that are not global ones.
func ownFlags(out io.Writer, fs *flag.FlagSet) {
	global := flag.NewFlagSet("", flag.ContinueOnError)
	(&globalFlags{}).register(global)
	own := flag.NewFlagSet("", flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		if global.Lookup(f.Name) == nil {
			own.Var(f.Value, f.Name, f.Usage)
		}
	})
	own.SetOutput(out)
	if countFlags(own) == 0 {
		fmt.Fprintln(out, "  (none)")
		return
	}
	own.PrintDefaults()
}

// flagValues are the values a flag takes, for completion: by "command
// --flag", or by "--flag" for every command.
func flagValues() map[string][]string {
	return map[string][]string{
		"token --role":       {"auditor", "finance", "agent", "admin"},
		"nats-creds --role":  {"subscriber", "publisher"},
		"alerts --status":    query.AlertStatuses,
		"contracts --status": {query.StatusLive, query.StatusTerminated},
		"contracts --scheme": {"cpts", "assistant"},
		"contracts --tier":   cpts.Embedded().TierCodes(),
		"totals --by":        {"year", "scheme", "cpam", "ars", "tier"},
		"export --per":       {"line", "payment"},
		"--store":            {"embedded", "esdb"},
		"--log-level":        {"debug", "info", "warn", "error"},
	}
}

// runCompletion prints a completion script for bash, zsh or fish: the
// commands, their subcommands and their flags.
func runCompletion(e *env, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		e.commandHelp(e.flags("completion"))
		return flag.ErrHelp
	}
	if e.capture {
		return e.parse(e.flags("completion"), nil)
	}
	if len(args) != 1 {
		return usageError{"completion for which shell? bash, zsh or fish"}
	}
	spec := completion.Spec{Summary: map[string]string{}, Flags: map[string][]string{}, Values: flagValues()}
	for _, c := range commands {
		spec.Commands = append(spec.Commands, c.name)
		spec.Summary[c.name] = c.summary
		spec.Flags[c.name] = append(subcommands[c.name], e.flagsOf(c)...)
	}
	slices.Sort(spec.Commands)
	switch args[0] {
	case "bash", "zsh":
		return completion.Bash(e.stdout, spec, args[0] == "zsh")
	case "fish":
		return completion.Fish(e.stdout, spec)
	}
	return usageError{fmt.Sprintf("completion %q: want bash, zsh or fish", args[0])}
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}
