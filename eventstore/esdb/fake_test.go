package esdb

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// fakeConn is an in-memory EventStoreDB for the unit tests: expected
// revisions, $all with commit positions that leave gaps (like a log's byte
// offsets), system events interleaved, and failures injected on demand.
type fakeConn struct {
	mu      sync.Mutex
	streams map[string][]*esdb.RecordedEvent
	all     []*esdb.RecordedEvent
	next    uint64 // next commit position
	changed chan struct{}

	// appendFault, when set, is called before each append: it may return
	// an error, and say whether the append still happens (an outcome the
	// client cannot know).
	appendFault func() (err error, write bool)
	// dropAfter, when > 0, drops each subscription after that many events.
	dropAfter int
	appends   int
	subs      int
}

func newFakeConn() *fakeConn {
	return &fakeConn{streams: map[string][]*esdb.RecordedEvent{}, next: 1000, changed: make(chan struct{})}
}

func (f *fakeConn) record(stream, typ string, data, meta []byte, id uuid.UUID) *esdb.RecordedEvent {
	r := &esdb.RecordedEvent{EventID: id, EventType: typ, StreamID: stream, EventNumber: uint64(len(f.streams[stream])),
		Position: esdb.Position{Commit: f.next, Prepare: f.next}, CreatedDate: time.Now(), Data: data, UserMetadata: meta}
	f.next += 100 + uint64(len(data)) // positions are byte offsets: ordered, not contiguous
	f.streams[stream] = append(f.streams[stream], r)
	f.all = append(f.all, r)
	return r
}

// system appends an EventStoreDB system event, which the store must skip.
func (f *fakeConn) system() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("$stats-127.0.0.1:2113", "$statsCollected", []byte(`{}`), nil, uuid.New())
	f.notify()
}

func (f *fakeConn) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeConn) Append(ctx context.Context, stream string, expected esdb.ExpectedRevision, events []esdb.EventData) (*esdb.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appends++
	var fault error
	if f.appendFault != nil {
		var write bool
		if fault, write = f.appendFault(); fault != nil && !write {
			return nil, fault
		}
	}
	cur := int64(len(f.streams[stream])) - 1
	ok := true
	switch e := expected.(type) {
	case esdb.NoStream:
		ok = cur == -1
	case esdb.StreamExists:
		ok = cur >= 0
	case esdb.StreamRevision:
		ok = cur == int64(e.Value)
	}
	if !ok {
		return nil, errWrongVersion
	}
	var last *esdb.RecordedEvent
	for _, e := range events {
		last = f.record(stream, e.EventType, e.Data, e.Metadata, e.EventID)
	}
	f.notify()
	if fault != nil {
		return nil, fault
	}
	return &esdb.WriteResult{CommitPosition: last.Position.Commit, PreparePosition: last.Position.Prepare, NextExpectedVersion: last.EventNumber}, nil
}

// fromStream copies the recorded event as a stream read returns it: without
// its commit position, which the server does not know there.
func fromStream(r *esdb.RecordedEvent) *esdb.RecordedEvent {
	c := *r
	c.Position = esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}
	return &c
}

func (f *fakeConn) ReadStream(ctx context.Context, stream string, from esdb.StreamPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	evs := f.streams[stream]
	var out []*esdb.RecordedEvent
	if backwards {
		start := len(evs) - 1
		if r, ok := from.(esdb.StreamRevision); ok {
			start = min(start, int(r.Value))
		}
		for i := start; i >= 0 && uint64(len(out)) < count; i-- {
			out = append(out, fromStream(evs[i]))
		}
		return out, nil
	}
	start := 0
	if r, ok := from.(esdb.StreamRevision); ok {
		start = int(r.Value)
	}
	for i := start; i < len(evs) && uint64(len(out)) < count; i++ {
		out = append(out, fromStream(evs[i]))
	}
	return out, nil
}

func (f *fakeConn) ReadAll(ctx context.Context, from esdb.AllPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*esdb.RecordedEvent
	if backwards {
		for i := len(f.all) - 1; i >= 0 && uint64(len(out)) < count; i-- {
			if p, ok := from.(esdb.Position); ok && f.all[i].Position.Commit >= p.Commit {
				continue // a backward read from a position returns what is before it
			}
			out = append(out, f.all[i])
		}
		return out, nil
	}
	for _, r := range f.all {
		if p, ok := from.(esdb.Position); ok && r.Position.Commit < p.Commit {
			continue // a $all read from a position includes it
		}
		if uint64(len(out)) == count {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

var errDropped = errors.New("fake: subscription dropped by the server")

type fakeSub struct {
	f         *fakeConn
	ctx       context.Context
	after     uint64
	delivered int
}

func (f *fakeConn) SubscribeAll(ctx context.Context, from esdb.AllPosition) (subscription, error) {
	f.mu.Lock()
	f.subs++
	f.mu.Unlock()
	s := &fakeSub{f: f, ctx: ctx}
	if p, ok := from.(esdb.Position); ok {
		s.after = p.Commit // a subscription from a position starts after it
	}
	return s, nil
}

func (s *fakeSub) Next() (*esdb.RecordedEvent, error) {
	for {
		s.f.mu.Lock()
		if s.f.dropAfter > 0 && s.delivered == s.f.dropAfter {
			s.f.mu.Unlock()
			return nil, errDropped
		}
		for _, r := range s.f.all {
			if r.Position.Commit > s.after && r.StreamID[0] != '$' {
				s.after = r.Position.Commit
				s.delivered++
				s.f.mu.Unlock()
				return r, nil
			}
		}
		wait := s.f.changed
		s.f.mu.Unlock()
		select {
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		case <-wait:
		}
	}
}

func (s *fakeSub) Close() error { return nil }

func (f *fakeConn) Close() error { return nil }
