// Package private keeps the data directory private: it holds every event,
// doctors' RPPS numbers included, and the read models; a local user who can
// read its files bypasses roles and CPAM limits. The directory is created
// 0700 and every file in it 0600, whatever the umask; a directory or a file
// found readable by others is reported (once per process and path).
package private

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Mask sets the process's file-creation mask to 077, so that what the
// libraries create in the data directory (SQLite's files, their WAL,
// JetStream's store) is private too, whatever the mask the process was
// started with. The binary's main calls it; it is a no-op where there are
// no umasks.
func Mask() { mask() }

var warned sync.Map

// Check reports, through warn, the data directory dir or any file in it
// (one level, the directory's own files) that its group or others may
// read or write: once per process and path.
func Check(dir string, warn func(string)) {
	st, err := os.Stat(dir)
	if err != nil {
		return
	}
	if st.Mode().Perm()&0o077 != 0 {
		report(dir, st.Mode().Perm(), "700", warn)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if info.Mode().Perm()&0o077 != 0 {
			report(filepath.Join(dir, e.Name()), info.Mode().Perm(), "600", warn)
		}
	}
}

func report(path string, mode os.FileMode, want string, warn func(string)) {
	if _, done := warned.LoadOrStore(path, true); done {
		return
	}
	warn(fmt.Sprintf("%s can be read by other users (mode %#o): it holds the ledger's events and read models; chmod %s %s", path, mode, want, path))
}
