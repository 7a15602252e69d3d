package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cptsledger/ledger/internal/sqlitec"
	sqlite3 "modernc.org/sqlite/lib"
)

// Backup writes a consistent copy of the store to path while it is in use:
// SQLite's VACUUM INTO, in one read transaction, so the copy holds exactly
// the events committed when the backup began — every append acknowledged
// before then, none half-written — whatever other processes append
// meanwhile. The copy is an event store of the same format; path must not
// exist. It is synced before Backup returns.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("embedded: backup: %s exists already", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := sqlitec.Open("embedded", s.path, sqlite3.SQLITE_OPEN_READWRITE, `PRAGMA busy_timeout=30000`)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Prepare(`VACUUM INTO ?1`)
	if err != nil {
		return err
	}
	if err := c.StartBind(len(path)); err != nil {
		return err
	}
	if rc := c.BindText(st, 1, path); rc != sqlite3.SQLITE_OK {
		return c.Errorf(rc, "bind backup path")
	}
	if err := c.Run(st, "backup into "+path); err != nil {
		os.Remove(path)
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
