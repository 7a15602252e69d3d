package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/testwait"
	"github.com/cptsledger/ledger/relay"
)

// startWitness runs `ledger witness` as a process of its own on a free
// loopback port and returns its URL.
func startWitness(t *testing.T, key, logKey string) string {
	t.Helper()
	cmd := exec.Command(ledgerBinary(t), "witness", "--signing-key", key, "--log-key", logKey, "--listen", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				lines <- url
			}
		}
	}()
	select {
	case url := <-lines:
		return url
	case <-time.After(30 * time.Second):
		t.Fatal("the witness did not say where it listens")
		return ""
	}
}

// A witness run apart cosigns three checkpoints of the ledger as it grows;
// verify and verify-proof take a witness policy; an insider with a copy of
// the ledger's key (and not its memory) signs a checkpoint of a rewritten
// log, which the witness refuses over loopback and an auditor's policy
// refuses; serve --witness publishes cosigned checkpoints.
func TestAWitnessCosignsTheLedgerAndRefusesAFork(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "data")
	key, pub := filepath.Join(base, "signer.key"), filepath.Join(base, "verifier.pub")
	wkey, wpub := filepath.Join(base, "witness.key"), filepath.Join(base, "witness.pub")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(pub, mustLedger(t, "keygen", "--name", "witnessed-ledger", "--out", key))
	write(wpub, mustLedger(t, "keygen", "--name", "witness-cnam", "--out", wkey))
	url := startWitness(t, wkey, pub)

	var cps []string
	for i, file := range []string{"../../examples/t2-contract.jsonl", "../../examples/aid-contract.jsonl", lifecyclesSignedBefore2022(t)} {
		mustLedger(t, "--data", dir, "submit", "--file", file)
		cp := filepath.Join(base, "cp"+string(rune('1'+i)))
		write(cp, mustLedger(t, "--data", dir, "checkpoint", "--signing-key", key, "--witness", url))
		if b, _ := os.ReadFile(cp); !strings.Contains(string(b), "— witness-cnam ") {
			t.Fatalf("checkpoint %d is not cosigned:\n%s", i+1, b)
		}
		cps = append(cps, cp)
	}
	out := mustLedger(t, "--data", dir, "verify", "--verifier-key", pub, "--checkpoint", cps[0], "--checkpoint", cps[2], "--witness-key", wpub)
	if !strings.Contains(out, "each checkpoint cosigned by at least 1 of the 1 witnesses given") {
		t.Fatalf("verify with a witness policy: %s", out)
	}
	proof := filepath.Join(base, "proof.json")
	write(proof, mustLedger(t, "--data", dir, "prove", "--from", cps[0], "--to", cps[2]))
	if out := mustLedger(t, "verify-proof", "--proof", proof, "--verifier-key", pub, "--witness-key", wpub); !strings.Contains(out, "witnesses: cosigned by witness-cnam") {
		t.Fatalf("verify-proof with a witness policy: %s", out)
	}

	// The insider: a copy of the data directory, a payment rewritten, its
	// chain recomputed, the tree's files deleted, and a copy of the key
	// without its memory.
	forked := filepath.Join(base, "forked")
	copyDir(t, dir, forked)
	raiseSignatureAndRechain(t, forked)
	for _, f := range []string{"notary.db", "notary.leaves", "notary.hashes"} {
		os.Remove(filepath.Join(forked, f))
	}
	stolen := filepath.Join(t.TempDir(), "copied.key")
	raw, _ := os.ReadFile(key)
	write(stolen, string(raw))
	code, stdout, errb := ledgerRun(t, "--data", forked, "checkpoint", "--signing-key", stolen, "--witness", url)
	if code != 1 || stdout != "" || !strings.Contains(errb, "refusing a fork") || !strings.Contains(errb, "not cosigned") {
		t.Fatalf("the witness asked to cosign a fork: exit %d\n%s%s", code, stdout, errb)
	}
	// The fork, signed but not cosigned, fails an auditor's policy.
	fork := filepath.Join(base, "fork")
	last := lastCheckpointNote(t, forked)
	write(fork, last)
	if code, _, errb := ledgerRun(t, "--data", forked, "verify", "--verifier-key", pub, "--checkpoint", fork, "--witness-key", wpub); code != 1 || !strings.Contains(errb, "cosigned by none of the 1 witnesses given") {
		t.Fatalf("verify of the fork's checkpoint with a witness policy: exit %d %s", code, errb)
	}

	// serve --witness publishes cosigned checkpoints.
	mustLedger(t, "--data", dir, "submit", "--file", "../../examples/t2-contract.jsonl") // duplicates: nothing new
	s := startServe(t, dir, "--signing-key", key, "--checkpoint-every", "100ms", "--witness", url)
	testwait.Until(t, 30*time.Second, "a cosigned checkpoint on ledger.checkpoints", func() bool {
		stream, err := s.js.Stream(context.Background(), relay.CheckpointStreamName)
		if err != nil {
			return false
		}
		msg, err := stream.GetLastMsgForSubject(context.Background(), relay.CheckpointSubject)
		return err == nil && strings.Contains(string(msg.Data), "— witness-cnam ") && strings.Contains(string(msg.Data), "— witnessed-ledger ")
	})
}

// lastCheckpointNote returns the note of the last checkpoint kept in dir.
func lastCheckpointNote(t *testing.T, dir string) string {
	t.Helper()
	out := mustLedger(t, "--json", "--data", dir, "checkpoints")
	var all []struct {
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) == 0 {
		t.Fatalf("checkpoints: %v %s", err, out)
	}
	return all[len(all)-1].Note
}
