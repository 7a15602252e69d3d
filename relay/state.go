package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cptsledger/ledger/eventstore"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// StateFile is the relay's own file in the data directory: its checkpoint
// lives apart from the read models, which are rebuilt and replaced.
const StateFile = "relay.db"

// State keeps the relay's checkpoints durably in an SQLite file.
type State struct{ db *sql.DB }

var _ Checkpoints = (*State)(nil)

// OpenState opens (creating if needed) the relay's state in the data
// directory dir.
func OpenState(ctx context.Context, dir string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	db, err := sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return nil, fmt.Errorf("relay: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
		PRAGMA application_id = 1280200012;`); err != nil { // "LNRL"
		db.Close()
		return nil, fmt.Errorf("relay: %s: %w", path, err)
	}
	return &State{db: db}, nil
}

// Checkpoint implements Checkpoints (0 when none).
func (s *State) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	var pos int64
	err := s.db.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("relay: read checkpoint %s: %w", name, err)
	}
	return eventstore.Position(pos), nil
}

// SaveCheckpoint implements Checkpoints.
func (s *State) SaveCheckpoint(ctx context.Context, name string, pos eventstore.Position) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO checkpoints (name, position) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET position = excluded.position`, name, int64(pos))
	if err != nil {
		return fmt.Errorf("relay: save checkpoint %s: %w", name, err)
	}
	return nil
}

// Close closes the file.
func (s *State) Close() error { return s.db.Close() }
