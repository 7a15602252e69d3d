package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/gen"
)

// TestMain lets the test binary act as the ledger command when it is run
// under that name (testscript puts such a link on the scripts' PATH): its
// main, signal handling included.
//
// The generated histories the tests submit were recorded as they happened:
// the ledger, run by this binary, replays them so (replayHistory) unless
// LEDGER_TEST_CLOCK=real, which the tests of the recording day set.
func TestMain(m *testing.M) {
	replayHistory = os.Getenv("LEDGER_TEST_CLOCK") != "real"
	testscript.Main(m, map[string]func(){"ledger": main})
}

// TestScripts runs the end-to-end scripts of testdata/script against the
// command, as a user would type them.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			example, err := os.ReadFile("../../examples/t2-contract.jsonl")
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(env.WorkDir, "t2.jsonl"), example, 0o644)
		},
	})
}

// ledgerBinary returns a path under which the test binary runs as ledger.
func ledgerBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "ledger")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	return link
}

func ledger(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("ledger %s: %v\n%s%s", strings.Join(args, " "), err, grepFalse(out.String()), errb.String())
	}
	return out.String()
}

// TestSubmitKilledMidFileThenResubmitted kills `ledger submit` with SIGKILL
// in the middle of a file, checks the store, submits the whole file again,
// and compares every payment with an uninterrupted run.
func TestSubmitKilledMidFileThenResubmitted(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test skipped in -short mode")
	}
	bin := ledgerBinary(t)
	dir := t.TempDir()
	lines, _ := gen.National(gen.Options{Seed: 7, Contracts: 120, Today: domain.MustDate("2024-06-30"), DecideMonthly: true})
	file := filepath.Join(dir, "history.jsonl")
	if err := os.WriteFile(file, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	reference := filepath.Join(dir, "reference")
	ledger(t, bin, "--data", reference, "submit", "--file", file)
	want := ledger(t, bin, "--data", reference, "export", "payments", "--format", "csv")

	interrupted := 0
	// Each round is killed once it has acknowledged so many commands (a
	// condition, not a time: on a loaded machine a timer may fire before
	// the store exists, or after the file is done).
	for round, after := range []int{1, 400, 2500} {
		killed := filepath.Join(dir, fmt.Sprintf("killed-%d", round))
		cmd := exec.Command(bin, "--data", killed, "submit", "--file", file)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := 0
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"ok":true`) {
				acked++
			}
			if acked == after {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		cmd.Wait()
		if acked < len(lines) {
			interrupted++
		}
		// What was acknowledged is durable, and every chain verifies.
		ledger(t, bin, "--data", killed, "verify")
		again := ledger(t, bin, "--data", killed, "submit", "--file", file)
		if strings.Contains(again, `"ok":false`) {
			t.Fatalf("round %d: re-submission rejected lines:\n%s", round, again)
		}
		if got := ledger(t, bin, "--data", killed, "export", "payments", "--format", "csv"); got != want {
			t.Fatalf("round %d: payments after the kill and re-submission differ from an uninterrupted run (%d bytes, want %d)", round, len(got), len(want))
		}
	}
	if interrupted == 0 {
		t.Fatal("no run was killed before the end of the file: the test proved nothing")
	}
}

// grepFalse keeps the rejected lines of a submit's output.
func grepFalse(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `"ok":false`) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
