package personal_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cptsledger/ledger/domain"
	"github.com/cptsledger/ledger/internal/personal"
)

// A person has one key, kept in a private file; destroyed, its bytes are
// gone from the file and another connection to it (another process) stops
// serving it at once.
func TestKeysLiveAndDie(t *testing.T) {
	dir := t.TempDir()
	a, b := personal.At(dir), personal.At(dir)
	defer a.Close()
	defer b.Close()
	if _, err := a.Key("nothing"); !errors.Is(err, domain.ErrKeyMissing) {
		t.Fatalf("a key store not yet made: %v", err)
	}
	if _, err := os.Stat(a.Path()); !os.IsNotExist(err) {
		t.Fatal("reading a key created the key store")
	}
	id, key, err := a.KeyFor("10001234567")
	if err != nil || len(key) != 32 {
		t.Fatalf("%v %d", err, len(key))
	}
	if id2, key2, _ := a.KeyFor("10001234567"); id2 != id || !bytes.Equal(key, key2) {
		t.Fatal("a person got two keys")
	}
	st, _ := os.Stat(a.Path())
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key store mode %v, want 0600", st.Mode().Perm())
	}
	if k, err := b.Key(id); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("the other connection reads %v", err)
	}
	if err := a.Destroy(id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Key(id); !errors.Is(err, domain.ErrErased) {
		t.Fatalf("the other connection after the destruction: %v", err)
	}
	raw, _ := os.ReadFile(a.Path())
	if bytes.Contains(raw, key) {
		t.Fatal("the destroyed key's bytes are still in the file")
	}
	if id3, _, _ := b.KeyFor("10001234567"); id3 == id {
		t.Fatal("a person erased got the destroyed key back")
	}
}

// Two connections creating the key of one person at once end with one.
func TestOneKeyPerPersonUnderRace(t *testing.T) {
	dir := t.TempDir()
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			s := personal.At(dir)
			defer s.Close()
			id, _, err := s.KeyFor("10001234567")
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("keys %v: one person, several keys", ids)
		}
	}
}

// A backup of the key store restores every key but those the restored log
// says were erased.
func TestRestoreRefusesErasedKeys(t *testing.T) {
	dir := t.TempDir()
	s := personal.At(dir)
	kept, _, _ := s.KeyFor("10001234567")
	gone, _, _ := s.KeyFor("10001234568")
	out := filepath.Join(t.TempDir(), "keys.db")
	if ok, err := s.Backup(out); err != nil || !ok {
		t.Fatalf("backup: %t %v", ok, err)
	}
	s.Close()
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v", st.Mode().Perm())
	}
	restored := t.TempDir()
	n, refused, err := personal.Restore(restored, out, func(id string) bool { return id == gone })
	if err != nil || n != 1 || refused != 1 {
		t.Fatalf("restore: kept %d refused %d %v", n, refused, err)
	}
	r := personal.At(restored)
	defer r.Close()
	if _, err := r.Key(kept); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Key(gone); !errors.Is(err, domain.ErrErased) {
		t.Fatalf("an erased key restored: %v", err)
	}
}
