package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/cptsledger/ledger/eventstore"
)

// segmentLog is the prototype of ADR 0004: an append-only log file with
// the store's contract on the write path — the expected revision, an event
// id stored already answered as a retry, the hash chain, group commit with
// one fdatasync per group — its indexes (by stream, by event id) in memory,
// rebuilt by reading the file at open, which also cuts a torn tail (each
// record carries its length and a CRC-32C). What it leaves out, and what an
// engine would need beyond it, is in the ADR; it exists to measure.
type segmentLog struct {
	f     *os.File
	end   int64 // where the next record goes
	alloc int64 // the file's length written (zeros ahead of end)
	reqs  chan *segReq
	done  chan struct{}
	once  sync.Once

	mu      sync.RWMutex
	streams map[string]*segStream
	ids     map[uuid.UUID]int64 // event id → the record's offset
	offsets []int64             // by position - 1
}

type segStream struct {
	offsets []int64
	hash    eventstore.Hash
}

type segReq struct {
	stream   string
	expected int64 // -2: any
	events   []eventstore.EventData
	acked    chan error
}

// segChunk is how much of the file is written with zeros ahead of the log:
// a record lands on allocated, written blocks, so that fdatasync flushes
// data only, not the file's size or its extents.
const segChunk = 16 << 20

var crc = crc32.MakeTable(crc32.Castagnoli)

func openSegment(dir string) (store, error) {
	f, err := os.OpenFile(filepath.Join(dir, "segment.log"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l := &segmentLog{f: f, reqs: make(chan *segReq, 256), done: make(chan struct{}),
		streams: map[string]*segStream{}, ids: map[uuid.UUID]int64{}}
	if err := l.recover(); err != nil {
		f.Close()
		return nil, err
	}
	// The next chunk is written ahead, at open: an engine would keep one
	// ahead of the log from a goroutine of its own, off the commit path.
	if err := l.extend(); err != nil {
		f.Close()
		return nil, err
	}
	go l.writer()
	return l, nil
}

// recover reads the file from the start, rebuilding the indexes, and stops
// at the first record that is zeros, short, or fails its CRC: the tail a
// crash tore (never acknowledged: its group's fdatasync had not returned).
func (l *segmentLog) recover() error {
	st, err := l.f.Stat()
	if err != nil {
		return err
	}
	l.alloc = st.Size()
	buf := make([]byte, l.alloc)
	if _, err := io.ReadFull(io.NewSectionReader(l.f, 0, l.alloc), buf); err != nil {
		return err
	}
	for off := int64(0); ; {
		rec, n, ok := decodeRecord(buf[off:])
		if !ok {
			l.end = off
			return nil
		}
		l.index(rec, off)
		off += int64(n)
	}
}

// record is one event as the log holds it.
type record struct {
	stream   string
	id       uuid.UUID
	revision uint64
	env      eventstore.Envelope
}

// encodeRecord appends a record: its payload's length, the payload's CRC,
// the payload (stream, revision, position, event id, type, data, hashes).
func encodeRecord(buf []byte, env *eventstore.Envelope) []byte {
	var p []byte
	p = binary.AppendUvarint(p, uint64(len(env.Stream)))
	p = append(p, env.Stream...)
	p = binary.AppendUvarint(p, env.Revision)
	p = binary.AppendUvarint(p, uint64(env.Position))
	p = append(p, env.EventID[:]...)
	p = binary.AppendUvarint(p, uint64(len(env.Type)))
	p = append(p, env.Type...)
	p = binary.AppendUvarint(p, uint64(len(env.Data)))
	p = append(p, env.Data...)
	p = append(p, env.PrevHash[:]...)
	p = append(p, env.Hash[:]...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(p)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(p, crc))
	return append(buf, p...)
}

func decodeRecord(b []byte) (record, int, bool) {
	if len(b) < 8 {
		return record{}, 0, false
	}
	n, sum := binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if n == 0 || int(n) > len(b)-8 || crc32.Checksum(b[8:8+n], crc) != sum {
		return record{}, 0, false
	}
	p := b[8 : 8+n]
	var r record
	take := func() []byte {
		l, k := binary.Uvarint(p)
		v := p[k : k+int(l)]
		p = p[k+int(l):]
		return v
	}
	r.stream = string(take())
	rev, k := binary.Uvarint(p)
	p = p[k:]
	pos, k := binary.Uvarint(p)
	p = p[k:]
	copy(r.id[:], p[:16])
	p = p[16:]
	typ := string(take())
	data := take()
	r.revision = rev
	r.env = eventstore.Envelope{Stream: r.stream, Revision: rev, Position: eventstore.Position(pos), EventID: r.id, Type: typ, Data: data}
	copy(r.env.PrevHash[:], p[:32])
	copy(r.env.Hash[:], p[32:64])
	return r, 8 + int(n), true
}

func (l *segmentLog) index(r record, off int64) {
	s := l.streams[r.stream]
	if s == nil {
		s = &segStream{}
		l.streams[r.stream] = s
	}
	s.offsets = append(s.offsets, off)
	s.hash = r.env.Hash
	l.ids[r.id] = off
	l.offsets = append(l.offsets, off)
}

func (l *segmentLog) writer() {
	defer close(l.done)
	group := make([]*segReq, 0, 256)
	var buf []byte
	for r := range l.reqs {
		group = gather(append(group[:0], r), l.reqs)
		l.commit(group, &buf)
	}
}

// commit checks and seals a group, writes it in one write and one
// fdatasync, then indexes it and answers.
func (l *segmentLog) commit(group []*segReq, buf *[]byte) {
	*buf = (*buf)[:0]
	errs := make([]error, len(group))
	var recs []record
	var offs []int64
	pending := map[string]*segStream{} // tails as this group leaves them
	now := time.Now()
	for i, r := range group {
		s := pending[r.stream]
		if s == nil {
			s = &segStream{}
			if cur := l.streams[r.stream]; cur != nil {
				s.offsets, s.hash = cur.offsets[:len(cur.offsets):len(cur.offsets)], cur.hash
			}
		}
		if r.expected != -2 && r.expected != int64(len(s.offsets))-1 {
			errs[i] = &eventstore.WrongRevisionError{Stream: r.stream}
			continue
		}
		if _, dup := l.ids[r.events[0].ID]; dup {
			continue // a retry: stored already (the prototype does not compare the content)
		}
		for _, e := range r.events {
			pos := eventstore.Position(len(l.offsets) + len(recs) + 1)
			env := eventstore.Seal(s.hash, r.stream, uint64(len(s.offsets)), pos, now, e)
			off := l.end + int64(len(*buf))
			*buf = encodeRecord(*buf, &env)
			recs, offs = append(recs, record{stream: r.stream, id: e.ID, revision: env.Revision, env: env}), append(offs, off)
			s.offsets, s.hash = append(s.offsets, off), env.Hash
		}
		pending[r.stream] = s
	}
	err := l.write(*buf)
	if err == nil {
		l.mu.Lock()
		for i, rec := range recs {
			l.index(rec, offs[i])
		}
		l.end += int64(len(*buf))
		l.mu.Unlock()
	}
	for i, r := range group {
		r.acked <- errors.Join(err, errs[i])
	}
}

// extend writes a chunk of zeros at the end of the file and syncs it: the
// new length and blocks, once per chunk.
func (l *segmentLog) extend() error {
	if _, err := l.f.WriteAt(make([]byte, segChunk), l.alloc); err != nil {
		return err
	}
	l.alloc += segChunk
	return l.f.Sync()
}

func (l *segmentLog) write(b []byte) error {
	for l.end+int64(len(b)) > l.alloc {
		if err := l.extend(); err != nil {
			return err
		}
	}
	if _, err := l.f.WriteAt(b, l.end); err != nil {
		return err
	}
	return syscall.Fdatasync(int(l.f.Fd()))
}

func (l *segmentLog) append(stream string, from, n int) error {
	prepared, err := eventstore.Prepare(stream, events(n))
	if err != nil {
		return err
	}
	r := &segReq{stream: stream, expected: -2, events: prepared, acked: make(chan error, 1)}
	l.reqs <- r
	return <-r.acked
}

// load reads a stream's records where the index says they are.
func (l *segmentLog) load(stream string) (int, error) {
	l.mu.RLock()
	s := l.streams[stream]
	var offs []int64
	if s != nil {
		offs = s.offsets
	}
	end := l.end
	l.mu.RUnlock()
	buf := make([]byte, 4096)
	n := 0
	for _, off := range offs {
		k, err := l.f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if err != nil && err != io.EOF {
			return n, err
		}
		if _, _, ok := decodeRecord(buf[:k]); !ok {
			return n, fmt.Errorf("segment: a record of %s at %d does not decode", stream, off)
		}
		n++
	}
	return n, nil
}

// readAll reads the log in 4 MiB pages.
func (l *segmentLog) readAll() (int, error) {
	l.mu.RLock()
	end := l.end
	l.mu.RUnlock()
	n := 0
	buf := make([]byte, 4<<20)
	var carry []byte
	for off := int64(0); off < end; {
		k, err := l.f.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if err != nil && err != io.EOF {
			return n, err
		}
		off += int64(k)
		data := append(carry, buf[:k]...)
		for {
			_, m, ok := decodeRecord(data)
			if !ok {
				break
			}
			data = data[m:]
			n++
		}
		carry = append([]byte(nil), data...)
	}
	return n, nil
}

func (l *segmentLog) close() {
	l.once.Do(func() { close(l.reqs); <-l.done; l.f.Close() })
}

// timeReopen writes n events into a prototype log, closes it, and times
// its opening: the file read whole and the indexes rebuilt.
func timeReopen(n int) error {
	d, err := os.MkdirTemp(*dir, "storebench-reopen-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(d)
	s, err := openSegment(d)
	if err != nil {
		return err
	}
	for i := 0; i < n; i += 500 {
		if err := s.append(fmt.Sprintf("s-%d", (i/500)%5000), 0, 500); err != nil {
			return err
		}
	}
	s.close()
	start := time.Now()
	s, err = openSegment(d)
	if err != nil {
		return err
	}
	took := time.Since(start)
	got := len(s.(*segmentLog).offsets)
	s.close()
	fmt.Printf("prototype: a log of %d events opened in %s (%.0f events/s), %d indexed\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds(), got)
	return nil
}
