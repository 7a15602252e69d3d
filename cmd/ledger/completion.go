package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cptsledger/ledger/domain/cpts"
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
		"contracts --tier":   cpts.DefaultRules().TierCodes(),
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
	var names []string
	flagsOf := map[string][]string{}
	for _, c := range commands {
		names = append(names, c.name)
		flagsOf[c.name] = append(subcommands[c.name], e.flagsOf(c)...)
	}
	slices.Sort(names)
	switch args[0] {
	case "bash", "zsh":
		var b strings.Builder
		if args[0] == "zsh" {
			b.WriteString("#compdef ledger\nautoload -U +X bashcompinit && bashcompinit\n")
		}
		b.WriteString("_ledger() {\n  local cur prev cmd\n  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n  cmd=\"\"\n")
		b.WriteString("  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do case \"$w\" in -*) ;; *) cmd=\"$w\"; break;; esac; done\n")
		// A flag's value: its known values, or (-o default) file names.
		b.WriteString("  case \"$cmd $prev\" in\n")
		values := flagValues()
		for _, k := range slices.Sorted(maps.Keys(values)) {
			pattern := k
			if strings.HasPrefix(k, "--") {
				pattern = "*\" " + k + "\""
			} else {
				pattern = strconv.Quote(k)
			}
			fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", pattern, strings.Join(values[k], " "))
		}
		b.WriteString("  esac\n  case \"$prev\" in --file|--out|--from|--proof|--checkpoint|--verifier-key|--signing-key|--data) return;; esac\n")
		b.WriteString("  case \"$cmd\" in\n")
		for _, n := range names {
			fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", n, strings.Join(flagsOf[n], " "))
		}
		fmt.Fprintf(&b, "    *) COMPREPLY=($(compgen -W %q -- \"$cur\"));;\n  esac\n}\ncomplete -o default -F _ledger ledger\n", strings.Join(names, " "))
		fmt.Fprint(e.stdout, b.String())
	case "fish":
		values := flagValues()
		for _, n := range names {
			c, _ := lookup(n)
			fmt.Fprintf(e.stdout, "complete -c ledger -n __fish_use_subcommand -f -a %s -d %q\n", n, c.summary)
			for _, f := range flagsOf[n] {
				if strings.HasPrefix(f, "--") {
					vals, ok := values[n+" "+f]
					if !ok {
						vals = values[f]
					}
					extra := ""
					if len(vals) > 0 {
						extra = fmt.Sprintf(" -xa %q", strings.Join(vals, " "))
					}
					fmt.Fprintf(e.stdout, "complete -c ledger -n '__fish_seen_subcommand_from %s' -l %s%s\n", n, strings.TrimPrefix(f, "--"), extra)
				} else {
					fmt.Fprintf(e.stdout, "complete -c ledger -n '__fish_seen_subcommand_from %s' -f -a %s\n", n, f)
				}
			}
		}
	default:
		return usageError{fmt.Sprintf("completion %q: want bash, zsh or fish", args[0])}
	}
	return nil
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}
