package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/eventstore/storetest"
)

// previousRelease is an event store written by the release before file
// formats were versioned (see its README).
const previousRelease = "../../cmd/ledger/testdata/release-7df0286/events.db"

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func pragmas(t *testing.T, path string) (appID, version int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`PRAGMA application_id`).Scan(&appID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	return appID, version
}

// rawEvents reads every row of the events table with plain SQL, as stored.
func rawEvents(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT position, hex(event_id), stream, revision, type, schema_version, occurred_on, recorded_at,
		actor, command_id, correlation_id, causation_id, hex(data), hex(prev_hash), hex(hash) FROM events ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	cols := make([]sql.NullString, 15)
	ptrs := make([]any, len(cols))
	for i := range cols {
		ptrs[i] = &cols[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, c := range cols {
			b.WriteString(c.String + "|")
		}
		out = append(out, b.String())
	}
	return out
}

// A file of the previous release (format 1: no application id, no claims
// table) is migrated in place to the current format: every row is the same
// byte for byte, every chain verifies, and it takes appends and claims.
func TestOpensThePreviousReleasesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	copyFile(t, previousRelease, path)
	if id, v := pragmas(t, path); id != 0 || v != 0 {
		t.Fatalf("the fixture has application id %#x, version %d: not the previous release's", id, v)
	}
	before := rawEvents(t, path)
	s := open(t, path)
	rep, err := eventstore.Verify(context.Background(), s)
	if err != nil || rep.Events != uint64(len(before)) || len(before) == 0 {
		t.Fatalf("verify after the upgrade: %+v %v (want %d events)", rep, err, len(before))
	}
	if _, err := s.Append(context.Background(), "cpts-new", eventstore.NoStream(), []eventstore.EventData{storetest.Event("Signed", 1)}, eventstore.Claim("k")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	after := rawEvents(t, path)
	if len(after) != len(before)+1 {
		t.Fatalf("%d events after one append, want %d", len(after), len(before)+1)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("event %d changed by the upgrade:\n before %s\n after  %s", i+1, before[i], after[i])
		}
	}
	if id, v := pragmas(t, path); id != embedded.ApplicationID || v != embedded.FormatVersion {
		t.Fatalf("after the upgrade: application id %#x, version %d", id, v)
	}
	// Opening again changes nothing.
	open(t, path).Close()
	if got := rawEvents(t, path); len(got) != len(after) {
		t.Fatalf("a second open changed the file")
	}
}

// A file of a newer format, and a SQLite file that is not an event store,
// are refused with a message naming the file and both versions.
func TestRefusesFilesItDoesNotKnow(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	open(t, newer).Close()
	db, err := sql.Open("sqlite", "file:"+newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = embedded.Open(context.Background(), newer, embedded.Options{})
	var fe *embedded.FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "format 99 is newer than this binary's (2)") || !strings.Contains(err.Error(), newer) {
		t.Fatalf("newer format: %v", err)
	}

	foreign := filepath.Join(dir, "foreign.db")
	db, err = sql.Open("sqlite", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE invoices (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := embedded.Open(context.Background(), foreign, embedded.Options{}); !errors.As(err, &fe) || !strings.Contains(err.Error(), "not a ledger event store") {
		t.Fatalf("foreign file: %v", err)
	}
	var tables int
	db, _ = sql.Open("sqlite", "file:"+foreign+"?mode=ro")
	db.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&tables)
	db.Close()
	if tables != 1 {
		t.Fatalf("the refused file was changed: %d schema entries", tables)
	}
}
