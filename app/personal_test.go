package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cptsledger/ledger/app"
	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/fixture"
	"github.com/cptsledger/ledger/internal/personal"
)

const sealedSign = `{"type":"SignAidContract","command_id":"p-sign","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ec1","cpam":"CPAM Test","doctor":{"rpps":"10007776665","specialty":"general_practice","sector":1,"optam":false,"group_practice":true,"underserved_zone":false,"coordinated_practice":true,"patientele_percentile":40},"option":"1/2","signed_on":"2024-07-01","band":"below_p90","patientele_baseline":900,"patientele_target":1000}`

// Through a ledger that seals: nothing of the doctor is in the log's file
// in clear, not even in the command's digest (keyed by the doctor's key,
// so that trying every RPPS number against it finds nothing); a retry is
// still a duplicate and another command under the id still a reuse; after
// the erasure the contract refuses every command.
func TestSealedThroughTheCommandPath(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, filepath.Join(dir, "events.db"))
	keys := personal.At(dir)
	t.Cleanup(func() { keys.Close() })
	l := app.New(store, app.Options{ReplayHistory: true, Schemes: app.WithKeys(fixture.Schemes(), keys), Actor: "t", Erasing: true})
	ctx := context.Background()
	for i, want := range []struct{ ok, dup bool }{{true, false}, {true, true}} {
		r, err := l.Submit(ctx, []byte(sealedSign))
		if err != nil || r.OK != want.ok || r.Duplicate != want.dup {
			t.Fatalf("submit %d: %+v %v", i, r, err)
		}
	}
	other := strings.Replace(sealedSign, `"band":"below_p90"`, `"band":"p90_p95"`, 1)
	if r, _ := l.Submit(ctx, []byte(other)); r.OK || r.Error.Code != domain.CodeCommandIDReused {
		t.Fatalf("another command under the id: %+v", r)
	}
	evs, _ := store.ReadStream(ctx, "assistant-0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ec1", 0, 10)
	plain, _ := domain.WireDigest([]byte(sealedSign))
	if len(evs) != 1 || !domain.IsKeyedDigest(evs[0].CommandDigest) || bytes.Equal(evs[0].CommandDigest, plain) {
		t.Fatalf("stored digest %x: want a keyed one", evs[0].CommandDigest)
	}
	if bytes.Contains(evs[0].Data, []byte("10007776665")) {
		t.Fatalf("the stored data show the RPPS: %s", evs[0].Data)
	}
	erase := `{"type":"ErasePersonalData","command_id":"p-erase","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ec1","reason":"asked","legal_basis":"court order","erased_on":"2026-01-05"}`
	plainPath := app.New(store, app.Options{ReplayHistory: true, Schemes: app.WithKeys(fixture.Schemes(), keys), Actor: "t"})
	if r, _ := plainPath.Submit(ctx, []byte(erase)); r.OK || r.Error.Code != "erase_with_ledger_erase" {
		t.Fatalf("an erasure submitted as any command: %+v", r)
	}
	if r, err := l.Submit(ctx, []byte(erase)); err != nil || !r.OK {
		t.Fatalf("erase: %+v %v", r, err)
	}
	keyID, _ := domain.SealedKey(evs[0].Data)
	if err := keys.Destroy(keyID, time.Now()); err != nil {
		t.Fatal(err)
	}
	fresh := app.New(store, app.Options{ReplayHistory: true, Schemes: app.WithKeys(fixture.Schemes(), keys), Actor: "t"})
	for _, line := range []string{sealedSign, `{"type":"HireAssistant","command_id":"p-hire","contract_id":"0190a0e2-7c4e-7b1a-9f3e-2d1c5b6a7ec1","hired_on":"2024-07-10"}`} {
		if r, err := fresh.Submit(ctx, []byte(line)); err != nil || r.OK || r.Error.Code != "personal_data_erased" {
			t.Fatalf("a command after the erasure: %+v %v", r, err)
		}
	}
	store.Close()
	for _, f := range []string{"events.db", "events.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("10007776665")) {
			t.Fatalf("%s holds the RPPS in clear", f)
		}
	}
}
