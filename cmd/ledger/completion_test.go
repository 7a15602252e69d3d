package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The bash completion, run by bash: after a global flag with a value the
// command is still found (ledger --data /x contracts --t<TAB>), and a flag
// that takes a value is never offered flag names as its value.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here: the completion script is not run")
	}
	script := filepath.Join(t.TempDir(), "ledger.bash")
	os.WriteFile(script, []byte(mustLedger(t, "completion", "bash")), 0o600)
	complete := func(words ...string) []string {
		t.Helper()
		line := "source " + script + "; COMP_WORDS=(" + strings.Join(quoteAll(words), " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "; _ledger; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "-c", line).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	if got := complete("ledger", "--data", "/x", "contracts", "--t"); strings.Join(got, " ") != "--tier" {
		t.Errorf("ledger --data /x contracts --t<TAB>: %v", got)
	}
	if got := complete("ledger", "--data", "/x", "contracts", "--tier", ""); strings.Join(got, " ") != "T1 T2 T3 T4" {
		t.Errorf("ledger --data /x contracts --tier <TAB>: %v", got)
	}
	for _, words := range [][]string{{"ledger", "alerts", "--cpam", ""}, {"ledger", "--data", "/x", "contracts", "--q", ""}} {
		if got := complete(words...); len(got) > 0 && strings.HasPrefix(got[0], "--") {
			t.Errorf("%v<TAB> offers flag names as a value: %v", words, got)
		}
	}
}

func quoteAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "'" + w + "'"
	}
	return out
}
