package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// conn is what the store asks of EventStoreDB. clientConn is the real one;
// the unit tests use an in-memory one, so that everything around the client
// call is tested where no EventStoreDB server can run.
type conn interface {
	// Append appends events with an expected revision. Errors wrap
	// errWrongVersion or errUncertain when they are those.
	Append(ctx context.Context, stream string, expected esdb.ExpectedRevision, events []esdb.EventData) (*esdb.WriteResult, error)
	// ReadStream reads up to count events from a position, forwards or
	// backwards; a stream that does not exist reads as empty.
	ReadStream(ctx context.Context, stream string, from esdb.StreamPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error)
	// ReadAll reads up to count events of $all from a position (inclusive).
	ReadAll(ctx context.Context, from esdb.AllPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error)
	// SubscribeAll subscribes to $all after a position, system events
	// excluded.
	SubscribeAll(ctx context.Context, from esdb.AllPosition) (subscription, error)
	Close() error
}

type subscription interface {
	// Next returns the next event, or an error when the subscription is
	// dropped.
	Next() (*esdb.RecordedEvent, error)
	Close() error
}

var (
	errWrongVersion = errors.New("esdb: wrong expected version")
	errUncertain    = errors.New("esdb: outcome uncertain")
	errNotFound     = errors.New("esdb: stream not found")
)

// mapError classifies the client's errors: a wrong expected version, an
// outcome that may or may not have happened (deadline, lost connection,
// unavailable node, leader change, aborted), a missing stream, or anything
// else unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	e, _ := esdb.FromError(err)
	switch e.Code() {
	case esdb.ErrorCodeWrongExpectedVersion:
		return fmt.Errorf("%w: %v", errWrongVersion, err)
	case esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeConnectionClosed, esdb.ErrorUnavailable, esdb.ErrorCodeNotLeader, esdb.ErrorAborted:
		return fmt.Errorf("%w: %v", errUncertain, err)
	case esdb.ErrorCodeResourceNotFound:
		return fmt.Errorf("%w: %v", errNotFound, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %v", errUncertain, err)
	}
	return err
}

// withContext returns err as the context's error when the context ended
// while the call was in flight: the client reports it as a gRPC status
// (Canceled, DeadlineExceeded), and a caller must be able to tell "I gave
// up" (errors.Is(err, context.Canceled)) from "the store failed". For an
// append, whether the node wrote it is then unknown: submitting the command
// again is safe (idempotent).
func withContext(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		cerr = context.DeadlineExceeded // gRPC saw the deadline pass before the context's timer fired
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// clientConn is the real conn: the v4 client, with every call isolated
// from the caller's context.
//
// Why: on its error paths the v4.2.0 client reads the gRPC header and
// trailer metadata of a call (AppendToStream, ReadStream's Recv,
// SubscribeToAll) while grpc-go may still be writing them from the goroutine
// that ends a stream whose context was cancelled or whose connection closed
// (grpc's HeaderCallOption.after): a data race in the library, which the race
// detector reported now and then in the conformance case
// cancelled_while_in_flight. So the client is never handed a context that the
// caller can end mid-call: each call runs on a context detached from the
// caller's (the client's own deadline, 10 s by default, still bounds it), the
// caller stops waiting when its context ends, and Close waits for the calls
// still in flight before it closes the connection. What remains is the
// client's own deadline expiring mid-call on a node that hangs, documented in
// docs/deploy.md.
type clientConn struct {
	c *esdb.Client

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

var errConnClosed = errors.New("esdb: store closed")

// detached runs call on a context the caller cannot cancel and waits for it
// or for the caller's context, whichever ends first. A result that arrives
// after the caller gave up is handed to abandon (to close a subscription or
// a read stream opened for nobody). An append abandoned this way may still
// land: as with any interrupted append, its outcome is unknown to the caller,
// and submitting the command again is safe.
func detached[T any](cc *clientConn, ctx context.Context, call func(context.Context) (T, error), abandon func(T)) (T, error) {
	var zero T
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return zero, errConnClosed
	}
	cc.inflight.Add(1)
	cc.mu.Unlock()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer cc.inflight.Done()
		v, err := call(context.WithoutCancel(ctx))
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil && abandon != nil {
				abandon(r.v)
			}
		}()
		return zero, ctx.Err()
	}
}

func (cc *clientConn) Append(ctx context.Context, stream string, expected esdb.ExpectedRevision, events []esdb.EventData) (*esdb.WriteResult, error) {
	wr, err := detached(cc, ctx, func(dctx context.Context) (*esdb.WriteResult, error) {
		return cc.c.AppendToStream(dctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expected}, events...)
	}, nil)
	if cerr := withContext(ctx, err); cerr != err {
		return nil, cerr
	}
	return wr, mapError(err)
}

func direction(backwards bool) esdb.Direction {
	if backwards {
		return esdb.Backwards
	}
	return esdb.Forwards
}

func (cc *clientConn) ReadStream(ctx context.Context, stream string, from esdb.StreamPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error) {
	recs, err := detached(cc, ctx, func(dctx context.Context) ([]*esdb.RecordedEvent, error) {
		rs, err := cc.c.ReadStream(dctx, stream, esdb.ReadStreamOptions{From: from, Direction: direction(backwards)}, count)
		if err != nil {
			return nil, mapError(err)
		}
		return drain(rs)
	}, nil)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	return recs, withContext(ctx, err)
}

func (cc *clientConn) ReadAll(ctx context.Context, from esdb.AllPosition, backwards bool, count uint64) ([]*esdb.RecordedEvent, error) {
	recs, err := detached(cc, ctx, func(dctx context.Context) ([]*esdb.RecordedEvent, error) {
		rs, err := cc.c.ReadAll(dctx, esdb.ReadAllOptions{From: from, Direction: direction(backwards)}, count)
		if err != nil {
			return nil, mapError(err)
		}
		return drain(rs)
	}, nil)
	return recs, withContext(ctx, err)
}

func drain(rs *esdb.ReadStream) ([]*esdb.RecordedEvent, error) {
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, mapError(err)
		}
		if ev.Event != nil {
			out = append(out, ev.Event)
		}
	}
}

func (cc *clientConn) SubscribeAll(ctx context.Context, from esdb.AllPosition) (subscription, error) {
	// The subscription lives on a context of its own, cancelled by Close
	// (once established, the client reads no metadata on its way out), and
	// closed when the caller's context ends.
	sub, err := detached(cc, ctx, func(dctx context.Context) (*esdb.Subscription, error) {
		return cc.c.SubscribeToAll(dctx, esdb.SubscribeToAllOptions{From: from, Filter: esdb.ExcludeSystemEventsFilter()})
	}, func(s *esdb.Subscription) { s.Close() })
	if err != nil {
		return nil, withContext(ctx, mapError(err))
	}
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	return &clientSub{s: sub, stop: stop}, nil
}

// Close waits for the calls still in flight (each bounded by the client's
// deadline), then closes the connection: closing it under a call would end
// that call's stream from grpc's side, the race detached avoids.
func (cc *clientConn) Close() error {
	cc.mu.Lock()
	cc.closed = true
	cc.mu.Unlock()
	cc.inflight.Wait()
	return cc.c.Close()
}

type clientSub struct {
	s    *esdb.Subscription
	stop func() bool
}

func (cs *clientSub) Next() (*esdb.RecordedEvent, error) {
	for {
		ev := cs.s.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return nil, fmt.Errorf("esdb: subscription dropped: %w", ev.SubscriptionDropped.Error)
		case ev.EventAppeared != nil && ev.EventAppeared.Event != nil:
			return ev.EventAppeared.Event, nil
		}
		// Checkpoints, caught-up and fell-behind notices carry no event.
	}
}

func (cs *clientSub) Close() error {
	cs.stop()
	return cs.s.Close()
}
