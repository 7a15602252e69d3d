package cli

import (
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/cptsledger/ledger/internal/completion"
)

// flagSets returns a command's flag sets, read by running it in capture
// mode (its run function is the one place its flags are defined): one per
// subcommand, or one under "" for a command without.
func (e *Env) flagSets(c Command) map[string]*flag.FlagSet {
	words := []string{""}
	if subs, ok := e.program.Subcommands[c.Name]; ok && c.Name != "completion" {
		words = subs
	}
	out := map[string]*flag.FlagSet{}
	for _, w := range words {
		sub := &Env{Ctx: e.Ctx, Stdin: e.Stdin, Stdout: e.Stdout, Stderr: e.Stderr, Global: e.Global, Schemes: e.Schemes, command: c, program: e.program, capture: true}
		args := []string{}
		if w != "" {
			args = []string{w}
		}
		c.Run(sub, args)
		if sub.captured != nil {
			out[w] = sub.captured
		}
	}
	return out
}

// flagsOf returns every flag of a command, of all its subcommands.
func (e *Env) flagsOf(c Command) []string {
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

// countOwn counts the flags of a flag set that are not global ones.
func countOwn(fs *flag.FlagSet) int {
	global := flag.NewFlagSet("", flag.ContinueOnError)
	(&Globals{}).register(global)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if global.Lookup(f.Name) == nil {
			n++
		}
	})
	return n
}

// ownFlags prints the flags of a flag set that are not global ones.
func ownFlags(out io.Writer, fs *flag.FlagSet) {
	global := flag.NewFlagSet("", flag.ContinueOnError)
	(&Globals{}).register(global)
	own := flag.NewFlagSet("", flag.ContinueOnError)
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if global.Lookup(f.Name) == nil {
			own.Var(f.Value, f.Name, f.Usage)
			n++
		}
	})
	own.SetOutput(out)
	if n == 0 {
		fmt.Fprintln(out, "  (none)")
		return
	}
	own.PrintDefaults()
}

// Completion is the completion command: it prints a completion script for
// bash, zsh or fish — the commands, their subcommands and their flags.
func Completion(e *Env, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		e.commandHelp(e.Flags("completion"))
		return flag.ErrHelp
	}
	if e.capture {
		return e.Parse(e.Flags("completion"), nil)
	}
	if len(args) != 1 {
		return Usage("completion for which shell? bash, zsh or fish")
	}
	p := e.program
	spec := completion.Spec{Summary: map[string]string{}, Flags: map[string][]string{}, Values: p.Values()}
	for _, c := range p.Commands {
		spec.Commands = append(spec.Commands, c.Name)
		spec.Summary[c.Name] = c.Summary
		spec.Flags[c.Name] = slices.Concat(p.Subcommands[c.Name], e.flagsOf(c))
		for _, fs := range e.flagSets(c) {
			fs.VisitAll(func(f *flag.Flag) {
				if b, ok := f.Value.(interface{ IsBoolFlag() bool }); (!ok || !b.IsBoolFlag()) && !slices.Contains(spec.Valued, "--"+f.Name) {
					spec.Valued = append(spec.Valued, "--"+f.Name)
				}
			})
		}
	}
	global := flag.NewFlagSet("", flag.ContinueOnError)
	(&Globals{}).register(global)
	global.VisitAll(func(f *flag.Flag) {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			spec.Global = append(spec.Global, "--"+f.Name)
		}
	})
	slices.Sort(spec.Commands)
	slices.Sort(spec.Valued)
	switch args[0] {
	case "bash", "zsh":
		return completion.Bash(e.Stdout, spec, args[0] == "zsh")
	case "fish":
		return completion.Fish(e.Stdout, spec)
	}
	return Usage(fmt.Sprintf("completion %q: want bash, zsh or fish", args[0]))
}
