package demo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// Marker, in a data directory, says that the demo made its ledger.
const Marker = "DEMO"

// lockFile is the directory's serve lock, which the demo holds while it
// runs and which a removal leaves.
const lockFile = "serve.lock"

// Claim refuses a data directory that holds a ledger the demo did not
// make (real data must never get fake contracts; hasLedger: it holds one),
// and marks a new one as the demo's.
func Claim(dir string, hasLedger bool) error {
	marker := filepath.Join(dir, Marker)
	if hasLedger {
		if _, err := os.Stat(marker); err != nil {
			return fmt.Errorf("%s holds a ledger the demo did not make: the demo adds generated contracts, so it runs only on its own (make demo uses ./demo-data)", dir)
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte("a ledger of generated contracts made by ledger demo\n"), 0o600)
}

// Remove removes the demo's ledger from dir, never one a process holds
// (the caller holds the directory's serve lock: a running serve would
// otherwise keep answering on deleted files and write the old log's events
// into the new read models), and only a directory the demo made (its
// marker). The lock file itself stays. removed: there was something.
func Remove(dir string) (removed bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(filepath.Join(dir, Marker)); err != nil && slices.ContainsFunc(entries, func(en os.DirEntry) bool { return en.Name() != lockFile }) {
		return false, fmt.Errorf("%s holds files the demo did not make (no %s marker): nothing removed", dir, Marker)
	}
	for _, en := range entries {
		if en.Name() == lockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
			return false, err
		}
	}
	return true, nil
}
