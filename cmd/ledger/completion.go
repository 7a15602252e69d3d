package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
)

// subcommands are the words that follow a command with subcommands.
var subcommands = map[string][]string{"token": {"create", "list", "revoke"}, "export": {"payments"}, "completion": {"bash", "zsh", "fish"}}

// flagsOf returns a command's flags, read from its own flag set (run in
// capture mode), the one place they are defined.
func (e *env) flagsOf(c command) []string {
	sub := &env{ctx: e.ctx, stdin: e.stdin, stdout: e.stdout, stderr: e.stderr, global: e.global, schemes: e.schemes, command: c, capture: true}
	args := []string{}
	if words, ok := subcommands[c.name]; ok && c.name != "completion" {
		args = []string{words[0]}
	}
	c.run(sub, args)
	var out []string
	if sub.captured != nil {
		sub.captured.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
	}
	slices.Sort(out)
	return out
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
		b.WriteString("_ledger() {\n  local cur cmd\n  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n  cmd=\"\"\n")
		b.WriteString("  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do case \"$w\" in -*) ;; *) cmd=\"$w\"; break;; esac; done\n")
		b.WriteString("  case \"$cmd\" in\n")
		for _, n := range names {
			fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", n, strings.Join(flagsOf[n], " "))
		}
		fmt.Fprintf(&b, "    *) COMPREPLY=($(compgen -W %q -- \"$cur\"));;\n  esac\n}\ncomplete -F _ledger ledger\n", strings.Join(names, " "))
		fmt.Fprint(e.stdout, b.String())
	case "fish":
		for _, n := range names {
			c, _ := lookup(n)
			fmt.Fprintf(e.stdout, "complete -c ledger -n __fish_use_subcommand -f -a %s -d %q\n", n, c.summary)
			for _, f := range flagsOf[n] {
				if strings.HasPrefix(f, "--") {
					fmt.Fprintf(e.stdout, "complete -c ledger -n '__fish_seen_subcommand_from %s' -l %s\n", n, strings.TrimPrefix(f, "--"))
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
