//go:build !unix

package dirlock

import (
	"fmt"
	"os"
	"strconv"
)

// Lock is a held lock. On systems without flock the file is written but
// not locked: one serve per data directory is not enforced there.
type Lock struct{ f *os.File }

// HeldError says another process holds the lock (never returned here).
type HeldError struct {
	Path string
	PID  int
}

func (e *HeldError) Error() string { return fmt.Sprintf("process %d holds the lock %s", e.PID, e.Path) }

// Acquire writes this process's pid in path.
func Acquire(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dirlock: %w", err)
	}
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return &Lock{f: f}, nil
}

// Wait is Acquire.
func Wait(path string) (*Lock, error) { return Acquire(path) }

// Release closes the file.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
