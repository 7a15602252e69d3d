package embedded_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
	"github.com/cptsledger/ledger/eventstore/storetest"
	"github.com/cptsledger/ledger/internal/testwait"
)

const childEnv = "LEDGER_EMBEDDED_CRASH_CHILD"

// childSeedEnv hands the child the seed of its draws (batch sizes,
// streams, padding): the test's, logged.
const childSeedEnv = "LEDGER_EMBEDDED_CRASH_SEED"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

func open(t testing.TB, path string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), path, embedded.Options{PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return open(t, filepath.Join(t.TempDir(), "events.db"))
	})
}

// crashChild appends batches from four goroutines for ever and prints one
// line per acknowledged append: "ack <stream> <batch id> <n> <id>,<id>…".
func crashChild(path string) {
	s, err := embedded.Open(context.Background(), path, embedded.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	seed, _ := strconv.ParseUint(os.Getenv(childSeedEnv), 10, 64)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				n := 1 + rng.IntN(5)
				batch := uuid.NewString()
				stream := fmt.Sprintf("crash-%d", rng.IntN(10))
				evs := make([]eventstore.EventData, n)
				ids := make([]string, n)
				for j := range evs {
					evs[j] = eventstore.EventData{ID: uuid.New(), Type: "Crash", CommandID: batch,
						Data: json.RawMessage(fmt.Sprintf(`{"batch":%q,"size":%d,"pad":%q}`, batch, n, strings.Repeat("x", rng.IntN(3000))))}
					ids[j] = evs[j].ID.String()
				}
				if _, err := s.Append(context.Background(), stream, eventstore.Any(), evs); err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(4)
				}
				mu.Lock()
				fmt.Fprintf(out, "ack %s %s %d %s\n", stream, batch, n, strings.Join(ids, ","))
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashSafety kills a writing child process with SIGKILL at random
// moments and checks, each time, that every acknowledged event is stored, no
// batch is partly visible, and every hash chain verifies.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "events.db")
	acked := map[string]string{} // event id → stream
	rng := testwait.Rand(t)
	const kills = 20
	totalAcks := 0
	for round := 0; round < kills; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+path, fmt.Sprintf("%s=%d", childSeedEnv, rng.Uint64()))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan []string)
		go func() {
			var got []string
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				got = append(got, sc.Text())
			}
			lines <- got
		}()
		// A kill at a random moment of the child's writing (the seed above
		// replays the moments).
		time.Sleep(time.Duration(50+rng.IntN(250)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		got := <-lines
		_ = cmd.Wait()
		if strings.Contains(stderr.String(), "append:") {
			t.Fatalf("child failed to append: %s", stderr.String())
		}
		for _, l := range got {
			f := strings.Fields(l)
			if len(f) != 5 || f[0] != "ack" {
				continue // a line cut by the kill was never acknowledged to anyone
			}
			for _, id := range strings.Split(f[4], ",") {
				acked[id] = f[1]
			}
			totalAcks++
		}
		checkStore(t, path, acked)
	}
	if totalAcks < kills {
		t.Fatalf("only %d appends acknowledged over %d runs: the child did not get going", totalAcks, kills)
	}
	t.Logf("%d kills, %d acknowledged appends, %d acknowledged events all found", kills, totalAcks, len(acked))
}

func checkStore(t *testing.T, path string, acked map[string]string) {
	t.Helper()
	s := open(t, path)
	defer s.Close()
	ctx := context.Background()
	stored := map[string]string{}
	batches := map[string][]int{} // batch id → [declared size, seen]
	var after eventstore.Position
	for {
		page, err := s.ReadAll(ctx, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.Position != after+1 {
				t.Fatalf("position %d follows %d: the log has a gap", e.Position, after)
			}
			after = e.Position
			stored[e.EventID.String()] = e.Stream
			var body struct {
				Batch string
				Size  int
			}
			if err := json.Unmarshal(e.Data, &body); err != nil {
				t.Fatal(err)
			}
			b := batches[body.Batch]
			if b == nil {
				b = []int{body.Size, 0}
			}
			b[1]++
			batches[body.Batch] = b
		}
		if len(page) < 1000 {
			break
		}
	}
	for id, stream := range acked {
		if got, ok := stored[id]; !ok || got != stream {
			t.Fatalf("acknowledged event %s (stream %s) lost after SIGKILL", id, stream)
		}
	}
	for id, b := range batches {
		if b[0] != b[1] {
			t.Fatalf("batch %s is partly visible: %d of %d events", id, b[1], b[0])
		}
	}
	if _, err := eventstore.Verify(ctx, s); err != nil {
		t.Fatalf("verify after SIGKILL: %v", err)
	}
}

// TestVerifyNamesFlippedByte flips one byte of one stored event in the
// database file itself and checks that Verify names that event.
func TestVerifyNamesFlippedByte(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	ctx := context.Background()
	var victim eventstore.AppendResult
	for i := 0; i < 50; i++ {
		body := fmt.Sprintf(`{"n":%d,"marker":"m-%04d-end"}`, i, i)
		res, err := s.Append(ctx, fmt.Sprintf("cpts-%d", i%5), eventstore.Any(),
			[]eventstore.EventData{{ID: uuid.New(), Type: "T", Data: json.RawMessage(body)}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 37 {
			victim = res
		}
	}
	if _, err := eventstore.Verify(ctx, s); err != nil {
		t.Fatalf("verify before tampering: %v", err)
	}
	if err := s.Close(); err != nil { // the last close checkpoints the WAL into the file
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte("m-0037-end")
	at := bytes.Index(raw, marker)
	if at < 0 || bytes.Count(raw, marker) != 1 {
		t.Fatalf("marker found %d times in the file", bytes.Count(raw, marker))
	}
	raw[at+3] ^= 0x01 // "m-0037" becomes "m-0137"
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	_, err = eventstore.Verify(ctx, s)
	var ce *eventstore.CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("verify after flipping a byte: %v, want *CorruptionError", err)
	}
	if ce.Position != victim.FirstPosition || ce.Stream != "cpts-2" || ce.Revision != victim.FirstRevision {
		t.Fatalf("verify named position %d (stream %s rev %d), want position %d (stream cpts-2 rev %d)",
			ce.Position, ce.Stream, ce.Revision, victim.FirstPosition, victim.FirstRevision)
	}
}

// TestTwoHandlesShareOneFile opens the same file twice, as the CLI does
// while a server runs: a subscriber on one handle sees what the other writes.
func TestTwoHandlesShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	a, b := open(t, path), open(t, path)
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan eventstore.Envelope, 100)
	go a.Subscribe(ctx, 0, func(evs []eventstore.Envelope) error {
		for _, e := range evs {
			got <- e
		}
		return nil
	})
	for i := 0; i < 20; i++ {
		w := a
		if i%2 == 1 {
			w = b
		}
		exp := eventstore.NoStream()
		if i > 0 {
			exp = eventstore.Exact(uint64(i - 1))
		}
		if _, err := w.Append(ctx, "shared", exp, []eventstore.EventData{storetest.Event("S", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		select {
		case e := <-got:
			if e.Revision != uint64(i) || e.Position != eventstore.Position(i+1) {
				t.Fatalf("event %d: revision %d position %d", i, e.Revision, e.Position)
			}
		case <-ctx.Done():
			t.Fatalf("subscriber saw %d of 20 events", i)
		}
	}
}

// TestRetriesFoundOnInsert covers the appends this backend tells from new
// ones only when the (stream, event_id) index refuses a row: a retry whose
// expected revision still matches, and batches mixing new and stored ids,
// which must write nothing, in a group shared with other appends.
func TestRetriesFoundOnInsert(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "events.db"))
	defer s.Close()
	ctx := context.Background()
	a, b := storetest.Event("A", 0), storetest.Event("B", 1)
	first, err := s.Append(ctx, "retry", eventstore.NoStream(), []eventstore.EventData{a, b})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Append(ctx, "retry", eventstore.Any(), []eventstore.EventData{a, b})
	if err != nil || !again.Duplicate || again.FirstPosition != first.FirstPosition || again.LastRevision != first.LastRevision {
		t.Fatalf("retry under Any: %+v, %v; want the original %+v marked duplicate", again, err, first)
	}
	single, err := s.Append(ctx, "retry", eventstore.StreamExists(), []eventstore.EventData{b})
	if err != nil || !single.Duplicate || single.FirstRevision != 1 || single.FirstPosition != first.LastPosition {
		t.Fatalf("retry of the second event alone: %+v, %v", single, err)
	}

	// Ten appends race into the writer's groups: the mixed batches fail
	// with ErrEventIDConflict and leave nothing, the others are stored.
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := []eventstore.EventData{storetest.Event("N", i)}
			if i%2 == 0 {
				batch = append(batch, b, storetest.Event("N", i))
			}
			_, errs[i] = s.Append(ctx, "retry", eventstore.Any(), batch)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if want := i%2 == 0; errors.Is(err, eventstore.ErrEventIDConflict) != want || (!want && err != nil) {
			t.Errorf("append %d: %v (conflict expected: %v)", i, err, want)
		}
	}
	evs, err := s.ReadStream(ctx, "retry", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 7 {
		t.Fatalf("stream holds %d events, want 2 + 5", len(evs))
	}
	for i, e := range evs {
		if e.Revision != uint64(i) || e.Position != eventstore.Position(i+1) {
			t.Fatalf("event %d at revision %d position %d: a refused batch left a hole or a row", i, e.Revision, e.Position)
		}
	}
	if _, err := eventstore.Verify(ctx, s); err != nil {
		t.Fatal(err)
	}
}

// WriterStats counts each transaction and the appends it held: one each
// when appends come one after another, every append once when 16
// goroutines race (in fewer groups, or as many if none ever waited).
func TestWriterStats(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "events.db"))
	defer s.Close()
	ctx := context.Background()
	for i := range 5 {
		if _, err := s.Append(ctx, "one", eventstore.Any(), []eventstore.EventData{storetest.Event("A", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.WriterStats(); st.Groups != 5 || st.Appends != 5 || st.Busy <= 0 {
		t.Fatalf("after 5 appends in turn: %+v, want 5 groups of one", st)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := s.Append(ctx, fmt.Sprintf("g%d", g), eventstore.Any(), []eventstore.EventData{storetest.Event("B", i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := s.WriterStats(); st.Appends != 5+16*20 || st.Groups < 6 || st.Groups > st.Appends {
		t.Fatalf("after 320 more from 16 goroutines: %+v", st)
	}
}

// Appends racing Close all return — committed, failed by their own
// context, or ErrClosed — and Close returns, while half the appenders give
// up on their calls at random moments. Two hangs this found: the callers of
// the group committed last may have left without their answers, and Close
// answered them again (their one-slot reply channel full, the writer blocked
// there for ever); and a request that reached the queue after the writer's
// last look waited for an answer that never came. Nothing is written twice.
func TestAppendsRacingClose(t *testing.T) {
	rng := testwait.Rand(t)
	for round := range 60 {
		s := open(t, filepath.Join(t.TempDir(), "events.db"))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			grng := rand.New(rand.NewPCG(rng.Uint64(), uint64(g)))
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					if g%2 == 0 {
						ctx, cancel = context.WithTimeout(ctx, time.Duration(grng.IntN(400))*time.Microsecond)
					}
					_, err := s.Append(ctx, fmt.Sprintf("g%d-%d", g, i), eventstore.NoStream(), []eventstore.EventData{storetest.Event("A", i)})
					cancel()
					switch {
					case errors.Is(err, eventstore.ErrClosed):
						return
					case err != nil && ctx.Err() == nil:
						t.Errorf("round %d: append: %v", round, err)
						return
					}
				}
			}()
		}
		returned := make(chan struct{})
		go func() { wg.Wait(); close(returned) }()
		groups := int64(1 + rng.IntN(40))
		testwait.Until(t, 30*time.Second, fmt.Sprintf("%d groups committed", groups), func() bool { return s.WriterStats().Groups >= groups })
		closed := make(chan error, 1)
		go func() { closed <- s.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("round %d: close: %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: Close did not return in 30 s", round)
		}
		select {
		case <-returned:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: an append racing Close did not return in 30 s", round)
		}
		s = open(t, s.Path())
		if _, err := eventstore.Verify(context.Background(), s); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		s.Close()
	}
}

func TestAppendAfterClose(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "events.db"))
	s.Close()
	if _, err := s.Append(context.Background(), "x", eventstore.Any(), []eventstore.EventData{storetest.Event("A", 0)}); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

// TestTwoProcessesShareOneFile runs a writing child process while this one
// writes and subscribes to the same file: both write, and the subscriber
// sees the other process's events (by polling) and its own, in order, once.
func TestTwoProcessesShareOneFile(t *testing.T) {
	if testing.Short() {
		t.Skip("two-process test skipped in -short mode")
	}
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path) // creates the file before the child opens it
	defer s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childAcks := make(chan int, 1)
	childWriting := make(chan struct{})
	go func() {
		n := 0
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if n++; n == 1 {
				close(childWriting)
			}
		}
		childAcks <- n
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var seen []eventstore.Envelope
	subDone := make(chan error, 1)
	go func() {
		subDone <- s.Subscribe(ctx, 0, func(evs []eventstore.Envelope) error {
			mu.Lock()
			seen = append(seen, evs...)
			mu.Unlock()
			return nil
		})
	}()
	select { // the parent writes while the child writes
	case <-childWriting:
	case <-ctx.Done():
		t.Fatal("the child never wrote")
	}
	for i := 0; i < 200; i++ {
		if _, err := s.Append(ctx, "parent", eventstore.Any(), []eventstore.EventData{storetest.Event("Parent", i)}); err != nil {
			t.Fatalf("parent append while the child writes: %v", err)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	acked := <-childAcks
	head, _ := s.Head(ctx)
	testwait.Until(t, 30*time.Second, fmt.Sprintf("the subscriber to see the %d events", head), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return eventstore.Position(len(seen)) == head
	})
	cancel()
	<-subDone
	fromChild := 0
	for i, e := range seen {
		if e.Position != eventstore.Position(i+1) {
			t.Fatalf("delivery %d has position %d", i, e.Position)
		}
		if e.Type == "Crash" {
			fromChild++
		}
	}
	if acked == 0 || fromChild == 0 {
		t.Fatalf("the child acknowledged %d appends and the subscriber saw %d of its events: no concurrent writing happened", acked, fromChild)
	}
	if _, err := eventstore.Verify(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Logf("parent wrote 200 events while the child wrote %d (%d appends acknowledged); the subscriber saw all %d in order", fromChild, acked, head)
}

// TestReadPathMatchesTheTable checks the C-API read path against the table
// as any SQL client sees it, field by field, and that an event read back owns
// its memory: growing or editing its Data leaves the other fields alone.
func TestReadPathMatchesTheTable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	ctx := context.Background()
	for i := range 30 {
		e := eventstore.EventData{ID: uuid.New(), Type: fmt.Sprintf("Type%d", i%3), SchemaVersion: 1 + i%2,
			OccurredOn: fmt.Sprintf("2024-01-%02d", 1+i%28), Actor: "actor-é-" + fmt.Sprint(i),
			CommandID: fmt.Sprintf("cmd-%d", i), CorrelationID: fmt.Sprintf("corr-%d", i), CausationID: "",
			Data: json.RawMessage(fmt.Sprintf(`{"i":%d,"s":"ünïcode %d"}`, i, i))}
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i%4), eventstore.Any(), []eventstore.EventData{e}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ReadAll(ctx, 0, 100)
	if err != nil || len(all) != 30 {
		t.Fatalf("read all: %d events, %v", len(all), err)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT position, hex(event_id), stream, revision, type, schema_version,
		occurred_on, recorded_at, actor, command_id, correlation_id, causation_id, CAST(data AS TEXT), hex(prev_hash), hex(hash)
		FROM events ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var pos, rev, sv, rec int64
		var id, stream, typ, occ, actor, cmd, corr, caus, data, prev, hash string
		if err := rows.Scan(&pos, &id, &stream, &rev, &typ, &sv, &occ, &rec, &actor, &cmd, &corr, &caus, &data, &prev, &hash); err != nil {
			t.Fatal(err)
		}
		e := all[i]
		hexOf := func(b []byte) string { return strings.ToUpper(fmt.Sprintf("%x", b)) }
		got := fmt.Sprint(int64(e.Position), hexOf(e.EventID[:]), e.Stream, e.Revision, e.Type, e.SchemaVersion, e.OccurredOn,
			e.RecordedAt.UnixMicro(), e.Actor, e.CommandID, e.CorrelationID, e.CausationID, string(e.Data), hexOf(e.PrevHash[:]), hexOf(e.Hash[:]))
		want := fmt.Sprint(pos, id, stream, rev, typ, sv, occ, rec, actor, cmd, corr, caus, data, prev, hash)
		if got != want {
			t.Fatalf("event %d:\nread path %s\ntable     %s", i, got, want)
		}
		i++
	}
	if err := rows.Err(); err != nil || i != 30 {
		t.Fatalf("table has %d rows (%v)", i, err)
	}
	st, err := s.ReadStream(ctx, "s-2", 1, 100)
	if err != nil || len(st) != 6 || st[0].Revision != 1 || st[0].Stream != "s-2" || st[5].Revision != 6 {
		t.Fatalf("read stream s-2 from 1: %d events, %v", len(st), err)
	}
	e := all[0]
	stream, actor := e.Stream, e.Actor
	_ = append(e.Data, `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`...)
	for j := range e.Data {
		e.Data[j] = 'X'
	}
	if e.Stream != stream || e.Actor != actor || all[1].Stream != "s-1" {
		t.Fatalf("editing Data changed other fields: stream %q actor %q", e.Stream, e.Actor)
	}
	if _, err := eventstore.Verify(ctx, s); err != nil {
		t.Fatalf("verify: %v", err)
	}

	// A row edited outside the store: the read names its position.
	rw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.Exec(`UPDATE events SET hash = x'00' WHERE position = 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadAll(ctx, 0, 100); err == nil || !strings.Contains(err.Error(), "position 7") {
		t.Fatalf("read of a malformed row: %v, want an error naming position 7", err)
	}
	s.Close()
	if _, err := s.ReadAll(ctx, 0, 10); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if _, err := s.Head(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("head after close: %v", err)
	}
}

// The checkpointer copies the WAL into the database file after commits, long
// before the WAL reaches the writer's own threshold: the file holds the
// events while the store runs. (Whether SQLite then writes the WAL from its
// beginning again depends on when the writer's next transaction starts: not
// asserted.)
func TestTheCheckpointerCopiesTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := open(t, path)
	defer s.Close()
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	// appendBig appends 100 events of ~1 KB to a new stream.
	appendBig := func(stream string) {
		t.Helper()
		batch := make([]eventstore.EventData, 100)
		for j := range batch {
			batch[j] = storetest.Event("Big", j)
			batch[j].Data = json.RawMessage(fmt.Sprintf(`{"pad": %q}`, strings.Repeat("x", 1000)))
		}
		if _, err := s.Append(context.Background(), stream, eventstore.NoStream(), batch); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		appendBig(fmt.Sprintf("s-%d", i))
	}
	// 500 events of ~1 KB: ~150 pages, far below the writer's threshold.
	testwait.Until(t, 30*time.Second, "the database file to hold the 500 events", func() bool { return size(path) >= 500_000 })
	// It goes on after every commit: each later batch reaches the file.
	for i := range 5 {
		appendBig(fmt.Sprintf("t-%d", i))
		testwait.Until(t, 30*time.Second, fmt.Sprintf("batch %d in the database file", i+6), func() bool { return size(path) >= int64(500_000+(i+1)*100_000) })
	}
}
