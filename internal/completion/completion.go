// Package completion writes the shell completion scripts of the ledger
// command from what its subcommands declare: their names, summaries and
// flags, and the values some flags take.
package completion

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Spec is what a script completes.
type Spec struct {
	// Commands are the subcommands' names, sorted, each with its summary.
	Commands []string
	Summary  map[string]string
	// Flags are each command's words after it: its subcommands and flags.
	Flags map[string][]string
	// Values are the values a flag takes, by "command --flag", or by
	// "--flag" for every command.
	Values map[string][]string
	// Valued are the flags that take a value (not the booleans): after
	// one, a flag name is never offered. Global are those of them
	// accepted before the command (their value is not the command).
	Valued, Global []string
}

// Bash writes a bash completion script (zsh: through bashcompinit).
func Bash(w io.Writer, s Spec, zsh bool) error {
	var b strings.Builder
	if zsh {
		b.WriteString("#compdef ledger\nautoload -U +X bashcompinit && bashcompinit\n")
	}
	b.WriteString("_ledger() {\n  local cur prev cmd\n  cur=\"${COMP_WORDS[COMP_CWORD]}\"\n  prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n  cmd=\"\"\n")
	// The command is the first word that is neither a flag nor the value
	// of a global flag before it (ledger --data /x contracts).
	fmt.Fprintf(&b, "  local skip=0\n  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n    if [ $skip = 1 ]; then skip=0; continue; fi\n    case \"$w\" in %s) skip=1;; -*) ;; *) cmd=\"$w\"; break;; esac\n  done\n",
		strings.Join(s.Global, "|"))
	// A flag's value: its known values, or (-o default) file names.
	b.WriteString("  case \"$cmd $prev\" in\n")
	for _, k := range slices.Sorted(maps.Keys(s.Values)) {
		pattern := strconv.Quote(k)
		if strings.HasPrefix(k, "--") {
			pattern = "*\" " + k + "\""
		}
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", pattern, strings.Join(s.Values[k], " "))
	}
	// Any other flag's value: file names (-o default), never flag names.
	fmt.Fprintf(&b, "  esac\n  case \"$prev\" in %s) return;; esac\n", strings.Join(s.Valued, "|"))
	b.WriteString("  case \"$cmd\" in\n")
	for _, n := range s.Commands {
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return;;\n", n, strings.Join(s.Flags[n], " "))
	}
	fmt.Fprintf(&b, "    *) COMPREPLY=($(compgen -W %q -- \"$cur\"));;\n  esac\n}\ncomplete -o default -F _ledger ledger\n", strings.Join(s.Commands, " "))
	_, err := io.WriteString(w, b.String())
	return err
}

// Fish writes a fish completion script.
func Fish(w io.Writer, s Spec) error {
	var b strings.Builder
	for _, n := range s.Commands {
		fmt.Fprintf(&b, "complete -c ledger -n __fish_use_subcommand -f -a %s -d %q\n", n, s.Summary[n])
		for _, f := range s.Flags[n] {
			if !strings.HasPrefix(f, "--") {
				fmt.Fprintf(&b, "complete -c ledger -n '__fish_seen_subcommand_from %s' -f -a %s\n", n, f)
				continue
			}
			vals, ok := s.Values[n+" "+f]
			if !ok {
				vals = s.Values[f]
			}
			extra := ""
			if len(vals) > 0 {
				extra = fmt.Sprintf(" -xa %q", strings.Join(vals, " "))
			}
			fmt.Fprintf(&b, "complete -c ledger -n '__fish_seen_subcommand_from %s' -l %s%s\n", n, strings.TrimPrefix(f, "--"), extra)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
