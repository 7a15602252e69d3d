package embedded

import (
	"fmt"
	"log/slog"
)

// The file's format. SQLite keeps two integers in a database's header for
// its application: application_id says whose file it is, user_version
// which format of it. The first release wrote neither (both 0); from format
// 2 on, both are set, so that a newer binary can tell an old file from a
// new one and an older binary refuses a file it does not know.
const (
	// ApplicationID marks the ledger's event store: "LDGE".
	ApplicationID = 0x4C444745
	// FormatVersion is the format this binary writes and the newest it reads.
	FormatVersion = 5
)

// migration brings a file from format version-1 to version. Migrations add
// tables and indexes; they never rewrite an event's hashed fields.
type migration struct {
	version int
	what    string
	sql     string
}

// migrations, in order. Format 1 is the first release's: the events table,
// written with CREATE TABLE IF NOT EXISTS, so migrating a file of format 1
// runs migration 1 as a no-op.
var migrations = []migration{
	{1, "the events table", schema},
	{2, "the claims table: the key each stream owns (one contract id, one contract)", `
CREATE TABLE claims (
	key    TEXT PRIMARY KEY,
	stream TEXT NOT NULL
) WITHOUT ROWID;`},
	// A stream's first event has revision 0; its stream claimed a key if a
	// claims row names it. The count is kept by the writer from then on.
	{3, "the count of streams created without a claim (eventstore.OnlyIfEveryStreamClaimed)", `
CREATE TABLE counts (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counts (name, value) VALUES ('` + unclaimedStreams + `',
	(SELECT count(*) FROM events WHERE revision = 0 AND stream NOT IN (SELECT stream FROM claims)));`},
	// The digest of the command that produced an event (not hashed): the
	// events of before have none, and a command id of theirs used again is
	// taken for a retry, as it was.
	{4, "the digest of the command that produced each event (command_id_reused)", `
ALTER TABLE events ADD COLUMN command_digest BLOB;`},
	// Nothing in the file changes: the digests written from now on are of
	// the command as sent (domain/digest.go, format 2 of the digest), which
	// a binary of format 4 would not recognise — it would answer the retry
	// of a command recorded since with command_id_reused. The version makes
	// such a binary refuse the file instead.
	{5, "command digests of the command as sent (digest format 2)", `-- no change to the tables`},
}

// unclaimedStreams names the count of streams created without a claim.
const unclaimedStreams = "unclaimed_streams"

// FormatError is a file this binary cannot open as its event store.
type FormatError struct {
	Path   string
	Reason string
}

func (e *FormatError) Error() string { return fmt.Sprintf("embedded: %s: %s", e.Path, e.Reason) }

// migrate checks the file's format and brings it to FormatVersion, in one
// transaction, so that two processes opening an old file at once migrate it
// once. It runs on the writing connection before anything else.
func migrate(c *conn, log *slog.Logger) error {
	if err := c.Exec(`BEGIN IMMEDIATE`); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = c.Exec(`ROLLBACK`)
		}
	}()
	from, err := formatOf(c)
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if m.version <= from {
			continue
		}
		if err := c.Exec(m.sql); err != nil {
			return fmt.Errorf("embedded: %s: migration %d (%s): %w", c.Path, m.version, m.what, err)
		}
	}
	if err := c.Exec(fmt.Sprintf(`PRAGMA application_id = %d; PRAGMA user_version = %d`, ApplicationID, FormatVersion)); err != nil {
		return err
	}
	if err := c.Exec(`COMMIT`); err != nil {
		return err
	}
	committed = true
	if from != 0 && from < FormatVersion {
		log.Info("event store upgraded", "file", c.Path, "from_format", from, "to_format", FormatVersion)
	}
	return nil
}

// formatOf reads the format of the file: 0 for a new, empty file, 1 for the
// first release's (no application id, an events table), else user_version.
func formatOf(c *conn) (int, error) {
	appID, err := c.QueryInt(`PRAGMA application_id`)
	if err != nil {
		return 0, err
	}
	version, err := c.QueryInt(`PRAGMA user_version`)
	if err != nil {
		return 0, err
	}
	switch {
	case appID == ApplicationID && version > FormatVersion:
		return 0, &FormatError{c.Path, fmt.Sprintf("event store format %d is newer than this binary's (%d): use a newer ledger binary", version, FormatVersion)}
	case appID == ApplicationID:
		return int(version), nil
	case appID != 0:
		return 0, &FormatError{c.Path, fmt.Sprintf("not a ledger event store (SQLite application id %#x)", appID)}
	}
	tables, err := c.QueryInt(`SELECT count(*) FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		return 0, err
	}
	events, err := c.QueryInt(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'events'`)
	if err != nil {
		return 0, err
	}
	switch {
	case tables == 0:
		return 0, nil
	case events == 1 && version == 0:
		return 1, nil
	}
	return 0, &FormatError{c.Path, "not a ledger event store (an SQLite file with other tables)"}
}
