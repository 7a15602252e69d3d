// Package chainstatus keeps, in the data directory, the verdict of the
// last check of the log's hash chains: what lets a query refuse to serve
// figures from a log that a check (ledger verify, serve's scheduled check,
// a rebuild, a projection following the log) found broken, until a check
// finds it whole again.
package chainstatus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/internal/atomicfile"
)

// File is the verdict's file in the data directory.
const File = "chain-status.json"

// Status is a verdict.
type Status struct {
	OK        bool      `json:"ok"`
	CheckedAt time.Time `json:"checked_at"`
	// By is what checked: "verify", "serve", "rebuild", "projections".
	By string `json:"by"`
	// Position is the head checked up to (ok) or the first broken event's
	// position (not ok).
	Position uint64 `json:"position"`
	Stream   string `json:"stream,omitempty"`
	EventID  string `json:"event_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// BrokenError is a query refused because the last check found the log
// broken.
type BrokenError struct{ Status Status }

func (e *BrokenError) Error() string {
	s := e.Status
	return fmt.Sprintf("the log failed its hash-chain check (%s, %s): first bad event at position %d (stream %s, event %s): %s; nothing is served from it until ledger verify finds it whole (restore it from a backup)",
		s.By, s.CheckedAt.Format(time.RFC3339), s.Position, s.Stream, s.EventID, s.Reason)
}

// UnknownError is a query refused because no check's verdict can be
// read: none was recorded, or its file was deleted or is unreadable. A
// verdict that cannot be read is unknown, never healthy — deleting the
// file of a broken verdict must not make the log whole again.
type UnknownError struct{ Why string }

func (e *UnknownError) Error() string {
	return "the log's hash chains have no verdict that can be read (" + e.Why + "): nothing is served from it until a check passes"
}

// Write records a verdict, replacing the previous one in one rename; the
// file is private (0600).
func Write(dir string, st Status) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(dir, File, append(b, '\n'))
}

// writeAtomic replaces dir/name with data (atomicfile.Write).
func writeAtomic(dir, name string, data []byte) error {
	return atomicfile.Write(filepath.Join(dir, name), data)
}

// Read returns the last verdict; ok is false when none was recorded.
func Read(dir string) (st Status, ok bool, err error) {
	ok, err = readVerdict(dir, File, &st)
	return st, ok, err
}

// readVerdict reads the verdict file dir/name into v; ok is false when
// there is none.
func readVerdict(dir, name string, v any) (ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("chainstatus: %s is not a verdict: %v", name, err)
	}
	return true, nil
}

// Guard returns a *BrokenError when the last verdict recorded is that the
// log is broken, and an *UnknownError when no verdict can be read.
func Guard(dir string) error {
	st, ok, err := Read(dir)
	switch {
	case err != nil:
		return &UnknownError{Why: err.Error()}
	case !ok:
		return &UnknownError{Why: "no " + File + " in the data directory"}
	case !st.OK:
		return &BrokenError{Status: st}
	}
	return nil
}

// Cached is Guard for a long-running process (serve answers every query
// after asking it): the verdict is read again only when its file changed
// (one stat a call), not at every request.
type Cached struct {
	dir string

	mu   sync.Mutex
	info os.FileInfo // of the verdict read; nil: none read yet, or no file
	err  error
}

// NewCached returns the cached guard of the data directory dir.
func NewCached(dir string) *Cached { return &Cached{dir: dir} }

// Check is Guard, reading the file only when it changed.
func (c *Cached) Check() error {
	st, err := os.Stat(filepath.Join(c.dir, File))
	if errors.Is(err, fs.ErrNotExist) {
		c.mu.Lock()
		c.info = nil
		c.mu.Unlock()
		return &UnknownError{Why: "no " + File + " in the data directory"}
	}
	if err != nil {
		return &UnknownError{Why: err.Error()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info != nil && os.SameFile(c.info, st) && c.info.Size() == st.Size() && c.info.ModTime().Equal(st.ModTime()) {
		return c.err
	}
	c.info, c.err = st, Guard(c.dir)
	return c.err
}

// Broken is the verdict of a check (by: verify, serve, a rebuild…) that
// found the log broken at ce.
func Broken(by string, ce *eventstore.CorruptionError) Status {
	return Status{CheckedAt: time.Now().UTC(), By: by, Position: uint64(ce.Position), Stream: ce.Stream, EventID: ce.EventID, Reason: ce.Reason}
}
