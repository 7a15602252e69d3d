package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/internal/testwait"
)

// `ledger backup`, run as a process while 8 clients append, writes a copy
// that `ledger restore` turns into a ledger that verifies, holds a prefix
// of the log (the same events at the same positions, hashes included) and
// every append acknowledged before the backup started.
func TestBackupDuringAppendsRestores(t *testing.T) {
	bin := ledgerBinary(t)
	base := t.TempDir()
	data, restored, file := filepath.Join(base, "data"), filepath.Join(base, "restored"), filepath.Join(base, "ledger.backup")
	ledger(t, bin, "--data", data, "init")
	store, err := embedded.Open(context.Background(), filepath.Join(data, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cmds := app.New(store, app.Options{ReplayHistory: true, Actor: "appender"})
	raw, err := os.ReadFile("../../examples/t2-contract.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")

	var mu sync.Mutex
	acked := map[string]bool{} // contract ids whose signature was acknowledged
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				id := fmt.Sprintf("0190a0e2-7c4e-7b1a-%04x-%012x", c, n)
				line := strings.Replace(strings.Replace(first, t2ID, id, 1), `"t2-sign"`, fmt.Sprintf(`"b-%d-%d"`, c, n), 1)
				res, err := cmds.Submit(context.Background(), []byte(line))
				if err != nil || !res.OK {
					errs <- fmt.Errorf("%s: %+v %v", id, res.Error, err)
					return
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}()
	}
	testwait.Until(t, 30*time.Second, "200 appends before the backup", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 200 })
	mu.Lock()
	before := make([]string, 0, len(acked))
	for id := range acked {
		before = append(before, id)
	}
	mu.Unlock()
	out, err := exec.Command(bin, "--data", data, "backup", "--out", file).CombinedOutput()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err != nil || !strings.Contains(string(out), "backup: ") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "--data", restored, "restore", "--from", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "restored: ") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if out := ledger(t, bin, "--data", restored, "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("verify the restored ledger: %s", out)
	}
	copyStore, err := embedded.Open(context.Background(), filepath.Join(restored, "events.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyStore.Close()
	origHead, _ := store.Head(context.Background())
	copyHead, _ := copyStore.Head(context.Background())
	if copyHead == 0 || copyHead > origHead {
		t.Fatalf("restored head %d, original %d", copyHead, origHead)
	}
	var got []eventstore.Envelope
	eventstore.EachPage(context.Background(), copyStore, func(p []eventstore.Envelope) error { got = append(got, p...); return nil })
	want, _ := store.ReadAll(context.Background(), 0, int(copyHead))
	if len(got) != len(want) {
		t.Fatalf("%d events restored, %d in the original up to the same head", len(got), len(want))
	}
	streams := map[string]bool{}
	for i := range got {
		if got[i].Position != want[i].Position || got[i].Hash != want[i].Hash || got[i].EventID != want[i].EventID {
			t.Fatalf("restored event %d differs from the original's", i)
		}
		streams[got[i].Stream] = true
	}
	for _, id := range before {
		if !streams["cpts-"+id] {
			t.Fatalf("contract %s, acknowledged before the backup started, is not in it", id)
		}
	}
	t.Logf("backup of %d events of %d; %d acknowledged before it", copyHead, origHead, len(before))
}

// The signed checkpoints travel with the backup (FILE.checkpoints): after
// a restore, `ledger checkpoints` lists the same ones and verify --checkpoint
// passes with each; a checkpoint that does not match the backup's log is
// refused.
func TestBackupCarriesTheCheckpoints(t *testing.T) {
	base := t.TempDir()
	data, restored, file := filepath.Join(base, "data"), filepath.Join(base, "restored"), filepath.Join(base, "ledger.backup")
	key, pub := filepath.Join(base, "signer.key"), filepath.Join(base, "verifier.pub")
	os.WriteFile(pub, []byte(mustLedger(t, "keygen", "--name", "backup-test", "--out", key)), 0o600)
	mustLedger(t, "--data", data, "submit", "--file", "../../examples/t2-contract.jsonl")
	cp1 := filepath.Join(base, "cp1")
	os.WriteFile(cp1, []byte(mustLedger(t, "--data", data, "checkpoint", "--signing-key", key)), 0o600)
	mustLedger(t, "--data", data, "submit", "--file", "../../examples/aid-contract.jsonl")
	mustLedger(t, "--data", data, "checkpoint", "--signing-key", key)
	if out := mustLedger(t, "--data", data, "backup", "--out", file); !strings.Contains(out, "2 signed checkpoints") {
		t.Fatalf("backup: %s", out)
	}
	if out := mustLedger(t, "--data", restored, "restore", "--from", file); !strings.Contains(out, "2 signed checkpoints") {
		t.Fatalf("restore: %s", out)
	}
	want := mustLedger(t, "--json", "--data", data, "checkpoints")
	if got := mustLedger(t, "--json", "--data", restored, "checkpoints"); got != want {
		t.Fatalf("checkpoints after the restore:\n%s\nwant\n%s", got, want)
	}
	mustLedger(t, "--data", restored, "verify", "--checkpoint", cp1, "--verifier-key", pub)
	// A checkpoint of another log beside a backup: the restore refuses.
	other := filepath.Join(base, "other")
	mustLedger(t, "--data", other, "submit", "--file", "../../examples/aid-contract.jsonl")
	// Its own key: a key signs one log (its memory refuses another origin).
	otherKey := filepath.Join(base, "other.key")
	mustLedger(t, "keygen", "--name", "backup-test", "--out", otherKey)
	if code, _, errb := ledgerRun(t, "--data", other, "checkpoint", "--signing-key", key); code != 1 || !strings.Contains(errb, "another origin") {
		t.Fatalf("the first ledger's key signing another log: exit %d %s", code, errb)
	}
	mustLedger(t, "--data", other, "checkpoint", "--signing-key", otherKey)
	mustLedger(t, "--data", other, "backup", "--out", filepath.Join(base, "other.backup"))
	raw, _ := os.ReadFile(filepath.Join(base, "other.backup.checkpoints"))
	os.WriteFile(file+".checkpoints", raw, 0o600)
	code, _, errb := ledgerRun(t, "--data", filepath.Join(base, "again"), "restore", "--from", file)
	if code != 1 || !strings.Contains(errb, "do not match its log") {
		t.Fatalf("a restore with another log's checkpoint: exit %d %s", code, errb)
	}
}
