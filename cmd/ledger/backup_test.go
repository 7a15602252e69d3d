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
	cmds := app.New(store, app.Options{Actor: "appender"})
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
