package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	// Its streams were created before claims: an append that relies on
	// every stream having claimed its key is refused, and writes nothing.
	if _, err := s.Append(context.Background(), "cpts-relying", eventstore.NoStream(), []eventstore.EventData{storetest.Event("Signed", 1)},
		eventstore.Claim("k-relying"), eventstore.OnlyIfEveryStreamClaimed()); !errors.Is(err, eventstore.ErrUnclaimedStreams) {
		t.Fatalf("an append relying on claims, on a file of before claims: %v", err)
	}
	if _, err := s.Append(context.Background(), "cpts-new", eventstore.NoStream(), []eventstore.EventData{storetest.Event("Signed", 1)}, eventstore.Claim("k")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if n := unclaimedCount(t, path); n != distinctStreams(t, path)-1 {
		t.Fatalf("%d streams counted as created without a claim, want every stream but the one appended since (%d)", n, distinctStreams(t, path)-1)
	}
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
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), fmt.Sprintf("format 99 is newer than this binary's (%d)", embedded.FormatVersion)) || !strings.Contains(err.Error(), newer) {
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

// queryInt runs a query of one integer on the file at path, read-only.
func queryInt(t *testing.T, path, query string) int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// unclaimedCount reads the count of streams created without a claim.
func unclaimedCount(t *testing.T, path string) int64 {
	return queryInt(t, path, `SELECT value FROM counts WHERE name = 'unclaimed_streams'`)
}

func distinctStreams(t *testing.T, path string) int64 {
	return queryInt(t, path, `SELECT count(DISTINCT stream) FROM events`)
}

// relyOnClaims appends a new stream claiming its key, relying on every
// stream having claimed one, and returns the append's error.
func relyOnClaims(s eventstore.Store, stream string) error {
	_, err := s.Append(context.Background(), stream, eventstore.NoStream(), []eventstore.EventData{storetest.Event("Signed", 0)},
		eventstore.Claim("key-of-"+stream), eventstore.OnlyIfEveryStreamClaimed())
	return err
}

// The streams created without a claim are counted in the file: a process
// that appended relying on claims before another created such a stream is
// refused after it, as is every process opening the file later.
func TestStreamsCreatedWithoutAClaimAreCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	a, b := open(t, path), open(t, path)
	defer a.Close()
	defer b.Close()
	for i, s := range []*embedded.Store{a, b, a} {
		if err := relyOnClaims(s, fmt.Sprintf("claimed-%d", i)); err != nil {
			t.Fatalf("append %d relying on claims, every stream claimed: %v", i, err)
		}
	}
	// Appends to streams that exist, claiming nothing, count nothing.
	if _, err := b.Append(context.Background(), "claimed-1", eventstore.Exact(0), []eventstore.EventData{storetest.Event("More", 1)}); err != nil {
		t.Fatal(err)
	}
	if err := relyOnClaims(a, "claimed-3"); err != nil {
		t.Fatalf("after an append claiming nothing to a stream that claimed: %v", err)
	}
	// b creates a stream without a claim (two events: inside a savepoint),
	// and a retry of that append is a duplicate that counts nothing more.
	evs := []eventstore.EventData{storetest.Event("A", 2), storetest.Event("B", 3)}
	for range 2 {
		if _, err := b.Append(context.Background(), "unclaimed", eventstore.NoStream(), evs); err != nil {
			t.Fatal(err)
		}
	}
	head, _ := a.Head(context.Background())
	for name, s := range map[string]*embedded.Store{"the process that wrote it": b, "another process": a} {
		if err := relyOnClaims(s, "refused"); !errors.Is(err, eventstore.ErrUnclaimedStreams) {
			t.Fatalf("%s, relying on claims: %v", name, err)
		}
	}
	if h, _ := a.Head(context.Background()); h != head {
		t.Fatalf("refused appends moved the head from %d to %d", head, h)
	}
	a.Close()
	b.Close()
	if n := unclaimedCount(t, path); n != 1 {
		t.Fatalf("%d streams counted, want 1", n)
	}
	c := open(t, path)
	defer c.Close()
	if err := relyOnClaims(c, "refused"); !errors.Is(err, eventstore.ErrUnclaimedStreams) {
		t.Fatalf("after a reopen: %v", err)
	}
	// Without the option, claims work as before.
	if _, err := c.Append(context.Background(), "other", eventstore.NoStream(), []eventstore.EventData{storetest.Event("Signed", 4)}, eventstore.Claim("key-of-claimed-0")); !errors.Is(err, eventstore.ErrClaimed) {
		t.Fatalf("a key claimed before: %v", err)
	}
}

// A file of format 2 (claims, no count) is counted when it is upgraded:
// zero when every stream claimed a key, else how many did not.
func TestTheCountOfAFormat2File(t *testing.T) {
	for _, unclaimed := range []int{0, 2} {
		path := filepath.Join(t.TempDir(), "events.db")
		s := open(t, path)
		for i := range 3 {
			if err := relyOnClaims(s, fmt.Sprintf("claimed-%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range unclaimed {
			if _, err := s.Append(context.Background(), fmt.Sprintf("unclaimed-%d", i), eventstore.NoStream(), []eventstore.EventData{storetest.Event("A", i)}); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		// Back to format 2: the file as that format's binary left it.
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`DROP TABLE counts; ALTER TABLE events DROP COLUMN command_digest; PRAGMA user_version = 2`); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s = open(t, path)
		err = relyOnClaims(s, "after")
		s.Close()
		if got := unclaimedCount(t, path); got != int64(unclaimed) {
			t.Fatalf("a format 2 file with %d streams claiming nothing: counted %d", unclaimed, got)
		}
		if refused := errors.Is(err, eventstore.ErrUnclaimedStreams); refused != (unclaimed > 0) || (err != nil && !refused) {
			t.Fatalf("a format 2 file with %d streams claiming nothing, relying on claims: %v", unclaimed, err)
		}
		if _, v := pragmas(t, path); v != embedded.FormatVersion {
			t.Fatalf("format %d after the upgrade", v)
		}
	}
}
