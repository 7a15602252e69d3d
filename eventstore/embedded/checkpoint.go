package embedded

import (
	"time"

	sqlite3 "modernc.org/sqlite/lib"
)

// The WAL's pages are copied back into the database file (a checkpoint, so
// that the WAL can start again from its beginning) by a goroutine of the
// store's own, on a connection of its own, while the writer goes on
// committing. By default SQLite does it on the writing connection, after the
// commit that brings the WAL past 1 000 pages: a group's callers then wait
// for pages copied and the database file fsynced (12 % of the writer's CPU
// with batches of 100 events, 8 % of a run of commands over HTTP). A
// checkpoint never touches what a commit made durable: the WAL is fsynced
// before the commit returns, whatever happens to the copy.
//
// SQLite writes the WAL from its beginning again when a write transaction
// starts after a checkpoint has copied all of it. Under a steady stream of
// commits the checkpointer rarely finishes between two of the writer's
// transactions, so the WAL grows until the writer's own automatic
// checkpoint, kept at writerCheckpointPages, runs between two of them: the
// WAL is bounded by that (~32 MiB of 4 KiB pages) instead of SQLite's ~4 MiB,
// and starts again at the first pause in the commits.
const (
	// checkpointPause is how long the checkpointer lets commits gather
	// after one, so that a checkpoint copies many pages for its fsync.
	checkpointPause = 20 * time.Millisecond
	// writerCheckpointPages is the writer's own threshold (SQLite's
	// wal_autocheckpoint, 1 000 by default): a WAL of this many pages
	// means the checkpointer is behind.
	writerCheckpointPages = 8000
)

// committed tells the checkpointer that the WAL grew.
func (s *Store) committed() {
	select {
	case s.kick <- struct{}{}:
	default: // one is pending already
	}
}

// checkpointer runs a passive checkpoint after commits, pausing between
// them, until the store closes. A checkpoint that cannot run (another
// process's is under way, a reader holds back part of the WAL) is tried
// again after the next commit.
func (s *Store) checkpointer(c *conn) {
	defer s.wg.Done()
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		}
		pause.Reset(checkpointPause)
		select {
		case <-s.done:
			return
		case <-pause.C:
		}
		rc := sqlite3.Xsqlite3_wal_checkpoint_v2(c.TLS, c.DB, 0, sqlite3.SQLITE_CHECKPOINT_PASSIVE, 0, 0)
		if rc != sqlite3.SQLITE_OK && rc != sqlite3.SQLITE_BUSY {
			s.log.Warn("checkpoint failed; the writer will checkpoint the WAL itself", "file", s.path, "err", c.Errorf(rc, "checkpoint"))
		}
	}
}
