//go:build unix

package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A second holder is refused with the first one's pid; after Release the
// lock can be taken again.
func TestOneHolderAtATime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.lock")
	a, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() {
		t.Fatalf("second acquire: %v, want a HeldError naming pid %d", err, os.Getpid())
	}
	if err := a.Release(); err != nil {
		t.Fatal(err)
	}
	b, err := Acquire(path)
	if err != nil {
		t.Fatalf("acquire after release: %v", err)
	}
	b.Release()
}
