package main

import (
	"context"
	gosql "database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/hallgren/eventsourcing/core"
	sqles "github.com/hallgren/eventsourcing/eventstore/sql"
	_ "github.com/mattn/go-sqlite3" // the driver the peer's README names

	"github.com/cptsledger/ledger/eventstore"
	"github.com/cptsledger/ledger/eventstore/embedded"
)

// body is the size of a typical PaymentDecided event (the store's own
// benchmarks use the same).
var body = json.RawMessage(`{"payment_id":"9b0c8f5e-8d0f-5f0e-9a43-2d8f3b1c0a11","kind":"annual_balance","contract_year":2,` +
	`"due_on":"2021-12-01","decided_on":"2022-01-01","status":"decided","amount":"75375.00","rulebook":"aci-cpts-2019",` +
	`"lines":[{"component":"operating","amount":"60000.00"},{"mission":"access","component":"fixed","amount":"29500.00"},` +
	`{"mission":"access","component":"variable","amount":"14875.00"},{"component":"advances","amount":"-69000.00"}]}`)

// store is what the workloads ask of an event store: append n events to a
// stream whose last version the caller tracks, read a stream, read
// everything.
type store interface {
	append(stream string, from, n int) error
	load(stream string) (int, error)
	readAll() (int, error)
	close()
}

// opener opens a fresh store in a directory.
type opener struct {
	name string
	open func(dir string) (store, error)
}

var stores = []opener{
	{"ledger", openLedger},
	{"peer", openPeer},
	{"prototype", openSegment}, // ADR 0004's append-only log
}

// ceiling is the append-only log of the store's own benchmarks
// (eventstore/embedded's BenchmarkCeiling*): the preparation, the hash
// chain, one write and one fdatasync per group, into a pre-zeroed file —
// what an engine built for appends would cost here.
var ceiling = opener{"ceiling", openCeiling}

type ledgerStore struct{ s *embedded.Store }

func openLedger(dir string) (store, error) {
	s, err := embedded.Open(context.Background(), filepath.Join(dir, "events.db"), embedded.Options{})
	return ledgerStore{s}, err
}

func events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{ID: uuid.New(), Type: "PaymentDecided", OccurredOn: "2022-01-01", Actor: "bench",
			CommandID: "cmd", Data: body}
	}
	return out
}

func (l ledgerStore) append(stream string, from, n int) error {
	_, err := l.s.Append(context.Background(), stream, eventstore.Any(), events(n))
	return err
}

func (l ledgerStore) load(stream string) (int, error) {
	evs, err := l.s.ReadStream(context.Background(), stream, 0, 1000)
	return len(evs), err
}

func (l ledgerStore) readAll() (int, error) {
	n := 0
	err := eventstore.EachPage(context.Background(), l.s, func(page []eventstore.Envelope) error {
		n += len(page)
		return nil
	})
	return n, err
}

func (l ledgerStore) close() { l.s.Close() }

type peerStore struct{ s *sqles.SQLite }

// openPeer opens the peer's SQLite store as its README does (the mattn
// driver, NewSQLiteSingelWriter), in WAL mode with synchronous=FULL: like
// the ledger, durable at each commit with one fsync (checked by -strace).
func openPeer(dir string) (store, error) {
	db, err := gosql.Open("sqlite3", "file:"+filepath.Join(dir, "peer.db")+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=30000")
	if err != nil {
		return nil, err
	}
	s, err := sqles.NewSQLiteSingelWriter(db)
	return peerStore{s}, err
}

func (p peerStore) append(stream string, from, n int) error {
	evs := make([]core.Event, n)
	now := time.Now()
	for i := range evs {
		evs[i] = core.Event{AggregateID: stream, Version: core.Version(from + i + 1), AggregateType: "Contract", Timestamp: now,
			Reason: "PaymentDecided", Data: body}
	}
	return p.s.Save(evs)
}

func (p peerStore) load(stream string) (int, error) {
	return count(p.s.Get(context.Background(), stream, "Contract", 0))
}

func (p peerStore) readAll() (int, error) { return count(p.s.All(0)()) }

// count reads every event of an iterator of the peer, as its users do.
func count(it core.Iterator, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.Next() {
		if _, err := it.Value(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (p peerStore) close() { p.s.Close() }

// ceilingLog: see ceiling.
type ceilingLog struct {
	f    *os.File
	off  int64
	reqs chan *ceilingReq
	done chan struct{}
	once sync.Once
}

type ceilingReq struct {
	stream string
	events []eventstore.EventData
	acked  chan error
}

const ceilingFile = 64 << 20

func openCeiling(dir string) (store, error) {
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < ceilingFile/len(zeros); i++ {
		if _, err := f.Write(zeros); err != nil {
			return nil, err
		}
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	l := &ceilingLog{f: f, reqs: make(chan *ceilingReq, 256), done: make(chan struct{})}
	go l.writer()
	return l, nil
}

func (l *ceilingLog) writer() {
	defer close(l.done)
	tails := map[string]eventstore.Hash{}
	group := make([]*ceilingReq, 0, 256)
	var buf []byte
	for r := range l.reqs {
		group = gather(append(group[:0], r), l.reqs)
		buf = l.encode(buf[:0], group, tails)
		err := l.write(buf)
		for _, r := range group {
			r.acked <- err
		}
	}
}

// gather adds to a group the requests waiting now, up to its capacity:
// group commit, as the store and the ceiling log of its benchmarks do it.
func gather[T any](group []T, reqs <-chan T) []T {
	for len(group) < cap(group) {
		select {
		case r, ok := <-reqs:
			if !ok {
				return group
			}
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

func (l *ceilingLog) encode(buf []byte, group []*ceilingReq, tails map[string]eventstore.Hash) []byte {
	for _, r := range group {
		prev := tails[r.stream]
		for _, e := range r.events {
			env := eventstore.Seal(prev, r.stream, 0, 0, time.Now(), e)
			buf = binary.AppendUvarint(buf, uint64(len(env.Data)))
			buf = append(buf, env.Data...)
			buf = append(buf, env.Hash[:]...)
			prev = env.Hash
		}
		tails[r.stream] = prev
	}
	return buf
}

func (l *ceilingLog) write(buf []byte) error {
	for rest := buf; len(rest) > 0; {
		n := min(len(rest), int(ceilingFile-l.off))
		if _, err := l.f.WriteAt(rest[:n], l.off); err != nil {
			return err
		}
		rest = rest[n:]
		l.off = (l.off + int64(n)) % ceilingFile
	}
	return syscall.Fdatasync(int(l.f.Fd()))
}

func (l *ceilingLog) append(stream string, from, n int) error {
	prepared, err := eventstore.Prepare(stream, events(n))
	if err != nil {
		return err
	}
	r := &ceilingReq{stream: stream, events: prepared, acked: make(chan error, 1)}
	l.reqs <- r
	return <-r.acked
}

func (l *ceilingLog) load(string) (int, error) { return 0, fmt.Errorf("the ceiling log is not read") }
func (l *ceilingLog) readAll() (int, error)    { return 0, fmt.Errorf("the ceiling log is not read") }
func (l *ceilingLog) close() {
	l.once.Do(func() { close(l.reqs); <-l.done; l.f.Close() })
}
