package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/app/apptest"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/testwait"
)

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// submitResult is one line of `ledger submit`.
type submitResult struct {
	CommandID string   `json:"command_id"`
	OK        bool     `json:"ok"`
	Events    []string `json:"events"`
	Duplicate bool     `json:"duplicate"`
	Error     *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// Two `ledger submit` processes start the same missions of the same
// contracts at once, on different dates. Every line answers once, never
// both ok and in error; every acknowledged command's events are in the
// store; every other is rejected, counted in the summary, and not stored.
func TestRacingSubmitProcessesAcknowledgeOnlyWhatIsStored(t *testing.T) {
	if testing.Short() {
		t.Skip("process race skipped in -short mode")
	}
	bin := ledgerBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const contracts, rounds = 300, 3
	for round := 0; round < rounds; round++ {
		ids := make([]uuid.UUID, contracts)
		var signs [][]byte
		files := [2][][]byte{}
		for i := range ids {
			ids[i] = uuid.New()
			signs = append(signs, apptest.SignCPTS(fmt.Sprintf("sign-%d-%d", round, i), ids[i]))
			for p := range files {
				files[p] = append(files[p], fmt.Appendf(nil, `{"type":"StartMission","command_id":"start-%d-%d-%d","contract_id":%q,"mission":"access","started_on":"2020-03-0%d"}`, p, round, i, ids[i], p+1))
			}
		}
		signFile := filepath.Join(dir, fmt.Sprintf("sign-%d.jsonl", round))
		writeLines(t, signFile, signs)
		ledger(t, bin, "--data", data, "submit", "--file", signFile)

		var procs [2]*exec.Cmd
		var outs, errs [2]bytes.Buffer
		for p := range procs {
			f := filepath.Join(dir, fmt.Sprintf("start-%d-%d.jsonl", round, p))
			writeLines(t, f, files[p])
			procs[p] = exec.Command(bin, "--data", data, "submit", "--file", f)
			procs[p].Stdout, procs[p].Stderr = &outs[p], &errs[p]
		}
		for _, c := range procs {
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range procs {
			c.Wait() // exit 1 when some lines are rejected, which they must be
		}
		store, err := embedded.Open(context.Background(), filepath.Join(data, "events.db"), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		acked := map[uuid.UUID]int{}
		for p := range procs {
			rejected := 0
			lines := strings.Split(strings.TrimSpace(outs[p].String()), "\n")
			if len(lines) != contracts {
				t.Fatalf("round %d: process %d printed %d lines for %d commands:\n%s", round, p, len(lines), contracts, errs[p].String())
			}
			for i, line := range lines {
				var r submitResult
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("round %d: %s: %v", round, line, err)
				}
				stored := 0
				evs, err := store.ReadStream(context.Background(), domain.Stream("cpts", ids[i]), 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range evs {
					if e.CommandID == r.CommandID {
						stored++
					}
				}
				switch {
				case r.OK && r.Error != nil:
					t.Fatalf("round %d: ok and in error: %s", round, line)
				case r.OK && (stored == 0 || stored != len(r.Events)):
					t.Fatalf("round %d: acknowledged but %d of its %d events stored: %s", round, stored, len(r.Events), line)
				case r.OK:
					acked[ids[i]]++
				case r.Error == nil || r.Error.Code != "mission_already_started" || stored != 0:
					t.Fatalf("round %d: rejected line with %d events stored: %s", round, stored, line)
				default:
					rejected++
				}
			}
			if summary := fmt.Sprintf("%d of %d commands rejected", rejected, contracts); rejected > 0 && !strings.Contains(errs[p].String(), summary) {
				t.Fatalf("round %d: process %d's summary %q, want %q", round, p, strings.TrimSpace(errs[p].String()), summary)
			}
		}
		store.Close()
		for _, id := range ids {
			if acked[id] != 1 {
				t.Fatalf("round %d: contract %s: %d starts acknowledged, want 1", round, id, acked[id])
			}
		}
	}
	ledger(t, bin, "--data", data, "verify")
}

// A second `ledger serve` on a data directory that one serves already
// exits at once, naming the first one's pid; a NATS address in use is
// reported at once.
func TestOneServePerDataDirectory(t *testing.T) {
	bin := ledgerBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	ledger(t, bin, "--data", data, "init")
	first := exec.Command(bin, "--data", data, "serve", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	var firstErr syncBuffer
	first.Stderr = &firstErr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Process.Kill(); first.Wait() })
	// The lock file names the serve once it holds the lock.
	testwait.Until(t, 30*time.Second, "the first serve to hold the lock", func() bool {
		b, _ := os.ReadFile(filepath.Join(data, "serve.lock"))
		return strings.TrimSpace(string(b)) == strconv.Itoa(first.Process.Pid)
	})
	start := time.Now()
	second := exec.Command(bin, "--data", data, "serve", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	out, err := second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Fatalf("second serve: exit %d (%v), want 1:\n%s", code, err, out)
	}
	if want := fmt.Sprintf("another ledger serve or demo (pid %d) is running on the data directory", first.Process.Pid); !strings.Contains(string(out), want) {
		t.Fatalf("second serve said:\n%s\nwant %q", out, want)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the second serve took %s to give up", took)
	}

	// A NATS address in use, on another data directory.
	l := listenAny(t)
	otherData := filepath.Join(t.TempDir(), "data")
	ledger(t, bin, "--data", otherData, "init")
	other := exec.Command(bin, "--data", otherData, "serve", "--http", "127.0.0.1:0", "--nats-listen", l)
	out, err = other.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the NATS address "+l+" is in use") {
		t.Fatalf("serve on a NATS address in use: %v\n%s", err, out)
	}
}

// A query as of a date no rulebook covers is refused (exit 2), and a
// stored contract with dates out of any agreement (written before dates
// were bounded) makes the queries fail cleanly, never panic.
func TestExtremeDatesNeverPanic(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--data", dir, "alerts", "--as-of", "9999-12-31"}, nil, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "9999-12-31 is outside the dates the rulebooks cover") {
		t.Fatalf("alerts --as-of 9999-12-31: exit %d\n%s", code, errb.String())
	}
	// What an older binary accepted: a signature on 9999-12-31.
	store, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	data := fmt.Sprintf(`{"contract_id":%q,"cpts":{"id":"x","name":"X"},"ars":"ARS Bretagne","cpam":"C","population":50000,"tier":"T2","signed_on":"9999-12-31","missions":["access","pathways","prevention"],"snp_regulation":false,"indicators":[],"rulebook":"aci-cpts-2019"}`, id)
	if _, err := store.Append(context.Background(), domain.Stream("cpts", id), eventstore.NoStream(), []eventstore.EventData{{
		ID: uuid.New(), Type: "ContractSigned", OccurredOn: "9999-12-31", Actor: "old", CommandID: "old", Data: json.RawMessage(data)}}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	for _, args := range [][]string{
		{"alerts", "--as-of", "2099-12-31"},
		{"schedule", "--as-of", "2099-12-31", "--within", "3660"},
		{"payments", "--contract", id.String()},
		{"balance", "--contract", id.String()},
		{"totals"},
	} {
		out.Reset()
		errb.Reset()
		code := run(context.Background(), append([]string{"--data", dir}, args...), nil, &out, &errb)
		if code != 0 && code != 1 {
			t.Fatalf("%v: exit %d\n%s", args, code, errb.String())
		}
	}
}

// A read-model file truncated to 8 KiB is moved aside and rebuilt by the
// next command, which says so once and answers as before.
func TestTruncatedReadModelIsRepaired(t *testing.T) {
	bin := ledgerBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	ledger(t, bin, "--data", data, "submit", "--file", "../../examples/t2-contract.jsonl")
	want := ledger(t, bin, "--data", data, "payments", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80")
	if err := os.Truncate(filepath.Join(data, "projections.db"), 8192); err != nil {
		t.Fatal(err)
	}
	for i, wantNote := range []bool{true, false} {
		cmd := exec.Command(bin, "--data", data, "payments", "--contract", "0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7e80")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, errb.String())
		}
		if out.String() != want {
			t.Fatalf("run %d: payments after the repair:\n%s\nwant\n%s", i, out.String(), want)
		}
		if got := strings.Contains(errb.String(), "could not be read") && strings.Contains(errb.String(), ".db.corrupt-"); got != wantNote {
			t.Fatalf("run %d: stderr %q (a note expected: %t)", i, errb.String(), wantNote)
		}
	}
	aside, _ := filepath.Glob(filepath.Join(data, "projections-*.db.corrupt-*"))
	if len(aside) == 0 {
		t.Fatal("the damaged file was not kept aside")
	}
}

// listenAny returns a loopback address held by a listener until the test
// ends.
func listenAny(t *testing.T) string {
	t.Helper()
	l := listenAnyListener(t)
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

func listenAnyListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A 20 MB line is rejected by its number without being held whole, and the
// lines after it are applied.
func TestOversizedLineIsNamed(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(example, []byte("\n"))
	in := bytes.NewBuffer(nil)
	in.WriteString(`{"type":"SignContract","command_id":"huge","cpts":{"name":"`)
	in.Write(bytes.Repeat([]byte("x"), 20<<20))
	in.WriteString("\"}}\n")
	in.Write(first)
	in.WriteString("\n")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--data", dir, "submit", "--file", "-"}, in, &out, &errb)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], `"code":"line_too_long","message":"line 1: a command is at most 1048576 bytes (1 MiB); this line has 20971582"`) ||
		!strings.Contains(lines[1], `"ok":true`) || !strings.Contains(errb.String(), "1 of 2 commands rejected") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String()[:min(len(out.String()), 600)], errb.String())
	}
}

// The red team's eighth finding: `make demo` while `ledger serve` ran on
// ./demo-data deleted the store under the server. `ledger demo --fresh`
// (what make demo runs) takes the directory's lock first: while a serve
// holds it, nothing is removed and the demo exits 1 naming the holder;
// once the serve has stopped, the old demo is removed and a new one made.
func TestTheDemoNeverRemovesADirectoryAServeHolds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	small := []string{"--data", dir, "demo", "--contracts", "2", "--aid-contracts", "2", "--today", "2023-01-01", "--workers", "1"}
	mustLedger(t, small...)
	before, err := os.ReadFile(filepath.Join(dir, "events.db"))
	if err != nil {
		t.Fatal(err)
	}
	bin := ledgerBinary(t)
	serve := exec.Command(bin, "--data", dir, "serve", "--http", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	testwait.Until(t, 30*time.Second, "serve holding the directory", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "serve.lock"))
		return strings.TrimSpace(string(b)) == strconv.Itoa(serve.Process.Pid)
	})
	for _, flag := range []string{"--fresh", "--remove"} {
		code, _, errb := ledgerRun(t, append(small, flag)...)
		if code != 1 || !strings.Contains(errb, fmt.Sprintf("(pid %d) is running on the data directory", serve.Process.Pid)) || !strings.Contains(errb, "changes nothing") {
			t.Fatalf("demo %s under a running serve: exit %d\n%s", flag, code, errb)
		}
		if _, err := os.Stat(filepath.Join(dir, "events.db")); err != nil {
			t.Fatalf("demo %s removed the store under serve: %v", flag, err)
		}
	}
	serve.Process.Signal(os.Interrupt)
	serve.Wait()
	mustLedger(t, append(small, "--fresh", "--seed", "7")...)
	after, _ := os.ReadFile(filepath.Join(dir, "events.db"))
	if bytes.Equal(before, after) {
		t.Fatal("demo --fresh kept the old ledger")
	}
	mustLedger(t, "--data", dir, "demo", "--remove")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("demo --remove left the directory: %v", err)
	}
	// A directory the demo did not make is never removed.
	other := t.TempDir()
	mustLedger(t, "--data", other, "submit", "--file", "../../examples/t2-contract.jsonl")
	if code, _, errb := ledgerRun(t, "--data", other, "demo", "--remove"); code != 1 || !strings.Contains(errb, "did not make") {
		t.Fatalf("demo --remove of a real ledger: exit %d %s", code, errb)
	}
}
