package embedded_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cptsledger/ledger/internal/heap"

	"github.com/cptsledger/ledger/eventstore"
	"github.com/google/uuid"
)

// A body the size of a typical PaymentDecided event.
var benchBody = json.RawMessage(`{"payment_id":"9b0c8f5e-8d0f-5f0e-9a43-2d8f3b1c0a11","kind":"annual_balance","contract_year":2,` +
	`"due_on":"2021-12-01","decided_on":"2022-01-01","status":"decided","amount":"75375.00","rulebook":"aci-cpts-2019",` +
	`"lines":[{"component":"operating","amount":"60000.00"},{"mission":"access","component":"fixed","amount":"29500.00"},` +
	`{"mission":"access","component":"variable","amount":"14875.00"},{"component":"advances","amount":"-69000.00"}]}`)

func benchEvent() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "PaymentDecided", OccurredOn: "2022-01-01", Actor: "bench",
		CommandID: "cmd", Data: benchBody}
}

// BenchmarkFsync4K is the machine's own limit: one 4 KiB write followed by
// fsync, in the same directory as the stores below.
func BenchmarkFsync4K(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := f.WriteAt(buf, int64(i%256)*4096); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}

func BenchmarkAppendSequential(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "events.db"))
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", i%1000), eventstore.Any(), []eventstore.EventData{benchEvent()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// appendFunc appends events to stream: the store's Append, or ceilingLog's.
type appendFunc func(stream string, events []eventstore.EventData) error

func storeAppend(b *testing.B) appendFunc {
	s := open(b, filepath.Join(b.TempDir(), "events.db"))
	b.Cleanup(func() { s.Close() })
	return func(stream string, events []eventstore.EventData) error {
		_, err := s.Append(context.Background(), stream, eventstore.Any(), events)
		return err
	}
}

// concurrent16 runs 16 appenders of one event each, over 1 000 streams.
func concurrent16(b *testing.B, appendTo appendFunc) {
	var n atomic.Int64
	b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if err := appendTo(fmt.Sprintf("s-%d", i%1000), []eventstore.EventData{benchEvent()}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// batch100 appends batches of 100 events, one after the other, over 1 000
// streams.
func batch100(b *testing.B, appendTo appendFunc) {
	batch := make([]eventstore.EventData, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			batch[j] = benchEvent()
		}
		if err := appendTo(fmt.Sprintf("s-%d", i%1000), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendConcurrent16 runs 16 appenders of one event each: group
// commit lets them share fsyncs.
func BenchmarkAppendConcurrent16(b *testing.B) { concurrent16(b, storeAppend(b)) }

func BenchmarkAppendBatch100(b *testing.B) { batch100(b, storeAppend(b)) }

// fill appends n events in batches of 500 to a fresh store at path.
func fill(b *testing.B, path string, n int) {
	s := open(b, path)
	defer s.Close()
	ctx := context.Background()
	batch := make([]eventstore.EventData, 500)
	for i := 0; i < n; i += len(batch) {
		for j := range batch {
			batch[j] = benchEvent()
		}
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", (i/500)%5000), eventstore.Any(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEvents() int {
	if v := os.Getenv("LEDGER_BENCH_EVENTS"); v != "" {
		var n int
		fmt.Sscan(v, &n)
		if n > 0 {
			return n
		}
	}
	return 200_000
}

// BenchmarkReadAll reads the whole global log page by page and reports the
// rate and the largest heap seen while reading (LEDGER_BENCH_EVENTS sets
// the size of the log, 200 000 by default; 1 000 000 for the recorded run).
func BenchmarkReadAll(b *testing.B) {
	total := benchEvents()
	path := filepath.Join(b.TempDir(), "events.db")
	fill(b, path, total)
	s := open(b, path)
	defer s.Close()
	ctx := context.Background()
	var peak atomic.Uint64
	stop := heap.Sample(&peak)
	defer stop()
	b.ResetTimer()
	for b.Loop() {
		var after eventstore.Position
		read := 0
		for {
			page, err := s.ReadAll(ctx, after, 1024)
			if err != nil {
				b.Fatal(err)
			}
			read += len(page)
			if len(page) < 1024 {
				break
			}
			after = page[len(page)-1].Position
		}
		if read != total {
			b.Fatalf("read %d events, want %d", read, total)
		}
	}
	b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkSubscribeCatchUp subscribes from position 0 and stops at the head.
func BenchmarkSubscribeCatchUp(b *testing.B) {
	total := benchEvents()
	path := filepath.Join(b.TempDir(), "events.db")
	fill(b, path, total)
	s := open(b, path)
	defer s.Close()
	var peak atomic.Uint64
	stop := heap.Sample(&peak)
	defer stop()
	b.ResetTimer()
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		seen := 0
		err := s.Subscribe(ctx, 0, func(evs []eventstore.Envelope) error {
			seen += len(evs)
			if seen >= total {
				cancel()
			}
			return nil
		})
		cancel()
		if seen != total {
			b.Fatalf("caught up %d events, want %d (%v)", seen, total, err)
		}
	}
	b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// ceilingLog is not a store: it is the least an append-only log with group
// commit must do on this machine — the same preparation and hash chain as
// the store, each group's records written with one write and made durable
// with one fdatasync, and no index, no recovery, no SQL. It writes into a
// file zeroed beforehand, round and round (as a log that recycles its
// segments would), so that fdatasync has no file size or extent to record:
// the cheapest sync there is. Its figures bound what a storage engine built
// for appends could reach here (ADR 0001).
type ceilingLog struct {
	f    *os.File
	off  int64 // next write, modulo ceilingFile
	reqs chan *ceilingReq
	done chan struct{}
}

type ceilingReq struct {
	stream string
	events []eventstore.EventData
	acked  chan struct{}
}

const ceilingFile = 64 << 20

func openCeilingLog(b *testing.B) *ceilingLog {
	f, err := os.Create(filepath.Join(b.TempDir(), "log"))
	if err != nil {
		b.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for i := 0; i < ceilingFile/len(zeros); i++ {
		if _, err := f.Write(zeros); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	l := &ceilingLog{f: f, reqs: make(chan *ceilingReq, 256), done: make(chan struct{})}
	go l.writer(b)
	b.Cleanup(func() { close(l.reqs); <-l.done; f.Close() })
	return l
}

func (l *ceilingLog) writer(b *testing.B) {
	defer close(l.done)
	tails := map[string]eventstore.Hash{}
	var buf []byte
	group := make([]*ceilingReq, 0, 256)
	for r := range l.reqs {
		group = append(group[:0], r)
	drain:
		for len(group) < cap(group) {
			select {
			case r, ok := <-l.reqs:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		buf = buf[:0]
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
		for rest := buf; len(rest) > 0; {
			n := min(len(rest), int(ceilingFile-l.off))
			if _, err := l.f.WriteAt(rest[:n], l.off); err != nil {
				b.Error(err)
			}
			rest = rest[n:]
			l.off = (l.off + int64(n)) % ceilingFile
		}
		if err := syscall.Fdatasync(int(l.f.Fd())); err != nil {
			b.Error(err)
		}
		for _, r := range group {
			close(r.acked)
		}
	}
}

func (l *ceilingLog) append(stream string, events []eventstore.EventData) error {
	prepared, err := eventstore.Prepare(stream, events)
	if err != nil {
		return err
	}
	r := &ceilingReq{stream: stream, events: prepared, acked: make(chan struct{})}
	l.reqs <- r
	<-r.acked
	return nil
}

// BenchmarkCeilingConcurrent16 is BenchmarkAppendConcurrent16 on ceilingLog.
func BenchmarkCeilingConcurrent16(b *testing.B) { concurrent16(b, openCeilingLog(b).append) }

// BenchmarkCeilingBatch100 is BenchmarkAppendBatch100 on ceilingLog.
func BenchmarkCeilingBatch100(b *testing.B) { batch100(b, openCeilingLog(b).append) }
